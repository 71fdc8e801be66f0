"""agentctl operator: console accounts of a tenant (the password is prompted for or read from stdin, never
an argument: arguments end up in shell history and process lists)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

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
    password = _read_password(password_stdin)
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


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@operator_app.command("disable")
def operator_disable(slug: str, email: str) -> None:
    """The account can no longer sign in; its open console sessions end now (what it wrote keeps its author)."""
    _change(
        slug, email, "disabled", lambda accounts, session, o: accounts.set_disabled(session, operator=o, disabled=True)
    )


@operator_app.command("enable")
def operator_enable(slug: str, email: str) -> None:
    """The account may sign in again."""
    _change(
        slug, email, "enabled", lambda accounts, session, o: accounts.set_disabled(session, operator=o, disabled=False)
    )


@operator_app.command("password")
def operator_password(
    slug: str,
    email: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Set a new password; the account's open console sessions end."""
    password = _read_password(password_stdin)
    _change(
        slug,
        email,
        "has a new password",
        lambda accounts, session, o: accounts.set_password(session, operator=o, password=password),
    )


def _change(slug: str, email: str, done: str, apply: Callable[[Any, Any, Any], Awaitable[object]]) -> None:
    """Find the tenant's operator by email and ``apply(accounts, session, operator)`` in one transaction (the
    ``app.operators.accounts`` module is passed in: imported here, late); then say ``done``."""
    # lazy: the domain services pull in SQLAlchemy and argon2 (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.core.errors import NotFound
    from app.operators import accounts
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            operator = await accounts.find_operator(session, tenant_id=tenant.id, email=email)
            if operator is None:
                raise NotFound(f"no operator {email} in {slug}")
            await apply(accounts, session, operator)
        console.print(f"operator {operator.email} of {slug} {done}")

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
                state = "\tdisabled" if operator.disabled_at else ""
                print(f"{operator.email}\t{operator.role}\tlast sign-in {last}{state}")

    run(go)
