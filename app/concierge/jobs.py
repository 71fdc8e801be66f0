"""The concierge on the job queue: outreach in batches, vendors' replies, the shortlist, the timeout, calls.

Jobs are rows written in the transaction that decides them (like the webhook's), run by the worker:

* ``concierge:outreach`` picks the nearest open vendors of the request's category, reserves one outreach
  row per (request, vendor) *before* sending (the unique row is the promise that nobody is asked twice),
  sends the request to each, then waits: a deadline job at the reply timeout, and a further batch when
  the first stays quiet, up to ``max_vendors``;
* a vendor's message reaches ``handle_vendor_message`` from the conversation job when the sender is a
  known vendor: STOP/START by exact keyword, otherwise an answer to its open outreach, parsed and stored;
* ``finalize`` sends the shortlist once 3 vendors have the item in stock or the timeout passes; the
  request's guarded move to ``shortlist_ready`` makes it happen exactly once, however many replies race;
* ``concierge:calls`` rings vendors who consented to calls and have not answered, when calling is on.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import procrastinate
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels.sender import get_sender
from app.concierge import service
from app.concierge.geo import haversine_km
from app.concierge.messages import format_shortlist, format_vendor_request
from app.concierge.models import ConciergeCall, ConciergeRequest, Vendor, VendorOutreach
from app.concierge.replies import VendorReply as ParsedReply
from app.concierge.replies import parse_vendor_reply, vendor_keyword
from app.concierge.scoring import Offer, rank_offers, should_stop
from app.concierge.service import IllegalTransition
from app.concierge.types import Requirements
from app.conversations.delivery import send_stored
from app.conversations.dispatch import Dispatched
from app.conversations.models import Conversation, Message
from app.core.db import session_scope
from app.core.jobrows import queue_job
from app.core.metrics import CONCIERGE_EVENTS
from app.messaging.outbound import send_checked
from app.tenants import service as tenant_service
from app.tenants.features import feature_enabled
from app.tenants.models import Tenant, TenantNumber
from app.text.normalize import Language
from app.text.phones import region_for_locale
from app.text.wording import say

log = logging.getLogger(__name__)

concierge_blueprint = procrastinate.Blueprint()
OUTREACH_TASK = "concierge:outreach"
DEADLINE_TASK = "concierge:deadline"
CALLS_TASK = "concierge:calls"


async def _queue(
    session: AsyncSession, *, task: str, request_id: uuid.UUID, args: dict[str, Any], delay: float, key: str
) -> None:
    lock = f"concierge:{request_id}"  # one request's jobs run one at a time
    await queue_job(session, task=task, args=args, lock=lock, queueing_lock=f"{lock}:{key}", delay_seconds=delay)


async def queue_outreach(session: AsyncSession, *, tenant_id: uuid.UUID, request_id: uuid.UUID, batch: int) -> None:
    """Ask the worker to contact a batch of vendors for a request (at once for the first batch)."""
    args = {"tenant_id": str(tenant_id), "request_id": str(request_id), "batch": batch}
    delay = 0.0 if batch == 1 else await _batch_interval(session, tenant_id)
    await _queue(session, task=OUTREACH_TASK, request_id=request_id, args=args, delay=delay, key=f"batch-{batch}")


async def _settings(session: AsyncSession, tenant_id: uuid.UUID) -> Any:

    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    return tenant, tenant_service.concierge_settings(tenant)


async def _batch_interval(session: AsyncSession, tenant_id: uuid.UUID) -> float:
    _, settings = await _settings(session, tenant_id)
    return float(settings.reply_timeout_minutes) * 60 / 3


async def _addresses(session: AsyncSession, request: ConciergeRequest) -> tuple[str | None, str | None, str]:
    """The customer's WhatsApp address, the business number it wrote to, and the conversation's channel."""

    conversation = await session.get(Conversation, request.conversation_id)
    if conversation is None:
        return None, None, "api"
    channel = "whatsapp" if conversation.whatsapp_address else "api"
    return conversation.whatsapp_address, conversation.tenant_address, channel


async def _business_number(session: AsyncSession, tenant_id: uuid.UUID, preferred: str | None) -> str | None:
    if preferred:
        return preferred

    row = await session.execute(select(TenantNumber.address).where(TenantNumber.tenant_id == tenant_id).limit(1))
    return row.scalar_one_or_none()


# ----------------------------------------------------------------------------------------------- outreach


async def run_outreach(*, tenant_id: uuid.UUID, request_id: uuid.UUID, batch: int) -> int:
    """Contact one batch of vendors for a request; returns how many were sent the request."""
    if batch > 1:
        async with session_scope() as session:
            request = await service.get_request(session, tenant_id=tenant_id, request_id=request_id)
            due = request.status == "awaiting_vendor_replies" and await _enough(session, request)
        if due:  # enough answers for a shortlist nobody sent yet: send it and ask nobody else
            await finalize(tenant_id=tenant_id, request_id=request_id, reason="enough_replies")
            return 0
    async with session_scope() as session:
        request = await service.get_request(session, tenant_id=tenant_id, request_id=request_id)
        if batch > 1:
            if request.status != "awaiting_vendor_replies" or await _enough(session, request):
                return 0
            request = await service.transition(session, request_id, "vendor_outreach", tenant_id=tenant_id)
        elif request.status != "vendor_outreach":
            return 0
        tenant, settings = await _settings(session, tenant_id)
        requirements = service.read_requirements(request) or Requirements()
        location = requirements.location
        already = len(await service.request_outreach(session, tenant_id=tenant_id, request_id=request_id))
        room = max(0, settings.max_vendors - already)
        candidates = []
        if location is not None and room:
            candidates = await service.select_vendors(
                session,
                tenant_id=tenant_id,
                category=str(requirements.category or "other"),
                location=(location.lat, location.lon),
                limit=min(settings.batch_size, room),
                now=datetime.now(UTC),
                exclude_request_id=request_id,
            )
        reserved = await service.reserve_outreach(session, request, [c.vendor for c in candidates], batch)
        vendors = {c.vendor.id: c.vendor for c in candidates}
        _, tenant_address, _ = await _addresses(session, request)
        from_ = await _business_number(session, tenant_id, tenant_address)
        language: Language = requirements.language
        body = format_vendor_request(requirements, tenant.name, language, region=region_for_locale(tenant.locale))
    # Committed: every vendor about to be asked has its row; a crash from here on can't ask twice.
    sent = 0
    for row in reserved:
        vendor = vendors[row.vendor_id]
        try:
            if from_ is None:
                raise RuntimeError("the tenant has no WhatsApp number to send from")
            # Vendors never wrote first: outside WhatsApp's window the approved vendor_outreach template goes
            # out (app.messaging.outbound); an opted-out number or a closed window is recorded as the failure.
            outcome = await send_checked(
                tenant_id=tenant_id,
                to=vendor.whatsapp_number,
                from_=from_,
                body=body,
                sender=get_sender(),
                purpose="vendor_outreach",
                variables=outreach_variables(tenant.name, body),
                language=language,
            )
        except Exception as exc:  # noqa: BLE001  (a vendor that cannot be reached is recorded, not retried)
            async with session_scope() as session:
                await service.mark_outreach_failed(session, tenant_id=tenant_id, outreach_id=row.id, error=str(exc))
            continue
        async with session_scope() as session:
            await service.mark_outreach_sent(session, tenant_id=tenant_id, outreach_id=row.id, message_sid=outcome.sid)
        sent += 1
        CONCIERGE_EVENTS.labels("outreach_sent").inc()
    async with session_scope() as session:
        request = await service.get_request(session, tenant_id=tenant_id, request_id=request_id)
        if request.status != "vendor_outreach":
            return sent  # a re-run of this job after another one finished the batch, or a cancel meanwhile
        deadline = request.deadline_at or datetime.now(UTC) + timedelta(minutes=settings.reply_timeout_minutes)
        await service.transition(
            session, request_id, "awaiting_vendor_replies", tenant_id=tenant_id, deadline_at=deadline
        )
        asked = await _asked(session, request_id)
        if batch == 1:
            delay = (deadline - datetime.now(UTC)).total_seconds()
            args = {"tenant_id": str(tenant_id), "request_id": str(request_id)}
            await _queue(session, task=DEADLINE_TASK, request_id=request_id, args=args, delay=delay, key="deadline")

            if await feature_enabled(session, tenant_id, "calling", request.customer_number):
                await _queue(session, task=CALLS_TASK, request_id=request_id, args=args, delay=delay / 2, key="calls")
        more = len(candidates) == settings.batch_size and asked < settings.max_vendors
        if more:
            await queue_outreach(session, tenant_id=tenant_id, request_id=request_id, batch=batch + 1)
        nothing_out = asked == 0
        # Replies that came in while this batch was being sent found the request not yet waiting.
        enough = not nothing_out and await _enough(
            session, await service.get_request(session, tenant_id=tenant_id, request_id=request_id)
        )
    if nothing_out:
        await finalize(tenant_id=tenant_id, request_id=request_id, reason="no_vendors")
    elif enough:
        await finalize(tenant_id=tenant_id, request_id=request_id, reason="enough_replies")
    return sent


def outreach_variables(business: str, body: str) -> dict[str, str]:
    """The vendor_outreach template's variables: the business, and the request's lines (items, zone, when,
    budget) on one line, as Twilio takes a variable; the template carries the greeting and STOP itself."""
    lines = [line.lstrip("• ").strip() for line in body.split("\n")[1:-2]]
    return {"1": business, "2": " · ".join(line for line in lines if line) or body}


def shortlist_payload(item: str | None, messages: list[str]) -> dict[str, Any]:
    """The shortlist's first part as the shortlist_ready template would carry it (what, and the offers)."""
    return {"purpose": "shortlist_ready", "variables": {"1": item or "-", "2": " ".join(messages)}}


