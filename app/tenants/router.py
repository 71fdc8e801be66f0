"""Tenant endpoints (admin creates; tenant keys read and change their own tenant)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from app.auth import service as auth_service
from app.core.errors import Forbidden
from app.deps import AdminDep, PrincipalDep, SessionDep, TenantDep
from app.tenants import features
from app.tenants import service as tenant_service
from app.tenants.agent_config import AgentConfig
from app.tenants.schemas import (
    ApiKeyCreate,
    KillSwitchRead,
    KillSwitchUpdate,
    TenantCreate,
    TenantRead,
    TenantUpdate,
)

router = APIRouter(prefix="/v1/tenants", tags=["tenants"])


class ApiKeyCreated(BaseModel):
    """The key's secret, shown only in this response."""

    id: str
    name: str
    key: str


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TenantRead)
async def create_tenant(data: TenantCreate, session: SessionDep, _: AdminDep) -> TenantRead:
    """Create a tenant (admin key)."""
    tenant = await tenant_service.create_tenant(session, data=data)
    return tenant_service.to_read(tenant)


@router.get("", response_model=list[TenantRead])
async def list_tenants(session: SessionDep, _: AdminDep) -> list[TenantRead]:
    """All tenants (admin key)."""
    return [tenant_service.to_read(t) for t in await tenant_service.list_tenants(session)]


@router.get("/{slug}", response_model=TenantRead)
async def get_tenant(tenant: TenantDep) -> TenantRead:
    """One tenant."""
    return tenant_service.to_read(tenant)


@router.patch("/{slug}", response_model=TenantRead)
async def update_tenant(
    data: TenantUpdate, tenant: TenantDep, session: SessionDep, principal: PrincipalDep
) -> TenantRead:
    """Change any field; ``flags`` merge key by key. Takes effect on the next turn.

    WhatsApp numbers route other people's customers, so only the admin key may change them.
    """
    if data.whatsapp_numbers is not None and not principal.is_admin:
        raise Forbidden("Changing WhatsApp numbers needs the admin API key")
    updated = await tenant_service.update_tenant(session, tenant=tenant, data=data)
    return tenant_service.to_read(updated)


@router.post("/{slug}/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(data: ApiKeyCreate, tenant: TenantDep, session: SessionDep, _: AdminDep) -> ApiKeyCreated:
    """Create a tenant-scoped key (admin key); the secret is shown once and stored only as a hash."""
    key = await auth_service.create_api_key(session, tenant_id=tenant.id, name=data.name)
    return ApiKeyCreated(id=str(key.id), name=key.name, key=key.secret)


@router.get("/{slug}/agent-config", response_model=AgentConfig)
async def get_agent_config(tenant: TenantDep) -> AgentConfig:
    """The AI agent's configuration: persona, rules, disclaimers, models, switches, budget, handoff topics."""
    return tenant_service.get_agent_config(tenant)


@router.put("/{slug}/agent-config", response_model=AgentConfig)
async def put_agent_config(
    data: AgentConfig, tenant: TenantDep, session: SessionDep, principal: PrincipalDep
) -> AgentConfig:
    """Replace the AI agent's configuration (validated; unknown models are refused). Takes effect on the next turn.

    A tenant key may set or lower ``monthly_budget_usd``; only the admin key may raise or remove it.
    """
    return await tenant_service.replace_agent_config(session, tenant=tenant, config=data, by_admin=principal.is_admin)


platform_router = APIRouter(prefix="/v1/admin", tags=["platform"])


@platform_router.get("/kill-switch", response_model=KillSwitchRead)
async def get_kill_switch(session: SessionDep, _: AdminDep) -> KillSwitchRead:
    """The global kill switch (admin key)."""
    state = await features.get_kill_switch(session)
    return KillSwitchRead(on=state.on, reason=state.reason, changed_at=state.changed_at)


@platform_router.put("/kill-switch", response_model=KillSwitchRead)
async def put_kill_switch(data: KillSwitchUpdate, session: SessionDep, _: AdminDep) -> KillSwitchRead:
    """Switch every tenant to the offline agent (on) or back to their flags (off), from the next turn (admin key)."""
    state = await features.set_kill_switch(session, on=data.on, reason=data.reason)
    return KillSwitchRead(on=state.on, reason=state.reason, changed_at=state.changed_at)
