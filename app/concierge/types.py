"""What a concierge request is made of: the items asked for, money, a place, an urgency and a kind of vendor.

Every field is capped: a customer's message is data, and no answer can make a request grow without bound.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.concierge.geo import check_coordinates
from app.text.normalize import Language

# Longer messages are cut before parsing: no request needs more, and it bounds the regex work.
MAX_TEXT_CHARS = 1_000
MAX_ITEMS = 10
MAX_ITEM_NAME_CHARS = 80
MAX_ITEM_DETAILS_CHARS = 120
MAX_HINT_CHARS = 60
MAX_QUANTITY = 999
# Anything bigger is a phone number, an order id or a typo, not what a person spends on an errand.
MAX_BUDGET = 10_000_000

# The fields a customer can decline (``missing_fields`` then stops asking for them).
OPTIONAL_FIELDS = ("urgency", "budget")
Currency = Literal["MXN", "USD"]


class Category(StrEnum):
    """Which kind of vendor to ask."""

    auto_parts = "auto_parts"
    pharmacy = "pharmacy"
    hardware = "hardware"
    electronics = "electronics"
    services = "services"
    other = "other"


class Urgency(StrEnum):
    """By when the customer needs it, most urgent first."""

    now = "now"
    today = "today"
    tomorrow = "tomorrow"
    this_week = "this_week"
    flexible = "flexible"


class Item(BaseModel):
    """One thing asked for: "balatas delanteras" ×2, details "Jetta 2017"."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=MAX_ITEM_NAME_CHARS)
    quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY)
    details: str | None = Field(default=None, max_length=MAX_ITEM_DETAILS_CHARS)


class Money(BaseModel):
    """An amount in a currency (ISO 4217 code)."""

    model_config = ConfigDict(frozen=True)

    amount: float = Field(gt=0, le=MAX_BUDGET)
    currency: Currency = "MXN"


class Zone(BaseModel):
    """A named area the tenant serves, with a centre point and other names people use for it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=MAX_HINT_CHARS)
    lat: float
    lon: float
    aliases: tuple[str, ...] = ()

    @field_validator("lat")
    @classmethod
    def _lat(cls, v: float) -> float:
        check_coordinates(v, 0.0)
        return v

    @field_validator("lon")
    @classmethod
    def _lon(cls, v: float) -> float:
        check_coordinates(0.0, v)
        return v


class Location(BaseModel):
    """Where the customer needs it: a shared pin, coordinates in the text, or a matched zone."""

    model_config = ConfigDict(frozen=True)

    lat: float
    lon: float
    source: Literal["pin", "coordinates", "zone"]
    zone: str | None = None


class Requirements(BaseModel):
    """Everything the concierge knows about one request so far."""

    items: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)
    # The quantity of a one-item request (None when unsaid, or when there are several items).
    quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY)
    budget: Money | None = None
    # "máximo $3,500 c/u": the budget is per unit rather than for the whole request.
    budget_per_unit: bool = False
    location: Location | None = None
    # A place the customer named that matched no zone: shown back to them when asking again.
    location_hint: str | None = Field(default=None, max_length=MAX_HINT_CHARS)
    urgency: Urgency | None = None
    category: Category | None = None
    # Optional fields the customer chose not to give ("sin presupuesto", "da igual"): not asked again.
    declined: list[str] = Field(default_factory=list)
    language: Language = "es"
    # Set when instruction-looking text ("ignore previous instructions") was dropped from the items.
    suspicious_text: bool = False
