"""Scripted fake of the Gemini Developer REST API, for driving ``ChatGoogleGenerativeAI`` with no network.

Approach: a local HTTP server, not an in-process transport. ``google-genai`` picks its HTTP stack at run
time: httpx or httpx2 for sync calls (``GOOGLE_GENAI_HTTP_CLIENT``), and aiohttp for async calls whenever
aiohttp is importable and no custom ``transport`` is passed. A mock transport would have to match
whichever library is chosen (and would silently switch the async path off aiohttp), while a server on
127.0.0.1 exercises every one of them, including real socket timeouts. ``ChatGoogleGenerativeAI``'s
``base_url`` (forwarded to ``HttpOptions.base_url``) points the real client at it::

    llm, fake = make_fake_gemini("gemini-2.5-flash", timeout=0.5)
    try:
        fake.enqueue(tool_call("lookup", {"sku": "A1"}), text("Done"))
        msg = await llm.bind_tools([Lookup], tool_choice="any").ainvoke("find A1")
        assert fake.last_request.body["toolConfig"]["functionCallingConfig"]["mode"] == "ANY"
    finally:
        fake.stop()

or, with a server shared by several models: ``with FakeGeminiServer() as fake: llm = fake.chat_model(...)``.

Served: ``POST /{version}/models/{model}:generateContent``, ``:streamGenerateContent`` (``?alt=sse``, the
whole reply as one event) and ``:countTokens``. Scripting is the same as ``tests.fakes.openai_server``
(``enqueue``, ``fail_next``, responder, ``requests``, ``reset``...) with the same reply builders, which
this module re-exports. ``RecordedRequest.model`` is the model named in the URL (the body has none).
Errors use Google's JSON shape ``{"error": {"code", "message", "status"}}``; a ``retry_after`` adds a
``Retry-After`` header and a ``google.rpc.RetryInfo`` detail.

Usage accounting (no tokenizer): ``promptTokenCount = ceil(chars_in / 4)`` where ``chars_in`` is the total
length of every ``text`` part in ``contents`` and ``systemInstruction``, plus ``len(json.dumps(...))`` of
each ``functionCall``/``functionResponse`` part, plus ``len(json.dumps(tools))`` when tools are offered.
``candidatesTokenCount = ceil(chars_out / 4)`` where ``chars_out`` is the answer text plus, for each
function call, its name and its JSON arguments. ``totalTokenCount`` is their sum. A reply's ``usage=``
overrides them (keys ``prompt_tokens`` / ``completion_tokens``).

Notes: Gemini's ``functionCall.args`` is a JSON object on the wire, so "malformed arguments" cannot occur
as with OpenAI; a ``ToolCallSpec`` whose ``args`` is a str is sent as a JSON string and the SDK rejects the
response (pydantic ``ValidationError``). ``ChatGoogleGenerativeAI`` treats ``max_retries=0`` as "SDK
default"; use ``max_retries=1`` for a single attempt (what the helpers here default to).
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.openai_server import (
    RecordedRequest,
    Reply,
    Responder,
    ScriptedLLMServer,
    ToolCallSpec,
    delayed,
    error,
    estimate_tokens,
    hang,
    rate_limited,
    text,
    tool_call,
    tool_calls,
)

if TYPE_CHECKING:
    from langchain_google_genai import ChatGoogleGenerativeAI

__all__ = [
    "DEFAULT_API_KEY",
    "FakeGeminiServer",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ToolCallSpec",
    "delayed",
    "error",
    "gemini_prompt_chars",
    "hang",
    "has_function_response",
    "last_user_text",
    "make_fake_gemini",
    "rate_limited",
    "text",
    "tool_call",
    "tool_calls",
]

DEFAULT_API_KEY = "fake-gemini-api-key"

_GOOGLE_STATUS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "API key not valid. Please pass a valid API key."),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: ("INTERNAL", "An internal error has occurred."),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline exceeded."),
}


def _parts_chars(parts: Any) -> int:
    total = 0
    for part in parts or []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            total += len(part["text"])
        for key in ("functionCall", "functionResponse", "function_call", "function_response"):
            if key in part:
                total += len(json.dumps(part[key]))
    return total


def gemini_prompt_chars(body: Mapping[str, Any]) -> int:
    """``chars_in`` of the usage estimate (see the module docstring)."""
    total = 0
    for content in body.get("contents") or []:
        if isinstance(content, dict):
            total += _parts_chars(content.get("parts"))
    system = body.get("systemInstruction") or body.get("system_instruction")
    if isinstance(system, dict):
        total += _parts_chars(system.get("parts"))
    if body.get("tools"):
        total += len(json.dumps(body["tools"]))
    return total


def has_function_response(body: Mapping[str, Any]) -> bool:
    """True if the request already carries a ``functionResponse`` part (a tool result)."""
    for content in body.get("contents") or []:
        for part in (content.get("parts") if isinstance(content, dict) else None) or []:
            if isinstance(part, dict) and ("functionResponse" in part or "function_response" in part):
                return True
    return False


def last_user_text(body: Mapping[str, Any]) -> str:
    """Text of the last ``role: user`` content holding text ("" if none)."""
    for content in reversed(body.get("contents") or []):
        if not isinstance(content, dict) or content.get("role", "user") != "user":
            continue
        texts = [
            p["text"] for p in content.get("parts") or [] if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
        if texts:
            return "".join(texts)
    return ""


class FakeGeminiServer(ScriptedLLMServer):
    """Fake Gemini ``generateContent`` / ``streamGenerateContent`` / ``countTokens`` plus ``GET /healthz``.

    ``api_key``: when set (default ``DEFAULT_API_KEY``), requests whose ``x-goog-api-key`` header (or
    ``?key=``) differs get a 400 ``API_KEY_INVALID`` as Google does; pass ``api_key=None`` to accept any.
    """

    thread_name = "fake-gemini-server"

    def __init__(
        self,
        *,
        responder: Responder | None = None,
        default_text: str = "OK",
        api_key: str | None = DEFAULT_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(responder=responder, default_text=default_text, api_key=api_key, host=host, port=port)

    @property
    def base_url(self) -> str:
        """Value for ``ChatGoogleGenerativeAI(base_url=...)`` (the SDK appends ``/v1beta/models/...``)."""
        return self.root_url

    def chat_model(self, model: str = "gemini-2.5-flash", **kwargs: Any) -> ChatGoogleGenerativeAI:
        """A real ``ChatGoogleGenerativeAI`` pointed at this fake.

        Defaults: ``max_retries=1`` (one attempt; 0 would mean the SDK default), ``timeout=5`` seconds.
        """
        from langchain_google_genai import ChatGoogleGenerativeAI

        kwargs.setdefault("google_api_key", self.api_key or DEFAULT_API_KEY)
        kwargs.setdefault("max_retries", 1)
        kwargs.setdefault("timeout", 5.0)
        return ChatGoogleGenerativeAI(model=model, base_url=self.base_url, **kwargs)

    def _add_routes(self, app: web.Application) -> None:
        # "{model}:{method}" is a single path segment; aiohttp's {name} matches it whole (colon included).
        app.router.add_post("/{version}/models/{model_method}", self._handle_model_call)
        app.router.add_post("/{version}/tunedModels/{model_method}", self._handle_model_call)

    def _authorized(self, request: web.Request) -> bool:
        if self.api_key is None:
            return True
        given = request.headers.get("x-goog-api-key") or request.query.get("key", "")
        return given == self.api_key

    def _unauthorized(self) -> web.StreamResponse:
        return _google_error(400, "API key not valid. Please pass a valid API key.", {}, reason="API_KEY_INVALID")

    async def _handle_model_call(self, request: web.Request) -> web.StreamResponse:
        model, _, method = request.match_info["model_method"].rpartition(":")
        if method not in {"generateContent", "streamGenerateContent", "countTokens"} or not model:
            return _google_error(404, f"Method {method!r} is not served by the fake.", {})
        if method == "countTokens":
            body: dict[str, Any] = {}
            with contextlib.suppress(ValueError):
                body = await request.json()
            inner = body.get("generateContentRequest") or body
            return web.json_response({"totalTokens": estimate_tokens(gemini_prompt_chars(inner))})
        return await self._serve(request, model)

    def _render_error(self, status: int, message: str | None, headers: Mapping[str, str]) -> web.StreamResponse:
        return _google_error(status, message, headers)

    async def _render_success(
        self, reply: Reply, body: dict[str, Any], model: str | None, request: web.Request
    ) -> web.StreamResponse:
        parts: list[dict[str, Any]] = []
        if reply.text is not None:
            parts.append({"text": reply.text})
        out_chars = len(reply.text or "")
        for spec in reply.tool_calls:
            call: dict[str, Any] = {
                "name": spec.name,
                "args": spec.args if isinstance(spec.args, str) else dict(spec.args),
            }
            if spec.id is not None:
                call["id"] = spec.id
            parts.append({"functionCall": call})
            out_chars += len(spec.name) + len(spec.arguments_json())
        prompt_tokens = estimate_tokens(gemini_prompt_chars(body))
        completion_tokens = estimate_tokens(out_chars)
        if reply.usage is not None:
            prompt_tokens = reply.usage.get("prompt_tokens", prompt_tokens)
            completion_tokens = reply.usage.get("completion_tokens", completion_tokens)
        payload = {
            "candidates": [
                {
                    "content": {"role": "model", "parts": parts},
                    "finishReason": reply.finish_reason or "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": completion_tokens,
                "totalTokenCount": prompt_tokens + completion_tokens,
            },
            "modelVersion": model or "unknown",
            "responseId": secrets.token_urlsafe(12),
        }
        if request.path.endswith(":streamGenerateContent"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream", **reply.headers})
            await response.prepare(request)
            await response.write(f"data: {json.dumps(payload)}\r\n\r\n".encode())
            await response.write_eof()
            return response
        return web.json_response(payload, headers=dict(reply.headers))


def _google_error(
    status: int, message: str | None, headers: Mapping[str, str], *, reason: str | None = None
) -> web.Response:
    code_name, default = _GOOGLE_STATUS.get(status, ("INTERNAL" if status >= 500 else "FAILED_PRECONDITION", "Error"))
    details: list[dict[str, Any]] = []
    if reason is not None:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}
        )
    retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    if retry_after is not None:
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"})
    payload: dict[str, Any] = {"error": {"code": status, "message": message or default, "status": code_name}}
    if details:
        payload["error"]["details"] = details
    return web.json_response(payload, status=status, headers=dict(headers))


def make_fake_gemini(
    model: str = "gemini-2.5-flash",
    *,
    responder: Responder | None = None,
    replies: tuple[Reply | str, ...] = (),
    **model_kwargs: Any,
) -> tuple[ChatGoogleGenerativeAI, FakeGeminiServer]:
    """Start a ``FakeGeminiServer`` and build a real ``ChatGoogleGenerativeAI`` against it.

    ``replies`` are queued; ``model_kwargs`` go to ``ChatGoogleGenerativeAI`` (``timeout``,
    ``max_retries``, ``temperature``...). The caller owns the server: call ``fake.stop()`` when done.
    """
    fake = FakeGeminiServer(responder=responder).start()
    try:
        fake.enqueue(*replies)
        llm = fake.chat_model(model, **model_kwargs)
    except BaseException:
        fake.stop()
        raise
    return llm, fake