async def _asked(session: AsyncSession, request_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(
        VendorOutreach.request_id == request_id, VendorOutreach.status.in_(("sent", "replied"))
    )
    return int((await session.execute(stmt)).scalar_one())


# ------------------------------------------------------------------------------------------- vendor replies


@dataclass(frozen=True)
class VendorHandled:
    """A vendor's message was the concierge's: the acknowledgement to send back and what to do next."""

    reply: str | None
    finalize_request: uuid.UUID | None = None


# A vendor's language is not recorded: acknowledgements go out in Spanish, as they always have.
VENDOR_LANGUAGE: Language = "es"

LATE_REPLY_WINDOW = timedelta(hours=24)


async def _recent_outreach(
    session: AsyncSession, *, tenant_id: uuid.UUID, vendor_id: uuid.UUID
) -> VendorOutreach | None:
    """The vendor's latest outreach of the last day, whatever its request's state (a late answer)."""
    stmt = (
        select(VendorOutreach)
        .where(
            VendorOutreach.tenant_id == tenant_id,
            VendorOutreach.vendor_id == vendor_id,
            VendorOutreach.status.in_(("sent", "replied")),
            VendorOutreach.sent_at > datetime.now(UTC) - LATE_REPLY_WINDOW,
        )
        .order_by(VendorOutreach.sent_at.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def handle_vendor_message(
    session: AsyncSession, *, tenant_id: uuid.UUID, number: str, text: str, message_sid: str | None
) -> VendorHandled | None:
    """A known vendor's message: STOP/START, or an answer to its open outreach; None for anything else."""
    keyword = vendor_keyword(text)
    vendor = await service.vendor_by_number(session, tenant_id=tenant_id, number=number)
    if vendor is None:
        return None
    if keyword is not None:
        await service.set_vendor_opt_out(session, tenant_id=tenant_id, vendor_id=vendor.id, opted_out=keyword == "stop")
        return VendorHandled(reply=say(f"vendor.{keyword}", VENDOR_LANGUAGE))
    found = await service.open_outreach_for_vendor(session, tenant_id=tenant_id, number=number)
    if found is None:
        late = await _recent_outreach(session, tenant_id=tenant_id, vendor_id=vendor.id)
        if late is None:
            return None  # a vendor writing as a customer: the agent answers
        await service.record_vendor_reply(
            session,
            tenant_id=tenant_id,
            outreach_id=late.id,
            raw=text[:2000],
            message_sid=message_sid,
            parsed=parse_vendor_reply(text),
        )
        return VendorHandled(reply=say("vendor.late", VENDOR_LANGUAGE))
    _, outreach = found
    answered_before = outreach.status == "replied"
    # Vendors' answers to one request are counted one at a time: two arriving together (in two
    # conversations' jobs) would otherwise each see the other's as uncommitted, and neither would
    # notice that together they make 3 in stock. The row lock lasts until this job's commit.
    request = (
        await session.execute(
            select(ConciergeRequest)
            .where(ConciergeRequest.id == outreach.request_id, ConciergeRequest.tenant_id == tenant_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    tz = await _timezone(session, tenant_id)
    parsed = parse_vendor_reply(text, now=datetime.now(tz))
    stored = await service.record_vendor_reply(
        session, tenant_id=tenant_id, outreach_id=outreach.id, raw=text[:2000], message_sid=message_sid, parsed=parsed
    )
    first_answer = stored is not None and not answered_before
    if first_answer:
        CONCIERGE_EVENTS.labels("vendor_reply").inc()
    finalize_request = None
    if request is not None and request.status == "awaiting_vendor_replies" and await _enough(session, request):
        finalize_request = request.id
    return VendorHandled(
        reply=say("vendor.thanks", VENDOR_LANGUAGE) if first_answer else None, finalize_request=finalize_request
    )


async def dispatch_vendor_message(
    session: AsyncSession, *, tenant_id: uuid.UUID, sender: str, text: str, message_sid: str | None
) -> Dispatched | None:
    """The flow's dispatcher for vendors: their acknowledgement, and the shortlist their answer made due."""
    handled = await handle_vendor_message(
        session, tenant_id=tenant_id, number=sender, text=text, message_sid=message_sid
    )
    if handled is None:
        return None
    request_id = handled.finalize_request
    if request_id is None:
        return Dispatched(reply=handled.reply)

    async def send_shortlist() -> bool:
        return await finalize(tenant_id=tenant_id, request_id=request_id, reason="enough_replies")

    return Dispatched(reply=handled.reply, after_send=send_shortlist)


async def _timezone(session: AsyncSession, tenant_id: uuid.UUID) -> ZoneInfo:

    tenant = await session.get(Tenant, tenant_id)
    return ZoneInfo(tenant.timezone if tenant is not None else "UTC")


async def _offers(session: AsyncSession, request: ConciergeRequest) -> tuple[list[Offer], int]:
    """Each vendor's latest reply as an offer (with distance and reply time), and vendors still silent."""

    requirements = service.read_requirements(request) or Requirements()
    details = await service.request_outreach(session, tenant_id=request.tenant_id, request_id=request.id)
    offers: list[Offer] = []
    silent = 0
    for detail in details:
        if detail.outreach.status == "sent":
            silent += 1
        if not detail.replies:
            continue
        latest = detail.replies[-1]
        parsed = ParsedReply.model_validate(latest.parsed or {})
        distance = None
        if requirements.location is not None:
            loc = requirements.location
            distance = haversine_km(loc.lat, loc.lon, detail.vendor.lat, detail.vendor.lon)
        seconds = None
        if detail.outreach.sent_at is not None:
            seconds = max(0.0, (latest.received_at - detail.outreach.sent_at).total_seconds())
        offers.append(
            Offer(
                vendor_id=detail.vendor.id,
                vendor_name=detail.vendor.name,
                whatsapp=detail.vendor.whatsapp_number,
                reply=parsed,
                distance_km=distance,
                reply_seconds=seconds,
            )
        )
    return offers, silent


async def _enough(session: AsyncSession, request: ConciergeRequest) -> bool:
    offers, silent = await _offers(session, request)
    return should_stop(offers, outstanding=silent if request.status == "awaiting_vendor_replies" else None)


# --------------------------------------------------------------------------------------------- shortlist


async def finalize(*, tenant_id: uuid.UUID, request_id: uuid.UUID, reason: str) -> bool:
    """Send the shortlist (or "nobody has it") once; False when another job already did."""
    started = time.perf_counter()
    async with session_scope() as session:
        request = await service.get_request(session, tenant_id=tenant_id, request_id=request_id)
        offers, _ = await _offers(session, request)
        requirements = service.read_requirements(request) or Requirements()
        ranked = rank_offers(
            offers,
            budget=requirements.budget,
            quantity=requirements.quantity,
            budget_per_unit=requirements.budget_per_unit,
            urgency=requirements.urgency,
        )
        asked = await _asked(session, request_id)
        item = requirements.items[0].name if requirements.items else None
        messages = format_shortlist(
            ranked, requirements.language, item_label=item, asked=asked, budget=requirements.budget
        )
        to, from_, channel = await _addresses(session, request)
        try:
            await service.transition(
                session, request_id, "shortlist_ready", tenant_id=tenant_id, shortlist_sent_at=func.now()
            )
        except IllegalTransition:
            return False  # sent already (a racing reply or the timeout), or the customer cancelled
        parts = [
            Message.outbound(
                tenant_id=tenant_id,
                conversation_id=request.conversation_id,
                channel=channel,
                body=body,
                part_index=index,
                # After 24 h of silence the shortlist can only go out as the approved shortlist_ready template.
                payload=shortlist_payload(item, messages) if index == 0 else None,
            )
            for index, body in enumerate(messages)
        ]
        session.add_all(parts)
        await session.flush()
    CONCIERGE_EVENTS.labels("shortlist_sent").inc()  # committed: the shortlist is the customer's now
    if channel == "whatsapp":
        await send_stored(parts, to=to, from_=from_, sender=get_sender())
    log.info(
        "concierge shortlist for request %s (%s): %d offers, %.1f ms",
        request_id,
        reason,
        len(ranked),
        (time.perf_counter() - started) * 1000,
    )
    return True


async def expire_due(*, now: datetime | None = None) -> int:
    """Finalize every request past its reply deadline (the periodic safety net for the deadline jobs)."""
    async with session_scope() as session:
        due = await service.expired_waiting_requests(session, now=now or datetime.now(UTC))
    done = 0
    for tenant_id, request_id in due:
        done += await finalize(tenant_id=tenant_id, request_id=request_id, reason="timeout")
    return done


# ------------------------------------------------------------------------------------------------ calling

CALL_COOLDOWN = timedelta(hours=24)


async def run_calls(*, tenant_id: uuid.UUID, request_id: uuid.UUID) -> int:
    """Ring the vendors of a request that consented to calls and have not answered; returns calls placed.

    Only when calling is on for the customer (re-read now), only vendors with ``call_consent`` who were
    asked for this request and are still silent, and at most one call per vendor per ``CALL_COOLDOWN``.
    The call row is written before dialling, so a retried job never rings twice.
    """

    async with session_scope() as session:
        request = await service.get_request(session, tenant_id=tenant_id, request_id=request_id)
        if request.status != "awaiting_vendor_replies":
            return 0
        if not await feature_enabled(session, tenant_id, "calling", request.customer_number):
            return 0
        cutoff = datetime.now(UTC) - CALL_COOLDOWN
        rows = await session.execute(
            select(Vendor)
            .join(VendorOutreach, VendorOutreach.vendor_id == Vendor.id)
            .where(
                VendorOutreach.request_id == request_id,
                VendorOutreach.status == "sent",
                Vendor.tenant_id == tenant_id,
                Vendor.call_consent,
                ~Vendor.opted_out,
                (Vendor.last_called_at.is_(None)) | (Vendor.last_called_at < cutoff),
            )
            .order_by(Vendor.id)
            .with_for_update(of=Vendor)
        )
        vendors = list(rows.scalars())
        calls = []
        for vendor in vendors:
            call = ConciergeCall(tenant_id=tenant_id, request_id=request_id, vendor_id=vendor.id, status="queued")
            session.add(call)
            vendor.last_called_at = datetime.now(UTC)
            calls.append((call, vendor))
        await session.flush()
        _, tenant_address, _ = await _addresses(session, request)
        from_ = await _business_number(session, tenant_id, tenant_address)
        requirements = service.read_requirements(request) or Requirements()
        tenant, _ = await _settings(session, tenant_id)
        region = region_for_locale(tenant.locale)
        script = format_vendor_request(requirements, tenant.name, requirements.language, region=region)
        planned = [(c.id, v.whatsapp_number) for c, v in calls]
    placed = 0
    for call_id, number in planned:
        status, sid, error = "failed", None, None
        try:
            if from_ is None:
                raise RuntimeError("the tenant has no number to call from")
            sid = await get_sender().call(to=number, from_=from_, say=script, language=requirements.language)
            status = "initiated"
            placed += 1
        except Exception as exc:  # noqa: BLE001  (recorded; a failed call is a metric, not a retry)
            error = f"{type(exc).__name__}: {exc}"[:2000]
        async with session_scope() as session:
            await session.execute(
                update(ConciergeCall)
                .where(ConciergeCall.id == call_id)
                .values(status=status, twilio_sid=sid, error=error)
            )
    return placed


# ---------------------------------------------------------------------------------------------- the tasks


@concierge_blueprint.task(name="outreach")
async def outreach_task(tenant_id: str, request_id: str, batch: int = 1) -> None:
    """Contact a batch of vendors for a request."""
    await run_outreach(tenant_id=uuid.UUID(tenant_id), request_id=uuid.UUID(request_id), batch=batch)


@concierge_blueprint.task(name="deadline")
async def deadline_task(tenant_id: str, request_id: str) -> None:
    """The reply timeout: send whatever shortlist there is."""
    await finalize(tenant_id=uuid.UUID(tenant_id), request_id=uuid.UUID(request_id), reason="timeout")


@concierge_blueprint.task(name="calls")
async def calls_task(tenant_id: str, request_id: str) -> None:
    """Call consenting vendors that have not answered."""
    await run_calls(tenant_id=uuid.UUID(tenant_id), request_id=uuid.UUID(request_id))


@concierge_blueprint.periodic(cron="* * * * *", periodic_id="expire")
@concierge_blueprint.task(name="expire", queueing_lock="concierge-expire")
async def expire_task(timestamp: int) -> None:
    """Safety net for deadline jobs that were lost: finalize whatever is past its deadline."""
    if expired := await expire_due():
        log.info("finalized %d concierge requests past their deadline", expired)
