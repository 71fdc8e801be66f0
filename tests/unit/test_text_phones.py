"""The one phone module: E.164, the tenant's default region, Mexico's +521/+52, WhatsApp addresses, the customer key."""

from __future__ import annotations

import pytest

from app.core.errors import InvalidInput
from app.text.phones import (
    NotAPhoneNumber,
    customer_key,
    e164,
    number_variants,
    region_for_locale,
    rollout_digits,
    whatsapp_address,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+14155550123", "+14155550123"),
        ("+1 (415) 555-0123", "+14155550123"),
        ("+34 912 34 56 78", "+34912345678"),
        ("0034 912 345 678", "+34912345678"),
        ("whatsapp:+14155238886", "+14155238886"),
        ("  WhatsApp:+44 20 7946 0958 ", "+442079460958"),
    ],
)
def test_international_spellings_become_e164(raw: str, expected: str) -> None:
    assert e164(raw) == expected


@pytest.mark.parametrize(
    "spelling",
    [
        "+5215512345678",
        "+525512345678",
        "+52 1 55 1234 5678",
        "+52 55 1234 5678",
        "+52 (1) 55-1234-5678",
        "(+52) 55.1234.5678",
        "0052 55-1234-5678",
        "whatsapp:+525512345678",
        "whatsapp:+5215512345678",
    ],
)
def test_mexicos_legacy_1_and_modern_spelling_are_one_number(spelling: str) -> None:
    # One canonical form, the one WhatsApp sends and stored conversations use: the "1" is written.
    assert e164(spelling) == "+5215512345678"
    assert customer_key(spelling) == "+5215512345678"
    assert number_variants(spelling) == ["+5215512345678", "+525512345678"]
    assert rollout_digits(spelling) == "525512345678"
    assert rollout_digits(rollout_digits(spelling)) == "525512345678"  # its own output reads back the same


def test_the_tenants_default_region_reads_national_numbers() -> None:
    assert region_for_locale("es-MX") == "MX"
    assert region_for_locale("en-US") == "US"
    assert region_for_locale("es") is None and region_for_locale(None) is None
    assert e164("55 1000 0002", region="MX") == "+5215510000002"
    assert e164("(415) 555-0123", region="US") == "+14155550123"
    # A country code wins over the default region.
    assert e164("+34 912 345 678", region="MX") == "+34912345678"
    with pytest.raises(NotAPhoneNumber, match="no country code"):
        e164("55 1000 0002")


def test_whatsapp_address_is_the_canonical_number_with_its_prefix() -> None:
    assert whatsapp_address("+52 55 2222 3333") == "whatsapp:+5215522223333"
    assert whatsapp_address("whatsapp:+14155238886") == "whatsapp:+14155238886"
    assert whatsapp_address("55 2222 3333", region="MX") == "whatsapp:+5215522223333"
    assert number_variants("+14155550123") == ["+14155550123"]


def test_customer_key_keeps_ids_that_are_not_phone_numbers() -> None:
    assert customer_key("api-user-7") == "api-user-7"
    assert customer_key(" whatsapp:abc ") == "abc"
    # Digits without a country code stay an id: an API user "5512345678" keeps its conversation.
    assert customer_key("5512345678") == "5512345678"


@pytest.mark.parametrize(
    "bad",
    ["", "hola", "123", "+1234567890123456789", "whatsapp:", "🙂", "+52 55 1234", "+", "5512345678", "whatsapp:521"],
)
def test_what_is_not_a_phone_number_is_refused_clearly(bad: str) -> None:
    with pytest.raises(NotAPhoneNumber, match="not a phone number") as caught:
        e164(bad)
    # A domain error for services and a ValueError for pydantic validators alike.
    assert isinstance(caught.value, InvalidInput) and isinstance(caught.value, ValueError)
    assert caught.value.status == 422 and repr(bad) in caught.value.message
