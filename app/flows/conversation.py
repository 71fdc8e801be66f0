"""Multi-step flows of a conversation: receive a WhatsApp message, answer a turn, deliver the reply.

Durability: the inbound row is committed before the webhook answers; a turn (its reply parts, its chat
history, the conversation's memory and the inbound messages it answered) is committed atomically; sending
happens after commit and is resumed from the stored parts if a worker dies, so a retried job never
produces a second reply. A part a crash left in flight (``sending``, no SID) is first looked up in
Twilio's message list and adopted if Twilio has it (app.conversations.delivery).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from agents.context import TenantContext, TurnOutcome
from agents.graph import run_turn
from agents.memory import ConversationMemory
from agents.state import TurnDeps
from app.catalog import service as catalog_service
from app.channels.sender import ReplySender
from app.channels.splitting import split_message
from app.concierge import service as concierge_service
from app.conversations import service as conversation_service
from app.conversations.delivery import send_stored
from app.conversations.dispatch import Dispatched, InboundDispatcher
from app.conversations.history import recent_messages
from app.conversations.models import Conversation, Message
from app.conversations.service import JobSpec, TurnRow
from app.core import context as log_context
from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import NotFound
from app.core.metrics import record_turn
from app.experiments import service as experiments_service
from app.experiments.models import RUNNING, Experiment
from app.feedback import service as feedback_service
from app.flows import throttle
from app.llm.providers import get_registry
from app.llm.tracing import tracing_callbacks
from app.messaging import inbound as messaging_inbound
from app.messaging import rich
from app.messaging.photos import car_photo
from app.notify.service import notify
from app.operators import policy as handoff_policy
from app.tenants import service as tenant_service
from app.tenants.features import decide_feature, kill_switch_column, snapshot_of
from app.tenants.models import Tenant
from app.tenants.schemas import FEATURES
from app.text.normalize import Language
from app.usage import service as usage_service

log = logging.getLogger(__name__)
MAX_TURN_CHARS = 1500

# The worker's job for a conversation (registered as "process_conversation" in the "agent" namespace by
# app.flows.jobs); the webhook writes its row in the inbound message's transaction.
CONVERSATION_TASK = "agent:process_conversation"
CONVERSATION_QUEUE = "default"
CONVERSATION_LOCK_PREFIX = "conversation:"

_dispatchers: list[InboundDispatcher] = []


def set_inbound_dispatchers(dispatchers: list[InboundDispatcher]) -> None:
    """Hand the flow the domains that answer some senders themselves (called once at start-up)."""
    _dispatchers[:] = dispatchers


def conversation_lock(conversation_id: uuid.UUID) -> str:
    """The job lock that keeps one conversation's jobs sequential."""
    return f"{CONVERSATION_LOCK_PREFIX}{conversation_id}"


def inbound_job(*, delay_seconds: float, max_delay_seconds: float) -> JobSpec:
    """The job the webhook queues in its own transaction (see conversations.service.ingest_whatsapp)."""
    return JobSpec(
        queue=CONVERSATION_QUEUE,
        task_name=CONVERSATION_TASK,
        lock_prefix=CONVERSATION_LOCK_PREFIX,
        delay_seconds=delay_seconds,
        max_delay_seconds=max_delay_seconds,
    )


@dataclass(frozen=True)
class InboundWhatsApp:
    """The fields of Twilio's inbound webhook we keep."""

    message_sid: str
    from_: str
    to: str
    body: str
    profile_name: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    """What the webhook did with a message."""

    status: Literal["accepted", "duplicate", "unknown_number"]
    tenant_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ChatResult:
    """An API chat turn: the outcome (None when a human has the conversation) and timing."""

    conversation_id: uuid.UUID
    outcome: TurnOutcome | None
    parts: list[str]
    latency_ms: int


