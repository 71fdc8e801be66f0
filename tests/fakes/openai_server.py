"""Scripted fake of OpenAI's Chat Completions API for tests (never touches the network).

Like ``tests.fakes.twilio_server``, the server runs on 127.0.0.1 (ephemeral port by default) in a
background thread with its own event loop, so it works from sync tests, from async tests (the test's
loop is never blocked) and as the endpoint of an application running in another process. The real
``langchain_openai.ChatOpenAI`` / ``openai`` client code runs unchanged against it::

    with FakeOpenAIServer() as fake:                  # or: async with FakeOpenAIServer() as fake
        fake.enqueue(tool_call("lookup", {"sku": "A1"}), text("Done"))
        llm = ChatOpenAI(model="gpt-4.1-mini", base_url=fake.base_url, api_key="test", max_retries=0, timeout=2)
        ...
        assert fake.requests[0].body["tool_choice"] == "required"

Scripting. Each request to ``POST /v1/chat/completions`` (or ``/chat/completions``) is answered by the
first of: a failure armed with ``fail_next()``, the next reply queued with ``enqueue()``, the default
``responder(body)`` (called in the server thread with the parsed request JSON; it may return a
``Reply`` or a plain string), or else ``text(default_text)``. Replies are built with ``text()``,
``tool_call()``, ``tool_calls()``, ``error()``, ``rate_limited()``, ``delayed()`` and ``hang()``; a hung
request waits until ``release()``, ``reset()`` or ``stop()``.

Usage accounting (no tokenizer): ``prompt_tokens = ceil(chars_in / 4)`` where ``chars_in`` is the total
length of every message's text content (string content, or the ``text`` of content parts), plus the
function names and argument strings of assistant ``tool_calls``, plus ``len(json.dumps(tools))`` when
tools are offered. ``completion_tokens = ceil(chars_out / 4)`` where ``chars_out`` is the length of the
answer text plus, for each tool call, its name and its argument string. ``total_tokens`` is their sum.
A reply may override all three with ``usage=``.

``stream: true`` requests are answered as Server-Sent Events (one content chunk, one chunk per tool
call, a finish chunk, and a usage chunk when ``stream_options.include_usage`` is set), so LangGraph's
message streaming also works; failures are returned as plain HTTP errors before any event.

The shared machinery (``ScriptedLLMServer``, ``Reply`` and the reply builders) is reused by
``tests.fakes.gemini_transport``. Run standalone with ``python -m tests.fakes.openai_server --port 8998``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from aiohttp import web

from tests.fakes.threaded import ThreadedAiohttpServer

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

__all__ = [
    "FakeOpenAIServer",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptedLLMServer",
    "ToolCallSpec",
    "delayed",
    "error",
    "estimate_tokens",
    "hang",
    "has_tool_message",
    "last_user_text",
    "rate_limited",
    "text",
    "text_vector",
    "tool_call",
    "tool_calls",
]


# ---------------------------------------------------------------------------------------------- replies


@dataclass(frozen=True)
class ToolCallSpec:
    """One tool/function call in a scripted reply.

    ``args`` is a dict (sent as JSON) or a raw string sent verbatim, e.g. ``'{"sku": '`` to simulate a
    model emitting malformed arguments. ``id`` defaults to a random ``call_...`` id.
    """

    name: str
    args: Mapping[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        return self.args if isinstance(self.args, str) else json.dumps(dict(self.args), ensure_ascii=False)


@dataclass(frozen=True)
class Reply:
    """A scripted response; build it with ``text()``, ``tool_call()``, ``error()``... rather than by hand.

    ``status`` >= 400 makes it an HTTP error (``error_message``, ``headers``); otherwise ``text`` and
    ``tool_calls`` become the assistant message. ``delay`` sleeps before answering; ``hang`` waits for
    ``release()`` first. ``raw_body`` (any JSON value, or a str sent as is) replaces the generated body.
    ``finish_reason`` overrides the provider's default, ``usage`` overrides the estimated token counts
    (keys ``prompt_tokens`` / ``completion_tokens``).
    """

    text: str | None = None
    tool_calls: tuple[ToolCallSpec, ...] = ()
    status: int = 200
    error_message: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    raw_body: Any = None
    finish_reason: str | None = None
    usage: Mapping[str, int] | None = None

    @property
    def is_error(self) -> bool:
        return self.status >= 400


Responder = Callable[[dict[str, Any]], "Reply | str"]
"""Default responder: gets the parsed request JSON, returns a ``Reply`` (or a str, meaning ``text(str)``)."""


def text(content: str, *, delay: float = 0.0, finish_reason: str | None = None) -> Reply:
    """A plain assistant answer."""
    return Reply(text=content, delay=delay, finish_reason=finish_reason)


def tool_call(
    name: str,
    args: Mapping[str, Any] | str | None = None,
    *,
    id: str | None = None,
    content: str | None = None,
    delay: float = 0.0,
) -> Reply:
    """One tool call; ``args`` as a dict, or a raw (possibly malformed) JSON string."""
    return Reply(text=content, tool_calls=(ToolCallSpec(name, {} if args is None else args, id),), delay=delay)


def tool_calls(*calls: ToolCallSpec | tuple[str, Mapping[str, Any] | str], content: str | None = None) -> Reply:
    """Several tool calls in one assistant message: ``tool_calls(("a", {...}), ToolCallSpec("b", "{bad"))``."""
    specs = tuple(c if isinstance(c, ToolCallSpec) else ToolCallSpec(c[0], c[1]) for c in calls)
    if not specs:
        raise ValueError("tool_calls() needs at least one call")
    return Reply(text=content, tool_calls=specs)


def error(
    status: int,
    message: str | None = None,
    *,
    retry_after: float | None = None,
    headers: Mapping[str, str] | None = None,
    delay: float = 0.0,
) -> Reply:
    """An HTTP error (e.g. 400, 401, 429, 500, 503) with the provider's JSON error body."""
    if status < 400:
        raise ValueError("error() needs a status >= 400")
    all_headers = dict(headers or {})
    if retry_after is not None:
        all_headers["Retry-After"] = f"{retry_after:g}"
    return Reply(status=status, error_message=message, headers=all_headers, delay=delay)


