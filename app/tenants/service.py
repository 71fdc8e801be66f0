"""Tenant logic: create, read, change; resolve a tenant from an inbound WhatsApp number."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, Forbidden, NotFound
from app.tenants.agent_config import AgentConfig, agent_config
from app.tenants.agent_config import invalidate as invalidate_agent_config
from app.tenants.models import Tenant, TenantNumber
from app.tenants.schemas import (
    ConciergeSettings,
    Feature,
    FeatureRollout,
    FinanceSettings,
    TenantCreate,
    TenantRead,
    TenantUpdate,
)
from app.text.normalize import Language


def to_read(tenant: Tenant) -> TenantRead:
    """API view of a tenant."""
    return TenantRead(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        whatsapp_numbers=tenant.whatsapp_numbers,
        locale=tenant.locale,
        timezone=tenant.timezone,
        finance=FinanceSettings.model_validate(tenant.finance),
        flags=tenant.flags,
        persona=tenant.persona,
        rollout=rollout_settings(tenant),
        concierge=concierge_settings(tenant),
        catalog_version=tenant.catalog_version,
        created_at=tenant.created_at,
        updated_at=tenant.updated_at,
    )


async def _check_numbers_free(session: AsyncSession, *, numbers: list[str], tenant_id: uuid.UUID | None) -> None:
    if not numbers:
        return
    rows = (await session.execute(select(TenantNumber).where(TenantNumber.address.in_(numbers)))).scalars().all()
    taken = [r.address for r in rows if r.tenant_id != tenant_id]
    if taken:
        raise Conflict("WhatsApp number already belongs to another tenant", details={"numbers": taken})


async def create_tenant(session: AsyncSession, *, data: TenantCreate) -> Tenant:
    """Create a tenant; 409 when the slug or a number is taken."""
    if await get_tenant_by_slug(session, slug=data.slug, missing_ok=True):
        raise Conflict(f"tenant {data.slug!r} already exists")
    await _check_numbers_free(session, numbers=data.whatsapp_numbers, tenant_id=None)
    tenant = Tenant(
        slug=data.slug,
        name=data.name,
        locale=data.locale,
        timezone=data.timezone,
        finance=data.finance.model_dump(mode="json"),
        flags=dict(data.flags),
        persona=dict(data.persona),
        rollout={k: v.model_dump(mode="json") for k, v in data.rollout.items()},
        concierge=data.concierge.model_dump(mode="json"),
        numbers=[TenantNumber(address=n) for n in data.whatsapp_numbers],
    )
    session.add(tenant)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("tenant slug or number already exists") from exc
    await session.refresh(tenant)
    return tenant


async def update_tenant(session: AsyncSession, *, tenant: Tenant, data: TenantUpdate) -> Tenant:
    """Apply a partial change; flags merge key by key."""
    fields = data.model_dump(exclude_unset=True)
    if "whatsapp_numbers" in fields and data.whatsapp_numbers is not None:
        await _check_numbers_free(session, numbers=data.whatsapp_numbers, tenant_id=tenant.id)
        wanted = list(data.whatsapp_numbers)
        tenant.numbers = [n for n in tenant.numbers if n.address in wanted] + [
            TenantNumber(address=a) for a in wanted if a not in tenant.whatsapp_numbers
        ]
    for name in ("name", "locale", "timezone"):
        if fields.get(name) is not None:
            setattr(tenant, name, fields[name])
    if data.finance is not None:
        tenant.finance = data.finance.model_dump(mode="json")
    if data.flags is not None:
        tenant.flags = {**tenant.flags, **data.flags}
    if data.persona is not None:
        tenant.persona = dict(data.persona)
    if data.rollout is not None:
        tenant.rollout = {**tenant.rollout, **{k: v.model_dump(mode="json") for k, v in data.rollout.items()}}
    if data.concierge is not None:
        tenant.concierge = data.concierge.model_dump(mode="json")
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent request claimed the same number first
        raise Conflict("WhatsApp number already belongs to another tenant") from exc
    await session.refresh(tenant)
    return tenant


async def set_flag(session: AsyncSession, *, tenant: Tenant, flag: str, value: bool) -> Tenant:
    """Switch one feature flag."""
    return await update_tenant(session, tenant=tenant, data=TenantUpdate(flags={flag: value}))


async def get_tenant_by_slug(session: AsyncSession, *, slug: str, missing_ok: bool = False) -> Tenant | None:
    """The tenant with ``slug``; raises NotFound unless ``missing_ok``."""
    tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
    if tenant is None and not missing_ok:
        raise NotFound(f"tenant {slug!r} not found")
    return tenant


async def require_tenant(session: AsyncSession, *, slug: str) -> Tenant:
    """The tenant with ``slug`` or NotFound."""
    tenant = await get_tenant_by_slug(session, slug=slug)
    assert tenant is not None
    return tenant


async def tenant_id_for_number(session: AsyncSession, *, address: str) -> uuid.UUID | None:
    """Id of the tenant owning a WhatsApp address (the webhook's hot path: one indexed lookup)."""
    stmt = select(TenantNumber.tenant_id).where(TenantNumber.address == address)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_tenants(session: AsyncSession) -> list[Tenant]:
    """All tenants by slug."""
    return list((await session.execute(select(Tenant).order_by(Tenant.slug))).scalars().all())


def finance_settings(tenant: Tenant) -> FinanceSettings:
    """The tenant's finance rules, defaults filled in."""
    return FinanceSettings.model_validate(tenant.finance or {})


_ROLLOUT: TypeAdapter[dict[Feature, FeatureRollout]] = TypeAdapter(dict[Feature, FeatureRollout])


def rollout_settings(tenant: Tenant) -> dict[Feature, FeatureRollout]:
    """The tenant's per-feature rollout (features without an entry are absent)."""
    return _ROLLOUT.validate_python(tenant.rollout or {})


def concierge_settings(tenant: Tenant) -> ConciergeSettings:
    """The tenant's concierge knobs, defaults filled in."""
    return ConciergeSettings.model_validate(tenant.concierge or {})


def default_language(tenant: Tenant) -> Language:
    """The tenant's language when the customer's is unclear."""
    return "en" if tenant.locale.lower().startswith("en") else "es"


def flag(tenant: Tenant, name: str, default: bool = False) -> bool:
    """A feature flag's value."""
    value: Any = (tenant.flags or {}).get(name, default)
    return bool(value)


def get_agent_config(tenant: Tenant) -> AgentConfig:
    """The tenant's AI agent configuration, defaults filled in (cached per version)."""
    return agent_config(tenant.id, tenant.agent_config_version, tenant.agent_config)


def check_budget_change(current: Decimal | None, wanted: Decimal | None) -> None:
    """A tenant key may set or lower the monthly LLM budget; raising or removing it needs the admin key."""
    if current is None or (wanted is not None and wanted <= current):
        return
    raise Forbidden(
        "Only the admin API key may raise or remove monthly_budget_usd; send the current value to keep it",
        details={
            "field": "monthly_budget_usd",
            "current": str(current),
            "requested": None if wanted is None else str(wanted),
        },
    )


async def replace_agent_config(
    session: AsyncSession, *, tenant: Tenant, config: AgentConfig, by_admin: bool
) -> AgentConfig:
    """Store a new configuration; its version moves on so every process drops its cached copy.

    Not by the admin: the budget may only go down, checked against the version read, so a change that
    lands in between (the admin lowering it) is never overwritten: that answers 409.
    """
    statement = update(Tenant).where(Tenant.id == tenant.id)
    if not by_admin:
        check_budget_change(get_agent_config(tenant).monthly_budget_usd, config.monthly_budget_usd)
        statement = statement.where(Tenant.agent_config_version == tenant.agent_config_version)
    result = await session.execute(
        statement.values(
            agent_config=config.model_dump(mode="json"), agent_config_version=Tenant.agent_config_version + 1
        )
    )
    if getattr(result, "rowcount", 1) == 0:
        raise Conflict("The agent configuration changed meanwhile; read it again and retry")
    await session.refresh(tenant, attribute_names=["agent_config", "agent_config_version", "updated_at"])
    invalidate_agent_config(tenant.id)
    return get_agent_config(tenant)
