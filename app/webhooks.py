"""Twilio webhooks: inbound WhatsApp messages and delivery status callbacks."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.exc import DBAPIError
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from app.conversations import service as conversation_service
from app.core import context
from app.core.config import Settings, get_settings
from app.core.db import database_unreachable, session_scope
from app.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
    database_error_response,
    domain_error_response,
    internal_error_response,
    refuse_nul,
)
from app.core.metrics import STATUS_CALLBACKS, WEBHOOK_ACKS
from app.core.spool import SpoolFull, get_spool
from app.flows import conversation as flows
from app.tenants import service as tenant_service
from app.text import phones

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])
WHATSAPP_PATH = "/webhooks/twilio/whatsapp"
EMPTY_TWIML = str(MessagingResponse())
# Twilio's message statuses; anything else is counted as "other" (a label must not take free text).
_DELIVERY_STATUSES = frozenset(
    {"accepted", "scheduled", "queued", "sending", "sent", "delivered", "read", "undelivered", "failed", "canceled"}
)


async def verified_form(request: Request) -> dict[str, str]:
    """The webhook's form fields, after checking X-Twilio-Signature against PUBLIC_BASE_URL + path."""
    return await _verified_fields(request.headers, request.url.path, request.url.query, request.stream())


async def _verified_fields(
    headers: Mapping[str, str], path: str, query: str, chunks: AsyncIterator[bytes]
) -> dict[str, str]:
    """The form fields of a request (lower-case ``headers``, its ``path`` and ``query``, its body's ``chunks``),
    after checking X-Twilio-Signature against PUBLIC_BASE_URL + path.

    Cheapest refusals first, so a flood of forged requests costs next to nothing: no signature header
    (403) before the body is read; a body over TWILIO_WEBHOOK_MAX_BYTES (413) from its Content-Length
    or while it streams; more than TWILIO_WEBHOOK_MAX_FIELDS fields (422) before they are parsed. The
    signature is then computed on the event loop over at most that much (well under a millisecond).
    """
    settings = get_settings()
    token = _verification_token(headers, path, settings)
    body = await _capped_body(headers, path, chunks, settings.twilio_webhook_max_bytes)
    params = _parse_fields(headers, path, body, settings.twilio_webhook_max_fields)
    if token is not None:
        # Twilio signs the URL it called; behind a proxy that is the public URL, not the request's.
        url = settings.public_base_url.rstrip("/") + path
        if query:
            url += "?" + query
        # Signatures are computed over the raw values; NULs are dropped only after verification.
        if not _signed(RequestValidator(token), url, params, headers["x-twilio-signature"]):
            _refuse(path, "a bad signature")
            raise Forbidden("Invalid Twilio signature")
    return {k: v.replace("\x00", "") for k, v in params.items()}


def _signed(validator: RequestValidator, url: str, params: dict[str, str], signature: str) -> bool:
    """Whether ``signature`` is Twilio's for ``url`` and ``params``: one HMAC for the URL as configured (what
    Twilio signs), and the validator's variants (with and without the default port) only when it differs."""
    expected = validator.compute_signature(url, params)
    return hmac.compare_digest(expected.encode(), signature.encode()) or validator.validate(url, params, signature)


def _verification_token(headers: Mapping[str, str], path: str, settings: Settings) -> str | None:
    """The auth token to verify with (None when verification is off); 403 before any body is read."""
    if not settings.twilio_validate_signature:
        return None
    if not settings.twilio_auth_token:
        # No token: nothing to verify with. Refused rather than trusted, so a forgotten
        # setting can never open the webhook to anyone.
        WEBHOOK_ACKS.labels("refused").inc()
        raise Forbidden("TWILIO_AUTH_TOKEN is not configured; cannot verify Twilio signatures")
    if not headers.get("x-twilio-signature"):
        _refuse(path, "no signature")
        raise _unread(Forbidden("Missing X-Twilio-Signature"))
    return settings.twilio_auth_token.get_secret_value()


def _whole_number(text: str, *, digits: int) -> int | None:
    """``text`` as a non-negative integer of at most ``digits`` ASCII digits, else None (``str.isdigit`` also
    accepts "²" and other digits ``int`` refuses)."""
    if 0 < len(text) <= digits and text.isascii() and text.isdigit():
        return int(text)
    return None


async def _capped_body(headers: Mapping[str, str], path: str, chunks: AsyncIterator[bytes], max_bytes: int) -> bytes:
    """The raw body, refused with 413 as soon as it is declared or seen to exceed ``max_bytes``."""
    declared = _whole_number(headers.get("content-length", ""), digits=18)
    if declared is not None and declared > max_bytes:
        _refuse(path, "an oversized body")
        raise _unread(_too_large(max_bytes))
    parts: list[bytes] = []
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > max_bytes:
            _refuse(path, "an oversized body")
            raise _unread(_too_large(max_bytes))
        parts.append(chunk)
    return b"".join(parts)


