"""Deterministic percentage rollouts keyed by phone number.

A customer lands in one of 10,000 buckets per feature. The bucket comes from SHA-256 (never Python's
``hash()``, which is salted per process) of the feature name and the number's normalised digits, so
every API process and worker agrees, across restarts, on who is in a rollout.
"""

from __future__ import annotations

import hashlib
import re

BUCKETS = 10_000

_NON_DIGIT = re.compile(r"\D+")
# E.164 allows at most 15 digits; shorter than 8 is not a phone number anywhere.
_MIN_DIGITS, _MAX_DIGITS = 8, 15


def normalise_phone(phone: str) -> str:
    """E.164 digits of ``phone`` ("whatsapp:+52 1 55 1234 5678" → "525512345678"); ValueError if not a number.

    Mexican mobiles reach us both as +52 1 XXXXXXXXXX (how WhatsApp still sends them) and as
    +52 XXXXXXXXXX (the numbering since 2019); both are the same person, so the "1" is dropped.
    """
    raw = phone.strip()
    if raw.lower().startswith("whatsapp:"):
        raw = raw[len("whatsapp:") :]
    digits = _NON_DIGIT.sub("", raw)
    if raw.startswith("00"):
        digits = digits[2:]
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        raise ValueError(f"not a phone number: expected 8 to 15 digits, got {len(digits)}")
    if len(digits) == 13 and digits.startswith("521"):
        digits = "52" + digits[3:]
    return digits


def rollout_bucket(phone: str, feature: str) -> int:
    """Stable bucket 0..9999 of ``phone`` for ``feature`` (same answer in every process)."""
    name = feature.strip().lower()
    if not name:
        raise ValueError("feature name must not be empty")
    digest = hashlib.sha256(f"{name}:{normalise_phone(phone)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_rollout(phone: str, feature: str, percentage: float) -> bool:
    """Whether ``phone`` is in the first ``percentage`` percent (0–100, steps of 0.01) of ``feature``'s rollout."""
    if not 0.0 <= percentage <= 100.0:
        raise ValueError(f"rollout percentage must be between 0 and 100, got {percentage}")
    return rollout_bucket(phone, feature) < round(percentage * BUCKETS / 100)
