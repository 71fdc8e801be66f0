"""Chat and conversation endpoints of a tenant."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.conversations import service as conversation_service
from app.conversations.schemas import (
    ChatRequest,
    ChatResponse,
    ConversationRead,
    IntentRead,
    MessageRead,
    QuoteRead,
    SourceRead,
    UsageTotals,
)
from app.core.fields import INT8_MAX
from app.deps import SessionDep, TenantDep, TurnTenantDep
from app.flows import conversation as flows

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["conversations"])


@router.post("/chat", response_model=ChatResponse)
async def chat(data: ChatRequest, tenant: TurnTenantDep) -> ChatResponse:
    """Talk to the agent as customer ``user``; same pipeline and history as WhatsApp."""
    result = await flows.chat(tenant=tenant, user=data.user, text=data.text)
    outcome = result.outcome
    if outcome is None:  # a human has this conversation: the bot stays silent
        return ChatResponse(
            conversation_id=result.conversation_id,
            reply="",
            parts=[],
            intent="handoff_active",
            agent="handoff",
            handoff=True,
            tier="none",
            items=[],
            quote=None,
            sources=[],
            latency_ms=result.latency_ms,
            model=None,
            usage=UsageTotals(llm_calls=0, input_tokens=0, output_tokens=0, cost_usd=0.0),
            intents=[],
            confidence=None,
            complexity=None,
            routing_reason=None,
            handoff_reason=None,
        )
    return ChatResponse(
        conversation_id=result.conversation_id,
        reply=outcome.reply,
        parts=result.parts,
        intent=outcome.intent,
        agent=outcome.agent,
        handoff=outcome.handoff,
        tier=outcome.tier,
        items=outcome.items,
        quote=QuoteRead.model_validate(outcome.quote) if outcome.quote else None,
        sources=[SourceRead.model_validate(s) for s in outcome.sources],
        latency_ms=result.latency_ms,
        model=outcome.model,
        usage=UsageTotals(
            llm_calls=len(outcome.llm.calls),
            input_tokens=outcome.llm.input_tokens,
            output_tokens=outcome.llm.output_tokens,
            cost_usd=float(outcome.llm.cost_usd),
        ),
        intents=[IntentRead.model_validate(i) for i in outcome.intents],
        confidence=outcome.confidence,
        complexity=outcome.complexity,
        routing_reason=outcome.routing_reason,
        handoff_reason=outcome.handoff_reason,
    )


@router.get("/conversations", response_model=list[ConversationRead])
async def list_conversations(
    tenant: TenantDep,
    session: SessionDep,
    status: Annotated[str | None, Query(pattern="^(bot|handoff)$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=INT8_MAX)] = 0,
) -> list[ConversationRead]:
    """The tenant's conversations, latest activity first; ``status=handoff`` lists those waiting for a human."""
    rows = await conversation_service.list_conversations(
        session, tenant_id=tenant.id, status=status, limit=limit, offset=offset
    )
    return [ConversationRead.model_validate(r) for r in rows]


@router.get("/conversations/{conversation_id}/messages", response_model=list[MessageRead])
async def list_messages(
    conversation_id: uuid.UUID,
    tenant: TenantDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_id: Annotated[int | None, Query(ge=1, le=INT8_MAX)] = None,
) -> list[MessageRead]:
    """Messages of one conversation in order, both directions, with delivery status."""
    rows = await conversation_service.list_messages(
        session, tenant_id=tenant.id, conversation_id=conversation_id, limit=limit, before_id=before_id
    )
    return [MessageRead.model_validate(r) for r in rows]


@router.post("/conversations/{conversation_id}/release", response_model=ConversationRead)
async def release(conversation_id: uuid.UUID, tenant: TenantDep, session: SessionDep) -> ConversationRead:
    """Give a handed-off conversation back to the bot."""
    conversation = await conversation_service.release_conversation(
        session, tenant_id=tenant.id, conversation_id=conversation_id
    )
    return ConversationRead.model_validate(conversation)
