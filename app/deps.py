"""FastAPI dependencies: database session, bearer-key authentication, tenant resolution."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth_service
from app.core.config import get_settings
from app.core.db import get_sessionmaker, session_scope
from app.core.errors import Forbidden, Unauthorized
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
    return Principal(is_admin=False, tenant_id=key.tenant_id)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    """Only the admin key passes."""
    if not principal.is_admin:
        raise Forbidden("This operation needs the admin API key")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


async def get_tenant(slug: str, session: SessionDep, principal: PrincipalDep) -> Tenant:
    """The tenant in the path, if the caller may act on it (404 unknown, 403 another tenant's key)."""
    tenant = await tenant_service.require_tenant(session, slug=slug)
    if not principal.is_admin and principal.tenant_id != tenant.id:
        raise Forbidden("This API key belongs to another tenant")
    return tenant


TenantDep = Annotated[Tenant, Depends(get_tenant)]


async def get_tenant_for_turn(slug: str, principal: PrincipalDep) -> Tenant:
    """Like ``get_tenant`` but resolved in a short transaction of its own, for endpoints that run a
    whole agent turn: the request then holds no connection while the turn uses its own."""
    async with session_scope() as session:
        tenant = await tenant_service.require_tenant(session, slug=slug)
    if not principal.is_admin and principal.tenant_id != tenant.id:
        raise Forbidden("This API key belongs to another tenant")
    return tenant


TurnTenantDep = Annotated[Tenant, Depends(get_tenant_for_turn)]
