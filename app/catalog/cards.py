"""How a car is named and shown to a customer in one WhatsApp line."""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.catalog.availability import reserved
from app.catalog.keys import name_key, value_key
from app.catalog.lexicon import VALUE_ENGLISH
from app.catalog.schemas import CarCard
from app.text.normalize import Language, fold
from app.text.wording import say


def car_name(make: str, model: str) -> str:
    """ "Mazda 3" for make "Mazda" and model "Mazda 3" or "3": the make is not repeated."""
    return model if name_key(model).startswith(name_key(make)) else f"{make} {model}"


def card_label(card: CarCard) -> str:
    """ "Nissan Versa Advance 2021": make, model, version and year, as a sentence names the car."""
    return " ".join(str(p) for p in (car_name(card.make, card.model), card.version or "", card.year) if p)


def format_card(card: CarCard, index: int, language: Language, currency: str = "MXN") -> str:
    """Short WhatsApp line: "1. Mazda 3 i Sport 2019 — $265,000 MXN · 48,000 km (DM-1021)"."""
    name = car_name(card.make, card.model)
    if card.version:
        name += f" {card.version}"
    price = f"${card.price:,.0f} {currency}".rstrip()
    mileage = f"{card.km:,} km" if card.km is not None else say("catalog_card_no_mileage", language)
    if reserved(card.attributes):
        mileage += f" · {say('catalog_card_reserved', language)}"
    return say(
        "catalog_card",
        language,
        index=index,
        name=name,
        year=card.year,
        price=price,
        mileage=mileage,
        stock_id=card.stock_id,
    )


def localized_value(value: str, language: Language, labels: Mapping[str, str] | None = None) -> str:
    """A catalogue value in the customer's language: "Automática" → "Automatic", "Gris Plata" → "Gray Silver".

    The tenant's own labels (value → English) come first; then a small built-in table, word by word; a word
    the table lacks is kept as the dealer wrote it. Spanish replies show the dealer's values unchanged.
    """
    if language == "es" or not value or value.strip().isdigit():
        return value
    own = {fold(k).strip(): v for k, v in (labels or {}).items()}
    if fold(value).strip() in own:
        return own[fold(value).strip()]
    whole = value_key(value)
    if whole in VALUE_ENGLISH:
        return VALUE_ENGLISH[whole]
    words = re.findall(r"[^\W_]+|[\W_]+", value)
    out = []
    for word in words:
        key = name_key(word)
        english = VALUE_ENGLISH.get(key) or VALUE_ENGLISH.get(_masculine(key)) if key else None
        out.append(english or word)
    return "".join(out)


def _masculine(key: str) -> str:
    """ "roja" → "rojo", "grises" → "gris", "blancas" → "blanco": the form the table holds."""
    if key.endswith("es") and key[:-2] in VALUE_ENGLISH:
        return key[:-2]
    if key.endswith("s"):
        key = key[:-1]
    return key[:-1] + "o" if key.endswith("a") else key
