"""Concierge endpoints of a tenant: vendors (CRUD and CSV import), concierge requests (read-only), metrics."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Query, Response, UploadFile, status

from app.concierge import service as concierge_service
from app.concierge.metrics import ConciergeMetrics, concierge_metrics
from app.concierge.schemas import (
    ConciergeRequestDetail,
    ConciergeRequestRead,
    RequestStatus,
    VendorCreate,
    VendorImportRead,
    VendorRead,
    VendorUpdate,
)
from app.core.fields import INT8_MAX
from app.deps import SessionDep, TenantDep

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["concierge"])


@router.get("/vendors", response_model=list[VendorRead])
async def list_vendors(
    tenant: TenantDep,
    session: SessionDep,
    category: Annotated[str | None, Query(max_length=100)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0, le=INT8_MAX)] = 0,
) -> list[VendorRead]:
    """The tenant's vendors by name, deleted ones included (``active=false``); filter by category or active."""
    rows = await concierge_service.list_vendors(
        session, tenant_id=tenant.id, category=category, active=active, limit=limit, offset=offset
    )
    return [VendorRead.model_validate(r) for r in rows]


@router.post("/vendors", status_code=status.HTTP_201_CREATED, response_model=VendorRead)
async def create_vendor(tenant: TenantDep, session: SessionDep, body: VendorCreate) -> VendorRead:
    """Add a vendor; 409 when one with that WhatsApp number exists (PATCH it, or import)."""
    return VendorRead.model_validate(await concierge_service.create_vendor(session, tenant_id=tenant.id, data=body))


@router.post("/vendors/import", response_model=VendorImportRead)
async def import_vendors(
    tenant: TenantDep,
    session: SessionDep,
    file: Annotated[
        UploadFile,
        File(
            description="CSV: name, whatsapp_number, categories (';' between), lat, lon[, opening_hours, call_consent]"
        ),
    ],
) -> VendorImportRead:
    """Upsert vendors by number from a CSV, all or nothing; a bad row answers 422 naming row and column."""
    data = await file.read()
    return await concierge_service.import_vendors_csv(session, tenant_id=tenant.id, data=data)


@router.get("/vendors/{vendor_id}", response_model=VendorRead)
async def read_vendor(tenant: TenantDep, session: SessionDep, vendor_id: uuid.UUID) -> VendorRead:
    """One vendor; a deleted vendor is still found, with ``active=false`` (404 only for an unknown id)."""
    return VendorRead.model_validate(
        await concierge_service.get_vendor(session, tenant_id=tenant.id, vendor_id=vendor_id)
    )


@router.patch("/vendors/{vendor_id}", response_model=VendorRead)
async def update_vendor(tenant: TenantDep, session: SessionDep, vendor_id: uuid.UUID, body: VendorUpdate) -> VendorRead:
    """Change a vendor; opting out and call consent are time-stamped."""
    row = await concierge_service.update_vendor(session, tenant_id=tenant.id, vendor_id=vendor_id, changes=body)
    return VendorRead.model_validate(row)


@router.delete("/vendors/{vendor_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_vendor(tenant: TenantDep, session: SessionDep, vendor_id: uuid.UUID) -> Response:
    """Soft-delete: the vendor is deactivated (``active=false``), never asked again, and stays readable with its
    history; repeating it is harmless and PATCH ``active=true`` undoes it."""
    await concierge_service.deactivate_vendor(session, tenant_id=tenant.id, vendor_id=vendor_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/concierge/requests", response_model=list[ConciergeRequestRead])
async def list_requests(
    tenant: TenantDep,
    session: SessionDep,
    status: RequestStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=INT8_MAX)] = 0,
) -> list[ConciergeRequestRead]:
    """The tenant's concierge requests, newest first; filter by status."""
    rows = await concierge_service.list_requests(
        session, tenant_id=tenant.id, status=status, limit=limit, offset=offset
    )
    return [ConciergeRequestRead.model_validate(r) for r in rows]


@router.get("/concierge/requests/{request_id}", response_model=ConciergeRequestDetail)
async def read_request(tenant: TenantDep, session: SessionDep, request_id: uuid.UUID) -> ConciergeRequestDetail:
    """One request with every vendor asked and their replies."""
    return await concierge_service.request_detail(session, tenant_id=tenant.id, request_id=request_id)


@router.get("/concierge/metrics", response_model=ConciergeMetrics)
async def get_concierge_metrics(
    tenant: TenantDep, session: SessionDep, days: Annotated[int, Query(ge=1, le=365)] = 30
) -> ConciergeMetrics:
    """Time-to-shortlist p50/p95, vendor reply rate, OCR and call failure rates, shortlists sent."""
    return await concierge_metrics(session, tenant_id=tenant.id, days=days)
