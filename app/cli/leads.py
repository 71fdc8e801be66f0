"""agentctl lead: the visits and test drives a tenant's customers booked in the chat."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import console, run

lead_app = typer.Typer(help="Leads: visits and test drives booked in conversations.", no_args_is_help=True)


@lead_app.command("list")
def lead_list(
    slug: str,
    status: Annotated[str | None, typer.Option(help="new, contacted, done or cancelled")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print the leads as JSON")] = False,
) -> None:
    """A tenant's leads, newest first."""
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.leads import service as lead_service
    from app.leads.schemas import LeadRead
    from app.tenants import service as tenant_service

    async def go() -> list[LeadRead]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            rows = await lead_service.list_leads(session, tenant_id=tenant.id, status=status, limit=limit)
            return [LeadRead.model_validate(r) for r in rows]

    leads = run(go)
    if as_json:
        print(json.dumps([lead.model_dump(mode="json") for lead in leads]))
        return
    table = Table("created", "kind", "car", "day", "time", "branch", "name", "customer", "status")
    for lead in leads:
        table.add_row(
            lead.created_at.strftime("%Y-%m-%d %H:%M"),
            lead.kind,
            lead.car or "",
            str(lead.day or ""),
            lead.time_window or "",
            lead.branch or "",
            lead.name or "",
            lead.customer,
            lead.status,
        )
    console.print(table if leads else f"{slug}: no leads")
