"""Concierge logic: vendors (CRUD, CSV import, selection), the request state machine, outreach and replies.

Every function takes ``tenant_id`` and filters by it; none commits (the caller owns the transaction).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Float,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.concierge import geo
from app.concierge.models import (
    OPEN_STATES,
    REQUEST_STATES,
    ConciergeRequest,
    Vendor,
    VendorOutreach,
    VendorReply,
)
from app.concierge.schemas import (
    ConciergeRequestDetail,
    ConciergeRequestRead,
    OutreachRead,
    VendorCreate,
    VendorImportRead,
    VendorReplyRead,
    VendorUpdate,
    check_hours,
    normalise_categories,
)
from app.concierge.types import Requirements
from app.conversations.models import Conversation
from app.core.errors import Conflict, InvalidInput, NotFound
from app.tenants import service as tenant_service
from app.tenants.models import Tenant
from app.text.csvfile import read_csv
from app.text.normalize import fold
from app.text.phones import customer_key, number_variants, whatsapp_address

# --- the request state machine ------------------------------------------------------------------

# The one place legal moves are written down; ``transition`` lets the database enforce them.
# Beyond the issue's table: awaiting_vendor_replies → vendor_outreach asks a further batch of vendors
# when the first stays silent; ocr_processing → handed_off lets a customer ask for a person while a
# photo is read; handed_off → closed ends a request the human finished, so closed is the one end.
TRANSITIONS: dict[str, frozenset[str]] = {
    "collecting_requirements": frozenset({"ocr_processing", "vendor_outreach", "closed", "handed_off", "error"}),
    "ocr_processing": frozenset({"collecting_requirements", "vendor_outreach", "error", "closed", "handed_off"}),
    "vendor_outreach": frozenset({"awaiting_vendor_replies", "error", "closed"}),
    "awaiting_vendor_replies": frozenset({"shortlist_ready", "closed", "error", "handed_off", "vendor_outreach"}),
    "shortlist_ready": frozenset({"handed_off", "closed"}),
    "handed_off": frozenset({"closed"}),
    "error": frozenset({"closed"}),
    "closed": frozenset(),
}
assert set(TRANSITIONS) == set(REQUEST_STATES)

# Columns a transition may set along with the state.
TRANSITION_FIELDS = frozenset({"requirements", "deadline_at", "shortlist_sent_at", "error"})


def allowed_from(to_state: str) -> list[str]:
    """The states a request may be in to move to ``to_state``."""
    return sorted(s for s, targets in TRANSITIONS.items() if to_state in targets)


class IllegalTransition(Conflict):
    """The request is not in a state from which it may move to the one asked for."""

    code = "illegal_transition"


async def create_request(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    customer_number: str,
    requirements: Mapping[str, Any] | None = None,
) -> ConciergeRequest:
    """Start a request in ``collecting_requirements``; 409 when the conversation already has an open one."""

    owned = await session.execute(
        select(Conversation.id).where(Conversation.id == conversation_id, Conversation.tenant_id == tenant_id)
    )
    if owned.scalar_one_or_none() is None:
        raise NotFound(f"conversation {conversation_id} not found")
    request = ConciergeRequest(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        customer_number=customer_number,
        status="collecting_requirements",
        requirements=dict(requirements or {}),
        collecting_requirements_at=func.now(),
    )
    try:
        async with session.begin_nested():
            session.add(request)
            await session.flush()
    except IntegrityError:
        existing = await open_request_for_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
        raise Conflict(
            "this conversation already has an open concierge request",
            details={"request_id": str(existing.id) if existing else None},
        ) from None
    await session.refresh(request)
    return request


async def transition(
    session: AsyncSession, request_id: uuid.UUID, to_state: str, *, tenant_id: uuid.UUID, **fields: Any
) -> ConciergeRequest:
    """Move a request to ``to_state`` in one conditional UPDATE; illegal moves change nothing and raise.

    The WHERE clause carries the allowed source states, so two workers racing to make the same move
    cannot both succeed: the second finds the row already moved and gets IllegalTransition.
    ``fields`` may set requirements, deadline_at, shortlist_sent_at and error in the same statement.
    """
    if to_state not in TRANSITIONS:
        raise InvalidInput(f"unknown concierge state {to_state!r}", details={"states": list(REQUEST_STATES)})
    unknown = set(fields) - TRANSITION_FIELDS
    if unknown:
        raise ValueError(f"transition cannot set {sorted(unknown)}; allowed: {sorted(TRANSITION_FIELDS)}")
    sources = allowed_from(to_state)
    stmt = (
        update(ConciergeRequest)
        .where(
            ConciergeRequest.id == request_id,
            ConciergeRequest.tenant_id == tenant_id,
            ConciergeRequest.status == any_(bindparam("allowed_from", sources, type_=ARRAY(String))),
        )
        .values(status=to_state, status_changed_at=func.now(), **{f"{to_state}_at": func.now()}, **fields)
        .returning(ConciergeRequest)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    moved = (await session.execute(stmt)).scalar_one_or_none()
    if moved is not None:
        return moved
    current = (
        await session.execute(
            select(ConciergeRequest.status).where(
                ConciergeRequest.id == request_id, ConciergeRequest.tenant_id == tenant_id
            )
        )
    ).scalar_one_or_none()
    if current is None:
        raise NotFound(f"concierge request {request_id} not found")
    raise IllegalTransition(
        f"concierge request cannot move from {current} to {to_state}",
        details={"request_id": str(request_id), "from": current, "to": to_state, "allowed_from": sources},
    )


async def get_request(session: AsyncSession, *, tenant_id: uuid.UUID, request_id: uuid.UUID) -> ConciergeRequest:
    """One of the tenant's requests, or NotFound."""
    row = (
        await session.execute(
            select(ConciergeRequest).where(ConciergeRequest.id == request_id, ConciergeRequest.tenant_id == tenant_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"concierge request {request_id} not found")
    return row


async def open_request_for_conversation(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID
) -> ConciergeRequest | None:
    """The conversation's request still being worked on (at most one exists), if any."""
    stmt = select(ConciergeRequest).where(
        ConciergeRequest.tenant_id == tenant_id,
        ConciergeRequest.conversation_id == conversation_id,
        ConciergeRequest.status.in_(OPEN_STATES),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_requests(
    session: AsyncSession, *, tenant_id: uuid.UUID, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[ConciergeRequest]:
    """The tenant's requests, newest first, optionally in one state."""
    stmt = select(ConciergeRequest).where(ConciergeRequest.tenant_id == tenant_id)
    if status is not None:
        stmt = stmt.where(ConciergeRequest.status == status)
    stmt = stmt.order_by(ConciergeRequest.created_at.desc(), ConciergeRequest.id).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars().all())


async def expired_waiting_requests(
    session: AsyncSession, *, now: datetime, limit: int = 100
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant_id, request_id) of requests, any tenant, still awaiting replies past their deadline (the timeout job)."""
    stmt = (
        select(ConciergeRequest.tenant_id, ConciergeRequest.id)
        .where(ConciergeRequest.status == "awaiting_vendor_replies", ConciergeRequest.deadline_at <= now)
        .order_by(ConciergeRequest.deadline_at)
        .limit(limit)
    )
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class OutreachDetail:
    """An outreach row with its vendor and replies (the request detail's parts)."""

    outreach: VendorOutreach
    vendor: Vendor
    replies: list[VendorReply] = field(default_factory=list)


async def request_outreach(
    session: AsyncSession, *, tenant_id: uuid.UUID, request_id: uuid.UUID
) -> list[OutreachDetail]:
    """Every vendor asked for a request, in the order they were reserved, with their replies."""
    rows = (
        await session.execute(
            select(VendorOutreach, Vendor)
            .join(Vendor, Vendor.id == VendorOutreach.vendor_id)
            .where(VendorOutreach.tenant_id == tenant_id, VendorOutreach.request_id == request_id)
            .order_by(VendorOutreach.id)
        )
    ).all()
    ids = [o.id for o, _ in rows]
    replies: dict[int, list[VendorReply]] = {i: [] for i in ids}
    if ids:
        for reply in (
            await session.execute(
                select(VendorReply)
                .where(VendorReply.tenant_id == tenant_id, VendorReply.outreach_id.in_(ids))
                .order_by(VendorReply.received_at, VendorReply.id)
            )
        ).scalars():
            replies[reply.outreach_id].append(reply)
    return [OutreachDetail(outreach=o, vendor=v, replies=replies[o.id]) for o, v in rows]


async def request_detail(
    session: AsyncSession, *, tenant_id: uuid.UUID, request_id: uuid.UUID
) -> ConciergeRequestDetail:
    """A request with every vendor asked and their replies (what the API shows)."""
    request = await get_request(session, tenant_id=tenant_id, request_id=request_id)
    parts = await request_outreach(session, tenant_id=tenant_id, request_id=request_id)
    return ConciergeRequestDetail(
        **ConciergeRequestRead.model_validate(request).model_dump(),
        outreach=[
            OutreachRead(
                id=p.outreach.id,
                vendor_id=p.vendor.id,
                vendor_name=p.vendor.name,
                vendor_number=p.vendor.whatsapp_number,
                batch=p.outreach.batch,
                status=p.outreach.status,
                message_sid=p.outreach.message_sid,
                error=p.outreach.error,
                sent_at=p.outreach.sent_at,
                replied_at=p.outreach.replied_at,
                created_at=p.outreach.created_at,
                replies=[VendorReplyRead.model_validate(r) for r in p.replies],
            )
            for p in parts
        ],
    )


# --- outreach and replies -------------------------------------------------------------------------

_COUNTED = ("queued", "sent", "replied")  # a failed send never reached the vendor


def _counted_in_day_before(moment: Any) -> Any:
    """Outreach that counts against a vendor's daily cap at ``moment``: reserved or sent in the 24 h before it.

    The one definition the reservation, the selection and ``outreach_last_day`` share.
    """
    return and_(VendorOutreach.status.in_(_COUNTED), VendorOutreach.created_at > moment - timedelta(hours=24))


async def reserve_outreach(
    session: AsyncSession,
    request: ConciergeRequest,
    vendors: Iterable[Vendor | uuid.UUID],
    batch: int,
    *,
    daily_cap: int | None = None,
) -> list[VendorOutreach]:
    """Write ``queued`` outreach rows before anything is sent; returns only the rows this call created.

    UNIQUE (request_id, vendor_id) with ON CONFLICT DO NOTHING: a vendor already reserved for the
    request (by this or a concurrent job) is skipped, so nobody is asked twice for one request. Only
    the request's tenant's active, not opted-out vendors under their daily cap (default: the
    tenant's setting) are reserved. The vendors' rows stay locked until the caller commits, so keep
    the transaction short and send after it.
    """
    ids = list(dict.fromkeys(v if isinstance(v, uuid.UUID) else v.id for v in vendors))
    if not ids:
        return []
    if daily_cap is None:
        tenant = (await session.execute(select(Tenant).where(Tenant.id == request.tenant_id))).scalar_one()
        daily_cap = tenant_service.concierge_settings(tenant).vendor_daily_cap
    # Locking the vendors (in id order, so two jobs cannot deadlock) makes the opt-out and the cap
    # below read what concurrent reservations committed: two requests cannot both take a last slot.
    locked = (
        (
            await session.execute(
                select(Vendor.id)
                .where(Vendor.id.in_(ids), Vendor.tenant_id == request.tenant_id, Vendor.active, ~Vendor.opted_out)
                .order_by(Vendor.id)
                .with_for_update()
            )
        )
        .scalars()
        .all()
    )
    if not locked:
        return []
    counted = await session.execute(
        select(VendorOutreach.vendor_id, func.count())
        .where(
            VendorOutreach.vendor_id.in_(locked),
            VendorOutreach.request_id != request.id,
            _counted_in_day_before(func.now()),
        )
        .group_by(VendorOutreach.vendor_id)
    )
    sent: dict[uuid.UUID, int] = {vendor_id: int(n) for vendor_id, n in counted.all()}
    allowed = [v for v in locked if sent.get(v, 0) < daily_cap]
    if not allowed:
        return []
    eligible = select(
        literal(request.id).label("request_id"),
        Vendor.id,
        Vendor.tenant_id,
        literal(batch).label("batch"),
    ).where(Vendor.id.in_(allowed))
    stmt = (
        insert(VendorOutreach)
        .from_select(["request_id", "vendor_id", "tenant_id", "batch"], eligible)
        .on_conflict_do_nothing(index_elements=["request_id", "vendor_id"])
        .returning(VendorOutreach)
    )
    created = list((await session.execute(stmt)).scalars().all())
    order = {vid: i for i, vid in enumerate(ids)}
    return sorted(created, key=lambda o: order[o.vendor_id])


async def mark_outreach_sent(
    session: AsyncSession, *, tenant_id: uuid.UUID, outreach_id: int, message_sid: str | None
) -> bool:
    """queued (or failed, on a retry) → sent with Twilio's SID; False if it was already sent or replied."""
    result = await session.execute(
        update(VendorOutreach)
        .where(
            VendorOutreach.id == outreach_id,
            VendorOutreach.tenant_id == tenant_id,
            VendorOutreach.status.in_(("queued", "failed")),
        )
        .values(status="sent", message_sid=message_sid, sent_at=func.now(), error=None)
        .returning(VendorOutreach.id)
    )
    return result.scalar_one_or_none() is not None


async def mark_outreach_failed(session: AsyncSession, *, tenant_id: uuid.UUID, outreach_id: int, error: str) -> bool:
    """queued → failed with the reason; False if it had moved on already."""
    result = await session.execute(
        update(VendorOutreach)
        .where(
            VendorOutreach.id == outreach_id, VendorOutreach.tenant_id == tenant_id, VendorOutreach.status == "queued"
        )
        .values(status="failed", error=error[:2000])
        .returning(VendorOutreach.id)
    )
    return result.scalar_one_or_none() is not None


async def vendor_by_number(session: AsyncSession, *, tenant_id: uuid.UUID, number: str) -> Vendor | None:
    """The tenant's vendor writing from ``number`` (any spelling, e.g. the webhook's ``From``), if any."""
    try:
        addresses = ["whatsapp:" + v for v in number_variants(number)]
    except ValueError:
        return None
    stmt = (
        select(Vendor)
        .where(Vendor.tenant_id == tenant_id, Vendor.whatsapp_number.in_(addresses))
        .order_by(Vendor.active.desc(), Vendor.created_at)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def open_outreach_for_vendor(
    session: AsyncSession, *, tenant_id: uuid.UUID, number: str
) -> tuple[Vendor, VendorOutreach] | None:
    """The vendor writing from ``number`` and its newest outreach whose request still waits for replies.

    What the webhook uses to tell a vendor's answer from a customer's message. Sent and already
    replied outreach both count (a vendor may answer in several messages).
    """
    vendor = await vendor_by_number(session, tenant_id=tenant_id, number=number)
    if vendor is None:
        return None
    stmt = (
        select(VendorOutreach)
        .join(ConciergeRequest, ConciergeRequest.id == VendorOutreach.request_id)
        .where(
            VendorOutreach.tenant_id == tenant_id,
            VendorOutreach.vendor_id == vendor.id,
            VendorOutreach.status.in_(("sent", "replied")),
            ConciergeRequest.status.in_(("vendor_outreach", "awaiting_vendor_replies")),
        )
        .order_by(VendorOutreach.sent_at.desc().nulls_last(), VendorOutreach.id.desc())
        .limit(1)
    )
    outreach = (await session.execute(stmt)).scalar_one_or_none()
    return None if outreach is None else (vendor, outreach)


async def record_vendor_reply(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    outreach_id: int,
    raw: str,
    message_sid: str | None = None,
    parsed: BaseModel | Mapping[str, Any] | None = None,
    available: bool | None = None,
    price: Decimal | float | None = None,
    currency: str | None = None,
    delivery_hours: float | None = None,
    confidence: float | None = None,
) -> VendorReply | None:
    """Store a vendor's answer and mark its outreach replied; None when this MessageSid was recorded already.

    ``parsed`` is what the reply parser read (``replies.parse_vendor_reply``'s model or a dict), kept
    whole; its available/price/currency/delivery_hours/confidence fill the typed columns unless given.
    """
    data: dict[str, Any] = parsed.model_dump(mode="json") if isinstance(parsed, BaseModel) else dict(parsed or {})
    explicit = {
        "available": available,
        "price": price,
        "currency": currency,
        "delivery_hours": delivery_hours,
        "confidence": confidence,
    }
    columns = {k: data.get(k) if v is None else v for k, v in explicit.items()}
    stmt = (
        insert(VendorReply)
        .values(
            outreach_id=outreach_id,
            tenant_id=tenant_id,
            message_sid=message_sid,
            raw=raw,
            available=columns["available"],
            price=None if columns["price"] is None else Decimal(str(columns["price"])).quantize(Decimal("0.01")),
            currency=columns["currency"],
            delivery_hours=columns["delivery_hours"],
            confidence=columns["confidence"],
            parsed=data,
        )
        .on_conflict_do_nothing(index_elements=["message_sid"])
        .returning(VendorReply)
    )
    owned = await session.execute(
        select(VendorOutreach.id).where(VendorOutreach.id == outreach_id, VendorOutreach.tenant_id == tenant_id)
    )
    if owned.scalar_one_or_none() is None:
        raise NotFound(f"outreach {outreach_id} not found")
    reply = (await session.execute(stmt)).scalar_one_or_none()
    if reply is not None:
        await session.execute(
            update(VendorOutreach)
            .where(VendorOutreach.id == outreach_id, VendorOutreach.tenant_id == tenant_id)
            .values(status="replied", replied_at=func.coalesce(VendorOutreach.replied_at, func.now()))
        )
    return reply


async def set_vendor_opt_out(
    session: AsyncSession, *, tenant_id: uuid.UUID, vendor_id: uuid.UUID, opted_out: bool = True
) -> Vendor:
    """A vendor asked not to be contacted (or asked to be again); stamped, and never selected while out."""
    return await update_vendor(
        session, tenant_id=tenant_id, vendor_id=vendor_id, changes=VendorUpdate(opted_out=opted_out)
    )


# --- vendor selection -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorCandidate:
    """A vendor worth asking, with its distance from the customer."""

    vendor: Vendor
    distance_km: float


def _distance_km(lat: float, lon: float) -> Any:
    """Haversine in SQL, so the radius filter and the ordering happen in the database."""
    rlat, rlon = func.radians(Vendor.lat), func.radians(Vendor.lon)
    a = func.power(func.sin((rlat - func.radians(lat)) / 2), 2) + func.cos(func.radians(lat)) * func.cos(
        rlat
    ) * func.power(func.sin((rlon - func.radians(lon)) / 2), 2)
    return cast(2 * geo.EARTH_RADIUS_KM * func.asin(func.least(1.0, func.sqrt(a))), Float)


async def outreach_last_day(session: AsyncSession, *, tenant_id: uuid.UUID, vendor_id: uuid.UUID, now: datetime) -> int:
    """Outreach messages a vendor got (or is about to get) in the 24 hours before ``now``."""
    stmt = select(func.count()).where(
        VendorOutreach.tenant_id == tenant_id,
        VendorOutreach.vendor_id == vendor_id,
        _counted_in_day_before(now),
    )
    return int((await session.execute(stmt)).scalar_one())


async def select_vendors(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    category: str,
    location: tuple[float, float],
    limit: int,
    now: datetime,
    radius_km: float | None = None,
    daily_cap: int | None = None,
    timezone: str | None = None,
    exclude_request_id: uuid.UUID | None = None,
) -> list[VendorCandidate]:
    """The nearest vendors to ask: in ``category``, within the radius, open at ``now``, active, not opted
    out and under their daily outreach cap; nearest first. Radius, cap and time zone default to the tenant's.

    ``exclude_request_id`` leaves out vendors already asked for that request (a further batch).
    """

    tenant = (await session.execute(select(Tenant).where(Tenant.id == tenant_id))).scalar_one_or_none()
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    settings = tenant_service.concierge_settings(tenant)
    radius = settings.radius_km if radius_km is None else radius_km
    cap = settings.vendor_daily_cap if daily_cap is None else daily_cap
    zone = timezone or tenant.timezone
    lat, lon = location
    geo.check_coordinates(lat, lon)
    wanted = fold(category).strip()

    distance = _distance_km(lat, lon).label("distance_km")
    sent_last_day = (
        select(func.count())
        .where(
            VendorOutreach.vendor_id == Vendor.id,
            _counted_in_day_before(now),
        )
        .correlate(Vendor)
        .scalar_subquery()
    )
    conditions = [
        Vendor.tenant_id == tenant_id,
        Vendor.active,
        ~Vendor.opted_out,
        Vendor.categories.contains([wanted]),
        distance <= radius,
        sent_last_day < cap,
    ]
    if exclude_request_id is not None:
        asked = select(VendorOutreach.vendor_id).where(VendorOutreach.request_id == exclude_request_id)
        conditions.append(Vendor.id.not_in(asked))
    stmt = select(Vendor, distance).where(and_(*conditions)).order_by(distance, Vendor.name).limit(max(limit * 10, 200))
    picked: list[VendorCandidate] = []
    for vendor, km in (await session.execute(stmt)).all():
        try:
            open_now = geo.is_open(vendor.opening_hours, now, zone)
        except ValueError:
            open_now = False  # hours that no longer parse: do not wake anyone up
        if open_now:
            picked.append(VendorCandidate(vendor=vendor, distance_km=float(km)))
            if len(picked) >= limit:
                break
    return picked


# --- vendors CRUD ---------------------------------------------------------------------------------


async def list_vendors(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    category: str | None = None,
    active: bool | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[Vendor]:
    """The tenant's vendors by name, optionally of one category or activity."""
    stmt = select(Vendor).where(Vendor.tenant_id == tenant_id)
    if category:
        stmt = stmt.where(Vendor.categories.contains([fold(category).strip()]))
    if active is not None:
        stmt = stmt.where(Vendor.active.is_(active))
    stmt = stmt.order_by(Vendor.name, Vendor.id).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars().all())


async def get_vendor(session: AsyncSession, *, tenant_id: uuid.UUID, vendor_id: uuid.UUID) -> Vendor:
    """One of the tenant's vendors, or NotFound (another tenant's vendor is not found either)."""
    row = (
        await session.execute(select(Vendor).where(Vendor.id == vendor_id, Vendor.tenant_id == tenant_id))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"vendor {vendor_id} not found")
    return row


async def _number_taken(
    session: AsyncSession, *, tenant_id: uuid.UUID, number: str, other_than: uuid.UUID | None
) -> None:
    existing = await vendor_by_number(session, tenant_id=tenant_id, number=number)
    if existing is not None and existing.id != other_than:
        raise Conflict(
            f"a vendor with number {number} already exists",
            details={"vendor_id": str(existing.id), "whatsapp_number": existing.whatsapp_number},
        )


async def create_vendor(session: AsyncSession, *, tenant_id: uuid.UUID, data: VendorCreate) -> Vendor:
    """Add a vendor; 409 when the tenant already has one with that number."""
    await _number_taken(session, tenant_id=tenant_id, number=data.whatsapp_number, other_than=None)
    vendor = Vendor(
        tenant_id=tenant_id,
        **data.model_dump(),
        call_consent_at=func.now() if data.call_consent else None,
    )
    try:
        async with session.begin_nested():
            session.add(vendor)
            await session.flush()
    except IntegrityError:
        raise Conflict(f"a vendor with number {data.whatsapp_number} already exists") from None
    await session.refresh(vendor)
    return vendor


async def update_vendor(
    session: AsyncSession, *, tenant_id: uuid.UUID, vendor_id: uuid.UUID, changes: VendorUpdate
) -> Vendor:
    """Apply a partial change; opt-out and call consent keep the time they were given."""
    vendor = await get_vendor(session, tenant_id=tenant_id, vendor_id=vendor_id)
    fields = changes.model_dump(exclude_unset=True)
    if "whatsapp_number" in fields:
        await _number_taken(session, tenant_id=tenant_id, number=fields["whatsapp_number"], other_than=vendor.id)
    if "opted_out" in fields and fields["opted_out"] != vendor.opted_out:
        vendor.opted_out_at = func.now() if fields["opted_out"] else None
    if "call_consent" in fields and fields["call_consent"] != vendor.call_consent:
        vendor.call_consent_at = func.now() if fields["call_consent"] else None
    for name, value in fields.items():
        setattr(vendor, name, value)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict("a vendor with that number already exists") from None
    await session.refresh(vendor)
    return vendor


async def deactivate_vendor(session: AsyncSession, *, tenant_id: uuid.UUID, vendor_id: uuid.UUID) -> Vendor:
    """Remove a vendor from selection for good (its outreach history stays); PATCH active=true undoes it."""
    return await update_vendor(session, tenant_id=tenant_id, vendor_id=vendor_id, changes=VendorUpdate(active=False))


# --- vendors CSV import ---------------------------------------------------------------------------

VENDOR_REQUIRED = ("name", "whatsapp_number", "categories", "lat", "lon")
VENDOR_OPTIONAL = ("opening_hours", "call_consent")
MAX_VENDOR_ROWS = 20_000
_YES = {"si", "sí", "yes", "y", "true", "1", "verdadero", "x"}
_NO = {"no", "n", "false", "0", "falso", ""}
_HEADER_ALIASES = {"number": "whatsapp_number", "whatsapp": "whatsapp_number", "phone": "whatsapp_number"}


def parse_vendor_csv(data: bytes) -> list[dict[str, Any]]:
    """Validate a vendors CSV (comma-separated; categories split by ';'); InvalidInput names the row and column."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in read_csv(data, required=VENDOR_REQUIRED, aliases=_HEADER_ALIASES):
        line_no, record, fail = row.line, row.cells, row.error
        if len(record["name"]) > 200:
            raise fail("name", "at most 200 characters")
        try:
            number = whatsapp_address(record["whatsapp_number"])
        except ValueError as exc:
            raise fail("whatsapp_number", str(exc)) from None
        key = customer_key(number)
        if key in seen:
            raise fail("whatsapp_number", f"duplicate of row {seen[key]}")
        seen[key] = line_no
        try:
            categories = normalise_categories(record["categories"].split(";"))
        except ValueError as exc:
            raise fail("categories", str(exc)) from None
        coordinates: dict[str, float] = {}
        for col in ("lat", "lon"):
            try:
                coordinates[col] = float(record[col].replace(",", "."))
            except ValueError:
                raise fail(col, "not a number") from None
            if not math.isfinite(coordinates[col]):  # "inf", "nan", or more digits than a float holds
                raise fail(col, "not a finite number")
        try:
            geo.check_coordinates(coordinates["lat"], coordinates["lon"])
        except ValueError as exc:
            raise fail("lat" if "latitude" in str(exc) else "lon", str(exc)) from None
        try:
            hours = check_hours(record.get("opening_hours"))
        except ValueError as exc:
            raise fail("opening_hours", str(exc)) from None
        consent_raw = fold(record.get("call_consent", ""))
        if consent_raw not in _YES | _NO:
            raise fail("call_consent", "use yes/no (sí/no, true/false, 1/0)")
        rows.append(
            {
                "name": record["name"],
                "whatsapp_number": number,
                "categories": categories,
                "lat": coordinates["lat"],
                "lon": coordinates["lon"],
                "opening_hours": hours,
                "call_consent": consent_raw in _YES,
            }
        )
        if len(rows) > MAX_VENDOR_ROWS:
            raise InvalidInput(
                f"An import holds at most {MAX_VENDOR_ROWS} rows", details={"row": line_no, "column": None}
            )
    if not rows:
        raise InvalidInput("The CSV file has a header but no rows", details={"row": 2, "column": None})
    return rows


async def upsert_vendors(
    session: AsyncSession, *, tenant_id: uuid.UUID, rows: Sequence[Mapping[str, Any]]
) -> VendorImportRead:
    """Insert or update vendors by number in the caller's transaction; unchanged rows are not touched.

    An import never clears a vendor's opt-out (that is the vendor's wish, not the sheet's) and
    brings a deactivated vendor back.
    """

    # Row-lock the tenant: concurrent imports of one tenant serialise instead of interleaving.
    await session.execute(select(Tenant.id).where(Tenant.id == tenant_id).with_for_update())
    # A number stored in the other Mexican spelling (+521 / +52) is updated rather than duplicated.
    stored = {
        customer_key(n): n
        for n in (await session.execute(select(Vendor.whatsapp_number).where(Vendor.tenant_id == tenant_id))).scalars()
    }
    created = updated = 0
    for start in range(0, len(rows), 1_000):
        chunk = [
            {
                **r,
                "tenant_id": tenant_id,
                "whatsapp_number": stored.get(customer_key(r["whatsapp_number"]), r["whatsapp_number"]),
                "call_consent_at": func.now() if r["call_consent"] else None,
            }
            for r in rows[start : start + 1_000]
        ]
        base = insert(Vendor).values(chunk)
        new = base.excluded
        changed = or_(
            Vendor.name.is_distinct_from(new.name),
            Vendor.categories.is_distinct_from(new.categories),
            Vendor.lat.is_distinct_from(new.lat),
            Vendor.lon.is_distinct_from(new.lon),
            Vendor.opening_hours.is_distinct_from(new.opening_hours),
            Vendor.call_consent.is_distinct_from(new.call_consent),
            ~Vendor.active,
        )
        stmt: Any = base.on_conflict_do_update(
            index_elements=["tenant_id", "whatsapp_number"],
            set_={
                "name": new.name,
                "categories": new.categories,
                "lat": new.lat,
                "lon": new.lon,
                "opening_hours": new.opening_hours,
                "call_consent": new.call_consent,
                "call_consent_at": case(
                    (and_(new.call_consent, ~Vendor.call_consent), func.now()),
                    (~new.call_consent, None),
                    else_=Vendor.call_consent_at,
                ),
                "active": True,
                "updated_at": func.now(),
            },
            where=changed,
        ).returning(literal_column("(xmax = 0)"))  # true: inserted; false: updated by ON CONFLICT
        for inserted in (await session.execute(stmt)).scalars():
            if inserted:
                created += 1
            else:
                updated += 1
    return VendorImportRead(rows=len(rows), created=created, updated=updated, unchanged=len(rows) - created - updated)


async def import_vendors_csv(session: AsyncSession, *, tenant_id: uuid.UUID, data: bytes) -> VendorImportRead:
    """Validate then upsert every row atomically; nothing changes when any row is bad."""
    rows = await asyncio.to_thread(parse_vendor_csv, data)  # CPU-bound on big files
    return await upsert_vendors(session, tenant_id=tenant_id, rows=rows)


# ----------------------------------------------------------------------------- a request's requirements


def request_flow(request: ConciergeRequest) -> dict[str, Any]:
    """The dialogue's state stored beside a request's requirements (what was asked, confirming, OCR counts)."""
    return dict((request.requirements or {}).get("_flow") or {})


def read_requirements(request: ConciergeRequest) -> Requirements | None:
    """What a request's customer asked for (its stored requirements without the dialogue's state)."""
    data = {k: v for k, v in (request.requirements or {}).items() if k != "_flow"}
    return Requirements.model_validate(data) if data else None


async def save_requirements(
    session: AsyncSession, request: ConciergeRequest, requirements: Requirements, flow: dict[str, Any]
) -> None:
    """Store a request's requirements with the dialogue's state."""
    await session.execute(
        update(ConciergeRequest)
        .where(ConciergeRequest.id == request.id, ConciergeRequest.tenant_id == request.tenant_id)
        .values(requirements={**requirements.model_dump(mode="json"), "_flow": flow})
    )
