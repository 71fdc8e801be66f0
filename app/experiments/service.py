"""Experiments on a tenant's agent configuration: arm A is the configuration as it is, arm B the same with
the experiment's ``variant`` applied, for a ``split`` share of customers.

Assignment is stable: a customer's bucket comes from the rollout hash (app.tenants.rollout) of the
experiment's own name for it, so every process agrees and a customer never changes arm. Every turn under
a running experiment records its arm (``experiment_turns``).

Stopping is a sequential test, safe to look at after every turn: a mixture sequential probability ratio
test (mSPRT, Johari et al., "Always valid inference", 2017) on the difference of the guard metric's rates
between the arms, with a normal mixing distribution. Its likelihood ratio is a martingale under "no
difference", so stopping the first time it passes 1/alpha keeps the false-stop rate under alpha however
often it is checked. When arm B is significantly worse on the guard metric, the experiment stops: all
customers are back on arm A (the tenant's configuration, which the experiment never changed), and an alert
says so. Promotion writes arm B's configuration as the tenant's.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal

from pydantic import ValidationError
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.models import Turn
from app.core.errors import Conflict, InvalidInput, NotFound, unstorable_fields
from app.experiments.models import PROMOTED, RUNNING, STOPPED, Experiment, ExperimentTurn
from app.feedback.models import TurnFeedback
from app.notify.service import notify
from app.tenants import service as tenant_service
from app.tenants.agent_config import AgentConfig
from app.tenants.models import Tenant
from app.tenants.rollout import BUCKETS, in_rollout

Arm = Literal["A", "B"]
GUARD_METRICS: Final = ("handoff_rate", "dont_know_rate", "thumbs_down_rate")
ALPHA = 0.05
MIXTURE_VARIANCE = 0.05  # tau²: the size of difference the test is tuned to find (|ΔP| around 0.2)
MIN_TURNS_PER_ARM = 5
Z_95 = 1.96


def _number_bucket(customer: str, salt: str) -> int:
    """A bucket for customers that are not phone numbers (API users): the same hash family, on the raw key."""
    digest = hashlib.sha256(f"{salt}:{customer}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(experiment: Experiment, customer: str) -> Arm:
    """The customer's arm, the same on every turn and in every process."""
    salt = f"experiment:{experiment.id}"
    try:
        in_b = in_rollout(customer, salt, experiment.split * 100)
    except ValueError:  # not a phone number
        in_b = _number_bucket(customer, salt) < round(experiment.split * BUCKETS)
    return "B" if in_b else "A"


# Fields a variant may not change: the monthly LLM budget is a limit on spending (a tenant key may only
# lower it, the admin raise or remove it), not a behaviour to compare. Both arms run under the tenant's own.
NOT_EXPERIMENTAL = ("monthly_budget_usd",)


def _with_variant(base: AgentConfig, variant: dict[str, Any]) -> dict[str, Any]:
    """Arm B's configuration as data: ``base`` with the variant applied, the fields it may not change kept."""
    current = base.model_dump(mode="json")
    return {**current, **variant, **{name: current[name] for name in NOT_EXPERIMENTAL}}


def _variant_errors(exc: ValidationError) -> dict[str, Any]:
    """What is wrong with a variant, without echoing its values."""
    return {"field": "variant", "errors": exc.errors(include_context=False, include_url=False, include_input=False)}


def arm_config(base: AgentConfig, experiment: Experiment, arm: Arm) -> AgentConfig:
    """The configuration a turn of this arm runs with (arm B under arm A's budget, whatever the variant says)."""
    if arm == "A":
        return base
    try:
        return AgentConfig.model_validate(_with_variant(base, experiment.variant))
    except ValueError:  # the variant no longer validates (a model left the table): the turn runs arm A's
        return base


async def running(session: AsyncSession, *, tenant_id: uuid.UUID) -> Experiment | None:
    """The tenant's running experiment (at most one)."""
    return await session.scalar(
        select(Experiment).where(Experiment.tenant_id == tenant_id, Experiment.status == RUNNING)
    )


async def record_arm(session: AsyncSession, *, turn_id: int, experiment_id: uuid.UUID, arm: Arm) -> None:
    session.add(ExperimentTurn(turn_id=turn_id, experiment_id=experiment_id, arm=arm))
    await session.flush()


