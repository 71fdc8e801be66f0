"""agentctl vendor: the concierge's vendors from a terminal (list, add, import, remove)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from app.cli.common import as_uuid, console, run, validated

if TYPE_CHECKING:
    from app.concierge.models import Vendor
    from app.concierge.schemas import VendorImportRead

vendor_app = typer.Typer(help="Concierge vendors.", no_args_is_help=True)


@vendor_app.command("list")
def vendor_list(
    slug: str,
    category: Annotated[str | None, typer.Option()] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include removed (inactive) vendors")] = False,
) -> None:
    """List a tenant's vendors."""
    # lazy: the concierge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.concierge import service as concierge_service
    from app.core.db import session_scope
    from app.tenants import service as tenant_service

    async def go() -> list[Vendor]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            return await concierge_service.list_vendors(
                session, tenant_id=tenant.id, category=category, active=None if all_ else True, limit=100_000
            )

    table = Table("id", "name", "number", "categories", "lat", "lon", "hours", "status")
    for v in run(go):
        state = "opted out" if v.opted_out else ("active" if v.active else "removed")
        table.add_row(
            str(v.id),
            v.name,
            v.whatsapp_number,
            ", ".join(v.categories),
            f"{v.lat:.5f}",
            f"{v.lon:.5f}",
            v.opening_hours or "always",
            state,
        )
    console.print(table)


@vendor_app.command("add")
def vendor_add(
    slug: str,
    name: Annotated[str, typer.Option()],
    number: Annotated[str, typer.Option(help="WhatsApp number with country code, e.g. +5215512345678")],
    category: Annotated[list[str], typer.Option(help="What it sells (repeat for several)")],
    lat: Annotated[float, typer.Option()],
    lon: Annotated[float, typer.Option()],
    hours: Annotated[str | None, typer.Option(help="e.g. 'lun-vie 09:00-19:00; sáb 10-14' (default: always)")] = None,
    call_consent: Annotated[bool, typer.Option("--call-consent/--no-call-consent")] = False,
) -> None:
    """Add one vendor."""
    # lazy: the concierge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.concierge import service as concierge_service
    from app.concierge.schemas import VendorCreate
    from app.core.db import session_scope
    from app.tenants import service as tenant_service

    body = validated(
        VendorCreate,
        {
            "name": name,
            "whatsapp_number": number,
            "categories": category,
            "lat": lat,
            "lon": lon,
            "opening_hours": hours,
            "call_consent": call_consent,
        },
    )

    async def go() -> Vendor:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            return await concierge_service.create_vendor(session, tenant_id=tenant.id, data=body)

    vendor = run(go)
    console.print(f"{vendor.id}: {vendor.name} ({vendor.whatsapp_number})")


@vendor_app.command("import")
def vendor_import(slug: str, path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Upsert vendors from a CSV by number (atomic: a bad row changes nothing; re-importing changes nothing)."""
    # lazy: the concierge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.concierge import service as concierge_service
    from app.core.db import session_scope
    from app.tenants import service as tenant_service

    async def go() -> VendorImportRead:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            return await concierge_service.import_vendors_csv(session, tenant_id=tenant.id, data=path.read_bytes())

    result = run(go)
    console.print(
        f"{result.rows} rows: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
    )


@vendor_app.command("remove")
def vendor_remove(slug: str, vendor_id: str) -> None:
    """Remove a vendor: it is never asked again (its history stays)."""
    # lazy: the concierge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.concierge import service as concierge_service
    from app.core.db import session_scope
    from app.tenants import service as tenant_service

    target = as_uuid(vendor_id)

    async def go() -> Vendor:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            return await concierge_service.deactivate_vendor(session, tenant_id=tenant.id, vendor_id=target)

    vendor = run(go)
    console.print(f"removed {vendor.id} ({vendor.name})")
