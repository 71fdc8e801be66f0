"""Text normalisation shared by the rule-based parsers: accent folding and language guessing."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Literal

Language = Literal["es", "en"]

_WORD = re.compile(r"[a-z0-9ñ]+")
# Weekday names as ``fold`` leaves them (Spanish and English) → Python's weekday number (Monday = 0).
WEEKDAYS: dict[str, int] = {
    **dict.fromkeys(("lunes", "monday"), 0),
    **dict.fromkeys(("martes", "tuesday"), 1),
    **dict.fromkeys(("miercoles", "wednesday"), 2),
    **dict.fromkeys(("jueves", "thursday"), 3),
    **dict.fromkeys(("viernes", "friday"), 4),
    **dict.fromkeys(("sabado", "saturday"), 5),
    **dict.fromkeys(("domingo", "sunday"), 6),
}


def days_to_weekday(today: date, weekday: int) -> int:
    """Days from ``today`` to the next ``weekday`` (a ``WEEKDAYS`` number): one named on its own day is next week's."""
    return (weekday - today.weekday()) % 7 or 7


# Short, frequent words that tell Spanish from English in customer messages.
_ES_HINTS = frozenset(
    {
        # "a" is Spanish too ("a las 5", "a cuenta"): it counts for both languages, so it decides nothing.
        "a",
        "hacen",
        "dan",
        "venden",
        "aceptan",
        "manejan",
        "descuento",
        "hola",
        "buenas",
        "buenos",
        "dias",
        "tardes",
        "noches",
        "quiero",
        "quisiera",
        "busco",
        "tienen",
        "tiene",
        "hay",
        "cuanto",
        "cuanta",
        "cuesta",
        "precio",
        "precios",
        "carro",
        "carros",
        "coche",
        "auto",
        "autos",
        "camioneta",
        "de",
        "del",
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "unos",
        "unas",
        "con",
        "sin",
        "para",
        "por",
        "que",
        "cual",
        "cuales",
        "donde",
        "como",
        "cuando",
        "menos",
        "mas",
        "mil",
        "meses",
        "anos",
        "ano",
        "enganche",
        "mensualidad",
        "credito",
        "financiamiento",
        "gracias",
        "ayuda",
        "horario",
        "horarios",
        "sucursal",
        "asesor",
        "persona",
        "humano",
        "necesito",
        "puedo",
        "me",
        "mi",
        "es",
        "son",
        "y",
        "o",
        "pero",
        "si",
        "no",
        "favor",
        "garantia",
        "devolucion",
        "documentos",
        "requisitos",
        "usted",
        "ustedes",
        "estan",
        "esta",
        "dame",
        "muestrame",
        "ensename",
        "enseñame",
        "otro",
        "otra",
        "segundo",
        "primero",
        "tercero",
        "barato",
        "baratos",
        "mejor",
        "plazo",
        "tasa",
        "pago",
        "pagos",
        "quedaria",
    }
)
_EN_HINTS = frozenset(
    {
        "hi",
        "hello",
        "hey",
        "good",
        "morning",
        "afternoon",
        "evening",
        "want",
        "would",
        "like",
        "looking",
        "have",
        "has",
        "how",
        "much",
        "price",
        "prices",
        "car",
        "cars",
        "truck",
        "the",
        "a",
        "an",
        "of",
        "with",
        "without",
        "for",
        "what",
        "which",
        "where",
        "when",
        "less",
        "more",
        "under",
        "over",
        "than",
        "thousand",
        "months",
        "years",
        "year",
        "down",
        "payment",
        "credit",
        "financing",
        "finance",
        "loan",
        "thanks",
        "thank",
        "help",
        "hours",
        "branch",
        "agent",
        "person",
        "human",
        "need",
        "can",
        "my",
        "is",
        "are",
        "and",
        "or",
        "but",
        "yes",
        "no",
        "please",
        "warranty",
        "return",
        "returns",
        "documents",
        "requirements",
        "you",
        "show",
        "me",
        "another",
        "second",
        "first",
        "third",
        "cheap",
        "cheaper",
        "cheapest",
        "best",
        "term",
        "rate",
        "monthly",
        "your",
        "do",
        "does",
        "sell",
        "buy",
        "there",
        "any",
        "open",
        "located",
        "about",
        "trade",
        "drive",
        "test",
    }
)


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents, keeping ñ (it changes meaning in Spanish: año/ano)."""
    # A turn folds the same catalog, knowledge and wording strings over a hundred times: plain ASCII needs
    # only lower(), and the rest is remembered (the decomposition walks every character).
    if text.isascii() and "\x00" not in text:
        return text.lower()
    return _fold_unicode(text)


@lru_cache(maxsize=16_384)
def _fold_unicode(text: str) -> str:
    text = text.lower().replace("ñ", "\x00")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("\x00", "ñ")


def words(text: str) -> list[str]:
    """Folded word tokens of ``text``."""
    return _WORD.findall(fold(text))


def detect_language(text: str, default: Language = "es") -> Language:
    """Guess whether ``text`` is Spanish or English from frequent words; ``default`` on a tie."""
    tokens = words(text)
    if any(ch in text for ch in "¿¡ñáéíóú"):
        return "es"
    es = sum(1 for t in tokens if t in _ES_HINTS)
    en = sum(1 for t in tokens if t in _EN_HINTS)
    if es > en:
        return "es"
    if en > es:
        return "en"
    return default


def known_words(text: str) -> list[str]:
    """Words of ``text`` that are frequent Spanish or English words (empty for "asdfgh qwerty" or an emoji)."""
    return [t for t in words(text) if t in _ES_HINTS or t in _EN_HINTS]
