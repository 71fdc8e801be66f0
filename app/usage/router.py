"""A tenant's LLM usage report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import SessionDep, TenantDep
from app.usage import service as usage_service
from app.usage.schemas import ReportDay, UsageRead

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["usage"])


@router.get("/usage", response_model=UsageRead)
async def get_usage(
    tenant: TenantDep,
    session: SessionDep,
    from_: Annotated[
        ReportDay | None, Query(alias="from", description="First day (UTC); default: 29 days before `to`")
    ] = None,
    to: Annotated[ReportDay | None, Query(description="Last day (UTC), included; default: today")] = None,
) -> UsageRead:
    """LLM calls, tokens, cost and latency per day and model, with totals and turns (at most 366 days)."""
    start, end = usage_service.report_range(from_, to)
    return await usage_service.usage_report(session, tenant_id=tenant.id, start=start, end=end)
