"""Phone numbers as the concierge stores them: E.164 (``+5215512345678``) and WhatsApp addresses.

Hand-written rather than a library: only the shape matters here (Twilio validates reachability),
and the rule is short: an international number with its country code, separators ignored.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-.()/\u00a0]")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def e164(raw: str) -> str:
    """``+5215512345678`` from ``whatsapp:+52 1 55 1234-5678``, ``0052...`` and the like; ValueError otherwise."""
    value = raw.strip()
    if value.lower().startswith("whatsapp:"):
        value = value[len("whatsapp:") :]
    value = _SEPARATORS.sub("", value)
    if value.startswith("00"):
        value = "+" + value[2:]
    if not _E164.match(value):
        raise ValueError(f"not an international phone number with country code (e.g. +5215512345678): {raw!r}")
    return value


def whatsapp_address(raw: str) -> str:
    """The Twilio WhatsApp address ``whatsapp:+E164`` of a number written any usual way."""
    return "whatsapp:" + e164(raw)


def number_variants(number: str) -> list[str]:
    """The spellings of one number a WhatsApp ``From`` may use (Mexican mobiles come with and without "1")."""
    plain = e164(number)
    variants = [plain]
    if len(plain) == 14 and plain.startswith("+521"):
        variants.append("+52" + plain[4:])
    elif len(plain) == 13 and plain.startswith("+52"):
        variants.append("+521" + plain[3:])
    return variants
