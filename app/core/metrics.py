"""Prometheus metrics of this process: the series every layer records into, defined once.

Counters and histograms live in prometheus_client's process-wide registry: the API serves them on
``/metrics`` and a worker on its own port (``WORKER_METRICS_PORT``), since each process counts only
what it did. Labels are bounded sets (routes as templates, tiers, agents, providers, Twilio error
codes): never a phone number, an id or a raw path. What belongs to the whole deployment rather than
to one process (queue depth, the concierge funnel) is read from PostgreSQL at scrape time instead
(``app.metrics_router``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter, Enum, Histogram, disable_created_metrics, start_http_server

# Counters' *_created series double the output for no use on a dashboard.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds: webhook acks and API calls are milliseconds; turns with LLM calls reach tens of seconds.
_FAST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0)

HTTP_REQUESTS = Counter(
    "agent_http_requests", "HTTP requests answered, by route template and status.", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "agent_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=_FAST_BUCKETS,
)
WEBHOOK_ACKS = Counter(
    "agent_webhook_acks",
    "Inbound WhatsApp webhooks by result: accepted, duplicate, unknown_number, spooled (database down), refused.",
    ["result"],
)
STATUS_CALLBACKS = Counter("agent_twilio_status_callbacks", "Twilio delivery status callbacks, by status.", ["status"])
JOBS = Counter("agent_jobs", "Queue jobs run by this worker, by task and outcome.", ["task", "outcome"])
JOB_DURATION = Histogram(
    "agent_job_duration_seconds", "Time a job ran, by task.", ["task"], buckets=(*_SLOW_BUCKETS, 640.0)
)
JOB_WAIT = Histogram(
    "agent_job_wait_seconds",
    "Time from a job being due to a worker starting it, by task.",
    ["task"],
    buckets=(*_FAST_BUCKETS, 20.0, 40.0, 80.0, 160.0, 320.0),
)
TURNS = Counter(
    "agent_turns",
    "Agent turns by channel, tier, agent and outcome (answered, handoff, dont_know, failed).",
    ["channel", "tier", "agent", "outcome"],
)
TURN_DURATION = Histogram(
    "agent_turn_duration_seconds",
    "Time to run one turn, by channel and tier.",
    ["channel", "tier"],
    buckets=_SLOW_BUCKETS,
)
LLM_CALLS = Counter(
    "agent_llm_calls", "LLM calls (after retries), by provider, model and outcome.", ["provider", "model", "outcome"]
)
LLM_ERRORS = Counter(
    "agent_llm_errors", "Failed LLM calls, by provider, model and error.", ["provider", "model", "error"]
)
LLM_TOKENS = Counter(
    "agent_llm_tokens",
    "LLM tokens, by provider, model and direction (input, output).",
    ["provider", "model", "direction"],
)
LLM_COST = Counter("agent_llm_cost_usd", "LLM spend in US dollars, by provider and model.", ["provider", "model"])
LLM_DURATION = Histogram(
    "agent_llm_call_duration_seconds",
    "Time of one LLM call with its retries, by provider and model.",
    ["provider", "model"],
    buckets=_SLOW_BUCKETS,
)
CIRCUIT_STATE = Enum(
    "agent_llm_circuit_state",
    "Circuit breaker state of each LLM provider in this process.",
    ["provider"],
    states=["closed", "open", "half_open"],
)
TWILIO_SENDS = Counter(
    "agent_twilio_sends",
    "Attempts to hand an outbound WhatsApp part to Twilio, by result (Twilio's status, rate_limited, retrying, "
    "failed, simulated, found: adopted from Twilio's list after an unclear answer) and Twilio error code.",
    ["status", "error_code"],
)
DELIVERY_FAILURES = Counter(
    "agent_delivery_failures",
    "Reply parts given up on (marked failed, conversation handed to an operator), by Twilio error code.",
    ["error_code"],
)
RATE_LIMITED = Counter(
    "agent_rate_limited",
    "Requests and WhatsApp messages held back by a rate limit: api (429s), sender (messages not answered).",
    ["kind"],
)
CONCIERGE_EVENTS = Counter(
    "agent_concierge_events",
    "Concierge steps done by this process: outreach_sent, vendor_reply, shortlist_sent.",
    ["event"],
)


def record_turn(*, channel: str, tier: str, agent: str, outcome: str, seconds: float) -> None:
    """Count one turn and its duration."""
    TURNS.labels(channel, tier, agent, outcome).inc()
    TURN_DURATION.labels(channel, tier).observe(seconds)


def record_llm_call(
    *,
    provider: str,
    model: str,
    seconds: float,
    error: str | None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cost_usd: float = 0.0,
) -> None:
    """Count one LLM call: its outcome, tokens, cost and time (``error`` is a short label, None on success)."""
    LLM_CALLS.labels(provider, model, "error" if error else "success").inc()
    LLM_DURATION.labels(provider, model).observe(seconds)
    if error:
        LLM_ERRORS.labels(provider, model, error).inc()
        return
    LLM_TOKENS.labels(provider, model, "input").inc(input_tokens)
    LLM_TOKENS.labels(provider, model, "output").inc(output_tokens)
    LLM_COST.labels(provider, model).inc(cost_usd)


def record_send(*, status: str, error_code: int | None = None) -> None:
    """Count one outbound part handed to Twilio (or simulated)."""
    TWILIO_SENDS.labels(status, str(error_code) if error_code is not None else "").inc()


def record_delivery_failure(*, error_code: int | None) -> None:
    """Count one reply part that could not be delivered after its retries."""
    DELIVERY_FAILURES.labels(str(error_code) if error_code is not None else "").inc()


def record_circuit(provider: str, state: str) -> None:
    """Publish a provider's circuit state."""
    CIRCUIT_STATE.labels(provider).state(state)


async def record_job(call_next: Callable[[], Awaitable[Any]], context: Any, worker: Any) -> Any:
    """A procrastinate worker middleware: every job's wait, run time and outcome, by task name."""
    job = context.job
    task = job.task_name
    started = time.time()
    if job.scheduled_at is not None:
        JOB_WAIT.labels(task).observe(max(0.0, started - job.scheduled_at.timestamp()))
    outcome = "failed"
    try:
        result = await call_next()
        outcome = "succeeded"
        return result
    finally:
        JOBS.labels(task, outcome).inc()
        JOB_DURATION.labels(task).observe(time.time() - started)


def serve_metrics(*, host: str, port: int) -> Callable[[], None]:
    """Serve this process's series on ``host:port`` from a background thread; returns the function that stops it."""
    server, thread = start_http_server(port, addr=host)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
