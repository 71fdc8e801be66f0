"""Log lines: JSON fields and ids, text format, request ids, redaction of every secret and of database
values, periodic jobs' routine lines at DEBUG. Through the very handler the processes log with."""

from __future__ import annotations

import io
import json
import logging
import typing
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from app.core.config import Settings
from app.core.context import accept_request_id, bound, current_ids
from app.core.logging import build_handler, log_format

PHONE = "+5491155550123"


def settings(**overrides: Any) -> Settings:
    """Settings from these values only (no .env, the environment's test values underneath)."""
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


class Captured:
    """A private logger writing through ``build_handler`` into a buffer."""

    def __init__(self, config: Settings, level: int = logging.INFO) -> None:
        self.stream = io.StringIO()
        self.logger = logging.getLogger(f"test.logging.{uuid.uuid4().hex}")
        self.logger.propagate = False
        self.logger.setLevel(level)
        self.handler = build_handler(config, self.stream)
        self.logger.addHandler(self.handler)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def json_log() -> Iterator[Captured]:
    captured = Captured(settings(log_format="json"))
    yield captured
    captured.logger.removeHandler(captured.handler)


def test_json_line_has_time_level_logger_message_and_known_ids(json_log: Captured) -> None:
    tenant, conversation = uuid.uuid4(), uuid.uuid4()
    with bound(request_id="req-1", tenant_id=tenant, conversation_id=conversation):
        json_log.logger.info("turn answered by %s", "catalog")
    json_log.logger.warning("outside any request")
    inside, outside = json_log.lines()
    assert inside["message"] == "turn answered by catalog"
    assert inside["level"] == "INFO" and inside["logger"] == json_log.logger.name
    assert inside["timestamp"].startswith("20")
    assert (inside["request_id"], inside["tenant_id"], inside["conversation_id"]) == (
        "req-1",
        str(tenant),
        str(conversation),
    )
    assert "job_id" not in inside  # unknown ids are left out, not null
    assert outside["level"] == "WARNING" and not {"request_id", "tenant_id", "conversation_id"} & outside.keys()
    assert current_ids() == {}  # the block restored what was there


def test_exception_is_one_json_line_with_its_traceback(json_log: Captured) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        json_log.logger.exception("job failed")
    (line,) = json_log.lines()
    assert line["message"] == "job failed" and "RuntimeError: boom" in line["exc_info"]


def test_text_format_is_readable_and_shows_the_ids() -> None:
    captured = Captured(settings(log_format="text"))
    with bound(job_id=42, tenant_id="t-1"):
        captured.logger.info("embedded %d chunks", 3)
    assert captured.text.rstrip().endswith(f"INFO {captured.logger.name} [tenant=t-1 job=42]: embedded 3 chunks")


def test_json_in_production_text_elsewhere_unless_chosen() -> None:
    production = {"environment": "production", "admin_api_key": "x" * 32, "database_url": "postgresql://db/app"}
    assert log_format(settings(**production)) == "json"
    assert log_format(settings(**production, log_format="text")) == "text"
    assert log_format(settings(environment="development")) == "text"
    assert log_format(settings(environment="test", log_format="json")) == "json"


@pytest.mark.parametrize("header", ["abc-123", "0f" * 16, "trace:1.2_3", "x" * 128])
def test_a_plain_request_id_is_kept(header: str) -> None:
    assert accept_request_id(header) == header


@pytest.mark.parametrize("header", [None, "", "x" * 129, "a b", "id\nforged line", "<script>", "é"])
def test_an_unsafe_request_id_is_replaced(header: str | None) -> None:
    generated = accept_request_id(header)
    assert generated != header and len(generated) == 32 and int(generated, 16) >= 0


# ------------------------------------------------------------------------------------------- redaction


def _secret_fields() -> list[str]:
    """Every SecretStr setting, whatever is added later."""
    return [
        name
        for name, field in Settings.model_fields.items()
        if field.annotation is SecretStr or SecretStr in typing.get_args(field.annotation)
    ]


def test_every_secret_setting_is_known_to_this_test() -> None:
    assert {"admin_api_key", "twilio_auth_token", "openai_api_key", "google_api_key"} <= set(_secret_fields())
    assert {"together_api_key", "langsmith_api_key"} <= set(_secret_fields())


def _configured_secrets() -> tuple[Settings, list[str]]:
    values = {name: f"{name}-{uuid.uuid4().hex}" for name in _secret_fields()}
    db_password = f"pw-{uuid.uuid4().hex}"
    config = settings(
        log_format="json", database_url=f"postgresql://app:{db_password}@db.internal:5432/agent", **values
    )
    return config, [*values.values(), db_password]


