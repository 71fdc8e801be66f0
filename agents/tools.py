"""The LLM tier's tools: the same domain functions the offline tier calls, with validated arguments.

Nothing a model writes is trusted: arguments are validated by pydantic, stock ids are looked up in the
tenant's catalog (a quote for a stock id uses the catalog's price, never the model's), and every figure
a tool returned is kept so the reply can be checked against it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.parsing import parse_catalog_query
from app.catalog.schemas import CarCard, CatalogFilters, SortOrder
from app.catalog.search import search_catalog
from app.catalog.service import LoadedCatalog
from app.core.errors import NotFound
from app.finance.service import FinanceError, FinanceTerms, quote_for, quote_payload
from app.knowledge import service as knowledge_service
from app.text.normalize import fold, words

IntentName = Literal["catalog", "finance", "info", "handoff", "greeting", "thanks", "help", "other"]


class SearchCatalogArgs(BaseModel):
    """Search the cars in stock. Returns up to five cars with stock id, make, model, year, price and km."""

    model_config = ConfigDict(extra="forbid")

    make: str | None = Field(default=None, max_length=60)
    model: str | None = Field(default=None, max_length=60)
    year_min: int | None = Field(default=None, ge=1900, le=2100)
    year_max: int | None = Field(default=None, ge=1900, le=2100)
    price_min: float | None = Field(default=None, ge=0, le=100_000_000)
    price_max: float | None = Field(default=None, ge=0, le=100_000_000)
    km_max: int | None = Field(default=None, ge=0, le=2_000_000)
    # Its value type stays in the schema: without it langchain-google-genai declares the field a string.
    features: dict[str, str] = Field(default_factory=dict, description="column: value")
    sort: SortOrder = "relevance"
    limit: int = Field(default=3, ge=1, le=5)
    # The compact form (``_SearchCatalogQuery``): the wanted car in words, read by the offline tier's parser.
    query: str | None = Field(default=None, max_length=300)


class QuoteFinancingArgs(BaseModel):
    """Quote a car loan with the dealer's rate and rules. Give a stock id from search_catalog, or a price."""

    model_config = ConfigDict(extra="forbid")

    stock_id: str | None = Field(default=None, max_length=64)
    price: float | None = Field(default=None, gt=0, le=100_000_000)
    down_payment: float | None = Field(default=None, ge=0, le=100_000_000)
    down_payment_percent: float | None = Field(default=None, ge=0, le=100)
    term_months: int | None = Field(default=None, ge=1, le=120)

    @model_validator(mode="after")
    def _car_or_price(self) -> QuoteFinancingArgs:
        if self.stock_id is None and self.price is None:
            raise ValueError("give a stock_id or a price")
        return self


class SearchKnowledgeArgs(BaseModel):
    """Search the business's knowledge base (hours, location, warranty, documents, policies)."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=300)


class IntentScore(BaseModel):
    """One thing the customer wants, with a confidence."""

    name: IntentName
    confidence: float = Field(ge=0, le=1)


class Respond(BaseModel):
    """Send the final reply to the customer (call exactly once, last).

    The model is shown intents as plain names (a shorter schema, see ``_RespondWire``); each then carries
    the reply's overall confidence. Intents given as ``{"name", "confidence"}`` objects are accepted too.
    """

    model_config = ConfigDict(extra="ignore")

    reply: str = Field(min_length=1, max_length=3000, description="The WhatsApp message to send")
    intents: list[IntentScore] = Field(min_length=1, max_length=5, description="Most important first")
    confidence: float = Field(ge=0, le=1, description="How sure you are the reply is right and grounded")
    stock_ids: list[str] = Field(default_factory=list, max_length=10, description="Stock ids the reply mentions")

    @model_validator(mode="before")
    @classmethod
    def _named_intents(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("intent"), str) and "intents" not in data:
            data = {**data, "intents": [data["intent"]]}  # the wire form: one intent by name
        if not isinstance(data, dict) or not isinstance(data.get("intents"), list):
            return data
        confidence = data.get("confidence")
        overall = confidence if isinstance(confidence, int | float) and not isinstance(confidence, bool) else 0.5
        intents = [{"name": i, "confidence": overall} if isinstance(i, str) else i for i in data["intents"]]
        return {**data, "intents": intents}


class _RespondWire(BaseModel):
    """What the model is shown of ``respond``: the reply, its main intent (small talk as "other"), one
    confidence. The stock ids a reply shows are read from the reply itself (``mentioned_stock_ids``)."""

    reply: str
    intent: Literal["catalog", "finance", "info", "handoff", "other"]
    confidence: float = Field(description="0-1")


class _SearchCatalogQuery(BaseModel):
    """``search_catalog`` in its compact form, offered when the turn already carries results: the wanted car
    in the customer's words, read by the same parser as the offline tier."""

    query: str


