"""agentctl template: WhatsApp templates through Twilio's Content API (create the defaults, sync, list, map)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from app.cli.common import console, fail, run

if TYPE_CHECKING:
    from app.channels.sender import ReplySender

template_app = typer.Typer(
    help="WhatsApp templates (Twilio Content API): create, sync, list, map.", no_args_is_help=True
)


def _sender() -> ReplySender:
    # lazy: the Twilio client and the settings cost ~0.5 s; --help needs neither
    from app.channels.sender import ReplySender
    from app.core.config import get_settings

    settings = get_settings()
    if not settings.twilio_configured:
        raise fail("Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN): no Content API to talk to")
    return ReplySender(settings)


def _print_templates(rows: list[Any], ready: dict[str, str]) -> None:
    """The templates (synced or stored rows) as a table, then what each purpose will send."""
    table = Table("content sid", "name", "language", "approval", "purpose")
    for t in rows:
        table.add_row(t.content_sid, t.friendly_name, t.language, t.status, t.purpose or "-")
    console.print(table)
    for purpose, state in ready.items():
        console.print(f"[bold]{purpose}[/bold]: {state}")


@template_app.command("create")
def template_create(
    purpose: Annotated[list[str] | None, typer.Option(help="Only these purposes (repeat); all by default")] = None,
    language: Annotated[list[str] | None, typer.Option(help="Only these languages (es, en)")] = None,
    slug: Annotated[str | None, typer.Option(help="Name them <slug>_<purpose>_<language>: this tenant's own")] = None,
) -> None:
    """Create the project's default templates (Spanish and English, with variables) and submit them to
    WhatsApp for approval; then `agentctl template sync SLUG` once WhatsApp has approved them."""
    # lazy: the messaging domain pulls in SQLAlchemy (~1 s); --help needs none of it
    from app.messaging import templates

    chosen = [p for p in templates.PURPOSES if not purpose or p in purpose]
    languages = [lang for lang in templates.LANGUAGES if not language or lang in language]
    unknown = sorted(set(purpose or []) - set(templates.PURPOSES)) + sorted(set(language or []) - {"es", "en"})
    if unknown or not chosen or not languages:
        raise fail(f"unknown purpose or language: {unknown}; purposes are {', '.join(templates.PURPOSES)}")

    async def go() -> list[tuple[str, str, str]]:
        sender = _sender()
        made = []
        try:
            for p in chosen:
                for lang in languages:
                    name = templates.default_name(p, lang)
                    name = f"{slug.lower()}_{name}" if slug else name
                    sid = await sender.create_content(
                        friendly_name=name,
                        language=lang,
                        variables=templates.SAMPLES[p],
                        types={"twilio/text": {"body": templates.default_body(p, lang)}},
                    )
                    assert sid is not None
                    status = await sender.submit_for_approval(
                        content_sid=sid, name=name, category=templates.CATEGORIES[p]
                    )
                    made.append((sid, name, status or "-"))
        finally:
            await sender.aclose()
        return made

    table = Table("content sid", "name", "approval")
    for row in run(go):
        table.add_row(*row)
    console.print(table)
    console.print("Submitted for WhatsApp's approval; run `agentctl template sync SLUG` to connect them.")


@template_app.command("sync")
def template_sync(slug: str) -> None:
    """Read the account's templates with their WhatsApp approval and map them to the tenant's purposes."""
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1.5 s); --help needs none of them
    from app.core.db import session_scope
    from app.messaging import templates
    from app.tenants import service as tenant_service

    async def go() -> tuple[list[Any], dict[str, str]]:
        sender = _sender()
        try:
            contents = await sender.list_contents()
        finally:
            await sender.aclose()
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            synced = await templates.sync_templates(session, tenant_id=tenant.id, slug=tenant.slug, contents=contents)
            return synced, await templates.readiness(session, tenant_id=tenant.id)

    _print_templates(*run(go))


@template_app.command("list")
def template_list(slug: str) -> None:
    """The tenant's synced templates and what each purpose will send."""
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1.5 s); --help needs none of them
    from app.core.db import session_scope
    from app.messaging import templates
    from app.tenants import service as tenant_service

    async def go() -> tuple[list[Any], dict[str, str]]:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            rows = await templates.list_templates(session, tenant_id=tenant.id)
            return rows, templates.purpose_states(rows)

    _print_templates(*run(go))


@template_app.command("map")
def template_map(slug: str, content_sid: str, purpose: str) -> None:
    """Use a synced template (any name) for a purpose; `none` unmaps it."""
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1.5 s); --help needs none of them
    from app.core.db import session_scope
    from app.messaging import templates
    from app.tenants import service as tenant_service

    async def go() -> str:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            mapped = await templates.map_template(
                session, tenant_id=tenant.id, content_sid=content_sid, purpose=None if purpose == "none" else purpose
            )
            return f"{mapped.content_sid} ({mapped.friendly_name}, {mapped.status}) → {mapped.purpose or 'unmapped'}"

    console.print(run(go))
