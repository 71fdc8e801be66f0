"""Vectorised catalog search over a dealer's stock held in a pandas DataFrame."""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from app.text.normalize import fold

SortOrder = Literal["relevance", "price_asc", "price_desc", "year_desc", "km_asc"]

CORE_COLUMNS: tuple[str, ...] = ("stock_id", "make", "model", "year", "price", "km", "version")
KEY_SUFFIX = "__key"

# Relaxed budgets may exceed the customer's price_max by at most this factor.
PRICE_RELAX_FACTOR = 1.15

FUZZY_CUTOFF = 85.0
# Columns with more distinct values than this are free text (notes, VINs), not features to match.
MAX_DESCRIPTIVE_VALUES = 60
# Value words that are everyday Spanish too ("vino" = came, "plata" = money): only whole values count.
AMBIGUOUS_VALUE_WORDS: frozenset[str] = frozenset({"vino", "plata", "arena", "oro"})
# Fuzzy matching only between reasonably long strings: short words ("the", "mas", "auto")
# are too close to short brand names for edit distance to mean anything.
FUZZY_MIN_TOKEN = 4
FUZZY_MIN_CANDIDATE = 5
# Make names at least this long also match with one letter wrong.
SUBSTITUTION_MIN_LENGTH = 6

_NON_KEY = re.compile(r"[^a-z0-9ñ]+")

# Words customers use all the time that must never be read as a make or model.
STOPWORDS: frozenset[str] = frozenset(
    {
        "a",
        "al",
        "algo",
        "alguna",
        "alguno",
        "and",
        "anos",
        "ano",
        "años",
        "año",
        "any",
        "are",
        "as",
        "at",
        "auto",
        "autos",
        "automovil",
        "automoviles",
        "barato",
        "baratos",
        "bien",
        "buen",
        "bueno",
        "buenas",
        "buenos",
        "busco",
        "buscando",
        "but",
        "by",
        "camioneta",
        "camionetas",
        "car",
        "carro",
        "carros",
        "cars",
        "cash",
        "coche",
        "coches",
        "como",
        "con",
        "cual",
        "cuales",
        "cuanto",
        "cuesta",
        "de",
        "del",
        "desde",
        "dia",
        "dias",
        "do",
        "does",
        "donde",
        "el",
        "en",
        "entre",
        "es",
        "esa",
        "ese",
        "esta",
        "este",
        "esto",
        "estos",
        "for",
        "from",
        "gracias",
        "hay",
        "have",
        "hasta",
        "hola",
        "how",
        "in",
        "info",
        "is",
        "it",
        "km",
        "kms",
        "la",
        "las",
        "le",
        "lo",
        "los",
        "mas",
        "me",
        "menos",
        "mi",
        "mil",
        "miles",
        "millas",
        "modelo",
        "modelos",
        "more",
        "most",
        "muy",
        "my",
        "no",
        "nos",
        "nuevo",
        "nuevos",
        "o",
        "of",
        "on",
        "onda",
        "or",
        "otro",
        "otra",
        "para",
        "pero",
        "por",
        "precio",
        "precios",
        "que",
        "quiero",
        "quisiera",
        "seats",
        "see",
        "sedan",
        "sedanes",
        "ser",
        "show",
        "si",
        "sin",
        "some",
        "su",
        "tal",
        "tambien",
        "tener",
        "tengo",
        "that",
        "the",
        "them",
        "there",
        "these",
        "they",
        "this",
        "tienen",
        "tiene",
        "to",
        "truck",
        "tu",
        "un",
        "una",
        "uno",
        "unos",
        "unas",
        "usado",
        "usados",
        "vehiculo",
        "vehiculos",
        "want",
        "what",
        "which",
        "with",
        "ya",
        "year",
        "years",
        "yes",
        "you",
        "your",
    }
)

# Model names that are also everyday words: only matched right after their make.
GENERIC_MODEL_KEYS: frozenset[str] = frozenset(
    {
        "sedan",
        "city",
        "fit",
        "pilot",
        "note",
        "one",
        "up",
        "sport",
        "life",
        "beat",
        "edge",
        "escape",
        "journey",
        "kicks",
        "march",
        "coupe",
        "van",
        "wagon",
        "classic",
        "clasico",
        "cabrio",
        "hatchback",
    }
)

# alias key -> canonical make key (only used when that make is in stock).
MAKE_ALIASES: Mapping[str, str] = {
    "vw": "volkswagen",
    "volks": "volkswagen",
    "volkswagon": "volkswagen",
    "wolkswagen": "volkswagen",
    "bolkswagen": "volkswagen",
    "chevy": "chevrolet",
    "chevi": "chevrolet",
    "mercedes": "mercedesbenz",
    "mercedez": "mercedesbenz",
    "mercedezbenz": "mercedesbenz",
    "benz": "mercedesbenz",
    "masda": "mazda",
    "hunday": "hyundai",
    "jiundai": "hyundai",
    "susuki": "suzuki",
    "renol": "renault",
    "mitsubichi": "mitsubishi",
    "bmv": "bmw",
}

# alias key -> (make key, candidate model keys in order of preference).
MODEL_ALIASES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "vocho": ("volkswagen", ("sedan", "vocho", "sedanclasico", "beetle", "escarabajo")),
    "vochito": ("volkswagen", ("sedan", "vocho", "sedanclasico", "beetle", "escarabajo")),
    "bocho": ("volkswagen", ("sedan", "vocho", "sedanclasico", "beetle", "escarabajo")),
    "beetle": ("volkswagen", ("sedan", "vocho", "sedanclasico", "escarabajo")),
    "escarabajo": ("volkswagen", ("sedan", "vocho", "sedanclasico", "beetle")),
    "jeta": ("volkswagen", ("jetta",)),
    "yeta": ("volkswagen", ("jetta",)),
    "bersa": ("nissan", ("versa",)),
    "centra": ("nissan", ("sentra",)),
    "corola": ("toyota", ("corolla",)),
    "sivic": ("honda", ("civic",)),
}

