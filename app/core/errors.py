"""Domain exceptions and their one translation to JSON HTTP errors."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Base of errors a caller can act on; ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "bad_request"
    headers: dict[str, str] | None = None  # extra response headers (Retry-After, Connection: close)

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class RateLimited(DomainError):
    """Too many requests; ``retry_after`` seconds go out as the Retry-After header."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.headers = {"Retry-After": str(retry_after)}


class Unavailable(DomainError):
    """The service cannot take the request now; the caller may retry (Twilio retries a 503 webhook)."""

    status = 503
    code = "unavailable"


class ErrorDetail(BaseModel):
    """What went wrong: a machine-readable code, a sentence, and the fields or values involved."""

    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The API's error envelope."""

    error: ErrorDetail


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The API's error envelope."""
    return {"error": {"code": code, "message": message, "details": details}}


class ErrorResponse(JSONResponse):
    """An error envelope as JSON that always renders: a detail echoing the caller's text may hold a lone
    surrogate, which UTF-8 cannot encode; such a body is written with JSON's ASCII escapes instead."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


# The code of each status an HTTPException may carry: the domain errors' own, so the two never differ.
_STATUS_CODES = {
    cls.status: cls.code
    for cls in (
        DomainError,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidInput,
        RateLimited,
    )
} | {405: "method_not_allowed"}


# SQLSTATE classes that mean "this value cannot be stored" (22: data exception, e.g. out of range or
# a NUL byte; 54000: a value too large for an index row): the caller's input, not our fault.
_INPUT_SQLSTATES = ("22", "54000")


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or "")


# A string PostgreSQL and UTF-8 cannot hold: a NUL, or half of a surrogate pair (JSON can spell one, \ud800).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable_paths(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[list[str | int], str]]:
    """Where a decoded JSON value (keys and strings) holds an unstorable character: (``loc`` list, the character)."""
    if isinstance(value, str):
        if found := _UNSTORABLE.search(value):
            yield list(loc), found.group()
    elif isinstance(value, dict):
        for key, item in value.items():
            if found := _UNSTORABLE.search(key):
                yield [*loc, key], found.group()
            yield from _unstorable_paths(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_paths(item, (*loc, index))


def _nul_error(loc: list[str | int]) -> dict[str, Any]:
    return {"loc": loc, "msg": "must not contain NUL characters", "type": "nul_character"}


def _unstorable_error(loc: list[str | int], character: str) -> dict[str, Any]:
    if character == "\x00":
        return _nul_error(loc)
    return {"loc": loc, "msg": "must not contain a lone surrogate (half of a UTF-16 pair)", "type": "lone_surrogate"}


def unstorable_fields(value: Any, loc: tuple[str | int, ...] = ("body",)) -> list[dict[str, Any]]:
    """Validation details for every key or string of a decoded JSON value that holds a NUL or a lone surrogate."""
    return [_unstorable_error(*found) for found in _unstorable_paths(value, loc)]


def parsed_as_json(content_type: str | None) -> bool:
    """Whether FastAPI parses a body of this Content-Type as JSON: none at all, ``application/json`` or any
    ``application/*+json``, in any letter case and with any parameters (as ``fastapi.routing`` decides)."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


async def refuse_nul(request: Request) -> None:
    """Refuse NUL characters in path, query and JSON body (PostgreSQL text cannot hold them), and lone
    surrogates in a JSON body (UTF-8 cannot encode them), naming the field."""
    errors = [_nul_error(["path", k]) for k, v in request.path_params.items() if "\x00" in str(v)]
    errors += [_nul_error(["query", k]) for k, v in request.query_params.multi_items() if "\x00" in k + v]
    if request.method not in ("GET", "HEAD") and parsed_as_json(request.headers.get("content-type")):
        body = await request.body()
        # The cheap test first: either can only arrive escaped, as \u0000 or \udXXX (a raw NUL is not valid
        # JSON, a raw surrogate not valid UTF-8). Not JSON after all: the route's own parsing reports it.
        if b"\\u0000" in body or b"\\ud" in body.lower():
            with contextlib.suppress(ValueError, RecursionError):
                errors += unstorable_fields(json.loads(body))
    if errors:
        raise InvalidInput("Request validation failed", details=errors)


def domain_error_response(exc: DomainError) -> JSONResponse:
    """The JSON answer to a DomainError (the handler's, and the webhook fast path's in app.webhooks)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if exc.headers:
        headers = {**(headers or {}), **exc.headers}
    return ErrorResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers)


def database_error_response(path: str, exc: DBAPIError) -> JSONResponse | None:
    """422 for a value the database refuses (None for a database fault, which stays a 500).

    A last line behind validation: a value the database refuses is still the caller's 422, and
    answering it here (not in the catch-all) keeps the client's keep-alive connection open.
    """
    state = _sqlstate(exc)
    if not state.startswith(_INPUT_SQLSTATES):
        return None
    log.warning("database refused a value (SQLSTATE %s) on %s", state, path)
    return JSONResponse(error_body("invalid_input", "A value cannot be stored", {"sqlstate": state}), status_code=422)


def internal_error_response() -> JSONResponse:
    """The 500 answer to an unexpected error, logged with its traceback (called from an ``except`` block)."""
    log.exception("unhandled error")
    return ErrorResponse(error_body("internal_error", "Internal server error"), status_code=500)


class UnhandledErrors:
    """ASGI layer: an unexpected error is answered with the 500 envelope here, inside the request's context.

    Starlette's outermost layer also answers it, but then raises it again to the server, which logs it a
    second time and closes the client's keep-alive connection, and by then the request's ids (request,
    tenant) are no longer bound to the log line. Here the error is logged once, with them, and the
    connection stays open. An error after the answer has started still goes up: that answer is broken.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started:
                raise
            await internal_error_response()(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so every error leaves as ``{"error": {"code", "message", "details"}}``."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return ErrorResponse(error_body("invalid_input", "Request validation failed", details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        response = database_error_response(request.url.path, exc)
        if response is None:
            raise exc  # a database fault, not the input's: the catch-all answers 500 as before
        return response

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        return internal_error_response()

    app.openapi = _documented_openapi(app)  # type: ignore[method-assign]


# --- OpenAPI: the error responses the API really gives ----------------------------------------------

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def _errors_for(path: str, operation: dict[str, Any]) -> dict[str, str]:
    """The 4xx statuses an operation can answer, with why."""
    errors = {"4XX": "Other client error (error envelope)"}
    if operation.get("security"):
        errors |= {"401": "Missing or unknown API key", "403": "The key may not do this"}
    if "{" in path:
        errors["404"] = "Not found (the tenant or the resource in the path)"
    if operation.get("parameters") or operation.get("requestBody") or "{" in path:
        errors["422"] = "Invalid input: details list each field's location and problem"
    if operation.get("requestBody"):
        errors["413"] = "Request body too large"
    return errors


def _documented_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` with the error envelope in place of FastAPI's ``{"detail"}`` and every 4xx declared."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["ErrorBody"] = body
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for path, item in schema.get("paths", {}).items():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                for status, why in _errors_for(path, operation).items():
                    current = responses.get(status)
                    if current is None or "HTTPValidationError" in json.dumps(current):
                        responses[status] = _error_response(why)
        app.openapi_schema = schema
        return schema

    return openapi
