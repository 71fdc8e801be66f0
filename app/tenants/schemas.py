"""Tenant API shapes."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.finance.service import FinanceTerms

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_WHATSAPP = re.compile(r"^whatsapp:\+[1-9]\d{6,14}$")


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


def _check_numbers(v: list[str]) -> list[str]:
    bad = [n for n in v if not _WHATSAPP.match(n)]
    if bad:
        raise ValueError(f"WhatsApp numbers must look like 'whatsapp:+5215512345678': {bad}")
    return list(dict.fromkeys(v))


def _check_timezone(v: str) -> str:
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {v!r}") from exc
    return v


class TenantCreate(BaseModel):
    """A new tenant."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(description="URL-safe id: lowercase letters, digits and dashes")
    name: str = Field(min_length=1, max_length=200)
    whatsapp_numbers: list[str] = Field(default_factory=list)
    locale: str = Field(default="es-MX", pattern=r"^(es|en)(-[A-Z]{2})?$")
    timezone: str = "America/Mexico_City"
    finance: FinanceSettings = Field(default_factory=FinanceSettings)
    flags: dict[str, bool] = Field(default_factory=dict)
    persona: dict[str, str] = Field(default_factory=dict)

    @field_validator("slug")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not _SLUG.match(v):
            raise ValueError("slug must be 1-63 lowercase letters, digits or dashes")
        return v

    _numbers = field_validator("whatsapp_numbers")(_check_numbers)
    _tz = field_validator("timezone")(_check_timezone)


class TenantUpdate(BaseModel):
    """A partial change; flags are merged key by key, every other field given is replaced."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    whatsapp_numbers: list[str] | None = None
    locale: str | None = Field(default=None, pattern=r"^(es|en)(-[A-Z]{2})?$")
    timezone: str | None = None
    finance: FinanceSettings | None = None
    flags: dict[str, bool] | None = None
    persona: dict[str, str] | None = None

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
    catalog_version: int
    created_at: datetime
    updated_at: datetime
