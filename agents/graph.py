"""The orchestrator: load context → classify → route → specialist → compose → persist (LangGraph)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agents.classify import classify
from agents.context import Agent, TenantContext, TurnOutcome
from agents.specialists.catalog import answer_catalog
from agents.specialists.finance import answer_finance
from agents.specialists.info import answer_info
from agents.specialists.smalltalk import answer_handoff, answer_smalltalk
from agents.state import TurnDeps, TurnState
from app.catalog import service as catalog_service
from app.textnorm import detect_language, fold

OFFLINE_TIER = "offline"
_ROUTES: dict[str, str] = {
    "handoff": "handoff",
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


def _deps(config: RunnableConfig) -> TurnDeps:
    return cast(TurnDeps, config["configurable"]["deps"])


async def load_context(state: TurnState, config: RunnableConfig) -> dict[str, Any]:
    """The conversation's memory, the customer's language and the tenant's catalog.

    Chat history is not read here: the offline tier decides from structured memory alone.
    """
    deps = _deps(config)
    tenant = state["tenant"]
    memory = dict(state.get("memory") or {})
    # An offer of a human lasts one turn: a "sí" right after it accepts, anything else drops it.
    offered = bool(memory.pop("offered_handoff", False))
    default = memory.get("language") or tenant.default_language
    language = detect_language(state["text"], default=default)
    catalog = await catalog_service.load_catalog(deps.session, tenant_id=tenant.id)
    return {
        "language": language,
        "catalog": catalog,
        "memory": memory,
        "tier": OFFLINE_TIER,
        "offered_handoff": offered,
    }


async def classify_node(state: TurnState) -> dict[str, Any]:
    """Rule-based intents (the offline tier's classifier)."""
    memory = {**state["memory"], "offered_handoff": state.get("offered_handoff", False)}
    classification = classify(state["text"], vocabulary=state["catalog"].vocabulary, memory=memory)
    return {"classification": classification, "intent": classification.primary.name}


def route(state: TurnState) -> str:
    """The specialist node for the primary intent."""
    return _ROUTES.get(state["intent"], "smalltalk")


async def info_node(state: TurnState, config: RunnableConfig) -> dict[str, Any]:
    return await answer_info(state, _deps(config))


async def catalog_node(state: TurnState) -> dict[str, Any]:
    return answer_catalog(state)


async def finance_node(state: TurnState, config: RunnableConfig) -> dict[str, Any]:
    result = answer_finance(state)
    if result.get("needs_price"):
        # "¿Qué requisitos piden para el crédito?" has no car or amount to quote: the business's
        # own written answer is better than asking for a price, when it has one.
        info = await answer_info(state, _deps(config))
        if info.get("sources"):
            return info
        result.pop("needs_price")
    return result


async def handoff_node(state: TurnState) -> dict[str, Any]:
    return answer_handoff(state)


async def smalltalk_node(state: TurnState) -> dict[str, Any]:
    return answer_smalltalk(state)


async def compose(state: TurnState) -> dict[str, Any]:
    """Final reply: greet back when the customer greeted, never empty; the structured outcome."""
    language = state["language"]
    reply = state.get("reply", "").strip()
    if state["intent"] not in {"greeting", "handoff"} and _LEADING_GREETING.match(fold(state["text"])):
        reply = ("¡Hola! " if language == "es" else "Hi! ") + reply
    memory = {**state["memory"], "language": language}
    outcome = TurnOutcome(
        reply=reply,
        intent=state["intent"],
        agent=cast(Agent, state.get("agent", "smalltalk")),
        tier=state.get("tier", OFFLINE_TIER),
        language=language,
        handoff=state.get("handoff", False),
        items=list(state.get("items", [])),
        quote=state.get("quote"),
        sources=list(state.get("sources", [])),
        memory=memory,
    )
    return {"outcome": outcome, "reply": reply}


async def persist(state: TurnState, config: RunnableConfig) -> dict[str, Any]:
    """Hand the outcome to the channel flow, which stores it atomically."""
    await _deps(config).persist(state["outcome"])
    return {}


@lru_cache
def build_graph() -> CompiledStateGraph[TurnState, None, TurnState, TurnState]:
    """Compile the turn graph once per process."""
    graph = StateGraph(TurnState)
    graph.add_node("load_context", load_context)
    graph.add_node("classify", classify_node)
    graph.add_node("info", info_node)
    graph.add_node("catalog", catalog_node)
    graph.add_node("finance", finance_node)
    graph.add_node("handoff", handoff_node)
    graph.add_node("smalltalk", smalltalk_node)
    graph.add_node("compose", compose)
    graph.add_node("persist", persist)
    graph.add_edge(START, "load_context")
    graph.add_edge("load_context", "classify")
    graph.add_conditional_edges("classify", route, ["info", "catalog", "finance", "handoff", "smalltalk"])
    for node in ("info", "catalog", "finance", "handoff", "smalltalk"):
        graph.add_edge(node, "compose")
    graph.add_edge("compose", "persist")
    graph.add_edge("persist", END)
    return graph.compile()


async def run_turn(*, tenant: TenantContext, text: str, memory: dict[str, Any], deps: TurnDeps) -> TurnOutcome:
    """Run one turn through the graph and return its outcome (already persisted through ``deps``)."""
    state: TurnState = {"tenant": tenant, "text": text, "memory": dict(memory)}
    final = await build_graph().ainvoke(state, config={"configurable": {"deps": deps}, "run_name": "turn"})
    return cast(TurnOutcome, final["outcome"])
