"""The numbers a business looks at: volume, how turns ended, knowledge gaps, handoff waits, LLM cost and the
concierge's time to shortlist. Each is one query over the tenant's rows, grouped by day in its time zone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.operators.zones import tenant_zone

OUTCOMES: Final = ("answered", "handoff", "dont_know")
WAIT_BUCKETS: Final = (
    ("< 5 min", 300),
    ("5–30 min", 1800),
    ("30 min–2 h", 7200),
    ("2–24 h", 86400),
    ("> 24 h", None),
)
# How a turn ended, as app.flows.conversation.turn_result decides it (kept equal by a test).
_OUTCOME_SQL: Final = """
    CASE WHEN t.handoff THEN 'handoff'
         WHEN t.intent = 'unknown' OR (t.agent = 'info' AND coalesce(jsonb_array_length(t.result->'sources'), 0) = 0)
         THEN 'dont_know'
         ELSE 'answered' END
"""


@dataclass
class Report:
    """Series aligned on ``days`` (the tenant's local dates), and the tables beside them."""

    days: list[str]
    conversations: list[float]
    turns: list[float]
    outcomes: dict[str, list[float]]
    cost: list[float]
    shortlist_minutes: list[float]
    top_unanswered: list[tuple[str, int]] = field(default_factory=list)
    handoff_wait_buckets: list[tuple[str, int]] = field(default_factory=list)
    handoff_wait_median_seconds: float | None = None
    totals: dict[str, Any] = field(default_factory=dict)


async def _per_day(session: AsyncSession, sql: str, params: dict[str, Any]) -> dict[date, Any]:
    rows = (await session.execute(text(sql), params)).all()
    return {row[0]: row[1] for row in rows}


async def report(session: AsyncSession, *, tenant_id: uuid.UUID, since: datetime, tz: str) -> Report:
    """Everything the analytics page shows, from ``since`` to now."""
    zone = tenant_zone(tz)
    first = since.astimezone(zone).date()
    last = datetime.now(zone).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    params: dict[str, Any] = {"tenant": tenant_id, "since": since, "tz": zone.key}

    conversations = await _per_day(
        session,
        "SELECT (m.created_at AT TIME ZONE :tz)::date, count(DISTINCT m.conversation_id) FROM messages m "
        "WHERE m.tenant_id = :tenant AND m.created_at >= :since AND m.direction = 'inbound' GROUP BY 1",
        params,
    )
    # One pass over the turns: per day and outcome, the count and the LLM cost.
    turn_rows = (
        await session.execute(
            text(
                f"SELECT (t.created_at AT TIME ZONE :tz)::date, {_OUTCOME_SQL} AS outcome, count(*), sum(t.cost_usd) "
                "FROM turns t WHERE t.tenant_id = :tenant AND t.created_at >= :since GROUP BY 1, 2"
            ),
            params,
        )
    ).all()
    by_outcome: dict[str, dict[date, int]] = {name: {} for name in OUTCOMES}
    turns: dict[date, int] = {}
    cost: dict[date, Decimal] = {}
    for day, outcome, count, spent in turn_rows:
        by_outcome[outcome][day] = int(count)
        turns[day] = turns.get(day, 0) + int(count)
        cost[day] = cost.get(day, Decimal(0)) + Decimal(spent or 0)
    shortlist = await _per_day(
        session,
        "SELECT (r.created_at AT TIME ZONE :tz)::date, "
        "avg(extract(epoch FROM r.shortlist_ready_at - r.created_at)) / 60 FROM concierge_requests r "
        "WHERE r.tenant_id = :tenant AND r.created_at >= :since AND r.shortlist_ready_at IS NOT NULL GROUP BY 1",
        params,
    )
    unanswered = (
        await session.execute(
            text(
                "SELECT lower(btrim(m.body)) AS question, count(*) FROM turns t "
                "JOIN messages m ON m.turn_id = t.id AND m.direction = 'inbound' AND m.tenant_id = t.tenant_id "
                f"WHERE t.tenant_id = :tenant AND t.created_at >= :since AND ({_OUTCOME_SQL}) = 'dont_know' "
                "AND btrim(m.body) <> '' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"
            ),
            params,
        )
    ).all()
    waits = await _handoff_waits(session, params)

    def series(values: dict[date, Any]) -> list[float]:
        return [float(values.get(d) or 0) for d in days]

    buckets = [(label, 0) for label, _ in WAIT_BUCKETS] + [("still waiting", 0)]
    counts = dict(buckets)
    answered_waits: list[float] = []
    for seconds, answered in waits:
        if not answered:
            counts["still waiting"] += 1
            continue
        answered_waits.append(seconds)
        for label, limit in WAIT_BUCKETS:
            if limit is None or seconds < limit:
                counts[label] += 1
                break
    answered_waits.sort()
    median = answered_waits[len(answered_waits) // 2] if answered_waits else None
    total_turns = sum(int(v) for v in turns.values())
    return Report(
        days=[d.strftime("%d/%m") for d in days],
        conversations=series(conversations),
        turns=series(turns),
        outcomes={name: series(values) for name, values in by_outcome.items()},
        cost=series(cost),
        shortlist_minutes=series(shortlist),
        top_unanswered=[(str(q), int(c)) for q, c in unanswered],
        handoff_wait_buckets=list(counts.items()),
        handoff_wait_median_seconds=median,
        totals={
            "turns": total_turns,
            "conversations": int(sum(series(conversations))),
            "cost": float(sum((Decimal(v or 0) for v in cost.values()), Decimal(0))),
            "shares": {
                name: (sum(by_outcome[name].values()) / total_turns if total_turns else 0.0) for name in OUTCOMES
            },
            "shortlist_minutes": (sum(v for v in shortlist.values() if v) / len(shortlist)) if shortlist else None,
        },
    )


async def _handoff_waits(session: AsyncSession, params: dict[str, Any]) -> list[tuple[float, bool]]:
    """Per handoff since ``since``: seconds until an operator's first message (answered) or until now."""
    rows = (
        await session.execute(
            text(
                "SELECT extract(epoch FROM coalesce(o.first_at, now()) - t.created_at), o.first_at IS NOT NULL "
                "FROM turns t LEFT JOIN LATERAL ("
                "  SELECT min(m.created_at) AS first_at FROM messages m"
                "  WHERE m.tenant_id = t.tenant_id AND m.conversation_id = t.conversation_id"
                "    AND m.direction = 'outbound' AND m.payload ? 'operator' AND m.created_at >= t.created_at"
                ") o ON true "
                "WHERE t.tenant_id = :tenant AND t.created_at >= :since AND t.handoff"
            ),
            params,
        )
    ).all()
    return [(float(seconds), bool(answered)) for seconds, answered in rows]


async def catalog_size(session: AsyncSession, *, tenant_id: uuid.UUID) -> int:
    """How many cars the tenant's catalog holds."""
    stmt = text("SELECT count(*) FROM catalog_items WHERE tenant_id = :tenant")
    return int((await session.execute(stmt, {"tenant": tenant_id})).scalar_one())
