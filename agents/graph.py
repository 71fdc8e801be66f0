"""The orchestrator: load context → classify → route → specialist → compose → persist (LangGraph)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

import pandas as pd
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from agents.classify import TRANSFER, Classification, Intent, classify, has_vehicle_constraints
from agents.context import Agent, TenantContext, TurnOutcome
from agents.llm_agent import (
    HISTORY_MESSAGE_CHARS,
    AgentGaveUp,
    ExtractedRequest,
    extract_request_with_llm,
    history_for_model,
    precomputed,
    read_photo_with_llm,
    run_specialist,
    turn_summary,
    turn_tools,
)
from agents.llm_agent import system_prompt as build_system_prompt
from agents.memory import ConversationMemory, ShownCar
from agents.routing import Route, route_turn
from agents.specialists import booking as booking_flow
from agents.specialists import concierge as concierge_flow
from agents.specialists.catalog import answer_catalog
from agents.specialists.finance import answer_finance
from agents.specialists.info import answer_info, search_for_info
from agents.specialists.smalltalk import answer_handoff, answer_smalltalk
from agents.state import TurnDeps, TurnState, TurnUpdate
from agents.tools import ToolBox, card_payload
from app.catalog import service as catalog_service
from app.catalog.frame import card_by_id
from app.catalog.intent import looks_like_catalog_query
from app.catalog.keys import name_key
from app.catalog.parsing import parse_catalog_query
from app.catalog.schemas import CatalogFilters
from app.catalog.vocabulary import CatalogVocabulary
from app.concierge.types import Category, Item, Money, Urgency
from app.core.config import get_settings
from app.leads.booking import asks_to_book, parse_day, parse_name, parse_time, wants_booking
from app.llm.invoke import ChainExhausted, LLMStats
from app.llm.tracing import annotate_trace, customer_hash
from app.text.complaints import is_complaint
from app.text.normalize import Language, detect_language, fold, words
from app.text.variety import reply_hash, say_varied, variants
from app.text.wording import say
from app.usage import service as usage_service
from prompts import combined_version

log = logging.getLogger(__name__)
OFFLINE_TIER = "offline"
LLM_TIER = "llm"
# Rules found nothing specific (only the catch-all "info"): the LLM's answer decides what it was.
_UNCERTAIN = 0.5
_ROUTES: dict[str, str] = {
    "handoff": "handoff",
    "concierge": "concierge",
    "booking": "booking",
    "complaint": "smalltalk",
    "negotiate": "smalltalk",
    "identity": "smalltalk",
    "finance": "finance",
    "catalog": "catalog",
    "greeting": "smalltalk",
    "help": "smalltalk",
    "thanks": "smalltalk",
    "info": "info",
}
# "¿cuánto dura la prueba de manejo?" asks about test drives; it does not book one.
_ABOUT_BOOKINGS = re.compile(
    r"\b(requisit\w*|que necesito|necesito llevar|que debo llevar|cuanto dura|cuesta|costo|tiene costo|"
    r"servicio|mantenimiento|taller|how long|what do i need|do i need|cost|"
    r"(?:hacen|tienen|ofrecen|dan|manejan) pruebas?|do (?:you|u) (?:do|offer|have) test)\b"
)
_COURTESY = frozenset({"greeting", "thanks"})
_BRING = re.compile(r"\b(llevar|traer|necesito|requisitos|documentos|bring|need|requirements|documents)\b")
# Policy topics a message may ask about beside a car or a quote ("¿el Tiguan me lo apartan con depósito?").
_POLICY = re.compile(
    r"\b(apart\w*|deposito|reserv\w*|a cuenta|trade(?:.?in\w*)?|avaluo|garantia|warranty|devol\w*|devuelv\w*|"
    r"return policy|refund|documentos|papeles|requisitos|documents|paperwork|"
    r"(?<!mas )(?<!muy )(?<!tan )seguro(?! que)|insurance|entrega\w*|"
    r"domicilio|delivery|deliver|horario\w*|hours|sucursal\w*|branch\w*|ubicacion|direccion|address|"
    r"donde (?:estan|quedan|se ubican)|donde (?:l[oa]s? )?(?:puedo|podemos) ver|where are you|"
    r"a que hora|abren|cierran|what time|open(?:ing)?|"
    r"envio\w*|shipping|hold|deposit|reserve\w*|payment methods?|pay with|"
    r"formas? de pago|pago con tarjeta|tarjeta|transferencia|efectivo|cash|card|inspeccion|inspection|"
    r"historial|history|accidente\w*|factura|invoice|pruebas? de manejo|test drives?|"
    r"(?:me |nos )?(?:lo |la )?(?:llevan|llevarian|traen|mandan) a (?:mi |la )?(?:casa|oficina|domicilio)|"
    # "¿me hacen descuento de contado?", "¿me la pueden traer a Monterrey?": prices and moving a car between branches.
    r"descuento\w*|discount\w*|rebaja\w*|negociable|precios? (?:fijos?|finales?)|"
    r"traslad\w*|(?:me |nos )?(?:lo |la )?(?:pueden |podrian )?(?:traer|llevar|mover|mandar)(?:la|lo)? (?:a|para) "
    r"(?!mi casa|la casa|mi oficina|mi domicilio)[a-zñ]+|bring it|move it|ship it)\b"
)
# Where a message's clauses part ("..., y aceptan tarjeta?"), and a question in it ("¿a qué hora abren?").
_CLAUSE_BREAK = re.compile(r"[,;.!?¿¡\n]+|\s+(?:y|and|e)\s+")
_QUESTION = re.compile(r"¿([^?¿]{4,})\?|([^.,;!¿?]{4,})\?")
# Replies the info step sends: said again, their next phrasing is used.
_REPHRASABLE = ("knowledge_not_found", "acknowledge", "fallback")
_REPLIES_KEPT = 24
_LEADING_GREETING = re.compile(
    # "bueno y en cuánto lo dan" opens with a filler, not a greeting: only "buenas", "buenos días", "buen día".
    r"^\s*(hola|buen[oa]s( dias| tardes| noches)?|buen dia|hi|hello|hey|good (morning|afternoon|evening))\b"
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
    classification = _with_dialogue_intents(state["text"], classification, memory)
    return {"classification": classification, "intent": classification.primary.name}


def _books(text: str, classification: Classification, memory: ConversationMemory) -> bool:
    """A request to book ("quiero agendar una prueba de manejo del Jetta"), not a question about bookings.

    "¿puedo hacer una prueba de manejo?" with no car in view is answered from the business's knowledge
    (which says how to book), and a booking is left open for the answer (``booking_flow.opened``).
    """
    if _gives_slots(text, classification, memory):
        return True
    if not wants_booking(text) or (_ABOUT_BOOKINGS.search(fold(text)) and not asks_to_book(text)):
        return False
    # "¿puedo ir a verla el sábado en la mañana?" names when: a request put as a question, not a question.
    names_when = parse_day(text, date.today()) is not None or parse_time(text) is not None
    if "?" in text and not names_when and not asks_to_book(text) and _OTHER_ASKS.search(fold(text)):
        # "¿cuánto el CX-5, qué garantía trae y lo puedo ver en Querétaro?": questions first, no booking yet.
        return False
    return "?" not in text or names_when or _names_car(classification) or memory.focus is not None


# Questions that, asked beside "¿lo puedo ver?", make the message an inquiry rather than a booking.
_OTHER_ASKS = re.compile(
    r"\b(?:cuanto|precio|garantia|warranty|apart\w*|deposito|documentos|requisitos|credito|financ\w*|how much"
    r"|price|mensualidad\w*|enganche)\b"
)


# "¿abren el sábado a las 10?", "what time do you close on Monday?": the hours, not a booking.
_HOURS_ASK = re.compile(r"\b(?:abren|abre|abierto|cierran|cierra|horario\w*|open|opens|close|closes|hours)\b")


def _gives_slots(text: str, classification: Classification, memory: ConversationMemory) -> bool:
    """ "el jueves paso a Polanco a las 4, soy Luis", "Saturday 11am then. I'm Sarah": a day with a time or a name,
    about a car the conversation is on — a booking, whatever the verb."""
    if memory.focus is None and not memory.shown and not _names_car(classification):
        return False
    if parse_day(text, date.today()) is None or _HOURS_ASK.search(fold(text)):
        return False
    return parse_time(text) is not None or parse_name(text, asked=False) is not None


def _names_car(classification: Classification) -> bool:
    filters = classification.filters
    return bool(filters.make or filters.model or classification.reference is not None)


def _with_dialogue_intents(text: str, classification: Classification, memory: ConversationMemory) -> Classification:
    """Complaints and bookings go first: an apology before anything else, and an open booking continues."""
    extra: list[Intent] = []
    names = {i.name for i in classification.intents}
    if "handoff" not in names and is_complaint(text):
        extra.append(Intent("complaint", 0.9))
    elif "handoff" not in names and (
        booking_flow.continues(text, memory, names_car=_names_car(classification))
        or _books(text, classification, memory)
    ):
        extra.append(Intent("booking", 0.85))
    intents = [*extra, *classification.intents]
    if "?" in text and len(words(text)) > 3:
        # "gracias, ¿a qué dirección llego?": the question is answered; the thanks needs no reply of its own.
        intents = [i for i in intents if i.name not in _COURTESY] + [i for i in intents if i.name in _COURTESY]
    if intents == classification.intents:
        return classification
    return Classification(intents=intents, filters=classification.filters, reference=classification.reference)


def _auto_handoff_topic(text: str, topics: list[str]) -> str | None:
    folded = fold(text)
    return next((t for t in topics if fold(t) and re.search(rf"\b{re.escape(fold(t))}\b", folded)), None)


async def route_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    """Complexity routing: offline tier or an LLM chain; auto-handoff topics; knowledge search when rules are unsure."""
    started = time.perf_counter()
    deps = runtime.context
    tenant = state["tenant"]
    agent = tenant.agent
    classification = state["classification"]
    memory = state["memory"]
    concierge = False
    if deps.features.get("concierge") and deps.conversation_id is not None:
        # A dealer's own stock answers a car request ("busco un Mazda 3"); vendors are for what it doesn't sell.
        stock_serves = not deps.stock().frame.empty and any(i.name == "catalog" for i in classification.intents)
        concierge = await concierge_flow.claims(deps.session, _concierge_turn(state, deps), stock_serves=stock_serves)
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
        # No classifier call: the knowledge search runs once here (a close FAQ match answers with no model
        # at all), its hits go to the info step and on to the model, which answers with the general tool
        # set in one call; its ``respond`` intents then classify the turn (llm_node).
        update["knowledge_hits"] = await search_for_info(state, deps)
    if update.get("intent", state["intent"]) == "handoff":
        update["handoff_reason"] = "customer_request"
    update["routing_ms"] = routing_ms
    return update


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _unsure(classification: Classification) -> bool:
    return classification.primary.name == "info" and classification.primary.confidence <= _UNCERTAIN


async def route(state: TurnState) -> str:
    """The specialist node for the primary intent (async: LangGraph runs a sync edge in a worker thread)."""
    return _ROUTES.get(state["intent"], "smalltalk")


async def info_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    text = state["text"]
    if state["memory"].topics[-1:] == ["booking"] and _BRING.search(fold(text)):
        # "¿qué necesito llevar?" right after booking asks about the visit: the business's test-drive text answers.
        about = say("booking.search_words", state["language"])
        state = cast(TurnState, {**state, "text": about, "knowledge_hits": None})
    original = state
    if TRANSFER.search(fold(text)):
        # "¿me la pueden pasar a Centro?": the branch named would pull the branches' list; the question is the
        # transfer between branches, whichever they are.
        vocabulary = runtime.context.stock().vocabulary
        asked = f"{_without_car_words(text, vocabulary)} {say('transfer_search_words', state['language'])}"
        state = cast(TurnState, {**state, "text": asked, "knowledge_hits": None})
    result = await answer_info(state, runtime.context)
    if state is not original and not result.get("sources"):
        # "¿me lo pueden llevar hasta Colima?" is home delivery, not a transfer: the question as asked.
        state = original
        result = await answer_info(state, runtime.context)
    if not result.get("sources") and len(_policy_clauses(text)) > 0 and len(words(text)) > 8:
        # A long message with its questions among other words ("oiga, una pregunta, si compro el auto ¿me lo
        # llevan a mi casa?, y otra cosa, ¿tienen garantía?"): each question on its own finds its passage.
        parts = await _with_policy(state, runtime.context, {"agent": "info", "intent": "info", "reply": ""})
        if parts.get("sources"):
            return parts
    if result.get("sources") and wants_booking(text) and not _ABOUT_BOOKINGS.search(fold(text)):
        result["memory"] = booking_flow.opened(result.get("memory") or state["memory"], text)
    if result.get("sources"):
        result = _with_search(state, runtime.context, result)
    return result


def _with_search(state: TurnState, deps: TurnDeps, result: TurnUpdate) -> TurnUpdate:
    """ "¿tienen híbridos? ¿y cuánto dura la garantía de la batería?": the policy answered, the cars asked for
    first. Only when the message, without its policy questions, is itself a search of the stock."""
    text = state["text"]
    clauses = _policy_clauses(text)
    if not clauses:
        return result
    rest = _without_clauses(text, clauses)
    stock = deps.stock()
    if len(words(rest)) < 2 or not looks_like_catalog_query(rest, stock.vocabulary):
        return result
    filters = parse_catalog_query(rest, stock.vocabulary)
    if not (filters.make or filters.model or filters.features or has_vehicle_constraints(filters)):
        return result
    searched = cast(
        TurnState,
        {
            **state,
            "text": rest,
            "classification": Classification(intents=[Intent("catalog", 0.9)], filters=filters, reference=None),
        },
    )
    listing = answer_catalog(searched, stock)
    if not listing.get("items"):
        return result
    memory = listing.get("memory") or state["memory"]
    answered = result.get("memory")
    if answered is not None:  # what the company-text answer remembers (the rest of its passage, its question)
        memory = memory.model_copy(
            update={"knowledge_more": answered.knowledge_more, "info_question": answered.info_question}
        )
    combined = dict(result)
    combined["reply"] = f"{listing['reply'].strip()}\n\n{result.get('reply', '').strip()}".strip()
    combined["items"] = listing["items"]
    combined["memory"] = memory
    return cast(TurnUpdate, combined)


async def catalog_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    stock = runtime.context.stock()
    search = _without_policy_places(state, stock.vocabulary)
    return await _with_policy(state, runtime.context, answer_catalog(search, stock))


def _without_policy_places(state: TurnState, vocabulary: CatalogVocabulary) -> TurnState:
    """ "¿tienen la CR-V? ¿y hacen pruebas de manejo en Celaya?": the branch belongs to the test-drive question,
    not to the car wanted; features said only inside the policy questions do not narrow the search."""
    clauses = _policy_clauses(state["text"])
    said = state["classification"].filters
    if not clauses or not said.features:
        return state
    remainder = parse_catalog_query(_without_clauses(state["text"], clauses), vocabulary)
    kept = remainder.features
    if kept == said.features or not has_vehicle_constraints(remainder):
        return state  # "¿qué tienen en la sucursal de Querétaro?" is itself the search
    features = {k: v for k, v in said.features.items() if k in kept}
    classification = state["classification"]
    narrowed = Classification(
        intents=classification.intents,
        filters=said.model_copy(update={"features": features}),
        reference=classification.reference,
    )
    return cast(TurnState, {**state, "classification": narrowed})


def _without_clauses(text: str, clauses: list[str]) -> str:
    """The message with its policy questions taken out: what is left of it as a search."""
    for clause in clauses:
        text = text.replace(clause, " ")
    return text


def _policy_clauses(text: str) -> list[str]:
    """The parts of a message that ask about policies, one per topic ("a qué hora abren", "aceptan tarjeta" in
    "¿tienen kicks y a qué hora abren el sábado y si aceptan tarjeta?")."""
    clauses = _CLAUSE_BREAK.split(text)
    return [c.strip() for c in clauses if c.strip() and _POLICY.search(fold(c))]


async def _with_policy(state: TurnState, deps: TurnDeps, result: TurnUpdate) -> TurnUpdate:
    """Other questions in the message ("¿...me lo apartan con depósito?") get the business's answers too.

    The car or the quote comes first, then the knowledge entry that answers the policy question; a message
    asking about two policies ("¿a qué hora abren y aceptan tarjeta?") gets an entry for each, once.
    """
    clauses = _policy_clauses(state["text"])
    if not clauses or result.get("sources"):
        return result
    # The knowledge search reads the policy question alone: car names and amounts only dilute it.
    vocabulary = deps.stock().vocabulary
    clauses = [_without_car_words(c, vocabulary) or c for c in clauses]
    questions = [" ".join(clauses), *clauses] if len(clauses) > 1 else clauses
    combined = result
    for clause in questions[:4]:
        before = {s["id"] for s in combined.get("sources") or []}
        question = cast(TurnState, {**state, "text": clause, "knowledge_hits": None})
        info = await answer_info(question, deps)
        if not info.get("sources") or {s["id"] for s in info["sources"]} <= before:
            continue
        combined = await _with_answer(question, deps, combined, info)
    return combined


def _without_car_words(clause: str, vocabulary: CatalogVocabulary) -> str:
    """A policy question without the car it names ("la RAV4 híbrida me la pueden apartar" → "la me la pueden
    apartar"): makes, models and catalogue values only dilute the knowledge search."""
    kept = [
        w
        for w in clause.split()
        if not (key := name_key(w))
        or not (key in vocabulary.makes or key in vocabulary.model_makes or key in vocabulary.value_words)
    ]
    return " ".join(kept)


async def _with_answer(
    question: TurnState, deps: TurnDeps, result: TurnUpdate, info: TurnUpdate | None = None
) -> TurnUpdate:
    """``result`` with the knowledge entry that answers ``question`` after it, when one does."""
    if info is None:
        info = await answer_info(question, deps)
    if not info.get("sources"):
        return result
    combined = dict(result)
    combined["reply"] = f"{result.get('reply', '').strip()}\n\n{info.get('reply', '').strip()}".strip()
    combined["sources"] = [*(result.get("sources") or []), *info["sources"]]
    return cast(TurnUpdate, combined)


async def finance_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    result = answer_finance(state, runtime.context.stock())
    if not result.get("needs_price"):
        return await _with_policy(state, runtime.context, result)
    if result.pop("needs_price", False):
        # "¿Qué requisitos piden para el crédito?" has no car or amount to quote: the business's
        # own written answer is better than asking for a price, when it has one.
        info = await answer_info(state, runtime.context)
        if info.get("sources") or result.pop("info_only", False):
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


async def booking_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    """A visit or test drive: the missing detail asked, a summary confirmed, the lead stored on a yes.

    "...y ¿qué necesito llevar?" in the same message also gets the business's test-drive text.
    """
    result = await booking_flow.answer_booking(state, runtime.context)
    if "?" not in state["text"] or not _BRING.search(fold(state["text"])):
        return result
    about = say("booking.search_words", state["language"])
    return await _with_answer(
        cast(TurnState, {**state, "text": about, "knowledge_hits": None}), runtime.context, result
    )


async def handoff_node(state: TurnState) -> TurnUpdate:
    return {**answer_handoff(state), "handoff_reason": state.get("handoff_reason") or "customer_request"}


async def smalltalk_node(state: TurnState, runtime: Runtime[TurnDeps]) -> TurnUpdate:
    """Greeting, thanks, help, a complaint; a complaint that also asks something gets that answer too."""
    result = answer_smalltalk(state)
    question = _question_clause(state["text"]) if state["intent"] == "complaint" else None
    if question is None:
        return result
    return await _with_answer(
        cast(TurnState, {**state, "text": question, "knowledge_hits": None}), runtime.context, result
    )


# Questions a complaint asks without wanting an answer from the company text: "¿y quién me va a pagar eso?".
_RHETORICAL = re.compile(
    r"^(?:y\s+|and\s+)?(?:quien (?:me |nos )?(?:lo |la )?(?:va|van) a (?:pagar|responder|arreglar|reponer)"
    r"|que les pasa|es en serio|neta|como es posible|por ?que (?:no|nadie|siempre|me|nos)|que onda con ustedes"
    r"|who(?:'s| is) (?:going to|gonna) (?:pay|fix)|are you (?:serious|kidding)|what(?:'s| is) wrong with you"
    r"|why (?:didn'?t|did|is|are|does|do) (?:you|nobody|no one))\b"
)


def _question_clause(text: str) -> str | None:
    """The question in a message ("pésimo servicio, ¿a qué hora abren?" → "a qué hora abren"), if any; a
    rhetorical one ("¿y quién me va a pagar eso?") is none."""
    m = _QUESTION.search(text)
    if m is None:
        return None
    question = (m.group(1) or m.group(2)).strip()
    return None if _RHETORICAL.search(fold(question)) else question


def _prefetched(state: TurnState, frame: pd.DataFrame) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """The offline tier's domain results, handed to the model as tool results it asked for."""
    found: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    items = state.get("items") or []
    if items:
        cards = [card_by_id(frame, i) for i in items]
        payload = [card_payload(c) for c in cards if c is not None]
        if payload:
            # The conversation's accumulated constraints (what the offline search applied), else this message's.
            accumulated = state["memory"].last_filters if state.get("memory") else None
            applied = CatalogFilters.model_validate(accumulated) if accumulated else state["classification"].filters
            args = applied.model_dump(exclude_defaults=True, mode="json")
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
    unsure = _unsure(state["classification"])  # the rules placed nothing: general guidance and tools
    specialist = agent_name if agent_name in ("catalog", "finance", "info") and not unsure else "general"
    prefetched = precomputed(state, deps.stock(), _prefetched(state, deps.stock().frame))
    system, prompts = build_system_prompt(
        tenant, tenant.agent, language=language, summary=turn_summary(memory, prefetched), specialist=specialist
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
            tools=turn_tools(state["classification"], prefetched=prefetched, memory=memory),
            prefetched=prefetched,
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
    if unsure and answer.intents and answer.intents[0].name in ("catalog", "finance", "info"):
        update["intent"] = answer.intents[0].name  # the answer's intents classify a turn the rules could not
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
    persona: dict[str, Any] = {"business": tenant.name, "agent_name": tenant.persona.get("agent_name", "Ana")}
    reply = _unrepeated(reply, language, memory.replies, persona)
    if reply:
        memory.replies = [*memory.replies, reply_hash(reply), reply_hash(state.get("reply", "").strip())][
            -_REPLIES_KEPT:
        ]
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


def _unrepeated(reply: str, language: Language, said: list[str], values: dict[str, Any]) -> str:
    """``reply``, said differently when this conversation already sent it word for word.

    A "don't know" or a fallback takes its next phrasing; anything else (a list, a summary) opens with
    a varied "as I mentioned".
    """
    if not reply or reply_hash(reply) not in said:
        return reply
    for key in _REPHRASABLE:
        if reply == say(key, language, **values):
            rephrased = say_varied(key, language, avoid=said, **values)
            if reply_hash(rephrased) not in said:
                return rephrased
    for prefix in variants("repeat_prefix"):
        prefixed = say(prefix, language) + reply
        if reply_hash(prefixed) not in said:
            return prefixed
    return reply


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
    graph.add_node("booking", booking_node)
    graph.add_node("smalltalk", smalltalk_node)
    graph.add_node("compose", compose)
    graph.add_node("persist", persist)
    graph.add_edge(START, "load_context")
    graph.add_edge("load_context", "classify")
    graph.add_edge("classify", "route")
    graph.add_conditional_edges(
        "route", route, ["info", "catalog", "finance", "handoff", "smalltalk", "concierge", "booking"]
    )
    for node in ("info", "catalog", "finance", "smalltalk"):
        graph.add_edge(node, "llm")
    graph.add_edge("handoff", "compose")
    graph.add_edge("concierge", "compose")
    graph.add_edge("booking", "compose")
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
    run_id: uuid.UUID | None = None,
) -> TurnOutcome:
    """Run one turn through the graph and return its outcome (already persisted through ``deps``).

    ``run_id`` names the turn's trace (its root run), so feedback on the turn can reach LangSmith later.

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
    if run_id is not None:
        config["run_id"] = run_id
    final = await build_graph().ainvoke(state, config=config, context=deps)
    return cast(TurnOutcome, final["outcome"])
