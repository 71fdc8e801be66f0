"""agentctl chat: talk to a tenant's agent from a terminal, as a WhatsApp customer would."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from app.cli.common import console, run


def chat(
    slug: Annotated[str, typer.Argument(help="Tenant to talk to")] = "demo",
    user: Annotated[str, typer.Option(help="Customer id (same id = same conversation)")] = "whatsapp:+5215500000000",
    message: Annotated[list[str] | None, typer.Option("--message", "-m", help="Send these and exit")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured result")] = False,
) -> None:
    """Talk to a tenant's agent as a WhatsApp customer would (empty line or Ctrl-D to quit)."""
    # lazy: the conversation flow imports the agent graph and LangChain (~3 s); only chat needs them
    from app.core.db import session_scope
    from app.flows import conversation as flows
    from app.llm.tracing import flush_traces
    from app.tenants import service as tenant_service

    async def go() -> None:
        try:
            await talk()
        finally:
            # Pending traces get a deadline; the SDK's upload threads never hold the exit past it.
            await asyncio.to_thread(flush_traces)

    async def talk() -> None:
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
