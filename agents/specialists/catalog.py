"""Catalog specialist: searches the tenant's stock and remembers what it showed."""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import pandas as pd

from agents.classify import (
    BARE_NUMBERS,
    BARE_PRICE,
    ORDINALS,
    OTHER_NAMED,
    WHERE_THEY,
    asks_about_it,
    has_constraints,
    wants_cheaper,
    wants_more,
)
from agents.memory import ConversationMemory, ShownCar
from agents.state import TurnState, TurnUpdate
from app.catalog.cards import car_name, card_label, format_card, localized_value
from app.catalog.constraints import refine, starts_over
from app.catalog.frame import branch_column, branch_of, card_by_id, columns_of
from app.catalog.intent import asks_about_column, looks_like_comparison, unrecorded_asked
from app.catalog.keys import name_key, value_key
from app.catalog.lexicon import BRANCH_COLUMNS, KIND_VALUE_KEYS, NEAR_VALUES
from app.catalog.parsing import missing_kinds, parse_catalog_query, prepare_message
from app.catalog.schemas import CarCard, CatalogFilters, CatalogResult, SortOrder
from app.catalog.search import search_catalog
from app.catalog.service import LoadedCatalog
from app.catalog.unstated import unstated_kinds, unstated_matches
from app.catalog.vocabulary import NOT_FEATURE_COLUMNS, CatalogVocabulary
from app.finance.service import (
    Affordable,
    FinanceError,
    FinanceTerms,
    default_term,
    format_finance_error,
    format_percent,
    format_quote,
    max_price_for_payment,
    quote_for,
    quote_payload,
)
from app.text import wording
from app.text.money import format_money
from app.text.normalize import Language, fold, words
from app.text.wording import say
from app.text.wording.catalog import COLUMN_LABELS


def shown_entry(card: CarCard) -> ShownCar:
    """What the conversation remembers of a car it showed, with the words it may be pointed at by."""
    return {
        "stock_id": card.stock_id,
        "make": card.make,
        "model": card.model,
        "year": card.year,
        "price": float(card.price),
        "version": card.version,
        "km": card.km,
        "traits": _traits(card),
    }


def _traits(card: CarCard) -> list[str]:
    """Folded words of a car's version and descriptive values, in both languages ("gli", "gris", "gray")."""
    found = set(words(card.version or ""))
    for key, value in card.attributes.items():
        if key in NOT_FEATURE_COLUMNS or not isinstance(value, str) or len(value) > 40:
            continue
        if value_key(value) in ("si", "no") or value.strip().isdigit():
            continue
        found |= set(words(value)) | set(words(localized_value(value, "en")))
    return sorted(w for w in found if len(w) >= 2)


def describe_attributes(card: CarCard, language: Language) -> str:
    """Extra columns of a car as one short line: "Transmisión: Automática · CarPlay: Sí"."""
    yes, no = wording.say("catalog_yes", language), wording.say("catalog_no", language)
    parts = []
    for key, value in card.attributes.items():
        if value is None or value == "" or key in NOT_FEATURE_COLUMNS:
            continue
        # "Sí"/"No" cells read as yes/no in the customer's language; "1" (owners) stays a number.
        if isinstance(value, str) and not value.strip().isdigit() and value_key(value) in ("si", "no"):
            value = value_key(value) == "si"
        shown = yes if value is True else no if value is False else localized_value(str(value), language)
        label = _label(key, language)
        parts.append(f"{label}: {shown}")
    return " · ".join(parts)


def _label(column: str, language: Language) -> str:
    """A column's name for the customer: "Transmisión" / "Transmission", else the dealer's name, readable."""
    key = fold(column).strip().replace(" ", "_")
    return COLUMN_LABELS[language].get(key) or column.replace("_", " ").capitalize()


def _years(filters: CatalogFilters, language: Language) -> str:
    low, high = filters.year_min, filters.year_max
    if low is not None and high is not None:
        return str(low) if low == high else f"{low}–{high}"
    if low is not None:
        return wording.say("catalog_years_from", language, year=low)
    return wording.say("catalog_years_until", language, year=high)


# Relaxed filters with their own words in ``app.text.wording.catalog`` (``catalog_relaxed_<name>``).
_RELAXED_KEYS = frozenset({"year", "km_max", "model", "make", "price_max", "price_min", "features"})


def relaxed_reason(relaxed: list[str], filters: CatalogFilters, language: Language) -> str:
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


def describe_filters(filters: CatalogFilters, language: Language) -> str:
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
        if value_key(value) in ("si", "no"):
            parts.append(words)
        elif name_key(column) in BRANCH_COLUMNS:
            parts.append(_any_of(value, language))  # a place keeps its capitals: "León"
        else:
            parts.append(_any_of(value, language).lower())
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
        described = describe_filters(base.model_copy(update={"price_min": None, "price_max": None}), language)
        name = car_name(base.make, base.model) if base.make and base.model else base.make or base.model
        wanted = ", ".join(p for p in (name, described) if p)
        reply = wording.say("catalog_none_cheaper", language, wanted=f" ({wanted})" if wanted else "", floor=floor_text)
        return {"agent": "catalog", "reply": reply, "memory": memory}
    if result.relaxed:
        header = wording.say(
            "catalog_cheaper_relaxed",
            language,
            why=relaxed_reason(result.relaxed, filters, language),
            floor=floor_text,
        )
    else:
        header = _found_header(result, language)
    return _listing(result.items, header, base, memory, language, exact=not result.relaxed)


def _feature_words(column: str, value: str, language: Language) -> str:
    """ "con quemacocos", "sin carplay", "combustible eléctrico": one requested feature in a few words."""
    label = _label(column, language).lower()
    key = value_key(value)
    if key == "si":
        return wording.say("catalog_with_feature", language, label=label)
    if key == "no":
        return wording.say("catalog_without_feature", language, label=label)
    return f"{label} {_any_of(value, language).lower()}"


def _any_of(value: str, language: Language) -> str:
    """ "Blanco | Gris" as "blanco o gris" / "white or gray"."""
    parts = [localized_value(p.strip(), language) for p in str(value).split("|") if p.strip()]
    return (" o " if language == "es" else " or ").join(parts)


def _without_features(
    filters: CatalogFilters,
    frame: pd.DataFrame,
    vocabulary: CatalogVocabulary,
    memory: ConversationMemory,
    language: Language,
) -> TurnUpdate:
    """Nothing has every feature asked for, even with the rest relaxed: drop the rarest ones and say which."""
    near = _nearest_values(filters, frame, vocabulary, memory, language)
    if near is not None:
        return near
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
            reasons = [*dropped, relaxed_reason(result.relaxed, filters, language)]
            why = ", ".join(r for r in reasons if r)
            header = say("catalog_relaxed", language, why=why)
            return _listing(result.items, header, filters, memory, language, exact=False)
    return {"agent": "catalog", "reply": say("catalog_empty", language)}


