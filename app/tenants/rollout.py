"""Deterministic percentage rollouts keyed by phone number.

A customer lands in one of 10,000 buckets per feature. The bucket comes from SHA-256 (never Python's
``hash()``, which is salted per process) of the feature name and the number's normalised digits, so
every API process and worker agrees, across restarts, on who is in a rollout.
"""

from __future__ import annotations

import hashlib

from app.text.phones import rollout_digits

BUCKETS = 10_000


def normalise_phone(phone: str) -> str:
    """The digits a bucket hashes ("whatsapp:+52 1 55 1234 5678" → "525512345678"); ValueError if not a number.

    The phone module's one customer key, minus "+" and Mexico's legacy mobile "1", so both Mexican
    spellings of a number share a bucket and no bucket moved when the key was unified.
    """
    return rollout_digits(phone)


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
