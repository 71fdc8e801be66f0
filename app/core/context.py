"""Who a log line is about: request, tenant, conversation and job ids held in contextvars.

The HTTP middleware below gives every request an id (accepted from ``X-Request-ID`` when it is safe,
generated otherwise, and returned in the response); webhooks, API dependencies and jobs bind the
tenant, conversation and job they work on. ``app.core.logging`` puts whatever is known on each line.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FIELDS = ("request_id", "tenant_id", "conversation_id", "job_id")
_VARS: dict[str, ContextVar[str | None]] = {name: ContextVar(name, default=None) for name in FIELDS}

REQUEST_ID_HEADER = "X-Request-ID"
# Bounded and free of anything that could break a log line or a header: letters, digits and . _ : -
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def current_ids() -> dict[str, str]:
    """The ids known in this context (unknown ones left out)."""
    return {name: value for name, var in _VARS.items() if (value := var.get()) is not None}


def bind(**ids: object) -> None:
    """Set ids for the rest of the current task (a request's or a job's task ends with its work)."""
    for name, value in ids.items():
        _VARS[name].set(None if value is None else str(value))


@contextmanager
def bound(**ids: object) -> Iterator[None]:
    """Set ids for the duration of a block, then restore what was there."""
    tokens: list[tuple[ContextVar[str | None], Token[str | None]]] = [
        (_VARS[name], _VARS[name].set(None if value is None else str(value))) for name, value in ids.items()
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def accept_request_id(value: str | None) -> str:
    """The caller's request id when it is short and plain, else a new one."""
    if value and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Bind a request id for the whole request (uvicorn's access line included) and return it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.lower().encode())
        request_id = accept_request_id(incoming.decode("latin-1") if incoming is not None else None)
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        with bound(request_id=request_id, tenant_id=None, conversation_id=None, job_id=None):
            await self.app(scope, receive, send_with_id)