def tenant_context(tenant: Tenant) -> TenantContext:
    """Detach what a turn needs from the ORM row."""
    return TenantContext(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        locale=tenant.locale,
        finance=tenant_service.finance_settings(tenant),
        persona={k: str(v) for k, v in (tenant.persona or {}).items()},
        flags=dict(tenant.flags or {}),
        agent=tenant_service.get_agent_config(tenant),
        timezone=tenant.timezone,
    )


async def receive_whatsapp(inbound: InboundWhatsApp) -> Received:
    """Store an inbound WhatsApp message (once per MessageSid) and queue its conversation, atomically."""
    settings = get_settings()
    # One statement, atomic by itself: without BEGIN/COMMIT the webhook makes one round trip.
    ingested = await conversation_service.ingest_whatsapp(
        conversation_service.ingest_args(
            to=inbound.to,
            from_=inbound.from_,
            body=inbound.body,
            message_sid=inbound.message_sid,
            profile_name=inbound.profile_name,
            media=inbound.media,
            payload=inbound.payload,
            job=inbound_job(delay_seconds=settings.burst_window_seconds, max_delay_seconds=settings.burst_max_seconds),
        )
    )
    if ingested is None:
        return Received(status="unknown_number")
    tenant_id, conversation_id, stored = ingested
    if not stored:
        return Received(status="duplicate", tenant_id=tenant_id, conversation_id=conversation_id)
    return Received(status="accepted", tenant_id=tenant_id, conversation_id=conversation_id)


async def receive_spooled(record: dict[str, Any]) -> None:
    """Ingest one message the webhook spooled (idempotent by MessageSid: a second ingestion is a duplicate)."""
    await receive_whatsapp(InboundWhatsApp(**record))


def _pending_text(pending: list[Message], language: Language = "es") -> str:
    """The pending messages' bodies, one per line (blank ones left out); a tap on one of our buttons or
    list rows reads as the words it stands for ("el segundo")."""
    texts = (rich.tap_text(m.payload or {}, language) or (m.body or "").strip() for m in pending)
    return "\n".join(t for t in texts if t)


def _language(conversation: Conversation, tenant: Tenant) -> Language:
    """The conversation's language (its memory's), else the tenant's."""
    remembered = ConversationMemory.load(conversation.state).language
    return remembered or tenant_service.default_language(tenant)


def _person_has_it(tenant: Tenant, conversation: Conversation) -> bool:
    """A person answers this conversation now: it is handed off and it is the tenant's business hours."""
    return conversation.status == "handoff" and handoff_policy.on_duty(
        tenant_service.get_agent_config(tenant).handoff_policy, tenant.timezone
    )