def _parse_fields(headers: Mapping[str, str], path: str, body: bytes, max_fields: int) -> dict[str, str]:
    """The urlencoded fields (Twilio posts nothing else): 415 for another type, 422 past ``max_fields``."""
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        _refuse(path, "an unsupported content type")
        raise UnsupportedMediaType("Twilio webhooks are application/x-www-form-urlencoded")
    try:
        # max_num_fields counts the separators before parsing anything.
        pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        _refuse(path, "too many fields")
        raise InvalidInput("Too many form fields", details={"max_fields": max_fields}) from None
    return dict(pairs)


def _refuse(path: str, why: str) -> None:
    log.warning("rejected Twilio webhook with %s for %s", why, path)
    WEBHOOK_ACKS.labels("refused").inc()


def _unread(error: DomainError) -> DomainError:
    """``error``, answered with Connection: close: the unread rest of the body is never received."""
    error.headers = {"Connection": "close"}
    return error


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body exceeds {max_bytes} bytes", details={"max_bytes": max_bytes})


FormDep = Annotated[dict[str, str], Depends(verified_form)]


# The columns these fields land in (a Twilio MessageSid is 34 characters): a longer value is not
# Twilio's, so it is refused with 400 (Twilio does not retry a 4xx) rather than failing the insert.
_FIELD_MAX_CHARS = {"MessageSid": 64, "From": 128, "To": 64}


def _check_fields(form: dict[str, str]) -> None:
    """400 naming the first field longer than its column, or a sender that is not written as a WhatsApp address."""
    for field, limit in _FIELD_MAX_CHARS.items():
        if len(form.get(field, "")) > limit:
            WEBHOOK_ACKS.labels("refused").inc()
            raise DomainError(
                f"Twilio field '{field}' is longer than {limit} characters",
                details={"field": field, "max_length": limit},
            )
    # The address every reply goes to: Twilio's WhatsApp sender is "whatsapp:" and an E.164 number. Anything
    # else ("whatsapp:" alone, spaces, invisible characters) would make a conversation nobody can answer.
    if not phones.has_whatsapp_shape(form["From"]):
        WEBHOOK_ACKS.labels("refused").inc()
        raise DomainError(
            "Twilio field 'From' is not a WhatsApp address (whatsapp:+<E.164 number>)", details={"field": "From"}
        )


def _twiml() -> Response:
    return Response(content=EMPTY_TWIML, media_type="application/xml")


@router.post("/whatsapp", response_class=Response, responses={200: {"content": {"application/xml": {}}}})
async def inbound_whatsapp(form: FormDep) -> Response:
    """Store the message (once per MessageSid), queue its conversation, answer empty TwiML at once."""
    await accept_whatsapp(form)
    return _twiml()


async def accept_whatsapp(form: dict[str, str]) -> None:
    """Store a verified webhook's message (once per MessageSid) and queue its conversation (or spool it)."""
    missing = [f for f in ("MessageSid", "From", "To") if not form.get(f)]
    if missing:
        WEBHOOK_ACKS.labels("refused").inc()
        raise InvalidInput("Missing Twilio fields", details={"missing": missing})
    _check_fields(form)
    try:
        num_media = max(0, min(int(form.get("NumMedia", "0") or 0), 10))
    except ValueError:
        num_media = 0
    media = [
        {"url": form[f"MediaUrl{i}"], "content_type": form.get(f"MediaContentType{i}")}
        for i in range(num_media)
        if form.get(f"MediaUrl{i}")
    ]
    payload = {
        k: form[k]
        for k in (
            "ButtonPayload",
            "ButtonText",
            "WaId",
            "Latitude",
            "Longitude",
            "Address",
            "Label",
            "OriginalRepliedMessageSid",
            # A list-picker row tapped, and Twilio's Advanced Opt-Out (STOP/START it intercepted).
            "ListId",
            "ListTitle",
            "OptOutType",
        )
        if form.get(k)
    }
    received = await receive_or_spool(
        flows.InboundWhatsApp(
            message_sid=form["MessageSid"],
            from_=form["From"],
            to=form["To"],
            body=form.get("Body", "") or form.get("ButtonText", "") or form.get("ListTitle", ""),
            profile_name=form.get("ProfileName") or None,
            media=media,
            payload=payload,
        )
    )
    if received is None:
        WEBHOOK_ACKS.labels("spooled").inc()
        return
    WEBHOOK_ACKS.labels(received.status).inc()
    context.bind(tenant_id=received.tenant_id, conversation_id=received.conversation_id)
    if received.status == "unknown_number":
        log.warning("inbound WhatsApp message to a number no tenant owns: %s", form["To"])


