"""Catalog: CSV import (validated, atomic replace) and the per-tenant DataFrame used by search."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.frame import build_catalog_frame
from app.catalog.importing import parse_catalog_csv
from app.catalog.models import CatalogItem
from app.catalog.vocabulary import CatalogVocabulary
from app.tenants.models import Tenant


@dataclass(frozen=True)
class CatalogImportResult:
    """What an import did."""

    rows: int
    columns: list[str]
    catalog_version: int


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


# Caching hook: the catalog version a caller already read from the tenant's row in its own transaction (a
# turn loads that row first), so load_catalog needs no query of its own to check its cache.
_known_version: ContextVar[tuple[uuid.UUID, int] | None] = ContextVar("known_catalog_version", default=None)


@contextmanager
def known_catalog_version(tenant_id: uuid.UUID, version: int) -> Iterator[None]:
    """Within this block (and the tasks it starts), load_catalog takes ``version`` as the tenant's current one."""
    token = _known_version.set((tenant_id, version))
    try:
        yield
    finally:
        _known_version.reset(token)


async def load_catalog(session: AsyncSession, *, tenant_id: uuid.UUID) -> LoadedCatalog:
    """The tenant's catalog as a DataFrame plus its make/model vocabulary (cached per catalog version)."""
    known = _known_version.get()
    if known is not None and known[0] == tenant_id:
        version = known[1]
    else:
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
