"""A tenant's alerts (tenant-key scoped); thresholds are in its agent configuration (``alerts``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.alerts import service as alerts_service
from app.alerts.schemas import AlertRead
from app.deps import SessionDep, TenantDep

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["alerts"])


@router.get("/alerts", response_model=list[AlertRead])
async def list_alerts(
    tenant: TenantDep,
    session: SessionDep,
    open_only: Annotated[bool, Query(alias="open", description="Only alerts still open")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertRead]:
    """Open and recovered alerts, newest first."""
    rows = await alerts_service.list_alerts(session, tenant_id=tenant.id, open_only=open_only, limit=limit)
    return [AlertRead.model_validate(r) for r in rows]
