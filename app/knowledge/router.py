"""Knowledge endpoints of a tenant."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.core.errors import InvalidInput
from app.core.fields import INT8_MAX
from app.deps import SessionDep, TenantDep
from app.knowledge import service as knowledge_service
from app.knowledge.files import parse_import
from app.knowledge.schemas import (
    EntryType,
    KnowledgeEntryCreate,
    KnowledgeEntryRead,
    KnowledgeEntryUpdate,
    KnowledgeHit,
    KnowledgeImportResult,
    SynonymGroupCreate,
    SynonymGroupRead,
)
from app.tenants import service as tenant_service
from app.text.normalize import detect_language

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
        language=detect_language(q, default=tenant_service.default_language(tenant)),
        limit=limit,
    )


# Synonyms come before "/{entry_id}": that path would take "synonyms" for an entry id.
@router.get("/synonyms", response_model=list[SynonymGroupRead])
async def list_synonyms(tenant: TenantDep, session: SessionDep) -> list[SynonymGroupRead]:
    """The tenant's own synonym groups (the built-in Spanish and English lexicon applies as well)."""
    rows = await knowledge_service.list_synonyms(session, tenant_id=tenant.id)
    return [SynonymGroupRead.model_validate(r) for r in rows]


@router.post("/synonyms", response_model=SynonymGroupRead, status_code=status.HTTP_201_CREATED)
async def add_synonyms(tenant: TenantDep, session: SessionDep, body: SynonymGroupCreate) -> SynonymGroupRead:
    """Add a group of equivalent terms ("sede", "sucursal"); the next question already uses it."""
    row = await knowledge_service.add_synonyms(session, tenant_id=tenant.id, terms=body.terms)
    return SynonymGroupRead.model_validate(row)


@router.put("/synonyms", response_model=list[SynonymGroupRead])
async def replace_synonyms(
    tenant: TenantDep, session: SessionDep, body: list[SynonymGroupCreate]
) -> list[SynonymGroupRead]:
    """Replace all of the tenant's groups (an empty list removes them)."""
    rows = await knowledge_service.replace_synonyms(session, tenant_id=tenant.id, groups=[g.terms for g in body])
    return [SynonymGroupRead.model_validate(r) for r in rows]


@router.delete("/synonyms/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_synonyms(tenant: TenantDep, session: SessionDep, group_id: uuid.UUID) -> Response:
    """Remove one group."""
    await knowledge_service.delete_synonyms(session, tenant_id=tenant.id, group_id=group_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", response_model=list[KnowledgeEntryRead])
async def list_knowledge(
    tenant: TenantDep,
    session: SessionDep,
    type: EntryType | None = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=INT8_MAX)] = 0,
) -> list[KnowledgeEntryRead]:
    """Live entries (deleted ones are not listed), highest priority first."""
    rows = await knowledge_service.list_entries(
        session, tenant_id=tenant.id, type=type, category=category, active=active, limit=limit, offset=offset
    )
    return [KnowledgeEntryRead.model_validate(r) for r in rows]


@router.post("", response_model=KnowledgeEntryRead, status_code=status.HTTP_201_CREATED)
async def create_knowledge(tenant: TenantDep, session: SessionDep, body: KnowledgeEntryCreate) -> KnowledgeEntryRead:
    """Add one entry; 409 when the title already exists in that language."""
    row = await knowledge_service.create_entry(session, tenant_id=tenant.id, entry=body)
    return KnowledgeEntryRead.model_validate(row)


@router.get("/{entry_id}", response_model=KnowledgeEntryRead)
async def read_knowledge(tenant: TenantDep, session: SessionDep, entry_id: uuid.UUID) -> KnowledgeEntryRead:
    """One entry."""
    row = await knowledge_service.get_entry(session, tenant_id=tenant.id, entry_id=entry_id)
    return KnowledgeEntryRead.model_validate(row)


@router.patch("/{entry_id}", response_model=KnowledgeEntryRead)
async def update_knowledge(
    tenant: TenantDep, session: SessionDep, entry_id: uuid.UUID, body: KnowledgeEntryUpdate
) -> KnowledgeEntryRead:
    """Change fields; a change of what the entry says bumps its version. Takes effect on the next turn."""
    row = await knowledge_service.update_entry(session, tenant_id=tenant.id, entry_id=entry_id, changes=body)
    return KnowledgeEntryRead.model_validate(row)


@router.delete("/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_knowledge(tenant: TenantDep, session: SessionDep, entry_id: uuid.UUID) -> Response:
    """Soft-delete an entry: it no longer answers, and it is not listed."""
    await knowledge_service.delete_entry(session, tenant_id=tenant.id, entry_id=entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
