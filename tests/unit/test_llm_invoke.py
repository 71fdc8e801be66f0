"""invoke_chain: retries on 429/5xx only, failover on anything else, circuits, timeouts, usage and cost records."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from app.llm.health import CircuitPolicy, HealthBoard
from app.llm.invoke import (
    ChainExhausted,
    LLMCall,
    LLMStats,
    error_class,
    http_status,
    invoke_chain,
    is_retryable,
    raw_message,
)
from app.llm.models import ModelSpec, ModelTable, ModelTableError, load_model_table, parse_model_table
from app.llm.providers import LLMLimits, ProviderRegistry
from tests.fakes.chat_models import (
    CodedError,
    ProviderError,
    ScriptedChatModel,
    Sleep,
    factory_for,
    text,
    tool_call,
)

TABLE = load_model_table()
OPENAI, GEMINI, TOGETHER = "gpt-4.1-mini", "gemini-2.5-flash", "meta-llama/Llama-3.3-70B-Instruct-Turbo"
MESSAGES: list[BaseMessage] = [SystemMessage("You are a test."), HumanMessage("hola")]
TIMEOUT = 0.05


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class APIConnectionError(Exception):
    """Named like the SDKs' connection errors (no status)."""


class ReadTimeoutError(Exception):
    """Named like an SDK's timeout (no status)."""


def spec(name: str) -> ModelSpec:
    found = TABLE.get(name)
    assert found is not None
    return found


def chain(*names: str) -> list[ModelSpec]:
    return [spec(n) for n in names]


def make_registry(
    models: dict[str, ScriptedChatModel],
    *,
    max_retries: int = 2,
    timeout: float = TIMEOUT,
    policy: CircuitPolicy | None = None,
    clock: FakeClock | None = None,
) -> ProviderRegistry:
    return ProviderRegistry(
        table=TABLE,
        configured=frozenset({"openai", "gemini", "together"}),
        factory=factory_for(models),
        board=HealthBoard(policy or CircuitPolicy(failures_to_open=3), clock=clock or FakeClock()),
        limits=LLMLimits(timeout_seconds=timeout, max_retries=max_retries, retry_base_seconds=0.0),
    )


def as_is(model: BaseChatModel) -> Runnable[Any, Any]:
    return model


async def run(
    registry: ProviderRegistry,
    models: list[ModelSpec] | None = None,
    *,
    prepare: Callable[[BaseChatModel], Runnable[Any, Any]] = as_is,
    stats: LLMStats | None = None,
) -> tuple[Any, ModelSpec, LLMStats]:
    stats = stats if stats is not None else LLMStats()
    result, used = await invoke_chain(
        registry, models or chain(OPENAI, GEMINI, TOGETHER), MESSAGES, prepare=prepare, purpose="agent", stats=stats
    )
    return result, used, stats


def summary(calls: list[LLMCall]) -> list[tuple[str, bool, str | None, bool, int]]:
    return [(c.model, c.success, c.error_class, c.failover, c.attempts) for c in calls]


# ============================================================================================ success


async def test_first_model_answers_first_try() -> None:
    first = ScriptedChatModel(script=[text("¡Hola!", tokens=(1000, 500))])
    second = ScriptedChatModel()
    registry = make_registry({OPENAI: first, GEMINI: second})

    result, used, stats = await run(registry)

    assert result.content == "¡Hola!"
    assert used.name == OPENAI
    assert first.call_count == 1
    assert second.call_count == 0
    assert first.calls[0] == MESSAGES
    [call] = stats.calls
    assert call.purpose == "agent"
    assert (call.provider, call.model) == ("openai", OPENAI)
    assert (call.input_tokens, call.output_tokens) == (1000, 500)
    # gpt-4.1-mini: $0.40 / M input, $1.60 / M output
    assert call.cost_usd == Decimal("0.001200")
    assert (call.success, call.error_class, call.failover, call.attempts) == (True, None, False, 1)
    assert 0 <= call.latency_ms < 1000
    assert registry.board["openai"].calls_in_window() == 1
    assert registry.board["openai"].failure_rate() == 0.0


