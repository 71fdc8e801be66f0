"""Benchmark: the LLM tier's economy on a scripted conversation set, with a fake model.

    python -m tests.bench.llm [--conversations 12] [--out bench-results/llm.json]

Self-contained: a temporary DATA_DIR (embedded PostgreSQL), ``alembic upgrade head``, the demo
tenant seeded with its AI agent switched on, and a local OpenAI-compatible fake server as the only
provider (the real ``ChatOpenAI`` client talks to it over HTTP). Each scripted conversation goes through
the same flow as the chat API (``flows.chat``: lock, turn graph, persistence). The fake model answers from
the tool results it is given and calls ``search_knowledge`` itself when it was given none.

Measured from what the turns recorded (``turns`` and ``llm_calls`` rows, the turn outcome):

* LLM calls per turn (mean over all turns: offline-routed turns count as zero);
* prompt (input) tokens per LLM call (median; the fake counts ceil(characters / 4), see its docstring);
* routing and failover overhead per turn (p50): the route node (complexity score, budget check, chain)
  plus the time spent in the failover machinery around model calls (breakers, retries, bookkeeping).

Goals: mean calls ≤ 1.3, median prompt tokens ≤ 1,500, overhead p50 ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCRIPTS: list[list[str]] = [
    ["hola", "¿tienen Mazda 3?", "el primero a 48 meses", "¿y a 60?", "gracias"],
    ["busco una camioneta automática de menos de 400 mil", "¿la segunda tiene carplay?", "¿qué garantía tienen?"],
    ["¿tienen un Jetta 2019 y a cuánto quedaría a 48 meses?", "¿qué documentos piden para el crédito?"],
    ["hi, do you have a Honda CR-V?", "the cheapest one", "monthly payment over 36 months with 20% down?"],
    ["¿cuál es su horario?", "¿dónde están ubicados?", "¿reciben mi auto a cuenta?"],
    ["quiero algo económico para la universidad, menos de 200 mil", "más baratos", "el primero", "¿tiene garantía?"],
    ["¿me conviene más un Corolla o un Sentra para Uber?", "¿y cuánto pagaría al mes por el Corolla?"],
    ["buenas tardes", "¿tienen Toyota Hilux?", "¿y a 72 meses con 100 mil de enganche?", "ok gracias"],
    ["what are your opening hours?", "do you offer financing?", "what do I need to apply?"],
    ["necesito un auto familiar 7 pasajeros", "el más nuevo", "¿cuántos km tiene?", "¿se puede apartar?"],
    ["¿aceptan pagos con criptomonedas?", "¿hacen pruebas de manejo a domicilio?"],
    ["hola, busco Mazda CX-5 2020 o más nuevo", "¿precio con enganche del 30%?", "perfecto, gracias"],
]


def _responder(body: dict[str, Any]) -> Any:
    from tests.fakes.openai_server import tool_call

    results = [json.loads(m["content"]) for m in body["messages"] if m["role"] == "tool"]
    if body.get("tool_choice") and not any(t["function"]["name"] == "respond" for t in body.get("tools", [])):
        # The intent classifier (structured output): one forced function, the intent list.
        name = body["tools"][0]["function"]["name"]
        return tool_call(name, {"intents": [{"name": "info", "confidence": 0.6}]})
    if not results:
        user = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        query = user.replace("<customer_message>", "").replace("</customer_message>", "").strip()[:200]
        return tool_call("search_knowledge", {"query": query})
    cars: list[dict[str, Any]] = []
    quote: dict[str, Any] | None = None
    entries: list[dict[str, Any]] = []
    for result in results:
        cars.extend(result.get("cars", []))
        quote = result.get("quote") or quote
        entries.extend(result.get("entries", []))
    lines = [f"{c['make']} {c['model']} {c['year']}: ${c['price']:,.0f}" for c in cars[:3]]
    if quote:
        lines.append(f"{quote['term_months']} meses: ${quote['monthly_payment']:,.2f} al mes.")
    if entries:
        lines.append(str(entries[0]["content"])[:300])
    reply = "\n".join(lines) or "No tengo esa información; ¿te comunico con un asesor?"
    intents = [{"name": "catalog" if cars else "info", "confidence": 0.9}]
    return tool_call(
        "respond",
        {"reply": reply, "intents": intents, "confidence": 0.85, "stock_ids": [c["stock_id"] for c in cars[:3]]},
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


async def run(conversations: int) -> dict[str, Any]:
    from sqlalchemy import select

    from app.core.config import Settings
    from app.core.db import session_scope
    from app.demo.seed import seed_demo
    from app.flows import conversation as flows
    from app.llm.providers import ProviderRegistry, set_registry
    from app.tenants import service as tenant_service
    from app.usage.models import LLMCallRecord
    from tests.fakes.openai_server import FakeOpenAIServer

    await seed_demo()
    async with session_scope() as session:
        tenant = await tenant_service.require_tenant(session, slug="demo")
        await tenant_service.set_flag(session, tenant=tenant, flag="ai_agent", value=True)
    outcomes: list[Any] = []
    started = time.perf_counter()
    with FakeOpenAIServer(responder=_responder) as fake:
        settings = Settings(openai_base_url=fake.base_url, openai_api_key="bench", google_api_key=None)
        set_registry(ProviderRegistry.from_settings(settings))
        scripts = [SCRIPTS[i % len(SCRIPTS)] for i in range(conversations)]
        for n, script in enumerate(scripts):
            user = f"bench-{n}"
            for text in script:
                async with session_scope() as session:
                    tenant = await tenant_service.require_tenant(session, slug="demo")
                result = await flows.chat(tenant=tenant, user=user, text=text)
                outcomes.append(result.outcome)
    elapsed = time.perf_counter() - started
    async with session_scope() as session:
        calls = list((await session.execute(select(LLMCallRecord))).scalars())
    turns = [o for o in outcomes if o is not None]
    per_turn = [len(o.llm.calls) for o in turns]
    prompt_tokens = [c.input_tokens for c in calls if c.success]
    overhead = [o.routing_ms for o in turns]
    llm_turns = [o for o in turns if o.tier == "llm"]
    return {
        "turns": len(turns),
        "llm_turns": len(llm_turns),
        "offline_turns": len(turns) - len(llm_turns),
        "llm_calls": len(calls),
        "calls_per_turn_mean": round(statistics.fmean(per_turn), 3),
        "prompt_tokens_median": statistics.median(prompt_tokens) if prompt_tokens else 0,
        "prompt_tokens_p95": round(percentile([float(t) for t in prompt_tokens], 0.95), 1) if prompt_tokens else 0,
        "overhead_ms_p50": round(statistics.median(overhead), 3),
        "overhead_ms_p95": round(percentile(overhead, 0.95), 3),
        "routing_reasons": sorted({str(o.routing_reason).split(":")[0] for o in turns}),
        "elapsed_s": round(elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--conversations", type=int, default=18)
    parser.add_argument("--out", type=Path, default=Path("bench-results/llm.json"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp:
        os.environ["DATA_DIR"] = tmp
        os.environ.pop("DATABASE_URL", None)
        os.environ["LANGSMITH_TRACING"] = "false"
        from alembic import command
        from alembic.config import Config

        from app.core.db import stop_embedded_postgres

        try:
            command.upgrade(Config("alembic.ini"), "head")
            results = asyncio.run(run(args.conversations))
        finally:
            stop_embedded_postgres()
    goals = {
        "calls_per_turn_mean": (results["calls_per_turn_mean"], "≤ 1.3", results["calls_per_turn_mean"] <= 1.3),
        "prompt_tokens_median": (results["prompt_tokens_median"], "≤ 1500", results["prompt_tokens_median"] <= 1500),
        "overhead_ms_p50": (results["overhead_ms_p50"], "≤ 5 ms", results["overhead_ms_p50"] <= 5),
    }
    print(
        f"LLM tier, fake model: {results['turns']} turns "
        f"({results['llm_turns']} LLM, {results['offline_turns']} offline)"
    )
    print(f"{'measure':<24}{'value':>12}  goal")
    for name, (value, goal, ok) in goals.items():
        print(f"{name:<24}{value:>12}  {goal} {'met' if ok else 'MISSED'}")
    print(
        f"prompt tokens p95 {results['prompt_tokens_p95']}, overhead p95 {results['overhead_ms_p95']} ms, "
        f"{results['llm_calls']} calls, {results['elapsed_s']} s; routing: {', '.join(results['routing_reasons'])}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0 if all(ok for _, _, ok in goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
