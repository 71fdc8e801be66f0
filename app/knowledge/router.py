"""Knowledge endpoints of a tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.deps import SessionDep, TenantDep
from app.errors import InvalidInput
from app.knowledge import service as knowledge_service
from app.knowledge.files import parse_import
from app.knowledge.schemas import (
    KnowledgeEntryCreate,
    KnowledgeHit,
    KnowledgeImportResult,
)
from app.textnorm import detect_language

router = APIRouter(prefix="/v1/tenants/{slug}/knowledge", tags=["knowledge"])


@router.post(
    "/import",
    response_model=KnowledgeImportResult,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "array", "items": KnowledgeEntryCreate.model_json_schema()}},
                "text/markdown": {"schema": {"type": "string"}},
            },
            "required": True,
        }
    },
)
async def import_knowledge(
    request: Request, tenant: TenantDep, session: SessionDep, category: str | None = None
) -> KnowledgeImportResult:
    """Import a JSON list of ``{title, content, category?}`` or Markdown; identical content is not duplicated."""
    entries = parse_import(await request.body(), request.headers.get("content-type", ""), category=category)
    if not entries:
        raise InvalidInput("No entries to import")
    return await knowledge_service.import_entries(session, tenant_id=tenant.id, entries=entries)


@router.get("/search", response_model=list[KnowledgeHit])
async def search_knowledge(
    tenant: TenantDep,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[KnowledgeHit]:
    """Scored entries for a question, best first."""
    return await knowledge_service.search_knowledge(
        session,
        tenant_id=tenant.id,
        query=q,
        language=detect_language(q, default="en" if tenant.locale.startswith("en") else "es"),
        limit=limit,
    )
