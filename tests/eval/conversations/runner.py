"""Run the conversation evaluation: every conversation through the chat API, each turn checked.

    python -m tests.eval.conversations [--class N] [--id ID] [--dealer SLUG] [--failures] [--json PATH]

Self-contained, like tests/eval/run.py: a temporary DATA_DIR (embedded PostgreSQL), ``alembic upgrade
head``, the demo tenant seeded from app/demo/data, then the second dealer (tests/eval/conversations/
dealers/bajio) onboarded through the HTTP API as a new customer would: create the tenant with the admin
key, upload its own catalog CSV, import its company text as Markdown. Each conversation is one customer
talking to ``POST /v1/tenants/{slug}/chat`` in process (offline tier, no LLM). The table gives the pass
rate of turns per class, for the development part and the held-out quarter.

Exit status 0 whatever the score (it is a measurement); non-zero only when the run itself crashes.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.eval.conversations.checks import ConversationState, TurnOutcome, evaluate_turn
from tests.eval.conversations.spec import CLASSES, Conversation, load_conversations
from tests.eval.conversations.truth import DEALERS, Dealer, DealerSource, load_dealer
from tests.eval.database import migrated_temporary_database

BASE_URL = "http://eval.local"
PROBES = Path(__file__).resolve().parent / "probes"


def _probe_dealer(slug: str, catalog: str, knowledge: str, columns: dict[str, str]) -> DealerSource:
    """A probe dealer from its folder (``probes/dealers/SLUG``: tenant.json, its CSV, its company text),
    onboarded through the API like a new customer; ``columns``: the checker's field -> the CSV's header."""
    folder = PROBES / "dealers" / slug
    return DealerSource(
        slug=slug,
        tenant_json=folder / "tenant.json",
        catalog_csv=folder / catalog,
        columns=columns,
        knowledge=folder / knowledge,
        onboard_via_api=True,
    )


# The probe sets' other dealers, each with data of another shape: English headers and text (harbor),
# a Monterrey spreadsheet (norte), a Guadalajara system export (occidente), units, codes and a status column
# (sureste), "Submarca" / "Modelo (año)" (centro), a border dealer with miles and title statuses (frontera).
PROBE_DEALERS = {
    "harbor": _probe_dealer(
        "harbor",
        "inventory.csv",
        "company.md",
        {
            "stock_id": "stock_number",
            "make": "brand",
            "model": "model",
            "version": "trim",
            "year": "year",
            "price": "price",
            "km": "mileage",
            "transmission": "transmission",
            "fuel": "fuel",
            "color": "color",
        },
    ),
    "norte": _probe_dealer(
        "norte",
        "inventario.csv",
        "empresa.md",
        {
            "stock_id": "No. Inventario",
            "make": "Marca",
            "model": "Submarca",
            "version": "Versión",
            "year": "Año",
            "price": "Precio Contado",
            "km": "Km",
            "transmission": "Transmisión",
            "body": "Tipo",
            "color": "Color",
            "branch": "Ubicación",
        },
    ),
    "occidente": _probe_dealer(
        "occidente",
        "inventario.csv",
        "empresa.txt",
        {
            "stock_id": "Clave",
            "make": "Marca",
            "model": "Modelo",
            "version": "Versión",
            "year": "Año Mod.",
            "price": "Precio Venta",
            "km": "Kms.",
            "transmission": "Trans.",
            "fuel": "Comb.",
            "body": "Carrocería",
            "color": "Color Ext.",
            "branch": "Plaza",
        },
    ),
    "sureste": _probe_dealer(
        "sureste",
        "inventario.csv",
        "empresa.txt",
        {
            "stock_id": "No. Stock",
            "make": "Marca",
            "model": "Modelo",
            "version": "Versión",
            "year": "Año",
            "price": "Precio (MXN)",
            "km": "Kilometraje (km)",
            "transmission": "Trans",
            "fuel": "Comb",
            "body": "Segmento",
            "color": "Color",
            "branch": "Sucursal",
            "status": "Estatus",
        },
    ),
    "centro": _probe_dealer(
        "centro",
        "inventario.csv",
        "empresa.txt",
        {
            "stock_id": "ID",
            "make": "Marca",
            "model": "Submarca",
            "version": "Versión",
            "year": "Modelo (año)",
            "price": "Precio de lista",
            "km": "Odómetro",
            "transmission": "Transmisión",
            "color": "Color",
            "branch": "Ubicación",
        },
    ),
    "frontera": _probe_dealer(
        "frontera",
        "inventory.csv",
        "company.md",
        {
            "stock_id": "Stock #",
            "make": "Make",
            "model": "Model",
            "version": "Trim",
            "year": "Year",
            "price": "Price",
            "km": "Miles",
            "transmission": "Transmission",
            "drivetrain": "Drivetrain",
            "color": "Exterior Color",
            "title": "Title Status",
            "origin": "Origen",
            "legalized": "Legalizado",
            "branch": "Lot",
        },
    ),
}


@dataclass
class ConversationResult:
    conversation: Conversation
    customer: str
    turns: list[TurnOutcome] = field(default_factory=list)


@dataclass
class Onboarding:
    slug: str
    steps: list[tuple[str, int, str]] = field(default_factory=list)  # (step, status, detail)


# ---------------------------------------------------------------------------------------------- API calls


async def onboard(http: Any, dealer: Dealer) -> Onboarding:
    """Create the tenant, upload its catalog and company text through the API; every outcome is recorded."""
    src = dealer.source
    record = Onboarding(slug=dealer.slug)
    definition = json.loads(src.tenant_json.read_text(encoding="utf-8"))
    r = await http.post("/v1/tenants", json=definition)
    record.steps.append(("create tenant", r.status_code, "" if r.status_code < 300 else r.text[:300]))
    files = {"file": (src.catalog_csv.name, src.catalog_csv.read_bytes(), "text/csv")}
    r = await http.post(f"/v1/tenants/{dealer.slug}/catalog", files=files)
    detail = r.text[:300] if r.status_code >= 300 else json.dumps(r.json())[:300]
    record.steps.append(("import catalog CSV", r.status_code, detail))
    body = src.knowledge.read_bytes()
    kind = "application/json" if src.knowledge.suffix == ".json" else "text/markdown"
    r = await http.post(f"/v1/tenants/{dealer.slug}/knowledge/import", content=body, headers={"content-type": kind})
    detail = r.text[:300]
    record.steps.append(("import company text", r.status_code, detail))
    return record


async def read_leads(http: Any, slug: str) -> list[dict[str, Any]] | str:
    """The tenant's leads (GET /v1/tenants/{slug}/leads lists them), or why they could not be read."""
    r = await http.get(f"/v1/tenants/{slug}/leads")
    if r.status_code != 200:
        return f"GET leads answered {r.status_code}: {r.text[:120]}"
    return list(r.json())


