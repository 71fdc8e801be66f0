"""Leads: stored in the turn's transaction and announced to the business (``lead.created``)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.knowledge.models import KnowledgeEntry
from app.leads.booking import Booking, ClosedDay, closed_days
from app.leads.models import Lead
from app.notify import service as notify_service

# Knowledge entries that list the business's branches ("Sucursales, horarios", "Branches", "Sedes"), as a
# PostgreSQL case-insensitive regular expression: only those entries are read, not the whole knowledge base.
_BRANCH_TITLE = "(sucursal|sede|agencia|ubicaci|branch|location|showroom)"
# "Polanco: Av. Ejército Nacional 843" — a branch name opening a sentence or a line, then its address.
_NAMED = re.compile(r"(?:^|[.\n•*-]\s*)\**([A-ZÁÉÍÓÚÑ][\wáéíóúñü]+(?: [A-ZÁÉÍÓÚÑ][\wáéíóúñü]+){0,2})\**:\s")
_NAME = r"[A-ZÁÉÍÓÚÑ][\wáéíóúñü]+(?: (?:de |del )?[A-ZÁÉÍÓÚÑ][\wáéíóúñü]+)?"
# "**Sede Querétaro (matriz)**", "Sucursal Norte": the word, then the name.
_TITLED = re.compile(rf"\b(?:[Ss]ede|[Ss]ucursal|[Aa]gencia|[Bb]ranch|[Ss]howroom)\s+({_NAME})")
# "tres sedes: Querétaro, León y Celaya", "branches in Polanco and Satélite".
_LISTED = re.compile(
    rf"\b(?:sedes|sucursales|agencias|branches|locations)\b[^.:\n]{{0,20}}[:]?\s+(?:en |in )?"
    rf"((?:{_NAME})(?:, (?:{_NAME}))*(?:,? (?:y|and|e) (?:{_NAME})))"
)
# Entries that may say a day is closed: only those are read when a booking names a day.
_CLOSED_HINT = "(cerrad|cerramos|closed|no abr|descans|no laboramos|no trabajamos|no atendemos)"
_NOT_A_BRANCH = frozenset({"horario", "horarios", "hours", "nota", "note", "importante", "estacionamiento", "parking"})


async def create_lead(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID | None,
    customer: str,
    booking: Booking,
) -> Lead:
    """Store a confirmed booking and notify the business, both in the caller's transaction."""
    lead = Lead(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        customer=customer,
        kind=booking.kind,
        stock_id=booking.stock_id,
        car=booking.car,
        day=booking.day,
        time_window=booking.time_window,
        branch=booking.branch,
        name=booking.name,
        status="new",
    )
    session.add(lead)
    await session.flush()
    await notify_service.notify(session, tenant_id=tenant_id, event="lead.created", data=lead_payload(lead))
    return lead


async def reschedule_lead(
    session: AsyncSession, *, tenant_id: uuid.UUID, lead_id: uuid.UUID, booking: Booking
) -> Lead | None:
    """Move a stored booking to the slots of ``booking`` (the customer changed day, time, branch or car) and
    notify the business; None when the lead is gone or belongs to another tenant."""
    lead = await session.get(Lead, lead_id)
    if lead is None or lead.tenant_id != tenant_id:
        return None
    lead.stock_id, lead.car, lead.day = booking.stock_id, booking.car or None, booking.day
    lead.time_window, lead.branch, lead.name = booking.time_window, booking.branch, booking.name
    await session.flush()
    await notify_service.notify(session, tenant_id=tenant_id, event="lead.updated", data=lead_payload(lead))
    return lead


def lead_payload(lead: Lead) -> dict[str, Any]:
    """What the business's notification carries about a lead (JSON values)."""
    return {
        "lead_id": str(lead.id),
        "conversation_id": str(lead.conversation_id) if lead.conversation_id else None,
        "customer": lead.customer,
        "kind": lead.kind,
        "stock_id": lead.stock_id,
        "car": lead.car,
        "day": lead.day.isoformat() if lead.day else None,
        "time_window": lead.time_window,
        "branch": lead.branch,
        "name": lead.name,
    }


async def list_leads(
    session: AsyncSession, *, tenant_id: uuid.UUID, status: str | None = None, limit: int = 100, offset: int = 0
) -> Sequence[Lead]:
    """The tenant's leads, newest first."""
    query = select(Lead).where(Lead.tenant_id == tenant_id)
    if status is not None:
        query = query.where(Lead.status == status)
    query = query.order_by(Lead.created_at.desc(), Lead.id).limit(limit).offset(offset)
    return (await session.execute(query)).scalars().all()


async def branch_names(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[str]:
    """The branch names the tenant's own knowledge gives ("Polanco", "Satélite"), in order; [] when none."""
    rows = await session.execute(
        select(KnowledgeEntry.content).where(
            KnowledgeEntry.tenant_id == tenant_id,
            KnowledgeEntry.deleted_at.is_(None),
            KnowledgeEntry.active.is_(True),
            KnowledgeEntry.title.regexp_match(_BRANCH_TITLE, flags="i"),
        )
    )
    names = [name for content in rows.scalars() for name in branches_in(content or "")]
    return list(dict.fromkeys(names))[:6]


async def closed_weekdays(session: AsyncSession, *, tenant_id: uuid.UUID, branches: list[str]) -> list[ClosedDay]:
    """The weekdays the tenant's own text says it is closed ("los domingos permanecen cerradas"), per branch."""
    rows = await session.execute(
        select(KnowledgeEntry.content, KnowledgeEntry.language).where(
            KnowledgeEntry.tenant_id == tenant_id,
            KnowledgeEntry.deleted_at.is_(None),
            KnowledgeEntry.active.is_(True),
            KnowledgeEntry.content.regexp_match(_CLOSED_HINT, flags="i"),
        )
    )
    return [rule for content, language in rows.all() for rule in closed_days(content or "", branches, language)]


def branches_in(text: str) -> list[str]:
    """Branch names in a text: "Name: address" lines, "Sede Name" headings, "sedes: A, B y C" lists."""
    found = [m.group(1).strip() for m in _NAMED.finditer(text)]
    found += [m.group(1).strip() for m in _TITLED.finditer(text)]
    for m in _LISTED.finditer(text):
        found += [n.strip() for n in re.split(r",\s*|\s+(?:y|and|e)\s+", m.group(1)) if n.strip()]
    return [n for n in dict.fromkeys(found) if n.lower() not in _NOT_A_BRANCH and len(n) <= 40]
