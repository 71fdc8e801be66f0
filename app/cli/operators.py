"""agentctl operator: console accounts of a tenant (the password is prompted for or read from stdin, never
an argument: arguments end up in shell history and process lists)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from app.cli.common import console, fail, run

operator_app = typer.Typer(help="Operator accounts for the web console.", no_args_is_help=True)


@operator_app.command("add")
def operator_add(
    slug: str,
    email: str,
    role: Annotated[str, typer.Option(help="operator or admin (admins add operators in the console)")] = "operator",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Create an operator account of the tenant SLUG."""
    if role not in {"operator", "admin"}:
        raise fail("--role must be operator or admin")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    # lazy: the domain services pull in SQLAlchemy and argon2 (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.operators import accounts
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            operator = await accounts.create_operator(
                session, tenant_id=tenant.id, email=email, password=password, role=role
            )
        console.print(f"operator {operator.email} ({operator.role}) added to {slug}")

    run(go)


@operator_app.command("list")
def operator_list(slug: str) -> None:
    """The tenant's operator accounts."""
    # lazy: as above
    from app.core.db import session_scope
    from app.operators import accounts
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            for operator in await accounts.list_operators(session, tenant_id=tenant.id):
                last = operator.last_login_at.isoformat(timespec="seconds") if operator.last_login_at else "never"
                print(f"{operator.email}\t{operator.role}\tlast sign-in {last}")

    run(go)
