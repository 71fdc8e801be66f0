"""agentctl apikey: tenant-scoped API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import console, run, validated

apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)


@apikey_app.command("create")
def apikey_create(slug: str, name: Annotated[str, typer.Option()] = "default") -> None:
    """Create a tenant-scoped API key; the secret is printed once."""
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.auth import service as auth_service
    from app.core.db import session_scope
    from app.tenants import service as tenant_service
    from app.tenants.schemas import ApiKeyCreate

    name = validated(ApiKeyCreate, {"name": name}).name  # the API's limits

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            key = await auth_service.create_api_key(session, tenant_id=tenant.id, name=name)
        console.print(f"API key for {slug} ({key.name}), shown once:")
        print(key.secret)

    run(go)