def rate_limited(retry_after: float | None = 1.0, message: str | None = None) -> Reply:
    """A 429 with a ``Retry-After`` header (seconds)."""
    return error(429, message, retry_after=retry_after)


def delayed(seconds: float, then: Reply | str) -> Reply:
    """``then``, answered after ``seconds`` (provokes client-side timeouts)."""
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    return dataclasses.replace(_as_reply(then), delay=float(seconds))


def hang(then: Reply | str | None = None) -> Reply:
    """Hold the request until ``release()``/``reset()``/``stop()``, then answer ``then`` (default: a 503)."""
    base = error(503, "Released by the fake after hanging") if then is None else _as_reply(then)
    return dataclasses.replace(base, hang=True)


def _as_reply(value: Reply | str) -> Reply:
    if isinstance(value, Reply):
        return value
    if isinstance(value, str):
        return text(value)
    raise TypeError(f"expected a Reply or a str, got {type(value).__name__}")


def estimate_tokens(chars: int) -> int:
    """The fakes' token estimate: ``ceil(chars / 4)``."""
    return math.ceil(chars / 4)


# ---------------------------------------------------------------------------------------------- requests


@dataclass
class RecordedRequest:
    """One request received by a fake: ``body`` is the parsed JSON, ``headers`` have lower-case names."""

    method: str
    path: str
    model: str | None
    body: dict[str, Any]
    headers: dict[str, str]
    query: dict[str, str]
    received_at: datetime
    response_status: int | None = None  # None until answered (or while hung)


@dataclass
class _Failure:
    status: int
    message: str | None
    retry_after: float | None
    remaining: int


# ---------------------------------------------------------------------------------------------- server base


