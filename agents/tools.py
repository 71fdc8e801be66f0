"""The LLM tier's tools: the same domain functions the offline tier calls, with validated arguments.

Nothing a model writes is trusted: arguments are validated by pydantic, stock ids are looked up in the
tenant's catalog (a quote for a stock id uses the catalog's price, never the model's), and every figure
a tool returned is kept so the reply can be checked against it.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.schemas import CarCard, CatalogFilters, SortOrder
from app.catalog.search import search_catalog
from app.catalog.service import LoadedCatalog
from app.core.errors import NotFound
from app.finance.service import FinanceError, FinanceTerms, quote_for, quote_payload
from app.knowledge import service as knowledge_service

IntentName = Literal["catalog", "finance", "info", "handoff", "greeting", "thanks", "help", "other"]


class SearchCatalogArgs(BaseModel):
    """Search the cars in stock. Returns up to five cars with stock id, make, model, year, price and km."""

    model_config = ConfigDict(extra="forbid")

    make: str | None = Field(default=None, max_length=60, description="Make, e.g. 'Volkswagen'")
    model: str | None = Field(default=None, max_length=60, description="Model, e.g. 'Jetta'")
    year_min: int | None = Field(default=None, ge=1900, le=2100)
    year_max: int | None = Field(default=None, ge=1900, le=2100)
    price_min: float | None = Field(default=None, ge=0, le=100_000_000)
    price_max: float | None = Field(default=None, ge=0, le=100_000_000, description="Budget in MXN")
    km_max: int | None = Field(default=None, ge=0, le=2_000_000)
    features: dict[str, str] = Field(default_factory=dict, description="Catalog column -> value, e.g. CarPlay")
    sort: SortOrder = "relevance"
    limit: int = Field(default=3, ge=1, le=5)


class QuoteFinancingArgs(BaseModel):
    """Quote a car loan with the dealer's rate and rules. Give a stock id from search_catalog, or a price."""

    model_config = ConfigDict(extra="forbid")

    stock_id: str | None = Field(default=None, max_length=64, description="Stock id of a car in the catalog")
    price: float | None = Field(default=None, gt=0, le=100_000_000, description="Only when the customer gave it")
    down_payment: float | None = Field(default=None, ge=0, le=100_000_000, description="Amount in MXN")
    down_payment_percent: float | None = Field(default=None, ge=0, le=100)
    term_months: int | None = Field(default=None, ge=1, le=120, description="Omit to quote every offered term")

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
    """Send the final reply to the customer (call exactly once, last)."""

    model_config = ConfigDict(extra="ignore")

    reply: str = Field(min_length=1, max_length=3000, description="The WhatsApp message to send")
    intents: list[IntentScore] = Field(min_length=1, max_length=5, description="Most important first")
    confidence: float = Field(ge=0, le=1, description="How sure you are the reply is right and grounded")
    stock_ids: list[str] = Field(default_factory=list, max_length=10, description="Stock ids the reply mentions")


class IntentList(BaseModel):
    """The customer's intents, most important first."""

    intents: list[IntentScore] = Field(min_length=1, max_length=5)


_TOOLS: dict[str, type[BaseModel]] = {
    "search_catalog": SearchCatalogArgs,
    "quote_financing": QuoteFinancingArgs,
    "search_knowledge": SearchKnowledgeArgs,
    "respond": Respond,
}
# Every specialist gets every domain tool: one message can need several ("a Jetta, at 48 months?").
DOMAIN_TOOLS: tuple[str, ...] = ("search_catalog", "quote_financing", "search_knowledge")


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


_SCHEMA_NOISE = frozenset({"title", "maximum", "minimum", "maxLength", "minLength", "maxItems", "minItems"})


@lru_cache(maxsize=16)
def _schema(name: str) -> str:
    schema = _compact(_TOOLS[name].model_json_schema())
    schema.pop("description", None)  # the function's own description says it
    return json.dumps(schema)


def tool_schema(name: str) -> dict[str, Any]:
    """An OpenAI-format tool definition (accepted by every provider's ``bind_tools``), compact."""
    model = _TOOLS[name]
    schema = json.loads(_schema(name))
    return {
        "type": "function",
        "function": {"name": name, "description": (model.__doc__ or name).strip(), "parameters": schema},
    }


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
            return json.dumps({"error": "invalid arguments", "details": errors})
        if isinstance(parsed, SearchCatalogArgs):
            result = self.search_catalog(parsed)
        elif isinstance(parsed, QuoteFinancingArgs):
            result = self.quote_financing(parsed)
        else:
            assert isinstance(parsed, SearchKnowledgeArgs)
            result = await self.search_knowledge(parsed)
        self.add_result(name, parsed.model_dump(exclude_none=True), result)
        return json.dumps(result, ensure_ascii=False, default=str)

    def search_catalog(self, args: SearchCatalogArgs) -> dict[str, Any]:
        """The catalog domain search."""
        filters = CatalogFilters.model_validate(args.model_dump())
        found = search_catalog(self.catalog.frame, filters, self.catalog.vocabulary)
        return {
            "cars": [card_payload(c) for c in found.items],
            "total_matches": found.total,
            "relaxed": found.relaxed,
        }

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