def _nearest_values(
    filters: CatalogFilters,
    frame: pd.DataFrame,
    vocabulary: CatalogVocabulary,
    memory: ConversationMemory,
    language: Language,
) -> TurnUpdate | None:
    """A value nobody stocks with a close one that is ("¿algún eléctrico?" → the hybrids): offer that, saying so."""
    for column, value in filters.features.items():
        wanted = fold(str(value))
        for asked, offered in NEAR_VALUES:
            if not any(wanted.startswith(a) for a in asked):
                continue
            stocked = vocabulary.attribute_values.get(column, {}).values()
            near = [v for v in stocked if any(o in fold(v) for o in offered)]
            if not near:
                continue
            features = {**filters.features, column: " | ".join(near)}
            result = search_catalog(frame, filters.model_copy(update={"features": features}), vocabulary)
            if not result.items:
                continue
            header = say(
                "catalog_near_value",
                language,
                wanted=_feature_words(column, value, language),
                near=_feature_words(column, " | ".join(near), language),
            )
            return _listing(result.items, header, filters, memory, language, exact=False)
    return None


def _found_header(result: CatalogResult, language: Language, sort: str = "relevance") -> str:
    header = _count_header(result, language, sort)
    understood = _understood(result.applied, language)
    if understood and header.endswith(":"):
        # "¿y en Querétaro?", "una troca o SUV": the list says what it was narrowed to, after the count.
        cut = header.find(";") if ";" in header else len(header) - 1
        header = f"{header[:cut]} ({understood}){header[cut:]}"
    return header


def _understood(filters: CatalogFilters | None, language: Language) -> str:
    """The kinds a search was narrowed to, in a few words: "SUV o Pickup, automática, sucursal Querétaro"."""
    if filters is None:
        return ""
    parts: list[str] = []
    for column, value in filters.features.items():
        keys = {value_key(v) for v in str(value).split("|")}
        if name_key(column) in BRANCH_COLUMNS and "|" not in str(value):
            parts.append(say("catalog_in_branch", language, branch=localized_value(str(value), language)))
        elif any(keys <= KIND_VALUE_KEYS[kind] for kind in ("body", "fuel", "transmission")):
            parts.append(_any_of(str(value), language))
    return ", ".join(parts)


def _branch_named(filters: CatalogFilters | None) -> str | None:
    """The branch a search was narrowed to ("en Querétaro"), when one was."""
    if filters is None:
        return None
    for column, value in filters.features.items():
        if name_key(column) in BRANCH_COLUMNS and "|" not in str(value):
            return str(value)
    return None


def _in_other_branch(
    filters: CatalogFilters, asked: str, frame: pd.DataFrame, vocabulary: CatalogVocabulary, language: Language
) -> tuple[str, list[CarCard]] | None:
    """The car asked for at a branch that does not have it, found at the others: a header naming where it is."""
    features = {k: v for k, v in filters.features.items() if name_key(k) not in BRANCH_COLUMNS}
    found = search_catalog(frame, filters.model_copy(update={"features": features}), vocabulary)
    if not found.items or found.relaxed:
        return None
    places = [branch_of(frame, card.stock_id) for card in found.items]
    where = ", ".join(dict.fromkeys(p for p in places if p))
    if not where:
        return None
    return say("catalog_in_other_branch", language, asked=asked, where=where), found.items


def _count_header(result: CatalogResult, language: Language, sort: str) -> str:
    shown_count = len(result.items)
    if sort != "relevance" and result.total > 1:
        # "el más barato" is one car, named as such; "los más baratos" the first few in that order.
        whole = "_stock" if result.applied is not None and not has_constraints(result.applied) else ""
        if shown_count == 1:
            what = say(f"catalog_sorted_{sort}_one", language)
            return say(f"catalog_header_sorted_one{whole}", language, what=what, total=result.total)
        what = say(f"catalog_sorted_{sort}_some", language)
        return say(f"catalog_header_sorted_some{whole}", language, what=what, total=result.total)
    key = "one" if result.total == 1 else "all" if result.total == shown_count else "some"
    if key == "some" and result.applied is not None and not has_constraints(result.applied):
        key = "stock"  # "¿es correcto que venden autos usados?": the stock, not "204 that match"
    return say(f"catalog_header_{key}", language, total=result.total, shown=shown_count)


def _describes(card: CarCard, filters: CatalogFilters, vocabulary: CatalogVocabulary, frame: pd.DataFrame) -> bool:
    """Whether every constraint of ``filters`` is met by ``card`` ("el gris" said of the grey car): a pointer."""
    if not has_constraints(filters):
        return True
    pointer = filters.model_copy(update={"price_min": None, "price_max": None, "limit": 1, "exclude_ids": []})
    result = search_catalog(frame, pointer, vocabulary, among=[card.stock_id])
    return bool(result.items) and not result.relaxed and not result.unknown_features


# "¿cuál es más barato?", "which one is cheaper?": a comparative about the cars on screen.
_COMPARATIVE = re.compile(
    r"\b(?:cual (?:es|esta|sale|queda|tiene) (?:mas|menos)|which (?:one )?(?:is|has) (?:cheaper|newer|less|more|lower)"
    r"|which (?:one )?is the (?:cheapest|newest))\b"
)
# "de los tres", "de los que me mostraste", "of the two": the cars on screen, whatever the search matched.
_SHOWN_WORDS = (
    r"(?:de (?:los|las) (?:dos|tres|cuatro|cinco)"
    r"|de (?:los|las) que me (?:mostraste|ensenaste|enseñaste|pasaste|mandaste)"
    r"|of the (?:two|three|four|five)|(?:from|of) the ones you (?:showed|sent))"
)
_EXPLICITLY_SHOWN = re.compile(_SHOWN_WORDS)
_WHICH = re.compile(r"\b(?:cual|which)\b")
_PLURAL_WHICH = re.compile(r"\b(?:cuales|which ones|which of (?:them|those|these) are)\b")
# "de esas, ¿cuál es automática?", "which of them is red?": a question about the cars just shown.
_AMONG_SHOWN = re.compile(
    r"\b(?:de (?:esas|esos|estas|estos|ellas|ellos|las que|los que)|cual de (?:esas|esos|estas|estos|ellas|ellos)"
    r"|of (?:those|these|them)|which of (?:those|these|them)|alguno de (?:esos|ellos)|alguna de (?:esas|ellas)"
    r"|cual (?:es|son|esta|tiene|viene)|which (?:one|ones)(?: is| are| has| have| comes)?|which is|which are"
    r"|cual de todos|cual de todas|de todos|de todas|of all|" + _SHOWN_WORDS + r")\b"
)


def _place_not_model(
    said: CatalogFilters, text: str, vocabulary: CatalogVocabulary, last: dict[str, Any] | None
) -> CatalogFilters:
    """ "¿León?" after a search for Versas is the branch, not a Seat León: a short follow-up naming a model that is
    also a value of the dealer's branch or city column narrows the search to that place."""
    named_make = said.make is not None and fold(said.make) in fold(text)  # "seat león" is the car
    if said.model is None or last is None or len(words(text)) > 3 or named_make:
        return said
    previous = CatalogFilters.model_validate(last)
    if previous.model is not None and name_key(previous.model) == name_key(said.model):
        return said
    key = name_key(said.model)
    for column, values in vocabulary.attribute_values.items():
        if name_key(column) in BRANCH_COLUMNS and key in values:
            return said.model_copy(
                update={"make": None, "model": None, "features": {**said.features, column: values[key]}}
            )
    return said