async def start(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    base: AgentConfig,
    name: str,
    variant: dict[str, Any],
    split: float,
    guard_metric: str,
) -> Experiment:
    """Start an experiment; 409 when one is running, 422 naming the field when the variant is not valid."""
    if guard_metric not in GUARD_METRICS:
        raise InvalidInput(f"guard_metric must be one of {GUARD_METRICS}", details={"field": "guard_metric"})
    if not variant:
        raise InvalidInput("variant must change something", details={"field": "variant"})
    # Stored as JSONB, which cannot hold a NUL or a lone surrogate: a 4xx naming where, not a database error
    # (the API's body check sees JSON; the console's form and agentctl's --variant come here first).
    if unstorable := unstorable_fields(variant, ("variant",)):
        raise InvalidInput("variant must not contain NUL characters or lone surrogates", details=unstorable)
    if fixed := [name for name in NOT_EXPERIMENTAL if name in variant]:
        raise InvalidInput(
            f"{fixed[0]} is a spending limit, not an experiment variable: change it in the agent configuration",
            details={"field": f"variant.{fixed[0]}"},
        )
    try:
        AgentConfig.model_validate(_with_variant(base, variant))
    except ValidationError as exc:
        raise InvalidInput(
            "variant is not a valid agent configuration",
            details=_variant_errors(exc),
        ) from None
    if await running(session, tenant_id=tenant_id) is not None:
        raise Conflict("An experiment is already running for this tenant; end it first")
    experiment = Experiment(
        tenant_id=tenant_id, name=name, variant=variant, split=split, guard_metric=guard_metric, status=RUNNING
    )
    session.add(experiment)
    await session.flush()
    return experiment


async def get(session: AsyncSession, *, tenant_id: uuid.UUID, experiment_id: uuid.UUID) -> Experiment:
    found = await session.scalar(
        select(Experiment).where(Experiment.tenant_id == tenant_id, Experiment.id == experiment_id)
    )
    if found is None:
        raise NotFound("No such experiment", details={"experiment_id": str(experiment_id)})
    return found


async def list_experiments(session: AsyncSession, *, tenant_id: uuid.UUID) -> list[Experiment]:
    rows = await session.scalars(
        select(Experiment).where(Experiment.tenant_id == tenant_id).order_by(Experiment.started_at.desc())
    )
    return list(rows)


def end(experiment: Experiment, *, status: str, reason: str | None = None) -> None:
    """Stop the experiment (everyone back on arm A unless promoted)."""
    if experiment.status != RUNNING:
        raise Conflict(f"The experiment is already {experiment.status}")
    experiment.status = status
    experiment.stop_reason = reason
    experiment.ended_at = datetime.now(UTC)


async def promote(session: AsyncSession, *, tenant: Tenant, experiment: Experiment) -> None:
    """Store arm B as the tenant's configuration (a tenant key's budget rules apply) and end the experiment."""
    base = tenant_service.get_agent_config(tenant)
    try:
        config = AgentConfig.model_validate(_with_variant(base, experiment.variant))
    except ValidationError as exc:
        raise InvalidInput(
            "arm B's configuration is no longer valid",
            details=_variant_errors(exc),
        ) from None
    end(experiment, status=PROMOTED, reason="promoted to the default")
    await tenant_service.replace_agent_config(session, tenant=tenant, config=config, by_admin=False)
    await session.flush()


# ------------------------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class Rate:
    """A share with its 95% Wilson interval."""

    successes: int
    trials: int

    @property
    def value(self) -> float | None:
        return self.successes / self.trials if self.trials else None

    def interval(self) -> tuple[float, float] | None:
        if not self.trials:
            return None
        n, p = self.trials, self.successes / self.trials
        centre = (p + Z_95**2 / (2 * n)) / (1 + Z_95**2 / n)
        half = Z_95 * math.sqrt(p * (1 - p) / n + Z_95**2 / (4 * n * n)) / (1 + Z_95**2 / n)
        return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class ArmMetrics:
    arm: Arm
    turns: int
    conversations: int
    handoff: Rate
    dont_know: Rate
    thumbs_up: Rate
    resolved_without_handoff: Rate  # conversations that never reached a person
    cost_per_conversation_usd: Decimal
    mean_latency_ms: float


def _dont_know() -> Any:
    """A turn that found no answer (as app.flows.conversation.turn_result counts it)."""
    no_sources = func.coalesce(func.jsonb_array_length(Turn.result["sources"]), 0) == 0
    return (Turn.intent == "unknown") | ((Turn.agent == "info") & no_sources & ~Turn.handoff)


