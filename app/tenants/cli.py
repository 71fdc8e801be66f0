"""agentctl tenant flags / tenant rollout and agentctl killswitch: who gets which feature, from a terminal."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from app.core.db import session_scope

# app.cli registers these commands, so its helpers (run, the consoles) are imported at call time.
killswitch_app = typer.Typer(
    help="The global kill switch: on = every tenant gets the offline agent only.", no_args_is_help=True
)

_ON = {"on", "true", "yes", "1", "si", "sí"}
_OFF = {"off", "false", "no", "0"}


def _fail(message: str) -> typer.Exit:
    from app.cli import err

    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


def _parse_assignments(assignments: list[str]) -> dict[str, bool]:
    from app.tenants.schemas import FEATURES

    flags: dict[str, bool] = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        name, value = name.strip(), raw.strip().lower()
        if not sep or not name:
            raise _fail(f"expected FLAG=on|off, got {item!r}")
        if name not in FEATURES:
            raise _fail(f"unknown flag {name!r}; known: {', '.join(FEATURES)}")
        if value not in _ON | _OFF:
            raise _fail(f"{name}: use on or off, got {raw!r}")
        flags[name] = value in _ON
    return flags


def tenant_flags(
    slug: str,
    assignments: Annotated[list[str] | None, typer.Argument(help="FLAG=on|off, e.g. concierge=on ocr=off")] = None,
) -> None:
    """Show or switch a tenant's feature flags (ai_agent, concierge, ocr, calling); takes effect on the next turn."""
    from app.cli import console, run
    from app.tenants import service as tenant_service
    from app.tenants.schemas import FEATURES, TenantUpdate

    changes = _parse_assignments(assignments or [])

    async def go() -> dict[str, Any]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            if changes:
                tenant = await tenant_service.update_tenant(session, tenant=tenant, data=TenantUpdate(flags=changes))
            return dict(tenant.flags)

    flags = run(go)
    for name in FEATURES:
        console.print(f"{name}: {'on' if flags.get(name) else 'off'}")
    if changes:
        console.print("(takes effect on the next turn)")


def tenant_rollout(
    slug: str,
    feature: Annotated[str | None, typer.Option(help="ai_agent, concierge, ocr or calling")] = None,
    percentage: Annotated[
        int | None, typer.Option(min=0, max=100, help="Share of customers; 0 = allowlist only")
    ] = None,
    allow: Annotated[list[str] | None, typer.Option("--allow", help="Add a number to the allowlist (repeat)")] = None,
    disallow: Annotated[
        list[str] | None, typer.Option("--disallow", help="Remove a number from the allowlist (repeat)")
    ] = None,
) -> None:
    """Show a tenant's rollout, or change one feature's percentage and allowlist (merged into what is there)."""
    from pydantic import ValidationError

    from app.cli import console, run
    from app.tenants import service as tenant_service
    from app.tenants.rollout import normalise_phone
    from app.tenants.schemas import FEATURES, FeatureRollout, TenantUpdate

    changing = percentage is not None or allow or disallow
    if changing and feature is None:
        raise _fail("--feature is needed to change a rollout")
    if feature is not None and feature not in FEATURES:
        raise _fail(f"unknown feature {feature!r}; known: {', '.join(FEATURES)}")

    target = feature

    async def go() -> dict[str, Any]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            current = tenant_service.rollout_settings(tenant)
            if changing and target is not None:
                entry = current.get(target, FeatureRollout())
                removed = set()
                for n in disallow or []:
                    try:
                        removed.add(normalise_phone(n))
                    except ValueError as exc:
                        raise _fail(str(exc)) from None
                kept = [n for n in entry.allowlist if normalise_phone(n) not in removed]
                try:
                    new = FeatureRollout(
                        percentage=entry.percentage if percentage is None else percentage,
                        allowlist=[*kept, *(allow or [])],
                    )
                except ValidationError as exc:
                    raise _fail(exc.errors()[0]["msg"]) from None
                tenant = await tenant_service.update_tenant(
                    session, tenant=tenant, data=TenantUpdate(rollout={target: new})
                )
                current = tenant_service.rollout_settings(tenant)
            return {k: v.model_dump() for k, v in current.items()}

    rollout = run(go)
    shown = [feature] if feature else list(FEATURES)
    for name in shown:
        entry = rollout.get(name)
        if entry is None:
            console.print(f"{name}: no rollout (everyone, when the flag is on)")
        else:
            console.print(f"{name}: {entry['percentage']}% + allowlist {json.dumps(entry['allowlist'])}")


def _print_kill_switch(on: bool, reason: str | None, changed_at: Any) -> None:
    from app.cli import console

    state = "ON (every tenant: offline agent only)" if on else "off"
    console.print(
        f"kill switch: {state}" + (f"; reason: {reason}" if reason else "") + f"; changed: {changed_at or '-'}"
    )


def _set_kill_switch(on: bool, reason: str | None) -> None:
    from app.cli import run
    from app.tenants import features

    async def go() -> features.KillSwitch:
        async with session_scope() as session:
            return await features.set_kill_switch(session, on=on, reason=reason)

    state = run(go)
    _print_kill_switch(state.on, state.reason, state.changed_at)


@killswitch_app.command("on")
def killswitch_on(reason: Annotated[str | None, typer.Option(help="Why (shown in status)")] = None) -> None:
    """Switch every tenant to the offline agent now (concierge, OCR, calling and LLM tiers stop)."""
    _set_kill_switch(True, reason)


@killswitch_app.command("off")
def killswitch_off() -> None:
    """Give every tenant its own flags again."""
    _set_kill_switch(False, None)


@killswitch_app.command("status")
def killswitch_status() -> None:
    """Show whether the kill switch is on."""
    from app.cli import run
    from app.tenants import features

    async def go() -> features.KillSwitch:
        async with session_scope() as session:
            return await features.get_kill_switch(session)

    state = run(go)
    _print_kill_switch(state.on, state.reason, state.changed_at)