async def test_usage_is_estimated_when_the_provider_reports_none() -> None:
    model = ScriptedChatModel(script=[text("y" * 20)])  # no usage_metadata
    registry = make_registry({OPENAI: model})
    messages = [HumanMessage("x" * 40)]
    stats = LLMStats()

    await invoke_chain(registry, chain(OPENAI), messages, prepare=as_is, purpose="agent", stats=stats)

    [call] = stats.calls
    assert (call.input_tokens, call.output_tokens) == (40 // 4 + 1, 20 // 4 + 1)
    assert call.cost_usd == spec(OPENAI).cost(11, 6)
    assert call.cost_usd > 0


class Verdict(BaseModel):
    """A structured answer."""

    label: str
    score: float


async def test_structured_output_with_raw_records_usage_of_the_raw_message() -> None:
    model = ScriptedChatModel(script=[tool_call("Verdict", {"label": "catalog", "score": 0.9}, tokens=(2000, 100))])
    registry = make_registry({GEMINI: model}, timeout=5.0)  # the first structured call is slow: not a timeout test

    def prepare(m: BaseChatModel) -> Runnable[Any, Any]:
        return m.with_structured_output(Verdict, method="function_calling", include_raw=True)

    result, used, stats = await run(registry, chain(GEMINI), prepare=prepare)

    assert result["parsed"] == Verdict(label="catalog", score=0.9)
    assert result["raw"].tool_calls[0]["name"] == "Verdict"
    assert model.tool_choice == "any"
    assert used.name == GEMINI
    [call] = stats.calls
    assert (call.input_tokens, call.output_tokens) == (2000, 100)
    # gemini-2.5-flash: $0.30 / M input, $2.50 / M output
    assert call.cost_usd == Decimal("0.000850")


async def test_stats_add_up_over_several_calls() -> None:
    registry = make_registry(
        {OPENAI: ScriptedChatModel(default=text("a", tokens=(100, 10))), GEMINI: ScriptedChatModel()}
    )
    stats = LLMStats()
    await run(registry, stats=stats)
    await run(registry, stats=stats)
    assert len(stats.calls) == 2
    assert (stats.input_tokens, stats.output_tokens) == (200, 20)
    assert stats.cost_usd == 2 * spec(OPENAI).cost(100, 10)


# ============================================================================================ retries


@pytest.mark.parametrize(
    "transient",
    [
        pytest.param(ProviderError(429), id="status_code-429"),
        pytest.param(ProviderError(503), id="status_code-503"),
        pytest.param(CodedError(429, "RESOURCE_EXHAUSTED"), id="code-429"),
    ],
)
async def test_transient_error_is_retried_on_the_same_model(transient: Exception) -> None:
    first = ScriptedChatModel(script=[transient, text("ok", tokens=(10, 2))])
    second = ScriptedChatModel()
    registry = make_registry({OPENAI: first, GEMINI: second})

    result, used, stats = await run(registry)

    assert result.content == "ok"
    assert used.name == OPENAI
    assert first.call_count == 2
    assert second.call_count == 0
    assert summary(stats.calls) == [(OPENAI, True, None, False, 2)]
    assert registry.board["openai"].consecutive_failures == 0


async def test_status_on_the_cause_is_retried() -> None:
    """LangChain's Gemini wrapper has no status itself; the google-genai error it wraps does."""

    def wrapped(_: list[BaseMessage]) -> Exception:
        try:
            raise CodedError(429)
        except CodedError as exc:
            wrapper = RuntimeError("429 RESOURCE_EXHAUSTED")
            wrapper.__cause__ = exc
            return wrapper

    model = ScriptedChatModel(script=[wrapped, "ok"])
    registry = make_registry({OPENAI: model})
    _, _, stats = await run(registry, chain(OPENAI))
    assert summary(stats.calls) == [(OPENAI, True, None, False, 2)]


async def test_server_errors_exhaust_retries_then_fail_over() -> None:
    first = ScriptedChatModel(default=ProviderError(500))
    second = ScriptedChatModel(script=[text("desde gemini", tokens=(50, 5))])
    registry = make_registry({OPENAI: first, GEMINI: second}, max_retries=2)

    result, used, stats = await run(registry)

    assert result.content == "desde gemini"
    assert used.name == GEMINI
    assert first.call_count == 3  # 1 + max_retries
    assert summary(stats.calls) == [
        (OPENAI, False, "server_error", False, 3),
        (GEMINI, True, None, True, 1),
    ]
    failed = stats.calls[0]
    assert (failed.input_tokens, failed.output_tokens, failed.cost_usd) == (0, 0, Decimal(0))
    # One model call (with its retries) is one outcome for the provider's health.
    assert registry.board["openai"].consecutive_failures == 1
    assert registry.board["openai"].calls_in_window() == 1


async def test_rate_limits_exhaust_retries_too() -> None:
    first = ScriptedChatModel(default=ProviderError(429))
    registry = make_registry({OPENAI: first, GEMINI: ScriptedChatModel(script=["ok"])}, max_retries=1)
    _, _, stats = await run(registry)
    assert first.call_count == 2
    assert summary(stats.calls)[0] == (OPENAI, False, "rate_limited", False, 2)


async def test_no_retries_when_max_retries_is_zero() -> None:
    first = ScriptedChatModel(default=ProviderError(503))
    registry = make_registry({OPENAI: first, GEMINI: ScriptedChatModel(script=["ok"])}, max_retries=0)
    _, _, stats = await run(registry)
    assert first.call_count == 1
    assert summary(stats.calls) == [(OPENAI, False, "server_error", False, 1), (GEMINI, True, None, True, 1)]


@pytest.mark.parametrize(
    ("error", "label"),
    [
        (ProviderError(400), "http_400"),
        (ProviderError(401), "auth_error"),
        (ProviderError(403), "auth_error"),
        (ProviderError(404), "http_404"),
        (ProviderError(422), "http_422"),
        (ValueError("the model's tool arguments did not validate"), "ValueError"),
        (APIConnectionError("connection refused"), "connection_error"),
    ],
)
async def test_other_errors_are_not_retried_and_fail_over(error: Exception, label: str) -> None:
    first = ScriptedChatModel(default=error)
    second = ScriptedChatModel(script=["ok"])
    registry = make_registry({OPENAI: first, GEMINI: second}, max_retries=3)

    _, used, stats = await run(registry)

    assert used.name == GEMINI
    assert first.call_count == 1
    assert summary(stats.calls) == [(OPENAI, False, label, False, 1), (GEMINI, True, None, True, 1)]


async def test_an_unexpected_result_shape_fails_over() -> None:
    registry = make_registry({OPENAI: ScriptedChatModel(default="plain"), GEMINI: ScriptedChatModel(default="x")})
    stats = LLMStats()

    def to_string(m: BaseChatModel) -> Runnable[Any, Any]:
        return m | StrOutputParser()  # a str is neither an AIMessage nor an include_raw dict

    with pytest.raises(ChainExhausted):
        await run(registry, chain(OPENAI, GEMINI), prepare=to_string, stats=stats)
    assert summary(stats.calls) == [(OPENAI, False, "TypeError", False, 1), (GEMINI, False, "TypeError", True, 1)]


# ============================================================================================ timeouts


async def test_a_slow_model_times_out_without_retry_and_fails_over() -> None:
    slow = ScriptedChatModel(default=Sleep(5, "too late"))
    fast = ScriptedChatModel(script=["a tiempo"])
    registry = make_registry({OPENAI: slow, GEMINI: fast}, timeout=TIMEOUT, max_retries=2)

    started = time.perf_counter()
    result, used, stats = await run(registry)
    elapsed = time.perf_counter() - started

    assert result.content == "a tiempo"
    assert used.name == GEMINI
    assert elapsed < 0.5
    assert slow.call_count == 1  # a timeout is not retried
    assert summary(stats.calls) == [(OPENAI, False, "timeout", False, 1), (GEMINI, True, None, True, 1)]
    assert stats.calls[0].latency_ms >= int(TIMEOUT * 1000) - 10
    assert registry.board["openai"].consecutive_failures == 1


async def test_an_sdk_timeout_error_is_labelled_timeout() -> None:
    registry = make_registry(
        {OPENAI: ScriptedChatModel(default=ReadTimeoutError("read")), GEMINI: ScriptedChatModel(script=["ok"])}
    )
    _, _, stats = await run(registry)
    assert summary(stats.calls)[0] == (OPENAI, False, "timeout", False, 1)


async def test_a_model_within_the_timeout_answers() -> None:
    model = ScriptedChatModel(script=[Sleep(TIMEOUT / 5, "justo")])
    registry = make_registry({OPENAI: model}, timeout=TIMEOUT)
    result, _, stats = await run(registry, chain(OPENAI))
    assert result.content == "justo"
    assert stats.calls[0].success


# ============================================================================================ circuits


async def test_a_provider_with_an_open_circuit_is_skipped_without_a_call() -> None:
    first = ScriptedChatModel(default="should not be called")
    second = ScriptedChatModel(script=["desde gemini"])
    registry = make_registry({OPENAI: first, GEMINI: second}, policy=CircuitPolicy(failures_to_open=1))
    registry.board["openai"].record(False)
    assert registry.board["openai"].state == "open"

    result, used, stats = await run(registry)

    assert result.content == "desde gemini"
    assert used.name == GEMINI
    assert first.call_count == 0
    # A skipped model is not a call: nothing recorded for it, and the next one is not counted as a failover.
    assert summary(stats.calls) == [(GEMINI, True, None, False, 1)]


async def test_the_circuit_is_per_provider_so_every_model_of_it_is_skipped() -> None:
    mini = ScriptedChatModel(default="no")
    small = ScriptedChatModel(default="no")
    gemini = ScriptedChatModel(script=["sí"])
    registry = make_registry(
        {OPENAI: mini, "gpt-4o-mini": small, GEMINI: gemini}, policy=CircuitPolicy(failures_to_open=1)
    )
    registry.board["openai"].record(False)

    _, used, stats = await run(registry, chain(OPENAI, "gpt-4o-mini", GEMINI))

    assert used.name == GEMINI
    assert mini.call_count == small.call_count == 0
    assert [c.model for c in stats.calls] == [GEMINI]


async def test_failures_open_the_circuit_for_later_turns() -> None:
    first = ScriptedChatModel(default=ProviderError(400))
    second = ScriptedChatModel(default="ok")
    registry = make_registry({OPENAI: first, GEMINI: second}, policy=CircuitPolicy(failures_to_open=2))

    for _ in range(2):
        await run(registry)
    assert registry.board["openai"].state == "open"
    _, _, stats = await run(registry)

    assert first.call_count == 2  # the third turn did not call openai
    assert [c.model for c in stats.calls] == [GEMINI]


async def test_after_cooldown_one_probe_goes_through_and_success_closes() -> None:
    clock = FakeClock()
    first = ScriptedChatModel(script=["recuperado"])
    registry = make_registry(
        {OPENAI: first, GEMINI: ScriptedChatModel()},
        policy=CircuitPolicy(failures_to_open=1, cooldown_seconds=30),
        clock=clock,
    )
    registry.board["openai"].record(False)
    clock.now = 30

    result, used, stats = await run(registry)

    assert (result.content, used.name) == ("recuperado", OPENAI)
    assert summary(stats.calls) == [(OPENAI, True, None, False, 1)]
    assert registry.board["openai"].state == "closed"


async def test_a_failed_probe_reopens_and_fails_over() -> None:
    clock = FakeClock()
    first = ScriptedChatModel(default=ProviderError(500))
    registry = make_registry(
        {OPENAI: first, GEMINI: ScriptedChatModel(default="ok")},
        policy=CircuitPolicy(failures_to_open=1, cooldown_seconds=30),
        clock=clock,
        max_retries=0,
    )
    registry.board["openai"].record(False)
    clock.now = 30

    _, used, stats = await run(registry)

    assert used.name == GEMINI
    assert summary(stats.calls) == [(OPENAI, False, "server_error", False, 1), (GEMINI, True, None, True, 1)]
    health = registry.board["openai"]
    assert (health.state, health.opened_at) == ("open", 30)
    assert not health.allow()


async def test_a_cancelled_probe_gives_its_slot_back() -> None:
    clock = FakeClock()
    in_model = asyncio.Event()

    def hang(_: list[BaseMessage]) -> Sleep:
        in_model.set()
        return Sleep(5, "late")

    slow = ScriptedChatModel(default=hang)
    registry = make_registry(
        {OPENAI: slow}, policy=CircuitPolicy(failures_to_open=1, cooldown_seconds=30), clock=clock, timeout=10
    )
    registry.board["openai"].record(False)
    clock.now = 30

    task = asyncio.create_task(run(registry, chain(OPENAI)))
    await asyncio.wait_for(in_model.wait(), 1)
    assert registry.board["openai"].probe_in_flight
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    health = registry.board["openai"]
    assert not health.probe_in_flight
    assert health.allow()  # the next turn may probe


async def test_a_model_that_cannot_be_prepared_fails_over_and_releases_the_probe() -> None:
    clock = FakeClock()

    def factory(s: ModelSpec) -> BaseChatModel:
        if s.provider == "openai":
            raise RuntimeError("client could not be built")
        return ScriptedChatModel(default="ok")

    registry = make_registry({}, policy=CircuitPolicy(failures_to_open=1, cooldown_seconds=30), clock=clock)
    registry.factory = factory
    registry.board["openai"].record(False)
    clock.now = 30
    try:
        _, used, _ = await run(registry, chain(OPENAI, GEMINI))
        assert used.name == GEMINI
    finally:
        clock.now = 10_000
        assert registry.board["openai"].allow()


# ============================================================================================ exhaustion


async def test_every_model_failing_raises_chain_exhausted_with_every_attempt_recorded() -> None:
    models = {
        OPENAI: ScriptedChatModel(default=ProviderError(500)),
        GEMINI: ScriptedChatModel(default=Sleep(5)),
        TOGETHER: ScriptedChatModel(default=ProviderError(401)),
    }
    registry = make_registry(models, max_retries=1)
    stats = LLMStats()

    with pytest.raises(ChainExhausted, match=re.escape("gpt-4.1-mini")):
        await run(registry, stats=stats)

    assert summary(stats.calls) == [
        (OPENAI, False, "server_error", False, 2),
        (GEMINI, False, "timeout", True, 1),
        (TOGETHER, False, "auth_error", True, 1),
    ]
    assert stats.cost_usd == 0
    assert all(registry.board[p].consecutive_failures == 1 for p in ("openai", "gemini", "together"))


async def test_all_circuits_open_raises_without_any_call() -> None:
    models = {n: ScriptedChatModel(default="no") for n in (OPENAI, GEMINI, TOGETHER)}
    registry = make_registry(models, policy=CircuitPolicy(failures_to_open=1))
    for provider in ("openai", "gemini", "together"):
        registry.board[provider].record(False)
    stats = LLMStats()

    with pytest.raises(ChainExhausted):
        await run(registry, stats=stats)

    assert stats.calls == []
    assert all(m.call_count == 0 for m in models.values())


async def test_an_empty_chain_is_exhausted() -> None:
    stats = LLMStats()
    with pytest.raises(ChainExhausted):
        await invoke_chain(make_registry({}), [], MESSAGES, prepare=as_is, purpose="agent", stats=stats)
    assert stats.calls == []


# ============================================================================================ overhead


async def test_overhead_excludes_time_inside_the_model_and_accumulates() -> None:
    registry = make_registry({OPENAI: ScriptedChatModel(default=Sleep(0.15, "ok"))}, timeout=1)
    stats = LLMStats()

    started = time.perf_counter()
    await run(registry, chain(OPENAI), stats=stats)
    wall = time.perf_counter() - started
    first = stats.overhead_seconds
    await run(registry, chain(OPENAI), stats=stats)

    assert wall >= 0.15
    assert 0 < first < 0.1
    assert stats.overhead_seconds > first


async def test_overhead_is_recorded_when_the_chain_is_exhausted() -> None:
    registry = make_registry({OPENAI: ScriptedChatModel(default=ProviderError(400))})
    stats = LLMStats()
    with pytest.raises(ChainExhausted):
        await run(registry, chain(OPENAI), stats=stats)
    assert stats.overhead_seconds > 0


# ============================================================================================ helpers


class _Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class WithResponse(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__("http error")
        self.response = _Response(status_code)


def _caused_by(cause: BaseException) -> Exception:
    exc = RuntimeError("wrapped")
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ProviderError(429), 429),
        (CodedError(503, "UNAVAILABLE"), 503),
        (WithResponse(502), 502),
        (_caused_by(ProviderError(500)), 500),
        (_caused_by(_caused_by(CodedError(429))), 429),
        (ValueError("no status"), None),
        (CodedError(7), None),  # not an HTTP status
    ],
)
def test_http_status(exc: BaseException, status: int | None) -> None:
    assert http_status(exc) == status


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (ProviderError(429), True),
        (ProviderError(500), True),
        (ProviderError(599), True),
        (ProviderError(400), False),
        (ProviderError(408), False),
        (TimeoutError(), False),
        (ValueError("bad"), False),
        (_caused_by(CodedError(503)), True),
    ],
)
def test_is_retryable(exc: BaseException, retryable: bool) -> None:
    assert is_retryable(exc) is retryable