_TOOLS: dict[str, type[BaseModel]] = {
    "search_catalog": SearchCatalogArgs,
    "quote_financing": QuoteFinancingArgs,
    "search_knowledge": SearchKnowledgeArgs,
    "respond": Respond,
}
# What the model is shown: a short description per tool and a schema without the fields it never needs
# to set (``limit`` keeps its default). Every call is still validated against ``_TOOLS``.
_WIRE: dict[str, type[BaseModel]] = {**_TOOLS, "respond": _RespondWire}
_DESCRIPTIONS: dict[str, str] = {
    "search_catalog": "Cars in stock.",
    "quote_financing": "Loan quote: a stock id, or a price the customer gave.",
    "search_knowledge": "Business texts: hours, places, warranty, documents, policies.",
    "respond": "Final reply.",
}
_COMPACT_DESCRIPTIONS: dict[str, str] = {"search_catalog": "Cars in stock, e.g. 'Jetta 2019 under 300k'."}
_COMPACT_WIRE: dict[str, type[BaseModel]] = {"search_catalog": _SearchCatalogQuery}
_HIDDEN: dict[str, frozenset[str]] = {"search_catalog": frozenset({"limit", "query"})}
# Every domain tool, in the order they are offered (a fixed order keeps a tool set's prompt prefix stable).
DOMAIN_TOOLS: tuple[str, ...] = ("search_catalog", "quote_financing", "search_knowledge")
# The tools each recognised intent needs; a turn gets the union for its intents (a multi-intent message,
# "¿tienen un Jetta y a cuánto a 48 meses?", gets both), plus the tools whose results it was handed.
TOOLS_BY_INTENT: dict[str, tuple[str, ...]] = {
    "catalog": ("search_catalog",),
    "finance": ("quote_financing",),
    "info": ("search_knowledge",),
}
# A turn the rules could not place: look things up in the business's texts or the stock; quoting too when
# a financing conversation is under way ("¿y con 100 mil de enganche?").
GENERAL_TOOLS: tuple[str, ...] = ("search_catalog", "search_knowledge")


def tools_for_turn(intents: Sequence[str], *, prefetched: Sequence[str] = (), quoting: bool = False) -> tuple[str, ...]:
    """The domain tools a turn is offered: those of its recognised ``intents``, else the general set.

    ``prefetched`` are the tools whose results the turn already carries (the model may ask again with
    other arguments); ``quoting`` (the conversation has a quote) adds quoting to the general set. The
    order is always ``DOMAIN_TOOLS``'s.
    """
    chosen = {tool for intent in intents for tool in TOOLS_BY_INTENT.get(intent, ())}
    if not chosen:
        chosen = {*GENERAL_TOOLS, *(("quote_financing",) if quoting else ())}
    chosen |= {name for name in prefetched if name in DOMAIN_TOOLS}
    return tuple(name for name in DOMAIN_TOOLS if name in chosen)


def _compact(node: Any) -> Any:
    """A JSON schema without what costs tokens and tells the model nothing (titles, null unions, null defaults)."""
    if isinstance(node, list):
        return [_compact(v) for v in node]
    if not isinstance(node, dict):
        return node
    # Bounds stay enforced by pydantic when the call comes back (the model gets the error); they need not
    # ride along in every prompt.
    out = {
        k: _compact(v)
        for k, v in node.items()
        if k not in _SCHEMA_NOISE
        and not (k == "default" and v is None)
        and not (k == "additionalProperties" and v is False)
    }
    options = out.get("anyOf")
    if isinstance(options, list):
        concrete = [o for o in options if o != {"type": "null"}]
        if len(concrete) == 1 and len(options) == 2:
            out.pop("anyOf")
            out = {**concrete[0], **out}
    return out


