"""Send outgoing WhatsApp messages through Twilio's REST Messages API.

Uses Twilio's own library with its aiohttp-based ``AsyncTwilioHttpClient``.
Twilio message creation is *not* idempotent: a request that timed out or got a
5xx may still have produced a message, so only HTTP 429 is flagged retryable.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import aiohttp
from twilio.base import values
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from app.channels.splitting import TWILIO_MAX_BODY_CHARS

__all__ = ["SentMessage", "TwilioSendError", "TwilioSender"]

logger = logging.getLogger(__name__)

_RETRYABLE_STATUSES = frozenset({429})
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class SentMessage:
    """A message Twilio accepted: its SID and initial status (usually "queued")."""

    sid: str
    status: str


class TwilioSendError(Exception):
    """Sending failed; ``retryable`` is True only when Twilio rate-limited us (HTTP 429)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = (status in _RETRYABLE_STATUSES) if retryable is None else retryable

    def __repr__(self) -> str:
        return (
            f"TwilioSendError({self.args[0]!r}, status={self.status!r}, "
            f"code={self.code!r}, retryable={self.retryable!r})"
        )


def _as_int(value: object) -> int | None:
    """Coerce a Twilio error code/status to int, or None when absent or malformed."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _to_send_error(exc: Exception) -> TwilioSendError:
    """Map a Twilio library HTTP error to TwilioSendError (status, Twilio code, retryable)."""
    status = _as_int(getattr(exc, "status", None))
    code = _as_int(getattr(exc, "code", None))
    if code is not None and code == status and code < 1000:
        # twilio-python substitutes the HTTP status when the body carries no code
        # (e.g. an HTML 502 from a proxy); that is not a Twilio error code.
        code = None
    if isinstance(exc, TwilioRestException):
        detail = exc.msg
    else:
        detail = getattr(exc, "detail", None) or getattr(exc, "title", None)
    return TwilioSendError(
        f"Twilio rejected message (HTTP {status}, code {code}): {detail}",
        status=status,
        code=code,
    )


class TwilioSender:
    """Sends messages via Twilio's Messages API using one lazily created async HTTP client."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        api_base_url: str | None = None,
        status_callback_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if not account_sid or not auth_token:
            # Twilio's Client silently falls back to TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN
            # env vars for empty credentials; refuse instead of sending as someone else.
            raise ValueError("account_sid and auth_token are required")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0, got {timeout}")
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._api_base_url = api_base_url.rstrip("/") if api_base_url else None
        self._status_callback_url = status_callback_url
        self._timeout = timeout
        self._client: Any = None
        self._http_client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return (
            f"TwilioSender(account_sid={self._account_sid!r}, "
            f"api_base_url={self._api_base_url!r}, auth_token=<redacted>)"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _get_client(self) -> Any:
        """Return the Twilio client, creating it (and its aiohttp session) in the running loop."""
        loop = asyncio.get_running_loop()
        if self._client is not None:
            if loop is not self._loop:
                raise RuntimeError("TwilioSender is bound to another event loop; call aclose() in that loop first")
            return self._client
        # AsyncTwilioHttpClient opens its aiohttp ClientSession in __init__, so it
        # must be built inside the loop that will use it.
        http_client = AsyncTwilioHttpClient()
        client = Client(self._account_sid, self._auth_token, http_client=http_client)
        if self._api_base_url is not None:
            client.api.base_url = self._api_base_url
            # Client reads TWILIO_EDGE/TWILIO_REGION from os.environ and rewrites the
            # host (TWILIO_REGION=ie1 turns "127.0.0.1:8080" into "127.ie1.0.1:8080").
            client.edge = None
            client.region = None
        self._http_client = http_client
        self._client = client
        self._loop = loop
        return client

    async def send(self, *, to: str, from_: str, body: str) -> SentMessage:
        """Create one outgoing message; raise TwilioSendError if Twilio rejects it or it fails."""
        if not body or body.isspace():
            raise ValueError("body must not be empty")
        if len(body) > TWILIO_MAX_BODY_CHARS:
            raise ValueError(
                f"body has {len(body)} characters; Twilio accepts at most "
                f"{TWILIO_MAX_BODY_CHARS} (use app.channels.splitting.split_message)"
            )
        client = self._get_client()
        status_callback: object = self._status_callback_url if self._status_callback_url else values.unset
        try:
            # The async Twilio client passes timeout=None to aiohttp, which disables
            # every aiohttp timeout, so we bound the call ourselves.
            async with asyncio.timeout(self._timeout):
                message = await client.messages.create_async(
                    to=to, from_=from_, body=body, status_callback=status_callback
                )
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _to_send_error(exc) from exc
        except TimeoutError as exc:
            raise TwilioSendError(
                f"Twilio request timed out after {self._timeout}s; the message may have been sent",
                retryable=False,
            ) from exc
        except (aiohttp.ClientError, TwilioException, json.JSONDecodeError) as exc:
            raise TwilioSendError(f"Twilio request failed: {type(exc).__name__}: {exc}", retryable=False) from exc

        sid = message.sid
        status_value = message.status
        if not isinstance(sid, str) or not sid:
            raise TwilioSendError("Twilio response carried no message SID", retryable=False)
        sent = SentMessage(sid=sid, status=str(status_value or "unknown"))
        logger.info("twilio message created sid=%s status=%s", sent.sid, sent.status)
        return sent

    async def call(self, *, to: str, from_: str, twiml: str) -> str:
        """Place a voice call through Twilio's Calls API that plays ``twiml``; the call's SID."""
        client = self._get_client()
        try:
            async with asyncio.timeout(self._timeout):
                call = await client.calls.create_async(to=to, from_=from_, twiml=twiml)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _to_send_error(exc) from exc
        except TimeoutError as exc:
            raise TwilioSendError(f"Twilio call request timed out after {self._timeout}s", retryable=False) from exc
        except (aiohttp.ClientError, TwilioException, json.JSONDecodeError) as exc:
            raise TwilioSendError(f"Twilio call failed: {type(exc).__name__}: {exc}", retryable=False) from exc
        if not isinstance(call.sid, str) or not call.sid:
            raise TwilioSendError("Twilio response carried no call SID", retryable=False)
        logger.info("twilio call created sid=%s", call.sid)
        return call.sid

    async def aclose(self) -> None:
        """Close the underlying aiohttp session; safe to call repeatedly (a later send reopens)."""
        http_client = self._http_client
        self._client = None
        self._http_client = None
        self._loop = None
        if http_client is not None:
            await http_client.close()
