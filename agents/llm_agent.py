"""The LLM tier: tool-calling specialists, grounding checks, and structured-output helpers.

One LLM call answers most turns: the offline tier has already run the domain functions for the intents
the rules recognised, and those results are handed to the model as tool results it asked for — what they
determined too when they found nothing to show ("which car?", "none cheaper", the data has no column for
that, the closest cars to one not in stock: ``precomputed``), so a model has no search left to make. The model
may call more tools (validated, bounded rounds) and must finish with the ``respond`` tool, whose intents
also classify the turn (no separate classifier call). A reply whose figures do not all come from tool
results (or the customer's own words) is discarded for the offline one.

Prompts are kept small because every token is paid on every turn: only the tools the turn's intents
need (``agents.tools.tools_for_turn``), a compact system prompt whose static rules come first and whose
per-turn context (specialist guidance, running summary) comes last, and a history window bounded in
tokens.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field, ValidationError

from agents.classify import Classification
from agents.context import TenantContext
from agents.memory import ConversationMemory, as_memory
from agents.state import TurnState
from agents.tools import (
    DOMAIN_TOOLS,
    IntentScore,
    Respond,
    ToolBox,
    brief_cars,
    catalog_search,
    mentioned_stock_ids,
    numbers_in,
    tool_json,
    tool_schema,
    tools_for_turn,
)
from app.catalog.cards import car_name
from app.catalog.service import LoadedCatalog
from app.llm.invoke import LLMStats, invoke_chain
from app.llm.models import ModelSpec
from app.llm.providers import ProviderRegistry
from app.tenants.agent_config import AgentConfig
from app.text.normalize import Language
from prompts import Prompt, load_prompt
from prompts.delimiting import delimit

MAX_ROUNDS = 3
MAX_REPLY_CHARS = 700
# Each earlier message is clipped to this; the window takes the newest messages that fit the budget
# (the running summary carries the facts: cars shown, the car in focus, the last quote).
HISTORY_MESSAGE_CHARS = 160
HISTORY_TOKENS = 100
# The confidence of the rules' catch-all "info" intent (agents.classify): nothing specific matched.
CATCH_ALL = 0.5
_THOUSANDS = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:mil|k)\b", re.IGNORECASE)
_FIGURE = re.compile(r"\d(?:[\d,.]*\d)?")
_DOT_THOUSANDS = re.compile(r"^\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?$")


class AgentGaveUp(Exception):
    """The model did not produce a valid final answer within the allowed rounds."""


@dataclass
class LLMAnswer:
    """What the LLM tier decided for a turn."""

    reply: str
    intents: list[IntentScore]
    confidence: float
    stock_ids: list[str]
    model: str
    ungrounded: list[str]


def _clip(text: str, limit: int = HISTORY_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def history_for_model(messages: Sequence[BaseMessage], *, budget_tokens: int = HISTORY_TOKENS) -> list[BaseMessage]:
    """The newest earlier messages that fit ``budget_tokens`` (4 characters a token), each clipped, oldest
    first, the customer's side delimited. The running summary keeps the facts older messages held."""
    out: list[BaseMessage] = []
    left = budget_tokens * 4
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            kept: BaseMessage = HumanMessage(delimit(_clip(str(message.content))))
        elif isinstance(message, AIMessage):
            kept = AIMessage(_clip(str(message.content)))
        else:
            continue
        left -= len(str(kept.content))
        if left < 0:
            break
        out.append(kept)
    out.reverse()
    while out and isinstance(out[0], AIMessage):
        out.pop(0)  # the window opens with the customer's words (some providers require it)
    return out


def _shown_line(shown: Sequence[Mapping[str, Any]]) -> str:
    # "1) Mazda 3 2024, $485,900 (DM-1105)": the name as the cards write it (no "Mazda Mazda 3"), the stock id last.
    cars = "; ".join(
        f"{i + 1}) {car_name(str(c['make']), str(c['model']))} {c['year']}, ${float(c['price']):,.0f} ({c['stock_id']})"
        for i, c in enumerate(shown[:5])
    )
    return f"- Cars shown last, in order: {cars}."


