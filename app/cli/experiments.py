"""agentctl experiment: A/B tests of a tenant's agent configuration with automatic rollback."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from app.cli.common import as_uuid, console, fail, run

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.experiments.models import Experiment
    from app.experiments.schemas import ExperimentRead
    from app.tenants.models import Tenant

experiment_app = typer.Typer(
    help="Experiments: two agent configurations, a traffic split, a guard.", no_args_is_help=True
)


def _run(slug: str, act: Callable[[AsyncSession, Tenant], Awaitable[list[Experiment]]]) -> list[ExperimentRead]:
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.experiments.router import view
    from app.tenants import service as tenant_service

    async def go() -> list[ExperimentRead]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            return [await view(session, e) for e in await act(session, tenant)]

    return run(go)


def _print(items: list[ExperimentRead], as_json: bool) -> None:
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False))
        return
    for item in items:
        console.print(f"{item.id} {item.name}: {item.status} (guard {item.guard_metric}, B share {item.split})")
        if item.stop_reason:
            console.print(f"  {item.stop_reason}")
        table = Table("arm", "turns", "conv.", "handoff", "don't know", "👍", "cost/conv", "latency ms")
        for arm in item.arms:
            table.add_row(
                arm.arm,
                str(arm.turns),
                str(arm.conversations),
                _pct(arm.handoff_rate.value),
                _pct(arm.dont_know_rate.value),
                _pct(arm.thumbs_up_rate.value),
                arm.cost_per_conversation_usd,
                str(arm.mean_latency_ms),
            )
        console.print(table)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


@experiment_app.command("start")
def experiment_start(
    slug: str,
    name: Annotated[str, typer.Option(help="A name for the experiment")],
    variant: Annotated[str, typer.Option(help='Arm B\'s agent-configuration changes as JSON, e.g. {"tone": "formal"}')],
    split: Annotated[float, typer.Option(min=0.01, max=0.99, help="Share of customers in arm B")] = 0.5,
    guard: Annotated[str, typer.Option(help="handoff_rate, dont_know_rate or thumbs_down_rate")] = "handoff_rate",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Start an experiment on a tenant (one at a time)."""
    # lazy: see _run
    from app.experiments import service as experiments_service
    from app.tenants import service as tenant_service

    try:
        changes = json.loads(variant)
    except (ValueError, RecursionError):  # RecursionError: deeply nested JSON
        raise fail("--variant must be a JSON object") from None
    if not isinstance(changes, dict):
        raise fail("--variant must be a JSON object")

    async def act(session: AsyncSession, tenant: Tenant) -> list[Experiment]:
        started = await experiments_service.start(
            session,
            tenant_id=tenant.id,
            base=tenant_service.get_agent_config(tenant),
            name=name,
            variant=changes,
            split=split,
            guard_metric=guard,
        )
        await session.refresh(started)
        return [started]

    _print(_run(slug, act), as_json)


@experiment_app.command("list")
def experiment_list(slug: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """A tenant's experiments with per-arm metrics."""
    # lazy: see _run
    from app.experiments import service as experiments_service

    async def act(session: AsyncSession, tenant: Tenant) -> list[Experiment]:
        return await experiments_service.list_experiments(session, tenant_id=tenant.id)

    _print(_run(slug, act), as_json)


def _one(slug: str, experiment_id: str, action: str, as_json: bool) -> None:
    # lazy: see _run
    from app.experiments import service as experiments_service
    from app.experiments.models import ENDED

    wanted = as_uuid(experiment_id)

    async def act(session: AsyncSession, tenant: Tenant) -> list[Experiment]:
        experiment = await experiments_service.get(session, tenant_id=tenant.id, experiment_id=wanted)
        if action == "stop":
            experiments_service.end(experiment, status=ENDED, reason="ended by an operator")
        elif action == "promote":
            await experiments_service.promote(session, tenant=tenant, experiment=experiment)
        await session.flush()
        return [experiment]

    _print(_run(slug, act), as_json)


@experiment_app.command("show")
def experiment_show(slug: str, experiment_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One experiment's per-arm metrics."""
    _one(slug, experiment_id, "show", as_json)


@experiment_app.command("stop")
def experiment_stop(slug: str, experiment_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """End an experiment with nothing changed."""
    _one(slug, experiment_id, "stop", as_json)


@experiment_app.command("promote")
def experiment_promote(slug: str, experiment_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Make arm B the tenant's configuration and end the experiment."""
    _one(slug, experiment_id, "promote", as_json)
