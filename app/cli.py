"""agentctl: operate the agent from a terminal (talks to the database directly, no server needed)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy import func, select

from app.concierge.cli import vendor_app
from app.core.config import get_settings
from app.core.db import dispose_engine, session_scope
from app.core.errors import DomainError
from app.tenants.cli import killswitch_app, tenant_flags, tenant_rollout
from app.usage.cli import usage_app

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.knowledge.models import KnowledgeEntry

app = typer.Typer(help="Operate the WhatsApp agent: tenants, keys, data, conversations, chat.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
catalog_app = typer.Typer(help="Catalog.", no_args_is_help=True)
knowledge_app = typer.Typer(help="Knowledge base.", no_args_is_help=True)
conversation_app = typer.Typer(help="Conversations.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(apikey_app, name="apikey")
app.add_typer(catalog_app, name="catalog")
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(conversation_app, name="conversation")
app.add_typer(usage_app, name="usage")
app.add_typer(vendor_app, name="vendor")
app.add_typer(killswitch_app, name="killswitch")
tenant_app.command("flags")(tenant_flags)
tenant_app.command("rollout")(tenant_rollout)

console = Console()
err = Console(stderr=True)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine, turning domain errors into a clean message and exit code 1."""

    async def main() -> T:
        try:
            return await factory()
        finally:
            await dispose_engine()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        if exc.details:
            err.print(json.dumps(exc.details, ensure_ascii=False, default=str))
        raise typer.Exit(1) from None


# --- lifecycle -----------------------------------------------------------------------------------


@app.command()
def migrate() -> None:
    """Apply database migrations (alembic upgrade head)."""
    from app.core.migrate import upgrade

    upgrade()
    console.print("database migrated to head")


@app.command()
def seed() -> None:
    """Create or refresh the demo tenant (idempotent)."""
    from app.demo.seed import seed_demo

    result = run(seed_demo)
    console.print(result)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="API processes (default: API_WORKERS)")] = None,
) -> None:
    """Serve the HTTP API and webhooks."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=workers or settings.api_workers,
        log_config=None,
    )


@app.command()
def worker(concurrency: Annotated[int | None, typer.Option(help="Jobs run at once")] = None) -> None:
    """Run a queue worker (many may run, on many machines)."""
    from app.core.logging import configure_logging
    from app.worker import run_worker

    configure_logging()
    run(lambda: run_worker(concurrency=concurrency))


@app.command()
def up(host: Annotated[str, typer.Option()] = "127.0.0.1", port: Annotated[int | None, typer.Option()] = None) -> None:
    """Migrate, seed the demo tenant, then serve the API with one worker beside it."""
    migrate()
    seed()
    worker_process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=os.environ.copy())
    console.print(f"worker started (pid {worker_process.pid}); API on http://{host}:{port or get_settings().port}")
    try:
        serve(host=host, port=port, workers=None)
    finally:
        worker_process.send_signal(signal.SIGTERM)
        try:
            worker_process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker_process.kill()


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
    from pydantic import ValidationError

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
    from agents.routing import provider_chains
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
    from app.catalog.models import CatalogItem
    from app.conversations.models import Conversation
    from app.knowledge import service as knowledge_service
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
        }


@tenant_app.command("status")
def tenant_status(slug: str) -> None:
    """Show a tenant's flags, AI agent (provider chain, keys, spend), data counts and delivery mode."""
    for key, value in run(lambda: _tenant_status(slug)).items():
        console.print(f"[bold]{key}[/bold]: {value}")


def _set_ai_agent(slug: str, value: bool) -> None:
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            await tenant_service.set_flag(session, tenant=tenant, flag="ai_agent", value=value)
        console.print(f"{slug}: ai_agent = {value} (takes effect on the next turn)")
        from app.llm.providers import get_registry

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


# --- keys, data ----------------------------------------------------------------------------------


@apikey_app.command("create")
def apikey_create(slug: str, name: Annotated[str, typer.Option()] = "default") -> None:
    """Create a tenant-scoped API key; the secret is printed once."""
    from app.auth import service as auth_service
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            key = await auth_service.create_api_key(session, tenant_id=tenant.id, name=name)
        console.print(f"API key for {slug} ({key.name}), shown once:")
        print(key.secret)

    run(go)