def answer_catalog(state: TurnState, catalog: LoadedCatalog) -> TurnUpdate:
    """Cards for the matching cars under the conversation's accumulated constraints, the details of a car the
    customer points at, a side-by-side comparison, or what the data cannot tell.

    When the answer is one car and the customer asked about something its row leaves empty ("¿cuántos km
    tiene?" with no km recorded), the reply says so plainly instead of leaving it out.
    """
    update = _answer_catalog(state, catalog)
    items = update.get("items") or []
    body = catalog.vocabulary.derived.get("body")
    if body is not None and body in state["classification"].filters.features and items and update.get("reply"):
        # "¿tienen trocas?" of a stock with no body column: the Hilux is a pickup, but that is known, not recorded.
        update["reply"] = f"{update['reply']}\n\n{say('catalog_body_by_model', state['language'])}"
    if len(items) == 1 and update.get("reply"):
        card = card_by_id(catalog.frame, str(items[0]))
        missing = unrecorded_asked(state["text"], card, catalog.vocabulary) if card is not None else []
        if missing:
            language = state["language"]
            what = ", ".join("km" if m == "km" else _label(m, language).lower() for m in missing)
            note = say("catalog_empty_cell_for_car", language, what=what)
            update["reply"] = f"{update['reply']}\n\n{note}"
    return update