@pytest.mark.parametrize(
    ("exc", "label"),
    [
        (TimeoutError(), "timeout"),
        (ReadTimeoutError(), "timeout"),
        (ProviderError(429), "rate_limited"),
        (ProviderError(502), "server_error"),
        (ProviderError(401), "auth_error"),
        (ProviderError(409), "http_409"),
        (APIConnectionError(), "connection_error"),
        (KeyError("x"), "KeyError"),
    ],
)
def test_error_class(exc: BaseException, label: str) -> None:
    assert error_class(exc) == label


def test_error_class_does_not_leak_the_message() -> None:
    assert error_class(ProviderError(401, "invalid key sk-secret-123")) == "auth_error"
    assert "sk-" not in error_class(ValueError("sk-secret-123"))


def test_raw_message() -> None:
    message = text("hola")
    assert raw_message(message) is message
    assert raw_message({"raw": message, "parsed": None}) is message
    with pytest.raises(TypeError):
        raw_message("hola")
    with pytest.raises(TypeError):
        raw_message({"parsed": 1})


# ============================================================================================ model table


@pytest.mark.parametrize(
    ("name", "tokens", "cost"),
    [
        ("gpt-4o-mini", (1_000_000, 1_000_000), Decimal("0.75")),
        ("gpt-4.1", (10_000, 2_000), Decimal("0.036")),
        ("gemini-2.5-pro", (1234, 567), Decimal("0.007212")),  # 0.0015425 + 0.00567 = 0.0072125, half-even
        ("deepseek-ai/DeepSeek-V3", (0, 0), Decimal("0")),
    ],
)
def test_cost_uses_the_table_prices(name: str, tokens: tuple[int, int], cost: Decimal) -> None:
    assert spec(name).cost(*tokens) == cost