def _quote_line(quote: Mapping[str, Any]) -> str:
    return (
        f"- Last financing quote: price ${float(quote['price']):,.2f}, down payment "
        f"${float(quote['down_payment']):,.2f}, {quote['term_months']} months, monthly "
        f"${float(quote['monthly_payment']):,.2f}."
    )


def running_summary(memory: ConversationMemory | Mapping[str, Any], language: Language) -> str:
    """What the conversation established, from its structured memory (no LLM call, bounded size)."""
    memory = as_memory(memory)
    lines = [f"- Customer language: {'Spanish' if language == 'es' else 'English'}."]
    turns = memory.turns
    if turns:
        lines.append(f"- Turns so far: {turns}.")
    if memory.shown:
        lines.append(_shown_line(memory.shown))
    focus = memory.focus
    if focus:
        lines.append(f"- The car being discussed: stock id {focus}.")
    if memory.last_quote:
        lines.append(_quote_line(memory.last_quote))
    topics = memory.topics
    if topics:
        lines.append(f"- Topics so far: {', '.join(topics[-5:])}.")
    return "\n".join(lines)


def turn_summary(
    memory: ConversationMemory | Mapping[str, Any], prefetched: Sequence[tuple[str, Any, Any]] = ()
) -> str:
    """The running summary as a model turn needs it: only what neither the prompt nor this turn's tool
    results already say (the language is in the prompt; cars and a quote handed over as results this turn
    are not repeated), so no fact is paid for twice."""
    memory = as_memory(memory)
    handed_cars = [str(c.get("stock_id")) for _, _, r in prefetched for c in r.get("cars", [])]
    handed_quotes = [r["quote"] for _, _, r in prefetched if r.get("quote")]
    lines: list[str] = []
    # A turn handed cars or a quote had its reference ("el primero") resolved already: the list is not needed.
    resolved = bool(handed_cars or handed_quotes)
    if memory.shown and not resolved and [str(c["stock_id"]) for c in memory.shown[:5]] != handed_cars[:5]:
        lines.append(_shown_line(memory.shown))
    # The car discussed, unless it is the one car listed above or the one car handed over this turn.
    listed_alone = bool(lines) and [str(c["stock_id"]) for c in memory.shown] == [memory.focus]
    if memory.focus and handed_cars != [memory.focus] and not listed_alone:
        lines.append(f"- The car being discussed: stock id {memory.focus}.")
    if memory.last_quote and memory.last_quote not in handed_quotes:
        lines.append(_quote_line(memory.last_quote))
    return "\n".join(lines)


def _restrictions(business: str, restrictions: Sequence[str]) -> str:
    """The tenant's restrictions as a section of the system prompt, or nothing when it set none."""
    if not restrictions:
        return ""
    return "\n".join([f"Restrictions set by {business}:", *(f"- {r}" for r in restrictions)]) + "\n"


def system_prompt(
    tenant: TenantContext, config: AgentConfig, *, language: Language, summary: str, specialist: str
) -> tuple[str, list[Prompt]]:
    """The system message for a specialist, and the prompts it was built from (for the version)."""
    system = load_prompt("system")
    guidance = load_prompt(specialist)
    name = config.agent_name or tenant.persona.get("agent_name") or "Ana"
    text = system.render(
        agent_name=name,
        business=tenant.name,
        personality=", ".join(config.personality_traits) or "helpful",
        tone=config.tone,
        language_name="Spanish" if language == "es" else "English",
        max_chars=MAX_REPLY_CHARS,
        formatting="WhatsApp formatting (*bold*, short lists) where it helps"
        if config.rich_messages
        else "plain text without markdown",
        spelling="Read misspellings generously."
        if config.spelling_correction
        else "Take names exactly as the customer wrote them.",
        suggestions="When it helps, end with one short suggestion."
        if config.proactive_suggestions
        else "Do not add suggestions the customer did not ask for.",
        # Sections with nothing to say are left out (their headers alone cost tokens on every turn).
        restrictions=_restrictions(tenant.name, config.restrictions),
        summary=f"Established so far:\n{summary}" if summary else "",
        specialist=guidance.render(),
    )
    return text.rstrip() + "\n", [system, guidance]