def _answer_catalog(state: TurnState, catalog: LoadedCatalog) -> TurnUpdate:
    language = state["language"]
    classification = state["classification"]
    memory = state["memory"].model_copy(deep=True)
    shown = memory.shown
    text = state["text"]
    said = classification.filters
    frame = catalog.frame
    vocabulary = catalog.vocabulary
    said = _place_not_model(said, text, vocabulary, memory.last_filters)
    cheaper_or_more = bool(shown) and (wants_cheaper(text) or wants_more(text))
    if shown and classification.reference is None and BARE_PRICE.search(fold(text)):
        # "precio?" after a list: each shown car with its price (the one in focus alone, when there is one).
        ids = [memory.focus] if memory.focus else [str(c["stock_id"]) for c in shown[:5]]
        cards = [c for c in (card_by_id(frame, i) for i in ids) if c is not None]
        if len(cards) == 1:
            return _detail(cards[0], 1, memory, language)
        if cards:
            lines = [format_card(card, i + 1, language) for i, card in enumerate(cards)]
            reply = "\n".join([say("catalog_prices_header", language), *lines])
            return {"agent": "catalog", "reply": reply, "items": [c.stock_id for c in cards], "memory": memory}
    if shown and said.make is None and said.model is None and WHERE_THEY.search(fold(text)):
        located = _where_shown(shown, memory.focus, frame, language)
        if located is not None:
            return {**located, "memory": memory}

    # "recomiéndame una SUV de menos de 300 mil" names no car to compare: a search, below. "¿Cuál es más
    # barato?" about the cars on screen is the cheapest of them (below); with two cars named, a comparison.
    names_none = said.make is None and said.model is None
    folded = fold(text)
    points = any(w in _ORDINAL_WORDS for w in words(folded)) or _NUMBERED.search(folded)
    comparative = _COMPARATIVE.search(folded) is not None and said.sort != "relevance"
    on_screen = comparative and names_none and bool(shown) and not points
    if on_screen and not _EXPLICITLY_SHOWN.search(folded):
        # After a search, "de esos, ¿cuál tiene menos km?" is the one of all its matches (a sort below), not of
        # the three on screen; after a comparison's picks, the cars on screen.
        last_search = CatalogFilters.model_validate(memory.last_filters) if memory.last_filters else None
        on_screen = not _from_search(last_search, shown, frame, vocabulary)
    asks_between = _names_two_cars(text, vocabulary) and _WHICH.search(folded) is not None
    compares = looks_like_comparison(text) or asks_between  # "versa o aveo, ¿cuál?"
    differs = _DIFFERENCE.search(folded) is not None and memory.focus is not None
    if compares and not (has_constraints(said) and names_none and not differs) and not on_screen:
        return answer_compare(state, catalog, memory)
    if on_screen:
        ids = [str(c["stock_id"]) for c in shown]
        found = search_catalog(frame, said.model_copy(update={"limit": 1}), vocabulary, among=ids, widen_price=False)
        if found.items:
            winner = found.items[0]
            return _detail(winner, ids.index(winner.stock_id) + 1, memory, language)

    reference = classification.reference
    if reference is not None and _PLURAL_WHICH.search(folded) and not points:
        reference = None  # "¿de esos cuáles están en Querétaro?" asks for every one that is, not one car
    if reference is not None and said.sort != "relevance" and said.model and not points:
        reference = None  # "el Golf más barato": the cheapest Golf, not the Golf on screen
    if reference is not None and not cheaper_or_more:
        car = shown[reference]
        card = card_by_id(frame, car["stock_id"])
        if card is None:
            return {"agent": "catalog", "reply": say("catalog_no_reference", language)}
        position = reference + 1 if reference >= 0 else len(shown)
        fits = _describes(card, said, vocabulary, frame)
        if said.features and asks_about_it(text):
            # "is it automatic?": yes or no first, then the car's row (which shows what it is).
            answer = _detail(card, position, memory, language)
            unstated = [] if fits else unstated_kinds(card, said, vocabulary)
            if unstated:
                # "¿es 4x4?" of a car whose version does not say: not recorded, never "no".
                what = wording.say("catalog_kind_" + unstated[0], language).split(" (")[0]
                answer["reply"] = f"{say('catalog_not_recorded_for_car', language, what=what)}\n{answer['reply']}"
                return answer
            answer["reply"] = f"{say('catalog_it_yes' if fits else 'catalog_it_no', language)}\n{answer['reply']}"
            return answer
        if _refers_to(said, car) or fits:
            detail = _detail(card, position, memory, language)
            unrecorded = missing_kinds(text, vocabulary)
            if unrecorded:
                # "¿cuánto rinde por litro el Corolla?": the car, and that its row does not say.
                what = wording.say("catalog_kind_" + unrecorded[0], language).split(" (")[0]
                detail["reply"] = f"{say('catalog_not_recorded_for_car', language, what=what)}\n{detail['reply']}"
            return detail

    last = memory.last_filters
    previous = CatalogFilters.model_validate(last) if last else None
    if (
        reference is None
        and not cheaper_or_more
        and not _AMONG_SHOWN.search(folded)
        and not OTHER_NAMED.search(folded)
        and said.sort == "relevance"
    ):
        picked = _pick_shown(text, said, shown, frame, vocabulary)
        if picked is not None:
            card = card_by_id(frame, shown[picked]["stock_id"])
            if card is not None:
                return _detail(card, picked + 1, memory, language)

    filters = refine(previous, _with_version_words(said, text, frame), vocabulary, text=text)
    if not shown and not has_constraints(filters) and _VAGUE_NEED.search(folded):
        # "looking for something for my family, nothing too fancy": three arbitrary cars would be a guess.
        return {"agent": "catalog", "reply": say("catalog_ask_needs", language), "memory": memory}
    if memory.focus and OTHER_NAMED.search(folded):
        filters = filters.model_copy(update={"exclude_ids": [memory.focus]})  # "¿y el otro Seltos?"
    if previous is not None and shown and wants_cheaper(text):
        return _cheaper(filters, shown, frame, vocabulary, memory, language)
    more = False
    if previous is not None and shown and wants_more(text):
        excluded = list(dict.fromkeys([*previous.exclude_ids, *[c["stock_id"] for c in shown]]))
        filters = filters.model_copy(update={"exclude_ids": excluded})
        more = True

    missing = missing_kinds(text, vocabulary)
    if missing:
        return _unrecorded(missing, said, filters, frame, vocabulary, memory, language)
    if said.price_min is not None or said.price_max is not None or starts_over(text):
        memory.monthly_budget = None  # a price said outright replaces a monthly budget
    elif memory.monthly_budget is not None and not more:
        # "de esos, ¿cuáles están en Celaya?" after "puedo pagar 6 mil al mes": still within that budget.
        return answer_affordable(
            state,
            catalog,
            memory,
            monthly=Decimal(str(memory.monthly_budget)),
            down_payment=Decimal(str(memory.down_payment)) if memory.down_payment is not None else None,
            term_months=memory.term_months,
        )
    among_sorted = said.sort != "relevance" and not has_constraints(said)
    if (
        shown
        and _AMONG_SHOWN.search(folded)
        and among_sorted
        and (_EXPLICITLY_SHOWN.search(folded) or not _from_search(previous, shown, frame, vocabulary))
    ):
        # "¿cuál de todos es el más nuevo?" after a comparison: the shown cars in that order. (After a search,
        # "de esas, la más barata" is the cheapest of all its matches: the accumulated constraints below.)
        ids = [str(c["stock_id"]) for c in shown]
        order = said.model_copy(update={"exclude_ids": []})
        found = search_catalog(frame, order, vocabulary, among=ids, widen_price=False)
        if found.items:
            if len(found.items) == 1:
                card = found.items[0]
                return _detail(card, ids.index(card.stock_id) + 1, memory, language)
            return _listing(found.items, _found_header(found, language, said.sort), filters, memory, language)
    if shown and _AMONG_SHOWN.search(folded) and has_constraints(said):
        among = _among_shown(said, filters, shown, frame, vocabulary, memory, language)
        if among is not None:
            return among

    if not more and said.model is not None:
        # "¿tienen Corolla o Civic?", "ranger o hilux": either model is wanted, so both are searched.
        either = _either_model(text, filters, frame, vocabulary, memory, language)
        if either is not None:
            return either
    result = search_catalog(frame, filters, vocabulary)
    if result.total == 1 and result.items and not result.relaxed and _WHERE_IS.search(folded):
        # "la CX-5, ¿dónde está?": the car's own row says where (its branch column), so its details answer.
        return _detail(result.items[0], 1, memory, language)
    if more and memory.last_exact and (result.relaxed or not result.items):
        # "otros" after every match was shown: say so instead of presenting alternatives as matches.
        if not result.items:
            return {"agent": "catalog", "reply": wording.say("catalog_all_shown_none", language), "memory": memory}
        why = relaxed_reason(result.relaxed, filters, language)
        return _listing(result.items, wording.say("catalog_all_shown", language, why=why), filters, memory, language)
    if (result.relaxed or not result.items) and (said.make or said.model):
        # "¿cuánto cuesta la Hilux 2022?" after "diésel", "¿y la Lobo es 4x4?": the car named, whose version does
        # not say, rather than "no Hilux is diesel".
        silent = unstated_matches(frame, filters, vocabulary)
        if silent is not None:
            what = wording.say("catalog_kind_" + silent.kinds[0], language).split(" (")[0]
            key = "catalog_not_recorded_for_" + ("car" if len(silent.result.items) == 1 else "these")
            header = say(key, language, what=what)
            return _listing(silent.result.items, header, filters, memory, language)
    asked_branch = _branch_named(filters)
    if asked_branch and (said.make or said.model) and (result.relaxed or not result.items):
        # "¿lo puedo ver en Querétaro?" of a CX-5 that is in Celaya: the car, and where it is (cars move between
        # branches; the place is where to meet, not a trait of the car).
        elsewhere = _in_other_branch(filters, asked_branch, frame, vocabulary, language)
        if elsewhere is not None:
            header, items = elsewhere
            return _listing(items, header, filters, memory, language, exact=False)
    if not result.items and said.price_max is not None and filters.features and not said.features:
        # "¿algo a diésel?" then "ok, entonces ¿qué tienen de menos de 180 mil?": the budget just said wins over the
        # features asked before; what was dropped is said.
        plain = search_catalog(frame, filters.model_copy(update={"features": {}}), vocabulary, widen_price=False)
        if plain.items and not plain.relaxed:
            dropped = ", ".join(_feature_words(c, v, language) for c, v in filters.features.items())
            header = say("catalog_relaxed", language, why=dropped)
            return _listing(plain.items, header, filters.model_copy(update={"features": {}}), memory, language)
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
            if not has_constraints(filters.model_copy(update={"make": None, "model": None})):
                # "¿tienen Tesla?" and nothing else to go by: any three cars would be arbitrary, so ask instead.
                return {"agent": "catalog", "reply": say("catalog_no_make_ask", language, make=filters.make)}
            header = say("catalog_no_make", language, make=filters.make)
        else:  # the make is in stock, just not within the rest of the request
            wanted = " ".join(p for p in (filters.make, filters.model, describe_filters(filters, language)) if p)
            header = say("catalog_other_makes", language, wanted=wanted)
    elif result.relaxed:
        header = say("catalog_relaxed", language, why=relaxed_reason(result.relaxed, filters, language))
    else:
        header = _found_header(result, language, filters.sort)
    if result.total == 1 and not result.relaxed and asks_about_column(text, vocabulary):
        # "¿en qué agencia está el Tracker?", "¿de qué color es el Onix?": the one match, its row answering.
        memory.shown = [shown_entry(result.items[0])]
        memory.last_filters = filters.model_dump(mode="json", exclude={"exclude_ids"})
        return _detail(result.items[0], 1, memory, language)
    if result.total == 1 and not result.relaxed and _POINTER.search(fold(text)) and said.features and not said.model:
        # "el rojo" when the one red match was not among the cars shown: that car, in detail, in focus.
        memory.shown = [shown_entry(result.items[0])]
        memory.last_filters = filters.model_dump(mode="json", exclude={"exclude_ids"})
        return _detail(result.items[0], 1, memory, language)
    return _listing(result.items, header, filters, memory, language, exact=not result.relaxed)


_EITHER = re.compile(r"\s+(?:o|or|u|y|e|and|vs|versus)\s+(?:bien\s+|el\s+|la\s+|the\s+)?|\s*[/,]\s*")


def _either_model(
    text: str,
    filters: CatalogFilters,
    frame: pd.DataFrame,
    vocabulary: CatalogVocabulary,
    memory: ConversationMemory,
    language: Language,
) -> TurnUpdate | None:
    """Matches of each model of "X o Y" under the other constraints, taken in turn; None when the message names
    one model, or fewer than two of them have matches."""
    models: list[tuple[str | None, str]] = []
    for piece in _EITHER.split(prepare_message(text)):
        named = parse_catalog_query(piece, vocabulary)
        if named.model is not None and all(name_key(named.model) != name_key(m) for _, m in models):
            models.append((named.make, named.model))
    if len(models) < 2:
        return None
    found: list[list[CarCard]] = []
    total = 0
    for make, model in models:
        wanted = filters.model_copy(update={"make": make, "model": model, "exclude_ids": []})
        result = search_catalog(frame, wanted, vocabulary)
        if result.items and not result.relaxed:
            found.append(result.items)
            total += result.total
    if len(found) < 2:
        return None
    items: list[CarCard] = []
    for rank in range(max(len(f) for f in found)):
        items += [f[rank] for f in found if rank < len(f)]
    items = items[: max(filters.limit, len(found))]
    key = "all" if total == len(items) else "some"
    header = say(f"catalog_header_{key}", language, total=total, shown=len(items))
    return _listing(items, header, filters, memory, language)


