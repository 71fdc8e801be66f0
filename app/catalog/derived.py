"""What a car's version (trim) text says about kinds the dealer's CSV has no column for.

Real exports often carry no transmission, fuel or traction column but write it in the version: "Advance CVT",
"Energy TM", "GLI DSG", "XLT Diesel 4x4", "SE Hybrid AWD". When a kind has no column of its own, its value
is read per car from the version with conservative token rules; a version that says nothing (or says two
contradicting things, "TM" and "CVT") leaves the car's value unknown, never guessed. A column the dealer
does have always wins: nothing is derived for a kind it records.

The derived values become ordinary attribute columns of the catalog frame ("Transmisión", "Combustible",
"Tracción"), so searches filter on them and a car's details show them; ``CatalogVocabulary.derived`` tells
them apart from the dealer's own columns (a kind they hold is known only for some cars).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from app.catalog.keys import name_key
from app.catalog.lexicon import KIND_CODES, KIND_COLUMN_NAMES, KIND_VALUE_KEYS, MODEL_BODIES
from app.text.normalize import fold

# Kinds read from the version, and the column each becomes (named so customers' words and labels find it).
DERIVED_COLUMNS: Mapping[str, str] = {
    "transmission": "Transmisión",
    "fuel": "Combustible",
    "traction": "Tracción",
    "body": "Carrocería",
}
# Columns that describe a car without being something a customer asks for by value.
NOT_FEATURE_COLUMNS = frozenset({"image_url"})

MANUAL, AUTOMATIC = "Manual", "Automática"
DIESEL, HYBRID, PLUG_IN, ELECTRIC, GASOLINE = "Diésel", "Híbrido", "Híbrido enchufable", "Eléctrico", "Gasolina"
FOUR_BY_FOUR, AWD, TWO_WHEEL = "4x4", "AWD", "4x2"

# Version tokens (folded, hyphens and "t/a" slashes joined) -> what they say. Only tokens that mean one thing
# in a trim name: "TA"/"TM" (transmisión automática/manual), "CVT", "DSG", "TDI", "4x4"...
_TRANSMISSION_TOKENS: Mapping[str, str] = {
    **dict.fromkeys(("tm", "mt", "estandar", "std", "manual", "mecanica", "mecanico"), MANUAL),
    **dict.fromkeys(
        (
            "ta", "at", "aut", "automatica", "automatico", "automatic", "cvt", "ecvt", "ivt", "xtronic", "dsg",
            "dct", "edc", "tiptronic", "steptronic", "multitronic", "stronic", "geartronic", "powershift",
        ),
        AUTOMATIC,
    ),
}  # fmt: skip
# "Std" is "estándar" (manual) in Mexican exports, except before these ("Std Cab", "Std Range").
_NOT_GEARBOX_AFTER_STD = frozenset({"cab", "cabina", "range", "bed", "roof", "wheelbase"})
# "6MT", "8AT", "7DCT": a gear count before the transmission.
_GEARED = re.compile(r"\d{1,2}(mt|tm|at|ta|dct|dsg|cvt)")
_FUEL_TOKENS: Mapping[str, str] = {
    **dict.fromkeys(("diesel", "turbodiesel", "tdi", "tdci", "crdi", "hdi", "bluehdi", "dci", "d4d", "dsl"), DIESEL),
    **dict.fromkeys(("hybrid", "hibrido", "hibrida", "hev", "ehev", "epower", "ehybrid"), HYBRID),
    **dict.fromkeys(("phev", "plugin", "enchufable"), PLUG_IN),
    **dict.fromkeys(("ev", "bev", "electrico", "electrica", "electric"), ELECTRIC),
    **dict.fromkeys(("gasolina", "gasoline", "petrol", "nafta"), GASOLINE),
}
_TRACTION_TOKENS: Mapping[str, str] = {
    **dict.fromkeys(("4x4", "4wd"), FOUR_BY_FOUR),
    **dict.fromkeys(("awd", "4motion", "quattro", "xdrive", "allgrip", "shawd", "4matic", "alltrac"), AWD),
    **dict.fromkeys(("4x2", "2wd", "fwd", "rwd"), TWO_WHEEL),
}
# Body words of a version ("Doble Cabina SR", "Hatchback Sport", "Sedán Advance"): one word, or two in a row.
_BODY_TOKENS: Mapping[str, str] = {
    **dict.fromkeys(("pickup", "doblecabina", "cabinadoble", "crewcab", "doublecab", "cabinasencilla", "singlecab",
                     "regularcab", "chasiscabina", "pick up", "estacas"), "Pickup"),
    **dict.fromkeys(("hatchback", "hatch", "hb"), "Hatchback"),
    **dict.fromkeys(("sedan",), "Sedán"),
    **dict.fromkeys(("coupe",), "Coupé"),
    **dict.fromkeys(("convertible", "cabrio", "cabriolet", "roadster"), "Convertible"),
    **dict.fromkeys(("minivan", "van"), "Minivan"),
    **dict.fromkeys(("suv", "crossover"), "SUV"),
}  # fmt: skip
_TOKENS_BY_KIND: Mapping[str, Mapping[str, str]] = {
    "transmission": _TRANSMISSION_TOKENS,
    "fuel": _FUEL_TOKENS,
    "traction": _TRACTION_TOKENS,
}

_SLASHED = re.compile(r"\b([a-z])\s*/\s*([a-z])\b")  # "T/A", "t/m"
_JOINED = re.compile(r"(?<=[a-z0-9])[-:](?=[a-z0-9])")  # "e-Power", "Plug-in", "e:HEV", "D-4D"
_BY = re.compile(r"\b([24])\s*x\s*([24])\b")  # "4 x 4"
_WORD = re.compile(r"[a-z0-9ñ]+")


def version_tokens(version: str) -> list[str]:
    """Folded words of a version with the trim spellings joined: "T/A" -> "ta", "e-Power" -> "epower"."""
    t = fold(version)
    t = _SLASHED.sub(r"\1\2", t)
    t = _BY.sub(r"\1x\2", t)
    t = _JOINED.sub("", t)
    t = re.sub(r"\bplug\s+in\b", "plugin", t)
    return _WORD.findall(t)


def _transmission(tokens: Sequence[str]) -> str | None:
    found = set()
    for i, token in enumerate(tokens):
        geared = _GEARED.fullmatch(token)
        word = geared.group(1) if geared else token
        if word == "std" and tokens[i + 1 : i + 2] and tokens[i + 1] in _NOT_GEARBOX_AFTER_STD:
            continue  # "Std Cab", "Std Range": the standard cab or battery, not the gearbox
        if word in _TRANSMISSION_TOKENS:
            found.add(_TRANSMISSION_TOKENS[word])
    return next(iter(found)) if len(found) == 1 else None


def _fuel(tokens: Sequence[str]) -> str | None:
    found = {_FUEL_TOKENS[t] for t in tokens if t in _FUEL_TOKENS}
    if PLUG_IN in found:
        return PLUG_IN if DIESEL not in found else None  # "Plug-in Hybrid", "PHEV"
    if HYBRID in found:
        found -= {GASOLINE, ELECTRIC}  # "Hybrid gasolina", "e:HEV": a hybrid
    return next(iter(found)) if len(found) == 1 else None


def _traction(tokens: Sequence[str]) -> str | None:
    found = {_TRACTION_TOKENS[t] for t in tokens if t in _TRACTION_TOKENS}
    return next(iter(found)) if len(found) == 1 else None


def _body(tokens: Sequence[str]) -> str | None:
    pairs = [a + b for a, b in itertools.pairwise(tokens)]
    found = {_BODY_TOKENS[t] for t in (*tokens, *pairs) if t in _BODY_TOKENS}
    return next(iter(found)) if len(found) == 1 else None


def model_body(model: str | None) -> str | None:
    """The body a model comes in when it comes in one only ("Hilux" -> Pickup, "CX-5" -> SUV), else None."""
    return MODEL_BODIES.get(name_key(model)) if model else None


def read_version(version: str | None) -> dict[str, str]:
    """Kind -> value the version states ("XLT Diesel 4x4" -> fuel "Diésel", traction "4x4"); unknown kinds left out."""
    if not version:
        return {}
    tokens = version_tokens(version)
    found = {
        "transmission": _transmission(tokens),
        "fuel": _fuel(tokens),
        "traction": _traction(tokens),
        "body": _body(tokens),
    }
    return {kind: value for kind, value in found.items() if value is not None}


def expand_codes(column: str, values: Sequence[Any]) -> list[Any]:
    """A fuel or transmission column written in codes ("G", "D", "H"; "A", "M") as words; others unchanged.

    Only when the column's name says its kind and every value is one of that kind's codes: a "D" elsewhere
    means whatever the dealer meant by it.
    """
    name = re.sub(r"[^a-z0-9]+", "_", fold(column)).strip("_")
    kind = next((k for k, names in KIND_COLUMN_NAMES.items() if name in names and k in KIND_CODES), None)
    if kind is None:
        return list(values)
    codes = KIND_CODES[kind]
    keys = [fold(v).strip().rstrip(".") if isinstance(v, str) else None for v in values]
    given = [k for k in keys if k]
    if not given or any(k not in codes for k in given):
        return list(values)
    return [codes[k] if k else v for k, v in zip(keys, values, strict=True)]


def recorded_kinds(attribute_values: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Kind -> the dealer's column recording it: by the column's name first, else by a column most of whose
    values are of that kind ("Caja": Automática/Manual). ``attribute_values``: column -> value key -> display."""
    kinds: dict[str, str] = {}
    by_name = {re.sub(r"[^a-z0-9]+", "_", fold(c)).strip("_"): c for c in attribute_values}
    for kind, names in KIND_COLUMN_NAMES.items():
        column = next((by_name[n] for n in names if n in by_name), None)
        if column is not None and column not in kinds.values():
            kinds[kind] = column
    for kind, known in KIND_VALUE_KEYS.items():
        if kind in kinds:
            continue
        for column, values in attribute_values.items():
            keys = [k for k in values if k not in ("si", "no")]
            if column in kinds.values() or column in NOT_FEATURE_COLUMNS or not keys:
                continue
            hits = sum(1 for k in keys if k in known or any(w in known for w in _WORD.findall(fold(values[k]))))
            if hits * 2 > len(keys):
                kinds[kind] = column
                break
    return kinds