def test_every_secret_is_redacted_from_message_args_and_exception() -> None:
    config, secrets = _configured_secrets()
    captured = Captured(config)
    for secret in secrets:
        captured.logger.info(f"in the message: {secret}")
        captured.logger.info("in the args: %s and %r", secret, {"key": secret})
        try:
            raise ValueError(f"bad credentials {secret}")
        except ValueError:
            captured.logger.exception("in the exception")
        captured.logger.info("in an extra", extra={"auth": {"token": secret}})
    out = captured.text
    assert all(secret not in out for secret in secrets)
    lines = captured.lines()
    assert len(lines) == 4 * len(secrets)
    assert lines[0]["message"] == "in the message: ***"
    assert lines[1]["message"] == "in the args: *** and {'key': '***'}"
    assert "ValueError: bad credentials ***" in lines[2]["exc_info"]
    assert lines[3]["auth"] == {"token": "***"}


def test_an_escaped_database_password_is_redacted_in_both_spellings() -> None:
    captured = Captured(settings(log_format="json", database_url="postgresql://app:p%40ss%2Fw0rd@db/agent"))
    captured.logger.warning("could not connect as %s, password %s", "app:p%40ss%2Fw0rd", "p@ss/w0rd")
    assert captured.lines()[0]["message"] == "could not connect as app:***, password ***"


@pytest.mark.parametrize(
    "error",
    [
        'duplicate key value violates unique constraint "uq"\nDETAIL:  Key (tenant_id, customer)=(1, {p}) exists.',
        'null value in column "body" violates not-null constraint\nDETAIL:  Failing row contains (7, {p}, null).',
        "invalid input for query argument $2: '{p}' ('str' object cannot be interpreted as an integer)",
        "invalid input syntax for type uuid: \"{p}\"\nCONTEXT:  unnamed portal parameter $1 = '{p}'",
        "[SQL: INSERT INTO messages (body) VALUES ($1)]\n[parameters: ('{p}',)]",
    ],
)
def test_values_echoed_by_database_errors_are_dropped(json_log: Captured, error: str) -> None:
    try:
        raise RuntimeError(error.format(p=PHONE))
    except RuntimeError:
        json_log.logger.exception("could not store message %s", error.format(p=PHONE))
    (line,) = json_log.lines()
    assert PHONE not in json.dumps(line)
    assert "***" in line["message"] or "parameters hidden" in line["message"]


# ---------------------------------------------------------------------------------- periodic job lines


def _procrastinate_record(action: str, kwargs: dict[str, Any], level: int = logging.INFO) -> logging.LogRecord:
    record = logging.LogRecord("procrastinate.worker.agent-worker", level, __file__, 1, f"{action} line", None, None)
    record.action = action
    record.job = {"id": 17, "task_name": "agent:recover", "task_kwargs": kwargs}
    return record


@pytest.mark.parametrize("action", ["periodic_task_deferred", "start_job", "job_success"])
def test_a_periodic_jobs_routine_lines_are_debug(action: str) -> None:
    for level, shown in ((logging.INFO, False), (logging.DEBUG, True)):
        captured = Captured(settings(log_format="json"))
        logging.getLogger("procrastinate.worker.agent-worker").setLevel(level)
        try:
            captured.handler.handle(_procrastinate_record(action, {"timestamp": 1796292475}))
        finally:
            logging.getLogger("procrastinate.worker.agent-worker").setLevel(logging.NOTSET)
        assert bool(captured.text) is shown
        if shown:
            assert captured.lines()[0]["level"] == "DEBUG"


def test_other_job_lines_keep_their_level_and_carry_the_jobs_ids() -> None:
    captured = Captured(settings(log_format="json"))
    tenant = str(uuid.uuid4())
    captured.handler.handle(_procrastinate_record("start_job", {"tenant_id": tenant, "conversation_id": "c"}))
    captured.handler.handle(_procrastinate_record("job_error", {"timestamp": 1}, level=logging.ERROR))
    started, failed = captured.lines()
    assert (started["level"], started["job_id"], started["tenant_id"], started["conversation_id"]) == (
        "INFO",
        "17",
        tenant,
        "c",
    )
    assert failed["level"] == "ERROR"


def test_the_access_line_leaves_out_the_query_string(json_log: Captured) -> None:
    """A console search for a customer's number must not land in the access log."""
    access = logging.getLogger("uvicorn.access")
    previous = (access.propagate, access.level)
    access.propagate, access.level = False, logging.INFO
    access.addHandler(json_log.handler)
    try:
        args = ("127.0.0.1:5000", "GET", f"/console/conversations?q={PHONE}&page=2", "1.1", 200)
        access.info('%s - "%s %s HTTP/%s" %d', *args)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/healthz", "1.1", 200)
    finally:
        access.removeHandler(json_log.handler)
        access.propagate, access.level = previous
    assert PHONE not in json_log.text
    first, second = json_log.lines()
    assert first["message"] == '127.0.0.1:5000 - "GET /console/conversations?… HTTP/1.1" 200'
    assert second["message"] == '127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200'
