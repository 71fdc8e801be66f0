"""Phone numbers: one parser (Google's libphonenumber, via ``phonenumbers``) and one customer key.

The canonical form is E.164 with one exception, Mexico: its legacy mobile "1" (``+52 1 55 …``) is
always written. WhatsApp and Twilio still send Mexican numbers that way, and stored conversations,
vendors and tenant numbers use it, so ``+52 55 1234 5678`` and ``+52 1 55 1234 5678`` both become
``+5215512345678`` and never split one customer in two. A number without a country code needs a
default region (the tenant's, from its locale: "es-MX" → "MX").
"""

from __future__ import annotations

import re

import phonenumbers

from app.core.errors import InvalidInput

WHATSAPP_PREFIX = "whatsapp:"
# The shape of a WhatsApp address as Twilio writes it: the prefix and an E.164 number, nothing else.
_WHATSAPP_SHAPE = re.compile(r"whatsapp:\+[1-9]\d{6,14}")


def has_whatsapp_shape(address: str) -> bool:
    """Whether ``address`` is written as Twilio writes a WhatsApp address (``whatsapp:+5215512345678``): no
    spaces, no invisible characters, nothing before or after. The shape only; ``e164`` checks the number."""
    return _WHATSAPP_SHAPE.fullmatch(address) is not None


_MEXICO = 52
# Mexican national numbers have 10 digits; 11 starting with "1" is the legacy mobile spelling.
_MEXICAN_DIGITS = 10


class NotAPhoneNumber(InvalidInput, ValueError):
    """Text that is not a phone number; a ValueError too, so pydantic validators report it as a 422."""


def region_for_locale(locale: str | None) -> str | None:
    """The region of a locale ("es-MX" → "MX"), or None when it names no country ("es")."""
    if not locale:
        return None
    _, _, region = locale.replace("_", "-").partition("-")
    return region.upper() if len(region) == 2 and region.isalpha() else None


def _strip_prefix(raw: str) -> str:
    value = raw.strip()
    return value[len(WHATSAPP_PREFIX) :] if value.lower().startswith(WHATSAPP_PREFIX) else value


def _fail(raw: str, why: str) -> NotAPhoneNumber:
    message = f"not a phone number: {raw!r} ({why}; write it with its country code, e.g. +5215512345678)"
    return NotAPhoneNumber(message, details={"value": raw})


def parse(raw: str, *, region: str | None = None) -> phonenumbers.PhoneNumber:
    """The number ``raw`` spells (``whatsapp:`` and ``00`` prefixes allowed); NotAPhoneNumber otherwise."""
    value = _strip_prefix(raw).lstrip("( \u00a0")  # "(+52) 55…" writes the country code in brackets
    if value.startswith("00"):
        value = "+" + value[2:]  # the international call prefix of most of the world
    international = value.startswith("+")
    if not international and region is None:
        raise _fail(raw, "no country code and no default region")
    try:
        number = phonenumbers.parse(value, None if international else region)
    except phonenumbers.NumberParseException as exc:
        raise _fail(raw, str(exc).split(") ", 1)[-1].rstrip(".").lower()) from None  # drop libphonenumber's "(4) "
    national = str(number.national_number)
    if number.country_code == _MEXICO and len(national) == _MEXICAN_DIGITS + 1 and national.startswith("1"):
        number.national_number = int(national[1:])
    # "Possible" checks the length for the country; validity would reject numbers newer than the metadata.
    if not phonenumbers.is_possible_number(number):
        raise _fail(raw, "wrong length for its country")
    return number


def e164(raw: str, *, region: str | None = None) -> str:
    """The canonical ``+E164`` of ``raw`` (Mexico keeps its "1": ``+5215512345678``); NotAPhoneNumber otherwise."""
    number = parse(raw, region=region)
    if number.country_code == _MEXICO and len(str(number.national_number)) == _MEXICAN_DIGITS:
        return f"+{_MEXICO}1{number.national_number}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def whatsapp_address(raw: str, *, region: str | None = None) -> str:
    """The Twilio WhatsApp address ``whatsapp:+E164`` of a number written any usual way."""
    return WHATSAPP_PREFIX + e164(raw, region=region)


def number_variants(number: str, *, region: str | None = None) -> list[str]:
    """The spellings of one number a WhatsApp ``From`` may use: canonical first, then ``+52`` without the "1"."""
    canonical = e164(number, region=region)
    if canonical.startswith(f"+{_MEXICO}1") and len(canonical) == len(f"+{_MEXICO}1") + _MEXICAN_DIGITS:
        return [canonical, f"+{_MEXICO}" + canonical[4:]]
    return [canonical]


def customer_key(address: str, *, region: str | None = None) -> str:
    """The one customer id (conversations, rollout buckets, opt-out): canonical E.164 for a phone number.

    Anything else (an API user id such as "api-user-7") stays as written, minus a ``whatsapp:``
    prefix, so callers that are not phones keep their conversations.
    """
    try:
        return e164(address, region=region)
    except NotAPhoneNumber:
        return _strip_prefix(address)


def rollout_digits(phone: str, *, region: str | None = None) -> str:
    """The digits rollout buckets hash: the customer key without "+" and, for Mexico, without the legacy "1".

    Buckets were first computed on these digits; keeping them keeps every customer in their cohort.
    Digits alone are read as international (they are this function's own output), not as national.
    """
    bare = phone.strip()
    return key_digits(e164("+" + bare if bare.isdigit() else phone, region=region))


def key_digits(key: str) -> str:
    """``rollout_digits`` of a number already in canonical E.164 (``e164``'s output), without parsing it again."""
    if key.startswith(f"+{_MEXICO}1") and len(key) == len(f"+{_MEXICO}1") + _MEXICAN_DIGITS:
        return f"{_MEXICO}{key[4:]}"
    return key[1:]