async def _answer(
    session: AsyncSession,
    *,
    tenant: Tenant,
    conversation: Conversation,
    pending: list[Message],
    channel: str,
    experiment: Experiment | None,
    kill_switch: bool,
) -> tuple[TurnOutcome | None, list[Message]]:
    """Run one turn for ``pending`` inside ``session``'s transaction: the outcome and its reply rows.

    ``experiment`` is the tenant's running one and ``kill_switch`` the platform's, both read with the
    tenant row (see ``_load_tenant`` and ``_load_turn``). (None, []) when a human has the conversation.
    """
    # Outside the tenant's business hours no person is on duty: the bot keeps helping a waiting customer.
    if _person_has_it(tenant, conversation):
        for message in pending:
            message.status = "handoff"  # kept for the human, never answered by the bot
        if pending:  # the operators' systems hear that the customer wrote while waiting
            await notify(
                session,
                tenant_id=tenant.id,
                event="handoff.customer_message",
                data={
                    "conversation_id": conversation.id,
                    "customer": conversation.customer,
                    "text": _pending_text(pending),
                },
            )
        return None, []
    started = time.perf_counter()
    text = _pending_text(pending, _language(conversation, tenant))
    parts: list[Message] = []

    async def persist(outcome: TurnOutcome) -> None:
        shown_before = ConversationMemory.load(conversation.state)
        if outcome.handoff:
            await conversation_service.start_handoff(
                session,
                tenant_id=tenant.id,
                conversation_id=conversation.id,
                reason=outcome.handoff_reason or "customer_request",
            )
            await notify(
                session,
                tenant_id=tenant.id,
                event="handoff.started",
                data={
                    "conversation_id": conversation.id,
                    "customer": conversation.customer,
                    "reason": outcome.handoff_reason or "customer_request",
                    "text": text,
                },
            )
        texts = split_message(outcome.reply) if channel == "whatsapp" else [outcome.reply]
        spec = None
        if channel == "whatsapp" and context.agent.rich_messages and len(texts) == 1:
            spec = await _rich_reply(
                session, tenant_id=tenant.id, before=shown_before, outcome=outcome, terms=context.finance.terms_months
            )
        # The turn, the messages it answered, the memory, the reply parts and the history: one statement.
        turn_id, stored = await conversation_service.store_turn(
            session,
            tenant_id=tenant.id,
            conversation=conversation,
            answered=pending,
            turn=TurnRow(
                channel=channel,
                intent=outcome.intent,
                agent=outcome.agent,
                tier=outcome.tier,
                reply=outcome.reply,
                handoff=outcome.handoff,
                handoff_reason=outcome.handoff_reason,
                result={"items": outcome.items, "quote": outcome.quote, "sources": outcome.sources},
                latency_ms=int((time.perf_counter() - started) * 1000),
                intents=outcome.intents,
                model=outcome.model,
                confidence=outcome.confidence,
                complexity=outcome.complexity,
                routing_reason=outcome.routing_reason,
                prompt_version=outcome.prompt_version,
                llm_calls=len(outcome.llm.calls),
                input_tokens=outcome.llm.input_tokens,
                output_tokens=outcome.llm.output_tokens,
                cost_usd=outcome.llm.cost_usd,
            ),
            state=outcome.memory.dump(),
            parts=[(part, {"rich": spec} if spec else None) for part in texts],
            history=[HumanMessage(text), AIMessage(outcome.reply)],
        )
        parts.extend(stored)
        await usage_service.record_calls(
            session,
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            turn_id=turn_id,
            calls=outcome.llm.calls,
            routing_reason=outcome.routing_reason,
            complexity=outcome.complexity,
        )

    settings = get_settings()
    # Read on every turn (with the tenant row): flags, allowlists, percentages and the kill switch take effect at once.
    snapshot = snapshot_of(tenant, kill_switch=kill_switch)
    who = conversation.whatsapp_address or conversation.customer
    features: dict[str, bool] = {name: decide_feature(snapshot, name, who) for name in FEATURES}
    context = tenant_context(tenant)
    context.flags["ai_agent"] = features["ai_agent"]
    # A running experiment: the customer's arm (stable) decides the configuration this turn runs with.
    arm = experiments_service.assign(experiment, who) if experiment is not None else None
    if experiment is not None and arm is not None:
        context = dataclasses.replace(context, agent=experiments_service.arm_config(context.agent, experiment, arm))
    media = [m for message in pending for m in (message.media or [])]
    pin = _pin(pending)

    async def history(limit: int) -> list[BaseMessage]:
        return await recent_messages(session, tenant_id=tenant.id, customer=conversation.customer, limit=limit)

    run_id = uuid.uuid4()  # the turn's trace: feedback on the turn is recorded on it
    try:
        # The tenant row read in this transaction carries the catalog version: no query of its own.
        with catalog_service.known_catalog_version(tenant.id, tenant.catalog_version):
            outcome = await run_turn(
                tenant=context,
                # The rule parsers are not linear in length; a turn reads the latest part of a long burst.
                text=text[-MAX_TURN_CHARS:],
                memory=ConversationMemory.load(conversation.state),
                deps=TurnDeps(
                    session=session,
                    persist=persist,
                    knowledge_min_score=settings.knowledge_min_score,
                    llm=get_registry(),
                    history=history,
                    history_messages=settings.llm_history_messages,
                    long_context_tokens=settings.llm_long_context_tokens,
                    conversation_id=conversation.id,
                    customer=who,
                    features=features,
                    media=media,
                    pin=pin,
                ),
                callbacks=tracing_callbacks(
                    enabled=settings.langsmith_tracing,
                    api_url=settings.langsmith_endpoint,
                    api_key=settings.langsmith_api_key.get_secret_value() if settings.langsmith_api_key else None,
                    project=settings.langsmith_project,
                ),
                run_id=run_id,
            )
    except Exception:
        record_turn(channel=channel, tier="none", agent="none", outcome="failed", seconds=time.perf_counter() - started)
        raise
    record_turn(
        channel=channel,
        tier=outcome.tier,
        agent=outcome.agent,
        outcome=turn_result(outcome),
        seconds=time.perf_counter() - started,
    )
    log.info(
        "turn %s by %s (tier %s) in %d ms",
        turn_result(outcome),
        outcome.agent,
        outcome.tier,
        (time.perf_counter() - started) * 1000,
    )
    if experiment is not None and arm is not None and parts and parts[0].turn_id is not None:
        await experiments_service.record_arm(session, turn_id=parts[0].turn_id, experiment_id=experiment.id, arm=arm)
        await experiments_service.check(session, experiment)  # the sequential test: safe after every turn
    # 👍/👎 after a resolved exchange, when the tenant asks for feedback (agent configuration ``ask_feedback``)
    if channel == "whatsapp" and context.agent.ask_feedback and parts and parts[0].turn_id is not None:
        asked = await feedback_service.maybe_ask(
            session,
            tenant_id=tenant.id,
            conversation_id=conversation.id,
            turn_id=parts[0].turn_id,
            run_id=run_id if settings.langsmith_tracing else None,
            is_resolved=feedback_service.resolved(
                outcome.agent, outcome.handoff, quote=outcome.quote, sources=outcome.sources, items=outcome.items
            ),
            intents=[*(str(i.get("name")) for i in outcome.intents), outcome.intent, *outcome.memory.topics],
            language=outcome.language,
            rich=context.agent.rich_messages,
            part_index=len(parts),
        )
        if asked is not None:
            parts.append(asked)
    return outcome, parts


