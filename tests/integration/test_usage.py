"""LLM usage: the daily summary against the raw calls, retention, the report over HTTP, the periodic
jobs on a real worker, and agentctl usage.

Calls are written straight into llm_calls (as record_calls would) with realistic, seeded values, so
every expected figure is computed here from the same rows, independently of the SQL under test.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pytest
from sqlalchemy import func, select

from app.conversations.models import Conversation, Turn
from app.core.db import session_scope
from app.core.errors import InvalidInput
from app.usage import service as usage_service
from app.usage.jobs import purge_expired
from app.usage.models import LLMCallRecord, UsageDaily
from tests.helpers import TenantHandle, admin_headers, make_tenant, new_number
from tests.integration.agentctl import Cli

# provider, model, USD per input token, USD per output token
MODELS = [
    ("openai", "gpt-4.1-mini", Decimal("0.0000004"), Decimal("0.0000016")),
    ("gemini", "gemini-2.5-flash", Decimal("0.0000003"), Decimal("0.0000025")),
    ("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", Decimal("0.00000088"), Decimal("0.00000088")),
]
ERRORS = ["RateLimitError", "APITimeoutError", "InternalServerError"]
TODAY = datetime.now(UTC).date()
D1 = TODAY - timedelta(days=12)  # days only this module writes calls on
D2 = D1 + timedelta(days=1)
D3 = D2 + timedelta(days=1)
Key = tuple[uuid.UUID, date, str, str]


def at(day: date, hour: int = 0, minute: int = 0, second: int = 0, microsecond: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, microsecond, tzinfo=UTC)


def make_calls(
    rng: random.Random, tenant_id: uuid.UUID, day: date, n: int, models: list[tuple[str, str, Decimal, Decimal]]
) -> list[dict[str, Any]]:
    """``n`` calls spread over one UTC day: about 15% failures (timeouts are slow), 20% failovers."""
    calls = []
    for _ in range(n):
        provider, model, price_in, price_out = rng.choice(models)
        success = rng.random() > 0.15
        input_tokens = rng.randint(400, 6000)
        output_tokens = rng.randint(20, 450) if success else 0
        cost = (input_tokens * price_in + output_tokens * price_out).quantize(Decimal("0.000001"))
        error = None if success else rng.choice(ERRORS)
        latency = int(rng.lognormvariate(7.0, 0.5)) if success else (20_000 if error == "APITimeoutError" else 900)
        calls.append(
            {
                "tenant_id": tenant_id,
                "conversation_id": None,
                "turn_id": None,
                "purpose": rng.choice(["reply", "classify"]),
                "provider": provider,
                "model": model,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost_usd": cost if success else Decimal(0),
                "latency_ms": latency,
                "success": success,
                "error_class": error,
                "failover": rng.random() < 0.2,
                "attempts": 1 if success else rng.randint(1, 3),
                "routing_reason": "standard",
                "complexity": round(rng.random(), 3),
                "created_at": at(day) + timedelta(seconds=rng.randint(0, 86_399), microseconds=rng.randint(0, 999_999)),
            }
        )
    return calls


async def insert_calls(calls: list[dict[str, Any]]) -> None:
    async with session_scope() as session:
        session.add_all(LLMCallRecord(**c) for c in calls)


def expected_summary(calls: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    """usage_daily as it should be, computed in Python; percentiles by linear interpolation between
    the closest ranks, which is what percentile_cont does."""
    groups: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for c in calls:
        day = c["created_at"].astimezone(UTC).date()
        groups[(c["tenant_id"], day, c["provider"], c["model"])].append(c)
    summary = {}
    for key, rows in groups.items():
        latencies = [r["latency_ms"] for r in rows]
        p50, p95, p99 = np.percentile(latencies, [50, 95, 99], method="linear")
        summary[key] = {
            "calls": len(rows),
            "failures": sum(not r["success"] for r in rows),
            "failovers": sum(r["failover"] for r in rows),
            "input_tokens": sum(r["input_tokens"] for r in rows),
            "output_tokens": sum(r["output_tokens"] for r in rows),
            "cost_usd": sum((r["cost_usd"] for r in rows), Decimal(0)),
            "latency_p50_ms": pytest.approx(float(p50), rel=1e-12),
            "latency_p95_ms": pytest.approx(float(p95), rel=1e-12),
            "latency_p99_ms": pytest.approx(float(p99), rel=1e-12),
        }
    return summary


async def stored_summary(tenant_ids: list[uuid.UUID], days: list[date]) -> dict[Key, dict[str, Any]]:
    async with session_scope() as session:
        rows = (
            (
                await session.execute(
                    select(UsageDaily).where(UsageDaily.tenant_id.in_(tenant_ids), UsageDaily.day.in_(days))
                )
            )
            .scalars()
            .all()
        )
    return {
        (r.tenant_id, r.day, r.provider, r.model): {
            "calls": r.calls,
            "failures": r.failures,
            "failovers": r.failovers,
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "cost_usd": r.cost_usd,
            "latency_p50_ms": r.latency_p50_ms,
            "latency_p95_ms": r.latency_p95_ms,
            "latency_p99_ms": r.latency_p99_ms,
            "updated_at": r.updated_at,
        }
        for r in rows
    }


def without_updated_at(summary: dict[Key, dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    return {k: {f: v for f, v in row.items() if f != "updated_at"} for k, row in summary.items()}


async def summarize(day: date, tenant_id: uuid.UUID | None = None) -> int:
    async with session_scope() as session:
        return await usage_service.summarize_day(session, day=day, tenant_id=tenant_id)


@dataclass
class UsageData:
    a: TenantHandle
    b: TenantHandle
    calls: list[dict[str, Any]]

    @property
    def a_id(self) -> uuid.UUID:
        return uuid.UUID(self.a.id)

    @property
    def b_id(self) -> uuid.UUID:
        return uuid.UUID(self.b.id)


@pytest.fixture(scope="module")
async def data(client: Any) -> UsageData:
    """Two tenants with calls on D1 and D2, including rows on the edges of the UTC day."""
    a = await make_tenant(client, name="Usage Alfa")
    b = await make_tenant(client, name="Usage Bravo")
    a_id, b_id = uuid.UUID(a.id), uuid.UUID(b.id)
    rng = random.Random(20261122)
    calls = (
        make_calls(rng, a_id, D1, 60, MODELS)
        + make_calls(rng, a_id, D2, 45, MODELS)
        + make_calls(rng, b_id, D1, 30, MODELS[:2])
        + make_calls(rng, b_id, D2, 25, MODELS[1:])
    )
    edges = [
        at(D1),  # the first instant of D1
        at(D1, 23, 59, 59, 999_999),  # the last of D1
        # 20:00 in Mexico City on D1 is 02:00 UTC on D2: usage days are UTC days.
        datetime(D1.year, D1.month, D1.day, 20, tzinfo=ZoneInfo("America/Mexico_City")),
        at(D3),  # the first instant of D3: in neither D1 nor D2
    ]
    for moment in edges:
        edge = make_calls(rng, a_id, D1, 1, MODELS[:1])[0]
        edge["created_at"] = moment
        calls.append(edge)
    await insert_calls(calls)
    return UsageData(a=a, b=b, calls=calls)


# --------------------------------------------------------------------------- the daily summary


async def test_summarize_day_matches_the_raw_calls_and_is_idempotent(data: UsageData) -> None:
    expected = expected_summary(data.calls)
    tenants = [data.a_id, data.b_id]
    d1_groups = sum(1 for k in expected if k[1] == D1)
    d2_groups = sum(1 for k in expected if k[1] == D2)
    assert d1_groups == 3 + 2 and d2_groups == 3 + 2  # A used all three models; B two a day

    assert await summarize(D1) == d1_groups
    assert await summarize(D2) == d2_groups
    first = await stored_summary(tenants, [D1, D2, D3])
    in_range = {k: v for k, v in expected.items() if k[1] in (D1, D2)}
    assert without_updated_at(first) == in_range  # D3's edge row is not summarized by D2
    # The edge rows landed where UTC says: two on D1, the Mexico City evening on D2.
    first_model = (data.a_id, D1, MODELS[0][0], MODELS[0][1])
    assert first[first_model]["calls"] == sum(
        1 for c in data.calls if c["tenant_id"] == data.a_id and c["model"] == MODELS[0][1] and c["created_at"] < at(D2)
    )

    assert await summarize(D1) == d1_groups
    assert await summarize(D2) == d2_groups
    again = await stored_summary(tenants, [D1, D2, D3])
    assert without_updated_at(again) == without_updated_at(first)

    assert await summarize(D3, tenant_id=data.a_id) == 1
    d3 = await stored_summary(tenants, [D3])
    assert without_updated_at(d3) == {k: v for k, v in expected.items() if k[1] == D3}


async def test_summarize_day_for_one_tenant_leaves_the_others_alone(data: UsageData) -> None:
    await summarize(D1)
    before = await stored_summary([data.a_id, data.b_id], [D1])
    late = make_calls(random.Random(7), data.a_id, D1, 1, MODELS[2:])[0]
    late["success"], late["error_class"], late["latency_ms"] = False, "RateLimitError", 50_000
    await insert_calls([late])

    assert await summarize(D1, tenant_id=data.a_id) == 3
    after = await stored_summary([data.a_id, data.b_id], [D1])
    key = (data.a_id, D1, MODELS[2][0], MODELS[2][1])
    assert after[key]["calls"] == before[key]["calls"] + 1
    assert after[key]["failures"] == before[key]["failures"] + 1
    assert after[key]["latency_p99_ms"] > before[key]["latency_p99_ms"]
    assert after[key]["updated_at"] > before[key]["updated_at"]
    data.calls.append(late)  # the module's data now includes it, for the tests that follow
    assert without_updated_at(after) == {k: v for k, v in expected_summary(data.calls).items() if k[1] == D1}
    for k, row in before.items():
        if k[0] == data.b_id:
            assert after[k] == row  # not even rewritten


async def test_summarize_day_without_calls_writes_nothing() -> None:
    assert await summarize(date(2001, 1, 1)) == 0


# --------------------------------------------------------------------------- retention


async def count_calls(tenant_id: uuid.UUID) -> list[datetime]:
    async with session_scope() as session:
        stmt = select(LLMCallRecord.created_at).where(LLMCallRecord.tenant_id == tenant_id)
        return sorted((await session.execute(stmt.order_by(LLMCallRecord.created_at))).scalars())


async def expired_count(older_than_days: int) -> int:
    cutoff = usage_service.retention_cutoff(older_than_days=older_than_days)
    async with session_scope() as session:
        stmt = select(func.count()).select_from(LLMCallRecord).where(LLMCallRecord.created_at < cutoff)
        return int((await session.execute(stmt)).scalar_one())


async def test_purge_removes_only_expired_calls_and_keeps_the_summary(client: Any) -> None:
    tenant = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    old_day, kept_day = TODAY - timedelta(days=301), TODAY - timedelta(days=300)
    rng = random.Random(3)
    old = make_calls(rng, tenant_id, old_day, 6, MODELS)
    old[0]["created_at"] = at(old_day, 23, 59, 59, 999_999)  # the retention cuts at a UTC midnight
    kept = make_calls(rng, tenant_id, kept_day, 4, MODELS)
    kept[0]["created_at"] = at(kept_day)
    recent = make_calls(rng, tenant_id, TODAY - timedelta(days=2), 3, MODELS)
    await insert_calls(old + kept + recent)
    await summarize(old_day, tenant_id)
    summary = await stored_summary([tenant_id], [old_day])
    assert sum(row["calls"] for row in summary.values()) == 6

    expected = await expired_count(300)
    assert expected >= len(old)
    async with session_scope() as session:
        assert await usage_service.purge_usage(session, older_than_days=300) == expected

    remaining = await count_calls(tenant_id)
    assert remaining == sorted(c["created_at"] for c in kept + recent)
    assert await stored_summary([tenant_id], [old_day]) == summary  # usage_daily untouched
    # Re-summarizing a purged day finds no calls and keeps the summary it had.
    assert await summarize(old_day, tenant_id) == 0
    assert await stored_summary([tenant_id], [old_day]) == summary


async def test_purge_in_batches_deletes_everything_expired(client: Any) -> None:
    tenant = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    old = make_calls(random.Random(5), tenant_id, TODAY - timedelta(days=500), 7, MODELS)
    recent = make_calls(random.Random(6), tenant_id, TODAY - timedelta(days=1), 2, MODELS)
    await insert_calls(old + recent)
    expected = await expired_count(400)
    assert expected == len(old)

    assert await purge_expired(older_than_days=400, batch_rows=3) == expected
    assert await count_calls(tenant_id) == sorted(c["created_at"] for c in recent)
    assert await purge_expired(older_than_days=400, batch_rows=3) == 0


async def test_purge_refuses_a_retention_that_would_cut_into_yesterday() -> None:
    async with session_scope() as session:
        with pytest.raises(InvalidInput):
            await usage_service.purge_usage(session, older_than_days=0)


# --------------------------------------------------------------------------- the report over HTTP


async def insert_turns(tenant_id: uuid.UUID, turns: list[dict[str, Any]]) -> None:
    async with session_scope() as session:
        conversation = Conversation(tenant_id=tenant_id, customer=new_number().removeprefix("whatsapp:"))
        session.add(conversation)
        await session.flush()
        for t in turns:
            llm = t["tier"] == "llm"
            session.add(
                Turn(
                    tenant_id=tenant_id,
                    conversation_id=conversation.id,
                    channel="whatsapp",
                    intent="catalog",
                    agent="catalog",
                    reply="Tenemos un Mazda 3 2019 en $265,000.",
                    model="gpt-4.1-mini" if llm else None,
                    **t,
                )
            )


def by_model(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["provider"], r["model"]): r for r in rows}


def from_api(row: dict[str, Any], fields: Any) -> dict[str, Any]:
    """The fields of a row of the API (costs come as exact decimal strings)."""
    return {f: Decimal(row[f]) if f == "cost_usd" else row[f] for f in fields}


async def test_report_per_day_and_model_with_totals_and_turns(client: Any, data: UsageData) -> None:
    await summarize(D1)
    await summarize(D2)
    await insert_turns(
        data.a_id,
        [
            {"tier": "offline", "created_at": at(D1, 9), "handoff": False},
            {"tier": "llm", "created_at": at(D1, 10), "llm_calls": 2, "input_tokens": 3100, "output_tokens": 210,
             "cost_usd": Decimal("0.001576")},
            {"tier": "llm", "created_at": at(D2, 23, 59, 59), "llm_calls": 1, "input_tokens": 1800,
             "output_tokens": 95, "cost_usd": Decimal("0.000872"), "handoff": True, "handoff_reason": "customer_asked"},
            {"tier": "offline", "created_at": at(D2, 12), "handoff": True, "handoff_reason": "keyword"},
            {"tier": "offline", "created_at": at(D3), "handoff": False},  # after the range
        ],
    )  # fmt: skip
    await insert_turns(data.b_id, [{"tier": "llm", "created_at": at(D1, 11), "llm_calls": 5}])

    r = await client.get(
        f"/v1/tenants/{data.a.slug}/usage",
        params={"from": D1.isoformat(), "to": D2.isoformat()},
        headers=data.a.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tenant_id"] == data.a.id and body["from"] == D1.isoformat() and body["to"] == D2.isoformat()

    expected = {k: v for k, v in expected_summary(data.calls).items() if k[0] == data.a_id}
    assert [d["day"] for d in body["days"]] == [D1.isoformat(), D2.isoformat()]
    for day in body["days"]:
        want = {(k[2], k[3]): v for k, v in expected.items() if k[1].isoformat() == day["day"]}
        got = by_model(day["models"])
        assert got.keys() == want.keys()
        for model, row in want.items():
            assert from_api(got[model], row) == row
        costs = [Decimal(m["cost_usd"]) for m in day["models"]]
        assert costs == sorted(costs, reverse=True)  # dearest first
        assert day["calls"] == sum(r["calls"] for r in want.values())
        assert Decimal(day["cost_usd"]) == sum((r["cost_usd"] for r in want.values()), Decimal(0))

    a_calls = [c for c in data.calls if c["tenant_id"] == data.a_id and at(D1) <= c["created_at"] < at(D3)]
    assert from_api(body["totals"], body["totals"]) == {
        "calls": len(a_calls),
        "failures": sum(not c["success"] for c in a_calls),
        "failovers": sum(c["failover"] for c in a_calls),
        "input_tokens": sum(c["input_tokens"] for c in a_calls),
        "output_tokens": sum(c["output_tokens"] for c in a_calls),
        "cost_usd": sum((c["cost_usd"] for c in a_calls), Decimal(0)),
    }
    models = by_model(body["models"])
    assert len(models) == 3
    for (provider, model), row in models.items():
        mine = [c for c in a_calls if (c["provider"], c["model"]) == (provider, model)]
        assert row["calls"] == len(mine)
        assert Decimal(row["cost_usd"]) == sum((c["cost_usd"] for c in mine), Decimal(0))

    assert from_api(body["turns"], body["turns"]) == {
        "turns": 4,
        "by_tier": {"llm": 2, "offline": 2},
        "llm_turns": 2,
        "handoffs": 2,
        "llm_calls": 3,
        "input_tokens": 4900,
        "output_tokens": 305,
        "cost_usd": Decimal("0.002448"),
    }

    admin = await client.get(
        f"/v1/tenants/{data.a.slug}/usage",
        params={"from": D1.isoformat(), "to": D2.isoformat()},
        headers=admin_headers(),
    )
    assert admin.status_code == 200 and admin.json() == body


async def test_report_summarizes_today_and_yesterday_first(client: Any) -> None:
    tenant = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    now = datetime.now(UTC)
    rng = random.Random(11)
    calls = make_calls(rng, tenant_id, TODAY - timedelta(days=1), 8, MODELS) + make_calls(
        rng, tenant_id, TODAY, 5, MODELS
    )
    for c in calls[8:]:
        c["created_at"] = min(c["created_at"], now)
    await insert_calls(calls)  # never summarized by anyone

    r = await client.get(f"/v1/tenants/{tenant.slug}/usage", headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"]["calls"] == 13
    assert [d["calls"] for d in body["days"][-2:]] == [8, 5]

    extra = make_calls(rng, tenant_id, TODAY, 1, MODELS[:1])[0]
    extra["created_at"] = now
    await insert_calls([extra])
    again = (await client.get(f"/v1/tenants/{tenant.slug}/usage", headers=tenant.headers)).json()
    assert again["totals"]["calls"] == 14 and again["days"][-1]["calls"] == 6


async def test_report_default_range_is_the_last_30_days(client: Any, data: UsageData) -> None:
    url = f"/v1/tenants/{data.a.slug}/usage"
    body = (await client.get(url, headers=data.a.headers)).json()
    assert body["from"] == (TODAY - timedelta(days=29)).isoformat() and body["to"] == TODAY.isoformat()
    assert [d["day"] for d in body["days"]] == [(TODAY - timedelta(days=29 - i)).isoformat() for i in range(30)]
    quiet = next(d for d in body["days"] if d["day"] == (TODAY - timedelta(days=20)).isoformat())
    assert quiet == {
        "day": quiet["day"], "calls": 0, "failures": 0, "failovers": 0, "input_tokens": 0, "output_tokens": 0,
        "cost_usd": "0", "models": [],
    }  # fmt: skip

    only_to = (await client.get(url, params={"to": D2.isoformat()}, headers=data.a.headers)).json()
    assert only_to["from"] == (D2 - timedelta(days=29)).isoformat() and len(only_to["days"]) == 30
    only_from = (await client.get(url, params={"from": D1.isoformat()}, headers=data.a.headers)).json()
    assert only_from["to"] == TODAY.isoformat() and len(only_from["days"]) == 13


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": D2.isoformat(), "to": D1.isoformat()}, "'from' must not be after 'to'"),
        ({"from": (TODAY - timedelta(days=366)).isoformat(), "to": TODAY.isoformat()}, "at most 366 days"),
        ({"from": (TODAY + timedelta(days=1)).isoformat()}, "'from' must not be after 'to'"),
        ({"from": "2026-02-30"}, "Request validation failed"),
        ({"to": "yesterday"}, "Request validation failed"),
    ],
)
async def test_report_rejects_bad_ranges(client: Any, data: UsageData, params: dict[str, str], message: str) -> None:
    r = await client.get(f"/v1/tenants/{data.a.slug}/usage", params=params, headers=data.a.headers)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and message in error["message"]


async def test_report_allows_exactly_366_days(client: Any, data: UsageData) -> None:
    params = {"from": (D2 - timedelta(days=365)).isoformat(), "to": D2.isoformat()}
    r = await client.get(f"/v1/tenants/{data.a.slug}/usage", params=params, headers=data.a.headers)
    assert r.status_code == 200 and len(r.json()["days"]) == 366


async def test_report_needs_a_key_of_the_same_tenant(client: Any, data: UsageData) -> None:
    url = f"/v1/tenants/{data.a.slug}/usage"
    r = await client.get(url)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = await client.get(url, headers={"Authorization": "Bearer not-a-key"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = await client.get(url, headers=data.b.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert "calls" not in r.text
    r = await client.get(f"/v1/tenants/no-such-{uuid.uuid4().hex[:8]}/usage", headers=admin_headers())
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"

    # Each tenant sees only its own calls, on the same days.
    a = (await client.get(url, params={"from": D1.isoformat(), "to": D2.isoformat()}, headers=data.a.headers)).json()
    b_url = f"/v1/tenants/{data.b.slug}/usage"
    b = (await client.get(b_url, params={"from": D1.isoformat(), "to": D2.isoformat()}, headers=data.b.headers)).json()
    b_calls = [c for c in data.calls if c["tenant_id"] == data.b_id]
    assert b["totals"]["calls"] == len(b_calls)
    assert Decimal(b["totals"]["cost_usd"]) == sum((c["cost_usd"] for c in b_calls), Decimal(0))
    a_calls = [c for c in data.calls if c["tenant_id"] == data.a_id and c["created_at"] < at(D3)]
    assert a["totals"]["calls"] == len(a_calls)
    assert {m["model"] for m in b["models"]} == {m[1] for m in MODELS}  # B used two models a day, three in all


# --------------------------------------------------------------------------- the periodic jobs


def test_usage_jobs_are_periodic_tasks_of_the_queue() -> None:
    from app.worker import get_queue

    periodic = {key: p.cron for key, p in get_queue().periodic_registry.periodic_tasks.items()}
    assert periodic[("usage:summarize", "summarize")] == "*/10 * * * *"
    assert periodic[("usage:purge", "purge")] == "17 3 * * *"


async def wait_for(predicate: Any, within: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await predicate():
        assert loop.time() < deadline, f"not done within {within} s"
        await asyncio.sleep(0.1)


@pytest.mark.usefixtures("worker")
async def test_usage_jobs_run_on_the_worker(client: Any, queue: Any) -> None:
    tenant = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    rng = random.Random(13)
    now = datetime.now(UTC)
    recent = make_calls(rng, tenant_id, TODAY - timedelta(days=1), 6, MODELS)
    today = make_calls(rng, tenant_id, TODAY, 1, MODELS[:1])
    today[0]["created_at"] = now
    expired = make_calls(rng, tenant_id, TODAY - timedelta(days=800), 3, MODELS)
    await insert_calls(recent + today + expired)
    expected = expected_summary(recent + today)

    await queue.tasks["usage:summarize"].defer_async(timestamp=int(now.timestamp()))

    async def summarized() -> bool:
        got = await stored_summary([tenant_id], [TODAY - timedelta(days=1), TODAY])
        return without_updated_at(got) == expected

    await wait_for(summarized)

    await queue.tasks["usage:purge"].defer_async(timestamp=int(now.timestamp()))

    async def purged() -> bool:
        return len(await count_calls(tenant_id)) == len(recent) + 1

    await wait_for(purged)
    assert await count_calls(tenant_id) == sorted(c["created_at"] for c in recent + today)


# --------------------------------------------------------------------------- agentctl usage


def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    from app.core.db import libpq_conninfo

    with psycopg.connect(libpq_conninfo()) as conn:
        return list(conn.execute(sql, params).fetchall())


def insert_calls_sync(calls: list[dict[str, Any]]) -> None:
    from app.core.db import libpq_conninfo

    columns = list(calls[0])
    sql = f"INSERT INTO llm_calls ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    with psycopg.connect(libpq_conninfo()) as conn, conn.cursor() as cur:
        cur.executemany(sql, [tuple(c[col] for col in columns) for c in calls])


@pytest.fixture
def cli_tenant(cli: Cli) -> tuple[str, uuid.UUID]:
    slug = f"usage-{uuid.uuid4().hex[:10]}"
    cli.ok("tenant", "create", slug, "--name", "Usage CLI", "--number", new_number())
    [(tenant_id,)] = query("SELECT id FROM tenants WHERE slug = %s", slug)
    return slug, tenant_id


def test_cli_summarize_and_show(cli: Cli, cli_tenant: tuple[str, uuid.UUID]) -> None:
    slug, tenant_id = cli_tenant
    day = TODAY - timedelta(days=40)  # only this test writes calls on this day
    calls = make_calls(random.Random(17), tenant_id, day, 20, MODELS)
    insert_calls_sync(calls)
    expected = expected_summary(calls)

    assert f"summarized {day}: 3 rows" in cli.ok("usage", "summarize", "--day", day.isoformat())
    report = json.loads(cli.ok("usage", "show", slug, "--from", day.isoformat(), "--to", day.isoformat(), "--json"))
    assert report["from"] == report["to"] == day.isoformat()
    [shown] = report["days"]
    got = by_model(shown["models"])
    for (_, _, provider, model), row in expected.items():
        assert from_api(got[(provider, model)], row) == row
    assert report["totals"]["calls"] == 20
    assert Decimal(report["totals"]["cost_usd"]) == sum((c["cost_usd"] for c in calls), Decimal(0))

    table = cli.ok("usage", "show", slug, "--from", day.isoformat(), "--to", day.isoformat())
    for provider, model, _, _ in MODELS:
        row = next(line for line in table.splitlines() if model in line)
        assert provider in row and day.isoformat() in row
        assert str(expected[(tenant_id, day, provider, model)]["calls"]) in row
    total = next(line for line in table.splitlines() if "total" in line)
    assert " 20 " in total and f"{sum((c['cost_usd'] for c in calls), Decimal(0)):.6f}" in total
    assert "turns: 0 (-)" in table

    quiet = cli.ok("usage", "show", slug, "--to", (day - timedelta(days=1)).isoformat())
    assert "no LLM calls" in quiet


def test_cli_summarize_defaults_to_yesterday_and_today(cli: Cli, cli_tenant: tuple[str, uuid.UUID]) -> None:
    _, tenant_id = cli_tenant
    call = make_calls(random.Random(19), tenant_id, TODAY, 1, MODELS[:1])[0]
    call["created_at"] = datetime.now(UTC)
    insert_calls_sync([call])
    assert "summarized yesterday and today" in cli.ok("usage", "summarize")
    assert query("SELECT day, calls FROM usage_daily WHERE tenant_id = %s", tenant_id) == [(TODAY, 1)]


def test_cli_errors_are_clean(cli: Cli, cli_tenant: tuple[str, uuid.UUID]) -> None:
    slug, _ = cli_tenant
    missing = f"nope-{uuid.uuid4().hex[:8]}"
    assert f"tenant '{missing}' not found" in cli.fails("usage", "show", missing)
    assert "'from' must not be after 'to'" in cli.fails(
        "usage", "show", slug, "--from", "2026-05-02", "--to", "2026-05-01"
    )
    assert "at most 366 days" in cli.fails("usage", "show", slug, "--from", "2024-01-01", "--to", "2026-01-01")
    assert cli.invoke("usage", "show", slug, "--from", "01/05/2026").exit_code == 2  # usage error
    assert cli.invoke("usage", "purge", "--days", "0").exit_code == 2


def test_cli_purge(cli: Cli, cli_tenant: tuple[str, uuid.UUID]) -> None:
    _, tenant_id = cli_tenant
    rng = random.Random(23)
    old = make_calls(rng, tenant_id, TODAY - timedelta(days=700), 4, MODELS)
    recent = make_calls(rng, tenant_id, TODAY - timedelta(days=3), 2, MODELS)
    insert_calls_sync(old + recent)
    cutoff = usage_service.retention_cutoff(older_than_days=600)
    [(expected,)] = query("SELECT count(*) FROM llm_calls WHERE created_at < %s", cutoff)
    assert expected >= len(old)

    out = cli.ok("usage", "purge", "--days", "600")
    assert f"deleted {expected} llm_calls rows from before {cutoff.date()}" in out
    remaining = query("SELECT created_at FROM llm_calls WHERE tenant_id = %s ORDER BY created_at", tenant_id)
    assert [r[0] for r in remaining] == sorted(c["created_at"] for c in recent)
