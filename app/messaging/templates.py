"""WhatsApp templates per tenant (Twilio's Content API) mapped to purposes, and sending one to a conversation.

A template is a Content API resource WhatsApp approved. ``agentctl template create`` submits the project's
defaults (Spanish and English, named ``<purpose>_<language>``); ``agentctl template sync SLUG`` reads the
account's contents with their approval and maps them to purposes by that name (a tenant's own template
may be named ``<slug>_<purpose>_<language>`` and then wins), or ``agentctl template map`` maps one by hand.
Outside the 24-hour window only an approved template of the right purpose goes out (app.messaging.outbound).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.models import Conversation, Message
from app.core.errors import InvalidInput, NotFound
from app.core.jobrows import queue_job
from app.messaging.models import MessageTemplate
from app.text.normalize import Language
from app.text.wording import template_for

Purpose = Literal["vendor_outreach", "shortlist_ready", "handoff_follow_up", "lead_confirmation", "re_engagement"]
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)
LANGUAGES: tuple[Language, ...] = ("es", "en")
APPROVED = "approved"
# WhatsApp's categories: every default is a utility message but the re-engagement, which is marketing.
CATEGORIES: dict[Purpose, str] = {purpose: "UTILITY" for purpose in PURPOSES} | {"re_engagement": "MARKETING"}
# Samples WhatsApp reviews the templates with (one per variable).
SAMPLES: dict[Purpose, dict[str, str]] = {
    "vendor_outreach": {"1": "Autos Demo", "2": "balatas delanteras para Jetta 2017 · Polanco · hoy"},
    "shortlist_ready": {"1": "balatas delanteras", "2": "1. Refaccionaria Norte: $850, hoy"},
    "handoff_follow_up": {"1": "Ana de Autos Demo", "2": "el financiamiento del Mazda 3"},
    "lead_confirmation": {"1": "Laura", "2": "prueba de manejo del Mazda 3 el sábado a las 11"},
    "re_engagement": {"1": "Laura", "2": "Autos Demo"},
}
# Twilio refuses variables with line breaks, tabs or more than four spaces in a row; WhatsApp caps a body.
MAX_VARIABLE_CHARS = 900
# The conversation's job (app.flows.conversation's CONVERSATION_TASK and lock): sends what a part queued.
CONVERSATION_TASK = "agent:process_conversation"
CONVERSATION_LOCK_PREFIX = "conversation:"
_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def default_name(purpose: Purpose, language: Language) -> str:
    """The friendly name the project's default template of ``purpose`` in ``language`` is created with."""
    return f"{purpose}_{language}"


def default_body(purpose: Purpose, language: Language) -> str:
    """The project's default text for ``purpose`` (Twilio's ``{{1}}`` variables left in)."""
    return template_for(f"messaging.template_{purpose}", language)


def purpose_of(friendly_name: str, slug: str) -> tuple[Purpose, Language, bool] | None:
    """(purpose, language, the tenant's own) a template's name maps to, or None for an unrelated name."""
    name = friendly_name.strip().lower()
    own = name.startswith(f"{slug.lower()}_")
    if own:
        name = name[len(slug) + 1 :]
    for purpose in PURPOSES:
        for language in LANGUAGES:
            if name == f"{purpose}_{language}":
                return purpose, language, own
    return None


def clean_variable(value: object) -> str:
    """A value Twilio accepts as a content variable: one line, no runs of spaces, capped."""
    text = re.sub(r"\s+", " ", str(value)).strip()
    if len(text) > MAX_VARIABLE_CHARS:
        text = text[: MAX_VARIABLE_CHARS - 1].rstrip() + "…"
    return text or "-"


def render(body: str, variables: Mapping[str, str]) -> str:
    """The text a template shows with ``variables`` filled in (what the customer reads, for our records)."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), body)


def approval_status(approval_requests: Mapping[str, Any]) -> tuple[str, str | None]:
    """WhatsApp's approval status in a ContentAndApprovals row (``unsubmitted`` when never submitted)."""
    whatsapp = approval_requests.get("whatsapp") or {}
    if not isinstance(whatsapp, Mapping):
        return "unsubmitted", None
    status = str(whatsapp.get("status") or "unsubmitted").lower()
    return status[:16], (str(whatsapp.get("rejection_reason")) or None) if whatsapp.get("rejection_reason") else None