def derive_columns(
    versions: Sequence[str | None],
    attribute_values: Mapping[str, Mapping[str, str]],
    models: Sequence[str | None] | None = None,
) -> dict[str, tuple[str, list[str | None]]]:
    """Kind -> (column name, value per car) for each kind no dealer column records and some version states.

    Each distinct version is read once (a 50,000-car stock has a few hundred). A kind no version states gets no
    column: the catalogue then does not record it at all, and says so. The body is also known from a model that
    comes in one body only (``models``, per car): the version's word wins when it says one.
    """
    recorded = recorded_kinds(attribute_values)
    wanted = [kind for kind in DERIVED_COLUMNS if kind not in recorded]
    if not wanted:
        return {}
    taken = {fold(c).strip() for c in attribute_values}
    read: dict[str | None, dict[str, str]] = {}
    for version in versions:
        if version not in read:
            read[version] = read_version(version)
    out: dict[str, tuple[str, list[str | None]]] = {}
    for kind in wanted:
        column = DERIVED_COLUMNS[kind]
        values: list[str | None] = [read[v].get(kind) for v in versions]
        if kind == "body" and models is not None:
            bodies = {model: model_body(model) for model in set(models)}  # each distinct model once, as versions
            values = [value or bodies[model] for value, model in zip(values, models, strict=True)]
        if fold(column).strip() in taken or not any(values):
            continue
        out[kind] = (column, values)
    return out