async def _rich_reply(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    before: ConversationMemory,
    outcome: TurnOutcome,
    terms: list[int],
) -> dict[str, Any] | None:
    """The list, buttons or card a reply is shown as when the tenant has rich messages on (app.messaging.rich)."""
    after = outcome.memory
    photo = None
    if after.focus and after.focus != before.focus:
        photo = await car_photo(session, tenant_id=tenant_id, stock_id=after.focus)
    return rich.for_reply(
        outcome.reply,
        agent=outcome.agent,
        language=outcome.language,
        shown_before=before.shown,
        shown_after=after.shown,
        focus_before=before.focus,
        focus_after=after.focus,
        offered_handoff=after.offered_handoff,
        photo=photo,
        terms=terms,
    )


def turn_result(outcome: TurnOutcome) -> str:
    """How a turn ended, for metrics: handoff, dont_know (no answer found), or answered."""
    if outcome.handoff:
        return "handoff"
    if outcome.intent == "unknown" or (outcome.agent == "info" and not outcome.sources):
        return "dont_know"
    return "answered"


def _pin(pending: list[Message]) -> tuple[float, float] | None:
    """The latest location the customer shared (Twilio's Latitude/Longitude), if valid."""
    for message in reversed(pending):
        payload = message.payload or {}
        try:
            lat, lon = float(payload["Latitude"]), float(payload["Longitude"])
        except (KeyError, TypeError, ValueError):
            continue
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon
    return None