@catalog_app.command("import")
def catalog_import(slug: str, path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Replace a tenant's catalog with a CSV file (atomic; a bad row changes nothing)."""
    from app.catalog import service as catalog_service
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


@knowledge_app.command("import")
def knowledge_import(
    slug: str,
    paths: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, help="JSON, CSV (question,answer) or .md")
    ],
    category: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Import knowledge files; re-importing identical content changes nothing."""
    from app.knowledge import service as knowledge_service
    from app.knowledge.files import read_knowledge_file
    from app.tenants import service as tenant_service

    async def go() -> None:
        totals = {"created": 0, "updated": 0, "unchanged": 0}
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
            task = bar.add_task("importing", total=len(paths))
            for path in paths:
                bar.update(task, description=f"importing {path.name}")
                entries = read_knowledge_file(path, category=category)
                async with session_scope() as session:
                    tenant = await tenant_service.require_tenant(session, slug=slug)
                    result = await knowledge_service.import_entries(session, tenant_id=tenant.id, entries=entries)
                for key in totals:
                    totals[key] += getattr(result, key)
                bar.advance(task)
        console.print(totals)
        await _embed_with_progress(slug, rechunk=False)

    run(go)


async def _embed_with_progress(slug: str | None, *, rechunk: bool) -> None:
    """Chunk again if asked, then embed what the active provider has not, with a progress bar."""
    from app.knowledge import service as knowledge_service
    from app.knowledge.embeddings import describe, get_embedder
    from app.tenants import service as tenant_service

    embedder = get_embedder()
    async with session_scope() as session:
        tenant_id = (await tenant_service.require_tenant(session, slug=slug)).id if slug else None
        if rechunk:
            console.print(f"rechunked: {await knowledge_service.rechunk(session, tenant_id=tenant_id)} chunks")
    if embedder is None:
        if not rechunk:
            return
        console.print(f"embeddings provider: {describe(None)}; nothing to embed")
        return
    async with session_scope() as session:
        pending = await knowledge_service.count_unembedded(session, embedder=embedder, tenant_id=tenant_id)
    console.print(f"embeddings provider: {describe(embedder)}; {pending} chunks to embed")
    if not pending:
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
        task = bar.add_task("embedding", total=pending)
        while True:  # one transaction per batch: an interrupted run keeps what it did
            async with session_scope() as session:
                done = await knowledge_service.embed_pending(
                    session,
                    embedder=embedder,
                    tenant_id=tenant_id,
                    max_chunks=256,
                    progress=lambda n: bar.advance(task, n),
                )
            if done < 256:
                break
    console.print(f"embedded {pending} chunks")


@knowledge_app.command("reembed")
def knowledge_reembed(
    slug: Annotated[str | None, typer.Argument(help="Tenant slug; omit with --all")] = None,
    all_tenants: Annotated[bool, typer.Option("--all", help="Every tenant")] = False,
    rechunk: Annotated[bool, typer.Option("--rechunk", help="Chunk every entry again first")] = False,
) -> None:
    """Give every chunk a vector of the active provider (EMBEDDINGS_PROVIDER): run after changing it."""
    if (slug is None) != all_tenants:
        err.print("[red]error:[/red] give a tenant slug or --all (not both)")
        raise typer.Exit(2)
    run(lambda: _embed_with_progress(slug, rechunk=rechunk))


@knowledge_app.command("list")
def knowledge_list(
    slug: str,
    type: Annotated[str | None, typer.Option("--type", help="faq, policy, product_info, location, ...")] = None,
    category: Annotated[str | None, typer.Option()] = None,
) -> None:
    """List a tenant's knowledge entries (deleted ones are not shown)."""
    from app.knowledge import service as knowledge_service
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            rows = await knowledge_service.list_entries(
                session, tenant_id=tenant.id, type=type, category=category, limit=10_000
            )
        table = Table("id", "type", "title", "lang", "category", "priority", "active", "version")
        for r in rows:
            table.add_row(
                str(r.id), r.type, r.title, r.language, r.category or "", str(r.priority), str(r.active), str(r.version)
            )
        console.print(table)

    run(go)


@knowledge_app.command("show")
def knowledge_show(slug: str, entry_id: str) -> None:
    """Print one entry as JSON."""
    from app.knowledge import service as knowledge_service
    from app.knowledge.schemas import KnowledgeEntryRead
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            row = await knowledge_service.get_entry(session, tenant_id=tenant.id, entry_id=_uuid(entry_id))
            console.print_json(KnowledgeEntryRead.model_validate(row).model_dump_json())

    run(go)


