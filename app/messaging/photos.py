"""Car photos for cards: the catalog's ``image_url`` column (an attribute of the imported row)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import CatalogItem
from app.notify import safe_url

IMAGE_COLUMN = "image_url"


async def car_photo(session: AsyncSession, *, tenant_id: uuid.UUID, stock_id: str) -> str | None:
    """The http(s) photo URL of the tenant's car ``stock_id``, or None when the catalog has none."""
    attributes = (
        await session.execute(
            select(CatalogItem.attributes).where(CatalogItem.tenant_id == tenant_id, CatalogItem.stock_id == stock_id)
        )
    ).scalar_one_or_none()
    url = str((attributes or {}).get(IMAGE_COLUMN) or "").strip()
    try:  # Twilio fetches it: no credentials, no private/loopback hosts, no other schemes, bounded length
        return safe_url.check_syntax(url)
    except safe_url.UnsafeUrl:
        return None
