"""HTTP API of WhatsApp messaging: a customer's opt-out (visible and settable), the tenant's templates."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.core.errors import NotFound
from app.deps import SessionDep, TenantDep
from app.messaging import templates
from app.messaging.optout import set_opted_out
from app.messaging.outbound import conversation_for
from app.messaging.schemas import OptOutRead, OptOutUpdate, TemplateRead, TemplatesRead

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["messaging"])


@router.get("/conversations/{conversation_id}/opt-out", response_model=OptOutRead)
async def get_opt_out(conversation_id: uuid.UUID, tenant: TenantDep, session: SessionDep) -> OptOutRead:
    """Whether the conversation's customer has opted out of messages from the tenant."""
    conversation = await conversation_for(session, tenant_id=tenant.id, conversation_id=conversation_id)
    if conversation is None:
        raise NotFound("conversation not found")
    return OptOutRead(
        conversation_id=str(conversation.id),
        opted_out=conversation.opted_out_at is not None,
        opted_out_at=conversation.opted_out_at,
        changed=False,
    )


@router.put("/conversations/{conversation_id}/opt-out", response_model=OptOutRead)
async def put_opt_out(
    conversation_id: uuid.UUID, data: OptOutUpdate, tenant: TenantDep, session: SessionDep
) -> OptOutRead:
    """Opt the customer out (nothing more is sent to them) or back in, as an operator recorded it."""
    conversation = await conversation_for(session, tenant_id=tenant.id, conversation_id=conversation_id)
    if conversation is None:
        raise NotFound("conversation not found")
    changed = await set_opted_out(
        session, tenant_id=tenant.id, conversation_id=conversation_id, opted_out=data.opted_out, source="api"
    )
    await session.refresh(conversation, ["opted_out_at"])
    return OptOutRead(
        conversation_id=str(conversation.id),
        opted_out=conversation.opted_out_at is not None,
        opted_out_at=conversation.opted_out_at,
        changed=changed,
    )


@router.get("/templates", response_model=TemplatesRead)
async def list_templates(tenant: TenantDep, session: SessionDep) -> TemplatesRead:
    """The tenant's synced WhatsApp templates (agentctl template sync) and each purpose's state."""
    rows = await templates.list_templates(session, tenant_id=tenant.id)
    return TemplatesRead(
        templates=[TemplateRead.model_validate(r) for r in rows],
        purposes=templates.purpose_states(rows),
    )