async def _dispatch(
    session: AsyncSession, *, tenant: Tenant, conversation: Conversation, pending: list[Message]
) -> tuple[list[Message], Dispatched] | None:
    """A message one of the dispatchers takes (a vendor's answer): its acknowledgement rows and the result.

    None when no dispatcher takes it and the agent answers."""
    sender_address = conversation.whatsapp_address
    if not sender_address or not _dispatchers:
        return None
    text = _pending_text(pending)
    for dispatcher in _dispatchers:
        handled = await dispatcher(
            session, tenant_id=tenant.id, sender=sender_address, text=text, message_sid=pending[-1].provider_sid
        )
        if handled is not None:
            break
    else:
        return None
    for message in pending:
        message.status = "processed"
    parts: list[Message] = []
    if handled.reply:
        parts.append(Message.outbound(tenant_id=tenant.id, conversation_id=conversation.id, body=handled.reply))
        session.add_all(parts)
    await session.flush()
    return parts, handled


async def _whatsapp_rules(
    session: AsyncSession, *, tenant: Tenant, conversation: Conversation, pending: list[Message]
) -> list[Message] | None:
    """WhatsApp's rules before the agent (app.messaging.inbound); None leaves the messages to the agent."""

    async def cancels_a_request() -> bool:  # "cancelar" with a concierge request open cancels the request
        found = await concierge_service.open_request_for_conversation(
            session, tenant_id=tenant.id, conversation_id=conversation.id
        )
        return found is not None

    language = _language(conversation, tenant)
    ruled = await messaging_inbound.apply_rules(
        session, conversation=conversation, pending=pending, language=language, means_something_else=cancels_a_request
    )
    if ruled is not None or not tenant_service.get_agent_config(tenant).ask_feedback:
        return ruled
    # An answer to the 👍/👎 question (or a 👎's reason) is feedback on the asked turn, not a new question.
    return await feedback_service.capture(session, conversation=conversation, pending=pending, language=language)


@dataclass(frozen=True)
class LoadedTenant:
    """What a turn reads with the tenant row: its running experiment (at most one: a partial unique index)
    and the platform's kill switch."""

    tenant: Tenant
    experiment: Experiment | None
    kill_switch: bool


