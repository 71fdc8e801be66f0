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

Run standalone with ``python -m tests.fakes.twilio_server --port 8999``.
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import contextlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import BasicAuth, web

from tests.fakes.threaded import ThreadedAiohttpServer

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "FakeTwilioServer"]

DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600

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
        with self._lock:
            delay = self._delay
        if response is not None:
            await self._sleep(delay)
            return self._record_attempt(attempt, response)

        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(UTC)
        body = str(form.get("Body", ""))
        media = [str(v) for v in form.getall("MediaUrl", [])]
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
