"""The operator API: the handoff queue, replies as the business, assignment, close, notes, notifications,
operator accounts. Tenant keys act on their own tenant only (app.deps)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.conversations import service as conversation_service
from app.core.errors import InvalidInput
from app.deps import SessionDep, TenantDep
from app.flows import operators as operator_flow
from app.notify import service as notify_service
from app.operators import accounts, desk
from app.operators.schemas import (
    AssignRead,
    AssignRequest,
    ConversationStateRead,
    HandoffRead,
    NoteCreate,
    NoteRead,
    NotifyRead,
    NotifySettings,
    OperatorCreate,
    OperatorMessageCreate,
    OperatorMessageRead,
    OperatorPassword,
    OperatorRead,
)

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["operators"])


@router.get("/handoffs", response_model=list[HandoffRead])
async def handoffs(tenant: TenantDep, session: SessionDep) -> list[HandoffRead]:
    """Conversations waiting for a person, oldest first, with waiting time, reason and last customer message."""
    return await desk.list_handoffs(session, tenant_id=tenant.id)


async def _author(session: SessionDep, tenant_id: uuid.UUID, email: str | None) -> desk.Author:
    """The identity stored with the message: the named operator of this tenant, or the API key."""
    if not email:
        return desk.Author(kind="api_key", label="api")
    operator = await accounts.find_operator(session, tenant_id=tenant_id, email=email)
    if operator is None:
        raise InvalidInput(
            "operator_email is not an operator of this tenant",
            details=[{"field": "operator_email", "message": "unknown operator"}],
        )
    return desk.Author(kind="operator", label=operator.email, operator_id=operator.id)


@router.post("/conversations/{conversation_id}/messages", response_model=list[OperatorMessageRead], status_code=201)
async def send_message(
    conversation_id: uuid.UUID, data: OperatorMessageCreate, tenant: TenantDep, session: SessionDep
) -> list[OperatorMessageRead]:
    """Send text to the customer as the business (409 ``window_closed`` outside WhatsApp's 24-hour window:
    send a template then)."""
    parts = await operator_flow.send(
        session,
        tenant_id=tenant.id,
        conversation_id=conversation_id,
        author=await _author(session, tenant.id, data.operator_email),
        text=data.text,
        template=data.template,
        variables=data.variables,
    )
    return [OperatorMessageRead.model_validate(p) for p in parts]


@router.post("/conversations/{conversation_id}/assign", response_model=AssignRead)
async def assign(conversation_id: uuid.UUID, data: AssignRequest, tenant: TenantDep, session: SessionDep) -> AssignRead:
    """Give the conversation to an operator of the tenant (null: unassign)."""
    operator = await desk.assign(
        session, tenant_id=tenant.id, conversation_id=conversation_id, operator_id=data.operator_id
    )
    return AssignRead(
        conversation_id=conversation_id,
        operator_id=operator.id if operator else None,
        operator_email=operator.email if operator else None,
    )


@router.post("/conversations/{conversation_id}/close", response_model=ConversationStateRead)
async def close(conversation_id: uuid.UUID, tenant: TenantDep, session: SessionDep) -> ConversationStateRead:
    """Done: released to the bot and marked closed until the customer writes again."""
    conversation = await desk.close(session, tenant_id=tenant.id, conversation_id=conversation_id)
    return ConversationStateRead(conversation_id=conversation.id, status=conversation.status, closed=True)


@router.post("/conversations/{conversation_id}/notes", response_model=NoteRead, status_code=201)
async def add_note(conversation_id: uuid.UUID, data: NoteCreate, tenant: TenantDep, session: SessionDep) -> NoteRead:
    """An internal note, never sent to the customer."""
    note = await desk.add_note(
        session,
        tenant_id=tenant.id,
        conversation_id=conversation_id,
        text=data.text,
        author=desk.Author(kind="api_key", label="api"),
    )
    return NoteRead.model_validate(note)


@router.get("/conversations/{conversation_id}/notes", response_model=list[NoteRead])
async def notes(conversation_id: uuid.UUID, tenant: TenantDep, session: SessionDep) -> list[NoteRead]:
    """The conversation's internal notes, oldest first."""
    await conversation_service.get_conversation(session, tenant_id=tenant.id, conversation_id=conversation_id)
    rows = await desk.list_notes(session, tenant_id=tenant.id, conversation_id=conversation_id)
    return [NoteRead.model_validate(n) for n in rows]


@router.get("/notify", response_model=NotifyRead)
async def get_notify(tenant: TenantDep, session: SessionDep) -> NotifyRead:
    """The tenant's notification endpoint (without its secret)."""
    view = await notify_service.get_endpoint(session, tenant.id)
    return NotifyRead(
        url=view.url if view else None,
        secret_prefix=view.secret_prefix if view else None,
        signature_header=notify_service.SIGNATURE_HEADER,
    )


@router.put("/notify", response_model=NotifyRead)
async def put_notify(data: NotifySettings, tenant: TenantDep, session: SessionDep) -> NotifyRead:
    """Set the notify_url; the signing secret is returned once, on creation or rotation."""
    try:
        view = await notify_service.set_endpoint(
            session, tenant_id=tenant.id, url=data.url, rotate_secret=data.rotate_secret
        )
    except notify_service.InvalidNotifyUrl as exc:
        raise InvalidInput(str(exc), details=[{"field": "url", "message": str(exc)}]) from exc
    return NotifyRead(
        url=view.url,
        secret_prefix=view.secret_prefix,
        secret=view.secret,
        signature_header=notify_service.SIGNATURE_HEADER,
    )


@router.get("/operators", response_model=list[OperatorRead])
async def list_operators(tenant: TenantDep, session: SessionDep) -> list[OperatorRead]:
    """The tenant's operator accounts."""
    return [OperatorRead.model_validate(o) for o in await accounts.list_operators(session, tenant_id=tenant.id)]


@router.post("/operators", response_model=OperatorRead, status_code=201)
async def create_operator(data: OperatorCreate, tenant: TenantDep, session: SessionDep) -> OperatorRead:
    """A new operator account (409 when the email already has one in this tenant)."""
    operator = await accounts.create_operator(
        session, tenant_id=tenant.id, email=data.email, password=data.password, role=data.role
    )
    return OperatorRead.model_validate(operator)


@router.post("/operators/{operator_id}/disable", response_model=OperatorRead)
async def disable_operator(operator_id: uuid.UUID, tenant: TenantDep, session: SessionDep) -> OperatorRead:
    """The account can no longer sign in, and every open console session of it ends now (its messages and notes
    keep their author). Repeating it changes nothing."""
    operator = await accounts.require_operator(session, tenant_id=tenant.id, operator_id=operator_id)
    return OperatorRead.model_validate(await accounts.set_disabled(session, operator=operator, disabled=True))


@router.post("/operators/{operator_id}/enable", response_model=OperatorRead)
async def enable_operator(operator_id: uuid.UUID, tenant: TenantDep, session: SessionDep) -> OperatorRead:
    """The account may sign in again."""
    operator = await accounts.require_operator(session, tenant_id=tenant.id, operator_id=operator_id)
    return OperatorRead.model_validate(await accounts.set_disabled(session, operator=operator, disabled=False))


@router.put("/operators/{operator_id}/password", status_code=204)
async def set_operator_password(
    operator_id: uuid.UUID, data: OperatorPassword, tenant: TenantDep, session: SessionDep
) -> None:
    """A new password; every open console session of the account ends."""
    operator = await accounts.require_operator(session, tenant_id=tenant.id, operator_id=operator_id)
    await accounts.set_password(session, operator=operator, password=data.password)