def _from_search(
    previous: CatalogFilters | None, shown: list[ShownCar], frame: pd.DataFrame, vocabulary: CatalogVocabulary
) -> bool:
    """Whether the cars shown are matches of the accumulated constraints (a search), not a comparison's picks."""
    if previous is None or not has_constraints(previous):
        return False
    ids = [str(c["stock_id"]) for c in shown]
    check = previous.model_copy(update={"limit": 10, "exclude_ids": [], "sort": "relevance"})
    found = search_catalog(frame, check, vocabulary, among=ids, widen_price=False)
    return not found.relaxed and found.total == len(ids)


def _with_version_words(filters: CatalogFilters, text: str, frame: pd.DataFrame) -> CatalogFilters:
    """ "golf gti", "el jetta gli": a word of the text that is part of some (not all) versions of the named model
    narrows the search to those versions (as a feature on the version column)."""
    if filters.model is None:
        return filters
    cols = columns_of(frame)
    code = cols.model_index.get(name_key(filters.model))
    rows = [] if code is None else np.flatnonzero(cols.model_codes == code).tolist()
    versions = {i: cols.version_words[i] for i in rows}
    for word in sorted(set(words(text)) - set(words(filters.model))):
        if len(word) < 2 or word.isdigit():
            continue
        having = [i for i, v in versions.items() if word in v]
        if having and len(having) < len(rows):
            return filters.model_copy(update={"version_words": [*filters.version_words, word]})
    return filters


def _unrecorded(
    missing: list[str],
    said: CatalogFilters,
    filters: CatalogFilters,
    frame: pd.DataFrame,
    vocabulary: CatalogVocabulary,
    memory: ConversationMemory,
    language: Language,
) -> TurnUpdate:
    """Asked about what the catalogue does not record: say so; list what meets the rest only when the message
    itself asked for more than that, else offer what the data can search by, or a person."""
    what = wording.say("catalog_kind_" + missing[0], language)
    for kind in missing[1:]:
        what = wording.say(
            "finance_terms_last", language, rest=what, last=wording.say("catalog_kind_" + kind, language)
        )
    head = say("catalog_unrecorded", language, what=what)
    if has_constraints(said):
        result = search_catalog(frame, filters, vocabulary)
        if result.items and not result.relaxed:
            name = car_name(filters.make, filters.model) if filters.make and filters.model else filters.make or ""
            described = ", ".join(p for p in (name, describe_filters(filters, language)) if p)
            rest = say("catalog_unrecorded_rest", language, described=f" ({described})" if described else "")
            return _listing(result.items, f"{head}\n{rest}", filters, memory, language, exact=False)
    recorded = [
        wording.say("catalog_kind_" + k, language).split(" (")[0]
        for k in ("transmission", "fuel", "body", "colour")
        if k in vocabulary.kinds
    ]
    if recorded:
        more = recorded[0] if len(recorded) == 1 else ", ".join(recorded)
        fields = say("catalog_fields_more", language, more=more)
    else:
        fields = say("catalog_fields", language)
    memory.offered_handoff = True
    reply = "\n".join([head, say("catalog_unrecorded_offer", language, fields=fields)])
    return {"agent": "catalog", "reply": reply, "memory": memory}


def _among_shown(
    said: CatalogFilters,
    filters: CatalogFilters,
    shown: list[ShownCar],
    frame: pd.DataFrame,
    vocabulary: CatalogVocabulary,
    memory: ConversationMemory,
    language: Language,
) -> TurnUpdate | None:
    """ "De esas, ¿cuál es automática?": the shown cars that meet it, or, when none does, the ones in stock that do."""
    ids = [str(c["stock_id"]) for c in shown]
    question = said.model_copy(update={"limit": len(ids), "exclude_ids": [], "sort": "relevance"})
    found = search_catalog(frame, question, vocabulary, among=ids, widen_price=False)
    wanted = describe_filters(said.model_copy(update={"make": None, "model": None}), language) or ""
    if found.items and not found.relaxed and not found.unknown_features:
        if len(found.items) == 1:
            card = found.items[0]
            return _detail(card, ids.index(card.stock_id) + 1, memory, language)
        header = say("catalog_some_among_shown", language, wanted=wanted)
        return _listing(found.items, header, filters, memory, language)
    result = search_catalog(frame, filters, vocabulary)
    if not result.items or result.relaxed or not wanted:
        return None
    return _listing(result.items, say("catalog_none_among_shown", language, wanted=wanted), filters, memory, language)


def _listing(
    items: list[CarCard],
    header: str,
    filters: CatalogFilters,
    memory: ConversationMemory,
    language: Language,
    *,
    exact: bool = True,
) -> TurnUpdate:
    """Cards under ``header``, remembered so the next turn can point at them; the footer names only these cars."""
    cards = [format_card(card, i + 1, language) for i, card in enumerate(items)]
    memory.shown = [shown_entry(c) for c in items]
    memory.last_filters = filters.model_dump(mode="json", exclude={"exclude_ids"} if not filters.exclude_ids else None)
    memory.last_exact = exact
    # One exact match is the car being talked about ("¿puedo ir a verla?", "¿a 48 meses?").
    memory.focus = items[0].stock_id if len(items) == 1 and exact else None
    reply = "\n".join([header, *cards, _footer(items, language)])
    return {"agent": "catalog", "reply": reply, "items": [c.stock_id for c in items], "memory": memory}


def _footer(items: list[CarCard], language: Language) -> str:
    """How to point at a car of this list, with an example taken from the list itself."""
    if len(items) == 1:
        card = items[0]
        return say("catalog_footer_one", language, example=car_name(card.make, card.model))
    # The last car by a name no other listed car shares: its model, else its make, else its year.
    card = items[-1]
    models = [name_key(c.model) for c in items]
    makes = [name_key(c.make) for c in items]
    if models.count(name_key(card.model)) == 1:
        example = car_name(card.make, card.model)
    elif makes.count(name_key(card.make)) == 1:
        example = card.make
    else:
        example = f"{card.year}" if [c.year for c in items].count(card.year) == 1 else f"${card.price:,.0f}"
        example = ("de " if language == "es" else "") + example
        if language == "en":
            return say(
                "catalog_footer_list", language, ordinal=say("catalog_ordinal_2", language), example=f"{example} one"
            )
    return say("catalog_footer_list", language, ordinal=say("catalog_ordinal_2", language), example=example)


