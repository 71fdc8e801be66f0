"""Every domain's models in one place, so the metadata is complete (alembic autogenerate, mappers)."""

from __future__ import annotations

from types import ModuleType

from app.alerts import models as alert_models
from app.auth import models as auth_models
from app.catalog import models as catalog_models
from app.concierge import models as concierge_models
from app.conversations import models as conversation_models
from app.experiments import models as experiment_models
from app.feedback import models as feedback_models
from app.knowledge import models as knowledge_models
from app.leads import models as lead_models
from app.messaging import models as messaging_models
from app.notify import models as notify_models
from app.operators import models as operator_models
from app.tenants import models as tenant_models
from app.usage import models as usage_models

MODEL_MODULES: tuple[ModuleType, ...] = (
    alert_models,
    auth_models,
    catalog_models,
    concierge_models,
    conversation_models,
    experiment_models,
    feedback_models,
    knowledge_models,
    lead_models,
    messaging_models,
    notify_models,
    operator_models,
    tenant_models,
    usage_models,
)


def load_all_models() -> tuple[ModuleType, ...]:
    """The model modules (imported with this module, so Base.metadata already holds every table)."""
    return MODEL_MODULES