_SCHEMA_NOISE = frozenset(
    {"title", "maximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "maxItems", "minItems"}
)


@lru_cache(maxsize=16)
def _schema(name: str, compact: bool = False) -> str:
    wire = _COMPACT_WIRE[name] if compact and name in _COMPACT_WIRE else _WIRE[name]
    schema = _compact(wire.model_json_schema())
    schema.pop("description", None)  # the function's own description says it
    for hidden in () if wire is _COMPACT_WIRE.get(name) else _HIDDEN.get(name, ()):
        schema.get("properties", {}).pop(hidden, None)
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)  # omitted arguments take their defaults; saying so costs tokens
    return json.dumps(schema)


def tool_schema(name: str, *, compact: bool = False) -> dict[str, Any]:
    """An OpenAI-format tool definition (accepted by every provider's ``bind_tools``), compact.

    ``compact`` offers a tool's short form where it has one (``search_catalog`` by a query in words: a
    quarter of the tokens), for turns that already carry results and rarely search again.
    """
    short = compact and name in _COMPACT_WIRE
    schema = json.loads(_schema(name, short))
    description = _COMPACT_DESCRIPTIONS[name] if short else _DESCRIPTIONS[name]
    return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}


def _names(folded_reply: str, car: dict[str, Any]) -> bool:
    """Whether a reply names a car: its model (with its make when the model is a short "3") and its year."""
    model, make = fold(str(car.get("model", ""))), fold(str(car.get("make", "")))
    wanted = [model, str(car.get("year", ""))] + ([make] if len(model) < 3 else [])
    return all(w and re.search(rf"(?<!\w){re.escape(w)}(?!\w)", folded_reply) for w in wanted)


def mentioned_stock_ids(reply: str, cars: dict[str, dict[str, Any]]) -> list[str]:
    """The cars of the turn's results a reply shows, in the results' order: by stock id, by price, or by
    make and model with year (``respond`` does not ask the model to list them: fewer tokens both ways)."""
    folded = fold(reply)
    said = numbers_in(reply)
    found = []
    for stock_id, car in cars.items():
        price = car.get("price")
        if fold(stock_id) in folded or _names(folded, car) or (price is not None and Decimal(str(price)) in said):
            found.append(stock_id)
    return found