def answer_affordable(
    state: TurnState,
    catalog: LoadedCatalog,
    memory: ConversationMemory,
    *,
    monthly: Decimal,
    down_payment: Decimal | None = None,
    down_payment_ratio: Decimal | None = None,
    term_months: int | None = None,
) -> TurnUpdate:
    """The most the customer can pay at a monthly budget (assumptions stated), and the cars that fit it under the
    conversation's other constraints, each with its exact monthly payment at those assumptions."""
    language = state["language"]
    terms: FinanceTerms = state["tenant"].finance
    memory.monthly_budget = float(monthly)
    down, term = down_payment, term_months
    try:
        afford = max_price_for_payment(
            terms=terms,
            monthly_budget=monthly,
            term_months=term,
            down_payment=down,
            down_payment_ratio=down_payment_ratio,
        )
    except FinanceError as error:
        return {"agent": "finance", "reply": format_finance_error(error, language), "memory": memory}
    down_text = (
        format_money(afford.down_payment)
        if afford.down_payment is not None
        else say("finance_afford_down_share", language, share=format_percent(afford.down_payment_ratio))
    )
    head = say(
        "finance_afford_header",
        language,
        monthly=format_money(afford.monthly_budget),
        term=afford.term_months,
        down=down_text,
        rate=format_percent(afford.annual_rate),
        max_price=format_money(afford.max_price),
    )
    if afford.down_payment is not None and terms.min_down_payment_ratio > 0:
        cap = (afford.down_payment / terms.min_down_payment_ratio).quantize(Decimal(1), rounding=ROUND_FLOOR)
        if afford.max_price == cap:
            # The down payment, not the monthly budget, is what limits the price: say why.
            head = (
                f"{head} {say('finance_afford_down_cap', language, ratio=format_percent(terms.min_down_payment_ratio))}"
            )
    previous = CatalogFilters.model_validate(memory.last_filters) if memory.last_filters else None
    said = state["classification"].filters.model_copy(update={"price_min": None, "price_max": None})
    wanted = refine(previous, said, catalog.vocabulary, text=state["text"])
    filters = wanted.model_copy(update={"price_max": float(afford.max_price), "price_min": None, "limit": 10})
    result = search_catalog(catalog.frame, filters, catalog.vocabulary, widen_price=False)
    rest = wanted.model_copy(update={"price_min": None, "price_max": None})
    verdict = _budget_verdict(said, rest, afford, catalog, memory, language, terms)
    if verdict is not None:
        return verdict
    described = describe_filters(rest, language)
    quotes: list[dict[str, Any]] = []
    lines: list[str] = []
    kept: list[CarCard] = []
    for card in result.items:
        quote = _fits(card.price, afford.term_months, afford.down_payment, afford.down_payment_ratio, terms)
        if quote is None or Decimal(str(quote["monthly_payment"])) > afford.monthly_budget:
            continue
        quotes.append(quote)
        kept.append(card)
        line = format_card(card, len(lines) + 1, language)
        lines.append(
            say(
                "finance_afford_card", language, card=line, payment=format_money(Decimal(str(quote["monthly_payment"])))
            )
        )
        if len(lines) == (1 if said.sort != "relevance" and said.limit == 1 else 3):
            break  # "de esos, ¿cuál es el más nuevo?": one car, the first in that order that fits
    if not lines:
        cheapest = search_catalog(
            catalog.frame, rest.model_copy(update={"sort": "price_asc", "limit": 1}), catalog.vocabulary
        )
        reply = [head]
        if cheapest.items:
            card = cheapest.items[0]
            quote = _fits(card.price, afford.term_months, afford.down_payment, afford.down_payment_ratio, terms)
            if quote is not None:
                label = card_label(card)
                reply.append(
                    say(
                        "finance_afford_none",
                        language,
                        described=f" ({described})" if described else "",
                        car=label,
                        payment=format_money(Decimal(str(quote["monthly_payment"]))),
                    )
                )
        memory.last_filters = wanted.model_dump(mode="json", exclude={"exclude_ids"})
        return {"agent": "finance", "reply": "\n".join(reply), "memory": memory}
    if result.relaxed:
        listing = say("finance_afford_list_relaxed", language, why=relaxed_reason(result.relaxed, filters, language))
    elif said.sort != "relevance":
        what = say(f"catalog_sorted_{said.sort}_{'one' if len(kept) == 1 else 'some'}", language)
        listing = say("finance_afford_list_sorted", language, what=what[:1].upper() + what[1:])
    else:
        listing = say("finance_afford_list", language, described=f" ({described})" if described else "")
    memory.shown = [shown_entry(c) for c in kept]
    memory.focus = kept[0].stock_id if len(kept) == 1 else None
    memory.last_filters = wanted.model_dump(mode="json", exclude={"exclude_ids"})
    memory.last_exact = not result.relaxed
    reply_lines = [head, listing, *lines, say("finance_afford_footer", language), say("finance_note", language)]
    return {
        "agent": "finance",
        "reply": "\n".join(reply_lines),
        "items": [c.stock_id for c in kept],
        "quotes": quotes,
        "memory": memory,
    }


def _budget_verdict(
    said: CatalogFilters,
    rest: CatalogFilters,
    afford: Affordable,
    catalog: LoadedCatalog,
    memory: ConversationMemory,
    language: Language,
    terms: FinanceTerms,
) -> TurnUpdate | None:
    """ "¿el Swift entra?", "¿cuánto quedaría el Versa 2021 a 72 con esos 60 mil?" under a monthly budget: the car
    named, quoted exactly at the budget's terms, and whether it fits. Only when the words name one car, or when
    none of the cars they name fits (several that do are a list, as before)."""
    if not said.model:
        return None
    cheapest = search_catalog(
        catalog.frame, rest.model_copy(update={"sort": "price_asc", "limit": 1}), catalog.vocabulary
    )
    if not cheapest.items or cheapest.relaxed:
        return None
    card = cheapest.items[0]
    try:
        quoted = quote_for(
            terms=terms,
            price=Decimal(str(card.price)),
            down_payment=afford.down_payment,
            down_payment_ratio=None if afford.down_payment is not None else afford.down_payment_ratio,
            term_months=afford.term_months,
        )
    except (FinanceError, ValueError):
        return None
    quote = quoted.single
    if quote is None:
        return None
    over = quote.monthly_payment - afford.monthly_budget
    if cheapest.total > 1 and over <= 0:
        return None  # some of them fit: the list says which
    label = card_label(card)
    budget = format_money(afford.monthly_budget)
    if over <= 0:
        verdict = say("finance_budget_fits", language, car=label, monthly=budget)
    else:
        key = "finance_budget_over_one" if cheapest.total == 1 else "finance_budget_over_cheapest"
        verdict = say(key, language, car=label, monthly=budget, payment=format_money(quote.monthly_payment))
    payload = quote_payload(quote)
    memory.shown = [shown_entry(card)]
    memory.focus = card.stock_id
    memory.last_quote = payload
    memory.last_filters = rest.model_dump(mode="json", exclude={"exclude_ids"})
    reply = [format_card(card, 1, language), format_quote(quote, language), verdict]
    return {"agent": "finance", "reply": "\n".join(reply), "items": [card.stock_id], "quote": payload, "memory": memory}


def _fits(
    price: float, term: int, down: Decimal | None, ratio: Decimal | None, terms: FinanceTerms
) -> dict[str, Any] | None:
    """The exact quote of a car at ``term`` with ``down`` (else the ``ratio`` share, else the tenant's minimum), as
    the quote tool gives it; None when the terms refuse it (a down payment under the minimum share, over the price)."""
    try:
        quoted = quote_for(
            terms=terms,
            price=Decimal(str(price)),
            down_payment=down,
            down_payment_ratio=None if down is not None else ratio,
            term_months=term,
        )
    except (FinanceError, ValueError):
        return None
    return quote_payload(quoted.single) if quoted.single is not None else None


