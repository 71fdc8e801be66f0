"""agentctl conversation: list a tenant's conversations, read one's history, release a handoff."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from app.cli.common import as_uuid, console, run

conversation_app = typer.Typer(help="Conversations.", no_args_is_help=True)


@conversation_app.command("list")
def conversation_list(slug: str, status: Annotated[str | None, typer.Option()] = None) -> None:
    """List a tenant's conversations (``--status handoff`` for those waiting for a human)."""
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.conversations import service as conversation_service
    from app.core.db import session_scope
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
    window: Annotated[
        int | None, typer.Option(help="Messages to show (default: HISTORY_WINDOW)", min=1, max=10_000)
    ] = None,
) -> None:
    """Show the chat history a turn would read for a customer (the last HISTORY_WINDOW messages)."""
    # lazy: the domain services pull in SQLAlchemy, LangChain and FastAPI (~1.5 s); --help needs none of them
    from app.conversations.history import WindowedChatHistory
    from app.conversations.service import customer_key
    from app.core.config import get_settings
    from app.core.db import get_engine, session_scope
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
    # lazy: the domain services pull in SQLAlchemy and FastAPI (~1 s); --help needs neither
    from app.conversations import service as conversation_service
    from app.core.db import session_scope
    from app.tenants import service as tenant_service

    async def go() -> None:
        async with session_scope() as session:
            tenant = await tenant_service.require_tenant(session, slug=slug)
            await conversation_service.release_conversation(
                session, tenant_id=tenant.id, conversation_id=as_uuid(conversation_id)
            )
        console.print(f"conversation {conversation_id} released to the bot")

    run(go)