@knowledge_app.command("add")
def knowledge_add(
    slug: str,
    title: Annotated[str, typer.Option()],
    content: Annotated[str, typer.Option()],
    type: Annotated[str, typer.Option("--type")] = "faq",
    category: Annotated[str | None, typer.Option()] = None,
    language: Annotated[str | None, typer.Option(help="es or en; detected when left out")] = None,
    keyword: Annotated[list[str] | None, typer.Option(help="repeat for several")] = None,
    priority: Annotated[int, typer.Option()] = 0,
) -> None:
    """Add one entry."""
    from app.knowledge import service as knowledge_service
    from app.knowledge.schemas import KnowledgeEntryCreate

    body = _validated(
        KnowledgeEntryCreate,
        {
            "title": title,
            "content": content,
            "type": type,
            "category": category,
            "language": language,
            "keywords": keyword or [],
            "priority": priority,
        },
    )
    _knowledge_write(
        slug, lambda session, tenant_id: knowledge_service.create_entry(session, tenant_id=tenant_id, entry=body)
    )


@knowledge_app.command("update")
def knowledge_update(
    slug: str,
    entry_id: str,
    title: Annotated[str | None, typer.Option()] = None,
    content: Annotated[str | None, typer.Option()] = None,
    type: Annotated[str | None, typer.Option("--type")] = None,
    category: Annotated[str | None, typer.Option()] = None,
    keyword: Annotated[list[str] | None, typer.Option(help="replaces the keywords; repeat for several")] = None,
    priority: Annotated[int | None, typer.Option()] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
) -> None:
    """Change an entry; a change of its text bumps the version."""
    from app.knowledge import service as knowledge_service
    from app.knowledge.schemas import KnowledgeEntryUpdate

    given = {
        "title": title,
        "content": content,
        "type": type,
        "category": category,
        "keywords": keyword,
        "priority": priority,
        "active": active,
    }
    changes = _validated(KnowledgeEntryUpdate, {k: v for k, v in given.items() if v is not None})
    target = _uuid(entry_id)
    _knowledge_write(
        slug,
        lambda session, tenant_id: knowledge_service.update_entry(
            session, tenant_id=tenant_id, entry_id=target, changes=changes
        ),
    )


@knowledge_app.command("delete")
def knowledge_delete(slug: str, entry_id: str) -> None:
    """Soft-delete an entry: it stops answering at once."""
    from app.knowledge import service as knowledge_service
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            await knowledge_service.delete_entry(session, tenant_id=tenant.id, entry_id=_uuid(entry_id))
        console.print(f"deleted {entry_id}")

    run(go)


@knowledge_app.command("search")
def knowledge_search(slug: str, query: str, limit: Annotated[int, typer.Option(min=1, max=20)] = 5) -> None:
    """The scored entries a question finds, best first."""
    from app.knowledge import service as knowledge_service
    from app.tenants import service as tenant_service
    from app.text.normalize import detect_language

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            hits = await knowledge_service.search_knowledge(
                session,
                tenant_id=tenant.id,
                query=query,
                language=detect_language(query, default=tenant_service.default_language(tenant)),
                limit=limit,
            )
        if not hits:
            console.print("no entry answers this (the agent would offer a person)")
            return
        table = Table("score", "lexical", "similarity", "title", "id")
        for h in hits:
            lexical = "-" if h.lexical_score is None else f"{h.lexical_score:.3f}"
            similarity = "-" if h.similarity is None else f"{h.similarity:.3f}"
            title = f"{h.title} [close match]" if h.close_match else h.title
            table.add_row(f"{h.score:.3f}", lexical, similarity, title, str(h.id))
        console.print(table)

    run(go)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        err.print(f"[red]error:[/red] not an id: {value}")
        raise typer.Exit(2) from None


def _validated(model: type[M], data: dict[str, Any]) -> M:
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            err.print(f"[red]error:[/red] {'.'.join(str(x) for x in e['loc'])}: {e['msg']}")
        raise typer.Exit(2) from None


def _knowledge_write(slug: str, write: Callable[[AsyncSession, uuid.UUID], Awaitable[KnowledgeEntry]]) -> None:
    """Run one entry write for the tenant and print the entry's id and version."""
    from app.knowledge.schemas import KnowledgeEntryRead
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            row = await write(session, tenant.id)
            read = KnowledgeEntryRead.model_validate(row)
        console.print(f"{read.id} version {read.version}: {read.title}")

    run(go)


