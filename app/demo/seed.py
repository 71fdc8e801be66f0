"""Seed the `demo` tenant (a used-car dealer in Mexico) idempotently."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from pydantic import TypeAdapter

from app.catalog import service as catalog_service
from app.core.db import session_scope
from app.knowledge import service as knowledge_service
from app.knowledge.schemas import KnowledgeEntryCreate
from app.tenants import service as tenant_service
from app.tenants.schemas import TenantCreate

DATA = resources.files("app.demo") / "data"


def demo_files() -> tuple[dict[str, Any], bytes, list[KnowledgeEntryCreate]]:
    """The demo tenant definition, its stock CSV and its knowledge entries."""
    tenant = json.loads((DATA / "tenant.json").read_text(encoding="utf-8"))
    cars = (DATA / "cars.csv").read_bytes()
    knowledge = TypeAdapter(list[KnowledgeEntryCreate]).validate_json((DATA / "knowledge.json").read_bytes())
    return tenant, cars, knowledge


async def seed_demo() -> dict[str, Any]:
    """Create the demo tenant if missing, load its catalog when empty or changed, upsert its knowledge."""
    definition, cars, knowledge = demo_files()
    async with session_scope() as session:
        tenant = await tenant_service.get_tenant_by_slug(session, slug=definition["slug"], missing_ok=True)
        created = tenant is None
        if tenant is None:
            tenant = await tenant_service.create_tenant(session, data=TenantCreate.model_validate(definition))
        catalog_rows = 0
        if created or tenant.catalog_version == 0:
            result = await catalog_service.import_catalog_csv(session, tenant_id=tenant.id, data=cars)
            catalog_rows = result.rows
        imported = await knowledge_service.import_entries(session, tenant_id=tenant.id, entries=knowledge)
    return {
        "tenant": definition["slug"],
        "created": created,
        "catalog_rows_loaded": catalog_rows,
        "knowledge": imported.model_dump(),
    }
