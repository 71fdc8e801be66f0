"""What a conversation remembers between turns: a typed model stored as JSON in ``conversations.state``.

Rows written before the model existed carry no ``version``; they load as version 0 and are dumped at the
current version. Keys this model does not know (a newer writer's, or a retired key) are ignored.
Version 2 added what a shown car looks like (``traits``), the customer's financing preferences and the
meaning of ``last_filters`` as the accumulated constraints of the conversation; version-1 rows load as is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from typing_extensions import TypedDict

from app.text.answers import is_elliptical
from app.text.money import read_number, unit_scale
from app.text.normalize import Language, fold, words

MEMORY_VERSION = 2


class ShownCar(TypedDict):
    """A car the conversation showed, as the next turn points at it ("el segundo", "the Mazda")."""

    stock_id: str
    make: str
    model: str
    year: int
    price: float
    version: NotRequired[str | None]
    km: NotRequired[int | None]
    # Folded words the customer may point at it by: version, colour and other descriptive values ("gli", "gris").
    traits: NotRequired[list[str]]


class ConversationMemory(BaseModel):
    """Structured memory the offline tier decides from and the LLM tier summarises; no chat history."""

    # Unknown keys of stored rows are dropped, never an error: a row must always load.
    model_config = ConfigDict(extra="ignore")

    version: int = 0
    language: Language | None = None
    turns: int = 0
    topics: list[str] = Field(default_factory=list)
    # The cars of the last listing, in the order shown, and the one the customer is discussing.
    shown: list[ShownCar] = Field(default_factory=list)
    focus: str | None = None
    # The last financing quote, as ``quote_payload`` returns it (numbers as JSON numbers).
    last_quote: dict[str, Any] | None = None
    # The accumulated constraints of the conversation (``CatalogFilters`` as JSON): every follow-up refines
    # them ("¿y en gris?"), a new explicit search replaces the ones it contradicts; and whether the last
    # listing matched them exactly, for "otros"/"más baratos".
    last_filters: dict[str, Any] | None = None
    last_exact: bool = True
    # Financing the customer stated: a monthly budget, a down payment, a term (used until they say otherwise).
    monthly_budget: float | None = None
    down_payment: float | None = None
    term_months: int | None = None
    # The bot offered a person last turn: a bare "sí" now accepts it (lasts one turn).
    offered_handoff: bool = False
    # Consecutive LLM replies under the tenant's confidence threshold (a streak hands off).
    low_confidence: int = 0
    # The rest of a knowledge passage the bot offered to tell ("¿Quieres que te cuente más?"), as
    # ``app.knowledge.answers.More`` JSON; a "sí" / "dime más" on the very next turn continues it.
    knowledge_more: dict[str, Any] | None = None
    # The question the last company-text answer answered: "¿y la de Celaya?" right after it asks it again of Celaya.
    info_question: str | None = None
    # A visit or test drive being booked (``app.leads.booking.Booking`` as JSON), until dropped; once stored it
    # stays a few turns with its lead id, so "¿lo cambiamos al sábado?" moves that lead.
    booking: dict[str, Any] | None = None
    # Short hashes of the last replies sent: a reply is never sent twice word for word.
    replies: list[str] = Field(default_factory=list)

    def question_asked_again(self, text: str) -> str | None:
        """The last company-text question when ``text``, right after its answer, asks it again of something
        else ("¿y la de Celaya?", "and on Saturdays?"); None otherwise."""
        if self.info_question and self.topics[-1:] == ["info"] and is_elliptical(text):
            return self.info_question
        return None

    @classmethod
    def load(cls, row: Mapping[str, Any] | None) -> ConversationMemory:
        """The memory in a stored row (any version, unknown keys ignored); empty for no row.

        A key whose stored value no longer fits is forgotten rather than failing the customer's turn.
        """
        data = dict(row or {})
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            broken = {e["loc"][0] for e in error.errors() if e["loc"]}
            return cls.model_validate({k: v for k, v in data.items() if k not in broken})

    def dump(self) -> dict[str, Any]:
        """The JSON for ``conversations.state``: the keys that differ from a new conversation, and the version."""
        data = self.model_dump(mode="json", exclude_defaults=True, exclude={"version"})
        return {"version": MEMORY_VERSION, **data}


def as_memory(memory: ConversationMemory | Mapping[str, Any]) -> ConversationMemory:
    """``memory`` as the model; a plain mapping (a stored row, a test's dict) is loaded."""
    return memory if isinstance(memory, ConversationMemory) else ConversationMemory.load(memory)


# --- pointing at a car that was shown ------------------------------------------------------------

# Words that never tell two shown cars apart.
_PLAIN = frozenset(
    {"el", "la", "los", "las", "de", "del", "ese", "esa", "este", "esta", "the", "one", "that", "this", "y", "and",
     "me", "interesa", "quiero", "ver", "show", "i", "like", "want", "mas", "more", "info", "sobre", "about",
     "cuanto", "how", "much", "que", "tal", "es", "is", "con", "with", "sin", "un", "una", "a", "an", "en", "in",
     "of", "color", "colour", "version", "por", "favor", "please", "detalles", "details", "dame", "give"}
)  # fmt: skip
_POINTERS = frozenset({"el", "la", "ese", "esa", "este", "esta", "aquel", "aquella", "the", "that", "this", "one",
                       "cual", "which", "esas", "esos", "those", "them"})  # fmt: skip
_SEARCH_VERBS = frozenset({"busco", "buscando", "tienen", "tienes", "hay", "looking", "otro", "otra", "another",
                           "otros", "otras", "others", "mas", "more", "ahora"})  # fmt: skip
_POINTED_AMOUNT = re.compile(
    r"\b(?:el|la|ese|esa|the one|that one|the)\s+(?:de|del|que cuesta|for|at|of|costing)\s+\$?\s*"
    r"(?P<n>\d[\d,.]*)\s*(?P<k>mil|k)?\b"
)


def pick_by_traits(text: str, shown: Sequence[ShownCar]) -> int | None:
    """Index of the one shown car a message describes by version, colour, year or price ("el gris", "el GLI",
    "el de 250 mil", "el 2019"); None when no car or several fit."""
    if not shown:
        return None
    folded = fold(text)
    tokens = words(folded)
    if not _POINTERS.intersection(tokens) or _SEARCH_VERBS.intersection(tokens) or len(tokens) > 12:
        return None  # "busco un gris 2019" is a new search, not a pointer at a shown car
    if len(shown) == 3 and re.search(r"\b(?:de en medio|del medio|de enmedio|middle one|in the middle)\b", folded):
        return 1
    telling = [w for w in tokens if w not in _PLAIN]
    if not telling:
        return None
    amount = _POINTED_AMOUNT.search(folded)
    number = read_number(amount["n"].rstrip(".,")) if amount is not None else None
    if amount is not None and number is not None:
        value = float(number * unit_scale(amount["k"] or ""))
        if value < 1000 and not amount["k"]:
            value *= 1000 if 100 <= value < 1000 else 1
        if value >= 1000 and not 1900 <= value <= 2100:
            close = [i for i, car in enumerate(shown) if abs(float(car["price"]) - value) <= 0.06 * value]
            if len(close) == 1:
                return close[0]
            if close:
                return min(close, key=lambda i: abs(float(shown[i]["price"]) - value))
    scores: list[int] = []
    for car in shown:
        traits = set(car.get("traits") or [])
        traits |= {str(car["year"])}
        scores.append(sum(1 for w in telling if w in traits or _inflected(w) & traits))
    best = max(scores)
    if best == 0 or scores.count(best) > 1:
        return None
    return scores.index(best)


def _inflected(word: str) -> set[str]:
    """ "grises" -> gris, "roja" -> rojo: enough to compare a customer's word with a stored trait."""
    forms = {word}
    if word.endswith("es") and len(word) > 4:
        forms.add(word[:-2])
    if word.endswith("s") and len(word) > 3:
        forms.add(word[:-1])
    if word[-1:] in ("a", "o") and len(word) > 3:
        forms |= {word[:-1] + "o", word[:-1] + "a"}
    return forms
