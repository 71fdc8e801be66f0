"""agentctl tenant and agentctl killswitch: tenants, their AI agent, feature flags and rollout, the kill switch."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from app.cli.common import console, err, fail, run, validated

if TYPE_CHECKING:
    from app.tenants.features import KillSwitch

tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
killswitch_app = typer.Typer(
    help="The global kill switch: on = every tenant gets the offline agent only.", no_args_is_help=True
)

_ON = {"on", "true", "yes", "1", "si", "sí"}
_OFF = {"off", "false", "no", "0"}


# --- feature flags and rollout -------------------------------------------------------------------


def _parse_assignments(assignments: list[str]) -> dict[str, bool]:
    # lazy: the tenants domain pulls in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.tenants.schemas import FEATURES

    flags: dict[str, bool] = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        name, value = name.strip(), raw.strip().lower()
        if not sep or not name:
            raise fail(f"expected FLAG=on|off, got {item!r}")
        if name not in FEATURES:
            raise fail(f"unknown flag {name!r}; known: {', '.join(FEATURES)}")
        if value not in _ON | _OFF:
            raise fail(f"{name}: use on or off, got {raw!r}")
        flags[name] = value in _ON
    return flags


@tenant_app.command("flags")
def tenant_flags(
    slug: str,
    assignments: Annotated[list[str] | None, typer.Argument(help="FLAG=on|off, e.g. concierge=on ocr=off")] = None,
) -> None:
    """Show or switch a tenant's feature flags (ai_agent, concierge, ocr, calling); takes effect on the next turn."""
    # lazy: the tenants domain pulls in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.messaging import templates
    from app.tenants import service as tenant_service
    from app.tenants.schemas import FEATURES, TenantUpdate

    changes = _parse_assignments(assignments or [])

    async def go() -> tuple[dict[str, Any], str | None]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            if not changes:
                return dict(tenant.flags), None
            tenant = await tenant_service.update_tenant(session, tenant=tenant, data=TenantUpdate(flags=changes))
            # Only switching the concierge on warrants a look at its outreach template.
            ready = await templates.readiness(session, tenant_id=tenant.id) if changes.get("concierge") else {}
            return dict(tenant.flags), _outreach_warning(changes, ready)

    flags, warning = run(go)
    for name in FEATURES:
        console.print(f"{name}: {'on' if flags.get(name) else 'off'}")
    if changes:
        console.print("(takes effect on the next turn)")
    if warning:
        console.print(warning)


@tenant_app.command("rollout")
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
    # lazy: the tenants domain pulls in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.tenants import service as tenant_service
    from app.tenants.rollout import normalise_phone
    from app.tenants.schemas import FEATURES, FeatureRollout, TenantUpdate

    changing = percentage is not None or allow or disallow
    if changing and feature is None:
        raise fail("--feature is needed to change a rollout")
    if feature is not None and feature not in FEATURES:
        raise fail(f"unknown feature {feature!r}; known: {', '.join(FEATURES)}")

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
                        raise fail(str(exc)) from None
                kept = [n for n in entry.allowlist if normalise_phone(n) not in removed]
                try:
                    new = FeatureRollout(
                        percentage=entry.percentage if percentage is None else percentage,
                        allowlist=[*kept, *(allow or [])],
                    )
                except ValidationError as exc:
                    raise fail(exc.errors()[0]["msg"]) from None
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


# --- tenants -------------------------------------------------------------------------------------