def test_shipped_table_has_every_tier_for_every_provider() -> None:
    assert {(m.provider, m.tier) for m in TABLE.models} == {
        (p, t) for p in ("openai", "gemini", "together") for t in ("small", "standard", "strong")
    }
    assert TABLE.get("no-such-model") is None
    assert TABLE.names()[0] == "gpt-4o-mini"


def _table(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(body, encoding="utf-8")
    return path


ROW = """
[[model]]
name = "{name}"
provider = "openai"
tier = "small"
context_window = 8000
input_per_mtok = 0.5
output_per_mtok = 1.5
"""


def test_parse_a_custom_table(tmp_path: Path) -> None:
    table = parse_model_table(_table(tmp_path, ROW.format(name="llama3.2") + ROW.format(name="qwen3")))
    assert isinstance(table, ModelTable)
    assert table.names() == ["llama3.2", "qwen3"]
    assert table.models[0].input_per_mtok == Decimal("0.5")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "no [[model]] rows"),
        ("[[model]\nname=", "model table"),
        (ROW.format(name="a") + ROW.format(name="a"), "duplicate model names"),
        (ROW.format(name="a").replace('"openai"', '"anthropic"'), "provider"),
        (ROW.format(name="a").replace('"small"', '"huge"'), "tier"),
        (ROW.format(name="a").replace("8000", "0"), "context_window"),
        (ROW.format(name="a").replace("0.5", "-1"), "input_per_mtok"),
        (ROW.format(name="a") + "colour = 'blue'\n", "colour"),
        (ROW.format(name=""), "name"),
    ],
)
def test_parse_model_table_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ModelTableError, match=re.escape(message)):
        parse_model_table(_table(tmp_path, body))


def test_a_missing_table_file_is_a_model_table_error(tmp_path: Path) -> None:
    with pytest.raises(ModelTableError, match=re.escape("missing.toml")):
        parse_model_table(tmp_path / "missing.toml")