def turn_tools(
    classification: Classification, *, prefetched: Sequence[tuple[str, Any, Any]], memory: ConversationMemory
) -> tuple[str, ...]:
    """The domain tools offered to the model this turn (see ``agents.tools.tools_for_turn``).

    The rules' intents decide, except their catch-all ``info`` (confidence ``CATCH_ALL``: nothing specific
    matched), which leaves the turn to the general set.
    """
    recognised = [i.name for i in classification.intents if i.name != "info" or i.confidence > CATCH_ALL]
    if not recognised and not (memory.shown or memory.focus) and any(r.get("entries") for _, _, r in prefetched):
        # Nothing placed by the rules, no car in view, and the business's texts answer it: an FAQ. The model
        # has no car to look up, so it is offered the knowledge search only (a search that found nothing
        # keeps the general set: the question may be about the stock in words the rules did not know).
        recognised = ["info"]
    quoting = bool(memory.last_quote)
    return tools_for_turn(recognised, prefetched=[name for name, _, _ in prefetched], quoting=quoting)


def nothing_found(text: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A knowledge search the turn already made with the customer's words and that found nothing: handed to
    the model as a result, so it says so in its one call instead of searching again."""
    return ("search_knowledge", {"query": text[:300]}, {"entries": []})


Result = tuple[str, dict[str, Any], dict[str, Any]]


def precomputed(state: TurnState, catalog: LoadedCatalog, found: list[Result]) -> list[Result]:
    """Everything the offline tier determined this turn, as the results of the tools a model would call.

    ``found`` holds its cars, quote and knowledge passage (``agents.graph._prefetched``). A turn that produced
    none of them still determined something, and a model not told would search again for it: the business's
    texts have nothing on the question; "which of these cars do I quote?"; "none cheaper than $72,900"; "the
    data does not record passengers"; the car named is not in stock (its closest matches). Those are handed
    over too — the offline answer itself as a ``note`` (its figures come from the domain functions, so the
    grounding check accepts them) — and a quote carries its car as ``quote_financing`` returns it.
    """
    found = _car_with_its_quote(found)
    agent = state.get("agent")
    if not state.get("sources") and (state.get("knowledge_hits") is not None or agent == "info"):
        found.append(nothing_found(state["text"]))
    if agent not in ("catalog", "finance"):
        return found
    reply = _own_answer(state.get("reply", "").strip(), found)
    has_cars = any(r.get("cars") for _, _, r in found)
    quoted = any(r.get("quote") or r.get("quotes") for _, _, r in found)
    said = state["classification"].filters
    if agent == "finance" and not has_cars and (said.make or said.model):
        # "¿tienen un Jetta 2019 y a cuánto...?" when the rules found no such car to quote: the search for it
        # (its closest matches when it is not in stock) says more than their "which car?".
        wanted = said.model_copy(update={"limit": min(said.limit, 3), "exclude_ids": []})
        search = catalog_search(catalog, wanted)
        if search["cars"]:
            found.append(("search_catalog", wanted.model_dump(exclude_defaults=True, mode="json"), search))
            return found
    if reply and not (quoted if agent == "finance" else has_cars):
        found.append(("quote_financing" if agent == "finance" else "search_catalog", {}, {"note": reply}))
    elif reply and agent == "catalog" and not quoted and not state["memory"].last_exact and not state["memory"].focus:
        # Cars that do not meet all of it ("no 2020 or newer CX-5; the closest are…"): the offline list's header.
        header = _list_header(reply)
        for _, _, result in found:
            if header and result.get("cars") and "note" not in result:
                result["note"] = header
                break
    return found


def _own_answer(reply: str, found: list[Result]) -> str:
    """The catalog or finance part of an offline answer that also answers a policy question ("…¿me lo apartan?"):
    the passage follows it after a blank line (``agents.graph._with_answer``) and is handed over as the
    knowledge entry's content alone, so neither is sent twice."""
    entries = [e for _, _, r in found for e in r.get("entries", []) if e.get("content") == reply]
    if not entries or "\n\n" not in reply:
        return reply
    own, _, passage = reply.partition("\n\n")
    for entry in entries:
        entry["content"] = passage.strip()
    return own.strip()


def _list_header(reply: str) -> str:
    """The lines of an offline car list before its first card ("1. …"): what the list is, and what it is not."""
    lines = reply.split("\n")
    head = [line for line in itertools.takewhile(lambda line: not line.startswith("1. "), lines)]
    return "\n".join(head).strip() if len(head) < len(lines) else ""


def _car_with_its_quote(found: list[Result]) -> list[Result]:
    """A quote and the one car it is for as one ``quote_financing`` result by stock id, the way the tool itself
    returns it: no separate catalog search result, nor the catalog tool offered, just to name the car."""
    quotes = [i for i, (name, _, _) in enumerate(found) if name == "quote_financing"]
    cars = [i for i, (name, _, r) in enumerate(found) if name == "search_catalog" and len(r.get("cars", [])) == 1]
    if len(quotes) != 1 or len(cars) != 1:
        return list(found)
    name, args, result = found[quotes[0]]
    car = found[cars[0]][2]["cars"][0]
    first = result.get("quote") or (result.get("quotes") or [{}])[0]
    if first.get("price") is None or abs(float(first["price"]) - float(car["price"])) > 0.005:
        return list(found)
    by_id = {"stock_id": car["stock_id"], **{k: v for k, v in args.items() if k != "price"}}
    merged: Result = (name, by_id, {**result, "cars": [car]})
    return [merged if i == quotes[0] else r for i, r in enumerate(found) if i != cars[0]]


def _parse_figure(raw: str) -> Decimal | None:
    """ "289,000" / "6,512.47" / "289.000" / "1.234,50" as numbers (dots as thousands separators too)."""
    raw = raw.replace(".", "").replace(",", ".") if _DOT_THOUSANDS.match(raw) else raw.replace(",", "")
    try:
        return Decimal(raw)
    except ArithmeticError:
        return None


def _reply_figures(reply: str) -> set[Decimal]:
    figures: set[Decimal] = set()
    for match in _THOUSANDS.finditer(reply):
        figures.add(Decimal(match.group(1).replace(",", ".")) * 1000)
    for raw in _FIGURE.findall(_THOUSANDS.sub(" ", reply)):
        value = _parse_figure(raw.rstrip(".,"))
        if value is not None:
            figures.add(value)
    return figures


def ungrounded_figures(reply: str, *, known: set[Decimal], customer_text: str) -> list[str]:
    """Figures of 100 or more in ``reply`` that no tool result (nor the customer) gave, to the unit."""
    allowed = known | numbers_in(customer_text) | _reply_figures(customer_text)
    missing = []
    for figure in _reply_figures(reply):
        if figure < 100:
            continue  # counts, terms and percentages are checked by the tools' own validation
        if not any(abs(figure - k) <= 1 for k in allowed):
            missing.append(str(figure))
    return sorted(missing)


def whatsapp_brief(reply: str, limit: int = 2 * MAX_REPLY_CHARS) -> str:
    """A model reply cut at the last sentence or line end before ``limit`` when it ran long."""
    if len(reply) <= limit:
        return reply
    head = reply[:limit]
    cut = max(head.rfind(". "), head.rfind("\n"), head.rfind("? "), head.rfind("! "))
    return (head[: cut + 1] if cut > limit // 2 else head.rstrip() + "…").rstrip()


# What a turn's answer may spend: a reply of MAX_REPLY_CHARS (~250 tokens) in a ``respond`` call, with room
# to spare (a call cut short is invalid JSON and costs a round). Passed to OpenAI-compatible clients only
# (OpenAI, Together, local servers): other SDKs name the limit differently or reject unknown arguments.
MAX_COMPLETION_TOKENS = 400
_CAPPED_CLIENTS = frozenset({"ChatOpenAI", "AzureChatOpenAI"})


def _bind(tools: list[dict[str, Any]]) -> Any:
    def prepare(model: BaseChatModel) -> Runnable[Any, Any]:
        if type(model).__name__ in _CAPPED_CLIENTS:
            return model.bind_tools(tools, tool_choice="any", max_tokens=MAX_COMPLETION_TOKENS)
        return model.bind_tools(tools, tool_choice="any")

    return prepare


class ExtractedItem(BaseModel):
    """One thing the customer asks for."""

    name: str = Field(min_length=1, max_length=80)
    quantity: int | None = Field(default=None, ge=1, le=999)
    details: str | None = Field(default=None, max_length=120)


class ExtractedRequest(BaseModel):
    """What a customer asks the business to find for them (the concierge's structured output)."""

    items: list[ExtractedItem] = Field(default_factory=list, max_length=10)
    budget: float | None = Field(default=None, gt=0, le=10_000_000)
    currency: Literal["MXN", "USD"] | None = None
    place: str | None = Field(default=None, max_length=80)
    urgency: Literal["now", "today", "tomorrow", "this_week", "flexible"] | None = None
    category: Literal["auto_parts", "pharmacy", "hardware", "electronics", "services", "other"] | None = None


async def extract_request_with_llm(
    registry: ProviderRegistry, chain: Sequence[ModelSpec], *, tenant: TenantContext, text: str, stats: LLMStats
) -> ExtractedRequest | None:
    """The concierge's requirements by structured output from the cheapest model of the chain."""
    prompt = load_prompt("concierge_extract")
    messages: list[BaseMessage] = [SystemMessage(prompt.render(business=tenant.name)), HumanMessage(delimit(text))]

    def prepare(model: BaseChatModel) -> Runnable[Any, Any]:
        return model.with_structured_output(ExtractedRequest, method="function_calling", include_raw=True)

    cheapest = sorted(chain, key=lambda m: m.input_per_mtok)
    result, _ = await invoke_chain(registry, cheapest, messages, prepare=prepare, purpose="concierge", stats=stats)
    parsed = result.get("parsed") if isinstance(result, dict) else None
    return parsed if isinstance(parsed, ExtractedRequest) else None


_TRANSCRIBE = (
    "Transcribe the text in this photo (a product label, a part, a prescription), line by line, exactly as "
    "written. Reply with the text only; if there is no readable text, reply with nothing."
)


async def read_photo_with_llm(
    registry: ProviderRegistry, chain: Sequence[ModelSpec], *, data: bytes, content_type: str, stats: LLMStats
) -> str:
    """The text of a photo read by a vision model of the chain (the concierge's OCR when an LLM is on)."""
    url = f"data:{content_type};base64,{base64.b64encode(data).decode()}"
    message = HumanMessage(
        content=[{"type": "text", "text": _TRANSCRIBE}, {"type": "image_url", "image_url": {"url": url}}]
    )
    result, _ = await invoke_chain(registry, chain, [message], prepare=lambda m: m, purpose="ocr", stats=stats)
    content = getattr(result, "content", "")
    return content.strip() if isinstance(content, str) else ""


async def run_specialist(
    registry: ProviderRegistry,
    chain: Sequence[ModelSpec],
    *,
    system: str,
    history: Sequence[BaseMessage],
    text: str,
    toolbox: ToolBox,
    tools: Sequence[str],
    prefetched: Sequence[tuple[str, dict[str, Any], dict[str, Any]]],
    stats: LLMStats,
) -> LLMAnswer:
    """A tool-calling specialist: seeded with the offline tier's results, ends with ``respond``."""
    # ``respond`` first, then the domain tools in their fixed order: the same tool set is the same prefix.
    # A turn that already carries results rarely searches again: its tools come in their compact form. One
    # whose searches found nothing keeps the full forms (the model searches from scratch, more precisely).
    compact = any(r.get(k) for _, _, r in prefetched for k in ("cars", "quote", "quotes", "entries", "note"))
    schemas = [tool_schema(n, compact=compact) for n in ("respond", *(t for t in DOMAIN_TOOLS if t in tools))]
    messages: list[BaseMessage] = [SystemMessage(system), *history, HumanMessage(delimit(text))]
    if prefetched:
        calls = [
            {"name": n, "args": a, "id": f"prefetch_{i}", "type": "tool_call"} for i, (n, a, _) in enumerate(prefetched)
        ]
        messages.append(AIMessage(content="", tool_calls=calls))
        # On a quote turn the quoted car's other columns are not the topic (unless the customer names them).
        quoting = any(r.get("quote") or r.get("quotes") for _, _, r in prefetched)
        for i, (name, args, result) in enumerate(prefetched):
            toolbox.add_result(name, args, result)
            mentioned = f"{text} {json.dumps(args, ensure_ascii=False, default=str)}"
            shown = brief_cars(result, mentioned=mentioned, single=quoting)
            messages.append(ToolMessage(tool_json(shown), tool_call_id=f"prefetch_{i}"))
    order = list(chain)
    for _ in range(MAX_ROUNDS):
        message, spec = await invoke_chain(
            registry, order, messages, prepare=_bind(schemas), purpose="agent", stats=stats
        )
        assert isinstance(message, AIMessage)
        # Later rounds stay with the model that answered (its tool-call ids, its context).
        order = [spec, *(m for m in order if m != spec)]
        messages.append(message)
        answered = False
        for call in message.tool_calls:
            call_id = call.get("id") or ""
            if call["name"] == "respond":
                try:
                    final = Respond.model_validate(call["args"])
                except ValidationError as exc:
                    messages.append(ToolMessage(json.dumps({"error": str(exc)[:500]}), tool_call_id=call_id))
                    continue
                known = toolbox.known_numbers()
                given = [s for s in final.stock_ids if s in toolbox.cars]
                return LLMAnswer(
                    reply=whatsapp_brief(final.reply.strip()),
                    intents=final.intents,
                    confidence=final.confidence,
                    stock_ids=list(dict.fromkeys(given or mentioned_stock_ids(final.reply, toolbox.cars))),
                    model=spec.name,
                    ungrounded=ungrounded_figures(final.reply, known=known, customer_text=text),
                )
            messages.append(ToolMessage(await toolbox.run(call["name"], call["args"]), tool_call_id=call_id))
            answered = True
        for invalid in message.invalid_tool_calls:
            error = {"error": "arguments were not valid JSON; call the tool again with valid arguments"}
            messages.append(ToolMessage(json.dumps(error), tool_call_id=invalid.get("id") or ""))
            answered = True
        if not answered and not message.tool_calls:
            content = message.text.strip() if isinstance(message.text, str) else ""
            if content:
                # A model that ignored tool_choice and just answered: accept the text, with low confidence.
                return LLMAnswer(
                    reply=content,
                    intents=[],
                    confidence=0.5,
                    stock_ids=mentioned_stock_ids(content, toolbox.cars),
                    model=spec.name,
                    ungrounded=ungrounded_figures(content, known=toolbox.known_numbers(), customer_text=text),
                )
    raise AgentGaveUp(f"no final answer in {MAX_ROUNDS} rounds")