def _plain(value: Any) -> Any:
    """Integral floats as integers (``485900.0`` → ``485900``): the same number in fewer tokens."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _model_view(result: Any) -> Any:
    """What the model needs of a result: knowledge entries without their ids and scores (the toolbox keeps
    them for the turn's sources); a quote per term with only what differs from the first (the price, down
    payment and rate are the same in every one: said once); a list of cars without a count or an empty
    "relaxed" that add nothing to it."""
    if isinstance(result, dict) and isinstance(result.get("quotes"), list) and len(result["quotes"]) > 1:
        first, *rest = result["quotes"]
        if isinstance(first, dict) and all(isinstance(q, dict) for q in rest):
            rest = [{k: v for k, v in q.items() if k == "term_months" or first.get(k) != v} for q in rest]
            result = {**result, "quotes": [first, *rest]}
    if isinstance(result, dict) and isinstance(result.get("cars"), list):
        # A count equal to the list's length, and an empty "relaxed", tell the model nothing the list does not.
        plain = {"total_matches": len(result["cars"]), "relaxed": []}
        result = {k: v for k, v in result.items() if k not in plain or plain[k] != v}
    if isinstance(result, dict) and isinstance(result.get("entries"), list):
        entries = [
            {k: v for k, v in e.items() if k not in ("id", "score")} if isinstance(e, dict) else e
            for e in result["entries"]
        ]
        return {**result, "entries": entries}
    return result


# What a car in a list always shows; its other catalog columns ride along only when the turn is about them.
_CORE_CAR_FIELDS = frozenset({"stock_id", "make", "model", "year", "price", "km", "version"})


def brief_cars(result: dict[str, Any], *, mentioned: str, single: bool = False) -> dict[str, Any]:
    """A list of cars handed to the model without the columns nobody asked about.

    A list is shown one line per car (name, year, price, km, stock id); its other columns (colour, fuel,
    CarPlay…) cost tokens on every car and are kept only when ``mentioned`` (the customer's words and the
    search's arguments) names the column or one of its values. A single car (the one being discussed)
    keeps everything unless ``single`` (a quote turn, where the car's columns are not the topic); so do the
    model's own searches, which are never briefed.
    """
    cars = result.get("cars")
    if not isinstance(cars, list) or len(cars) < (1 if single else 2):
        return result
    said = set(words(mentioned))
    # A column is kept for every car or for none, so a missing value never reads as "not known".
    wanted = set(_CORE_CAR_FIELDS)
    for car in cars:
        if isinstance(car, dict):
            wanted |= {k for k, v in car.items() if fold(k) in said or said.intersection(words(str(v)))}
    brief = [{k: v for k, v in car.items() if k in wanted} if isinstance(car, dict) else car for car in cars]
    return {**result, "cars": brief}


def tool_json(result: Any) -> str:
    """A tool result as the model reads it: compact JSON, no spaces, integral amounts without ``.0``."""
    return json.dumps(_plain(_model_view(result)), ensure_ascii=False, default=str, separators=(",", ":"))


def card_payload(card: CarCard) -> dict[str, Any]:
    """A car as a tool result: the core fields and the catalog's extra columns."""
    data: dict[str, Any] = {
        "stock_id": card.stock_id,
        "make": card.make,
        "model": card.model,
        "year": card.year,
        "price": card.price,
        "km": card.km,
    }
    if card.version:
        data["version"] = card.version
    data.update({k: v for k, v in card.attributes.items() if v not in (None, "")})
    return data


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def numbers_in(value: Any) -> set[Decimal]:
    """Every number found in a value (recursively), as Decimal."""
    found: set[Decimal] = set()
    if isinstance(value, bool):
        return found
    if isinstance(value, int | float | Decimal):
        found.add(Decimal(str(value)))
    elif isinstance(value, str):
        for match in _NUMBER.findall(value):
            try:
                found.add(Decimal(match.replace(",", "")))
            except ArithmeticError:
                continue
    elif isinstance(value, dict):
        for v in value.values():
            found |= numbers_in(v)
    elif isinstance(value, list | tuple):
        for v in value:
            found |= numbers_in(v)
    return found


def catalog_search(catalog: LoadedCatalog, filters: CatalogFilters) -> dict[str, Any]:
    """The catalog domain search as the model reads it: the matching cars (the closest ones, with what was
    relaxed, when nothing meets all of it) and what the catalog cannot filter by. Shared by the model's own
    ``search_catalog`` calls and the searches the turn makes for it (``agents.llm_agent.precomputed``)."""
    found = search_catalog(catalog.frame, filters, catalog.vocabulary)
    result: dict[str, Any] = {
        "cars": [card_payload(c) for c in found.items],
        "total_matches": found.total,
        "relaxed": found.relaxed,
    }
    if found.unknown_features:
        # {"fuel": "Hybrid"} on a catalog without a fuel column filters nothing: say so, or the model
        # presents the whole stock as matching.
        result["unknown_features"] = found.unknown_features
        result["note"] = (
            "The catalog does not record " + ", ".join(found.unknown_features) + ": these cars were NOT "
            "filtered by it. Tell the customer the data can't say, offer what it can filter or a person."
        )
    return result


@dataclass
class ToolBox:
    """The tools of one turn, bound to the tenant's data, and everything they returned."""

    session: AsyncSession
    tenant_id: uuid.UUID
    catalog: LoadedCatalog
    terms: FinanceTerms
    language: str
    knowledge_min_score: float = 0.0
    results: list[dict[str, Any]] = field(default_factory=list)
    cars: dict[str, dict[str, Any]] = field(default_factory=dict)
    quote: dict[str, Any] | None = None
    sources: list[dict[str, str]] = field(default_factory=list)

    def known_numbers(self) -> set[Decimal]:
        """Every figure a tool returned this turn, plus the tenant's finance terms."""
        numbers = numbers_in(self.results)
        rate = self.terms.annual_rate * 100
        numbers |= {rate, rate.quantize(Decimal("0.1")), *(Decimal(t) for t in self.terms.terms_months)}
        return numbers

    def add_result(self, name: str, args: dict[str, Any], result: dict[str, Any]) -> None:
        """Remember a result (also used to seed the results the offline tier already computed)."""
        self.results.append({"tool": name, "args": args, "result": result})
        for car in result.get("cars", []):
            self.cars[str(car["stock_id"])] = car
        if "quote" in result:
            self.quote = result["quote"]
        for entry in result.get("entries", []):
            source = {"id": str(entry["id"]), "title": str(entry["title"])}
            if source not in self.sources:
                self.sources.append(source)

    async def run(self, name: str, args: dict[str, Any]) -> str:
        """Validate and run a tool call; the result (or the validation error) as JSON for the model."""
        schema = _TOOLS.get(name)
        if schema is None or name == "respond":
            return json.dumps({"error": f"unknown tool {name!r}"})
        try:
            parsed = schema.model_validate(args)
        except ValidationError as exc:
            errors = [{"field": ".".join(str(p) for p in e["loc"]), "error": e["msg"]} for e in exc.errors()]
            return tool_json({"error": "invalid arguments", "details": errors})
        if isinstance(parsed, SearchCatalogArgs):
            result = self.search_catalog(parsed)
        elif isinstance(parsed, QuoteFinancingArgs):
            result = self.quote_financing(parsed)
        else:
            assert isinstance(parsed, SearchKnowledgeArgs)
            result = await self.search_knowledge(parsed)
        self.add_result(name, parsed.model_dump(exclude_none=True), result)
        return tool_json(result)

    def search_catalog(self, args: SearchCatalogArgs) -> dict[str, Any]:
        """The catalog domain search."""
        wanted = args.model_dump(exclude={"query"})
        if args.query:
            # The compact form: the query read as the offline tier reads a message; explicit arguments win.
            parsed = parse_catalog_query(args.query, self.catalog.vocabulary).model_dump(exclude_defaults=True)
            explicit = args.model_dump(exclude={"query"}, exclude_defaults=True)
            wanted = {**wanted, **parsed, **explicit, "limit": args.limit}
        return catalog_search(self.catalog, CatalogFilters.model_validate(wanted))

    def quote_financing(self, args: QuoteFinancingArgs) -> dict[str, Any]:
        """The finance domain quote; a stock id is priced from the catalog."""
        try:
            quoted = quote_for(
                terms=self.terms,
                catalog=self.catalog.frame,
                price=_decimal(args.price),
                stock_id=args.stock_id,
                down_payment=_decimal(args.down_payment),
                down_payment_percent=_decimal(args.down_payment_percent),
                term_months=args.term_months,
            )
        except NotFound:
            return {"error": f"no car with stock id {args.stock_id!r}; use search_catalog first"}
        except (FinanceError, ValidationError, ValueError) as exc:
            return {"error": str(exc)}
        single = quoted.single
        result: dict[str, Any] = (
            {"quotes": [quote_payload(q) for q in quoted.quotes]}
            if single is None
            else {"quote": quote_payload(single)}
        )
        if quoted.car is not None:
            car = card_payload(quoted.car)
            result["car"] = car
            result["cars"] = [car]
        return result

    async def search_knowledge(self, args: SearchKnowledgeArgs) -> dict[str, Any]:
        """The knowledge domain search (entries above the tenant's threshold only)."""
        hits = await knowledge_service.search_knowledge(
            self.session,
            tenant_id=self.tenant_id,
            query=args.query,
            language=self.language,
            limit=3,
            min_score=self.knowledge_min_score,
        )
        return {
            "entries": [
                {"id": str(h.id), "title": h.title, "content": h.content, "score": round(h.score, 3)} for h in hits
            ]
        }
