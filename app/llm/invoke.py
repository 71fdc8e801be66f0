"""Calling a chain of models: per-call timeout, retries on 429/5xx only, circuit breakers, usage records."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from app.core.metrics import record_llm_call
from app.llm.models import ModelSpec
from app.llm.providers import ProviderRegistry

log = logging.getLogger(__name__)
Prepare = Callable[[BaseChatModel], Runnable[Any, Any]]


@dataclass
class LLMCall:
    """One call to one model (after its retries): what it cost and how it went."""

    purpose: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal
    latency_ms: int
    success: bool
    error_class: str | None
    failover: bool
    attempts: int


@dataclass
class LLMStats:
    """The LLM calls of one turn and the time spent around them (routing, breakers, retries' bookkeeping)."""

    calls: list[LLMCall] = field(default_factory=list)
    overhead_seconds: float = 0.0

    @property
    def input_tokens(self) -> int:
        """Input tokens over all calls."""
        return sum(c.input_tokens for c in self.calls)

    @property
    def output_tokens(self) -> int:
        """Output tokens over all calls."""
        return sum(c.output_tokens for c in self.calls)

    @property
    def cost_usd(self) -> Decimal:
        """Cost over all calls."""
        return sum((c.cost_usd for c in self.calls), Decimal(0))


class ChainExhausted(Exception):
    """Every model of the chain failed or had its circuit open."""


def http_status(exc: BaseException) -> int | None:
    """The HTTP status behind a provider error (OpenAI's ``status_code``, google-genai's ``code``), if any."""
    for attr in ("status_code", "code", "status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    if isinstance(value, int):
        return value
    cause = exc.__cause__
    return http_status(cause) if cause is not None and cause is not exc else None


def is_retryable(exc: BaseException) -> bool:
    """Retry rate limits and server errors only; timeouts, 4xx and bad output move to the next model."""
    status = http_status(exc)
    return status is not None and (status == 429 or 500 <= status < 600)


def error_class(exc: BaseException) -> str:
    """A short, secret-free label for an error: ``rate_limited``, ``server_error``, ``timeout``, ..."""
    status = http_status(exc)
    if isinstance(exc, TimeoutError) or "Timeout" in type(exc).__name__:
        return "timeout"
    if status == 429:
        return "rate_limited"
    if status is not None and status >= 500:
        return "server_error"
    if status in (401, 403):
        return "auth_error"
    if status is not None:
        return f"http_{status}"
    if "Connection" in type(exc).__name__:
        return "connection_error"
    return type(exc).__name__


def _usage(message: AIMessage, messages: Sequence[BaseMessage]) -> tuple[int, int]:
    usage = message.usage_metadata
    if usage:
        return int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    # A provider that reports no usage: estimate (4 characters a token) rather than count it free.
    chars_in = sum(len(str(m.content)) for m in messages)
    return chars_in // 4 + 1, len(str(message.content)) // 4 + 1


def raw_message(result: Any) -> AIMessage:
    """The AIMessage inside a result (``with_structured_output(..., include_raw=True)`` gives a dict)."""
    if isinstance(result, dict):
        raw = result.get("raw")
        if isinstance(raw, AIMessage):
            return raw
    if isinstance(result, AIMessage):
        return result
    raise TypeError(f"unexpected model result {type(result).__name__}")


async def invoke_chain(
    registry: ProviderRegistry,
    chain: Sequence[ModelSpec],
    messages: Sequence[BaseMessage],
    *,
    prepare: Prepare,
    purpose: str,
    stats: LLMStats,
) -> tuple[Any, ModelSpec]:
    """The first answer from ``chain``, in order; every call is recorded in ``stats``.

    A model whose provider's circuit is open is skipped. Each call has its own timeout and is retried
    with exponential backoff and jitter on 429 and 5xx only; any other failure moves to the next model.
    """
    tried = 0
    entered = time.perf_counter()
    in_model = 0.0
    try:
        for spec in chain:
            result, in_model_here, ok = await _call_one(registry, spec, messages, prepare, purpose, stats, tried > 0)
            in_model += in_model_here
            if ok:
                return result, spec
            if result is not _SKIPPED:
                tried += 1
    finally:
        stats.overhead_seconds += max(0.0, time.perf_counter() - entered - in_model)
    raise ChainExhausted(f"no model of {[m.name for m in chain]} answered")


_SKIPPED = object()


async def _call_one(
    registry: ProviderRegistry,
    spec: ModelSpec,
    messages: Sequence[BaseMessage],
    prepare: Prepare,
    purpose: str,
    stats: LLMStats,
    failover: bool,
) -> tuple[Any, float, bool]:
    """(result, seconds inside the model, succeeded) for one model of a chain."""
    limits = registry.limits
    calls = stats.calls
    health = registry.board[spec.provider]
    if not health.allow():
        log.info("llm %s skipped: %s circuit open", spec.name, spec.provider)
        return _SKIPPED, 0.0, False
    attempts = 0
    in_model = 0.0
    started = time.perf_counter()
    try:
        # Inside the try: a model that cannot be built or bound is a failure like any other (and
        # must not keep a half-open probe slot forever).
        runnable = prepare(registry.chat_model(spec))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(limits.max_retries + 1),
            wait=wait_random_exponential(multiplier=limits.retry_base_seconds, max=8),
            retry=retry_if_exception(is_retryable),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                attempts += 1
                call_started = time.perf_counter()
                try:
                    async with asyncio.timeout(limits.timeout_seconds):
                        result = await runnable.ainvoke(list(messages))
                finally:
                    in_model += time.perf_counter() - call_started
        message = raw_message(result)
    except asyncio.CancelledError:
        health.release_probe()
        raise
    except Exception as exc:  # noqa: BLE001 - any provider failure moves on to the next model
        latency = int((time.perf_counter() - started) * 1000)
        health.record(False)
        label = error_class(exc)
        log.warning("llm %s/%s failed after %d attempt(s): %s", spec.provider, spec.name, attempts, label)
        record_llm_call(provider=spec.provider, model=spec.name, seconds=latency / 1000, error=label)
        calls.append(
            LLMCall(purpose, spec.provider, spec.name, 0, 0, Decimal(0), latency, False, label, failover, attempts)
        )
        return None, in_model, False
    latency = int((time.perf_counter() - started) * 1000)
    health.record(True)
    tokens_in, tokens_out = _usage(message, messages)
    cost = spec.cost(tokens_in, tokens_out)
    record_llm_call(
        provider=spec.provider,
        model=spec.name,
        seconds=latency / 1000,
        error=None,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=float(cost),
    )
    calls.append(
        LLMCall(
            purpose,
            spec.provider,
            spec.name,
            tokens_in,
            tokens_out,
            cost,
            latency,
            True,
            None,
            failover,
            attempts,
        )
    )
    return result, in_model, True