async def set_flags(http: Any, slug: str, flags: dict[str, bool]) -> None:
    r = await http.patch(f"/v1/tenants/{slug}", json={"flags": flags})
    r.raise_for_status()


async def run_conversation(http: Any, conv: Conversation, dealer: Dealer, customer: str) -> ConversationResult:
    result = ConversationResult(conversation=conv, customer=customer)
    state = ConversationState(dealer=dealer, lang=conv.lang)
    before: dict[str, bool] = {}
    if conv.flags:
        r = await http.get(f"/v1/tenants/{conv.dealer}")
        r.raise_for_status()
        flags = r.json().get("flags") or {}
        before = {k: bool(flags.get(k, False)) for k in conv.flags}
        await set_flags(http, conv.dealer, conv.flags)
    try:
        for number, turn in enumerate(conv.turns, start=1):
            r = await http.post(f"/v1/tenants/{conv.dealer}/chat", json={"user": customer, "text": turn.user})
            if r.status_code != 200:
                out = TurnOutcome(
                    number, turn.user, "", [], None, False, "?", error=f"chat {r.status_code}: {r.text[:200]}"
                )
                result.turns.append(out)
                continue
            body = r.json()
            out = TurnOutcome(
                number=number,
                user=turn.user,
                reply=body.get("reply") or "",
                items=list(body.get("items") or []),
                quote=body.get("quote"),
                handoff=bool(body.get("handoff")),
                agent=str(body.get("agent")),
            )
            leads = await read_leads(http, conv.dealer) if "lead" in turn.expect else None
            evaluate_turn(out, turn, state, leads, customer)
            result.turns.append(out)
    finally:
        if conv.flags:
            await set_flags(http, conv.dealer, before)
    return result


