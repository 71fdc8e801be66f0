"""API keys: creation (shown once), verification against SHA-256 digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiKey

KEY_PREFIX = "wak_"


@dataclass(frozen=True)
class NewApiKey:
    """A freshly created key; ``secret`` is shown once and never stored."""

    id: uuid.UUID
    name: str
    secret: str


def digest(secret: str) -> str:
    """SHA-256 hex digest of a key.

    Keys are 256-bit random tokens, so a fast hash is enough: there is no password to brute-force.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(session: AsyncSession, *, tenant_id: uuid.UUID, name: str) -> NewApiKey:
    """Create a key scoped to one tenant; the secret is returned once."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(tenant_id=tenant_id, name=name, prefix=secret[:10], key_hash=digest(secret))
    session.add(key)
    await session.flush()
    return NewApiKey(id=key.id, name=name, secret=secret)


async def find_api_key(session: AsyncSession, *, secret: str) -> ApiKey | None:
    """The live key matching ``secret``, marking its last use."""
    key = (
        await session.execute(select(ApiKey).where(ApiKey.key_hash == digest(secret), ApiKey.revoked_at.is_(None)))
    ).scalar_one_or_none()
    if key is not None:
        # At most one write a minute per key: hot keys must not contend on their own row.
        await session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key.id,
                (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < func.now() - timedelta(minutes=1)),
            )
            .values(last_used_at=func.now())
        )
    return key


def is_admin_key(secret: str, admin_key: str | None) -> bool:
    """Constant-time comparison with the configured admin key."""
    return bool(admin_key) and hmac.compare_digest(secret.encode(), (admin_key or "").encode())
