"""The concierge in a customer's conversation: from a request (text or photo) to "I'm asking vendors".

The turn graph hands a message here when the concierge is on for this customer (flag, allowlist or
percentage, no kill switch) and the message starts a request or continues the open one. Everything
is written in the turn's transaction: the request row and its state, the requirements read so far,
and, once the customer confirms, the outreach job (a queue row), so a reply is never sent for work
that was not recorded. Vendors' answers, the shortlist and the timeout live in ``app.concierge.jobs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.concierge import jobs as concierge_jobs
from app.concierge import service
from app.concierge.dialogue import (
    confirmation_text,
    is_ready,
    missing_fields,
    next_field,
    next_question,
)
from app.concierge.extraction import extract_requirements, guess_category, with_details
from app.concierge.lexicon import CAR_MODELS
from app.concierge.ocr import OcrError, low_confidence_items, read_image
from app.concierge.places import match_zone
from app.concierge.replies import customer_keyword
from app.concierge.types import Category, Item, Location, Money, Requirements, Urgency, Zone
from app.core.config import get_settings
from app.notify import safe_url
from app.tenants import service as tenant_service
from app.tenants.models import Tenant
from app.text.answers import leading_answer
from app.text.normalize import Language, fold
from app.text.wording import say

log = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 8_000_000
MEDIA_TIMEOUT_SECONDS = 15.0  # each connect, read or write of a media download
MEDIA_DEADLINE_SECONDS = 30.0  # the whole download, redirects included
# "necesito / busco / ocupo / me consigues ..." or "I need / looking for ...": asking for something.
_NEED = re.compile(
    r"\b(necesito|necesitamos|ocupo|ocupamos|busco|buscamos|buscando|consigueme|consiguen|me consigues|"
    r"me pueden conseguir|cotizar|cotizacion|cotizame|quiero comprar|i need|we need|looking for|"
    r"can you find|can you get|need to buy)\b"
)


@dataclass(frozen=True)
class ConciergeTurn:
    """What the concierge needs from a turn besides the session."""

    tenant_id: uuid.UUID
    conversation_id: uuid.UUID
    customer: str
    text: str
    language: Language
    ocr_enabled: bool
    media: list[dict[str, Any]] = field(default_factory=list)
    pin: tuple[float, float] | None = None
    # A vision model's reading of a photo (bytes, content type) → text, when the LLM tier is on;
    # Tesseract reads the photo when it is None, fails or reads nothing.
    vision: Callable[[bytes, str], Awaitable[str]] | None = None


@dataclass(frozen=True)
class Hint:
    """What a language model read from the message: it fills only what the rules did not find."""

    items: list[Item] = field(default_factory=list)
    budget: Money | None = None
    urgency: Urgency | None = None
    category: Category | None = None
    place: str | None = None


def _fill(requirements: Requirements, hint: Hint | None, zones: list[Zone]) -> Requirements:
    if hint is None:
        return requirements
    changes: dict[str, Any] = {}
    if not requirements.items and hint.items:
        changes["items"] = hint.items
    if requirements.budget is None and hint.budget is not None and "budget" not in requirements.declined:
        changes["budget"] = hint.budget
    if requirements.urgency is None and hint.urgency is not None:
        changes["urgency"] = hint.urgency
    if requirements.category is None and hint.category is not None:
        changes["category"] = hint.category
    if requirements.location is None and hint.place:
        found = match_zone(hint.place, zones)
        if found is not None:
            zone = found[0]
            changes["location"] = Location(lat=zone.lat, lon=zone.lon, source="zone", zone=zone.name)
    return requirements.model_copy(update=changes) if changes else requirements


@dataclass(frozen=True)
class ConciergeAnswer:
    """The reply and where the request stands."""

    reply: str
    request_id: uuid.UUID
    status: str


def looks_like_request(text: str) -> bool:
    """A message asking the business to get something it may not stock ("necesito balatas para un Jetta")."""
    folded = fold(text)
    return bool(_NEED.search(folded)) and guess_category(text) is not None


def asks_beyond_cars(text: str) -> bool:
    """Whether a request names something besides a car ("balatas para un Jetta": yes; "un Mazda 3": no).

    Car names are cues of an auto-parts request, but alone they are a car the customer wants to buy.
    """
    folded = re.sub(rf"(?<![a-zñ])(?:{CAR_MODELS})(?![a-zñ])", " ", fold(text))
    return guess_category(folded) is not None


async def claims(session: AsyncSession, turn: ConciergeTurn, *, stock_serves: bool = False) -> bool:
    """Whether this message is the concierge's: it continues an open request, or starts one.

    ``stock_serves``: the tenant's own stock answers this message (a dealer, and a car request); then only
    a request for something besides a car starts a vendor search. A request waiting for its yes that got
    a nudge already lets an unrelated message go to the other specialists instead of looping.
    """
    request = await service.open_request_for_conversation(
        session, tenant_id=turn.tenant_id, conversation_id=turn.conversation_id
    )
    if request is not None and request.status != "shortlist_ready":
        flow = service.request_flow(request)
        drifted = flow.get("confirming") and flow.get("nudged") and leading_answer(turn.text) is None
        return not (drifted and not looks_like_request(turn.text))
    if turn.media and any(str(m.get("content_type", "")).startswith("image/") for m in turn.media):
        return True
    if stock_serves and not asks_beyond_cars(turn.text):
        return False
    return looks_like_request(turn.text)


async def hand_off(session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID) -> None:
    """The customer asked for a person: their open request goes with the conversation, where it may."""
    request = await service.open_request_for_conversation(session, tenant_id=tenant_id, conversation_id=conversation_id)
    if request is None:
        return
    # Mid-outreach the move is refused: vendors are being asked and the shortlist still reaches the chat.
    with contextlib.suppress(service.IllegalTransition):
        await service.transition(session, request.id, "handed_off", tenant_id=tenant_id)


async def _zones(session: AsyncSession, tenant_id: uuid.UUID) -> list[Zone]:
    tenant = await session.get(Tenant, tenant_id)
    return list(tenant_service.concierge_settings(tenant).zones) if tenant is not None else []


MAX_MEDIA_REDIRECTS = 3


# Where Twilio serves a message's media (``MediaUrl``): its REST API's host. The account's credentials go there
# and nowhere else.
TWILIO_MEDIA_HOSTS = ("api.twilio.com",)


def twilio_media_url(url: str) -> bool:
    """Whether ``url`` is Twilio's: https on Twilio's API host (any region or edge, ``api.<edge>.<region>.twilio.com``),
    or the origin of TWILIO_API_BASE_URL when one is configured (a Twilio-compatible endpoint, a test's fake)."""
    parsed = httpx.URL(url)
    configured = get_settings().twilio_api_base_url
    if configured:
        base = httpx.URL(configured)
        if (parsed.scheme, parsed.host, parsed.port) == (base.scheme, base.host, base.port):
            return True
    host = parsed.host.lower()
    twilio_host = host in TWILIO_MEDIA_HOSTS or (host.startswith("api.") and host.endswith(".twilio.com"))
    return parsed.scheme == "https" and parsed.port in (None, 443) and twilio_host


async def download_media(url: str) -> bytes:
    """A photo the customer sent (Twilio ``MediaUrl``), with the account's credentials, bounded in size.

    The URL must be Twilio's (``twilio_media_url``): a webhook names it, and the account's credentials are
    sent with it, so any other address is refused before a byte leaves. Twilio answers with a redirect to
    its storage: redirects are followed by hand, at most three, each hop checked like any server-side
    request (public http(s) hosts only: no SSRF into our network), without the credentials.
    """
    if not twilio_media_url(url):
        raise OcrError("failed", "media URL is not Twilio's: not fetched")
    try:
        async with asyncio.timeout(MEDIA_DEADLINE_SECONDS):  # a server trickling bytes holds no turn for long
            return await _download(url)
    except TimeoutError:
        raise OcrError("failed", f"media download took over {MEDIA_DEADLINE_SECONDS:g} s") from None


async def _download(url: str) -> bytes:
    settings = get_settings()
    auth = None
    if settings.twilio_account_sid and settings.twilio_auth_token:
        auth = (settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value())
    async with httpx.AsyncClient(timeout=MEDIA_TIMEOUT_SECONDS, follow_redirects=False) as client:
        for hop in range(MAX_MEDIA_REDIRECTS + 1):
            if hop:
                try:
                    await safe_url.check_target(url)
                except safe_url.UnsafeUrl as exc:
                    raise OcrError("failed", f"media redirect refused: {exc}") from exc
            async with client.stream("GET", url, auth=auth if hop == 0 else None) as response:
                if response.is_redirect:
                    url = str(response.url.join(response.headers.get("location", "")))
                    continue
                response.raise_for_status()
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_MEDIA_BYTES:
                        raise OcrError("too_large", f"media is larger than {MAX_MEDIA_BYTES} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
    raise OcrError("failed", f"media URL redirected more than {MAX_MEDIA_REDIRECTS} times")


async def _read_photos(turn: ConciergeTurn) -> tuple[str, list[str], int]:
    """Text read from the turn's images, the lines read with low confidence, and how many failed."""
    texts: list[str] = []
    unsure: list[str] = []
    failures = 0
    for media in turn.media:
        if not str(media.get("content_type", "")).startswith("image/") or not media.get("url"):
            continue
        try:
            data = await download_media(str(media["url"]))
            if turn.vision is not None:
                try:
                    seen = await turn.vision(data, str(media["content_type"]))
                except Exception as exc:  # noqa: BLE001  (any model failure: Tesseract reads it instead)
                    log.warning("vision model could not read a photo (%s); Tesseract reads it", type(exc).__name__)
                    seen = ""
                if seen:
                    texts.append(seen)
                    continue
            result = await asyncio.to_thread(read_image, data)
        except (OcrError, httpx.HTTPError) as exc:
            log.warning("OCR of a customer photo failed: %s", type(exc).__name__)
            failures += 1
            continue
        if not result.text.strip():
            failures += 1
            continue
        texts.append(result.text)
        unsure.extend(line.text for line in low_confidence_items(result))
    return "\n".join(texts), unsure, failures


async def answer(session: AsyncSession, turn: ConciergeTurn, hint: Hint | None = None) -> ConciergeAnswer:
    """Move the conversation's request on by one customer message and say what happens next."""
    language = turn.language
    request = await service.open_request_for_conversation(
        session, tenant_id=turn.tenant_id, conversation_id=turn.conversation_id
    )
    keyword = customer_keyword(turn.text)
    if keyword is not None and request is not None:
        closed = await service.transition(session, request.id, "closed", tenant_id=turn.tenant_id)
        return ConciergeAnswer(say("concierge.cancelled", language), closed.id, closed.status)
    if request is not None and request.status == "shortlist_ready":
        await service.transition(session, request.id, "closed", tenant_id=turn.tenant_id)  # a new need replaces it
        request = None
    if request is None:
        request = await service.create_request(
            session, tenant_id=turn.tenant_id, conversation_id=turn.conversation_id, customer_number=turn.customer
        )
    if request.status in ("vendor_outreach", "awaiting_vendor_replies"):
        outreach = await service.request_outreach(session, tenant_id=turn.tenant_id, request_id=request.id)
        asked = sum(1 for o in outreach if o.outreach.status in ("sent", "replied"))
        replied = sum(1 for o in outreach if o.outreach.status == "replied")
        return ConciergeAnswer(
            say("concierge.waiting", language, replied=replied, asked=asked), request.id, request.status
        )

    flow = service.request_flow(request)
    previous = service.read_requirements(request)
    zones = await _zones(session, turn.tenant_id)
    notes: list[str] = []
    text = turn.text
    has_photo = any(str(m.get("content_type", "")).startswith("image/") for m in turn.media)
    if has_photo and request.status == "collecting_requirements":
        if turn.ocr_enabled:
            await service.transition(session, request.id, "ocr_processing", tenant_id=turn.tenant_id)
            read, unsure, failures = await _read_photos(turn)
            flow["ocr_attempts"] = int(flow.get("ocr_attempts", 0)) + 1
            flow["ocr_failures"] = int(flow.get("ocr_failures", 0)) + (1 if failures and not read else 0)
            request = await service.transition(session, request.id, "collecting_requirements", tenant_id=turn.tenant_id)
            if read:
                text = f"{text}\n{read}".strip()
                if unsure:
                    notes.append(say("concierge.unsure", language, lines="; ".join(f'"{u}"' for u in unsure[:5])))
            elif not text.strip():
                requirements = previous or Requirements(language=language)
                await service.save_requirements(session, request, requirements, flow)
                return ConciergeAnswer(say("concierge.ocr_failed", language), request.id, request.status)
        elif not text.strip():
            requirements = previous or Requirements(language=language)
            await service.save_requirements(session, request, requirements, flow)
            return ConciergeAnswer(say("concierge.ocr_off", language), request.id, request.status)

    if flow.get("confirming"):
        decision = leading_answer(text)
        if decision == "yes" and previous is not None and is_ready(previous):
            # "sí, confirmo, las delanteras, hasta 1500": a yes, and the details it brings are kept.
            confirmed = with_details(previous, text, zones=zones, language=language, pin=turn.pin)
            flow["confirming"] = False
            flow.pop("nudged", None)
            await service.save_requirements(session, request, confirmed, flow)
            moved = await service.transition(session, request.id, "vendor_outreach", tenant_id=turn.tenant_id)
            await concierge_jobs.queue_outreach(session, tenant_id=turn.tenant_id, request_id=request.id, batch=1)
            return ConciergeAnswer(say("concierge.asking", language), moved.id, moved.status)
        if decision == "no":
            flow["confirming"] = False
            await service.save_requirements(session, request, previous or Requirements(language=language), flow)
            return ConciergeAnswer(say("concierge.change", language), request.id, request.status)

    requirements = extract_requirements(text, zones=zones, language=language, previous=previous, pin=turn.pin)
    requirements = _fill(requirements, hint, zones)
    if flow.get("confirming") and previous is not None and requirements == previous:
        # Nothing changed and no yes or no: the summary is not sent again, the question is.
        flow["nudged"] = True
        await service.save_requirements(session, request, requirements, flow)
        return ConciergeAnswer(say("concierge.confirm_nudge", language), request.id, request.status)
    asked_fields: list[str] = list(flow.get("asked") or [])
    field_ = next_field(requirements)
    # What is needed (items, where) is asked until given; urgency and budget once each, never insisted on.
    if field_ is not None and (field_ in ("items", "location") or field_ not in asked_fields):
        question = next_question(requirements, language, zone_examples=[z.name for z in zones])
        flow["confirming"] = False
        flow["asked"] = list(dict.fromkeys([*asked_fields, field_]))
        await service.save_requirements(session, request, requirements, flow)
        return ConciergeAnswer("\n\n".join([*notes, question or ""]).strip(), request.id, request.status)
    if field_ is not None:  # an optional field asked once already: take it as declined
        declined = [*requirements.declined, *(f for f in missing_fields(requirements) if f in ("urgency", "budget"))]
        requirements = requirements.model_copy(update={"declined": list(dict.fromkeys(declined))})
    flow["confirming"] = True
    await service.save_requirements(session, request, requirements, flow)
    return ConciergeAnswer("\n\n".join([*notes, confirmation_text(requirements, language)]), request.id, request.status)