class ScriptedLLMServer(ThreadedAiohttpServer):
    """Threaded aiohttp server with a reply queue, a default responder and request recording.

    Subclasses add routes (``_add_routes``) and render replies in their provider's format
    (``_render_success``, ``_render_error``), calling ``_serve()`` from their handlers.
    """

    thread_name = "fake-llm-server"

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        default_text: str = "OK",
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.default_text = default_text

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._queue: deque[Reply] = deque()
        self._failures: deque[_Failure] = deque()
        self._responder = responder
        self._requests: list[RecordedRequest] = []
        self._responder_errors: list[BaseException] = []
        self._gate: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    def _build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/healthz", self._handle_healthz)
        self._add_routes(app)
        return app

    def _before_stop(self) -> None:
        self.release()  # answer hung and delayed requests at once

    # ------------------------------------------------------------------ properties

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no API prefix)."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every API request received (including failed and hung ones), in arrival order."""
        with self._lock:
            return [dataclasses.replace(r) for r in self._requests]

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise LookupError("no request received yet")
            return dataclasses.replace(self._requests[-1])

    @property
    def pending(self) -> int:
        """How many queued replies have not been consumed yet."""
        with self._lock:
            return len(self._queue)

    @property
    def responder_errors(self) -> list[BaseException]:
        """Exceptions raised by the responder (each was answered with a 500)."""
        with self._lock:
            return list(self._responder_errors)

    # ------------------------------------------------------------------ test controls

    def enqueue(self, *replies: Reply | str) -> Self:
        """Queue replies, answered in order (a str means ``text(str)``)."""
        converted = [_as_reply(r) for r in replies]
        with self._lock:
            self._queue.extend(converted)
        return self

    def set_responder(self, responder: Responder | None) -> None:
        """Set (or clear) the responder used when nothing is queued; it runs in the server's thread."""
        with self._lock:
            self._responder = responder

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        """Make the next ``n`` requests fail with ``status``, before anything queued is consumed."""
        if n < 1:
            raise ValueError("n must be >= 1")
        if status < 400:
            raise ValueError("status must be >= 400")
        with self._lock:
            self._failures.append(_Failure(status, message, retry_after, n))

    def release(self) -> None:
        """Let hung requests finish (with their ``then`` reply); idempotent."""
        with self._lock:
            gate, self._gate = self._gate, None
        self._set_from_thread(gate)

    def reset(self) -> None:
        """Release hung requests; forget recorded requests, queued replies, failures and responder errors.

        The responder is kept (use ``set_responder(None)`` to drop it).
        """
        self.release()
        with self._lock:
            self._queue.clear()
            self._failures.clear()
            self._requests.clear()
            self._responder_errors.clear()

    async def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:  # noqa: ASYNC109
        """Wait (without blocking the loop) until ``count`` requests arrived; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            if self.request_count >= count:
                return self.requests
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {count} request(s) within {timeout}s, got {self.request_count}")
            await asyncio.sleep(0.005)

    def wait_for_requests_sync(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until ``count`` requests arrived; return them all."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout=timeout):
                raise TimeoutError(f"expected {count} request(s) within {timeout}s, got {len(self._requests)}")
        return self.requests

    # ------------------------------------------------------------------ subclass hooks

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _authorized(self, request: web.Request) -> bool:
        return True

    def _unauthorized(self) -> web.StreamResponse:
        return self._render_error(401, "Invalid API key", {})

    async def _render_success(
        self, reply: Reply, body: dict[str, Any], model: str | None, request: web.Request
    ) -> web.StreamResponse:
        raise NotImplementedError

    def _render_error(self, status: int, message: str | None, headers: Mapping[str, str]) -> web.StreamResponse:
        raise NotImplementedError

    # ------------------------------------------------------------------ core

    async def _handle_healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _serve(self, request: web.Request, model: str | None = None) -> web.StreamResponse:
        """Record the request, pick its reply, wait as scripted, render it.

        ``model`` is the model named in the URL, if any; otherwise the body's ``model`` field is used.
        """
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {"_json": body}
        if model is None and isinstance(body.get("model"), str):
            model = body["model"]
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            model=model,
            body=body,
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query),
            received_at=datetime.now(UTC),
        )
        with self._changed:
            self._requests.append(record)
            self._changed.notify_all()

        if "_raw" in body or "_json" in body:
            return self._finish(record, self._render_error(400, "Request body is not a JSON object", {}))
        if not self._authorized(request):
            return self._finish(record, self._unauthorized())

        reply = self._next_reply(body)
        if reply.hang:
            await self._wait_released()
        await self._sleep(reply.delay)
        if reply.is_error:
            response = self._render_error(reply.status, reply.error_message, reply.headers)
        elif reply.raw_body is not None:
            response = _raw_response(reply)
        else:
            response = await self._render_success(reply, body, model, request)
        return self._finish(record, response)

    def _finish(self, record: RecordedRequest, response: web.StreamResponse) -> web.StreamResponse:
        with self._changed:
            record.response_status = response.status
            self._changed.notify_all()
        return response

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._failures:
                failure = self._failures[0]
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.popleft()
                return error(failure.status, failure.message, retry_after=failure.retry_after)
            if self._queue:
                return self._queue.popleft()
            responder = self._responder
        if responder is None:
            return text(self.default_text)
        try:
            return _as_reply(responder(body))
        except Exception as exc:
            with self._lock:
                self._responder_errors.append(exc)
            return error(500, f"The fake's responder raised {type(exc).__name__}: {exc}")

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0 or self._closing is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)

    async def _wait_released(self) -> None:
        with self._lock:
            if self._gate is None:
                self._gate = asyncio.Event()
            gate = self._gate
        waits = [asyncio.ensure_future(gate.wait())]
        if self._closing is not None:
            waits.append(asyncio.ensure_future(self._closing.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()


def _raw_response(reply: Reply) -> web.Response:
    headers = dict(reply.headers)
    if isinstance(reply.raw_body, str | bytes):
        return web.Response(body=reply.raw_body, status=reply.status, headers=headers, content_type="application/json")
    return web.json_response(reply.raw_body, status=reply.status, headers=headers)


# ---------------------------------------------------------------------------------------------- OpenAI


_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request"),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided"),
    403: ("permission_denied", None, "Forbidden"),
    404: ("invalid_request_error", "model_not_found", "The model does not exist"),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def _content_chars(content: Any) -> int:
    """Characters of text in an OpenAI message ``content`` (str, or list of parts)."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        total = 0
        for part in content:
            if isinstance(part, str):
                total += len(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                total += len(part["text"])
        return total
    return 0


def openai_prompt_chars(body: Mapping[str, Any]) -> int:
    """``chars_in`` of the usage estimate (see the module docstring)."""
    total = 0
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        total += _content_chars(message.get("content"))
        for call in message.get("tool_calls") or []:
            function = (call.get("function") or {}) if isinstance(call, dict) else {}
            total += len(str(function.get("name") or "")) + len(str(function.get("arguments") or ""))
    if body.get("tools"):
        total += len(json.dumps(body["tools"]))
    return total


def has_tool_message(body: Mapping[str, Any]) -> bool:
    """True if the chat request already contains a ``role: tool`` message (a tool result)."""
    return any(isinstance(m, dict) and m.get("role") == "tool" for m in body.get("messages") or [])


def last_user_text(body: Mapping[str, Any]) -> str:
    """Text of the last ``role: user`` message of a chat request ("" if none)."""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class FakeOpenAIServer(ScriptedLLMServer):
    """Fake ``POST /v1/chat/completions`` (and ``/chat/completions``) plus ``GET /v1/models`` and ``/healthz``.

    ``api_key``: when set, requests without ``Authorization: Bearer <api_key>`` get a 401.
    """

    thread_name = "fake-openai-server"

    @property
    def base_url(self) -> str:
        """Value for ``ChatOpenAI(base_url=...)`` / ``openai.AsyncOpenAI(base_url=...)``."""
        return f"{self.root_url}/v1"

    def chat_model(self, model: str = "gpt-4.1-mini", **kwargs: Any) -> ChatOpenAI:
        """A real ``ChatOpenAI`` pointed at this fake (``max_retries=0``, ``timeout=5`` unless given)."""
        from langchain_openai import ChatOpenAI

        kwargs.setdefault("api_key", self.api_key or "test")
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 5.0)
        return ChatOpenAI(model=model, base_url=self.base_url, **kwargs)

    @property
    def embedding_requests(self) -> list[dict[str, Any]]:
        """Bodies of ``POST /v1/embeddings`` requests, in arrival order."""
        if not hasattr(self, "_embedding_requests"):
            self._embedding_requests: list[dict[str, Any]] = []
        return self._embedding_requests

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self._handle_chat)
        app.router.add_post("/chat/completions", self._handle_chat)
        app.router.add_get("/v1/models", self._handle_models)
        app.router.add_post("/v1/embeddings", self._handle_embeddings)

    async def _handle_embeddings(self, request: web.Request) -> web.Response:
        """Deterministic embeddings: a unit vector seeded by each input's text, ``dimensions`` long.

        Requests are recorded in ``embedding_requests`` (not ``requests``, which scripts chat replies).
        """
        if not self._authorized(request):
            return web.json_response({"error": {"message": "bad key", "type": "invalid_request_error"}}, status=401)
        body = await request.json()
        self.embedding_requests.append(body)
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        size = int(body.get("dimensions") or 1536)
        data = [
            {"object": "embedding", "index": i, "embedding": text_vector(str(t), size)} for i, t in enumerate(inputs)
        ]
        usage = {"prompt_tokens": sum(math.ceil(len(str(t)) / 4) for t in inputs)}
        usage["total_tokens"] = usage["prompt_tokens"]
        return web.json_response({"object": "list", "data": data, "model": body.get("model"), "usage": usage})

    def _authorized(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("Authorization", "") == f"Bearer {self.api_key}"

    async def _handle_models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": []})

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request)

    def _render_error(self, status: int, message: str | None, headers: Mapping[str, str]) -> web.StreamResponse:
        kind, code, default = _OPENAI_ERRORS.get(status, ("server_error" if status >= 500 else "error", None, "Error"))
        payload = {"error": {"message": message or default, "type": kind, "param": None, "code": code}}
        return web.json_response(payload, status=status, headers=dict(headers))

    async def _render_success(
        self, reply: Reply, body: dict[str, Any], model: str | None, request: web.Request
    ) -> web.StreamResponse:
        calls: list[dict[str, Any]] = [
            {
                "id": spec.id or "call_" + secrets.token_hex(12),
                "type": "function",
                "function": {"name": spec.name, "arguments": spec.arguments_json()},
            }
            for spec in reply.tool_calls
        ]
        finish_reason = reply.finish_reason or ("tool_calls" if calls else "stop")
        out_chars = len(reply.text or "") + sum(
            len(c["function"]["name"]) + len(c["function"]["arguments"]) for c in calls
        )
        prompt_tokens = estimate_tokens(openai_prompt_chars(body))
        completion_tokens = estimate_tokens(out_chars)
        if reply.usage is not None:
            prompt_tokens = reply.usage.get("prompt_tokens", prompt_tokens)
            completion_tokens = reply.usage.get("completion_tokens", completion_tokens)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        completion_id = "chatcmpl-" + secrets.token_hex(12)
        created = int(time.time())
        echoed_model = model or "unknown"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return await _openai_stream(
                request, completion_id, created, echoed_model, reply, calls, finish_reason, usage, include_usage
            )
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": echoed_model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage,
            "system_fingerprint": "fp_fake",
        }
        return web.json_response(payload, headers=dict(reply.headers))