async def run(conversations: list[Conversation]) -> tuple[list[ConversationResult], list[Onboarding]]:
    import httpx2

    from app.core.db import dispose_engine
    from app.demo.seed import seed_demo
    from app.main import create_app
    from app.worker import get_queue

    await seed_demo()
    dealers = {slug: load_dealer(slug) for slug in {c.dealer for c in conversations} | {"demo"}}
    app = create_app()
    queue = get_queue()
    onboarded: list[Onboarding] = []
    results: list[ConversationResult] = []
    headers = {"Authorization": f"Bearer {os.environ['ADMIN_API_KEY']}"}
    try:
        async with queue.open_async():
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers, timeout=120) as http:
                for dealer in dealers.values():
                    if dealer.source.onboard_via_api:
                        onboarded.append(await onboard(http, dealer))
                for n, conv in enumerate(conversations, start=1):
                    customer = f"whatsapp:+52155{n:08d}"
                    results.append(await run_conversation(http, conv, dealers[conv.dealer], customer))
    finally:
        await dispose_engine()
    return results, onboarded


# ---------------------------------------------------------------------------------------------- output


def _turns(
    results: list[ConversationResult], held: bool | None, cls: int | None = None, dealer: str | None = None
) -> list[TurnOutcome]:
    """The turns of the conversations in that part (held out or not; None: both), class and dealer."""
    return [
        t
        for r in results
        if (held is None or r.conversation.held_out == held)
        and (cls is None or r.conversation.cls == cls)
        and (dealer is None or r.conversation.dealer == dealer)
        for t in r.turns
    ]


def _rate(turns: list[TurnOutcome]) -> str:
    if not turns:
        return "—"
    passed = sum(t.passed for t in turns)
    return f"{passed / len(turns):.2f} ({passed}/{len(turns)})"


def summary(results: list[ConversationResult]) -> dict[str, Any]:
    """Pass rates per class and overall for both parts, and the invented-amount and repeat counts."""

    turns = functools.partial(_turns, results)

    def rate(ts: list[TurnOutcome]) -> float | None:
        return sum(t.passed for t in ts) / len(ts) if ts else None

    all_turns = turns(None)
    return {
        "classes": {c: {"dev": rate(turns(False, c)), "held_out": rate(turns(True, c))} for c in CLASSES},
        "overall": {"dev": rate(turns(False)), "held_out": rate(turns(True)), "all": rate(all_turns)},
        "dealers": {d: rate(turns(None, dealer=d)) for d in DEALERS},
        "turns": len(all_turns),
        "conversations": len(results),
        "invented_amounts": sum(1 for t in all_turns for c in t.checks if c.name == "amounts" and not c.ok),
        "verbatim_repeats": sum(1 for t in all_turns for c in t.checks if c.name == "repeat" and not c.ok),
    }


