"""How a car is named and shown to a customer in one WhatsApp line."""

from __future__ import annotations

from app.catalog.keys import name_key
from app.catalog.schemas import CarCard
from app.text.normalize import Language
from app.text.wording import say


def car_name(make: str, model: str) -> str:
    """ "Mazda 3" for make "Mazda" and model "Mazda 3" or "3": the make is not repeated."""
    return model if name_key(model).startswith(name_key(make)) else f"{make} {model}"


def format_card(card: CarCard, index: int, language: Language, currency: str = "MXN") -> str:
    """Short WhatsApp line: "1. Mazda 3 i Sport 2019 — $265,000 MXN · 48,000 km (DM-1021)"."""
    name = car_name(card.make, card.model)
    if card.version:
        name += f" {card.version}"
    price = f"${card.price:,.0f} {currency}".rstrip()
    mileage = f"{card.km:,} km" if card.km is not None else say("catalog_card_no_mileage", language)
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
