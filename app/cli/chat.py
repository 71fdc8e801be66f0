"""agentctl chat: talk to a tenant's agent from a terminal, as a WhatsApp customer would.

Two ways to run a turn, with the same conversation, history and output: in this process (the default: it
loads the agent, ~5 s of imports), or through a running API with ``--server URL`` (`just up` in another
terminal), which starts in well under a second because the agent runs in the server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from app.cli.common import console, err, fail, run

Turn = Callable[[str], Awaitable[dict[str, Any]]]


def chat(
    slug: Annotated[str, typer.Argument(help="Tenant to talk to")] = "demo",
    user: Annotated[str, typer.Option(help="Customer id (same id = same conversation)")] = "whatsapp:+5215500000000",
    message: Annotated[list[str] | None, typer.Option("--message", "-m", help="Send these and exit")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the structured result")] = False,
    server: Annotated[
        str | None,
        typer.Option(help="A running API, e.g. http://127.0.0.1:8000: chat through it (fast start, same data)"),
    ] = None,
    key: Annotated[str | None, typer.Option(help="API key for --server (default: ADMIN_API_KEY)")] = None,
) -> None:
    """Talk to a tenant's agent as a WhatsApp customer would (empty line or Ctrl-D to quit)."""
    if server:
        _chat_via_server(slug=slug, user=user, message=message, as_json=as_json, server=server, key=key)
    else:
        _chat_in_process(slug=slug, user=user, message=message, as_json=as_json)


def _chat_in_process(*, slug: str, user: str, message: list[str] | None, as_json: bool) -> None:
    # lazy: the conversation flow imports the agent graph and LangChain (~5 s); only chat needs them
    from app.core.db import session_scope
    from app.flows import conversation as flows
    from app.llm.tracing import flush_traces
    from app.tenants import service as tenant_service

    async def go() -> None:
        try:
            async with session_scope() as session:
                tenant = await tenant_service.require_tenant(session, slug=slug)

            async def turn(text: str) -> dict[str, Any]:
                result = await flows.chat(tenant=tenant, user=user, text=text)
                return _payload(result.outcome, result.latency_ms)

            await _converse(turn, name=tenant.name, slug=slug, user=user, message=message, as_json=as_json)
        finally:
            # Pending traces get a deadline; the SDK's upload threads never hold the exit past it.
            await asyncio.to_thread(flush_traces)

    run(go)


def _chat_via_server(
    *, slug: str, user: str, message: list[str] | None, as_json: bool, server: str, key: str | None
) -> None:
    # lazy: an HTTP client and the settings only (~0.2 s); the agent runs in the server
    import httpx

    from app.core.config import get_settings

    admin = get_settings().admin_api_key
    secret = key or (admin.get_secret_value() if admin else None)
    if not secret:
        raise fail("--server needs an API key: --key, or ADMIN_API_KEY in .env")
    url = f"{server.rstrip('/')}/v1/tenants/{slug}/chat"

    async def go() -> None:
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {secret}"}, timeout=120.0) as http:

            async def turn(text: str) -> dict[str, Any]:
                try:
                    response = await http.post(url, json={"user": user, "text": text})
                except httpx.HTTPError as exc:
                    raise _exit(f"{server} did not answer: {exc}") from None
                body: dict[str, Any] = response.json() if response.content else {}
                if response.status_code != 200:
                    error = body.get("error", {}) if isinstance(body, dict) else {}
                    raise _exit(f"{response.status_code} {error.get('message') or response.text}")
                return body

            await _converse(turn, name=slug, slug=slug, user=user, message=message, as_json=as_json)

    asyncio.run(go())


def _exit(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(1)


async def _converse(turn: Turn, *, name: str, slug: str, user: str, message: list[str] | None, as_json: bool) -> None:
    """The dialogue: the ``-m`` messages in order, or lines typed until an empty one."""
    if not message:
        console.print(f"[dim]chatting with {name} as {user}; empty line to quit[/dim]")
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
        _show(await turn(text), slug=slug, as_json=as_json)


def _payload(outcome: Any, latency_ms: int) -> dict[str, Any]:
    """An in-process turn's result in the API's shape (None: a person has the conversation)."""
    if outcome is None:
        return {"reply": "", "agent": "handoff", "intent": "handoff_active", "handoff": True, "items": [],
                "quote": None, "tier": "none", "model": None, "routing_reason": None, "latency_ms": latency_ms,
                "usage": {"llm_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}}  # fmt: skip
    return {
        "reply": outcome.reply,
        "agent": outcome.agent,
        "intent": outcome.intent,
        "handoff": outcome.handoff,
        "items": outcome.items,
        "quote": outcome.quote,
        "tier": outcome.tier,
        "model": outcome.model,
        "routing_reason": outcome.routing_reason,
        "usage": {
            "llm_calls": len(outcome.llm.calls),
            "input_tokens": outcome.llm.input_tokens,
            "output_tokens": outcome.llm.output_tokens,
            "cost_usd": outcome.llm.cost_usd,
        },
        "latency_ms": latency_ms,
    }


def _show(result: dict[str, Any], *, slug: str, as_json: bool) -> None:
    if as_json:
        keys = ("reply", "agent", "intent", "items", "quote", "tier", "model", "routing_reason", "usage", "latency_ms")
        print(json.dumps({k: result.get(k) for k in keys}, ensure_ascii=False, default=float))
        return
    if result.get("intent") == "handoff_active":
        console.print("[dim](a human advisor has this conversation; the bot stays silent)[/dim]")
        return
    console.print(f"[bold cyan]{slug}>[/bold cyan] {result['reply']}")
    usage = result.get("usage") or {}
    model = result.get("model")
    console.print(
        f"[dim]agent={result['agent']} intent={result['intent']} tier={result['tier']}"
        + (f" model={model} calls={usage.get('llm_calls', 0)} ${usage.get('cost_usd', 0)}" if model else "")
        + f" ({result.get('routing_reason')}) {result['latency_ms']} ms[/dim]"
    )