def report(
    results: list[ConversationResult],
    onboarded: list[Onboarding],
    show_failures: bool,
    seconds: float,
    show_all: bool = False,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    for ob in onboarded:
        for step, status, detail in ob.steps:
            mark = "ok" if status < 300 else "FAILED"
            console.print(
                f"onboarding {ob.slug}: {step} → {status} {mark} {detail if status >= 300 else ''}", markup=False
            )

    turns = functools.partial(_turns, results)

    table = Table(title="Conversation evaluation (offline tier): turns passing every check")
    table.add_column("class")
    table.add_column("development", justify="right")
    table.add_column("held-out", justify="right")
    table.add_column("all", justify="right")
    for cls, name in CLASSES.items():
        table.add_row(f"{cls}. {name}", _rate(turns(False, cls)), _rate(turns(True, cls)), _rate(turns(None, cls)))
    table.add_section()
    table.add_row("overall", _rate(turns(False)), _rate(turns(True)), _rate(turns(None)))
    for slug in DEALERS:
        table.add_row(
            f"  dealer {slug}",
            _rate(turns(False, dealer=slug)),
            _rate(turns(True, dealer=slug)),
            _rate(turns(None, dealer=slug)),
        )
    console.print(table)
    s = summary(results)
    failing: dict[str, int] = {}
    for t in turns(None):
        for c in t.failed:
            failing[c.name] = failing.get(c.name, 0) + 1
        if t.error:
            failing["error"] = failing.get("error", 0) + 1
    console.print(
        f"{s['conversations']} conversations, {s['turns']} turns in {seconds:.0f} s · "
        f"invented amounts: {s['invented_amounts']} · verbatim repeats: {s['verbatim_repeats']}",
        markup=False,
    )
    console.print(
        "failed checks: " + ", ".join(f"{k} {v}" for k, v in sorted(failing.items(), key=lambda kv: -kv[1])),
        markup=False,
    )
    if not show_failures:
        return
    for r in results:
        bad = [t for t in r.turns if not t.passed]
        if not bad and not show_all:
            continue
        conv = r.conversation
        held = ", held out" if conv.held_out else ""
        console.print(f"\n[bold]{conv.id}[/bold] ({conv.dealer}, class {conv.cls}{held})")
        for t in r.turns:
            mark = "✓" if t.passed else "✗"
            console.print(f"  {mark} {t.number}. » {t.user}", markup=False)
            if t.passed and not show_all:
                continue
            if t.error:
                console.print(f"      error: {t.error}", markup=False)
            for chk in t.failed:
                console.print(f"      ✗ {chk.name}: {chk.detail}", markup=False)
            reply = t.reply.replace("\n", "\n        ")
            console.print(
                f"      [{t.agent}{' handoff' if t.handoff else ''} items={t.items[:5]}]\n        {reply}", markup=False
            )


def _id_matches(conv_id: str, pattern: str) -> bool:
    """``--id p230-*`` runs one batch; a pattern without ``*`` must match exactly."""
    return conv_id.startswith(pattern[:-1]) if pattern.endswith("*") else conv_id == pattern


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--class", dest="cls", type=int, action="append", help="only this failure class (repeatable)")
    parser.add_argument(
        "--id", action="append", help="only this conversation id (repeatable; a trailing * matches a prefix)"
    )
    parser.add_argument(
        "--dealer",
        choices=sorted({*DEALERS, *PROBE_DEALERS}),
        help="only this dealer's conversations (the probe dealers with --set probes)",
    )
    parser.add_argument("--held-out", choices=["only", "exclude"], help="run only / skip the held-out quarter")
    parser.add_argument("--failures", action="store_true", help="print every failing turn with the reply text")
    parser.add_argument("--all-turns", action="store_true", help="print every turn with its reply, passing or not")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON to this path")
    parser.add_argument(
        "--set", dest="set_name", choices=["sets", "probes"], default="sets", help="which conversations (default: sets)"
    )
    args = parser.parse_args(argv)
    if args.dealer in PROBE_DEALERS and args.set_name != "probes":
        parser.error(f"--dealer {args.dealer} has conversations only in the probes: add --set probes")

    if args.set_name == "probes":
        DEALERS.update(PROBE_DEALERS)
        conversations = load_conversations(PROBES)
    else:
        conversations = load_conversations()
    if args.cls:
        conversations = [c for c in conversations if c.cls in args.cls]
    if args.id:
        conversations = [c for c in conversations if any(_id_matches(c.id, pattern) for pattern in args.id)]
    if args.dealer:
        conversations = [c for c in conversations if c.dealer == args.dealer]
    if args.held_out:
        conversations = [c for c in conversations if c.held_out == (args.held_out == "only")]
    if not conversations:
        print("no conversation matches", file=sys.stderr)
        return 2

    started = time.perf_counter()
    os.environ["ADMIN_API_KEY"] = secrets.token_hex(24)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    with migrated_temporary_database("agent-eval-conv-"):
        results, onboarded = asyncio.run(run(conversations))

    report(results, onboarded, args.failures or args.all_turns, time.perf_counter() - started, args.all_turns)
    if args.json:
        args.json.write_text(json.dumps(summary(results), indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
