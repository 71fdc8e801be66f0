"""agentctl catalog: a tenant's catalog from a CSV file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.common import console, run

catalog_app = typer.Typer(help="Catalog.", no_args_is_help=True)


@catalog_app.command("import")
def catalog_import(slug: str, path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Replace a tenant's catalog with a CSV file (atomic; a bad row changes nothing)."""
    # lazy: the catalog service pulls in pandas, SQLAlchemy and FastAPI (~2 s); --help needs none of them
    from app.catalog import service as catalog_service
    from app.core.db import session_scope
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            result = await catalog_service.import_catalog_csv(session, tenant_id=tenant.id, data=path.read_bytes())
        console.print(
            f"imported {result.rows} rows (catalog version {result.catalog_version}); extra columns: "
            f"{', '.join(result.columns) or '-'}"
        )

    run(go)
