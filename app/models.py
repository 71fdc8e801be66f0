"""Every domain's models in one place, so the metadata is complete (alembic autogenerate, mappers)."""

from __future__ import annotations

from types import ModuleType

from app.auth import models as auth_models
from app.catalog import models as catalog_models
from app.concierge import models as concierge_models
from app.conversations import models as conversation_models
from app.knowledge import models as knowledge_models
from app.tenants import models as tenant_models
from app.usage import models as usage_models

MODEL_MODULES: tuple[ModuleType, ...] = (
    auth_models,
    catalog_models,
    concierge_models,
    conversation_models,
    knowledge_models,
    tenant_models,
    usage_models,
)


def load_all_models() -> tuple[ModuleType, ...]:
    """The model modules (imported with this module, so Base.metadata already holds every table)."""
    return MODEL_MODULES