async def metrics(session: AsyncSession, experiment: Experiment) -> dict[Arm, ArmMetrics]:
    """Per-arm figures of an experiment's turns, with their customers' 👍/👎 (one grouped query: the check runs
    after every turn)."""
    turns = (
        await session.execute(
            select(
                ExperimentTurn.arm,
                func.count(),
                func.count(func.distinct(Turn.conversation_id)),
                func.sum(case((Turn.handoff, 1), else_=0)),
                func.sum(case((_dont_know(), 1), else_=0)),
                func.coalesce(func.sum(Turn.cost_usd), 0),
                func.coalesce(func.avg(Turn.latency_ms), 0),
                func.count(func.distinct(case((Turn.handoff, Turn.conversation_id)))),
                func.sum(TurnFeedback.score),  # 👍 are 1, 👎 0
                func.count(TurnFeedback.score),  # answered questions (at most one per turn: turn_id is unique)
            )
            .join(Turn, Turn.id == ExperimentTurn.turn_id)
            .outerjoin(TurnFeedback, TurnFeedback.turn_id == ExperimentTurn.turn_id)
            .where(ExperimentTurn.experiment_id == experiment.id, Turn.tenant_id == experiment.tenant_id)
            .group_by(ExperimentTurn.arm)
        )
    ).all()
    found: dict[Arm, ArmMetrics] = {}
    for arm in ("A", "B"):
        row = next((r for r in turns if r[0] == arm), None)
        n, conversations, handoffs, unknown, cost, latency, handed = (
            (int(row[1]), int(row[2]), int(row[3] or 0), int(row[4] or 0), Decimal(row[5]), float(row[6]), int(row[7]))
            if row
            else (0, 0, 0, 0, Decimal(0), 0.0, 0)
        )
        up, answered = (int(row[8] or 0), int(row[9])) if row else (0, 0)
        found[arm] = ArmMetrics(
            arm=arm,
            turns=n,
            conversations=conversations,
            handoff=Rate(handoffs, n),
            dont_know=Rate(unknown, n),
            thumbs_up=Rate(up, answered),
            resolved_without_handoff=Rate(conversations - handed, conversations),
            cost_per_conversation_usd=(cost / conversations).quantize(Decimal("0.000001"))
            if conversations
            else Decimal(0),
            mean_latency_ms=round(latency, 1),
        )
    return found


def guard_rate(m: ArmMetrics, metric: str) -> Rate:
    """The rate the guard watches, as a "bad outcome" share (higher is worse)."""
    if metric == "handoff_rate":
        return m.handoff
    if metric == "dont_know_rate":
        return m.dont_know
    return Rate(m.thumbs_up.trials - m.thumbs_up.successes, m.thumbs_up.trials)


def msprt(a: Rate, b: Rate, *, tau2: float = MIXTURE_VARIANCE) -> float:
    """The mixture likelihood ratio for "B's rate differs from A's" (normal approximation).

    Λ = sqrt(V / (V + τ²)) · exp(Δ² τ² / (2 V (V + τ²))), Δ the observed difference, V its variance; rates
    are smoothed by half a success (never a zero variance on small samples).
    """
    if not a.trials or not b.trials:
        return 0.0
    pa = (a.successes + 0.5) / (a.trials + 1)
    pb = (b.successes + 0.5) / (b.trials + 1)
    variance = pa * (1 - pa) / a.trials + pb * (1 - pb) / b.trials
    delta = pb - pa
    return math.sqrt(variance / (variance + tau2)) * math.exp(delta**2 * tau2 / (2 * variance * (variance + tau2)))


@dataclass(frozen=True)
class Verdict:
    """What the sequential test says now."""

    likelihood_ratio: float
    b_worse: bool
    reason: str | None


def verdict(found: dict[Arm, ArmMetrics], metric: str, *, alpha: float = ALPHA) -> Verdict:
    """Whether arm B is significantly worse than arm A on the guard metric (safe to ask after every turn)."""
    a, b = guard_rate(found["A"], metric), guard_rate(found["B"], metric)
    if a.trials < MIN_TURNS_PER_ARM or b.trials < MIN_TURNS_PER_ARM:
        return Verdict(0.0, False, None)
    ratio = msprt(a, b)
    worse = ratio >= 1 / alpha and (b.value or 0.0) > (a.value or 0.0)
    reason = (
        f"arm B worse on {metric}: {b.value:.2f} vs {a.value:.2f} (mSPRT ratio {ratio:.1f} >= {1 / alpha:.0f})"
        if worse
        else None
    )
    return Verdict(ratio, worse, reason)


async def check(session: AsyncSession, experiment: Experiment) -> Verdict:
    """Run the sequential test; stop the experiment (back to arm A for everyone) when B is worse."""
    result = verdict(await metrics(session, experiment), experiment.guard_metric)
    if result.b_worse and experiment.status == RUNNING:
        end(experiment, status=STOPPED, reason=result.reason)
        await session.flush()
        await notify(
            session,
            tenant_id=experiment.tenant_id,
            event="alert.opened",
            data={
                "kind": "experiment_stopped",
                "state": "opened",
                "experiment_id": experiment.id,
                "name": experiment.name,
                "details": {"reason": result.reason, "likelihood_ratio": round(result.likelihood_ratio, 2)},
            },
        )
    return result
