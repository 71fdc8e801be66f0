"""agentctl knowledge: import, embed, list, show, add, update, delete and search a tenant's knowledge base."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from app.cli.common import as_uuid, console, err, run, validated

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.knowledge.models import KnowledgeEntry

knowledge_app = typer.Typer(help="Knowledge base.", no_args_is_help=True)


@knowledge_app.command("import")
def knowledge_import(
    slug: str,
    paths: Annotated[
        list[Path],
        typer.Argument(
            exists=True, dir_okay=False, help="JSON, CSV (question,answer), .md or .txt (a Word-pasted text)"
        ),
    ],
    category: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Import knowledge files; re-importing identical content changes nothing."""
    # lazy: the knowledge domain pulls in SQLAlchemy, pandas and FastAPI (~1.5 s); --help needs none of them
    from app.core.db import session_scope
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
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
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
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
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
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
    from app.knowledge import service as knowledge_service
    from app.knowledge.schemas import KnowledgeEntryRead
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            row = await knowledge_service.get_entry(session, tenant_id=tenant.id, entry_id=as_uuid(entry_id))
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
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.knowledge import service as knowledge_service
    from app.knowledge.schemas import KnowledgeEntryCreate

    body = validated(
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
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
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
    changes = validated(KnowledgeEntryUpdate, {k: v for k, v in given.items() if v is not None})
    target = as_uuid(entry_id)
    _knowledge_write(
        slug,
        lambda session, tenant_id: knowledge_service.update_entry(
            session, tenant_id=tenant_id, entry_id=target, changes=changes
        ),
    )


@knowledge_app.command("delete")
def knowledge_delete(slug: str, entry_id: str) -> None:
    """Soft-delete an entry: it stops answering at once."""
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
    from app.knowledge import service as knowledge_service
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            await knowledge_service.delete_entry(session, tenant_id=tenant.id, entry_id=as_uuid(entry_id))
        console.print(f"deleted {entry_id}")

    run(go)


@knowledge_app.command("search")
def knowledge_search(slug: str, query: str, limit: Annotated[int, typer.Option(min=1, max=20)] = 5) -> None:
    """The scored entries a question finds, best first."""
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
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


def _knowledge_write(slug: str, write: Callable[[AsyncSession, uuid.UUID], Awaitable[KnowledgeEntry]]) -> None:
    """Run one entry write for the tenant and print the entry's id and version."""
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
    from app.knowledge.schemas import KnowledgeEntryRead
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            row = await write(session, tenant.id)
            read = KnowledgeEntryRead.model_validate(row)
        console.print(f"{read.id} version {read.version}: {read.title}")

    run(go)


synonyms_app = typer.Typer(help="Synonym groups of a tenant (added to the built-in lexicon).", no_args_is_help=True)
knowledge_app.add_typer(synonyms_app, name="synonyms")


@synonyms_app.command("list")
def synonyms_list(slug: str) -> None:
    """List the tenant's synonym groups."""
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
    from app.knowledge import service as knowledge_service
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            rows = await knowledge_service.list_synonyms(session, tenant_id=tenant.id)
        table = Table("id", "terms")
        for r in rows:
            table.add_row(str(r.id), ", ".join(r.terms))
        console.print(table)

    run(go)


@synonyms_app.command("add")
def synonyms_add(
    slug: str, terms: Annotated[list[str], typer.Argument(help='Two or more terms, e.g. sede sucursal "pago inicial"')]
) -> None:
    """Add a group of terms that mean the same to this business's customers."""
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
    from app.knowledge import service as knowledge_service
    from app.knowledge.schemas import SynonymGroupCreate
    from app.tenants import service as tenant_service

    body = validated(SynonymGroupCreate, {"terms": terms})

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            row = await knowledge_service.add_synonyms(session, tenant_id=tenant.id, terms=body.terms)
            line = f"{row.id}: {', '.join(row.terms)}"
        console.print(line)

    run(go)


@synonyms_app.command("delete")
def synonyms_delete(slug: str, group_id: str) -> None:
    """Remove one synonym group."""
    # lazy: the knowledge domain pulls in SQLAlchemy and FastAPI (~1.5 s); --help needs neither
    from app.core.db import session_scope
    from app.knowledge import service as knowledge_service
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            await knowledge_service.delete_synonyms(session, tenant_id=tenant.id, group_id=as_uuid(group_id))
        console.print(f"deleted {group_id}")

    run(go)