# --- comparisons ---------------------------------------------------------------------------------

# "el primero y el tercero": ordinals as the reference resolver reads them ("dos" here is a count).
_ORDINAL_WORDS = {word: index for word, index in ORDINALS.items() if word not in BARE_NUMBERS}
_NUMBERED = re.compile(r"(?:#|\b(?:el|la|numero|number|opcion|option|no\.?)\s*)([1-9])\b")
_COUNT_WORDS = {"2": 2, "3": 3, "4": 4, "5": 5, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "two": 2,
                "three": 3, "four": 4, "five": 5}  # fmt: skip
_COUNT = r"(?:2|3|4|5|dos|tres|cuatro|cinco|two|three|four|five)"
_FIRST_N = re.compile(
    rf"\b(?:(?:the )?(?:first|last|top) (?P<n>{_COUNT})|(?:l[oa]s )?(?:primer[oa]s|ultim[oa]s) (?P<m>{_COUNT})"
    rf"|(?:l[oa]s )?(?P<k>{_COUNT}) (?:primer[oa]s|ultim[oa]s))\b"
)
_SEPARATORS = re.compile(r"\s*(?:,|\bo\b|\by\b|\bvs\.?\b|\bversus\b|\bcontra\b|\bor\b|\band\b|\bcon\b|\bwith\b)\s*")
_OPINION = re.compile(
    r"\b(?:mejor|recomienda\w*|conviene|better|recommend\w*|best|escojo|elijo|choose|pick|llevo|llevarias"
    r"|escogerias|elegirias|comprarias|tomarias|buy|get|take)\b"
)
# "ese", "this one": the car being talked about, compared with the one the message names.
_THAT = re.compile(r"\b(?:ese|esa|este|esta|eso|esto|that one|this one|that|this|it)\b")
# "la CX-5 ¿dónde está?", "¿en qué sucursal la tienen?", "where is it?": the car's own place.
_WHERE_IS = re.compile(
    r"\b(?:donde (?:esta|la tienen|lo tienen|se encuentra|la puedo ver|lo puedo ver)|en (?:que|cual) (?:sucursal|sede"
    r"|agencia) (?:esta|la tienen|lo tienen)|where is it|which (?:branch|location))\b"
)


def _where_shown(
    shown: list[ShownCar], focus: str | None, frame: pd.DataFrame, language: Language
) -> TurnUpdate | None:
    """Where the cars talked about are, from their rows' branch column; None when the catalog records no place."""
    if branch_column(frame) is None:
        return None
    ids = [focus] if focus and len(shown) > 2 else [str(c["stock_id"]) for c in shown[:3]]
    lines: list[str] = []
    places: set[str] = set()
    for stock_id in ids:
        card = card_by_id(frame, stock_id)
        place = branch_of(frame, stock_id)
        if card is None or not place:
            continue
        places.add(place)
        label = card_label(card)
        lines.append(say("catalog_where_car", language, car=label, branch=place))
    if not lines:
        return None
    head = say("catalog_where_same", language, branch=next(iter(places))) if len(places) == 1 and len(lines) > 1 else ""
    reply = "\n".join([head, *lines] if head else lines)
    return {"agent": "catalog", "reply": reply, "items": ids}


# "¿y el GLI 2023 qué diferencia tiene?": one car named, weighed against the one in focus.
_DIFFERENCE = re.compile(r"\b(?:diferencias?|difference|differ\w*|compar\w*|vs|versus|contra)\b")
_CRITERION = re.compile(r"\b(?:para|for)\s+(?:la |el |los |las |the |a |an |un |una )?(?P<what>[a-zñ]+(?: [a-zñ]+)?)")


def _compared_cards(
    text: str,
    shown: list[ShownCar],
    frame: pd.DataFrame,
    vocabulary: CatalogVocabulary,
    previous: CatalogFilters | None,
    focus: str | None = None,
    order: SortOrder = "relevance",
) -> list[CarCard]:
    """The cars a comparison is about: the ones it points at (ordinals, names), else the ones just shown.

    ``order`` is the message's own ("jetta o corolla, ¿cuál sale más barato?"): each model's cheapest (newest...)
    is the one weighed."""
    folded = fold(text)
    picked: list[str] = []
    first_n = _FIRST_N.search(folded)
    if first_n is not None and shown:
        # "compare the first two", "los dos primeros", "las últimas 2": a slice of the list on screen.
        count = _COUNT_WORDS.get(first_n["n"] or first_n["m"] or first_n["k"] or "", 0)
        last = "ultim" in first_n.group(0) or "last" in first_n.group(0)
        chosen = shown[-count:] if last else shown[:count]
        if count >= 2:
            picked += [str(c["stock_id"]) for c in chosen]
            folded = folded.replace(first_n.group(0), " ")
    for token in words(folded):
        if token in _ORDINAL_WORDS and shown:
            index = _ORDINAL_WORDS[token]
            if index < len(shown):
                picked.append(str(shown[index]["stock_id"]))
    for m in _NUMBERED.finditer(folded):
        if shown and int(m.group(1)) <= len(shown):
            picked.append(str(shown[int(m.group(1)) - 1]["stock_id"]))
    named = False
    last_named: CatalogFilters | None = None
    focus_card = card_by_id(frame, focus) if focus else None
    for piece in _SEPARATORS.split(folded):
        wanted = parse_catalog_query(piece, vocabulary)
        if wanted.model is None and wanted.make is None:
            # "el Jetta Comfortline y el GLI": a version alone is another version of the model just named; "¿y
            # el GLI 2023 qué diferencia tiene?" one of the model in focus.
            if (last_named is None or last_named.model is None) and focus_card is not None:
                last_named = CatalogFilters(make=focus_card.make, model=focus_card.model)
            if last_named is None or last_named.model is None:
                continue
            years = {"year_min": wanted.year_min, "year_max": wanted.year_max} if wanted.year_min else {}
            base = last_named.model_copy(update={"version_words": [], **years})
            wanted = _with_version_words(base, piece, frame)
            if not wanted.version_words and not years:
                continue
        else:
            last_named = wanted
        named = True
        # "la CX-5 2018", "el Onix blanco": the piece's own year, colour and version narrow it.
        query = wanted.model_copy(update={"limit": 1, "sort": order, "price_min": None, "price_max": None})
        query = _with_version_words(query, piece, frame)
        ids = [str(c["stock_id"]) for c in shown]
        among = search_catalog(frame, query, vocabulary, among=ids, widen_price=False) if ids else None
        if among is not None and among.items and not among.relaxed:
            picked.append(among.items[0].stock_id)
            continue
        queries = [query]
        if previous is not None:
            # The one that fits the conversation's constraints first; any of that model otherwise.
            queries.insert(0, refine(previous, query, vocabulary).model_copy(update={"limit": 1, "sort": order}))
        for q in queries:
            found = search_catalog(frame, q, vocabulary)
            if found.items and not found.relaxed:
                picked.append(found.items[0].stock_id)
                break
    ids = list(dict.fromkeys(picked))
    if len(ids) == 1 and named and (_THAT.search(folded) or _DIFFERENCE.search(folded)):
        # "¿y ese contra un City?": the car in focus (else the ones just shown) against the one named.
        anchors = [focus] if focus else [str(c["stock_id"]) for c in shown[:2]]
        ids = [*(a for a in anchors if a not in ids), *ids]
    if not ids and not named and shown:
        ids = [str(c["stock_id"]) for c in shown[:3]]
    if not ids and not named and previous is not None:
        ids = [c.stock_id for c in search_catalog(frame, previous.model_copy(update={"limit": 3}), vocabulary).items]
    cards = [card_by_id(frame, i) for i in ids]
    return [c for c in cards if c is not None]