def text_vector(text: str, size: int) -> list[float]:
    """A unit vector determined by ``text`` (equal texts, equal vectors), as the fake embeddings return."""
    import hashlib
    import random

    rng = random.Random(hashlib.sha256(text.encode()).digest())
    values = [rng.gauss(0.0, 1.0) for _ in range(size)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


async def _openai_stream(
    request: web.Request,
    completion_id: str,
    created: int,
    model: str,
    reply: Reply,
    calls: list[dict[str, Any]],
    finish_reason: str,
    usage: dict[str, int],
    include_usage: bool,
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)

    async def send(delta: dict[str, Any] | None, finish: str | None = None, with_usage: bool = False) -> None:
        chunk: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if with_usage:
            chunk["usage"] = usage
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

    await send({"role": "assistant", "content": reply.text or ""})
    for index, call in enumerate(calls):
        await send({"tool_calls": [{"index": index, **call}]})
    await send({}, finish_reason)
    if include_usage:
        await send(None, with_usage=True)
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def main() -> None:
    """Run the fake standalone until interrupted (answers ``default_text``), printing its base URL."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--default-text", default="OK")
    args = parser.parse_args()
    with FakeOpenAIServer(port=args.port, default_text=args.default_text) as server:
        print(json.dumps({"base_url": server.base_url}), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
