"""Catalog: CSV import (validated, atomic replace) and the per-tenant DataFrame used by search."""

from __future__ import annotations

import asyncio
import re
import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.frame import build_catalog_frame
from app.catalog.models import CatalogItem
from app.catalog.vocabulary import CatalogVocabulary
from app.core.errors import InvalidInput
from app.tenants.models import Tenant
from app.text.csvfile import read_csv
from app.text.normalize import fold

REQUIRED = ("stock_id", "make", "model", "year", "price")
_CORE = {"stock_id", "make", "model", "year", "price", "km", "version"}
_YES = {"si", "sí", "yes", "y", "true", "verdadero"}
_NO = {"no", "n", "false", "falso"}
_NUMBER_JUNK = re.compile(r"[$\s,]|mxn|usd|km", re.IGNORECASE)
MAX_ROWS = 100_000


@dataclass(frozen=True)
class CatalogImportResult:
    """What an import did."""

    rows: int
    columns: list[str]
    catalog_version: int


def _number(raw: str) -> Decimal:
    cleaned = _NUMBER_JUNK.sub("", raw)
    return Decimal(cleaned)


def _attribute(raw: str) -> Any:
    value = raw.strip()
    if value == "":
        return None
    folded = fold(value)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    return value


def parse_catalog_csv(data: bytes) -> list[dict[str, Any]]:
    """Validate a catalog CSV; raises InvalidInput naming the first bad row and column."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in read_csv(data, required=REQUIRED, aliases={"id": "stock_id"}, sniff=True):
        line_no, record, fail = row.line, row.cells, row.error
        stock_id = record["stock_id"][:64]
        if stock_id in seen:
            raise fail("stock_id", f"duplicate of row {seen[stock_id]}")
        seen[stock_id] = line_no
        try:
            year_value = _number(record["year"])
            if year_value != year_value.to_integral_value():
                raise InvalidOperation
            year = int(year_value)
        except (InvalidOperation, ValueError):
            raise fail("year", "not a whole number") from None
        if not 1900 <= year <= 2100:
            raise fail("year", "must be between 1900 and 2100")
        try:
            price = _number(record["price"]).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise fail("price", "not a number") from None
        if price <= 0 or price >= Decimal("1e12"):
            raise fail("price", "must be positive")
        km: int | None = None
        if record.get("km"):
            try:
                km = int(_number(record["km"]))
            except (InvalidOperation, ValueError):
                raise fail("km", "not a number") from None
            if km < 0:
                raise fail("km", "cannot be negative")
        rows.append(
            {
                "stock_id": stock_id,
                "make": record["make"],
                "model": record["model"],
                "year": year,
                "price": price,
                "km": km,
                "version": record.get("version") or None,
                "attributes": {k: _attribute(v) for k, v in record.items() if k and k not in _CORE},
            }
        )
        if len(rows) > MAX_ROWS:
            raise InvalidInput(f"A catalog holds at most {MAX_ROWS} rows", details={"row": line_no, "column": None})
    if not rows:
        raise InvalidInput("The CSV file has a header but no rows", details={"row": 2, "column": None})
    return rows


async def replace_catalog(session: AsyncSession, *, tenant_id: uuid.UUID, rows: list[dict[str, Any]]) -> int:
    """Replace the tenant's catalog with ``rows`` in the caller's transaction; returns the new version."""
    # Row-lock the tenant first: concurrent imports serialise instead of interleaving.
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    await session.execute(delete(CatalogItem).where(CatalogItem.tenant_id == tenant_id))
    for start in range(0, len(rows), 5_000):
        chunk = [{**r, "tenant_id": tenant_id} for r in rows[start : start + 5_000]]
        await session.execute(insert(CatalogItem), chunk)
    version = (
        await session.execute(
            update(Tenant)
            .where(Tenant.id == tenant_id)
            .values(catalog_version=Tenant.catalog_version + 1, updated_at=func.now())
            .returning(Tenant.catalog_version)
        )
    ).scalar_one()
    return int(version)


async def import_catalog_csv(session: AsyncSession, *, tenant_id: uuid.UUID, data: bytes) -> CatalogImportResult:
    """Validate then atomically replace the catalog; nothing changes when any row is bad."""
    rows = await asyncio.to_thread(parse_catalog_csv, data)  # CPU-bound on big files
    version = await replace_catalog(session, tenant_id=tenant_id, rows=rows)
    columns = sorted({k for r in rows for k in r["attributes"]})
    return CatalogImportResult(rows=len(rows), columns=columns, catalog_version=version)


@dataclass(frozen=True)
class LoadedCatalog:
    """A tenant's catalog ready for search."""

    version: int
    frame: pd.DataFrame
    vocabulary: CatalogVocabulary


# A derived, read-through cache: every use checks the tenant's catalog_version in the database,
# so several API or worker processes never serve a stale catalog.
_cache: dict[uuid.UUID, LoadedCatalog] = {}
_cache_lock = threading.Lock()


async def load_catalog(session: AsyncSession, *, tenant_id: uuid.UUID) -> LoadedCatalog:
    """The tenant's catalog as a DataFrame plus its make/model vocabulary (cached per catalog version)."""
    version = (await session.execute(select(Tenant.catalog_version).where(Tenant.id == tenant_id))).scalar_one()
    cached = _cache.get(tenant_id)
    if cached is not None and cached.version == version:
        return cached
    result = await session.execute(
        select(
            CatalogItem.stock_id,
            CatalogItem.make,
            CatalogItem.model,
            CatalogItem.year,
            CatalogItem.price,
            CatalogItem.km,
            CatalogItem.version,
            CatalogItem.attributes,
        ).where(CatalogItem.tenant_id == tenant_id)
    )
    records = [dict(r._mapping) for r in result]

    def build() -> LoadedCatalog:
        frame = build_catalog_frame(records)
        return LoadedCatalog(version=version, frame=frame, vocabulary=CatalogVocabulary.from_frame(frame))

    loaded = await asyncio.to_thread(build)  # pandas work off the event loop
    with _cache_lock:
        _cache[tenant_id] = loaded
    return loaded
