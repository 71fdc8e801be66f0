"""Who gets which feature: the global kill switch, the tenant's flags and its per-feature rollout.

Read from the database on every turn (one small query), never cached in the process: a flag, a
rollout change or the kill switch takes effect on the next turn of every API and worker process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.tenants.models import PlatformSettings, Tenant
from app.tenants.rollout import in_rollout, normalise_phone
from app.tenants.schemas import FEATURES, Feature, FeatureRollout
from app.text import phones

__all__ = [
    "FEATURES",
    "Feature",
    "FeatureSnapshot",
    "KillSwitch",
    "decide_feature",
    "feature_enabled",
    "get_kill_switch",
    "load_feature_snapshot",
    "set_kill_switch",
]


@dataclass(frozen=True)
class FeatureSnapshot:
    """What decides features for one tenant at one moment; load it once per turn."""

    tenant_id: uuid.UUID
    kill_switch: bool
    flags: dict[str, Any] = field(default_factory=dict)
    rollout: dict[str, FeatureRollout] = field(default_factory=dict)


@dataclass(frozen=True)
class KillSwitch:
    """The global kill switch: on means every tenant gets the offline agent only."""

    on: bool
    reason: str | None
    changed_at: datetime | None


def _kill_switch_value() -> Any:
    return (
        select(func.coalesce(func.bool_or(PlatformSettings.kill_switch), False))
        .where(PlatformSettings.id == 1)
        .scalar_subquery()
    )


def kill_switch_column() -> Any:
    """The kill switch as a column, for a turn that reads it with its own query of the tenant row."""
    return _kill_switch_value().label("kill_switch")


def snapshot_of(tenant: Tenant, *, kill_switch: bool) -> FeatureSnapshot:
    """The snapshot of a tenant row read in this transaction with ``kill_switch_column`` (no query of its own)."""
    rollout = {k: FeatureRollout.model_validate(v) for k, v in (tenant.rollout or {}).items()}
    flags = dict(tenant.flags or {})
    return FeatureSnapshot(tenant_id=tenant.id, kill_switch=kill_switch, flags=flags, rollout=rollout)


async def load_feature_snapshot(session: AsyncSession, *, tenant_id: uuid.UUID) -> FeatureSnapshot:
    """The tenant's flags and rollout with the kill switch, fresh from the database (one query)."""
    row = (
        await session.execute(select(Tenant.flags, Tenant.rollout, _kill_switch_value()).where(Tenant.id == tenant_id))
    ).one_or_none()
    if row is None:
        raise NotFound(f"tenant {tenant_id} not found")
    flags, rollout, kill = row
    return FeatureSnapshot(
        tenant_id=tenant_id,
        kill_switch=bool(kill),
        flags=dict(flags or {}),
        rollout={k: FeatureRollout.model_validate(v) for k, v in (rollout or {}).items()},
    )


def decide_feature(snapshot: FeatureSnapshot, feature: Feature, customer_number: str | None) -> bool:
    """Whether ``feature`` is on for this customer: kill switch off, flag on, then allowlist or percentage.

    A switched-on feature with no rollout entry reaches every customer; with an entry, only its
    allowlist and its percentage (0 = allowlist only) do. The percentage uses a stable hash of the
    number, so a customer keeps the same answer from turn to turn and process to process.
    """
    if feature not in FEATURES:
        raise ValueError(f"unknown feature {feature!r}; known: {', '.join(FEATURES)}")
    if snapshot.kill_switch or not bool(snapshot.flags.get(feature, False)):
        return False
    rollout = snapshot.rollout.get(feature)
    if rollout is None or rollout.percentage >= 100:
        return True
    if customer_number is None:
        return False
    try:
        number = normalise_phone(customer_number)
    except ValueError:
        return False  # not a phone number (e.g. an API test user): only a full rollout reaches it
    # The allowlist is canonical E.164 already (FeatureRollout's validator): no number is parsed again per turn.
    if any(phones.key_digits(n) == number for n in rollout.allowlist):
        return True
    if rollout.percentage <= 0:
        return False
    return bool(in_rollout(number, feature, rollout.percentage))


async def feature_enabled(
    source: AsyncSession | FeatureSnapshot,
    tenant: Tenant | uuid.UUID,
    feature: Feature,
    customer_number: str | None,
) -> bool:
    """Whether ``feature`` is on for ``customer_number`` of ``tenant``; a session reads everything fresh."""
    tenant_id = tenant if isinstance(tenant, uuid.UUID) else tenant.id
    if isinstance(source, FeatureSnapshot):
        if source.tenant_id != tenant_id:
            raise ValueError("feature snapshot belongs to another tenant")
        snapshot = source
    else:
        snapshot = await load_feature_snapshot(source, tenant_id=tenant_id)
    return decide_feature(snapshot, feature, customer_number)


async def get_kill_switch(session: AsyncSession) -> KillSwitch:
    """The kill switch as stored (off when its row is missing)."""
    row = (
        await session.execute(
            select(
                PlatformSettings.kill_switch,
                PlatformSettings.kill_switch_reason,
                PlatformSettings.kill_switch_changed_at,
            ).where(PlatformSettings.id == 1)
        )
    ).one_or_none()
    if row is None:
        return KillSwitch(on=False, reason=None, changed_at=None)
    return KillSwitch(on=bool(row[0]), reason=row[1], changed_at=row[2])


async def set_kill_switch(session: AsyncSession, *, on: bool, reason: str | None = None) -> KillSwitch:
    """Switch the kill switch; every process sees it on its next turn."""
    values = {"kill_switch": on, "kill_switch_reason": reason, "kill_switch_changed_at": func.now()}
    stmt = insert(PlatformSettings).values(id=1, **values)
    stmt = stmt.on_conflict_do_update(index_elements=[PlatformSettings.id], set_={**values, "updated_at": func.now()})
    await session.execute(stmt)
    return await get_kill_switch(session)
