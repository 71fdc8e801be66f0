"""agentctl feedback: customers' 👍/👎 on turns, and operators' corrections (curated answers + test cases)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from app.cli.common import console, fail, run

feedback_app = typer.Typer(help="Customer feedback (👍/👎) and corrections.", no_args_is_help=True)


@feedback_app.command("list")
def feedback_list(
    slug: str,
    score: Annotated[str | None, typer.Option(help="up or down")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the feedback as JSON")] = False,
) -> None:
    """A tenant's customer feedback, newest first."""
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.feedback import service as feedback_service
    from app.feedback.schemas import FeedbackRead
    from app.tenants import service as tenant_service

    if score not in (None, "up", "down"):
        raise fail("--score must be up or down")

    async def go() -> list[FeedbackRead]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            wanted = None if score is None else int(score == "up")
            views = await feedback_service.list_feedback(session, tenant_id=tenant.id, score=wanted, limit=limit)
            return [FeedbackRead.model_validate(v) for v in views]

    items = run(go)
    if as_json:
        print(json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False))
        return
    table = Table("answered", "turn", "score", "question", "reason")
    for item in items:
        table.add_row(
            item.answered_at.strftime("%Y-%m-%d %H:%M") if item.answered_at else "",
            str(item.turn_id),
            "👍" if item.score == 1 else "👎",
            (item.question or "")[:60],
            item.reason or "",
        )
    console.print(table if items else f"{slug}: no feedback yet")


@feedback_app.command("correct")
def feedback_correct(
    slug: str,
    answer: Annotated[str, typer.Option(help="The right answer, as customers should get it")],
    turn: Annotated[
        int | None, typer.Option(help="The turn being corrected (its question is used)", min=1, max=2**63 - 1)
    ] = None,
    question: Annotated[str | None, typer.Option(help="The question, when not correcting a turn")] = None,
    paraphrase: Annotated[list[str] | None, typer.Option(help="Another way customers ask it (repeatable)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the correction as JSON")] = False,
) -> None:
    """Record the right answer: a curated answer for the question and its paraphrases, and a regression case."""
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.cli.common import validated
    from app.core.db import session_scope
    from app.feedback import corrections as corrections_service
    from app.feedback.schemas import CorrectionCreate, CorrectionRead
    from app.tenants import service as tenant_service

    body = validated(
        CorrectionCreate, {"turn_id": turn, "question": question, "answer": answer, "paraphrases": paraphrase or []}
    )

    async def go() -> CorrectionRead:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            row = await corrections_service.create_correction(
                session,
                tenant_id=tenant.id,
                answer=body.answer,
                question=body.question,
                turn_id=body.turn_id,
                paraphrases=body.paraphrases,
            )
            return CorrectionRead.model_validate(row)

    made: Any = run(go)
    if as_json:
        print(json.dumps(made.model_dump(mode="json"), ensure_ascii=False))
        return
    console.print(f"correction {made.id}: «{made.question}» now answered with the curated text")
