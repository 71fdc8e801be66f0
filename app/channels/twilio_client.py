"""Send outgoing WhatsApp messages through Twilio's REST Messages API.

Uses Twilio's own library with its aiohttp-based ``AsyncTwilioHttpClient``.
Twilio message creation is *not* idempotent. Every error says whether it is worth another try
(``retryable``: 429, 5xx, timeouts, network errors) and whether Twilio may have created the message
anyway (``maybe_sent``: anything but a 429 or a refused connection). After such an error the caller
looks for the message with ``find_sent`` (Twilio's message list) before sending it again.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
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
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from app.channels.splitting import TWILIO_MAX_BODY_CHARS

__all__ = ["SentMessage", "TwilioSendError", "TwilioSender"]

logger = logging.getLogger(__name__)

_RATE_LIMITED = 429
DEFAULT_TIMEOUT_SECONDS = 30.0
# Twilio filters the list by DateSent; our clock and Twilio's may disagree by a little.
_CLOCK_SKEW = timedelta(minutes=2)
# Enough for every part of a few replies to one customer within the window we look at.
_LIST_LIMIT = 100


class _Types:
    """The ``types`` of a content as the Content API takes them ("twilio/text": {...}), only those given."""

    def __init__(self, types: dict[str, Any]) -> None:
        self._types = types

    def to_dict(self) -> dict[str, Any]:
        return dict(self._types)


class _AsyncHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # the library is untyped
    """Twilio's aiohttp client, able to post JSON bodies (the Content API's): the library's async client
    hands every body to aiohttp as form fields, which cannot carry the nested ``types``."""

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109  (the library's signature)
        allow_redirects: bool = False,
    ) -> Any:
        if headers and headers.get("Content-Type") == "application/json" and data is not None:
            data = json.dumps(data, ensure_ascii=False)  # type: ignore[assignment]  # aiohttp sends a str as is
        return await super().request(method, url, params, data, headers, auth, timeout, allow_redirects)


def _transient(status: int | None) -> bool:
    """Worth another try: rate limited, a Twilio server error, or no HTTP answer at all."""
    return status is None or status == _RATE_LIMITED or status >= 500


@dataclass(frozen=True)
class SentMessage:
    """A message Twilio accepted: its SID and initial status (usually "queued")."""

    sid: str
    status: str


class TwilioSendError(Exception):
    """Sending failed: ``retryable`` when transient (429, 5xx, timeout, network), ``maybe_sent`` when
    Twilio may have created the message anyway (look it up before sending again)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retryable: bool | None = None,
        maybe_sent: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = _transient(status) if retryable is None else retryable
        # A 429 is refused before anything is created; a 5xx or a lost answer may hide a created message.
        self.maybe_sent = (self.retryable and status != _RATE_LIMITED) if maybe_sent is None else maybe_sent

    def __repr__(self) -> str:
        return (
            f"TwilioSendError({self.args[0]!r}, status={self.status!r}, "
            f"code={self.code!r}, retryable={self.retryable!r}, maybe_sent={self.maybe_sent!r})"
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
        http_client = _AsyncHttpClient()
        client = Client(self._account_sid, self._auth_token, http_client=http_client)
        if self._api_base_url is not None:
            client.api.base_url = self._api_base_url
            # Client reads TWILIO_EDGE/TWILIO_REGION from os.environ and rewrites the
            # host (TWILIO_REGION=ie1 turns "127.0.0.1:8080" into "127.ie1.0.1:8080").
            client.content.base_url = self._api_base_url
            client.edge = None
            client.region = None
        self._http_client = http_client
        self._client = client
        self._loop = loop
        return client

    async def send(
        self,
        *,
        to: str,
        from_: str,
        body: str = "",
        content_sid: str | None = None,
        content_variables: dict[str, str] | None = None,
        media_url: list[str] | None = None,
    ) -> SentMessage:
        """Create one outgoing message (free text, or a Content SID with its variables, or media); raise
        TwilioSendError if Twilio rejects it or it fails."""
        if content_sid is None and not media_url and (not body or body.isspace()):
            raise ValueError("body must not be empty")
        if len(body) > TWILIO_MAX_BODY_CHARS:
            raise ValueError(
                f"body has {len(body)} characters; Twilio accepts at most "
                f"{TWILIO_MAX_BODY_CHARS} (use app.channels.splitting.split_message)"
            )
        client = self._get_client()
        status_callback: object = self._status_callback_url if self._status_callback_url else values.unset
        fields: dict[str, object] = {"status_callback": status_callback}
        if content_sid is not None:
            # A Content SID carries its own text: Twilio refuses a Body beside it.
            fields["content_sid"] = content_sid
            if content_variables:
                fields["content_variables"] = json.dumps(content_variables, ensure_ascii=False)
        else:
            fields["body"] = body if body else values.unset
            if media_url:
                fields["media_url"] = media_url
        try:
            # The async Twilio client passes timeout=None to aiohttp, which disables
            # every aiohttp timeout, so we bound the call ourselves.
            async with asyncio.timeout(self._timeout):
                message = await client.messages.create_async(to=to, from_=from_, **fields)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _to_send_error(exc) from exc
        except TimeoutError as exc:
            raise TwilioSendError(
                f"Twilio request timed out after {self._timeout}s; the message may have been sent"
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            # Never connected: nothing can have reached Twilio.
            raise TwilioSendError(f"Twilio unreachable: {exc}", maybe_sent=False) from exc
        except (aiohttp.ClientError, TwilioException, json.JSONDecodeError) as exc:
            raise TwilioSendError(f"Twilio request failed: {type(exc).__name__}: {exc}") from exc

        sid = message.sid
        status_value = message.status
        if not isinstance(sid, str) or not sid:
            raise TwilioSendError("Twilio response carried no message SID")
        sent = SentMessage(sid=sid, status=str(status_value or "unknown"))
        logger.info("twilio message created sid=%s status=%s", sent.sid, sent.status)
        return sent

    async def find_sent(
        self, *, to: str, from_: str, body: str, since: datetime, exclude: Collection[str] = ()
    ) -> SentMessage | None:
        """The oldest message Twilio has from ``from_`` to ``to`` with this body since ``since``, or None.

        Reads Twilio's Messages list (filtered by To, From and DateSent); SIDs in ``exclude`` (already
        stored for other parts) are skipped, so a repeated identical reply is not adopted twice."""
        client = self._get_client()
        listed = await self._call(
            client.messages.list_async(to=to, from_=from_, date_sent_after=since - _CLOCK_SKEW, limit=_LIST_LIMIT),
            what="Twilio message list",
            maybe_sent=False,  # a read: transient failures are worth another try, nothing was sent
        )
        # Twilio lists newest first; the oldest match is the one our first attempt created.
        for message in reversed(listed):
            if message.body == body and isinstance(message.sid, str) and message.sid not in exclude:
                logger.info("twilio message found sid=%s status=%s", message.sid, message.status)
                return SentMessage(sid=message.sid, status=str(message.status or "queued"))
        return None

    async def call(self, *, to: str, from_: str, twiml: str) -> str:
        """Place a voice call through Twilio's Calls API that plays ``twiml``; the call's SID."""
        client = self._get_client()
        call = await self._call(
            client.calls.create_async(to=to, from_=from_, twiml=twiml), what="Twilio call request", retryable=False
        )
        if not isinstance(call.sid, str) or not call.sid:
            raise TwilioSendError("Twilio response carried no call SID", retryable=False)
        logger.info("twilio call created sid=%s", call.sid)
        return call.sid

    async def create_content(
        self, *, friendly_name: str, language: str, variables: dict[str, str], types: dict[str, Any]
    ) -> str:
        """Create a Content API resource (``types`` keyed "twilio/text", "twilio/list-picker", ...); its SID."""
        client = self._get_client()
        request = ContentList.ContentCreateRequest(
            {"friendly_name": friendly_name, "language": language, "variables": variables, "types": {}}
        )
        request.types = _Types(types)
        content = await self._content_call(client.content.v1.contents.create_async(content_create_request=request))
        if not isinstance(content.sid, str) or not content.sid:
            raise TwilioSendError("Twilio response carried no Content SID", retryable=False)
        logger.info("twilio content created sid=%s", content.sid)
        return content.sid

    async def submit_for_approval(self, *, content_sid: str, name: str, category: str) -> str:
        """Ask WhatsApp to approve a content as a template; the approval's status (usually "received")."""
        client = self._get_client()
        request = ApprovalCreateList.ContentApprovalRequest({"name": name, "category": category})
        created = await self._content_call(
            client.content.v1.contents(content_sid).approval_create.create_async(content_approval_request=request)
        )
        return str(created.status or "received")

    async def list_contents(self) -> list[dict[str, Any]]:
        """The account's contents with their WhatsApp approval (ContentAndApprovals), as plain dicts."""
        client = self._get_client()
        listed = await self._content_call(client.content.v1.content_and_approvals.list_async(limit=1000))
        return [
            {
                "sid": item.sid,
                "friendly_name": item.friendly_name or "",
                "language": item.language or "",
                "variables": dict(item.variables or {}),
                "types": dict(item.types or {}),
                "approval_requests": dict(item.approval_requests or {}),
            }
            for item in listed
        ]

    async def _content_call(self, call: Awaitable[Any]) -> Any:
        """Await a Content API call within the timeout, as TwilioSendError on failure (never retried here)."""
        return await self._call(call, what="Twilio Content API", retryable=False)

    async def _call(
        self, call: Awaitable[Any], *, what: str, retryable: bool | None = None, maybe_sent: bool | None = None
    ) -> Any:
        """Await a Twilio request (other than a message send) within the timeout; TwilioSendError on failure,
        with ``retryable``/``maybe_sent`` for a timeout or network error (Twilio's own errors say it themselves)."""
        try:
            async with asyncio.timeout(self._timeout):
                return await call
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _to_send_error(exc) from exc
        except TimeoutError as exc:
            raise TwilioSendError(
                f"{what} timed out after {self._timeout}s", retryable=retryable, maybe_sent=maybe_sent
            ) from exc
        except (aiohttp.ClientError, TwilioException, json.JSONDecodeError) as exc:
            raise TwilioSendError(
                f"{what} failed: {type(exc).__name__}: {exc}", retryable=retryable, maybe_sent=maybe_sent
            ) from exc

    async def aclose(self) -> None:
        """Close the underlying aiohttp session; safe to call repeatedly (a later send reopens)."""
        http_client = self._http_client
        self._client = None
        self._http_client = None
        self._loop = None
        if http_client is not None:
            await http_client.close()
