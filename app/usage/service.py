"""Usage accounting: recording LLM calls, the monthly spend a budget is checked against, the daily
summary, its retention and the usage report."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, Date, delete, func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.models import Turn
from app.core.errors import InvalidInput
from app.llm.invoke import LLMCall
from app.usage.models import LLMCallRecord, UsageDaily, UsageMonth
from app.usage.schemas import (
    TurnUsageRead,
    UsageDayRead,
    UsageModelDayRead,
    UsageModelTotalRead,
    UsageRead,
    UsageTotalsRead,
)

REPORT_DEFAULT_DAYS = 30
REPORT_MAX_DAYS = 366


def month_start(moment: datetime | None = None) -> date:
    """The first day of ``moment``'s month (UTC), the key of the monthly spend counter."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).date().replace(day=1)


async def month_spend(session: AsyncSession, *, tenant_id: uuid.UUID, moment: datetime | None = None) -> Decimal:
    """What the tenant spent on LLM calls this month (USD)."""
    stmt = select(UsageMonth.cost_usd).where(UsageMonth.tenant_id == tenant_id, UsageMonth.month == month_start(moment))
    return (await session.execute(stmt)).scalar_one_or_none() or Decimal(0)


async def record_calls(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID | None,
    turn_id: int | None,
    calls: Sequence[LLMCall],
    routing_reason: str | None,
    complexity: float | None,
) -> None:
    """A row per call and the month's spend, in the caller's transaction (so they commit with the turn)."""
    if not calls:
        return
    session.add_all(
        LLMCallRecord(
            tenant_id=tenant_id,
            conversation_id=conversation_id,
            turn_id=turn_id,
            purpose=c.purpose,
            provider=c.provider,
            model=c.model,
            input_tokens=c.input_tokens,
            output_tokens=c.output_tokens,
            cost_usd=c.cost_usd,
            latency_ms=c.latency_ms,
            success=c.success,
            error_class=c.error_class,
            failover=c.failover,
            attempts=c.attempts,
            routing_reason=routing_reason,
            complexity=complexity,
        )
        for c in calls
    )
    cost = sum((c.cost_usd for c in calls), Decimal(0))
    stmt = insert(UsageMonth).values(tenant_id=tenant_id, month=month_start(), calls=len(calls), cost_usd=cost)
    stmt = stmt.on_conflict_do_update(
        index_elements=[UsageMonth.tenant_id, UsageMonth.month],
        set_={
            "calls": UsageMonth.calls + stmt.excluded.calls,
            "cost_usd": UsageMonth.cost_usd + stmt.excluded.cost_usd,
        },
    )
    await session.execute(stmt)


# --- daily summary -------------------------------------------------------------------------------


def utc_today(now: datetime | None = None) -> date:
    """Today's date in UTC (usage days are UTC days)."""
    return (now or datetime.now(UTC)).astimezone(UTC).date()


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time.min, tzinfo=UTC)


async def summarize_day(session: AsyncSession, *, day: date, tenant_id: uuid.UUID | None = None) -> int:
    """(Re)compute the usage_daily rows of one UTC day from llm_calls, for one tenant or all; rows written.

    One statement, idempotent. Groups with no calls left (their llm_calls purged) keep their summary:
    the summary is what outlives the retention.
    """
    c = LLMCallRecord
    # A half-open range on created_at (not a cast to date) so the created_at indexes apply.
    where = [c.created_at >= day_start(day), c.created_at < day_start(day + timedelta(days=1))]
    if tenant_id is not None:
        where.append(c.tenant_id == tenant_id)
    rows = (
        select(
            c.tenant_id,
            literal(day, Date),
            c.provider,
            c.model,
            func.count(),
            func.count().filter(~c.success),
            func.count().filter(c.failover),
            func.coalesce(func.sum(c.input_tokens), 0),
            func.coalesce(func.sum(c.output_tokens), 0),
            func.coalesce(func.sum(c.cost_usd), 0),
            func.percentile_cont(0.5).within_group(c.latency_ms),
            func.percentile_cont(0.95).within_group(c.latency_ms),
            func.percentile_cont(0.99).within_group(c.latency_ms),
            func.now(),
        )
        .where(*where)
        .group_by(c.tenant_id, c.provider, c.model)
        # A fixed row order: concurrent summaries (the periodic job, a report) lock rows in the same
        # order and so cannot deadlock each other.
        .order_by(c.tenant_id, c.provider, c.model)
    )
    d = UsageDaily
    columns = [
        d.tenant_id,
        d.day,
        d.provider,
        d.model,
        d.calls,
        d.failures,
        d.failovers,
        d.input_tokens,
        d.output_tokens,
        d.cost_usd,
        d.latency_p50_ms,
        d.latency_p95_ms,
        d.latency_p99_ms,
        d.updated_at,
    ]
    stmt = insert(UsageDaily).from_select([col.key for col in columns], rows)
    upsert = stmt.on_conflict_do_update(
        index_elements=[d.tenant_id, d.day, d.provider, d.model],
        set_={col.key: stmt.excluded[col.key] for col in columns[4:]},
    )
    return len((await session.execute(upsert.returning(d.tenant_id))).all())


def retention_cutoff(*, older_than_days: int, now: datetime | None = None) -> datetime:
    """The moment before which llm_calls are expired: a UTC midnight, so no day is ever half purged."""
    return day_start(utc_today(now) - timedelta(days=older_than_days))


