"""Twilio webhooks: inbound WhatsApp messages and delivery status callbacks."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from app.conversations import service as conversation_service
from app.core.config import get_settings
from app.core.db import session_scope
from app.core.errors import Forbidden, InvalidInput
from app.flows import conversation as flows
from app.tenants import service as tenant_service

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])
EMPTY_TWIML = str(MessagingResponse())


async def verified_form(request: Request) -> dict[str, str]:
    """The webhook's form fields, after checking X-Twilio-Signature against PUBLIC_BASE_URL + path."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # Twilio always posts urlencoded fields; parsing them directly is several times cheaper
        # than the general multipart form machinery on this hot path.
        params = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
    else:
        form = await request.form()
        params = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    # Signatures are computed over the raw values; NULs are dropped only after verification.
    settings = get_settings()
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else None
    if not settings.twilio_validate_signature:
        return {k: v.replace("\x00", "") for k, v in params.items()}
    if not token:
        # No token: nothing to verify with. Refused rather than trusted, so a forgotten
        # setting can never open the webhook to anyone.
        raise Forbidden("TWILIO_AUTH_TOKEN is not configured; cannot verify Twilio signatures")
    # Twilio signs the URL it called; behind a proxy that is the public URL, not request.url.
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not RequestValidator(token).validate(url, params, signature):
        log.warning("rejected Twilio webhook with a bad signature for %s", request.url.path)
        raise Forbidden("Invalid Twilio signature")
    return {k: v.replace("\x00", "") for k, v in params.items()}


FormDep = Annotated[dict[str, str], Depends(verified_form)]


def _twiml() -> Response:
    return Response(content=EMPTY_TWIML, media_type="application/xml")


@router.post("/whatsapp", response_class=Response, responses={200: {"content": {"application/xml": {}}}})
async def inbound_whatsapp(form: FormDep) -> Response:
    """Store the message (once per MessageSid), queue its conversation, answer empty TwiML at once."""
    missing = [f for f in ("MessageSid", "From", "To") if not form.get(f)]
    if missing:
        raise InvalidInput("Missing Twilio fields", details={"missing": missing})
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
        )
        if form.get(k)
    }
    received = await flows.receive_whatsapp(
        flows.InboundWhatsApp(
            message_sid=form["MessageSid"],
            from_=form["From"],
            to=form["To"],
            body=form.get("Body", "") or form.get("ButtonText", ""),
            profile_name=form.get("ProfileName") or None,
            media=media,
            payload=payload,
        )
    )
    if received.status == "unknown_number":
        log.warning("inbound WhatsApp message to a number no tenant owns: %s", form["To"])
    return _twiml()


@router.post("/status", response_class=Response)
async def delivery_status(form: FormDep) -> Response:
    """Move an outbound message's status forward (queued → sent → delivered → read; failures keep the code)."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or not status:
        raise InvalidInput("Missing MessageSid or MessageStatus")
    error_code = int(form["ErrorCode"]) if form.get("ErrorCode", "").isdigit() else None
    async with session_scope() as session:
        tenant_id = await tenant_service.tenant_id_for_number(session, address=form.get("From", ""))
        if tenant_id is not None:
            await conversation_service.update_delivery_status(
                session, tenant_id=tenant_id, provider_sid=sid, status=status, error_code=error_code
            )
    return Response(status_code=204)
