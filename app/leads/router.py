"""A tenant's leads: the visits and test drives its customers booked in the chat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.fields import INT8_MAX
from app.deps import SessionDep, TenantDep
from app.leads import service as lead_service
from app.leads.schemas import LeadRead, LeadStatus

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["leads"])


@router.get("/leads", response_model=list[LeadRead])
async def list_leads(
    tenant: TenantDep,
    session: SessionDep,
    status: LeadStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=INT8_MAX)] = 0,
) -> list[LeadRead]:
    """Visits and test drives booked in conversations, newest first; filter by ``status``."""
    rows = await lead_service.list_leads(session, tenant_id=tenant.id, status=status, limit=limit, offset=offset)
    return [LeadRead.model_validate(r) for r in rows]
