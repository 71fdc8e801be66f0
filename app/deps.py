"""FastAPI dependencies: database session, bearer-key authentication and rate limit, tenant resolution."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.core import context as log_context
from app.core.config import get_settings
from app.core.db import get_sessionmaker, session_scope
from app.core.errors import Forbidden, RateLimited, Unauthorized
from app.core.metrics import RATE_LIMITED
from app.core.ratelimit import RateLimiter
from app.tenants import service as tenant_service
from app.tenants.models import Tenant


async def get_session() -> AsyncIterator[AsyncSession]:
    """A session whose transaction commits when the request succeeds."""
    async with get_sessionmaker()() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
_bearer = HTTPBearer(auto_error=False, description="An API key (tenant-scoped) or the admin key")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the admin, or a key scoped to one tenant."""

    is_admin: bool
    tenant_id: uuid.UUID | None


async def get_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate the bearer key; 401 when missing or unknown.

    Its own short transaction: the key lookup (and its last-use stamp) must not hold a connection
    or a row lock for the rest of the request.
    """
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Missing bearer API key")
    secret = credentials.credentials
    admin = get_settings().admin_api_key
    if auth_service.is_admin_key(secret, admin.get_secret_value() if admin else None):
        return Principal(is_admin=True, tenant_id=None)
    async with session_scope() as session:
        key = await auth_service.find_api_key(session, secret=secret)
    if key is None:
        raise Unauthorized("Invalid API key")
    await enforce_tenant_rate(key.tenant_id)
    return Principal(is_admin=False, tenant_id=key.tenant_id)


@lru_cache
def _tenant_limiter(per_minute: int) -> RateLimiter:
    return RateLimiter(f"{per_minute}/minute")


async def enforce_tenant_rate(tenant_id: uuid.UUID) -> None:
    """Count one request against the tenant's API_REQUESTS_PER_MINUTE (this process); 429 past it.

    Tenant keys only: the admin key is the operator's and is not limited.
    """
    per_minute = get_settings().api_requests_per_minute
    if per_minute <= 0:
        return
    decision = await _tenant_limiter(per_minute).hit(str(tenant_id))
    if not decision.allowed:
        RATE_LIMITED.labels("api").inc()
        raise RateLimited(
            f"More than {per_minute} requests a minute for this tenant; retry in {decision.retry_after} s",
            retry_after=decision.retry_after,
            details={"limit_per_minute": per_minute, "retry_after_seconds": decision.retry_after},
        )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    """Only the admin key passes."""
    if not principal.is_admin:
        raise Forbidden("This operation needs the admin API key")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


async def _tenant_for(session: AsyncSession, slug: str, principal: Principal) -> Tenant:
    """The tenant in the path, if the caller may act on it.

    The admin key gets 404 for a slug that does not exist. A tenant key gets the same 403 for every slug
    but its own, existing or not, so it cannot learn which other tenants exist.
    """
    if principal.is_admin:
        tenant = await tenant_service.require_tenant(session, slug=slug)
    else:
        found = await tenant_service.get_tenant_by_slug(session, slug=slug, missing_ok=True)
        if found is None or found.id != principal.tenant_id:
            raise Forbidden("This API key may act only on its own tenant")
        tenant = found
    log_context.bind(tenant_id=tenant.id)  # the rest of this request's log lines name the tenant
    return tenant


async def get_tenant(slug: str, session: SessionDep, principal: PrincipalDep) -> Tenant:
    """The tenant in the path, if the caller may act on it (admin: 404 unknown; tenant key: 403 but its own)."""
    return await _tenant_for(session, slug, principal)


TenantDep = Annotated[Tenant, Depends(get_tenant)]


async def get_tenant_for_turn(slug: str, principal: PrincipalDep) -> Tenant:
    """Like ``get_tenant`` but resolved in a short transaction of its own, for endpoints that run a
    whole agent turn: the request then holds no connection while the turn uses its own."""
    async with session_scope() as session:
        return await _tenant_for(session, slug, principal)


TurnTenantDep = Annotated[Tenant, Depends(get_tenant_for_turn)]