def content_body(types: Mapping[str, Any]) -> str:
    """The text of a content, whatever its type (text, media, card, quick reply ...)."""
    for kind in ("twilio/text", "twilio/media", "twilio/quick-reply", "twilio/list-picker", "twilio/call-to-action"):
        found = types.get(kind)
        if isinstance(found, Mapping) and found.get("body"):
            return str(found["body"])
    card = types.get("twilio/card")
    if isinstance(card, Mapping):
        return str(card.get("title") or "")
    return ""


@dataclass(frozen=True)
class SyncedTemplate:
    """One template after a sync: its SID, name, language, approval and the purpose it maps to."""

    content_sid: str
    friendly_name: str
    language: str
    status: str
    purpose: str | None


async def sync_templates(
    session: AsyncSession, *, tenant_id: uuid.UUID, slug: str, contents: Iterable[Mapping[str, Any]]
) -> list[SyncedTemplate]:
    """Store the account's contents for the tenant with their approval; map them to purposes by name.

    A purpose mapped by hand (``map_template``) keeps its mapping; a tenant's own template
    (``<slug>_<purpose>_<language>``) takes the purpose from a shared default of the same language."""
    existing = {
        t.content_sid: t
        for t in (
            await session.execute(select(MessageTemplate).where(MessageTemplate.tenant_id == tenant_id))
        ).scalars()
    }
    rows: list[dict[str, Any]] = []
    owned: set[tuple[str, str]] = set()
    for content in contents:
        sid = str(content.get("sid") or "")
        if not sid:
            continue
        name = str(content.get("friendly_name") or "")[:200]
        mapped = purpose_of(name, slug)
        status, rejection = approval_status(content.get("approval_requests") or {})
        language = str(content.get("language") or (mapped[1] if mapped else "es"))[:16]
        purpose: str | None = mapped[0] if mapped else None
        if sid in existing and existing[sid].purpose and mapped is None:
            purpose = existing[sid].purpose  # mapped by hand
        if mapped and mapped[2]:
            owned.add((mapped[0], mapped[1]))
        rows.append(
            {
                "tenant_id": tenant_id,
                "content_sid": sid[:64],
                "friendly_name": name,
                "language": language,
                "purpose": purpose,
                "status": status,
                "body": content_body(content.get("types") or {}),
                "variables": {str(k): str(v) for k, v in dict(content.get("variables") or {}).items()},
                "rejection_reason": rejection,
                "own": bool(mapped and mapped[2]),
            }
        )
    for row in rows:
        # The shared default steps aside where the tenant has its own template for the purpose and language.
        if row["purpose"] and not row.pop("own") and (row["purpose"], row["language"]) in owned:
            row["purpose"] = None
        row.pop("own", None)
        stmt = insert(MessageTemplate).values(id=uuid.uuid4(), **row)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id", "content_sid"],
                set_={k: stmt.excluded[k] for k in row if k not in {"tenant_id", "content_sid"}},
            )
        )
    await session.flush()
    return [
        SyncedTemplate(
            content_sid=r["content_sid"],
            friendly_name=r["friendly_name"],
            language=r["language"],
            status=r["status"],
            purpose=r["purpose"],
        )
        for r in rows
    ]


async def map_template(
    session: AsyncSession, *, tenant_id: uuid.UUID, content_sid: str, purpose: str | None
) -> MessageTemplate:
    """Map a synced template to a purpose by hand (None unmaps it)."""
    if purpose is not None and purpose not in PURPOSES:
        raise InvalidInput(f"unknown purpose {purpose!r}", details={"field": "purpose", "allowed": list(PURPOSES)})
    template = await _template_by_sid(session, tenant_id=tenant_id, content_sid=content_sid)
    if template is None:
        raise NotFound(f"no synced template {content_sid} (run agentctl template sync first)")
    template.purpose = purpose
    await session.flush()
    return template


