"""Tenant API shapes."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.concierge.types import Zone
from app.finance.service import FinanceTerms
from app.text import phones

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class FinanceSettings(FinanceTerms):
    """The tenant's financing rules: the finance domain's terms, with the defaults a new tenant gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    annual_rate: Decimal = Field(
        default=Decimal("0.139"), ge=0, lt=1, description="Fixed annual rate as a fraction, 0.139 = 13.9%."
    )
    terms_months: list[int] = Field(
        default_factory=lambda: [12, 24, 36, 48, 60, 72], min_length=1, description="Offered terms in months."
    )
    min_down_payment_ratio: Decimal = Field(
        default=Decimal("0.10"), ge=0, le=Decimal("0.9"), description="Minimum down payment as a fraction of the price."
    )


Feature = Literal["ai_agent", "concierge", "ocr", "calling"]
FEATURES: tuple[Feature, ...] = ("ai_agent", "concierge", "ocr", "calling")


class FeatureRollout(BaseModel):
    """Who gets a switched-on feature: numbers on the allowlist, plus a stable share of everyone else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    percentage: int = Field(
        default=0, ge=0, le=100, description="Share of customers (stable hash of the number); 0 = allowlist only."
    )
    allowlist: list[str] = Field(default_factory=list, description="Customer numbers that always get the feature.")

    @field_validator("allowlist")
    @classmethod
    def _allowlist(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(phones.e164(n) for n in v))


class ConciergeSettings(BaseModel):
    """The concierge's knobs for one tenant, with the defaults a new tenant gets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vendor_daily_cap: int = Field(default=20, ge=1, le=1000, description="Outreach messages per vendor per 24 h.")
    radius_km: float = Field(default=15.0, gt=0, le=500, description="How far from the customer vendors are asked.")
    batch_size: int = Field(default=5, ge=1, le=5, description="Vendors asked at once (at most 5).")
    max_vendors: int = Field(default=10, ge=1, le=50, description="Vendors asked per request, over all batches.")
    reply_timeout_minutes: int = Field(default=30, ge=1, le=10080, description="How long vendors get to answer.")
    zones: list[Zone] = Field(
        default_factory=list, max_length=500, description="Named areas customers may say instead of sharing a pin."
    )


def _is_whatsapp_address(n: str) -> bool:
    try:
        phones.e164(n)
    except phones.NotAPhoneNumber:
        return False
    return phones.has_whatsapp_shape(n)


def _check_numbers(v: list[str]) -> list[str]:
    bad = [n for n in v if not _is_whatsapp_address(n)]
    if bad:
        raise ValueError(f"WhatsApp numbers must look like 'whatsapp:+5215512345678': {bad}")
    # Kept as written (the webhook's To must match byte for byte); a repeat in any spelling is dropped.
    kept: dict[str, str] = {}
    for n in v:
        kept.setdefault(phones.customer_key(n), n)
    return list(kept.values())


def _check_timezone(v: str) -> str:
    # The length first (the Field's max_length): ZoneInfo reads a file named by the value, and a long one
    # fails in the filesystem. A directory of tzdata ("America") or any unreadable name is unknown too.
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown timezone {v!r}") from exc
    return v


# An IANA name: the longest is under 40 characters.
TimezoneName = Annotated[str, Field(min_length=1, max_length=64)]
# The agent's name and greetings (persona.agent_name, persona.greeting_es, ...): a few short texts, each sent
# inside a WhatsApp reply.
Persona = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=64)], Annotated[str, Field(max_length=1000)]],
    Field(max_length=20),
]


class TenantCreate(BaseModel):
    """A new tenant."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(description="URL-safe id: lowercase letters, digits and dashes")
    name: str = Field(min_length=1, max_length=200)
    whatsapp_numbers: list[str] = Field(default_factory=list)
    locale: str = Field(default="es-MX", pattern=r"^(es|en)(-[A-Z]{2})?$")
    timezone: TimezoneName = "America/Mexico_City"
    finance: FinanceSettings = Field(default_factory=FinanceSettings)
    flags: dict[str, bool] = Field(default_factory=dict)
    persona: Persona = Field(default_factory=dict)
    rollout: dict[Feature, FeatureRollout] = Field(default_factory=dict)
    concierge: ConciergeSettings = Field(default_factory=ConciergeSettings)

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError("slug must be 1-63 lowercase letters, digits or dashes")
        return v

    _numbers = field_validator("whatsapp_numbers")(_check_numbers)
    _tz = field_validator("timezone")(_check_timezone)


class TenantUpdate(BaseModel):
    """A partial change; flags merge key by key and rollout feature by feature, every other field is replaced."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    whatsapp_numbers: list[str] | None = None
    locale: str | None = Field(default=None, pattern=r"^(es|en)(-[A-Z]{2})?$")
    timezone: TimezoneName | None = None
    finance: FinanceSettings | None = None
    flags: dict[str, bool] | None = None
    persona: Persona | None = None
    rollout: dict[Feature, FeatureRollout] | None = None
    concierge: ConciergeSettings | None = None

    @field_validator("whatsapp_numbers")
    @classmethod
    def _numbers(cls, v: list[str] | None) -> list[str] | None:
        return None if v is None else _check_numbers(v)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else _check_timezone(v)


class TenantRead(BaseModel):
    """A tenant as the API shows it."""

    id: uuid.UUID
    slug: str
    name: str
    whatsapp_numbers: list[str]
    locale: str
    timezone: str
    finance: FinanceSettings
    flags: dict[str, Any]
    persona: dict[str, Any]
    rollout: dict[Feature, FeatureRollout]
    concierge: ConciergeSettings
    catalog_version: int
    created_at: datetime
    updated_at: datetime


class KillSwitchRead(BaseModel):
    """The global kill switch."""

    on: bool = Field(description="On: every tenant is answered by the offline agent; concierge, OCR, calling stop.")
    reason: str | None
    changed_at: datetime | None


class ApiKeyCreate(BaseModel):
    """A new key's label."""

    name: str = Field(default="default", min_length=1, max_length=100)


class KillSwitchUpdate(BaseModel):
    """Switch the global kill switch."""

    model_config = ConfigDict(extra="forbid")

    on: bool
    reason: str | None = Field(default=None, max_length=500)
