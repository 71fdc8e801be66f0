"""Concierge API shapes: vendors, requests with their outreach and replies."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.concierge.extraction import guess_category
from app.concierge.geo import parse_hours
from app.concierge.types import Category
from app.text.normalize import fold
from app.text.phones import whatsapp_address

RequestStatus = Literal[
    "collecting_requirements",
    "ocr_processing",
    "vendor_outreach",
    "awaiting_vendor_replies",
    "shortlist_ready",
    "handed_off",
    "closed",
    "error",
]


def normalise_number(v: str) -> str:
    """A vendor's number as stored: ``whatsapp:+E164`` in the phone module's canonical form."""
    return whatsapp_address(v)


def normalise_categories(v: list[str]) -> list[str]:
    """Folded, trimmed, de-duplicated categories (at least one), plus the concierge kinds they name.

    Requests are matched by kind (auto_parts, pharmacy, hardware, electronics, services, other), so
    "llantas" also tags the vendor auto_parts; the tenant's own words are kept for its own filters.
    """
    cleaned = list(dict.fromkeys(fold(c).strip() for c in v if c.strip()))
    if not cleaned:
        raise ValueError("at least one category is needed")
    if any(len(c) > 100 for c in cleaned):
        raise ValueError("a category has at most 100 characters")
    kinds = {c.value for c in Category}
    guessed = [k.value for c in cleaned if c not in kinds and (k := guess_category(c)) is not None]
    return list(dict.fromkeys([*cleaned, *guessed]))


def check_hours(v: str | None) -> str | None:
    """Opening hours as typed, after checking they parse (empty = always open)."""
    if v is None or not v.strip():
        return None
    parse_hours(v)
    return v.strip()


class VendorCreate(BaseModel):
    """A vendor the concierge may ask."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    whatsapp_number: str = Field(description="Any usual spelling with the country code; stored as whatsapp:+E164.")
    categories: list[str] = Field(
        min_length=1,
        max_length=50,
        description="What it sells, e.g. ['llantas', 'rines']; the kind it implies (auto_parts) is added.",
    )
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    opening_hours: str | None = Field(
        default=None, max_length=500, description="e.g. 'lun-vie 09:00-19:00; sáb 10-14'; empty means always open."
    )
    call_consent: bool = False
    active: bool = True

    _number = field_validator("whatsapp_number")(normalise_number)
    _categories = field_validator("categories")(normalise_categories)
    _hours = field_validator("opening_hours")(check_hours)


class VendorUpdate(BaseModel):
    """A partial change; opting out or in, and giving or withdrawing call consent, are time-stamped."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    whatsapp_number: str | None = None
    categories: list[str] | None = Field(default=None, min_length=1, max_length=50)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    opening_hours: str | None = Field(default=None, max_length=500)
    call_consent: bool | None = None
    opted_out: bool | None = None
    active: bool | None = None

    @field_validator("whatsapp_number")
    @classmethod
    def _number(cls, v: str | None) -> str | None:
        return None if v is None else normalise_number(v)

    @field_validator("categories")
    @classmethod
    def _categories(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else normalise_categories(v)

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, v: str | None) -> str | None:
        return check_hours(v)

    @field_validator("name", "whatsapp_number", "categories", "lat", "lon", "call_consent", "opted_out", "active")
    @classmethod
    def _not_null(cls, v: Any) -> Any:
        if v is None:
            raise ValueError("cannot be null")
        return v


class VendorRead(BaseModel):
    """A vendor as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    whatsapp_number: str
    categories: list[str]
    lat: float
    lon: float
    opening_hours: str | None
    opted_out: bool
    opted_out_at: datetime | None
    call_consent: bool
    call_consent_at: datetime | None
    last_called_at: datetime | None
    active: bool
    created_at: datetime
    updated_at: datetime


class VendorImportRead(BaseModel):
    """Counts of a vendor CSV import; re-importing the same file changes nothing."""

    rows: int
    created: int
    updated: int
    unchanged: int


class VendorReplyRead(BaseModel):
    """A vendor's answer and what was read in it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    raw: str
    available: bool | None
    price: Decimal | None
    currency: str | None
    delivery_hours: float | None
    confidence: float | None
    received_at: datetime


class OutreachRead(BaseModel):
    """One vendor asked for one request."""

    id: int
    vendor_id: uuid.UUID
    vendor_name: str
    vendor_number: str
    batch: int
    status: str
    message_sid: str | None
    error: str | None
    sent_at: datetime | None
    replied_at: datetime | None
    created_at: datetime
    replies: list[VendorReplyRead] = Field(default_factory=list)


class ConciergeRequestRead(BaseModel):
    """A concierge request and the time it reached each state."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    customer_number: str
    status: RequestStatus
    requirements: dict[str, Any]
    collecting_requirements_at: datetime | None
    ocr_processing_at: datetime | None
    vendor_outreach_at: datetime | None
    awaiting_vendor_replies_at: datetime | None
    shortlist_ready_at: datetime | None
    handed_off_at: datetime | None
    closed_at: datetime | None
    error_at: datetime | None
    status_changed_at: datetime
    deadline_at: datetime | None
    shortlist_sent_at: datetime | None
    error: str | None
    created_at: datetime
    updated_at: datetime


class ConciergeRequestDetail(ConciergeRequestRead):
    """A request with every vendor asked and their replies."""

    outreach: list[OutreachRead] = Field(default_factory=list)
