"""Catalog specialist: searches the tenant's stock and remembers what it showed."""

from __future__ import annotations

from typing import Any

from agents.classify import has_constraints, wants_cheaper, wants_more
from agents.replies import say
from agents.state import TurnState
from app.catalog.search import CarCard, CatalogFilters, format_card, search_catalog
from app.textnorm import Language

_RELAXED_WORDS: dict[str, dict[Language, str]] = {
    "year": {"es": "año", "en": "year"},
    "year_min": {"es": "año", "en": "year"},
    "year_max": {"es": "año", "en": "year"},
    "km_max": {"es": "kilometraje", "en": "mileage"},
    "model": {"es": "modelo", "en": "model"},
    "make": {"es": "marca", "en": "make"},
    "price_max": {"es": "algunos pasan un poco tu presupuesto", "en": "some are slightly over your budget"},
    "price_min": {"es": "precio mínimo", "en": "minimum price"},
    "features": {"es": "equipamiento", "en": "features"},
}


def shown_entry(card: CarCard) -> dict[str, Any]:
    """What the conversation remembers of a car it showed."""
    return {
        "stock_id": card.stock_id,
        "make": card.make,
        "model": card.model,
        "year": card.year,
        "price": float(card.price),
        "version": card.version,
    }


def describe_attributes(card: CarCard, language: Language) -> str:
    """Extra columns of a car as one short line: "Transmisión: Automática · CarPlay: Sí"."""
    yes, no = ("Sí", "No") if language == "es" else ("Yes", "No")
    parts = []
    for key, value in card.attributes.items():
        if value is None or value == "":
            continue
        shown = yes if value is True else no if value is False else str(value)
        parts.append(f"{key.replace('_', ' ').capitalize()}: {shown}")
    return " · ".join(parts)


def _card_by_id(state: TurnState, stock_id: str) -> CarCard | None:
    frame = state["catalog"].frame
    rows = frame[frame["stock_id"] == stock_id]
    if rows.empty:
        return None
    result = search_catalog(rows, CatalogFilters(limit=1))
    return result.items[0] if result.items else None


def _relaxed_reason(relaxed: list[str], language: Language) -> str:
    names = [_RELAXED_WORDS.get(r, {"es": r, "en": r})[language] for r in relaxed]
    return ", ".join(dict.fromkeys(names))


def answer_catalog(state: TurnState) -> dict[str, Any]:
    """Cards for the matching cars, or the details of a car the customer points at."""
    language = state["language"]
    classification = state["classification"]
    memory = dict(state["memory"])
    shown: list[dict[str, Any]] = memory.get("shown", [])
    text = state["text"]
    filters = classification.filters

    if classification.reference is not None and not has_constraints(filters):
        car = shown[classification.reference]
        card = _card_by_id(state, car["stock_id"])
        if card is None:
            return {"agent": "catalog", "reply": say("catalog_no_reference", language)}
        memory["focus"] = card.stock_id
        reply = say(
            "catalog_detail",
            language,
            card=format_card(card, classification.reference + 1 if classification.reference >= 0 else len(shown),
                             language),
            details=describe_attributes(card, language),
        )
        return {"agent": "catalog", "reply": reply, "items": [card.stock_id], "memory": memory}

    last = memory.get("last_filters")
    if last and shown and wants_cheaper(text):
        base = CatalogFilters.model_validate(last)
        cap = min(float(c["price"]) for c in shown) - 1
        filters = base.model_copy(update={"price_max": cap, "sort": "price_desc", "exclude_ids": []})
    elif last and shown and wants_more(text):
        base = CatalogFilters.model_validate(last)
        excluded = list(dict.fromkeys([*base.exclude_ids, *[c["stock_id"] for c in shown]]))
        filters = base.model_copy(update={"exclude_ids": excluded})

    result = search_catalog(state["catalog"].frame, filters)
    if not result.items:
        return {"agent": "catalog", "reply": say("catalog_empty", language)}
    if result.relaxed:
        header = say("catalog_relaxed", language, why=_relaxed_reason(result.relaxed, language))
    else:
        header = say("catalog_header", language, total=result.total, shown=len(result.items))
    cards = [format_card(card, i + 1, language) for i, card in enumerate(result.items)]
    memory["shown"] = [shown_entry(c) for c in result.items]
    memory["last_filters"] = filters.model_dump(mode="json")
    memory.pop("focus", None)
    reply = "\n".join([header, *cards, say("catalog_footer", language)])
    return {"agent": "catalog", "reply": reply, "items": [c.stock_id for c in result.items], "memory": memory}
