"""Catalog endpoints of a tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from pydantic import BaseModel

from app.catalog import service as catalog_service
from app.deps import SessionDep, TenantDep

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["catalog"])


class CatalogImportRead(BaseModel):
    """The outcome of a catalog upload."""

    rows: int
    columns: list[str]
    catalog_version: int


@router.post("/catalog", response_model=CatalogImportRead)
async def import_catalog(
    tenant: TenantDep, session: SessionDep, file: Annotated[UploadFile, File(description="CSV with a header row")]
) -> CatalogImportRead:
    """Replace the catalog atomically from a CSV; a bad row answers 422 naming row and column, nothing applied."""
    data = await file.read()
    result = await catalog_service.import_catalog_csv(session, tenant_id=tenant.id, data=data)
    return CatalogImportRead(rows=result.rows, columns=result.columns, catalog_version=result.catalog_version)