async def purge_usage(session: AsyncSession, *, older_than_days: int, limit: int | None = None) -> int:
    """Delete the llm_calls of days before the retention (at most ``limit``, oldest first); rows deleted.

    usage_daily is never touched. At least one day is kept besides today: yesterday's summary is
    still being refreshed.
    """
    if older_than_days < 1:
        raise InvalidInput("Retention must be at least 1 day", details={"older_than_days": older_than_days})
    expired = LLMCallRecord.created_at < retention_cutoff(older_than_days=older_than_days)
    if limit is None:
        stmt = delete(LLMCallRecord).where(expired)
    else:
        oldest = select(LLMCallRecord.id).where(expired).order_by(LLMCallRecord.created_at).limit(limit)
        stmt = delete(LLMCallRecord).where(LLMCallRecord.id.in_(oldest.scalar_subquery()))
    # No session sync: nothing loads these rows, and "fetch" would return every deleted id.
    result = cast(CursorResult[Any], await session.execute(stmt.execution_options(synchronize_session=False)))
    return result.rowcount


# --- report --------------------------------------------------------------------------------------


def report_range(start: date | None, end: date | None, *, today: date | None = None) -> tuple[date, date]:
    """The report's days: the last 30 ending today (UTC) by default; InvalidInput when reversed or too long."""
    today = today or utc_today()
    end = end or today
    start = start or end - timedelta(days=REPORT_DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput("'from' must not be after 'to'", details={"from": start.isoformat(), "to": end.isoformat()})
    if (end - start).days + 1 > REPORT_MAX_DAYS:
        raise InvalidInput(
            f"The range may span at most {REPORT_MAX_DAYS} days",
            details={"from": start.isoformat(), "to": end.isoformat(), "max_days": REPORT_MAX_DAYS},
        )
    return start, end


async def usage_report(session: AsyncSession, *, tenant_id: uuid.UUID, start: date, end: date) -> UsageRead:
    """LLM calls per day and model, their totals and the turns of one tenant from ``start`` to ``end`` (UTC)."""
    start, end = report_range(start, end)
    today = utc_today()
    # The periodic job refreshes today and yesterday every few minutes; summarize them now so the
    # report is never behind the calls table. Oldest first, the same order as the job's.
    for day in (today - timedelta(days=1), today):
        if start <= day <= end:
            await summarize_day(session, day=day, tenant_id=tenant_id)

    d = UsageDaily
    daily = (
        (
            await session.execute(
                select(d)
                .where(d.tenant_id == tenant_id, d.day >= start, d.day <= end)
                .order_by(d.day, d.cost_usd.desc(), d.provider, d.model)
            )
        )
        .scalars()
        .all()
    )
    by_day: dict[date, list[UsageDaily]] = defaultdict(list)
    by_model: dict[tuple[str, str], list[UsageDaily]] = defaultdict(list)
    for row in daily:
        by_day[row.day].append(row)
        by_model[(row.provider, row.model)].append(row)

    days = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        rows = by_day.get(day, [])
        days.append(UsageDayRead(day=day, **_sums(rows), models=[UsageModelDayRead.model_validate(r) for r in rows]))
    models = sorted(
        (UsageModelTotalRead(provider=p, model=m, **_sums(rows)) for (p, m), rows in by_model.items()),
        key=lambda t: (-t.cost_usd, t.provider, t.model),
    )
    return UsageRead(
        tenant_id=tenant_id,
        from_=start,
        to=end,
        days=days,
        models=models,
        totals=UsageTotalsRead(**_sums(daily)),
        turns=await _turn_usage(session, tenant_id=tenant_id, start=start, end=end),
    )


def _sums(rows: Sequence[UsageDaily]) -> dict[str, Any]:
    return {
        "calls": sum(r.calls for r in rows),
        "failures": sum(r.failures for r in rows),
        "failovers": sum(r.failovers for r in rows),
        "input_tokens": sum(r.input_tokens for r in rows),
        "output_tokens": sum(r.output_tokens for r in rows),
        "cost_usd": sum((r.cost_usd for r in rows), Decimal(0)),
    }


async def _turn_usage(session: AsyncSession, *, tenant_id: uuid.UUID, start: date, end: date) -> TurnUsageRead:
    t = Turn
    where = [
        t.tenant_id == tenant_id,
        t.created_at >= day_start(start),
        t.created_at < day_start(end + timedelta(days=1)),
    ]
    totals = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(t.llm_calls > 0),
                func.count().filter(t.handoff),
                func.coalesce(func.sum(t.llm_calls), 0),
                func.coalesce(func.sum(t.input_tokens), 0),
                func.coalesce(func.sum(t.output_tokens), 0),
                func.coalesce(func.sum(t.cost_usd), 0),
            ).where(*where)
        )
    ).one()
    tiers = (await session.execute(select(t.tier, func.count()).where(*where).group_by(t.tier).order_by(t.tier))).all()
    turns, llm_turns, handoffs, llm_calls, input_tokens, output_tokens, cost = totals
    return TurnUsageRead(
        turns=turns,
        by_tier={tier: count for tier, count in tiers},
        llm_turns=llm_turns,
        handoffs=handoffs,
        llm_calls=llm_calls,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=Decimal(cost),
    )
