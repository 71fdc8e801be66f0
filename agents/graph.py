"""The orchestrator: load context → classify → route → specialist → compose → persist (LangGraph)."""

from __future__ import annotations

import logging
import re
import time
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

import pandas as pd
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agents.classify import Classification, Intent, classify
from agents.context import Agent, TenantContext, TurnOutcome
from agents.llm_agent import (
    HISTORY_MESSAGE_CHARS,
    AgentGaveUp,
    ExtractedRequest,
    classify_with_llm,
    extract_request_with_llm,
    history_for_model,
    read_photo_with_llm,
    run_specialist,
    running_summary,
)
from agents.llm_agent import system_prompt as build_system_prompt
from agents.memory import ConversationMemory, ShownCar
from agents.routing import Route, route_turn
from agents.specialists import concierge as concierge_flow
from agents.specialists.catalog import answer_catalog
from agents.specialists.finance import answer_finance
from agents.specialists.info import answer_info, search_for_info
from agents.specialists.smalltalk import answer_handoff, answer_smalltalk
from agents.state import TurnDeps, TurnState, TurnUpdate
from agents.tools import DOMAIN_TOOLS, ToolBox, card_payload
from app.catalog import service as catalog_service
from app.catalog.frame import card_by_id
from app.concierge.types import Category, Item, Money, Urgency
from app.core.config import get_settings
from app.llm.invoke import ChainExhausted, LLMStats
from app.llm.tracing import annotate_trace, customer_hash
from app.text.normalize import detect_language, fold
from app.text.wording import say
from app.usage import service as usage_service
from prompts import combined_version

log = logging.getLogger(__name__)
OFFLINE_TIER = "offline"
LLM_TIER = "llm"
# Rules found nothing specific (only the catch-all "info"): the LLM classifier decides what it is.
_UNCERTAIN = 0.5
_ROUTES: dict[str, str] = {
    "handoff": "handoff",
    "concierge": "concierge",
    "finance": "finance",
    "catalog": "catalog",
    "greeting": "smalltalk",
    "help": "smalltalk",
    "thanks": "smalltalk",
    "info": "info",
}
_LEADING_GREETING = re.compile(
    r"^\s*(hola|buen[oa]s?( dias| tardes| noches)?|hi|hello|hey|good (morning|afternoon|evening))\b"
)