@tenant_app.command("create")
def tenant_create(
    slug: str,
    name: Annotated[str, typer.Option(help="Business name")],
    number: Annotated[list[str] | None, typer.Option(help="WhatsApp address, e.g. whatsapp:+5215512345678")] = None,
    locale: Annotated[str, typer.Option()] = "es-MX",
    timezone: Annotated[str, typer.Option()] = "America/Mexico_City",
) -> None:
    """Create a tenant."""
    # lazy: the tenants domain pulls in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.tenants import service as tenant_service
    from app.tenants.schemas import TenantCreate

    try:
        data = TenantCreate(slug=slug, name=name, whatsapp_numbers=number or [], locale=locale, timezone=timezone)
    except ValidationError as exc:
        err.print(f"[red]error:[/red] {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
        raise typer.Exit(1) from None

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.create_tenant(session, data=data)
            console.print(f"created tenant [bold]{tenant.slug}[/bold] ({tenant.id})")

    run(go)


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""
    # lazy: the tenants domain pulls in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            table = Table("slug", "name", "numbers", "locale", "flags")
            for t in await tenant_service.list_tenants(session):
                table.add_row(t.slug, t.name, ", ".join(t.whatsapp_numbers), t.locale, json.dumps(t.flags))
            console.print(table)

    run(go)


def _ai_status(tenant: Any, spend: Decimal) -> dict[str, Any]:
    """Whether the AI agent answers, with which providers and models, and the month's spend."""
    # lazy: the routing module and the LLM providers cost ~2 s; only tenant status needs them
    from agents.routing import provider_chains
    from app.core.config import get_settings
    from app.llm.models import PROVIDERS
    from app.llm.providers import get_registry
    from app.tenants import service as tenant_service

    settings = get_settings()
    registry = get_registry()
    config = tenant_service.get_agent_config(tenant)
    on = tenant_service.flag(tenant, "ai_agent")
    keys = {p: ("key set" if p in registry.configured else "no key") for p in PROVIDERS}
    if settings.openai_base_url:
        keys["openai"] = f"endpoint {settings.openai_base_url}"
    if not on:
        effective = "offline tier (AI agent off)"
    elif not registry.enabled:
        effective = "offline tier (no LLM provider configured)"
    elif config.monthly_budget_usd is not None and spend >= config.monthly_budget_usd:
        effective = "offline tier (monthly LLM budget used up)"
    else:
        effective = "LLM tiers, offline tier as last resort"
    chains = provider_chains(registry, config)
    budget = "no limit" if config.monthly_budget_usd is None else f"${config.monthly_budget_usd}"
    return {
        "ai_agent": "on" if on else "off",
        "answers_with": effective,
        "providers": ", ".join(f"{p}: {v}" for p, v in keys.items()),
        "provider_health": registry.board.snapshot() or "no calls yet in this process",
        **{f"chain_{k}": " → ".join(v) or "-" for k, v in chains.items()},
        "llm_spend_this_month": f"${spend:.4f} of {budget}",
    }


async def _tenant_status(slug: str) -> dict[str, Any]:
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1.5 s); --help needs none of them
    from sqlalchemy import func, select

    from app.catalog.models import CatalogItem
    from app.conversations.models import Conversation
    from app.core.config import get_settings
    from app.core.db import session_scope
    from app.knowledge import service as knowledge_service
    from app.messaging import templates
    from app.tenants import service as tenant_service
    from app.usage import service as usage_service

    async with session_scope() as session:
        tenant = await tenant_service.require_tenant(session, slug=slug)
        cars = (await session.execute(select(func.count()).where(CatalogItem.tenant_id == tenant.id))).scalar_one()
        waiting = (
            await session.execute(
                select(func.count()).where(Conversation.tenant_id == tenant.id, Conversation.status == "handoff")
            )
        ).scalar_one()
        return {
            "slug": tenant.slug,
            "name": tenant.name,
            "numbers": tenant.whatsapp_numbers,
            "flags": tenant.flags,
            **_ai_status(tenant, await usage_service.month_spend(session, tenant_id=tenant.id)),
            "catalog_rows": cars,
            "knowledge_entries": await knowledge_service.count_entries(session, tenant_id=tenant.id),
            "conversations_waiting_for_human": waiting,
            "twilio": "configured" if get_settings().twilio_configured else "not configured (sends are simulated)",
            **_template_status(tenant.flags, await templates.readiness(session, tenant_id=tenant.id)),
        }