async def receive_or_spool(inbound: flows.InboundWhatsApp) -> flows.Received | None:
    """Store the message; when the database is unreachable, spool it durably instead (None).

    Unavailable (503, which Twilio retries) only when even the spool cannot keep it. While spooled messages
    wait, newer ones join them, so a conversation's messages are ingested in the order they arrived.
    """
    spool = get_spool()
    if not spool.backlog:
        try:
            async with asyncio.timeout(get_settings().webhook_db_timeout_seconds):
                return await flows.receive_whatsapp(inbound)
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            log.warning("database unreachable (%s): spooling the inbound message", type(exc).__name__)
    try:
        await spool.append(dataclasses.asdict(inbound))
    except (OSError, SpoolFull) as exc:
        log.error("inbound spool failed (%s): refusing the webhook with 503", type(exc).__name__)
        raise Unavailable("Cannot store the message now; retry later") from None
    return None


@router.post("/status", response_class=Response)
async def delivery_status(form: FormDep) -> Response:
    """Move an outbound message's status forward (queued → sent → delivered → read; failures keep the code)."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or not status:
        raise InvalidInput("Missing MessageSid or MessageStatus")
    STATUS_CALLBACKS.labels(status if status in _DELIVERY_STATUSES else "other").inc()
    # Twilio's error codes are five digits; anything else is not one (the status itself still counts).
    error_code = _whole_number(form.get("ErrorCode", ""), digits=9)
    async with session_scope() as session:
        tenant_id = await tenant_service.tenant_id_for_number(session, address=form.get("From", ""))
        if tenant_id is not None:
            context.bind(tenant_id=tenant_id)
            await conversation_service.update_delivery_status(
                session, tenant_id=tenant_id, provider_sid=sid, status=status, error_code=error_code
            )
    return Response(status_code=204)


class WhatsAppFastPath:
    """ASGI app: the inbound WhatsApp webhook answered ahead of FastAPI's own layers (``handles`` says which
    requests; ``app.main.AgentAPI`` dispatches them here).

    Every inbound message is this one POST, and an opening burst of them must be acknowledged within
    milliseconds: FastAPI's layers (routing, dependency solving, its telemetry and body-limit wrappers,
    Starlette's response objects, the request's full URL) cost more CPU than the webhook's own work. The
    same checks run as through the route (``refuse_nul``, ``_verified_fields``, ``accept_whatsapp``) with the
    same answers: the error envelope of ``domain_error_response``, a database's refusal as 422, anything
    unexpected as the catch-all's 500. Wrapped in the request-id and metrics middlewares by the application,
    with the route put in the scope for the metrics' label. The route stays for the OpenAPI document and for
    requests this path leaves to FastAPI (another method, a root path).
    """

    def __init__(self) -> None:
        self.route: BaseRoute = next(r for r in router.routes if getattr(r, "path", None) == WHATSAPP_PATH)

    @staticmethod
    def handles(scope: Scope) -> bool:
        """Whether this path answers the request (the inbound webhook's POST, served without a root path)."""
        return (
            scope["type"] == "http"
            and scope["path"] == WHATSAPP_PATH
            and scope["method"] == "POST"
            and not scope.get("root_path")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route
        request = Request(scope, receive)
        response: Response
        try:
            if scope["query_string"]:
                await refuse_nul(request)  # Twilio posts no query string: the application-wide check when there is one
            # The path and query from the scope: building ``request.url`` costs ~9 µs, a seventh of the whole answer.
            form = await _verified_fields(
                request.headers, scope["path"], scope["query_string"].decode("latin-1"), request.stream()
            )
            await accept_whatsapp(form)
        except ClientDisconnect:
            return  # nobody to answer
        except DomainError as exc:
            response = domain_error_response(exc)
        except DBAPIError as exc:
            response = database_error_response(scope["path"], exc) or internal_error_response()
        except Exception:  # noqa: BLE001  (the catch-all's answer, as through FastAPI)
            response = internal_error_response()
        else:
            # Fresh messages each time: a layer may change a message's headers in place (Starlette's do).
            await send({"type": "http.response.start", "status": 200, "headers": list(_TWIML_HEADERS)})
            await send({"type": "http.response.body", "body": _TWIML_BYTES})
            return
        await response(scope, receive, send)


# The answer to every accepted webhook: empty TwiML (Twilio sends nothing more).
_TWIML_BYTES = EMPTY_TWIML.encode()
_TWIML_HEADERS = ((b"content-length", str(len(_TWIML_BYTES)).encode()), (b"content-type", b"application/xml"))
