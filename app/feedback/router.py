"""A tenant's customer feedback, corrections and evaluation set (tenant-key scoped)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.deps import SessionDep, TenantDep
from app.feedback import corrections as corrections_service
from app.feedback import service as feedback_service
from app.feedback.schemas import CorrectionCreate, CorrectionRead, EvalCaseRead, FeedbackList, FeedbackRead

router = APIRouter(prefix="/v1/tenants/{slug}", tags=["learning"])


@router.get("/feedback", response_model=FeedbackList)
async def list_feedback(
    tenant: TenantDep,
    session: SessionDep,
    score: Annotated[Literal["up", "down"] | None, Query(description="Only 👍 or only 👎")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FeedbackList:
    """Customers' 👍/👎 on turns, newest first, with the question, the rated reply and a 👎's reason."""
    wanted = None if score is None else int(score == "up")
    views = await feedback_service.list_feedback(session, tenant_id=tenant.id, score=wanted, limit=limit)
    items = [FeedbackRead.model_validate(v) for v in views]
    return FeedbackList(
        items=items, up=sum(1 for i in items if i.score == 1), down=sum(1 for i in items if i.score == 0)
    )


@router.post("/corrections", response_model=CorrectionRead, status_code=201)
async def create_correction(tenant: TenantDep, session: SessionDep, body: CorrectionCreate) -> CorrectionRead:
    """The right answer: a curated entry that answers the question and its paraphrases, and a regression case."""
    row = await corrections_service.create_correction(
        session,
        tenant_id=tenant.id,
        answer=body.answer,
        question=body.question,
        turn_id=body.turn_id,
        paraphrases=body.paraphrases,
    )
    return CorrectionRead.model_validate(row)


@router.get("/corrections", response_model=list[CorrectionRead])
async def list_corrections(
    tenant: TenantDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[CorrectionRead]:
    """The tenant's corrections, newest first, one page."""
    rows = await corrections_service.list_corrections(session, tenant_id=tenant.id, limit=limit, offset=offset)
    return [CorrectionRead.model_validate(r) for r in rows]


@router.get("/eval-cases", response_model=list[EvalCaseRead])
async def list_eval_cases(tenant: TenantDep, session: SessionDep) -> list[EvalCaseRead]:
    """The tenant's evaluation set (``agentctl eval run`` runs it; ``agentctl eval export`` sends it to LangSmith)."""
    rows = await corrections_service.eval_cases(session, tenant_id=tenant.id)
    return [EvalCaseRead.model_validate(r) for r in rows]