def _with_tenant(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` joined to the tenant row, its running experiment and the kill switch."""
    return (
        stmt.add_columns(Tenant, Experiment, kill_switch_column())
        .outerjoin(Experiment, and_(Experiment.tenant_id == Tenant.id, Experiment.status == RUNNING))
        # The turn needs no WhatsApp numbers: skip the relationship's extra query.
        .options(lazyload(Tenant.numbers))
    )


@lru_cache(maxsize=1)
def _tenant_stmt() -> Select[Any]:
    return _with_tenant(select().select_from(Tenant).where(Tenant.id == bindparam("tenant_id")))


@lru_cache(maxsize=1)
def _turn_stmt() -> Select[Any]:
    # Built once: composing an ORM statement costs more CPU than running it.
    stmt = (
        select(Conversation)
        .join(Tenant, Tenant.id == Conversation.tenant_id)
        .where(Conversation.tenant_id == bindparam("tenant_id"), Conversation.id == bindparam("conversation_id"))
    )
    return _with_tenant(stmt)


async def _load_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> LoadedTenant | None:
    """The tenant row, its running experiment and the kill switch, in one round trip."""
    row = (await session.execute(_tenant_stmt(), {"tenant_id": tenant_id})).first()
    return None if row is None else LoadedTenant(row[0], row[1], bool(row[2]))


async def _load_turn(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> tuple[Conversation, LoadedTenant]:
    """The conversation of the tenant with what ``_load_tenant`` reads, in one round trip; NotFound if none."""
    row = (await session.execute(_turn_stmt(), {"tenant_id": tenant_id, "conversation_id": conversation_id})).first()
    if row is None:
        raise NotFound("conversation not found")
    return row[0], LoadedTenant(row[1], row[2], bool(row[3]))


async def process_whatsapp(*, tenant_id: uuid.UUID, conversation_id: uuid.UUID, sender: ReplySender) -> None:
    """The worker job: send what an interrupted job left unsent, answer pending messages as one turn, send it."""
    with log_context.bound(tenant_id=tenant_id, conversation_id=conversation_id):
        await _process_whatsapp(tenant_id=tenant_id, conversation_id=conversation_id, sender=sender)


async def _process_whatsapp(*, tenant_id: uuid.UUID, conversation_id: uuid.UUID, sender: ReplySender) -> None:
    for _ in range(2):  # at most: finish an interrupted turn, then answer what is pending
        answered = False
        dispatched: Dispatched | None = None  # a message a dispatcher took, with work to run after sending
        async with session_scope() as session:
            await conversation_service.lock_conversation(session, conversation_id=conversation_id)
            conversation, loaded = await _load_turn(session, tenant_id=tenant_id, conversation_id=conversation_id)
            # What is left to send and what is left to answer, with the sender's rate: one round trip (throttle).
            work = await throttle.work_and_over_limit(
                session,
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                per_minute=get_settings().sender_messages_per_minute,
            )
            to_send, pending, flooded = work.unsent, work.pending, work.flooded
            if not to_send:
                if not pending:
                    return
                tenant = loaded.tenant
                taken = await _dispatch(session, tenant=tenant, conversation=conversation, pending=pending)
                ruled = (
                    None
                    if taken
                    else await _whatsapp_rules(session, tenant=tenant, conversation=conversation, pending=pending)
                )
                if taken is not None:
                    to_send, dispatched = taken
                    answered = True
                elif ruled is not None:  # an opt-out or opt-in, an opted-out customer, or messages too old
                    to_send, answered = ruled, True
                elif flooded and not _person_has_it(tenant, conversation):
                    # A flood from one number: kept, not answered by the agent (no LLM spend); see throttle.
                    # Also in a handoff outside business hours, where the bot would otherwise answer each one.
                    to_send = await throttle.hold_back(
                        session, tenant=tenant, conversation=conversation, pending=pending
                    )
                    answered = True
                else:
                    outcome, to_send = await _answer(
                        session,
                        tenant=tenant,
                        conversation=conversation,
                        pending=pending,
                        channel="whatsapp",
                        experiment=loaded.experiment,
                        kill_switch=loaded.kill_switch,
                    )
                    if outcome is None:
                        return
                    answered = True
            to, from_ = conversation.whatsapp_address, conversation.tenant_address
        await send_stored(to_send, to=to, from_=from_, sender=sender)
        if dispatched is not None and dispatched.after_send is not None:
            await dispatched.after_send()
        if answered:
            return


async def chat(*, tenant: Tenant, user: str, text: str) -> ChatResult:
    """An API (or CLI) chat turn: same pipeline, memory and history as WhatsApp for the same user."""
    started = time.perf_counter()
    customer = conversation_service.customer_key(user)
    async with session_scope() as session:
        conversation = await conversation_service.upsert_conversation(session, tenant_id=tenant.id, customer=customer)
        conversation_id = conversation.id
    # The rest of this request (or CLI turn) is about this conversation.
    log_context.bind(tenant_id=tenant.id, conversation_id=conversation_id)
    async with session_scope() as session:
        await conversation_service.lock_conversation(session, conversation_id=conversation_id)
        conversation = await conversation_service.get_conversation(
            session, tenant_id=tenant.id, conversation_id=conversation_id
        )
        stored = await conversation_service.store_inbound(
            session, tenant_id=tenant.id, conversation_id=conversation_id, channel="api", body=text
        )
        assert stored is not None
        loaded = await _load_tenant(session, tenant.id)
        assert loaded is not None
        outcome, parts = await _answer(
            session,
            tenant=loaded.tenant,
            conversation=conversation,
            pending=[stored],
            channel="api",
            experiment=loaded.experiment,
            kill_switch=loaded.kill_switch,
        )
    return ChatResult(
        conversation_id=conversation_id,
        outcome=outcome,
        parts=[p.body for p in parts],
        latency_ms=int((time.perf_counter() - started) * 1000),
    )