@conversation_app.command("list")
def conversation_list(slug: str, status: Annotated[str | None, typer.Option()] = None) -> None:
    """List a tenant's conversations (``--status handoff`` for those waiting for a human)."""
    from app.conversations import service as conversation_service
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            table = Table("id", "customer", "name", "status", "last message")
            for c in await conversation_service.list_conversations(session, tenant_id=tenant.id, status=status):
                table.add_row(str(c.id), c.customer, c.profile_name or "", c.status, str(c.last_message_at or ""))
            console.print(table)

    run(go)


@conversation_app.command("history")
def conversation_history(
    slug: str,
    customer: Annotated[str, typer.Argument(help="Customer id, e.g. +5215512345678 or whatsapp:+52...")],
    window: Annotated[int | None, typer.Option(help="Messages to show (default: HISTORY_WINDOW)")] = None,
) -> None:
    """Show the chat history a turn would read for a customer (the last HISTORY_WINDOW messages)."""
    from app.conversations.history import WindowedChatHistory
    from app.conversations.service import customer_key
    from app.core.db import get_engine
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
        history = WindowedChatHistory(
            engine=get_engine(),
            tenant_id=tenant.id,
            customer=customer_key(customer),
            window=window or get_settings().history_window,
        )
        for message in await history.aget_messages():
            who = "customer" if message.type == "human" else "agent"
            console.print(f"[bold]{who}>[/bold] {message.content}")

    run(go)


@conversation_app.command("release")
def conversation_release(slug: str, conversation_id: str) -> None:
    """Give a handed-off conversation back to the bot."""
    from app.conversations import service as conversation_service
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            await conversation_service.release_conversation(
                session, tenant_id=tenant.id, conversation_id=_uuid(conversation_id)
            )
        console.print(f"conversation {conversation_id} released to the bot")

    run(go)


# --- chat ----------------------------------------------------------------------------------------


@app.command()
def chat(
    slug: Annotated[str, typer.Argument(help="Tenant to talk to")] = "demo",
    user: Annotated[str, typer.Option(help="Customer id (same id = same conversation)")] = "whatsapp:+5215500000000",
    message: Annotated[list[str] | None, typer.Option("--message", "-m", help="Send these and exit")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured result")] = False,
) -> None:
    """Talk to a tenant's agent as a WhatsApp customer would (empty line or Ctrl-D to quit)."""
    from app.flows import conversation as flows
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
        if not message:
            console.print(f"[dim]chatting with {tenant.name} as {user}; empty line to quit[/dim]")
        pending = list(message or [])
        while True:
            if message is not None:
                if not pending:
                    return
                text = pending.pop(0)
            else:
                try:
                    text = await asyncio.to_thread(console.input, "[bold green]you>[/bold green] ")
                except EOFError:
                    return
                if not text.strip():
                    return
            result = await flows.chat(tenant=tenant, user=user, text=text)
            outcome = result.outcome
            if as_json:
                payload = {
                    "reply": outcome.reply if outcome else "",
                    "agent": outcome.agent if outcome else "handoff",
                    "intent": outcome.intent if outcome else "handoff_active",
                    "items": outcome.items if outcome else [],
                    "quote": outcome.quote if outcome else None,
                    "tier": outcome.tier if outcome else "none",
                    "model": outcome.model if outcome else None,
                    "routing_reason": outcome.routing_reason if outcome else None,
                    "usage": {
                        "llm_calls": len(outcome.llm.calls) if outcome else 0,
                        "input_tokens": outcome.llm.input_tokens if outcome else 0,
                        "output_tokens": outcome.llm.output_tokens if outcome else 0,
                        "cost_usd": float(outcome.llm.cost_usd) if outcome else 0.0,
                    },
                    "latency_ms": result.latency_ms,
                }
                print(json.dumps(payload, ensure_ascii=False))
            elif outcome is None:
                console.print("[dim](a human advisor has this conversation; the bot stays silent)[/dim]")
            else:
                console.print(f"[bold cyan]{tenant.slug}>[/bold cyan] {outcome.reply}")
                console.print(
                    f"[dim]agent={outcome.agent} intent={outcome.intent} tier={outcome.tier}"
                    + (
                        f" model={outcome.model} calls={len(outcome.llm.calls)} ${outcome.llm.cost_usd}"
                        if outcome.model
                        else ""
                    )
                    + f" ({outcome.routing_reason}) {result.latency_ms} ms[/dim]"
                )

    run(go)


if __name__ == "__main__":
    app()
