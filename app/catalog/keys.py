"""Matching keys: how names and attribute values of the catalogue are compared ("CX-5" = "cx5", "Sí" = "yes")."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from app.catalog.lexicon import NO_WORDS, VALUE_SYNONYMS, YES_WORDS
from app.text.normalize import fold

_NON_KEY = re.compile(r"[^a-z0-9ñ]+")


def name_key(text: str) -> str:
    """Folded, punctuation-free matching key: "CX-5" -> "cx5", "Mercedes-Benz" -> "mercedesbenz"."""
    return _NON_KEY.sub("", fold(text))


def value_key(value: Any) -> str:
    """Comparison key for an attribute value: folded, yes/no and synonyms unified, "" when empty."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "si" if value else "no"
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        if float(value).is_integer():
            return str(int(value))
    key = name_key(str(value))
    if key in YES_WORDS:
        return "si"
    if key in NO_WORDS:
        return "no"
    return VALUE_SYNONYMS.get(key, key)


def display_value(value: Any) -> str:
    """How a cell is shown and compared as text: booleans as "Sí"/"No"."""
    if isinstance(value, bool | np.bool_):
        return "Sí" if value else "No"
    return str(value)


def text_or_none(value: Any) -> str | None:
    """A cell's text, stripped; None when empty or missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None