_YES = frozenset({"si", "sí", "yes", "y", "true", "1", "x", "con", "incluido", "included"})
_NO = frozenset({"no", "n", "false", "0", "sin", "none"})
# Value synonyms so "automatic", "Automático" and "Automática" compare equal.
_VALUE_SYNONYMS: Mapping[str, str] = {
    "automatico": "automatica",
    "automatic": "automatica",
    "auto": "automatica",
    "at": "automatica",
    "estandar": "manual",
    "standard": "manual",
    "std": "manual",
    "mecanica": "manual",
    "mecanico": "manual",
    "mt": "manual",
    "hybrid": "hibrido",
    "hibrida": "hibrido",
    "electric": "electrico",
    "electrica": "electrico",
    "ev": "electrico",
    "gasoline": "gasolina",
    "gas": "gasolina",
    "petrol": "gasolina",
    "hatch": "hatchback",
    "pickuptruck": "pickup",
    "truck": "pickup",
    "sedan4puertas": "sedan",
}


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
    if key in _YES:
        return "si"
    if key in _NO:
        return "no"
    return _VALUE_SYNONYMS.get(key, key)


class CatalogFilters(BaseModel):
    """Catalog search arguments; shared by the rule-based parser and the LLM tool call."""

    model_config = ConfigDict(extra="forbid")

    make: str | None = Field(default=None, description="Car make as listed in the catalog, e.g. 'Volkswagen'.")
    model: str | None = Field(default=None, description="Car model as listed in the catalog, e.g. 'Jetta'.")
    year_min: int | None = Field(default=None, ge=1900, le=2100, description="Oldest model year wanted.")
    year_max: int | None = Field(default=None, ge=1900, le=2100, description="Newest model year wanted.")
    price_min: float | None = Field(default=None, ge=0, description="Minimum price in the catalog currency.")
    price_max: float | None = Field(default=None, ge=0, description="Maximum price (budget) in the catalog currency.")
    km_max: int | None = Field(default=None, ge=0, description="Maximum mileage in kilometres.")
    features: dict[str, str] = Field(
        default_factory=dict,
        description="Extra catalog column -> wanted value, e.g. {'transmission': 'Automática'}.",
    )
    sort: SortOrder = Field(default="relevance", description="Result order; relevance = newest then cheapest.")
    limit: int = Field(default=3, ge=1, le=10, description="How many cars to return (1-10).")
    exclude_ids: list[str] = Field(default_factory=list, description="Stock ids already shown, to skip.")

    @field_validator("features", mode="before")
    @classmethod
    def _stringify_feature_values(cls, value: Any) -> Any:
        # Tool calls often send {"carplay": true}; the catalog compares text, so accept it as "Sí".
        if isinstance(value, Mapping):
            return {k: _display_value(v) if isinstance(v, bool | int | float) else v for k, v in value.items()}
        return value

    @field_validator("make", "model")
    @classmethod
    def _blank_to_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    @model_validator(mode="after")
    def _order_ranges(self) -> CatalogFilters:
        # LLM tool calls sometimes send min/max swapped; swapping is kinder than failing.
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            self.year_min, self.year_max = self.year_max, self.year_min
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            self.price_min, self.price_max = self.price_max, self.price_min
        return self


class CarCard(BaseModel):
    """One car as shown to the customer."""

    stock_id: str
    make: str
    model: str
    year: int
    price: float
    km: int | None = None
    version: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class CatalogResult(BaseModel):
    """Search outcome: the cards to show, how many matched and what had to be relaxed."""

    items: list[CarCard]
    total: int = Field(description="Matches before the limit was applied.")
    relaxed: list[str] = Field(
        default_factory=list, description="Filter fields dropped or widened to find alternatives; empty if exact."
    )
    unknown_features: list[str] = Field(
        default_factory=list, description="Requested feature columns the catalog does not have (ignored)."
    )
    applied: CatalogFilters = Field(description="Filters actually used, after canonicalisation and relaxation.")


