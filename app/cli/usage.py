"""agentctl usage: the usage report, the daily summary and the llm_calls retention, from a terminal."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from app.cli.common import console, run

if TYPE_CHECKING:
    from app.usage.schemas import UsageRead

usage_app = typer.Typer(help="LLM usage: report, daily summary, retention.", no_args_is_help=True)
_DAY = ["%Y-%m-%d"]


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@usage_app.command("show")
def usage_show(
    slug: str,
    from_: Annotated[datetime | None, typer.Option("--from", formats=_DAY, help="First day (UTC)")] = None,
    to: Annotated[datetime | None, typer.Option(formats=_DAY, help="Last day (UTC), included")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """A tenant's LLM calls, tokens, cost and latency per day and model (default: the last 30 days)."""
    # lazy: the usage domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
    from app.tenants import service as tenant_service
    from app.usage import service as usage_service

    async def go() -> UsageRead:
        start, end = usage_service.report_range(_day(from_), _day(to))
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            return await usage_service.usage_report(session, tenant_id=tenant.id, start=start, end=end)

    report = run(go)
    if as_json:
        print(report.model_dump_json(by_alias=True))
        return
    _print_report(slug, report)


def _print_report(slug: str, report: UsageRead) -> None:
    title = f"{slug}: LLM usage {report.from_} to {report.to} (UTC)"
    if not report.totals.calls:
        console.print(f"{title}: no LLM calls")
    else:
        table = Table(
            "day",
            "provider",
            "model",
            "calls",
            "failures",
            "failovers",
            "tokens in",
            "tokens out",
            "cost USD",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            title=title,
        )
        for day in report.days:
            for m in day.models:
                table.add_row(
                    day.day.isoformat(),
                    m.provider,
                    m.model,
                    str(m.calls),
                    str(m.failures),
                    str(m.failovers),
                    str(m.input_tokens),
                    str(m.output_tokens),
                    f"{m.cost_usd:.6f}",
                    _ms(m.latency_p50_ms),
                    _ms(m.latency_p95_ms),
                    _ms(m.latency_p99_ms),
                )
        t = report.totals
        table.add_section()
        table.add_row(
            "total",
            "",
            "",
            str(t.calls),
            str(t.failures),
            str(t.failovers),
            str(t.input_tokens),
            str(t.output_tokens),
            f"{t.cost_usd:.6f}",
            "",
            "",
            "",
            style="bold",
        )
        console.print(table)
    turns = report.turns
    tiers = ", ".join(f"{tier} {count}" for tier, count in turns.by_tier.items()) or "-"
    console.print(
        f"turns: {turns.turns} ({tiers}); LLM turns: {turns.llm_turns}; handoffs: {turns.handoffs}; "
        f"turn cost USD: {turns.cost_usd:.6f}"
    )


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


@usage_app.command("summarize")
def usage_summarize(
    day: Annotated[datetime | None, typer.Option(formats=_DAY, help="Day (UTC); default: yesterday and today")] = None,
) -> None:
    """(Re)compute the daily usage summary from llm_calls, for every tenant (idempotent)."""
    # lazy: the usage domain and its jobs pull in SQLAlchemy and procrastinate (~2 s); --help needs neither
    from app.core.db import session_scope
    from app.usage import service as usage_service
    from app.usage.jobs import summarize_recent

    async def go() -> int:
        if day is None:
            return await summarize_recent()
        async with session_scope() as session:
            return await usage_service.summarize_day(session, day=day.date())

    rows = run(go)
    console.print(f"summarized {day.date() if day else 'yesterday and today'}: {rows} rows")


@usage_app.command("purge")
def usage_purge(
    days: Annotated[
        int | None, typer.Option(min=1, max=36_500, help="Days of llm_calls kept (default: USAGE_RETENTION_DAYS)")
    ] = None,
) -> None:
    """Delete llm_calls older than the retention; the daily summary stays."""
    # lazy: the usage domain and its jobs pull in SQLAlchemy and procrastinate (~2 s); --help needs neither
    from app.core.config import get_settings
    from app.usage import service as usage_service
    from app.usage.jobs import purge_expired

    kept = days if days is not None else get_settings().usage_retention_days
    deleted = run(lambda: purge_expired(older_than_days=kept))
    cutoff = usage_service.retention_cutoff(older_than_days=kept)
    console.print(f"deleted {deleted} llm_calls rows from before {cutoff.date()} (UTC)")
