"""agentctl eval: the tenant's evaluation set (its corrections' questions and answers): export it to LangSmith
as a dataset, or run every case against the current configuration and print pass/fail."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import console, run

eval_app = typer.Typer(help="The evaluation set: regression cases from corrections.", no_args_is_help=True)


@eval_app.command("export")
def eval_export(
    slug: str,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: <slug>-eval-<UTC timestamp>)")] = None,
) -> None:
    """Write the tenant's evaluation set to LangSmith as a new dataset (LANGSMITH_ENDPOINT, LANGSMITH_API_KEY)."""
    # lazy: the domain services pull in SQLAlchemy, FastAPI and the LangSmith client (~1 s); --help needs none
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.core.errors import Unavailable
    from app.feedback import corrections as corrections_service
    from app.feedback.langsmith import export_dataset
    from app.tenants import service as tenant_service

    dataset_name = name or f"{slug}-eval-{datetime.now(UTC):%Y%m%d%H%M%S}"

    async def go() -> tuple[str, int]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            cases = await corrections_service.eval_cases(session, tenant_id=tenant.id)
        rows = [(str(c.id), c.question, c.expected) for c in cases]
        try:
            dataset_id = await asyncio.to_thread(
                export_dataset, dataset_name, rows, description=f"Regression cases of {slug} (agentctl eval export)"
            )
        except Exception as exc:  # noqa: BLE001  (any failure of the LangSmith client: said in one line)
            settings = get_settings()
            hint = "" if settings.langsmith_api_key else "; LANGSMITH_API_KEY is not set"
            raise Unavailable(
                f"LangSmith at {settings.langsmith_endpoint} did not take the dataset ({type(exc).__name__}){hint}"
            ) from None
        return dataset_id, len(rows)

    dataset_id, count = run(go)
    console.print(f"dataset {dataset_name} ({dataset_id}): {count} examples")


@eval_app.command("run")
def eval_run(
    slug: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON")] = False,
) -> None:
    """Ask every case's question (a fresh customer each) against the current configuration; exit 1 on a failure."""
    # lazy: the conversation flow imports the agent graph and LangChain (~5 s); only eval run needs them
    from app.core.db import session_scope
    from app.feedback import corrections as corrections_service
    from app.flows import conversation as flows
    from app.tenants import service as tenant_service

    async def go() -> list[dict[str, object]]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            cases = await corrections_service.eval_cases(session, tenant_id=tenant.id)
        results: list[dict[str, object]] = []
        for case in cases:
            result = await flows.chat(tenant=tenant, user=f"eval-{uuid.uuid4().hex[:12]}", text=case.question)
            reply = "\n".join(result.parts)
            passed = corrections_service.passes(case.expected, reply)
            results.append({"case": str(case.id), "question": case.question, "passed": passed, "reply": reply})
        return results

    results = run(go)
    failed = [r for r in results if not r["passed"]]
    if as_json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        table = Table("result", "question", "reply")
        for r in results:
            table.add_row("PASS" if r["passed"] else "FAIL", str(r["question"])[:60], str(r["reply"])[:80])
        console.print(table)
        console.print(f"{len(results) - len(failed)}/{len(results)} passed")
    if failed:
        raise typer.Exit(1)
