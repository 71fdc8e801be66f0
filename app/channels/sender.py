"""Outbound WhatsApp: Twilio's REST API when credentials exist, otherwise a logged simulation."""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from app.channels.twilio_client import TwilioSender, TwilioSendError
from app.core.config import Settings, get_settings
from app.core.metrics import record_send

log = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"


@dataclass(frozen=True)
class SendOutcome:
    """What happened to one outbound part: Twilio's SID and status, or a simulation."""

    sid: str | None
    status: str


class ReplySender:
    """Sends reply parts; one instance per process, bound to the event loop it first sends on."""

    def __init__(self, settings: Settings) -> None:
        self._twilio: TwilioSender | None = None
        if settings.twilio_configured:
            assert settings.twilio_account_sid and settings.twilio_auth_token
            self._twilio = TwilioSender(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token.get_secret_value(),
                api_base_url=settings.twilio_api_base_url,
                status_callback_url=settings.public_base_url.rstrip("/") + STATUS_CALLBACK_PATH,
            )

    @property
    def simulated(self) -> bool:
        """True when no Twilio credentials are configured."""
        return self._twilio is None

    async def send(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        content_sid: str | None = None,
        content_variables: dict[str, str] | None = None,
        media_url: list[str] | None = None,
    ) -> SendOutcome:
        """Send one part (one attempt): free text, or a Content SID (template or rich content) with its
        variables; raises TwilioSendError on failure (see its ``retryable``, ``maybe_sent``)."""
        if self._twilio is None:
            log.info("simulated WhatsApp send to %s (%d chars)", to, len(body))
            record_send(status="simulated")
            return SendOutcome(sid=None, status="simulated")
        try:
            sent = await self._twilio.send(
                to=to,
                from_=from_,
                body=body,
                content_sid=content_sid,
                content_variables=content_variables,
                media_url=media_url,
            )
        except TwilioSendError as error:
            record_send(status=_error_label(error), error_code=error.code)
            raise
        record_send(status=sent.status or "queued")
        return SendOutcome(sid=sent.sid, status=sent.status or "queued")

    async def find_sent(
        self, *, to: str, from_: str, body: str, since: datetime, exclude: Collection[str] = ()
    ) -> SendOutcome | None:
        """The message Twilio already has for this part (sent since ``since``), or None; never sends."""
        if self._twilio is None:
            return None  # a simulation has nothing to find, and nothing can have been sent twice
        found = await self._twilio.find_sent(to=to, from_=from_, body=body, since=since, exclude=exclude)
        return None if found is None else SendOutcome(sid=found.sid, status=found.status)

    async def create_content(
        self, *, friendly_name: str, language: str, variables: dict[str, str], types: dict[str, Any]
    ) -> str | None:
        """A new Content SID for ``types`` (Twilio's Content API); None when simulated (no content to make)."""
        if self._twilio is None:
            return None
        return await self._twilio.create_content(
            friendly_name=friendly_name, language=language, variables=variables, types=types
        )

    async def submit_for_approval(self, *, content_sid: str, name: str, category: str) -> str | None:
        """Submit a content to WhatsApp for approval as a template; its status (None when simulated)."""
        if self._twilio is None:
            return None
        return await self._twilio.submit_for_approval(content_sid=content_sid, name=name, category=category)

    async def list_contents(self) -> list[dict[str, Any]]:
        """The account's contents with their WhatsApp approval (empty when simulated)."""
        if self._twilio is None:
            return []
        return await self._twilio.list_contents()

    async def call(self, *, to: str, from_: str, say: str, language: str = "es") -> str | None:
        """Ring ``to`` (a WhatsApp address or phone number) and read ``say`` aloud; the call SID (None simulated)."""
        voice_language = "en-US" if language == "en" else "es-MX"
        twiml = f'<Response><Say language="{voice_language}">{escape(say)}</Say></Response>'
        if self._twilio is None:
            log.info("simulated call to %s", to)
            return None
        return await self._twilio.call(
            to=to.removeprefix("whatsapp:"), from_=from_.removeprefix("whatsapp:"), twiml=twiml
        )

    async def aclose(self) -> None:
        """Close the HTTP session."""
        if self._twilio is not None:
            await self._twilio.aclose()


def _error_label(error: TwilioSendError) -> str:
    """The send counter's result for a failed attempt: rate_limited, retrying (transient) or failed."""
    if error.status == 429:
        return "rate_limited"
    return "retrying" if error.retryable else "failed"


_sender: ReplySender | None = None


def get_sender() -> ReplySender:
    """The process's reply sender (created on first use, inside the running loop)."""
    global _sender
    if _sender is None:
        _sender = ReplySender(get_settings())
    return _sender


async def close_sender() -> None:
    """Close the process's sender's HTTP session at shutdown."""
    global _sender
    if _sender is not None:
        await _sender.aclose()
        _sender = None
