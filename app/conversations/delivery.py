"""Delivery of stored reply parts: each part is handed to the channel sender in order and its state recorded.

Parts are rows written in the turn's transaction before anything is sent; this module only moves them
forward, so a retried job resumes from what is left:

    pending ──▶ sending (committed before the request leaves) ──▶ Twilio's status + SID
                   │                                          └─▶ failed + Twilio's error code
                   └─ (crash) the next job first looks for it in Twilio's message list

Transient failures (429, 5xx, timeouts, network) are retried with exponential backoff and jitter, for at
most ``TWILIO_RETRY_SECONDS`` from the first attempt; after an answer that may hide a created message
(anything but a 429) Twilio's list is read before sending again, so a part Twilio accepted is never sent
twice. A job retries for a slice of that time and then hands the rest to the conversation job's own
backoff. A part given up on is marked failed, the rest of its reply is not sent (it would read out of
order), and the conversation goes to the operators' queue (handoff ``delivery_failed``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import Select, bindparam, select, update
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

from app.channels.sender import ReplySender, SendOutcome
from app.channels.twilio_client import TwilioSendError
from app.conversations import service as conversation_service
from app.conversations.models import BLOCKED, FAILED, PENDING, SENDING, Conversation, Message
from app.core.config import get_settings
from app.core.db import autocommit_session, fetch_one_autocommit, session_scope
from app.core.metrics import record_delivery_failure, record_send
from app.messaging import outbound, templates
from app.notify.service import notify

log = logging.getLogger(__name__)

HANDOFF_REASON = "delivery_failed"
CONTENT_UNKNOWN = 21656  # Twilio: the ContentSid is invalid
# The longest one job keeps retrying a part; beyond it the job ends and is queued again with backoff,
# so a long Twilio outage does not hold a worker slot per conversation.
JOB_RETRY_SLICE = timedelta(seconds=30)
# Backoff between attempts inside a job: random in [0, min(cap, base * 2^n)] ("full jitter").
_BACKOFF_BASE_SECONDS = 0.5
_BACKOFF_CAP_SECONDS = 8.0


class DeliveryFailed(Exception):
    """A part Twilio refused for good, or that kept failing past the retry deadline."""

    def __init__(self, error: TwilioSendError) -> None:
        super().__init__(str(error))
        self.code = error.code


async def send_stored(parts: list[Message], *, to: str | None, from_: str | None, sender: ReplySender) -> None:
    """Hand stored reply parts (of one conversation) to Twilio in order, recording each SID (or the failure) as it goes.

    Each part first passes the pre-send check (app.messaging.outbound: opt-out, the 24-hour window,
    templates) against a fresh read of its conversation, so a STOP that lands while a long reply or a
    shortlist is going out holds back the parts not yet sent: a part it holds back is stored ``blocked``
    with the reason and never sent.
    Raises TwilioSendError (retryable) when a part is still failing transiently at the end of this job's
    slice: the caller's job is retried with backoff and resumes from the part's stored state."""
    if not parts:
        return
    if not to or not from_:
        for part in parts:
            await _store(part, status=FAILED, sid=None)
        return
    for index, part in enumerate(parts):
        resumed = part.status == SENDING  # a crash left it in flight: it may have reached Twilio
        decision, language, since = await _check_and_claim(part)
        if decision.blocked is not None:
            await _block(part, reason=decision.blocked)
            continue
        try:
            await _deliver(
                part,
                to=to,
                from_=from_,
                sender=sender,
                decision=await _with_rich(part, decision, to=to, sender=sender, language=language),
                resumed=resumed,
                since=since,
            )
        except DeliveryFailed as failure:
            await _give_up(parts[index:], code=failure.code)
            return


@lru_cache(maxsize=1)
def _claim_stmt() -> Select[Conversation, int | None]:
    """Mark a pending part ``sending`` and read its conversation (built once: composing it costs more than a run)."""
    marked = (
        update(Message)
        .where(
            Message.tenant_id == bindparam("part_tenant"), Message.id == bindparam("part_id"), Message.status == PENDING
        )
        .values(status=SENDING, status_updated_at=bindparam("now"))
        .returning(Message.id)
        .cte("marked")
    )
    return select(Conversation, select(marked.c.id).scalar_subquery()).where(
        Conversation.tenant_id == bindparam("part_tenant"), Conversation.id == bindparam("part_conversation")
    )


async def _check_and_claim(part: Message) -> tuple[outbound.Decision, str, datetime]:
    """The pre-send check of a stored part against its conversation read now, the conversation's language,
    and the time the part was marked ``sending`` (committed before any request leaves; kept across retries).

    The mark and the read are one statement (one round trip). A part the check then holds back goes from
    ``sending`` to ``blocked`` at once; a crash in between only makes the next job look in Twilio's list first.
    """
    now = datetime.now(UTC)
    # Parameter names are no column's: an UPDATE would take those as more values to set.
    params = {"part_tenant": part.tenant_id, "part_id": part.id, "part_conversation": part.conversation_id, "now": now}
    async with autocommit_session() as session:
        row = (await session.execute(_claim_stmt(), params)).one_or_none()
        conversation = None if row is None else row[0]
        decision = await outbound.decide(
            session, tenant_id=part.tenant_id, conversation=conversation, body=part.body, payload=part.payload
        )
    since = part.status_updated_at or part.created_at
    if row is not None and row[1] is not None:
        part.status, part.status_updated_at = SENDING, now
        since = now
    return decision, templates.conversation_language(conversation) if conversation else "es", since


async def _with_rich(
    part: Message, decision: outbound.Decision, *, to: str, sender: ReplySender, language: str
) -> outbound.Decision:
    """A rich decision resolved to its Content SID, or the text fallback; any other decision as it is."""
    if decision.kind != "rich" or decision.spec is None:
        return decision
    sid = None
    if outbound.can_show_rich(to, sender):
        sid = await outbound.rich_content_sid(
            tenant_id=part.tenant_id, spec=decision.spec, fallback=part.body, language=language, sender=sender
        )
    if sid is None:
        return outbound.Decision(body=part.body)  # the text fallback
    return outbound.Decision(body=part.body, kind="rich", content_sid=sid)


async def _block(part: Message, *, reason: str) -> None:
    """Record a part the check held back: status ``blocked`` and why (API, metrics, the operators' view)."""
    log.info("message %s not sent: %s", part.id, reason)
    async with autocommit_session() as session:
        await session.execute(
            update(Message)
            .where(Message.tenant_id == part.tenant_id, Message.id == part.id)
            .values(status=BLOCKED, blocked_reason=reason, status_updated_at=datetime.now(UTC))
        )
    part.status = BLOCKED
    part.blocked_reason = reason
    outbound.record_blocked(reason)


async def _deliver(
    part: Message,
    *,
    to: str,
    from_: str,
    sender: ReplySender,
    decision: outbound.Decision,
    resumed: bool,
    since: datetime,
) -> None:
    """Send one part (or adopt the message Twilio already has for it) and store the outcome."""
    # A part found in flight may have reached Twilio before the crash: look before sending.
    attempt = _Attempt(part, to=to, from_=from_, sender=sender, since=since, look_first=resumed, decision=decision)
    deadline = since + timedelta(seconds=get_settings().twilio_retry_seconds)
    slice_end = min(deadline, datetime.now(UTC) + JOB_RETRY_SLICE)
    try:
        outcome = await _retrying(attempt, seconds=max(0.0, (slice_end - datetime.now(UTC)).total_seconds()))
    except TwilioSendError as error:
        if not error.retryable or datetime.now(UTC) >= deadline:
            raise DeliveryFailed(error) from error
        raise  # still transient and within the deadline: the job is queued again with backoff
    outbound.count_kind(decision.kind)
    await _store(
        part,
        status=outcome.status,
        sid=outcome.sid,
        content_sid=decision.content_sid,
        body=decision.body if decision.kind == "template" else None,
    )


async def _retrying(attempt: _Attempt, *, seconds: float) -> SendOutcome:
    """Run ``attempt`` until it succeeds, fails for good, or ``seconds`` have passed."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, TwilioSendError) and exc.retryable),
        wait=wait_random_exponential(multiplier=_BACKOFF_BASE_SECONDS, max=_BACKOFF_CAP_SECONDS),
        stop=stop_after_delay(seconds),
        before_sleep=_log_retry,
        reraise=True,
    )
    result: SendOutcome = await retrying(attempt.run)
    return result


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    log.warning(
        "twilio send attempt %d failed (%r); retrying in %.1f s",
        state.attempt_number,
        error,
        state.upcoming_sleep,
    )


class _Attempt:
    """One part's tries: look in Twilio's list first whenever the previous answer may hide a created message."""

    def __init__(
        self,
        part: Message,
        *,
        to: str,
        from_: str,
        sender: ReplySender,
        since: datetime,
        look_first: bool,
        decision: outbound.Decision,
    ) -> None:
        self._part = part
        self._decision = decision
        self._to = to
        self._from = from_
        self._sender = sender
        self._since = since
        self._look_first = look_first

    async def run(self) -> SendOutcome:
        """One try: adopt what Twilio already has if it may have it, else send."""
        if self._look_first:
            found = await self._find()
            if found is not None:
                record_send(status="found")
                log.info("message %s was already at Twilio as %s; not sent again", self._part.id, found.sid)
                return found
            self._look_first = False
        try:
            return await self._sender.send(
                to=self._to,
                from_=self._from,
                body=self._decision.body,
                content_sid=self._decision.content_sid,
                content_variables=self._decision.variables or None,
            )
        except TwilioSendError as error:
            if error.code == CONTENT_UNKNOWN and self._decision.kind == "rich":
                # A cached rich content Twilio no longer has: the text fallback goes out instead, and the
                # next send of this content makes it afresh rather than trying the dead SID again.
                log.warning("rich content %s refused (%s); sending the text", self._decision.content_sid, error)
                await outbound.forget_rich_content(
                    tenant_id=self._part.tenant_id, content_sid=self._decision.content_sid
                )
                self._decision = outbound.Decision(body=self._part.body)
                return await self.run()
            self._look_first = error.maybe_sent
            raise

    async def _find(self) -> SendOutcome | None:
        taken = await _stored_sids(self._part)
        return await self._sender.find_sent(
            to=self._to, from_=self._from, body=self._decision.body, since=self._since, exclude=taken
        )


async def _stored_sids(part: Message) -> set[str]:
    """SIDs already stored for this conversation's outbound parts (never adopt one twice)."""
    async with session_scope() as session:
        rows = await session.execute(
            select(Message.provider_sid).where(
                Message.tenant_id == part.tenant_id,
                Message.conversation_id == part.conversation_id,
                Message.direction == "outbound",
                Message.provider_sid.is_not(None),
            )
        )
        return {sid for sid in rows.scalars() if sid}


# A part's outcome; the Content SID and the body only when given (a template's text replaces the body).
_STORE_OUTCOME = """
    UPDATE messages
    SET status = $3, provider_sid = $4, error_code = NULL, status_updated_at = $5,
        content_sid = coalesce($6, content_sid), body = coalesce($7, body)
    WHERE tenant_id = $1 AND id = $2
"""


async def _store(
    part: Message,
    *,
    status: str,
    sid: str | None,
    content_sid: str | None = None,
    body: str | None = None,
) -> None:
    """Record a part's outcome: Twilio's status and SID (and the Content SID it went as), or failed with no
    address to send to; a part sent as a template keeps the template's text as its body. (A part Twilio
    refused is recorded with its error code by ``_give_up``.)"""
    # Every sent part ends here: one statement through the driver (see fetch_one_autocommit).
    await fetch_one_autocommit(
        _STORE_OUTCOME, part.tenant_id, part.id, status, sid, datetime.now(UTC), content_sid, body or None
    )
    part.status = status


async def _give_up(parts: list[Message], *, code: int | None) -> None:
    """Mark the failed part (and the rest of its reply) failed and hand the conversation to an operator."""
    failed, rest = parts[0], parts[1:]
    log.error(
        "message %s could not be delivered (Twilio code %s); %d later part(s) held back; handing off",
        failed.id,
        code,
        len(rest),
    )
    now = datetime.now(UTC)
    async with session_scope() as session:
        await session.execute(
            update(Message)
            .where(Message.tenant_id == failed.tenant_id, Message.id == failed.id)
            .values(status=FAILED, error_code=code, status_updated_at=now)
        )
        if rest:
            await session.execute(
                update(Message)
                .where(Message.tenant_id == failed.tenant_id, Message.id.in_([p.id for p in rest]))
                .values(status=FAILED, status_updated_at=now)
            )
        await conversation_service.start_handoff(
            session, tenant_id=failed.tenant_id, conversation_id=failed.conversation_id, reason=HANDOFF_REASON
        )
        await notify(
            session,
            tenant_id=failed.tenant_id,
            event="delivery.failed",
            data={"conversation_id": failed.conversation_id, "message_id": failed.id, "error_code": code},
        )
    for part in parts:
        part.status = FAILED
    record_delivery_failure(error_code=code)