async def list_templates(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[MessageTemplate]:
    """The tenant's synced templates, by purpose then name."""
    rows = await session.execute(
        select(MessageTemplate)
        .where(MessageTemplate.tenant_id == tenant_id)
        .order_by(MessageTemplate.purpose.nulls_last(), MessageTemplate.friendly_name)
    )
    return list(rows.scalars())


async def approved_template(
    session: AsyncSession, *, tenant_id: uuid.UUID, purpose: str, language: str | None = None
) -> MessageTemplate | None:
    """The tenant's approved template for ``purpose``, in ``language`` when there is one."""
    rows = await session.execute(
        select(MessageTemplate).where(
            MessageTemplate.tenant_id == tenant_id,
            MessageTemplate.purpose == purpose,
            MessageTemplate.status == APPROVED,
        )
    )
    found = list(rows.scalars())
    found.sort(key=lambda t: (t.language[:2] != (language or "")[:2], t.friendly_name))
    return found[0] if found else None


async def _template_by_sid(session: AsyncSession, *, tenant_id: uuid.UUID, content_sid: str) -> MessageTemplate | None:
    return (
        await session.execute(
            select(MessageTemplate).where(
                MessageTemplate.tenant_id == tenant_id, MessageTemplate.content_sid == content_sid
            )
        )
    ).scalar_one_or_none()


async def approved_by_sid(session: AsyncSession, *, tenant_id: uuid.UUID, content_sid: str) -> MessageTemplate | None:
    """The tenant's template with this SID if WhatsApp approved it."""
    template = await _template_by_sid(session, tenant_id=tenant_id, content_sid=content_sid)
    return template if template is not None and template.status == APPROVED else None


async def readiness(session: AsyncSession, *, tenant_id: uuid.UUID) -> dict[str, str]:
    """Each purpose's template state for ``tenant status``: approved (with its SID), pending, or missing."""
    return purpose_states(await list_templates(session, tenant_id=tenant_id))


def purpose_states(rows: Iterable[MessageTemplate]) -> dict[str, str]:
    """Each purpose's state among the tenant's templates ``rows`` (see ``readiness``)."""
    state: dict[str, str] = {purpose: "missing" for purpose in PURPOSES}
    for template in rows:
        if template.purpose not in state:
            continue
        if template.status == APPROVED:
            state[template.purpose] = f"approved ({template.content_sid})"
        elif state[template.purpose] == "missing":
            state[template.purpose] = template.status
    return state


def conversation_language(conversation: Conversation, default: str = "es") -> str:
    """The language the conversation is held in (its memory's), else ``default``."""
    language = (conversation.state or {}).get("language")
    return str(language) if language in LANGUAGES else default


async def queue_template(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    purpose_or_sid: str,
    variables: dict[str, str],
    author: str | None = None,
) -> Message:
    """Queue an approved template to a conversation (an operator's reply outside the window, a follow-up).

    ``purpose_or_sid`` is a purpose (its approved template in the conversation's language) or a synced
    Content SID. The part is written in the caller's transaction with the conversation's job, and goes
    through the same pre-send check as every part (an opted-out customer gets nothing). InvalidInput
    when the tenant has no approved template for it."""
    conversation = (
        await session.execute(
            select(Conversation).where(Conversation.tenant_id == tenant_id, Conversation.id == conversation_id)
        )
    ).scalar_one_or_none()
    if conversation is None:
        raise NotFound("conversation not found")
    if purpose_or_sid in PURPOSES:
        template = await approved_template(
            session, tenant_id=tenant_id, purpose=purpose_or_sid, language=conversation_language(conversation)
        )
    else:
        template = await approved_by_sid(session, tenant_id=tenant_id, content_sid=purpose_or_sid)
    if template is None:
        raise InvalidInput(
            f"no approved WhatsApp template for {purpose_or_sid!r} (agentctl template sync)",
            details={"field": "template", "purposes": list(PURPOSES)},
        )
    cleaned = {str(k): clean_variable(v) for k, v in variables.items()}
    part = Message.outbound(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        body=render(template.body, cleaned)[:4000] or template.friendly_name,
        content_sid=template.content_sid,
        payload={
            "template": {"content_sid": template.content_sid, "purpose": template.purpose, "variables": cleaned},
            **({"author": author} if author else {}),
        },
    )
    session.add(part)
    await session.flush()
    lock = f"{CONVERSATION_LOCK_PREFIX}{conversation_id}"
    args = {"tenant_id": str(tenant_id), "conversation_id": str(conversation_id)}
    await queue_job(session, task=CONVERSATION_TASK, args=args, lock=lock, queueing_lock=lock)
    return part


OUTREACH_WARNING = (
    "warning: no approved vendor_outreach WhatsApp template: vendors who never wrote to this number are sent "
    "free text, which WhatsApp refuses (Twilio error 63016). Create and approve one (agentctl template create; "
    "agentctl template sync SLUG)."
)
