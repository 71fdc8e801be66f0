"""Benchmark: the LLM tier's economy on a scripted conversation set, with a fake model.

    python -m tests.bench.llm [--conversations 18] [--out bench-results/llm.json] [--dump requests.jsonl]

Self-contained: a temporary DATA_DIR (embedded PostgreSQL), ``alembic upgrade head``, the demo
tenant seeded with its AI agent switched on, and a local OpenAI-compatible fake server as the only
provider (the real ``ChatOpenAI`` client talks to it over HTTP). Each scripted conversation goes through
the same flow as the chat API (``flows.chat``: lock, turn graph, persistence). The fake model answers from
the tool results it is given and calls ``search_knowledge`` itself when it was given none.

Measured from each turn's outcome (its LLM calls, their tokens and latency):

* LLM calls per turn (mean over all turns: offline-routed turns count as zero);
* FAQ turns (the business's own questions: the turn's intent is ``info``) that made two calls in a row
  (a classifier call before the answer, or a tool round) — the goal is none;
* LLM turns whose first call was handed no pre-computed result (``agents.llm_agent.precomputed``: what the
  offline tier determined, as tool results), which a model answers only after a tool round;
* prompt (input) tokens per LLM turn, summed over the turn's calls (median and p90; the fake counts
  ceil(characters / 4), see its docstring), and completion tokens per LLM turn;
* cost per 10-turn conversation at gpt-4o-mini list prices (USD per million tokens from
  ``app/llm/models.toml``; every turn counts, offline ones at zero): 10 × the mean cost of a turn;
* latency per LLM turn (p50, the graph and the fake's HTTP round trips) and routing and failover
  overhead per turn (p50): the route node plus the failover machinery around model calls.

Goals (issue 13): ≤ 1.05 calls per turn, no FAQ turn with sequential calls, median prompt ≤ 800 tokens
per turn, ≤ $0.0009 per 10-turn conversation, overhead p50 ≤ 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from tests.eval.database import migrated_temporary_database

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
    intent = "catalog" if cars else "info"
    # Only the fields the respond schema it was given has (a model fills what it is asked for): one intent
    # by name, or (older schemas) a list of names or of names with a confidence, and the stock ids.
    properties = next(t for t in body["tools"] if t["function"]["name"] == "respond")["function"]["parameters"][
        "properties"
    ]
    args: dict[str, Any] = {"reply": reply}
    if "intent" in properties:
        args["intent"] = intent
    else:
        named = "enum" in properties["intents"].get("items", {})
        args["intents"] = [intent] if named else [{"name": intent, "confidence": 0.9}]
    args["confidence"] = 0.85
    if "stock_ids" in properties:
        args["stock_ids"] = [c["stock_id"] for c in cars[:3]]
    return tool_call("respond", args)


def percentile(values: list[float], p: float) -> float:
    """The p-quantile (0–1) of ``values`` with linear interpolation (0 for none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


GOALS: dict[str, tuple[str, float]] = {
    # name: (comparison, bound)
    "calls_per_turn_mean": ("≤", 1.05),
    "faq_turns_with_sequential_calls": ("≤", 0),
    "prompt_tokens_per_turn_median": ("≤", 800),
    "cost_per_10_turn_conversation_usd": ("≤", 0.0009),
    "overhead_ms_p50": ("≤", 5),
}


def summarise(turns: list[dict[str, Any]], *, input_per_mtok: float, output_per_mtok: float) -> dict[str, Any]:
    """The figures of the run from its per-turn records (see the module docstring for each)."""
    llm_turns = [t for t in turns if t["calls"]]
    faq = [t for t in turns if t["intent"] == "info"]
    prompt = [float(t["prompt_tokens"]) for t in llm_turns]
    completion = [float(t["completion_tokens"]) for t in llm_turns]
    costs = [(t["prompt_tokens"] * input_per_mtok + t["completion_tokens"] * output_per_mtok) / 1e6 for t in turns]
    return {
        "turns": len(turns),
        "llm_turns": len(llm_turns),
        "offline_turns": len(turns) - len(llm_turns),
        "llm_calls": sum(len(t["calls"]) for t in turns),
        "calls_per_turn_mean": round(statistics.fmean(len(t["calls"]) for t in turns), 3),
        "calls_per_llm_turn_mean": round(statistics.fmean(len(t["calls"]) for t in llm_turns), 3) if llm_turns else 0,
        "calls_per_llm_turn_max": max((len(t["calls"]) for t in turns), default=0),
        "faq_turns": len(faq),
        "faq_turns_with_sequential_calls": sum(1 for t in faq if len(t["calls"]) > 1),
        "llm_turns_handed_nothing": sum(1 for t in llm_turns if not t["handed"]),
        "prompt_tokens_per_turn_median": statistics.median(prompt) if prompt else 0,
        "prompt_tokens_per_turn_p90": round(percentile(prompt, 0.9), 1),
        "prompt_tokens_per_call_median": statistics.median(c["input"] for t in turns for c in t["calls"])
        if llm_turns
        else 0,
        "completion_tokens_per_turn_median": statistics.median(completion) if completion else 0,
        "completion_tokens_per_turn_mean": round(statistics.fmean(completion), 1) if completion else 0,
        "cost_per_turn_usd_mean": round(statistics.fmean(costs), 8),
        "cost_per_10_turn_conversation_usd": round(10 * statistics.fmean(costs), 6),
        "latency_ms_p50": round(statistics.median(t["latency_ms"] for t in llm_turns), 1) if llm_turns else 0,
        "latency_ms_p90": round(percentile([t["latency_ms"] for t in llm_turns], 0.9), 1),
        "overhead_ms_p50": round(statistics.median(t["overhead_ms"] for t in turns), 3),
        "overhead_ms_p95": round(percentile([t["overhead_ms"] for t in turns], 0.95), 3),
        "routing_reasons": sorted({str(t["routing_reason"]).split(":")[0] for t in turns}),
        "tools_offered": sorted({",".join(t["tools"]) for t in llm_turns}),
    }


async def run(conversations: int, dump: Path | None) -> dict[str, Any]:
    from app.core.config import Settings
    from app.core.db import session_scope
    from app.demo.seed import seed_demo
    from app.flows import conversation as flows
    from app.llm.models import load_model_table
    from app.llm.providers import ProviderRegistry, set_registry
    from app.tenants import service as tenant_service
    from tests.fakes.openai_server import FakeOpenAIServer

    await seed_demo()
    async with session_scope() as session:
        tenant = await tenant_service.require_tenant(session, slug="demo")
        await tenant_service.set_flag(session, tenant=tenant, flag="ai_agent", value=True)
    turns: list[dict[str, Any]] = []
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
                seen = fake.request_count
                turn_started = time.perf_counter()
                result = await flows.chat(tenant=tenant, user=user, text=text)
                latency_ms = (time.perf_counter() - turn_started) * 1000
                outcome = result.outcome
                if outcome is None:
                    continue
                requests = fake.requests[seen:]
                calls = [c for c in outcome.llm.calls if c.success]
                turns.append(
                    {
                        "conversation": n,
                        "text": text,
                        "intent": outcome.intent,
                        "tier": outcome.tier,
                        "routing_reason": outcome.routing_reason,
                        "calls": [
                            {"purpose": c.purpose, "input": c.input_tokens, "output": c.output_tokens} for c in calls
                        ],
                        "prompt_tokens": sum(c.input_tokens for c in calls),
                        "completion_tokens": sum(c.output_tokens for c in calls),
                        "tools": sorted(
                            {t["function"]["name"] for r in requests for t in r.body.get("tools", [])} - {"respond"}
                        ),
                        "latency_ms": latency_ms,
                        "overhead_ms": outcome.routing_ms,
                        # What the turn's first call was handed (the offline tier's pre-computed results).
                        "handed": [
                            sorted(json.loads(m["content"]))
                            for m in (requests[0].body["messages"] if requests else [])
                            if m["role"] == "tool"
                        ],
                    }
                )
                if dump is not None:
                    with dump.open("a") as out:
                        for r in requests:
                            out.write(json.dumps({"turn": text, "body": r.body}, ensure_ascii=False) + "\n")
    spec = load_model_table().get("gpt-4o-mini")
    assert spec is not None, "gpt-4o-mini is missing from the model table"
    summary = summarise(turns, input_per_mtok=float(spec.input_per_mtok), output_per_mtok=float(spec.output_per_mtok))
    summary["elapsed_s"] = round(time.perf_counter() - started, 1)
    summary["per_turn"] = turns
    return summary


def _met(name: str, value: float) -> bool:
    _, bound = GOALS[name]
    return value <= bound


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--conversations", type=int, default=18)
    parser.add_argument("--out", type=Path, default=Path("bench-results/llm.json"))
    parser.add_argument("--dump", type=Path, default=None, help="write every request the fake received (JSONL)")
    args = parser.parse_args(argv)
    if args.dump is not None:
        args.dump.unlink(missing_ok=True)
    with migrated_temporary_database("bench-llm-"):
        results = asyncio.run(run(args.conversations, args.dump))
    print(
        f"LLM tier, fake model: {results['turns']} turns ({results['llm_turns']} LLM, "
        f"{results['offline_turns']} offline), {results['llm_calls']} calls, {results['elapsed_s']} s"
    )
    print(f"{'measure':<36}{'value':>12}  goal")
    for name, (op, bound) in GOALS.items():
        value = results[name]
        print(f"{name:<36}{value:>12}  {op} {bound:g} {'met' if _met(name, value) else 'MISSED'}")
    print(
        f"{'calls_per_llm_turn_mean':<36}{results['calls_per_llm_turn_mean']:>12}\n"
        f"{'faq_turns':<36}{results['faq_turns']:>12}\n"
        f"{'llm_turns_handed_nothing':<36}{results['llm_turns_handed_nothing']:>12}\n"
        f"{'prompt_tokens_per_turn_p90':<36}{results['prompt_tokens_per_turn_p90']:>12}\n"
        f"{'prompt_tokens_per_call_median':<36}{results['prompt_tokens_per_call_median']:>12}\n"
        f"{'completion_tokens_per_turn_median':<36}{results['completion_tokens_per_turn_median']:>12}\n"
        f"{'latency_ms_p50 (LLM turns)':<36}{results['latency_ms_p50']:>12}\n"
        f"{'overhead_ms_p95':<36}{results['overhead_ms_p95']:>12}"
    )
    print(f"routing: {', '.join(results['routing_reasons'])}; tool sets: {' | '.join(results['tools_offered'])}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0 if all(_met(name, results[name]) for name in GOALS) else 1


if __name__ == "__main__":
    sys.exit(main())