def _text_or_none(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _clean_attribute(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _key_categorical(values: pd.Series, key_fn: Any) -> pd.Categorical:
    # Fold each distinct value once instead of once per row.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    keys = np.array([key_fn(u) for u in uniques] + [""], dtype=object)
    return pd.Categorical(keys[codes])


def attribute_columns(df: pd.DataFrame) -> list[str]:
    """Extra (attribute) columns of a catalog frame, in catalog order."""
    helpers = {"make_key", "model_key"}
    return [
        str(c) for c in df.columns if c not in CORE_COLUMNS and c not in helpers and not str(c).endswith(KEY_SUFFIX)
    ]


def build_catalog_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Typed catalog frame with matching-key helper columns and attributes expanded into columns."""
    stock_ids: list[str] = []
    makes: list[str] = []
    models: list[str] = []
    years: list[int] = []
    prices: list[float] = []
    kms: list[int | None] = []
    versions: list[str | None] = []
    attributes: list[Mapping[str, Any]] = []
    for row in rows:
        stock_ids.append(str(row["stock_id"]).strip())
        makes.append(str(row["make"]).strip())
        models.append(str(row["model"]).strip())
        years.append(int(row["year"]))
        prices.append(float(row["price"]))
        km = row.get("km")
        kms.append(None if km is None or (isinstance(km, float) and math.isnan(km)) else int(km))
        versions.append(_text_or_none(row.get("version")))
        attributes.append(row.get("attributes") or {})

    reserved = {*CORE_COLUMNS, "make_key", "model_key"}
    attr_names: dict[str, str] = {}
    for attrs in attributes:
        for name in attrs:
            if name not in attr_names:
                column = str(name).strip()
                # Attribute names must not shadow the typed core columns or helper columns.
                if column in reserved or column.endswith(KEY_SUFFIX):
                    column = f"attr_{column}"
                attr_names[name] = column

    data: dict[str, Any] = {
        "stock_id": pd.Series(stock_ids, dtype="str"),
        "make": pd.Series(makes, dtype="str"),
        "model": pd.Series(models, dtype="str"),
        "year": pd.Series(years, dtype="int64"),
        "price": pd.Series(prices, dtype="float64"),
        "km": pd.Series(pd.array(kms, dtype="Int64")),
        "version": pd.Series(versions, dtype=object),
    }
    for name, column in attr_names.items():
        data[column] = pd.Series([_clean_attribute(a.get(name)) for a in attributes], dtype=object)
    df = pd.DataFrame(data)
    df["make_key"] = _key_categorical(df["make"], name_key)
    df["model_key"] = _key_categorical(df["model"], name_key)
    for column in attr_names.values():
        df[column + KEY_SUFFIX] = _key_categorical(df[column], value_key)
    _columns(df)  # the search arrays too, here (off the event loop in load_catalog) rather than on first use
    return df


def _is_numeric(key: str) -> bool:
    return key.isdigit()


def _needs_make_context(model_key: str) -> bool:
    """Model keys that only count as a model right after their make ("Mazda 3", "VW Sedan")."""
    return _is_numeric(model_key) or model_key in GENERIC_MODEL_KEYS or (model_key.isalpha() and len(model_key) < 3)


@dataclass
class CatalogVocabulary:
    """Canonical makes, models and attribute values of one catalog frame, with alias/typo lookup."""

    makes: dict[str, str] = field(default_factory=dict)
    models: dict[str, dict[str, str]] = field(default_factory=dict)
    model_makes: dict[str, list[str]] = field(default_factory=dict)
    attribute_columns: dict[str, str] = field(default_factory=dict)
    attribute_values: dict[str, dict[str, str]] = field(default_factory=dict)
    # Words naming a value of a descriptive column ("rojo" -> ("color", "Rojo")) and the names of
    # yes/no columns ("gps" -> "gps"): features come from the dealer's own columns, not a fixed list.
    value_words: dict[str, tuple[str, str]] = field(default_factory=dict)
    flag_words: dict[str, str] = field(default_factory=dict)
    _make_choices: list[str] = field(default_factory=list)
    _free_model_choices: list[str] = field(default_factory=list)
    _column_lookups: dict[tuple[str, ...], str | None] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> CatalogVocabulary:
        """Collect canonical names from a frame made by ``build_catalog_frame`` (a few ms for 50k rows)."""
        vocab = cls()
        make_cats = [str(c) for c in df["make_key"].cat.categories]
        model_cats = [str(c) for c in df["model_key"].cat.categories]
        make_codes = df["make_key"].cat.codes.to_numpy(dtype=np.int64)
        model_codes = df["model_key"].cat.codes.to_numpy(dtype=np.int64)
        pairs = make_codes * (len(model_cats) + 1) + model_codes
        _, first, counts = np.unique(pairs, return_index=True, return_counts=True)
        make_names = df["make"].to_numpy(dtype=object)
        model_names = df["model"].to_numpy(dtype=object)
        for j in np.argsort(-counts, kind="stable"):  # most stocked first
            row = int(first[j])
            make_key, model_key = make_cats[make_codes[row]], model_cats[model_codes[row]]
            if not make_key or not model_key:
                continue
            vocab.makes.setdefault(make_key, str(make_names[row]))
            vocab.models.setdefault(make_key, {}).setdefault(model_key, str(model_names[row]))
            owners = vocab.model_makes.setdefault(model_key, [])
            if make_key not in owners:
                owners.append(make_key)
        for column in attribute_columns(df):
            vocab.attribute_columns[name_key(column)] = column
            key_cats = [str(c) for c in df[column + KEY_SUFFIX].cat.categories]
            codes = df[column + KEY_SUFFIX].cat.codes.to_numpy(dtype=np.int64)
            uniq, first_rows = np.unique(codes, return_index=True)
            raw = df[column].to_numpy(dtype=object)
            vocab.attribute_values[column] = {
                key_cats[code]: _display_value(raw[row])
                for code, row in zip(uniq, first_rows, strict=True)
                if key_cats[code]
            }
        vocab._index_feature_words()
        make_choices = set(vocab.makes) | {a for a, target in MAKE_ALIASES.items() if target in vocab.makes}
        vocab._make_choices = sorted(k for k in make_choices if len(k) >= FUZZY_MIN_CANDIDATE)
        vocab._free_model_choices = sorted(
            k for k in vocab.model_makes if len(k) >= FUZZY_MIN_CANDIDATE and k.isalpha() and not _needs_make_context(k)
        )
        return vocab

    def _index_feature_words(self) -> None:
        names = set(self.makes) | set(self.model_makes) | set(MAKE_ALIASES) | set(MODEL_ALIASES)
        exact: dict[str, set[tuple[str, str]]] = {}
        partial: dict[str, set[tuple[str, str]]] = {}
        for column, values in self.attribute_values.items():
            keys = set(values)
            if not keys or len(keys) > MAX_DESCRIPTIVE_VALUES:
                continue
            if keys <= {"si", "no"}:
                for phrase in (column, column.replace("_", " ")):
                    key = name_key(phrase)
                    if len(key) >= 2 and key not in STOPWORDS and key not in names:
                        self.flag_words.setdefault(key, column)
                continue
            if all(k.isdigit() for k in keys):
                continue  # counts ("owners": 1, 2, 3) are not something customers name in words
            for key, display in values.items():
                if key in ("si", "no") or key.isdigit():
                    continue
                for form in _word_forms(key):
                    if key not in AMBIGUOUS_VALUE_WORDS:
                        exact.setdefault(form, set()).add((column, display))
                    # "color vino", "transmisión manual": the column's name makes any value unambiguous.
                    exact.setdefault(name_key(column) + form, set()).add((column, display))
                words = [w for w in re.findall(r"[a-z0-9ñ]+", fold(display)) if len(w) >= 3]
                if len(words) > 1:
                    for word in words:
                        if word in AMBIGUOUS_VALUE_WORDS:
                            continue
                        for form in _word_forms(word):
                            # The word itself as the value: search matches every value containing it.
                            partial.setdefault(form, set()).add((column, word.capitalize()))
        for word, hits in partial.items():
            if word not in exact and len({column for column, _ in hits}) == 1:
                exact[word] = {(next(iter(hits))[0], _shortest_word(hits))}
        for word, hits in exact.items():
            # A word naming values of two columns, or a make, model or everyday word, is evidence of neither.
            if len(hits) == 1 and len(word) >= 3 and word not in STOPWORDS and word not in names:
                self.value_words[word] = next(iter(hits))

    def match_make(self, token_or_phrase: str) -> str | None:
        """Catalog make for a word or phrase ("vw", "toyta", "Mercedes Benz"), else None."""
        return _lookup_make(token_or_phrase, self.makes, self._make_choices)

    def match_any_make(self, token_or_phrase: str) -> str | None:
        """Catalog make, else a well-known make that is simply not in stock ("BMW"), else None."""
        return self.match_make(token_or_phrase) or _lookup_make(token_or_phrase, _KNOWN_MAKES, _KNOWN_CHOICES)

    def match_model(self, phrase: str, make: str | None = None) -> tuple[str, str] | None:
        """(make, model) for a model phrase ("jeta", "cx 5", "mazda3", "vocho"), optionally within ``make``."""
        key = name_key(phrase)
        if not key:
            return None
        make_key = name_key(make) if make else None
        if make_key is not None and make_key not in self.makes:
            canonical = self.match_make(make_key)
            if canonical is None:
                return None  # that make is not in stock, so neither is any of its models
            make_key = name_key(canonical)
        tokens = split_make_digits(re.findall(r"[a-z0-9ñ]+", fold(phrase)), self)
        hit = self._model_lookup(key, make_key, allow_context=make_key is not None, one_word=len(tokens) == 1)
        if hit is not None:
            return hit
        # "vw jetta", "mazda 3", "mazda3": a make prefix gives the context on its own.
        for n in (2, 1):
            if len(tokens) > n:
                prefix = self.match_make(" ".join(tokens[:n]))
                if prefix is not None and (make_key is None or name_key(prefix) == make_key):
                    rest = "".join(tokens[n:])
                    found = self._model_lookup(
                        rest, name_key(prefix), allow_context=True, one_word=len(tokens) == n + 1
                    )
                    if found is not None:
                        return found
        return None

    def _model_lookup(
        self, key: str, make_key: str | None, allow_context: bool, one_word: bool = False
    ) -> tuple[str, str] | None:
        if make_key is None and key in STOPWORDS:
            return None
        candidates = [key]
        if key.endswith("s") and len(key) > 3 and key not in STOPWORDS:
            candidates.append(key[:-1])
        for cand in candidates:
            found = self._exact_model(cand, make_key, allow_context)
            if found is not None:
                return found
        alias = MODEL_ALIASES.get(key)
        if alias is not None:
            alias_make, targets = alias
            if (make_key is None or make_key == alias_make) and alias_make in self.models:
                for target in targets:
                    if target in self.models[alias_make]:
                        return self.makes[alias_make], self.models[alias_make][target]
        if not _fuzzy_ok(key):
            return None
        if make_key is not None:
            choices = [k for k in self.models.get(make_key, {}) if len(k) >= FUZZY_MIN_CANDIDATE and k.isalpha()]
        else:
            choices = self._free_model_choices
        hit = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if hit is None and make_key is not None and one_word and len(key) >= FUZZY_MIN_CANDIDATE:
            # After its make ("hyundai tuczon") one wrong letter in a word is a typo. Not across words:
            # in "clase e" the one letter is the whole difference from "Clase A".
            near = _one_edit(key, choices)
            return self._exact_model(near, make_key, allow_context=True) if near is not None else None
        if hit is not None:
            return self._exact_model(hit[0], make_key, allow_context=True)
        return None

    def _exact_model(self, key: str, make_key: str | None, allow_context: bool) -> tuple[str, str] | None:
        if make_key is not None:
            model = self.models.get(make_key, {}).get(key)
            return (self.makes[make_key], model) if model is not None else None
        owners = self.model_makes.get(key)
        if not owners or (not allow_context and _needs_make_context(key)):
            return None
        owner = owners[0]
        return self.makes[owner], self.models[owner][key]

    def feature_column(self, *names: str) -> str | None:
        """First attribute column whose folded name is one of ``names``."""
        if names in self._column_lookups:  # the parser asks the same few questions every message
            return self._column_lookups[names]
        found = next((c for c in (self.attribute_columns.get(name_key(n)) for n in names) if c is not None), None)
        self._column_lookups[names] = found
        return found

    def feature_value(self, column: str, wanted_key: str, default: str) -> str:
        """Catalog spelling of a value for ``column`` (e.g. "automatica" -> "Automática")."""
        return self.attribute_values.get(column, {}).get(wanted_key, default)


# Makes a customer may ask for even when none is in stock, so the reply can say so.
_KNOWN_MAKES: dict[str, str] = {
    name_key(name): name
    for name in (
        "Acura",
        "Alfa Romeo",
        "Audi",
        "BAIC",
        "BMW",
        "Buick",
        "BYD",
        "Cadillac",
        "Changan",
        "Chevrolet",
        "Chirey",
        "Chrysler",
        "Cupra",
        "Dodge",
        "Fiat",
        "Ford",
        "GMC",
        "Great Wall",
        "Haval",
        "Honda",
        "Hyundai",
        "Infiniti",
        "Isuzu",
        "JAC",
        "Jaguar",
        "Jeep",
        "Jetour",
        "Kia",
        "Land Rover",
        "Lexus",
        "Lincoln",
        "Mazda",
        "Mercedes-Benz",
        "MG",
        "MINI",
        "Mitsubishi",
        "Nissan",
        "Omoda",
        "Peugeot",
        "Porsche",
        "RAM",
        "Renault",
        "Seat",
        "Subaru",
        "Suzuki",
        "Tesla",
        "Toyota",
        "Volkswagen",
        "Volvo",
        "Ferrari",
        "Lamborghini",
        "Maserati",
        "Bentley",
        "Rolls-Royce",
        "McLaren",
        "Bugatti",
        "Aston Martin",
        "Lotus",
        "Genesis",
        "Polestar",
        "Rivian",
        "Lucid",
        "Hummer",
        "Pontiac",
        "Saab",
        "Daewoo",
        "Opel",
        "Skoda",
        "Citroën",
        "Geely",
        "Chery",
        "GAC",
        "Foton",
        "Mercury",
        "Datsun",
        "Mahindra",
        "Zeekr",
        "Xpeng",
        "Leapmotor",
    )
}
_KNOWN_CHOICES: list[str] = sorted(k for k in {*_KNOWN_MAKES, *MAKE_ALIASES} if len(k) >= FUZZY_MIN_CANDIDATE)


def _lookup_make(phrase: str, makes: Mapping[str, str], fuzzy_choices: Sequence[str]) -> str | None:
    key = name_key(phrase)
    if not key or key in STOPWORDS:
        return None

    def exact(k: str) -> str | None:
        if k in makes:
            return makes[k]
        target = MAKE_ALIASES.get(k)
        return makes.get(target) if target is not None else None

    canonical = exact(key)
    if canonical is None and key.endswith("s") and len(key) > 3:
        canonical = exact(key[:-1])  # plural: "kias", "fords"
    if canonical is None and _fuzzy_ok(key):
        hit = process.extractOne(key, fuzzy_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if hit is None and len(key) >= SUBSTITUTION_MIN_LENGTH:
            # One wrong letter ("toyoya") scores only 83 on ratio for a six-letter name; long make names
            # have no everyday words one letter away, so one edit is enough there.
            near = _one_edit(key, fuzzy_choices)
            canonical = exact(near) if near is not None else None
        elif hit is not None:
            canonical = exact(hit[0])
    return canonical


def _one_edit(key: str, choices: Iterable[str]) -> str | None:
    """The first choice one letter (inserted, dropped or changed) away from ``key``, else None."""
    return next((c for c in choices if Levenshtein.distance(key, c, score_cutoff=1) <= 1), None)


def _display_value(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "Sí" if value else "No"
    return str(value)


def _fuzzy_ok(key: str) -> bool:
    return len(key) >= FUZZY_MIN_TOKEN and key.isalpha() and key not in STOPWORDS


# Colour names across the two languages, so "red" finds "Rojo" and "blanco" finds "White".
_COLOUR_PAIRS: tuple[tuple[str, str], ...] = (
    ("rojo", "red"),
    ("blanco", "white"),
    ("negro", "black"),
    ("gris", "gray"),
    ("gris", "grey"),
    ("plata", "silver"),
    ("azul", "blue"),
    ("verde", "green"),
    ("amarillo", "yellow"),
    ("naranja", "orange"),
    ("cafe", "brown"),
    ("dorado", "gold"),
    ("beige", "beige"),
    ("morado", "purple"),
    ("vino", "burgundy"),
)
_TRANSLATIONS: dict[str, set[str]] = {}
for _es, _en in _COLOUR_PAIRS:
    _TRANSLATIONS.setdefault(_es, set()).add(_en)
    _TRANSLATIONS.setdefault(_en, set()).add(_es)


def _inflections(key: str) -> set[str]:
    """Spanish/English forms of a value word: "rojo" -> rojo, roja, rojos, rojas; "azul" -> azules."""
    forms = {key}
    if key.isalpha():
        if key[-1] in "oa":
            stem = key[:-1]
            forms |= {stem + "o", stem + "a", stem + "os", stem + "as"}
        elif key[-1] in "lrnzd":
            forms |= {key + "es", key + "s"}
        else:
            forms.add(key + "s")
    return forms


def _word_forms(key: str) -> set[str]:
    """A value word's inflections and its translation ("rojo" -> roja, rojos, red, reds...)."""
    forms = _inflections(key)
    for other in _TRANSLATIONS.get(key, ()):
        forms |= {other, other + "s"}
    return forms


def _shortest_word(hits: set[tuple[str, str]]) -> str:
    return min((value for _, value in hits), key=lambda v: (len(v), v))


def split_make_digits(tokens: Sequence[str], vocab: CatalogVocabulary) -> list[str]:
    """Split "mazda3" into "mazda", "3" when the letters are a make; "cx5" stays whole."""
    out: list[str] = []
    for token in tokens:
        m = re.fullmatch(r"([a-zñ]{2,})([0-9]+)", token)
        if m and vocab.match_make(m.group(1)) is not None:
            out.extend([m.group(1), m.group(2)])
        else:
            out.append(token)
    return out


# --------------------------------------------------------------------------- search


@dataclass(frozen=True)
class _Columns:
    """A catalog frame's columns as plain numpy arrays, made once per frame: searches never touch pandas."""

    n: int
    stock_id: npt.NDArray[np.object_]
    make: npt.NDArray[np.object_]
    model: npt.NDArray[np.object_]
    version: npt.NDArray[np.object_]
    year: npt.NDArray[np.int64]
    year_f: npt.NDArray[np.float64]
    price: npt.NDArray[np.float64]
    km: npt.NDArray[np.float64]  # NaN when unknown
    km_filled: npt.NDArray[np.float64]  # +inf when unknown: never within a km limit, last in km order
    make_codes: npt.NDArray[np.int64]
    make_index: dict[str, int]
    model_codes: npt.NDArray[np.int64]
    model_index: dict[str, int]
    attributes: list[str]
    by_key: dict[str, str]
    raw: dict[str, npt.NDArray[np.object_]]
    codes: dict[str, npt.NDArray[np.int64]]
    index: dict[str, dict[str, int]]
    position: dict[str, int]


_COLUMNS: dict[int, tuple[weakref.ref[pd.DataFrame], _Columns]] = {}


def _categorical(series: pd.Series) -> tuple[npt.NDArray[np.int64], dict[str, int]]:
    codes: npt.NDArray[np.int64] = np.asarray(series.cat.codes.to_numpy(), dtype=np.int64)
    return codes, {str(c): i for i, c in enumerate(series.cat.categories)}


def _columns(df: pd.DataFrame) -> _Columns:
    """The arrays of ``df`` (cached while the frame lives; catalog frames are not modified after building)."""
    cached = _COLUMNS.get(id(df))
    if cached is not None and cached[0]() is df and cached[1].n == len(df):
        return cached[1]
    km = df["km"].to_numpy(dtype="float64", na_value=np.nan)
    year = df["year"].to_numpy(dtype="int64")
    make_codes, make_index = _categorical(df["make_key"])
    model_codes, model_index = _categorical(df["model_key"])
    attributes = attribute_columns(df)
    codes: dict[str, npt.NDArray[np.int64]] = {}
    index: dict[str, dict[str, int]] = {}
    for column in attributes:
        codes[column], index[column] = _categorical(df[column + KEY_SUFFIX])
    stock_id = df["stock_id"].to_numpy(dtype=object)
    columns = _Columns(
        n=len(df),
        stock_id=stock_id,
        make=df["make"].to_numpy(dtype=object),
        model=df["model"].to_numpy(dtype=object),
        version=df["version"].to_numpy(dtype=object),
        year=year,
        year_f=year.astype("float64"),
        price=df["price"].to_numpy(dtype="float64"),
        km=km,
        km_filled=np.nan_to_num(km, nan=np.inf),
        make_codes=make_codes,
        make_index=make_index,
        model_codes=model_codes,
        model_index=model_index,
        attributes=attributes,
        by_key={name_key(c): c for c in attributes},
        raw={c: df[c].to_numpy(dtype=object) for c in attributes},
        codes=codes,
        index=index,
        position={str(sid): i for i, sid in enumerate(stock_id)},
    )
    key = id(df)
    _COLUMNS[key] = (weakref.ref(df), columns)
    weakref.finalize(df, _COLUMNS.pop, key, None)
    return columns


def _code_mask(codes: npt.NDArray[np.int64], index: Mapping[str, int], key: str) -> npt.NDArray[np.bool_]:
    """Rows whose categorical key equals ``key``: one integer comparison."""
    code = index.get(key)
    if code is None:
        return np.zeros(codes.shape, dtype=bool)
    return np.asarray(codes == code, dtype=bool)


def _has_words(display: str, words: set[str]) -> bool:
    """Whether every word (in any of its forms) is a word of ``display``: "gris" in "Gris Plata"."""
    value_words = [_inflections(v) for v in re.findall(r"[a-z0-9ñ]+", fold(display))]
    return all(any(_inflections(w) & forms for forms in value_words) for w in words)


def _feature_mask(
    cols: _Columns, column: str, wanted: str, vocabulary: CatalogVocabulary | None
) -> npt.NDArray[np.bool_]:
    """Rows whose ``column`` has the wanted value; a word of a value ("gris") matches every value with it."""
    wanted_key = value_key(wanted)
    index = cols.index[column]
    if wanted_key in index or wanted_key in ("si", "no"):
        return _code_mask(cols.codes[column], index, wanted_key)
    words = set(re.findall(r"[a-z0-9ñ]+", fold(wanted)))
    if vocabulary is not None and column in vocabulary.attribute_values:
        displays = vocabulary.attribute_values[column]
    else:
        displays = {value_key(v): str(v) for v in pd.unique(cols.raw[column]) if _text_or_none(v)}
    matching = [index[key] for key, display in displays.items() if key in index and _has_words(display, words)]
    return np.isin(cols.codes[column], np.asarray(matching, dtype=np.int64))


def _canonicalise(
    df: pd.DataFrame, cols: _Columns, filters: CatalogFilters, vocabulary: CatalogVocabulary | None
) -> CatalogFilters:
    """Map free-form make/model (from an LLM) onto catalog names; cheap when already canonical."""
    make_ok = filters.make is None or name_key(filters.make) in cols.make_index
    model_ok = filters.model is None or name_key(filters.model) in cols.model_index
    if make_ok and model_ok:
        return filters
    vocab = vocabulary or CatalogVocabulary.from_frame(df)
    make = filters.make
    model = filters.model
    if not make_ok and make is not None:
        make = vocab.match_make(make) or make
    if model is not None and not model_ok:
        hit = vocab.match_model(model, make if make is not None and name_key(make) in cols.make_index else None)
        if hit is None and make is not None:
            hit = vocab.match_model(f"{make} {model}")
        if hit is not None:
            make, model = hit
    return filters.model_copy(update={"make": make, "model": model})


@dataclass
class _Masks:
    base: npt.NDArray[np.bool_]
    make: npt.NDArray[np.bool_] | None
    model: npt.NDArray[np.bool_] | None
    year: npt.NDArray[np.bool_] | None
    km: npt.NDArray[np.bool_] | None


def _range_mask(price: npt.NDArray[np.float64], low: float | None, high: float | None) -> npt.NDArray[np.bool_] | None:
    if low is None and high is None:
        return None
    mask = np.ones(price.shape, dtype=bool)
    if low is not None:
        mask &= price >= low
    if high is not None:
        mask &= price <= high
    return mask


def _and(*masks: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.bool_]:
    result: npt.NDArray[np.bool_] | None = None
    for mask in masks:
        if mask is not None:
            result = mask.copy() if result is None else result & mask
    assert result is not None
    return result


def _resolve_column(name: str, by_key: Mapping[str, str]) -> str | None:
    """Attribute column for a loosely spelled name ("Transmisión" -> "transmission")."""
    key = name_key(name)
    if key in by_key:
        return by_key[key]
    hit = process.extractOne(key, list(by_key), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
    return by_key[hit[0]] if hit is not None else None


def search_catalog(
    df: pd.DataFrame,
    filters: CatalogFilters,
    vocabulary: CatalogVocabulary | None = None,
    *,
    widen_price: bool = True,
    among: Sequence[str] | None = None,
) -> CatalogResult:
    """Filter, rank and cut the catalog; when nothing matches, relax year, km, model, price (+15%), make.

    ``widen_price=False`` keeps the price range a hard limit ("cheaper than these" must not show dearer cars);
    ``among`` limits the search to those stock ids (the cars a customer was just shown).
    """
    cols = _columns(df)
    filters = _canonicalise(df, cols, filters, vocabulary)
    base = np.ones(cols.n, dtype=bool)
    if among is not None:
        base[:] = False
        base[[cols.position[i] for i in among if i in cols.position]] = True
    if filters.exclude_ids:
        excluded = [cols.position[i] for i in filters.exclude_ids if i in cols.position]
        base[excluded] = False
    unknown: list[str] = []
    for name, wanted in filters.features.items():
        column = name if name in cols.index else _resolve_column(name, cols.by_key)
        if column is None:
            unknown.append(name)
            continue
        if value_key(wanted):
            base &= _feature_mask(cols, column, wanted, vocabulary)

    masks = _Masks(
        base=base,
        make=_code_mask(cols.make_codes, cols.make_index, name_key(filters.make)) if filters.make else None,
        model=_code_mask(cols.model_codes, cols.model_index, name_key(filters.model)) if filters.model else None,
        year=_range_mask(cols.year_f, filters.year_min, filters.year_max),
        km=(cols.km_filled <= filters.km_max) if filters.km_max is not None else None,
    )

    matched: npt.NDArray[np.bool_] | None = None
    applied = filters
    relaxed: list[str] = []
    for state, names, mask in _relaxation_states(cols, filters, masks, widen_price=widen_price):
        if mask.any():
            matched, applied, relaxed = mask, state, names
            break
    if matched is None:
        return CatalogResult(items=[], total=0, relaxed=[], unknown_features=unknown, applied=filters)

    idx = np.flatnonzero(matched)
    # A filter dropped on the way that every match still meets was not really relaxed.
    relaxed = [name for name in relaxed if not _still_met(cols, filters, name, idx)]
    top = idx[_top_positions(filters, applied.sort, cols, idx, filters.limit)]
    items = [_card(cols, int(i)) for i in top]
    return CatalogResult(items=items, total=int(idx.size), relaxed=relaxed, unknown_features=unknown, applied=applied)


def _still_met(cols: _Columns, f: CatalogFilters, name: str, idx: npt.NDArray[np.intp]) -> bool:
    """Whether all rows ``idx`` satisfy the original filter ``name``."""
    if name == "year_min" and f.year_min is not None:
        return bool((cols.year[idx] >= f.year_min).all())
    if name == "year_max" and f.year_max is not None:
        return bool((cols.year[idx] <= f.year_max).all())
    if name == "km_max" and f.km_max is not None:
        return bool((cols.km_filled[idx] <= f.km_max).all())
    if name == "price_max" and f.price_max is not None:
        return bool((cols.price[idx] <= f.price_max).all())
    if name == "price_min" and f.price_min is not None:
        return bool((cols.price[idx] >= f.price_min).all())
    if name == "make" and f.make is not None:
        return bool(_code_mask(cols.make_codes[idx], cols.make_index, name_key(f.make)).all())
    if name == "model" and f.model is not None:
        return bool(_code_mask(cols.model_codes[idx], cols.model_index, name_key(f.model)).all())
    return False


def _relaxation_states(
    cols: _Columns, f: CatalogFilters, m: _Masks, *, widen_price: bool
) -> Iterable[tuple[CatalogFilters, list[str], npt.NDArray[np.bool_]]]:
    """Exact filters first, then: year, km, model (keeping make), price +15%, make."""
    price = cols.price
    exact_price = _range_mask(price, f.price_min, f.price_max)
    yield f, [], _and(m.base, m.make, m.model, m.year, m.km, exact_price)

    update: dict[str, Any] = {}
    names: list[str] = []
    year_mask, km_mask, model_mask, make_mask = m.year, m.km, m.model, m.make
    if m.year is not None:
        update |= {"year_min": None, "year_max": None}
        names += [n for n in ("year_min", "year_max") if getattr(f, n) is not None]
        year_mask = None
        yield f.model_copy(update=update), list(names), _and(m.base, make_mask, model_mask, km_mask, exact_price)
    if m.km is not None:
        update["km_max"] = None
        names.append("km_max")
        km_mask = None
        yield f.model_copy(update=update), list(names), _and(m.base, make_mask, model_mask, exact_price)
    if m.model is not None and f.model is not None:
        update["model"] = None
        names.append("model")
        model_mask = None
        if make_mask is None:
            # A model alone implies its make: offer the same brand before anything else.
            owners = np.flatnonzero(m.model)
            if owners.size:
                update["make"] = str(cols.make[owners[0]])
                make_mask = cols.make_codes == cols.make_codes[owners[0]]
        yield f.model_copy(update=update), list(names), _and(m.base, make_mask, exact_price)
    before_price = (dict(update), list(names))

    price_update: dict[str, Any] = {}
    price_names: list[str] = []
    if widen_price:
        price_update, price_names = _widen_price(f)
    wide_price = _range_mask(price, price_update.get("price_min"), price_update.get("price_max"))
    if price_names:
        yield (
            f.model_copy(update=update | price_update),
            names + price_names,
            _and(m.base, make_mask, year_mask, km_mask, model_mask, wide_price),
        )
    if make_mask is not None:
        update, names = before_price
        update |= {"make": None}
        if f.make is not None:
            names = [*names, "make"]
        yield f.model_copy(update=update), names, _and(m.base, exact_price)
        if price_names:
            yield f.model_copy(update=update | price_update), names + price_names, _and(m.base, wide_price)


def _widen_price(f: CatalogFilters) -> tuple[dict[str, Any], list[str]]:
    update: dict[str, Any] = {"price_min": f.price_min, "price_max": f.price_max}
    names: list[str] = []
    if f.price_max is not None:
        update["price_max"] = round(f.price_max * PRICE_RELAX_FACTOR, 2)
        names.append("price_max")
    if f.price_min is not None:
        update["price_min"] = round(f.price_min / PRICE_RELAX_FACTOR, 2)
        names.append("price_min")
    return update, names


def _top_positions(
    f: CatalogFilters, sort: SortOrder, cols: _Columns, idx: npt.NDArray[np.intp], limit: int
) -> npt.NDArray[np.intp]:
    """Positions (into ``idx``) of the best ``limit`` matches: requested sort first, closeness to the request next."""
    year_f, price, km_filled = cols.year_f[idx], cols.price[idx], cols.km_filled[idx]
    gaps: list[npt.NDArray[np.float64]] = []
    if f.year_min is not None or f.year_max is not None:
        low = f.year_min if f.year_min is not None else -np.inf
        high = f.year_max if f.year_max is not None else np.inf
        gaps.append(np.maximum(low - year_f, 0) + np.maximum(year_f - high, 0))
    if f.km_max is not None:
        gaps.append(np.maximum(km_filled - f.km_max, 0))
    if f.price_min is not None or f.price_max is not None:
        low = f.price_min if f.price_min is not None else -np.inf
        high = f.price_max if f.price_max is not None else np.inf
        gaps.append(np.maximum(low - price, 0) + np.maximum(price - high, 0))
    # Gaps are all zero unless a filter was relaxed; skipping them keeps the sort cheap.
    gaps = [g for g in gaps if g.any()]

    keys: list[npt.NDArray[np.float64]]
    if sort == "price_asc":
        keys = [price, -year_f, *gaps]
    elif sort == "price_desc":
        keys = [-price, -year_f, *gaps]
    elif sort == "year_desc":
        keys = [-year_f, price, *gaps]
    elif sort == "km_asc":
        keys = [km_filled, -year_f, price, *gaps]
    else:
        keys = [*gaps, -year_f, price]

    candidates = np.arange(idx.size)
    if idx.size > 4 * limit + 64:
        # Only rows tied with or better than the limit-th on the primary key can make the cut.
        primary = keys[0]
        kth = np.partition(primary, limit - 1)[limit - 1]
        candidates = np.flatnonzero(primary <= kth)
    # np.lexsort treats the last key as the primary one.
    order = np.lexsort(tuple(k[candidates] for k in reversed(keys)))
    return candidates[order[:limit]]


def _py(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _card(cols: _Columns, position: int) -> CarCard:
    km = cols.km[position]
    return CarCard(
        stock_id=str(cols.stock_id[position]),
        make=str(cols.make[position]),
        model=str(cols.model[position]),
        year=int(cols.year[position]),
        price=float(cols.price[position]),
        km=None if math.isnan(km) else int(km),
        version=_text_or_none(_py(cols.version[position])),
        attributes={c: _py(cols.raw[c][position]) for c in cols.attributes},
    )


_NO_MILEAGE: Mapping[str, str] = {"es": "km sin dato", "en": "mileage n/a"}


def card_by_id(df: pd.DataFrame, stock_id: str) -> CarCard | None:
    """The card of the car with ``stock_id``, or None when the catalog has no such car."""
    cols = _columns(df)
    position = cols.position.get(stock_id)
    return None if position is None else _card(cols, position)


def car_name(make: str, model: str) -> str:
    """ "Mazda 3" for make "Mazda" and model "Mazda 3" or "3": the make is not repeated."""
    return model if name_key(model).startswith(name_key(make)) else f"{make} {model}"


def format_card(card: CarCard, index: int, language: Literal["es", "en"], currency: str = "MXN") -> str:
    """Short WhatsApp line: "1. Mazda 3 i Sport 2019 — $265,000 MXN · 48,000 km (DM-1021)"."""
    name = car_name(card.make, card.model)
    if card.version:
        name += f" {card.version}"
    price = f"${card.price:,.0f} {currency}".rstrip()
    mileage = f"{card.km:,} km" if card.km is not None else _NO_MILEAGE[language]
    return f"{index}. {name} {card.year} — {price} · {mileage} ({card.stock_id})"
