"""Catalog specialist: searches the tenant's stock and remembers what it showed."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from agents.classify import has_constraints, wants_cheaper, wants_more
from agents.memory import ConversationMemory, ShownCar
from agents.state import TurnState, TurnUpdate
from app.catalog.cards import car_name, format_card
from app.catalog.frame import card_by_id
from app.catalog.keys import name_key, value_key
from app.catalog.schemas import CarCard, CatalogFilters, CatalogResult
from app.catalog.search import search_catalog
from app.catalog.service import LoadedCatalog
from app.catalog.vocabulary import CatalogVocabulary
from app.text import wording
from app.text.normalize import Language, fold
from app.text.wording import say
from app.text.wording.catalog import COLUMN_LABELS


def shown_entry(card: CarCard) -> ShownCar:
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
    yes, no = wording.say("catalog_yes", language), wording.say("catalog_no", language)
    parts = []
    for key, value in card.attributes.items():
        if value is None or value == "":
            continue
        # "Sí"/"No" cells read as yes/no in the customer's language; "1" (owners) stays a number.
        if isinstance(value, str) and not value.strip().isdigit() and value_key(value) in ("si", "no"):
            value = value_key(value) == "si"
        shown = yes if value is True else no if value is False else str(value)
        label = COLUMN_LABELS[language].get(fold(key).strip().replace(" ", "_")) or key.replace("_", " ").capitalize()
        parts.append(f"{label}: {shown}")
    return " · ".join(parts)


def _years(filters: CatalogFilters, language: Language) -> str:
    low, high = filters.year_min, filters.year_max
    if low is not None and high is not None:
        return str(low) if low == high else f"{low}–{high}"
    if low is not None:
        return wording.say("catalog_years_from", language, year=low)
    return wording.say("catalog_years_until", language, year=high)


# Relaxed filters with their own words in ``app.text.wording.catalog`` (``catalog_relaxed_<name>``).
_RELAXED_KEYS = frozenset({"year", "km_max", "model", "make", "price_max", "price_min", "features"})


def _relaxed_reason(relaxed: list[str], filters: CatalogFilters, language: Language) -> str:
    """What could not be met, with the values asked for: "año 2015", "marca Tesla"."""
    values: dict[str, Any] = {
        "years": _years(filters, language) if filters.year_min or filters.year_max else "",
        "km": filters.km_max or 0,
        "model": filters.model or "",
        "make": filters.make or "",
        "price_max": filters.price_max or 0,
        "price_min": filters.price_min or 0,
    }
    names = []
    for name in relaxed:
        key = "year" if name in ("year_min", "year_max") else name
        names.append(wording.say(f"catalog_relaxed_{key}", language, **values) if key in _RELAXED_KEYS else name)
    return ", ".join(dict.fromkeys(names))


def _describe(filters: CatalogFilters, language: Language) -> str:
    """The non-name constraints of a request in a few words: "hasta $100,000, 2018 en adelante"."""
    parts: list[str] = []
    low, high = filters.price_min, filters.price_max
    if low is not None and high is not None:
        parts.append(wording.say("catalog_price_between", language, low=low, high=high))
    elif high is not None:
        parts.append(wording.say("catalog_price_up_to", language, high=high))
    elif low is not None:
        parts.append(wording.say("catalog_price_from", language, low=low))
    if filters.year_min is not None or filters.year_max is not None:
        parts.append(_years(filters, language))
    if filters.km_max is not None:
        parts.append(wording.say("catalog_km_up_to", language, km=filters.km_max))
    for column, value in filters.features.items():
        words = _feature_words(column, value, language)
        parts.append(words if value_key(value) in ("si", "no") else str(value).lower())
    return ", ".join(parts)


def _refers_to(filters: CatalogFilters, car: ShownCar) -> bool:
    """Whether the only constraints of ``filters`` name the car pointed at ("el Mazda" when one Mazda was shown)."""
    if filters.make is None and filters.model is None:
        return not has_constraints(filters)
    rest = filters.model_copy(update={"make": None, "model": None})
    same_make = filters.make is None or name_key(filters.make) == name_key(str(car["make"]))
    same_model = filters.model is None or name_key(filters.model) == name_key(str(car["model"]))
    return same_make and same_model and not has_constraints(rest)


# "el rojo", "la de 2012", "the automatic one": pointing at a car by what it is, not by its position.
_POINTER = re.compile(r"\b(?:el|la|ese|esa|este|esta|aquel|aquella|the|that|this|one)\b")


def _detail(card: CarCard, position: int, memory: ConversationMemory, language: Language) -> TurnUpdate:
    memory.focus = card.stock_id
    reply = say(
        "catalog_detail",
        language,
        card=format_card(card, position, language),
        details=describe_attributes(card, language),
    )
    return {"agent": "catalog", "reply": reply, "items": [card.stock_id], "memory": memory}


def _pick_shown(
    text: str, filters: CatalogFilters, shown: list[ShownCar], frame: pd.DataFrame, vocabulary: CatalogVocabulary
) -> int | None:
    """Index of the one shown car that ``filters`` describe ("el rojo", "the 2012 one"), else None."""
    if not shown or not _POINTER.search(fold(text)) or filters.sort != "relevance":
        return None
    if filters.price_min is not None or filters.price_max is not None or filters.km_max is not None:
        return None
    if not (filters.features or filters.year_min is not None or filters.make or filters.model):
        return None
    ids = [str(car["stock_id"]) for car in shown]
    result = search_catalog(frame, filters.model_copy(update={"limit": 1, "exclude_ids": []}), vocabulary, among=ids)
    if result.relaxed or result.total != 1 or result.unknown_features:
        return None
    return ids.index(result.items[0].stock_id)


def _cheaper(
    base: CatalogFilters,
    shown: list[ShownCar],
    frame: pd.DataFrame,
    vocabulary: CatalogVocabulary,
    memory: ConversationMemory,
    language: Language,
) -> TurnUpdate:
    """Cars cheaper than every car shown; the cap is never widened, and "none cheaper" is said plainly."""
    floor = min(float(c["price"]) for c in shown)
    # The customer's lower bound gave way to "cheaper"; the shown cars' price is now the ceiling.
    filters = base.model_copy(
        update={"price_max": round(floor - 0.01, 2), "price_min": None, "sort": "price_desc", "exclude_ids": []}
    )
    result = search_catalog(frame, filters, vocabulary, widen_price=False)
    floor_text = f"${floor:,.0f}"
    if not result.items:
        described = _describe(base.model_copy(update={"price_min": None, "price_max": None}), language)
        name = car_name(base.make, base.model) if base.make and base.model else base.make or base.model
        wanted = ", ".join(p for p in (name, described) if p)
        reply = wording.say("catalog_none_cheaper", language, wanted=f" ({wanted})" if wanted else "", floor=floor_text)
        return {"agent": "catalog", "reply": reply, "memory": memory}
    if result.relaxed:
        header = wording.say(
            "catalog_cheaper_relaxed",
            language,
            why=_relaxed_reason(result.relaxed, filters, language),
            floor=floor_text,
        )
    else:
        header = _found_header(result, language)
    return _listing(result.items, header, filters, memory, language, exact=not result.relaxed)


def _feature_words(column: str, value: str, language: Language) -> str:
    """ "con quemacocos", "sin carplay", "combustible eléctrico": one requested feature in a few words."""
    label = (COLUMN_LABELS[language].get(fold(column).strip().replace(" ", "_")) or column.replace("_", " ")).lower()
    key = value_key(value)
    if key == "si":
        return wording.say("catalog_with_feature", language, label=label)
    if key == "no":
        return wording.say("catalog_without_feature", language, label=label)
    return f"{label} {str(value).lower()}"


def _without_features(
    filters: CatalogFilters,
    frame: pd.DataFrame,
    vocabulary: CatalogVocabulary,
    memory: ConversationMemory,
    language: Language,
) -> TurnUpdate:
    """Nothing has every feature asked for, even with the rest relaxed: drop the rarest ones and say which."""
    counts = {
        column: search_catalog(frame, CatalogFilters(features={column: value}, limit=1), vocabulary).total
        for column, value in filters.features.items()
    }
    kept = dict(filters.features)
    dropped: list[str] = []
    for column in sorted(counts, key=lambda c: counts[c]):
        dropped.append(_feature_words(column, kept.pop(column), language))
        result = search_catalog(frame, filters.model_copy(update={"features": kept}), vocabulary)
        if result.items:
            reasons = [*dropped, _relaxed_reason(result.relaxed, filters, language)]
            why = ", ".join(r for r in reasons if r)
            header = say("catalog_relaxed", language, why=why)
            return _listing(result.items, header, filters, memory, language, exact=False)
    return {"agent": "catalog", "reply": say("catalog_empty", language)}


def _found_header(result: CatalogResult, language: Language) -> str:
    shown_count = len(result.items)
    key = "one" if result.total == 1 else "all" if result.total == shown_count else "some"
    return say(f"catalog_header_{key}", language, total=result.total, shown=shown_count)


def answer_catalog(state: TurnState, catalog: LoadedCatalog) -> TurnUpdate:
    """Cards for the matching cars, or the details of a car the customer points at."""
    language = state["language"]
    classification = state["classification"]
    memory = state["memory"].model_copy(deep=True)
    shown = memory.shown
    text = state["text"]
    filters = classification.filters
    frame = catalog.frame
    vocabulary = catalog.vocabulary

    if classification.reference is not None and _refers_to(filters, shown[classification.reference]):
        car = shown[classification.reference]
        card = card_by_id(frame, car["stock_id"])
        if card is None:
            return {"agent": "catalog", "reply": say("catalog_no_reference", language)}
        position = classification.reference + 1 if classification.reference >= 0 else len(shown)
        return _detail(card, position, memory, language)

    last = memory.last_filters
    if classification.reference is None and not (last and shown and (wants_cheaper(text) or wants_more(text))):
        picked = _pick_shown(text, filters, shown, frame, vocabulary)
        if picked is not None:
            card = card_by_id(frame, shown[picked]["stock_id"])
            if card is not None:
                return _detail(card, picked + 1, memory, language)

    more = False
    if last and shown and wants_cheaper(text):
        return _cheaper(CatalogFilters.model_validate(last), shown, frame, vocabulary, memory, language)
    if last and shown and wants_more(text):
        base = CatalogFilters.model_validate(last)
        excluded = list(dict.fromkeys([*base.exclude_ids, *[c["stock_id"] for c in shown]]))
        filters = base.model_copy(update={"exclude_ids": excluded})
        more = True
    elif last and shown and filters.sort != "relevance" and not has_constraints(filters):
        # "el más barato" / "the newest" right after a list: the same search, in that order.
        base = CatalogFilters.model_validate(last)
        filters = base.model_copy(update={"sort": filters.sort, "limit": filters.limit, "exclude_ids": []})

    result = search_catalog(frame, filters, vocabulary)
    if more and memory.last_exact and (result.relaxed or not result.items):
        # "otros" after every match was shown: say so instead of presenting alternatives as matches.
        if not result.items:
            return {"agent": "catalog", "reply": wording.say("catalog_all_shown_none", language), "memory": memory}
        why = _relaxed_reason(result.relaxed, filters, language)
        return _listing(result.items, wording.say("catalog_all_shown", language, why=why), filters, memory, language)
    if not result.items and filters.price_max is not None:
        # Over budget even after relaxing: say so and show the most affordable cars that fit the rest.
        cheapest = search_catalog(
            frame, filters.model_copy(update={"price_max": None, "sort": "price_asc"}), vocabulary
        )
        if cheapest.items:
            header = say("catalog_over_budget", language, budget=f"${filters.price_max:,.0f}")
            return _listing(cheapest.items, header, filters, memory, language, exact=False)
    if not result.items and filters.features:
        return _without_features(filters, frame, vocabulary, memory, language)
    if not result.items:
        return {"agent": "catalog", "reply": say("catalog_empty", language)}
    if "make" in result.relaxed and filters.make:
        if vocabulary.match_make(filters.make) is None:
            header = say("catalog_no_make", language, make=filters.make)
        else:  # the make is in stock, just not within the rest of the request
            wanted = " ".join(p for p in (filters.make, filters.model, _describe(filters, language)) if p)
            header = say("catalog_other_makes", language, wanted=wanted)
    elif result.relaxed:
        header = say("catalog_relaxed", language, why=_relaxed_reason(result.relaxed, filters, language))
    else:
        header = _found_header(result, language)
    return _listing(result.items, header, filters, memory, language, exact=not result.relaxed)


def _listing(
    items: list[CarCard],
    header: str,
    filters: CatalogFilters,
    memory: ConversationMemory,
    language: Language,
    *,
    exact: bool = True,
) -> TurnUpdate:
    """Cards under ``header``, remembered so the next turn can point at them."""
    cards = [format_card(card, i + 1, language) for i, card in enumerate(items)]
    memory.shown = [shown_entry(c) for c in items]
    memory.last_filters = filters.model_dump(mode="json")
    memory.last_exact = exact
    memory.focus = None
    reply = "\n".join([header, *cards, say("catalog_footer", language)])
    return {"agent": "catalog", "reply": reply, "items": [c.stock_id for c in items], "memory": memory}