async def load_context(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    """The conversation's memory, the customer's language and the tenant's catalog.

    Chat history is not read here: the offline tier decides from structured memory alone.
    """
    deps = runtime.context
    tenant = state["tenant"]
    memory = (state.get("memory") or ConversationMemory()).model_copy(deep=True)
    # An offer of a human lasts one turn: a "sí" right after it accepts, anything else drops it.
    offered = memory.offered_handoff
    memory.offered_handoff = False
    default = memory.language or tenant.default_language
    language = detect_language(state["text"], default=default)
    # Into the turn's runtime context, not the state (see TurnDeps.catalog): traces stay small.
    deps.catalog = await catalog_service.load_catalog(deps.session, tenant_id=tenant.id)
    return {
        "language": language,
        "memory": memory,
        "tier": OFFLINE_TIER,
        "offered_handoff": offered,
    }


async def classify_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    """Rule-based intents (the offline tier's classifier)."""
    memory = state["memory"].model_copy(update={"offered_handoff": state.get("offered_handoff", False)})
    vocabulary = runtime.context.stock().vocabulary
    classification = classify(state["text"], vocabulary=vocabulary, memory=memory)
    return {"classification": classification, "intent": classification.primary.name}


def _auto_handoff_topic(text: str, topics: list[str]) -> str | None:
    folded = fold(text)
    return next((t for t in topics if fold(t) and re.search(rf"\b{re.escape(fold(t))}\b", folded)), None)


def _with_llm_intents(classification: Classification, intents: list[Any]) -> Classification:
    named = [Intent(i.name, i.confidence) for i in intents if i.name in _ROUTES]
    if not named:
        return classification
    return Classification(intents=named, filters=classification.filters, reference=classification.reference)


async def route_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    """Complexity routing: the offline tier or an LLM chain; auto-handoff topics; LLM intents when rules are unsure."""
    started = time.perf_counter()
    deps = runtime.context
    tenant = state["tenant"]
    agent = tenant.agent
    classification = state["classification"]
    memory = state["memory"]
    concierge = False
    if deps.features.get("concierge") and deps.conversation_id is not None:
        concierge = await concierge_flow.claims(deps.session, _concierge_turn(state, deps))
        if concierge and state["intent"] == "handoff":  # "quiero hablar con una persona" always works
            await concierge_flow.hand_off(deps.session, tenant_id=tenant.id, conversation_id=deps.conversation_id)
            concierge = False
    topic = None if concierge else _auto_handoff_topic(state["text"], agent.auto_handoff_topics)
    if topic is not None:
        route = Route("offline", 0.0, f"auto_handoff:{topic}")
        return {"route": route, "intent": "handoff", "handoff_reason": "auto_topic", "routing_ms": _ms(started)}
    spend = Decimal(0)
    if tenant.ai_agent and agent.monthly_budget_usd is not None:
        spend = await usage_service.month_spend(deps.session, tenant_id=tenant.id)
    route = route_turn(
        text=state["text"],
        classification=classification,
        turns_so_far=memory.turns,
        # What an LLM turn would send: this message and the bounded, clipped history window.
        context_tokens=(len(state["text"]) + deps.history_messages * HISTORY_MESSAGE_CHARS) // 4,
        ai_agent=tenant.ai_agent,
        config=agent,
        registry=deps.llm,
        month_spend=spend,
        long_context_tokens=deps.long_context_tokens,
    )
    stats = LLMStats()
    update: TurnUpdate = {"route": route, "llm": stats}
    routing_ms = _ms(started)
    if concierge:
        return {**update, "intent": "concierge", "routing_ms": routing_ms}
    if route.tier == LLM_TIER and deps.llm is not None and _unsure(classification):
        # A question that closely matches a curated FAQ needs no model to tell what it asks.
        hits = await search_for_info(state, deps)
        if hits and hits[0].close_match:
            update["knowledge_hits"] = hits
            update["routing_ms"] = routing_ms
            return update
        try:
            intents = await classify_with_llm(deps.llm, route.chain, tenant=tenant, text=state["text"], stats=stats)
        except ChainExhausted:
            intents = []
        refined = _with_llm_intents(classification, intents)
        update["classification"] = refined
        update["intent"] = refined.primary.name
    if update.get("intent", state["intent"]) == "handoff":
        update["handoff_reason"] = "customer_request"
    update["routing_ms"] = routing_ms
    return update


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _unsure(classification: Classification) -> bool:
    return classification.primary.name == "info" and classification.primary.confidence <= _UNCERTAIN


def route(state: TurnState) -> str:
    """The specialist node for the primary intent."""
    return _ROUTES.get(state["intent"], "smalltalk")


async def info_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    return await answer_info(state, runtime.context)


async def catalog_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    return answer_catalog(state, runtime.context.stock())


async def finance_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    result = answer_finance(state, runtime.context.stock())
    if result.pop("needs_price", False):
        # "¿Qué requisitos piden para el crédito?" has no car or amount to quote: the business's
        # own written answer is better than asking for a price, when it has one.
        info = await answer_info(state, runtime.context)
        if info.get("sources"):
            return info
    return result


def _concierge_turn(state: TurnState, deps: TurnDeps) -> concierge_flow.ConciergeTurn:
    assert deps.conversation_id is not None
    route = state.get("route")
    vision = None
    if route is not None and route.tier == LLM_TIER and deps.llm is not None:
        registry, chain, stats = deps.llm, route.chain, state["llm"]

        async def vision(data: bytes, content_type: str) -> str:
            return await read_photo_with_llm(registry, chain, data=data, content_type=content_type, stats=stats)

    return concierge_flow.ConciergeTurn(
        tenant_id=state["tenant"].id,
        conversation_id=deps.conversation_id,
        customer=deps.customer or "",
        text=state["text"],
        language=state["language"],
        ocr_enabled=deps.features.get("ocr", False),
        media=deps.media,
        pin=deps.pin,
        vision=vision,
    )


async def concierge_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    """The concierge: requirements one question at a time, confirmation, then vendors are asked.

    With the LLM tier on, a structured-output call reads the message too and fills what the rules missed.
    """
    deps = runtime.context
    route = state["route"]
    hint: concierge_flow.Hint | None = None
    update: TurnUpdate = {"agent": "concierge", "intent": "concierge"}
    if route.tier == LLM_TIER and deps.llm is not None:
        try:
            read = await extract_request_with_llm(
                deps.llm, route.chain, tenant=state["tenant"], text=state["text"], stats=state["llm"]
            )
        except ChainExhausted:
            read = None
        if read is not None:
            hint = _hint(read)
            update["tier"] = LLM_TIER
    answer = await concierge_flow.answer(deps.session, _concierge_turn(state, deps), hint)
    return {**update, "reply": answer.reply}


def _hint(read: ExtractedRequest) -> concierge_flow.Hint:
    items = [Item(name=i.name, quantity=i.quantity, details=i.details) for i in read.items]
    budget = Money(amount=read.budget, currency=read.currency or "MXN") if read.budget else None
    return concierge_flow.Hint(
        items=items,
        budget=budget,
        urgency=Urgency(read.urgency) if read.urgency else None,
        category=Category(read.category) if read.category else None,
        place=read.place,
    )


async def handoff_node(state: TurnState) -> TurnUpdate:
    return {**answer_handoff(state), "handoff_reason": state.get("handoff_reason") or "customer_request"}


async def smalltalk_node(state: TurnState) -> TurnUpdate:
    return answer_smalltalk(state)


def _prefetched(state: TurnState, frame: pd.DataFrame) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """The offline tier's domain results, handed to the model as tool results it asked for."""
    found: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    items = state.get("items") or []
    if items:
        cards = [card_by_id(frame, i) for i in items]
        payload = [card_payload(c) for c in cards if c is not None]
        if payload:
            args = state["classification"].filters.model_dump(exclude_defaults=True, mode="json")
            found.append(("search_catalog", args, {"cars": payload, "total_matches": len(payload)}))
    quote = state.get("quote")
    quotes = state.get("quotes")
    if quote or quotes:
        base = quote or (quotes or [{}])[0]
        args = {"price": base.get("price"), "term_months": base.get("term_months") if quote else None}
        result: dict[str, Any] = {"quote": quote} if quote else {"quotes": quotes}
        found.append(("quote_financing", {k: v for k, v in args.items() if v is not None}, result))
    sources = state.get("sources") or []
    if sources:
        entries = [{"id": s["id"], "title": s["title"], "content": state.get("reply", "")} for s in sources[:1]]
        found.append(("search_knowledge", {"query": state["text"][:300]}, {"entries": entries}))
    return found


async def llm_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    """The LLM tier: a tool-calling specialist seeded with the offline results; the offline reply is the fallback."""
    deps = runtime.context
    route = state["route"]
    tenant = state["tenant"]
    if route.tier != LLM_TIER or deps.llm is None or state.get("handoff"):
        return {}
    if state.get("faq_fast_path"):  # a curated FAQ matched very closely: its text answers, no model call
        return {
            "tier": OFFLINE_TIER,
            "route": Route("offline", route.complexity, f"{route.reason};faq_fast_path", route.model_tier, route.chain),
        }
    language = state["language"]
    memory = state.get("memory") or ConversationMemory()
    agent_name = state.get("agent", "smalltalk")
    specialist = agent_name if agent_name in ("catalog", "finance", "info") else "general"
    system, prompts = build_system_prompt(
        tenant, tenant.agent, language=language, summary=running_summary(memory, language), specialist=specialist
    )
    history = []
    if deps.history is not None and deps.history_messages:
        history = history_for_model(await deps.history(deps.history_messages))
    toolbox = ToolBox(
        session=deps.session,
        tenant_id=tenant.id,
        catalog=deps.stock(),
        terms=tenant.finance,
        language=language,
        knowledge_min_score=deps.knowledge_min_score,
    )
    stats = state["llm"]
    version = combined_version(*prompts)
    try:
        answer = await run_specialist(
            deps.llm,
            route.chain,
            system=system,
            history=history,
            text=state["text"],
            toolbox=toolbox,
            tools=DOMAIN_TOOLS,
            prefetched=_prefetched(state, deps.stock().frame),
            stats=stats,
        )
    except (ChainExhausted, AgentGaveUp) as exc:
        log.warning("llm tier failed for tenant %s: %s; offline answer used", tenant.slug, type(exc).__name__)
        return _offline_fallback(state, reason="llm_failed", prompt_version=version)
    if answer.ungrounded:
        log.warning("llm reply with figures no tool returned (%s); offline answer used", answer.ungrounded)
        return _offline_fallback(state, reason="ungrounded", prompt_version=version)
    update: TurnUpdate = {
        "reply": answer.reply,
        "tier": LLM_TIER,
        "model": answer.model,
        "confidence": answer.confidence,
        "prompt_version": version,
        "intents": [i.model_dump() for i in answer.intents],
    }
    if answer.stock_ids:
        update["items"] = answer.stock_ids
    if toolbox.quote is not None and toolbox.quote is not state.get("quote"):
        update["quote"] = toolbox.quote
    if toolbox.sources:
        update["sources"] = toolbox.sources
    new_memory = memory.model_copy(deep=True)
    cars = [toolbox.cars[i] for i in answer.stock_ids if i in toolbox.cars]
    if cars:
        new_memory.shown = [_shown(c) for c in cars]
    if toolbox.quote is not None:
        new_memory.last_quote = toolbox.quote
    primary = answer.intents[0] if answer.intents else None
    if primary is not None and primary.name == "handoff" and primary.confidence >= 0.7:
        return {**update, **_handoff(state, "customer_request"), "memory": new_memory}
    streak = new_memory.low_confidence
    streak = streak + 1 if answer.confidence < tenant.agent.confidence_threshold else 0
    new_memory.low_confidence = streak
    if streak >= tenant.agent.low_confidence_turns:
        new_memory.low_confidence = 0
        return {**update, **_handoff(state, "low_confidence"), "memory": new_memory}
    update["memory"] = new_memory
    return update


def _shown(car: dict[str, Any]) -> ShownCar:
    """A car a tool returned, as the conversation remembers it."""
    return {
        "stock_id": car["stock_id"],
        "make": car["make"],
        "model": car["model"],
        "year": car["year"],
        "price": car["price"],
        "version": car.get("version"),
    }


def _handoff(state: TurnState, reason: str) -> TurnUpdate:
    result = answer_handoff(state)
    result["handoff_reason"] = reason
    return result


def _offline_fallback(state: TurnState, *, reason: str, prompt_version: str) -> TurnUpdate:
    """The offline tier's answer stands; when it had nothing to say either, a holding message and a person."""
    route = state["route"]
    update: TurnUpdate = {
        "tier": OFFLINE_TIER,
        "prompt_version": prompt_version,
        "route": Route("offline", route.complexity, f"{route.reason};{reason}", route.model_tier, route.chain),
    }
    unanswered = state.get("agent") == "smalltalk" and state["intent"] not in {"greeting", "thanks", "help"}
    not_found = state.get("agent") == "info" and not state.get("sources")
    if unanswered or not_found:
        language = state["language"]
        update.update(
            {
                "agent": "handoff",
                "handoff": True,
                "handoff_reason": "llm_unavailable",
                "reply": say("holding", language, business=state["tenant"].name),
            }
        )
    return update


async def compose(state: TurnState, config: RunnableConfig) -> TurnUpdate:
    """Final reply: greeting echo, disclaimers, never empty; the structured outcome, annotated on the trace."""
    language = state["language"]
    tenant = state["tenant"]
    reply = state.get("reply", "").strip()
    tier = state.get("tier", OFFLINE_TIER)
    greeted = _LEADING_GREETING.match(fold(state["text"]))
    if tier == OFFLINE_TIER and state["intent"] not in {"greeting", "handoff"} and greeted:
        reply = ("¡Hola! " if language == "es" else "Hi! ") + reply
    agent = cast(Agent, state.get("agent", "smalltalk"))
    for disclaimer in tenant.agent.disclaimers:
        if disclaimer.applies_to in ("all", agent):
            text = disclaimer.text(language)
            if text not in reply:
                reply = f"{reply}\n\n{text}"
    memory = state["memory"].model_copy(deep=True)
    memory.language = language
    memory.turns += 1
    memory.topics = [*memory.topics[-4:], state["intent"]]
    classification = state["classification"]
    intents = state.get("intents") or [{"name": i.name, "confidence": i.confidence} for i in classification.intents]
    route = state["route"]
    stats = state.get("llm") or LLMStats()
    handoff = state.get("handoff", False)
    confidence = state.get("confidence")
    if confidence is None:
        confidence = classification.primary.confidence
    model = state.get("model") if tier == LLM_TIER else None
    outcome = TurnOutcome(
        reply=reply,
        intent=state["intent"],
        agent=agent,
        tier=tier,
        language=language,
        handoff=handoff,
        items=list(state.get("items", [])),
        quote=state.get("quote"),
        sources=list(state.get("sources", [])),
        memory=memory,
        handoff_reason=(state.get("handoff_reason") or "customer_request") if handoff else None,
        intents=intents,
        confidence=confidence,
        model=model,
        complexity=route.complexity,
        routing_reason=route.reason,
        prompt_version=state.get("prompt_version"),
        llm=stats,
        routing_ms=state.get("routing_ms", 0.0) + stats.overhead_seconds * 1000,
    )
    annotate_trace(
        config,
        intents=[i["name"] for i in intents],
        intent=state["intent"],
        tier=tier,
        model=model,
        complexity=route.complexity,
        routing_reason=route.reason,
        prompt_version=state.get("prompt_version"),
        handoff_reason=outcome.handoff_reason,
        tags=[f"tier:{tier}", f"intent:{state['intent']}"] + ([f"model:{model}"] if model else []),
    )
    return {"outcome": outcome, "reply": reply}


async def persist(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    """Hand the outcome to the channel flow, which stores it atomically."""
    await runtime.context.persist(state["outcome"])
    return {}


@lru_cache
def build_graph() -> CompiledStateGraph[TurnState, TurnDeps, TurnState, TurnState]:
    """Compile the turn graph once per process."""
    graph = StateGraph(TurnState, context_schema=TurnDeps)
    graph.add_node("load_context", load_context)
    graph.add_node("classify", classify_node)
    graph.add_node("route", route_node)
    graph.add_node("llm", llm_node)
    graph.add_node("info", info_node)
    graph.add_node("catalog", catalog_node)
    graph.add_node("finance", finance_node)
    graph.add_node("handoff", handoff_node)
    graph.add_node("concierge", concierge_node)
    graph.add_node("smalltalk", smalltalk_node)
    graph.add_node("compose", compose)
    graph.add_node("persist", persist)
    graph.add_edge(START, "load_context")
    graph.add_edge("load_context", "classify")
    graph.add_edge("classify", "route")
    graph.add_conditional_edges("route", route, ["info", "catalog", "finance", "handoff", "smalltalk", "concierge"])
    for node in ("info", "catalog", "finance", "smalltalk"):
        graph.add_edge(node, "llm")
    graph.add_edge("handoff", "compose")
    graph.add_edge("concierge", "compose")
    graph.add_edge("llm", "compose")
    graph.add_edge("compose", "persist")
    graph.add_edge("persist", END)
    return graph.compile()


async def run_turn(
    *,
    tenant: TenantContext,
    text: str,
    memory: ConversationMemory,
    deps: TurnDeps,
    callbacks: list[BaseCallbackHandler] | None = None,
) -> TurnOutcome:
    """Run one turn through the graph and return its outcome (already persisted through ``deps``).

    With tracing callbacks, the turn is one trace whose root carries the tenant, the conversation and a
    hash of the customer's number (never the number); the nodes add intents, tier, model and prompt version.
    """
    state: TurnState = {"tenant": tenant, "text": text, "memory": memory.model_copy(deep=True)}
    metadata: dict[str, Any] = {"tenant": tenant.slug, "tenant_id": str(tenant.id)}
    if deps.conversation_id is not None:
        metadata["conversation_id"] = str(deps.conversation_id)
    if deps.customer:
        # Keyed with a server-side secret when there is one: phone numbers are few enough to enumerate.
        secret = get_settings().admin_api_key
        metadata["customer_hash"] = customer_hash(deps.customer, secret=secret.get_secret_value() if secret else None)
    config: RunnableConfig = {
        "run_name": "turn",
        "metadata": metadata,
        "tags": [f"tenant:{tenant.slug}"],
        "callbacks": callbacks or [],
    }
    final = await build_graph().ainvoke(state, config=config, context=deps)
    return cast(TurnOutcome, final["outcome"])
