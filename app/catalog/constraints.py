"""A conversation's accumulated search constraints: how a follow-up refines them and a new search replaces them.

"¿y alguna diésel?", "¿y en gris?", "del 2020 para arriba" narrow the last search; "ahora busco una pickup
Ford" replaces what it contradicts (make, model, body) and keeps the rest (budget, years, transmission);
"olvida lo anterior" starts over; "cualquier color" / "no importa el precio" lift one constraint.
"""

from __future__ import annotations

import re
from typing import Any

from app.catalog.keys import name_key
from app.catalog.schemas import CatalogFilters
from app.catalog.vocabulary import CatalogVocabulary
from app.text.normalize import fold

_START_OVER = re.compile(
    r"\b(?:olvida\w*|olvidalo|empe[cz]\w* de (?:nuevo|cero)|desde cero|de nuevo|otra busqueda|nueva busqueda"
    r"|forget (?:it|that|about)|start over|from scratch|new search|never ?mind)\b"
)
_ANY = (
    r"(?:cualquier|no importa(?: el| la| los)?|sin importar(?: el| la)?|da igual(?: el| la)?|any|whatever"
    r"|no matter the)"
)
_LIFTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(rf"\b{_ANY}\s+(?:precio|price|presupuesto|budget)\b"), ("price_min", "price_max")),
    (re.compile(rf"\b{_ANY}\s+(?:año|años|ano|anos|anio|anios|modelo|year|years)\b"), ("year_min", "year_max")),
    (re.compile(rf"\b{_ANY}\s+(?:kilometraje|km|mileage)\b"), ("km_max",)),
    (re.compile(rf"\b{_ANY}\s+(?:marca|make|brand)\b"), ("make", "model")),
)
_ANY_FEATURE = re.compile(rf"\b{_ANY}\s+(?P<what>[a-z]+)\b")
# "ahora busco...", "mejor una pickup", "instead": a new search; with another car named, only the budget stays.
_SWITCH = re.compile(
    r"\b(?:ahora|mejor|en vez|en lugar|instead|now|rather|otra cosa|cambiando de tema"
    # "mm no sé, busco algo más tipo CR-V": another kind of car, the earlier year or colour no longer asked
    r"|mas tipo|algo tipo|algo como|algo mas como|mas bien|something like|more like)\b"
)
# Feature kinds a model fixes: naming another model drops the body type asked for before.
_MODEL_FIXES = ("body",)
# "cualquier color", "no importa la caja": the word names a kind of column (``CatalogVocabulary.kinds``).
_KIND_WORDS = {"color": "colour", "colour": "colour", "combustible": "fuel", "fuel": "fuel",
               "transmision": "transmission", "transmission": "transmission", "caja": "transmission"}  # fmt: skip


def starts_over(text: str) -> bool:
    """Whether the customer discards the search so far ("olvida lo anterior", "start over")."""
    return bool(_START_OVER.search(fold(text)))


def lifted(text: str, vocabulary: CatalogVocabulary) -> tuple[set[str], set[str]]:
    """Filter fields and feature columns the customer no longer minds ("cualquier color", "no importa el año")."""
    t = fold(text)
    fields: set[str] = set()
    for pattern, names in _LIFTS:
        if pattern.search(t):
            fields.update(names)
    columns: set[str] = set()
    for m in _ANY_FEATURE.finditer(t):
        what = name_key(m["what"])
        kind = _KIND_WORDS.get(what)
        if kind:  # a kind the dealer records, else one read from the versions ("Advance CVT")
            column = vocabulary.kinds.get(kind) or vocabulary.derived.get(kind)
        else:
            column = vocabulary.attribute_columns.get(what)
        if column is not None:
            columns.add(column)
    return fields, columns


def _kind_of(column: str, vocabulary: CatalogVocabulary) -> str | None:
    return next((kind for kind, col in vocabulary.kinds.items() if col == column), None)


def refine(
    previous: CatalogFilters | None,
    new: CatalogFilters,
    vocabulary: CatalogVocabulary,
    *,
    text: str = "",
) -> CatalogFilters:
    """The constraints after this message: ``previous`` with what ``new`` says on top.

    A field the message states replaces the previous value (a price range, a year range, a feature column);
    another make drops the previous model, another model drops the previous make and body type; how many to show
    is the message's own, and so is the order unless it only narrows the last search.
    """
    if previous is None or starts_over(text):
        return new
    names_car = new.model is not None or (new.make is not None and new.make != previous.make)
    new_kinds = {_kind_of(c, vocabulary) for c in new.features}
    if _SWITCH.search(fold(text)) and (names_car or "body" in new_kinds):
        previous = CatalogFilters(price_min=previous.price_min, price_max=previous.price_max)
    data: dict[str, Any] = previous.model_dump()
    # "any manual, cheap" then "the white ones only": a narrowing keeps the order asked for; another car does not.
    sort = new.sort if new.sort != "relevance" or names_car else previous.sort
    data.update({"sort": sort, "limit": new.limit, "exclude_ids": []})
    fields, columns = lifted(text, vocabulary)
    for name in fields:
        data[name] = None
    features: dict[str, str] = {k: v for k, v in previous.features.items() if k not in columns}
    if new.model is not None:
        if previous.model is None or name_key(previous.model) != name_key(new.model):
            features = {k: v for k, v in features.items() if _kind_of(k, vocabulary) not in _MODEL_FIXES}
            data["version_words"] = []
        data["make"], data["model"] = new.make, new.model
        if new.version_words:
            data["version_words"] = new.version_words
    elif new.make is not None:
        if previous.make is None or name_key(previous.make) != name_key(new.make):
            data["model"] = None
            data["version_words"] = []
        data["make"] = new.make
    if new.price_min is not None or new.price_max is not None:
        data["price_min"], data["price_max"] = new.price_min, new.price_max
    if new.year_min is not None or new.year_max is not None:
        data["year_min"], data["year_max"] = new.year_min, new.year_max
    if new.km_max is not None:
        data["km_max"] = new.km_max
    features.update(new.features)
    data["features"] = features
    return CatalogFilters.model_validate(data)
