"""A tenant's experiments (tenant-key scoped): start, watch per-arm metrics, stop, promote."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from app.deps import SessionDep, TenantDep
from app.experiments import service as experiments_service
from app.experiments.models import ENDED, Experiment
from app.experiments.schemas import ArmRead, ExperimentCreate, ExperimentRead, RateRead
from app.tenants import service as tenant_service

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["experiments"])


def _rate(rate: experiments_service.Rate) -> RateRead:
    return RateRead(value=rate.value, successes=rate.successes, trials=rate.trials, ci95=rate.interval())


async def view(session: SessionDep, experiment: Experiment) -> ExperimentRead:
    """An experiment with its per-arm metrics and the sequential test's current ratio."""
    found = await experiments_service.metrics(session, experiment)
    verdict = experiments_service.verdict(found, experiment.guard_metric)
    arms = [
        ArmRead(
            arm=m.arm,
            turns=m.turns,
            conversations=m.conversations,
            handoff_rate=_rate(m.handoff),
            dont_know_rate=_rate(m.dont_know),
            thumbs_up_rate=_rate(m.thumbs_up),
            resolved_without_handoff=_rate(m.resolved_without_handoff),
            cost_per_conversation_usd=str(m.cost_per_conversation_usd),
            mean_latency_ms=m.mean_latency_ms,
        )
        for m in found.values()
    ]
    return ExperimentRead(
        id=experiment.id,
        name=experiment.name,
        variant=experiment.variant,
        split=experiment.split,
        guard_metric=experiment.guard_metric,
        status=experiment.status,
        stop_reason=experiment.stop_reason,
        started_at=experiment.started_at,
        ended_at=experiment.ended_at,
        arms=arms,
        likelihood_ratio=round(verdict.likelihood_ratio, 3),
    )


@router.post("/experiments", response_model=ExperimentRead, status_code=201)
async def start_experiment(tenant: TenantDep, session: SessionDep, body: ExperimentCreate) -> ExperimentRead:
    """Start an experiment (one at a time per tenant; 409 otherwise)."""
    experiment = await experiments_service.start(
        session,
        tenant_id=tenant.id,
        base=tenant_service.get_agent_config(tenant),
        name=body.name,
        variant=body.variant,
        split=body.split,
        guard_metric=body.guard_metric,
    )
    await session.refresh(experiment)
    return await view(session, experiment)


@router.get("/experiments", response_model=list[ExperimentRead])
async def list_experiments(tenant: TenantDep, session: SessionDep) -> list[ExperimentRead]:
    """The tenant's experiments, newest first, with per-arm metrics."""
    return [await view(session, e) for e in await experiments_service.list_experiments(session, tenant_id=tenant.id)]


@router.get("/experiments/{experiment_id}", response_model=ExperimentRead)
async def get_experiment(experiment_id: uuid.UUID, tenant: TenantDep, session: SessionDep) -> ExperimentRead:
    """One experiment with per-arm metrics and 95% intervals."""
    return await view(session, await experiments_service.get(session, tenant_id=tenant.id, experiment_id=experiment_id))


@router.post("/experiments/{experiment_id}/stop", response_model=ExperimentRead)
async def stop_experiment(experiment_id: uuid.UUID, tenant: TenantDep, session: SessionDep) -> ExperimentRead:
    """End it with nothing changed: every customer back on the tenant's configuration."""
    experiment = await experiments_service.get(session, tenant_id=tenant.id, experiment_id=experiment_id)
    experiments_service.end(experiment, status=ENDED, reason="ended by an operator")
    await session.flush()
    return await view(session, experiment)


@router.post("/experiments/{experiment_id}/promote", response_model=ExperimentRead)
async def promote_experiment(experiment_id: uuid.UUID, tenant: TenantDep, session: SessionDep) -> ExperimentRead:
    """Make arm B's configuration the tenant's, and end the experiment."""
    experiment = await experiments_service.get(session, tenant_id=tenant.id, experiment_id=experiment_id)
    await experiments_service.promote(session, tenant=tenant, experiment=experiment)
    return await view(session, experiment)
