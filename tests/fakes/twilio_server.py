"""In-process fake of Twilio's Messages REST API for tests (never touches the network).

It creates messages (``POST Messages.json``), lists them filtered by To, From and DateSent as Twilio
does (``GET Messages.json``, newest first), and injects faults: Twilio-style errors for the next N sends
(``fail_next``) or every send until ``recover()`` (``fail_all``), slow answers (``delay``), a black hole
(``hold``), and a message accepted whose answer never reaches the client (``accept_then_drop``), as
when Twilio created it and the sender crashed or lost the connection. ``forget`` drops a recorded
message, as if it had never reached Twilio.

The server always runs on 127.0.0.1 (ephemeral port by default) in a dedicated
background thread with its own event loop, so the same object works from sync
tests, from async tests (the test's loop is never blocked by the server), and as
the Twilio endpoint for an application server running in another process.

    with FakeTwilioServer() as fake:                 # or: async with FakeTwilioServer() as fake
        sender = TwilioSender(account_sid=fake.account_sid, auth_token=fake.auth_token,
                              api_base_url=fake.base_url)
        ...
        [msg] = fake.wait_for_sync(1, timeout=5)

WhatsApp's rules, so tests prove them rather than just the calls:

* the 24-hour window, for recipients the test told it about (``customer_wrote(address, at=...)``,
  ``never_wrote(address)``): free text to a closed window is refused with 63016, as is a Content SID
  WhatsApp has not approved; recipients it was told nothing about are not checked (existing tests);
* the Content API (``/v1/Content``, ``/v1/ContentAndApprovals``, ``.../ApprovalRequests/whatsapp``):
  contents are validated as Twilio does (list picker: at most 10 rows, 24-character rows, 72-character
  descriptions, a 20-character button, a 1,024-character body; quick replies: at most 3 buttons of 20
  characters), a send with an unknown Content SID is refused (21656), variables with line breaks are
  refused, and the message is recorded with the text the customer sees (variables filled in);
  ``approve(sid)`` / ``reject(sid)`` play WhatsApp's review (a submitted content is ``received`` until then);
* media (``MediaUrl`` or a content's media) is fetched before the send is accepted (63019 when it can't be);
* opt-out: ``opt_out(address)`` refuses sends to it (21610), as Twilio's Advanced Opt-Out does after a STOP,
  and ``opt_out_params`` builds the inbound webhook Twilio posts for it (``OptOutType``).

Run standalone with ``python -m tests.fakes.twilio_server --port 8999``.
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import contextlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import BasicAuth, web

from tests.fakes.threaded import ThreadedAiohttpServer

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "FakeTwilioServer"]

DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600
WINDOW_SECONDS = 24 * 3600
CONTENT_PREFIX = "/v1"
LIST_MAX_ITEMS = 10
LIST_ITEM_MAX = 24
LIST_DESCRIPTION_MAX = 72
LIST_ID_MAX = 200
BUTTON_MAX = 20
CONTENT_BODY_MAX = 1024
QUICK_REPLY_MAX = 3
_VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")

_ERROR_MESSAGES: dict[int, str] = {
    400: "Bad Request",
    401: "Authenticate",
    403: "Forbidden",
    404: "The requested resource was not found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class _Failure:
    status: int
    code: int
    message: str | None
    remaining: int


def _twilio_error(status: int, code: int, message: str | None = None) -> web.Response:
    """A Twilio-style (legacy, non RFC-9457) JSON error response."""
    payload = {
        "code": code,
        "message": message or _ERROR_MESSAGES.get(status, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else None
    return web.json_response(payload, status=status, headers=headers)


class FakeTwilioServer(ThreadedAiohttpServer):
    """Fake ``POST /2010-04-01/Accounts/{sid}/Messages.json`` plus ``GET /healthz``."""

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        super().__init__(host=host, port=port)

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._messages: list[dict[str, Any]] = []
        self._attempts: list[dict[str, Any]] = []
        self._failures: deque[_Failure] = deque()
        self._fail_all: tuple[int, int, str | None] | None = None
        self._drops = 0
        self._list_requests: list[dict[str, str]] = []
        self._delay = 0.0
        self._healthz_hits = 0
        # Hold mode: sends wait at this gate (an asyncio.Event, set from any thread via the loop).
        self._gate: asyncio.Event | None = None
        self._held: list[dict[str, Any]] = []
        self._listeners: list[Callable[[dict[str, Any]], object]] = []
        # WhatsApp's rules (see the module's docstring).
        self._last_inbound: dict[str, datetime | None] = {}
        self._opted_out: set[str] = set()
        self._contents: dict[str, dict[str, Any]] = {}
        self._public: dict[str, tuple[bytes, str]] = {}

    # ------------------------------------------------------------------ lifecycle

    thread_name = "fake-twilio-server"

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(
            f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json",
            self._handle_create,
        )
        app.router.add_get(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._handle_list)
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account_sid}}/Calls.json", self._handle_call)
        app.router.add_get("/media/{name}", self._handle_media)
        app.router.add_get("/public/{name}", self._handle_public)
        app.router.add_post(f"{CONTENT_PREFIX}/Content", self._handle_content_create)
        app.router.add_get(f"{CONTENT_PREFIX}/Content", self._handle_content_list)
        app.router.add_get(f"{CONTENT_PREFIX}/ContentAndApprovals", self._handle_content_list)
        app.router.add_post(f"{CONTENT_PREFIX}/Content/{{sid}}/ApprovalRequests/whatsapp", self._handle_approval)
        app.router.add_get("/healthz", self._handle_healthz)
        return app

    # ------------------------------------------------------------------ calls and media

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Form parameters of each call created through the Calls API, in order."""
        with self._changed:
            return list(getattr(self, "_calls", []))

    def fail_calls(self, status: int = 500, code: int = 20500) -> None:
        """Every following call request fails with ``status`` (``fail_calls(0)`` restores success)."""
        self._call_failure = (status, code) if status else None

    def add_media(self, name: str, data: bytes, content_type: str = "image/png") -> str:
        """Serve ``data`` as a customer's media file (Basic auth with the account's credentials); its URL."""
        if not hasattr(self, "_media"):
            self._media: dict[str, tuple[bytes, str]] = {}
        self._media[name] = (data, content_type)
        return f"{self.base_url}/media/{name}"

    async def _handle_call(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _twilio_error(401, 20003)
        failure = getattr(self, "_call_failure", None)
        if failure is not None:
            return _twilio_error(failure[0], failure[1])
        form = await request.post()
        params = {key: str(form.get(key)) for key in form}
        sid = "CA" + secrets.token_hex(16)
        with self._changed:
            if not hasattr(self, "_calls"):
                self._calls: list[dict[str, Any]] = []
            self._calls.append({**params, "sid": sid})
            self._changed.notify_all()
        body = {
            "sid": sid,
            "account_sid": request.match_info["account_sid"],
            "to": params.get("To"),
            "from": params.get("From"),
            "status": "queued",
        }
        return web.json_response(body, status=201)

    async def _handle_media(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _twilio_error(401, 20003)
        found = getattr(self, "_media", {}).get(request.match_info["name"])
        if found is None:
            return _twilio_error(404, 20404)
        return web.Response(body=found[0], content_type=found[1])

    # ------------------------------------------------------------------ WhatsApp's rules

    def customer_wrote(self, address: str, at: datetime | None = None) -> None:
        """``address`` last wrote at ``at`` (now by default): its window is checked from then on."""
        with self._lock:
            self._last_inbound[address] = at or datetime.now(UTC)

    def never_wrote(self, address: str) -> None:
        """``address`` never wrote: only approved templates reach it."""
        with self._lock:
            self._last_inbound[address] = None

    def window_open(self, address: str) -> bool | None:
        """Whether free text may reach ``address`` now; None when the fake was told nothing about it."""
        with self._lock:
            if address not in self._last_inbound:
                return None
            last = self._last_inbound[address]
        return last is not None and datetime.now(UTC) - last < timedelta(seconds=WINDOW_SECONDS)

    def opt_out(self, address: str) -> None:
        """``address`` sent STOP to Twilio's Advanced Opt-Out: every send to it is refused (21610)."""
        with self._lock:
            self._opted_out.add(address)

    @staticmethod
    def opt_out_params(*, from_: str, to: str, keyword: str = "STOP") -> dict[str, str]:
        """The inbound webhook fields Twilio posts when its Advanced Opt-Out intercepts ``keyword``."""
        kind = {"STOP": "STOP", "BAJA": "STOP", "START": "START", "ALTA": "START", "HELP": "HELP"}
        return {"Body": keyword, "OptOutType": kind.get(keyword.upper(), "STOP"), "From": from_, "To": to}

    @property
    def contents(self) -> list[dict[str, Any]]:
        """The Content API resources created, with their WhatsApp approval, in creation order."""
        with self._lock:
            return [json.loads(json.dumps(c, default=str)) for c in self._contents.values()]

    def add_template(
        self, friendly_name: str, body: str, *, language: str = "es", approved: bool = True, variables: Any = None
    ) -> str:
        """A text content created outside the app (in Twilio's console), approved by default; its SID."""
        sid = "HX" + secrets.token_hex(16)
        with self._lock:
            self._contents[sid] = self._content_record(
                sid,
                {
                    "friendly_name": friendly_name,
                    "language": language,
                    "variables": variables or {},
                    "types": {"twilio/text": {"body": body}},
                },
            )
            if approved:
                self._contents[sid]["approval_requests"]["whatsapp"] = self._approval(friendly_name, "approved")
        return sid

    def approve(self, sid: str) -> None:
        """WhatsApp approves the content ``sid`` as a template."""
        self._review(sid, "approved")

    def reject(self, sid: str, reason: str = "Variables at the start or end of the body") -> None:
        """WhatsApp rejects the content ``sid``."""
        self._review(sid, "rejected", reason)

    def _review(self, sid: str, status: str, reason: str = "") -> None:
        with self._lock:
            content = self._contents[sid]
            name = content["approval_requests"].get("whatsapp", {}).get("name") or content["friendly_name"]
            content["approval_requests"]["whatsapp"] = self._approval(name, status, reason)

    @staticmethod
    def _approval(name: str, status: str, reason: str = "", category: str = "UTILITY") -> dict[str, Any]:
        return {
            "type": "whatsapp",
            "name": name,
            "category": category,
            "content_type": "twilio/text",
            "status": status,
            "rejection_reason": reason,
            "allow_category_change": True,
        }

    def add_public_media(self, name: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """Serve ``data`` without credentials (a dealer's car photo on its website); its URL."""
        self._public[name] = (data, content_type)
        return f"{self.base_url}/public/{name}"

    async def _handle_public(self, request: web.Request) -> web.Response:
        found = self._public.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[0], content_type=found[1])

    def _content_record(self, sid: str, data: dict[str, Any]) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return {
            "sid": sid,
            "account_sid": self.account_sid,
            "friendly_name": str(data.get("friendly_name") or ""),
            "language": str(data.get("language") or "en"),
            "variables": dict(data.get("variables") or {}),
            "types": {k: v for k, v in dict(data.get("types") or {}).items() if v is not None},
            "url": f"https://content.twilio.com/v1/Content/{sid}",
            "date_created": now,
            "date_updated": now,
            "approval_requests": {},
            "links": {},
        }

    async def _handle_content_create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _twilio_error(401, 20003)
        try:
            data = json.loads(await request.text())
        except ValueError:
            return _twilio_error(400, 20001, "The request body must be JSON")
        problem = _content_problem(data.get("types") or {})
        if problem is not None:
            return _twilio_error(400, 21658, problem)
        sid = "HX" + secrets.token_hex(16)
        record = self._content_record(sid, data)
        with self._lock:
            self._contents[sid] = record
        return web.json_response(record, status=201)

    async def _handle_content_list(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _twilio_error(401, 20003)
        with self._lock:
            contents = [dict(c) for c in self._contents.values()]
        path = request.path
        meta = {
            "page": 0,
            "page_size": len(contents) or 50,
            "first_page_url": f"{self.base_url}{path}",
            "previous_page_url": None,
            "url": f"{self.base_url}{path}",
            "next_page_url": None,
            "key": "contents",
        }
        return web.json_response({"contents": contents, "meta": meta})

    async def _handle_approval(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _twilio_error(401, 20003)
        sid = request.match_info["sid"]
        data = json.loads(await request.text() or "{}")
        with self._lock:
            content = self._contents.get(sid)
            if content is None:
                return _twilio_error(404, 20404)
            name, category = str(data.get("name") or ""), str(data.get("category") or "")
            if not re.fullmatch(r"[a-z0-9_]{1,512}", name) or category not in {
                "UTILITY",
                "MARKETING",
                "AUTHENTICATION",
            }:
                return _twilio_error(400, 21658, "Template name must be lowercase with underscores; category known")
            content["approval_requests"]["whatsapp"] = self._approval(name, "received", category=category)
            answer = dict(content["approval_requests"]["whatsapp"])
        return web.json_response(answer, status=201)

    async def _check_whatsapp(self, form: Any) -> tuple[web.Response | None, dict[str, Any]]:
        """WhatsApp's rules for one send: opt-out, Content SID, window, media; the content's details."""
        to = str(form.get("To") or "")
        with self._lock:
            if to in self._opted_out:
                return _twilio_error(400, 21610, "Attempt to send to unsubscribed recipient"), {}
        details: dict[str, Any] = {}
        approved = False
        content_sid = form.get("ContentSid")
        if content_sid:
            with self._lock:
                content = self._contents.get(str(content_sid))
                content = json.loads(json.dumps(content)) if content is not None else None
            if content is None:
                return _twilio_error(400, 21656, "The ContentSid is Invalid"), {}
            try:
                variables = json.loads(str(form.get("ContentVariables") or "{}"))
            except ValueError:
                return _twilio_error(400, 21656, "The Content Variables parameter is invalid"), {}
            if any(re.search(r"[\n\t]| {5,}", str(v)) for v in variables.values()):
                return _twilio_error(400, 21656, "Content variables cannot contain line breaks, tabs or 5 spaces"), {}
            approved = content["approval_requests"].get("whatsapp", {}).get("status") == "approved"
            details = _rendered(content, {str(k): str(v) for k, v in variables.items()})
        if self.window_open(to) is False and not approved:
            return _twilio_error(
                400, 63016, "Failed to send freeform message because you are outside the allowed window"
            ), {}
        media = [str(v) for v in form.getall("MediaUrl", [])] + list(details.get("media_url", []))
        for url in media:
            if not await _fetchable(url):
                return _twilio_error(400, 63019, f"Media failed to download: {url}"), {}
        return None, details

    def _before_stop(self) -> None:
        self.release()  # answer held sends before the loop goes away

    @property
    def base_url(self) -> str:
        """Value for TwilioSender(api_base_url=...), e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def messages_url(self) -> str:
        """Full URL of this account's Messages.json resource."""
        return f"{self.base_url}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Snapshot of successfully created messages, in arrival order."""
        with self._lock:
            return [dict(message) for message in self._messages]

    @property
    def attempts(self) -> list[dict[str, Any]]:
        """Snapshot of every POST to Messages.json, including rejected ones (see ``response_status``)."""
        with self._lock:
            return [dict(attempt) for attempt in self._attempts]

    @property
    def held(self) -> list[dict[str, Any]]:
        """Snapshot of sends that arrived while held (never in ``messages`` nor ``attempts``)."""
        with self._lock:
            return [dict(request) for request in self._held]

    @property
    def healthz_hits(self) -> int:
        """How many times ``GET /healthz`` was called."""
        with self._lock:
            return self._healthz_hits

    # ------------------------------------------------------------------ test controls

    def fail_next(self, status: int, code: int, times: int = 1, message: str | None = None) -> None:
        """Make the next ``times`` authenticated sends fail with a Twilio-style error."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._failures.append(_Failure(status, code, message, times))

    def fail_all(self, status: int = 503, code: int = 20503, message: str | None = None) -> None:
        """Make every authenticated send fail with a Twilio-style error until ``recover()`` (or ``reset()``)."""
        with self._lock:
            self._fail_all = (status, code, message)

    def recover(self) -> None:
        """Stop failing sends (``fail_all`` and any pending ``fail_next``)."""
        with self._lock:
            self._fail_all = None
            self._failures.clear()

    def accept_then_drop(self, times: int = 1) -> None:
        """The next ``times`` valid sends are recorded as messages, then the connection is closed unanswered.

        The client sees a dropped connection, not a SID: as when Twilio created the message and the
        sender crashed (or the network failed) before reading the answer."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._drops += times

    def forget(self, sid: str) -> None:
        """Remove a recorded message, as if it had never reached Twilio (its attempt stays recorded)."""
        with self._lock:
            self._messages[:] = [m for m in self._messages if m["sid"] != sid]

    @property
    def list_requests(self) -> list[dict[str, str]]:
        """Query parameters of each ``GET Messages.json`` (message list) request, in order."""
        with self._lock:
            return [dict(query) for query in self._list_requests]

    def delay(self, seconds: float) -> None:
        """Delay every Messages.json response by ``seconds`` (0 disables); messages are recorded first."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        with self._lock:
            self._delay = float(seconds)

    def hold(self) -> None:
        """Hold every Messages.json request until ``release()``, as a network black hole would.

        A held request is listed in ``held`` but never recorded: after the release it is answered
        with a 503 and is neither a message nor an attempt, as if it had never reached Twilio (its
        client may well be gone by then). Idempotent.
        """
        with self._lock:
            if self._gate is None:
                self._gate = asyncio.Event()

    def release(self) -> None:
        """Let held requests finish (unrecorded, with a 503) and stop holding new ones; idempotent."""
        with self._lock:
            gate, self._gate = self._gate, None
        self._set_from_thread(gate)

    def reset(self) -> None:
        """Forget recorded messages/attempts/held requests; clear injected failures, delay and hold."""
        self.release()
        with self._lock:
            self._messages.clear()
            self._attempts.clear()
            self._failures.clear()
            self._fail_all = None
            self._drops = 0
            self._list_requests.clear()
            self._held.clear()
            self._delay = 0.0
            self._healthz_hits = 0
            self._last_inbound.clear()
            self._opted_out.clear()
            self._contents.clear()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Wait (without blocking the loop) until ``count`` messages were recorded; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self._messages) >= count:
                    return [dict(message) for message in self._messages]
                have = len(self._messages)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {count} message(s) within {timeout}s, got {have}")
            await asyncio.sleep(0.01)

    async def wait_for_held(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Wait (without blocking the loop) until ``count`` requests were held; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if len(self._held) >= count:
                    return [dict(request) for request in self._held]
                have = len(self._held)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {count} held request(s) within {timeout}s, got {have}")
            await asyncio.sleep(0.01)

    def wait_for_held_sync(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until ``count`` requests were held; return them all."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._held) >= count, timeout=timeout):
                raise TimeoutError(f"expected {count} held request(s) within {timeout}s, got {len(self._held)}")
            return [dict(request) for request in self._held]

    def on_message(self, callback: Callable[[dict[str, Any]], object]) -> Callable[[], None]:
        """Call ``callback(message)`` in the server's thread for each recorded message; returns an unsubscriber.

        The callback must be quick and must not block (e.g. ``loop.call_soon_threadsafe(...)``).
        """
        with self._lock:
            self._listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._listeners:
                    self._listeners.remove(callback)

        return unsubscribe

    def messages_to(self, to: str) -> list[dict[str, Any]]:
        """Snapshot of the recorded messages sent to ``to``, in arrival order."""
        with self._lock:
            return [dict(message) for message in self._messages if message["to"] == to]

    def count_to(self, to: str) -> int:
        """How many messages were recorded for ``to`` (cheap: no copies)."""
        with self._lock:
            return sum(1 for message in self._messages if message["to"] == to)

    def wait_for_sync(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until ``count`` messages were recorded; return them all."""
        with self._changed:
            ok = self._changed.wait_for(lambda: len(self._messages) >= count, timeout=timeout)
            if not ok:
                raise TimeoutError(f"expected {count} message(s) within {timeout}s, got {len(self._messages)}")
            return [dict(message) for message in self._messages]

    # ------------------------------------------------------------------ handlers

    async def _handle_healthz(self, request: web.Request) -> web.Response:
        with self._lock:
            self._healthz_hits += 1
        return web.json_response({"status": "ok"})

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        try:
            auth = BasicAuth.decode(header)
        except (ValueError, binascii.Error):
            return False
        return hmac.compare_digest(auth.login, self.account_sid) and hmac.compare_digest(auth.password, self.auth_token)

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0 or self._closing is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)

    async def _wait_released(self, gate: asyncio.Event) -> None:
        closing = self._closing
        waits = [asyncio.ensure_future(gate.wait())]
        if closing is not None:
            waits.append(asyncio.ensure_future(closing.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    async def _handle_create(self, request: web.Request) -> web.Response:
        form = await request.post()
        params: dict[str, Any] = {}
        for key in form:
            values = [str(v) for v in form.getall(key)]
            params[key] = values if len(values) > 1 else values[0]
        path_sid = request.match_info["account_sid"]
        attempt: dict[str, Any] = {
            "account_sid": path_sid,
            "params": params,
            "received_at": datetime.now(UTC),
        }

        with self._changed:
            gate = self._gate
            if gate is not None:
                self._held.append(attempt)
                self._changed.notify_all()
        if gate is not None:
            # Held: wait for release() (or stop()), then answer without recording anything. If the
            # client went away meanwhile, aiohttp either lets this finish (its response is simply
            # dropped) or cancels this handler; either way nothing reaches messages or attempts.
            await self._wait_released(gate)
            return _twilio_error(503, 20503, "Held by the fake (never reached Twilio)")

        response = self._check_request(request, path_sid, form)
        details: dict[str, Any] = {}
        if response is None:
            response, details = await self._check_whatsapp(form)
        with self._lock:
            delay = self._delay
        if response is not None:
            await self._sleep(delay)
            return self._record_attempt(attempt, response)

        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(UTC)
        body = str(details.get("body") or form.get("Body", ""))
        media = [str(v) for v in form.getall("MediaUrl", [])] + list(details.get("media_url", []))
        message_uri = f"/{API_VERSION}/Accounts/{path_sid}/Messages/{sid}.json"
        record = {
            "sid": sid,
            "account_sid": path_sid,
            "to": form.get("To"),
            "from_": form.get("From"),
            "body": body,
            "status_callback": form.get("StatusCallback"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "media_url": media,
            "params": params,
            "received_at": now,
            # A Content SID send: the content, its variables, the type WhatsApp shows, rows and buttons.
            "content_sid": form.get("ContentSid"),
            "content_type": details.get("content_type"),
            "content_variables": details.get("variables", {}),
            "items": details.get("items", []),
            "actions": details.get("actions", []),
        }
        with self._changed:
            self._messages.append(record)
            self._changed.notify_all()
            listeners = list(self._listeners)
            drop = self._drops > 0
            self._drops -= int(drop)
        for listener in listeners:
            listener(dict(record))
        if drop:
            self._record_attempt(attempt | {"sid": sid, "dropped": True}, web.Response(status=201))
            assert request.transport is not None
            request.transport.close()  # created, but the client never learns its SID
            return web.Response(status=201)

        payload = {
            "account_sid": path_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": format_datetime(now, usegmt=True),
            "date_sent": None,
            "date_updated": format_datetime(now, usegmt=True),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "num_media": str(len(media)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{path_sid}/Messages/{sid}/Media.json"},
            "to": form.get("To"),
            "uri": message_uri,
        }
        await self._sleep(delay)
        return self._record_attempt(attempt | {"sid": sid}, web.json_response(payload, status=201))

    def _check_request(self, request: web.Request, path_sid: str, form: Any) -> web.Response | None:
        """Return an error response if the request must be rejected, else None."""
        if not self._authorized(request):
            return _twilio_error(401, 20003)
        if path_sid != self.account_sid:
            return _twilio_error(404, 20404)
        with self._lock:
            if self._fail_all is not None:
                return _twilio_error(*self._fail_all)
            if self._failures:
                failure = self._failures[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.popleft()
                return _twilio_error(failure.status, failure.code, failure.message)
        if not form.get("To"):
            return _twilio_error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _twilio_error(400, 21603, "A 'From' phone number is required.")
        body = str(form.get("Body", ""))
        if not body and not form.get("MediaUrl") and not form.get("ContentSid"):
            return _twilio_error(400, 21619, "A text message body or media url must be specified.")
        if len(body) > MAX_BODY_CHARS:
            return _twilio_error(
                400,
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            )
        return None

    async def _handle_list(self, request: web.Request) -> web.Response:
        """Twilio's Messages list: filtered by To, From and DateSent (``DateSent>``/``<``), newest first."""
        if not self._authorized(request):
            return _twilio_error(401, 20003)
        path_sid = request.match_info["account_sid"]
        if path_sid != self.account_sid:
            return _twilio_error(404, 20404)
        query = dict(request.query)
        try:
            after = _parse_date(query.get("DateSent>"))
            before = _parse_date(query.get("DateSent<"))
            size = min(int(query.get("PageSize", "50")), 1000)
        except ValueError:
            return _twilio_error(400, 20001, "Invalid filter")
        with self._lock:
            self._list_requests.append(query)
            found = [
                m
                for m in self._messages
                if query.get("To") in (None, m["to"])
                and query.get("From") in (None, m["from_"])
                and (after is None or m["received_at"] >= after)
                and (before is None or m["received_at"] <= before)
            ]
        found.reverse()
        base = f"/{API_VERSION}/Accounts/{path_sid}/Messages.json"
        page = {
            "messages": [_listed(m) for m in found[:size]],
            "start": 0,
            "end": max(0, min(size, len(found)) - 1),
            "page": 0,
            "page_size": size,
            "uri": f"{base}?{urlencode(query)}",
            "first_page_uri": f"{base}?{urlencode(query)}",
            "previous_page_uri": None,
            "next_page_uri": None,
        }
        return web.json_response(page)

    def _record_attempt(self, attempt: dict[str, Any], response: web.Response) -> web.Response:
        attempt["response_status"] = response.status
        with self._changed:
            self._attempts.append(attempt)
            self._changed.notify_all()
        return response


def _content_problem(types: dict[str, Any]) -> str | None:
    """Why Twilio would refuse these content types (WhatsApp's limits), or None."""
    picker = types.get("twilio/list-picker")
    if isinstance(picker, dict):
        items = picker.get("items") or []
        if not 1 <= len(items) <= LIST_MAX_ITEMS:
            return f"A list picker has 1 to {LIST_MAX_ITEMS} items, got {len(items)}"
        if len(str(picker.get("body") or "")) > CONTENT_BODY_MAX or not picker.get("body"):
            return f"A list picker's body has 1 to {CONTENT_BODY_MAX} characters"
        if not 1 <= len(str(picker.get("button") or "")) <= BUTTON_MAX:
            return f"A list picker's button has 1 to {BUTTON_MAX} characters"
        for item in items:
            if not 1 <= len(str(item.get("item") or "")) <= LIST_ITEM_MAX:
                return f"A list item has 1 to {LIST_ITEM_MAX} characters: {item.get('item')!r}"
            if len(str(item.get("description") or "")) > LIST_DESCRIPTION_MAX:
                return f"A list item's description has at most {LIST_DESCRIPTION_MAX} characters"
            if not 1 <= len(str(item.get("id") or "")) <= LIST_ID_MAX:
                return f"A list item's id has 1 to {LIST_ID_MAX} characters"
    quick = types.get("twilio/quick-reply")
    if isinstance(quick, dict):
        actions = quick.get("actions") or []
        if not 1 <= len(actions) <= QUICK_REPLY_MAX:
            return f"Quick replies have 1 to {QUICK_REPLY_MAX} buttons on WhatsApp, got {len(actions)}"
        if any(not 1 <= len(str(a.get("title") or "")) <= BUTTON_MAX for a in actions):
            return f"A quick-reply button has 1 to {BUTTON_MAX} characters"
    card = types.get("twilio/card")
    if isinstance(card, dict):
        if not card.get("title") or len(str(card["title"])) > CONTENT_BODY_MAX:
            return f"A card's title has 1 to {CONTENT_BODY_MAX} characters"
        if len(card.get("media") or []) > 1:
            return "A WhatsApp card has at most one media"
    if not types:
        return "A content needs at least one type"
    return None


# The type WhatsApp shows when a content has several (the richest it supports first).
_PREFERRED = ("twilio/card", "twilio/list-picker", "twilio/quick-reply", "twilio/media", "twilio/text")


def _rendered(content: dict[str, Any], variables: dict[str, str]) -> dict[str, Any]:
    """What the customer receives for a content: its type, text (variables filled in), media, rows, buttons."""
    values = {**{str(k): str(v) for k, v in (content.get("variables") or {}).items()}, **variables}
    types = content.get("types") or {}
    kind = next((k for k in _PREFERRED if isinstance(types.get(k), dict)), "twilio/text")
    chosen = types.get(kind) or {}

    def fill(text: object) -> str:
        return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), str(text or ""))

    return {
        "content_type": kind,
        "body": fill(chosen.get("body") or chosen.get("title") or ""),
        "media_url": [fill(u) for u in chosen.get("media") or []],
        "items": [dict(i) for i in chosen.get("items") or []],
        "actions": [dict(a) for a in chosen.get("actions") or []],
        "variables": variables,
    }


async def _fetchable(url: str) -> bool:
    """Twilio downloads media before sending it: a URL that does not answer 200 fails the message."""
    try:
        async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as got:
            await got.read()
            return got.status == 200
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return False


def _parse_date(value: str | None) -> datetime | None:
    """A DateSent filter: ``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 date-time."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _listed(message: dict[str, Any]) -> dict[str, Any]:
    """A recorded message as Twilio's list shows it (sent by the time anyone lists it)."""
    when = format_datetime(message["received_at"], usegmt=True)
    return {
        "account_sid": message["account_sid"],
        "api_version": API_VERSION,
        "body": message["body"],
        "date_created": when,
        "date_sent": when,
        "date_updated": when,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": message["from_"],
        "num_media": str(len(message["media_url"])),
        "num_segments": "1",
        "sid": message["sid"],
        "status": "sent",
        "to": message["to"],
        "uri": f"/{API_VERSION}/Accounts/{message['account_sid']}/Messages/{message['sid']}.json",
    }


def main() -> None:
    """Run the fake standalone until interrupted, printing its base URL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    args = parser.parse_args()
    server = FakeTwilioServer(account_sid=args.account_sid, auth_token=args.auth_token, port=args.port)
    with server:
        print(
            json.dumps({"base_url": server.base_url, "account_sid": server.account_sid}),
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