def _template_status(flags: dict[str, Any], ready: dict[str, str]) -> dict[str, Any]:
    """Each purpose's WhatsApp template, and a warning when the concierge has no approved outreach template."""
    status: dict[str, Any] = {f"template_{purpose}": state for purpose, state in ready.items()}
    warning = _outreach_warning(flags, ready)
    if warning:
        status["concierge_warning"] = warning
    return status


def _outreach_warning(flags: dict[str, Any], ready: dict[str, str]) -> str | None:
    """The warning when the concierge is on without an approved vendor_outreach template (``ready``: readiness)."""
    # lazy: the messaging domain pulls in SQLAlchemy (~1 s); --help needs none of it
    from app.messaging import templates

    if flags.get("concierge") and not ready.get("vendor_outreach", "").startswith("approved"):
        return templates.OUTREACH_WARNING
    return None


@tenant_app.command("status")
def tenant_status(slug: str) -> None:
    """Show a tenant's flags, AI agent (provider chain, keys, spend), data counts and delivery mode."""
    for key, value in run(lambda: _tenant_status(slug)).items():
        console.print(f"[bold]{key}[/bold]: {value}")


def _set_ai_agent(slug: str, value: bool) -> None:
    # lazy: the tenants domain and the LLM providers cost ~1.5 s; --help needs neither
    from app.core.db import session_scope
    from app.llm.providers import get_registry
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            await tenant_service.set_flag(session, tenant=tenant, flag="ai_agent", value=value)
        console.print(f"{slug}: ai_agent = {value} (takes effect on the next turn)")

        if value and not get_registry().enabled:
            console.print(
                "[yellow]No LLM provider is configured (OPENAI_API_KEY, OPENAI_BASE_URL, GOOGLE_API_KEY or "
                "TOGETHER_API_KEY): the offline tier keeps answering until one is.[/yellow]"
            )

    run(go)


@tenant_app.command("enable")
def tenant_enable(slug: str) -> None:
    """Switch the tenant's AI agent on (flags.ai_agent)."""
    _set_ai_agent(slug, True)


@tenant_app.command("disable")
def tenant_disable(slug: str) -> None:
    """Switch the tenant's AI agent off: the offline tier answers."""
    _set_ai_agent(slug, False)


# --- kill switch ---------------------------------------------------------------------------------


def _print_kill_switch(on: bool, reason: str | None, changed_at: Any) -> None:
    state = "ON (every tenant: offline agent only)" if on else "off"
    console.print(
        f"kill switch: {state}" + (f"; reason: {reason}" if reason else "") + f"; changed: {changed_at or '-'}"
    )


def _set_kill_switch(on: bool, reason: str | None) -> None:
    # lazy: the tenants domain pulls in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.tenants import features
    from app.tenants.schemas import KillSwitchUpdate

    reason = validated(KillSwitchUpdate, {"on": on, "reason": reason}).reason  # the API's limits

    async def go() -> KillSwitch:
        async with session_scope() as session:
            return await features.set_kill_switch(session, on=on, reason=reason)

    state = run(go)
    _print_kill_switch(state.on, state.reason, state.changed_at)


@killswitch_app.command("on")
def killswitch_on(
    reason: Annotated[str | None, typer.Option(help="Why (shown in status; at most 500 characters)")] = None,
) -> None:
    """Switch every tenant to the offline agent now (concierge, OCR, calling and LLM tiers stop)."""
    _set_kill_switch(True, reason)


@killswitch_app.command("off")
def killswitch_off() -> None:
    """Give every tenant its own flags again."""
    _set_kill_switch(False, None)


@killswitch_app.command("status")
def killswitch_status() -> None:
    """Show whether the kill switch is on."""
    # lazy: the tenants domain pulls in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.core.db import session_scope
    from app.tenants import features

    async def go() -> KillSwitch:
        async with session_scope() as session:
            return await features.get_kill_switch(session)

    state = run(go)
    _print_kill_switch(state.on, state.reason, state.changed_at)