_VAGUE_NEED = re.compile(
    r"\b(?:familia|family|kids|hijos|ninos|niños|something|algo (?:para|pa|bueno|que)|recomienda\w*|recommend\w*"
    r"|no se (?:que|cual)|not sure (?:what|which))\b"
)
_RECOMMEND_ONLY = re.compile(r"\b(?:recomienda\w*|recommend\w*|sugiere\w*|suggest\w*|conviene)\b")


def answer_compare(
    state: TurnState, catalog: LoadedCatalog, memory: ConversationMemory, term_months: int | None = None
) -> TurnUpdate:
    """Side by side on what the data has: price, year, km, the dealer's columns, a monthly payment at the default
    terms; which is cheapest, newest, least driven. No opinion the data cannot back."""
    language = state["language"]
    text = state["text"]
    previous = CatalogFilters.model_validate(memory.last_filters) if memory.last_filters else None
    order = state["classification"].filters.sort
    cards = _compared_cards(text, memory.shown, catalog.frame, catalog.vocabulary, previous, memory.focus, order)
    cards = _in_asked_order(cards, order)
    if not cards:
        # "¿qué me recomiendan?" with nothing on screen and nothing to compare: what the customer needs, first.
        key = (
            "catalog_ask_needs"
            if not memory.shown and _RECOMMEND_ONLY.search(fold(text))
            else "catalog_compare_nothing"
        )
        return {"agent": "catalog", "reply": say(key, language), "memory": memory}
    if len(cards) == 1:
        detail = _detail(cards[0], 1, memory, language)
        detail["reply"] = "\n".join([detail["reply"].rsplit("\n", 1)[0], say("catalog_compare_need_two", language)])
        memory.shown = [shown_entry(cards[0])]
        return detail
    folded = fold(text)
    if _OPINION.search(folded):
        criterion = _CRITERION.search(folded)
        tail = ""
        if criterion is not None:
            what = re.sub(r"\s+(?:en|de|por|a|al|in|on|at|to|the)$", "", criterion["what"])
            tail = (" para " if language == "es" else " for ") + what
        lines = [say("catalog_compare_no_opinion", language, criterion=tail)]
    else:
        lines = [say("catalog_compare_header", language)]
    terms: FinanceTerms = state["tenant"].finance
    wanted_term = term_months or memory.term_months
    term = wanted_term if wanted_term in terms.terms_months else default_term(terms)
    # The customer's own down payment when they gave one ("con 40 mil de enganche"), else the minimum share.
    down = Decimal(str(memory.down_payment)) if memory.down_payment is not None else None
    payments = _payments(cards, terms, term, down)
    if down is not None and len(payments) < len(cards):
        down = None  # that amount does not suit every car (under a minimum, over a price): the minimum for all
        payments = _payments(cards, terms, term)
    for i, card in enumerate(cards):
        line = format_card(card, i + 1, language)
        payment = payments.get(card.stock_id)
        if payment is not None:
            line += " · " + say(
                "catalog_compare_payment", language, payment=format_money(Decimal(str(payment["monthly_payment"])))
            )
        details = describe_attributes(card, language)
        lines.append(f"{line}\n   {details}" if details else line)
    lines.extend(_compare_facts(cards, language))
    if payments:
        lines.append(
            say(
                "catalog_compare_terms",
                language,
                term=term,
                down=format_money(down) if down is not None else format_percent(terms.min_down_payment_ratio),
                rate=format_percent(terms.annual_rate),
            )
        )
    lines.append(say("catalog_compare_close", language))
    memory.shown = [shown_entry(c) for c in cards]
    memory.focus = None
    update: TurnUpdate = {
        "agent": "catalog",
        "reply": "\n".join(lines),
        "items": [c.stock_id for c in cards],
        "memory": memory,
    }
    if payments:
        update["quotes"] = list(payments.values())
    return update


def _names_two_cars(text: str, vocabulary: CatalogVocabulary) -> bool:
    """Whether the message names two different models ("Versa o Aveo", "the Jetta vs the Vento")."""
    named = set()
    for piece in _SEPARATORS.split(fold(text)):
        wanted = parse_catalog_query(piece, vocabulary)
        if wanted.model is not None:
            named.add(name_key(wanted.model))
    return len(named) >= 2


def _in_asked_order(cards: list[CarCard], sort: str) -> list[CarCard]:
    """ "¿Cuál es más barato, el Versa o el Aveo?": the answer first."""
    if sort == "price_asc":
        return sorted(cards, key=lambda c: c.price)
    if sort == "price_desc":
        return sorted(cards, key=lambda c: -c.price)
    if sort == "year_desc":
        return sorted(cards, key=lambda c: -c.year)
    if sort == "year_asc":
        return sorted(cards, key=lambda c: c.year)
    if sort == "km_asc":
        return sorted(cards, key=lambda c: c.km if c.km is not None else float("inf"))
    return cards


def _payments(
    cards: list[CarCard], terms: FinanceTerms, term: int, down: Decimal | None = None
) -> dict[str, dict[str, Any]]:
    """Each car's quote at ``term`` and ``down`` (else the minimum down payment), exact as the quote tool gives;
    a car the down payment does not suit (under the minimum share, over the price) has no payment line."""
    quotes = {card.stock_id: _fits(card.price, term, down, None, terms) for card in cards}
    return {stock_id: quote for stock_id, quote in quotes.items() if quote is not None}


def _compare_facts(cards: list[CarCard], language: Language) -> list[str]:
    """The differences the data shows: cheapest (and by how much), newest, lowest mileage."""
    facts: list[str] = []

    def base(card: CarCard) -> str:
        return " ".join(p for p in (car_name(card.make, card.model), card.version or "") if p)

    # Two of the same model and version ("Jetta GLI" 2022 and 2023) are told apart by their year.
    same = len({base(c) for c in cards}) < len(cards)

    def name(card: CarCard) -> str:
        return f"{base(card)} {card.year}" if same else base(card)

    by_price = sorted(cards, key=lambda c: c.price)
    if by_price[0].price < by_price[1].price:
        facts.append(say("catalog_compare_cheapest", language, name=name(by_price[0])))
    by_year = sorted(cards, key=lambda c: -c.year)
    if by_year[0].year > by_year[1].year:
        facts.append(say("catalog_compare_newest", language, name=base(by_year[0]), year=by_year[0].year))
    known = [c for c in cards if c.km is not None]
    if len(known) == len(cards):
        by_km = sorted(known, key=lambda c: c.km or 0)
        if (by_km[0].km or 0) < (by_km[1].km or 0):
            facts.append(say("catalog_compare_lowest_km", language, name=name(by_km[0]), km=by_km[0].km))
    return [" ".join(facts)] if facts else []
