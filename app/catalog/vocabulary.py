"""What one catalogue stocks (makes, models, attribute values) and the lookup of a customer's words in it.

Aliases ("vocho", "chevy") and typos ("toyoya", "jeta") are matched here; the word lists are in
``app.catalog.lexicon``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein

from app.catalog.derived import NOT_FEATURE_COLUMNS as NOT_FEATURE_COLUMNS
from app.catalog.derived import recorded_kinds
from app.catalog.frame import KEY_SUFFIX, STATUS_ATTR, attribute_columns, derived_kinds
from app.catalog.keys import display_value, name_key
from app.catalog.lexicon import (
    AMBIGUOUS_VALUE_WORDS,
    COLOUR_PAIRS,
    GENERIC_MODEL_KEYS,
    KNOWN_MAKE_NAMES,
    MAKE_ALIASES,
    MODEL_ALIASES,
    STOPWORDS,
)
from app.text.normalize import fold

FUZZY_CUTOFF = 85.0
# Columns with more distinct values than this are free text (notes, VINs), not features to match.
MAX_DESCRIPTIVE_VALUES = 60
# Fuzzy matching only between reasonably long strings: short words ("the", "mas", "auto")
# are too close to short brand names for edit distance to mean anything.
FUZZY_MIN_TOKEN = 4
FUZZY_MIN_CANDIDATE = 5
# A word of a several-word model at least this long names the model alone ("frontier"); shorter ones are
# everyday words too ("grand", "serie", "clase", "santa").
MODEL_WORD_MIN = 6
# Make names at least this long also match with one letter wrong.
SUBSTITUTION_MIN_LENGTH = 6


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
    # What the catalogue records, by kind ("fuel", "body", "transmission", "colour") -> its column.
    kinds: dict[str, str] = field(default_factory=dict)
    # Kinds no column records but some cars' versions state ("Advance CVT", "XLT Diesel 4x4") -> the column read
    # from them (``app.catalog.derived``): known for those cars only.
    derived: dict[str, str] = field(default_factory=dict)
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
        vocab._alias_model_words()
        for column in attribute_columns(df):
            if column == df.attrs.get(STATUS_ATTR):
                continue  # "¿lo tienen disponible?" asks about a car; the status is shown, never searched
            vocab.attribute_columns[name_key(column)] = column
            key_cats = [str(c) for c in df[column + KEY_SUFFIX].cat.categories]
            codes = df[column + KEY_SUFFIX].cat.codes.to_numpy(dtype=np.int64)
            uniq, first_rows = np.unique(codes, return_index=True)
            raw = df[column].to_numpy(dtype=object)
            vocab.attribute_values[column] = {
                key_cats[code]: display_value(raw[row])
                for code, row in zip(uniq, first_rows, strict=True)
                if key_cats[code]
            }
        vocab._index_feature_words()
        vocab.derived = derived_kinds(df)
        own = {c: v for c, v in vocab.attribute_values.items() if c not in vocab.derived.values()}
        vocab.kinds = recorded_kinds(own)
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
            if not keys or len(keys) > MAX_DESCRIPTIVE_VALUES or column in NOT_FEATURE_COLUMNS:
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

    def _alias_model_words(self) -> None:
        """A distinctive word of a several-word model names it alone ("frontier" for "NP300 Frontier",
        "cherokee" for "Grand Cherokee") when no other model or make has that word."""
        owners: dict[str, set[tuple[str, str]]] = {}
        for make_key, models in self.models.items():
            for model_key, display in models.items():
                parts = re.findall(r"[a-zñ]+", fold(display))
                if len(display.split()) < 2:
                    continue
                for word in parts:
                    if len(word) >= MODEL_WORD_MIN and word not in STOPWORDS and word != model_key:
                        owners.setdefault(word, set()).add((make_key, model_key))
        for word, found in owners.items():
            if len(found) != 1 or word in self.model_makes or word in self.makes:
                continue
            make_key, model_key = next(iter(found))
            self.models[make_key][word] = self.models[make_key][model_key]
            self.model_makes[word] = [make_key]

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
        # "vochos", "jetas": an alias in the plural is still the alias.
        alias = next((MODEL_ALIASES[c] for c in candidates if c in MODEL_ALIASES), None)
        if alias is not None:
            alias_make, targets = alias
            if (make_key is None or make_key == alias_make) and alias_make in self.models:
                for target in targets:
                    if target in self.models[alias_make]:
                        return self.makes[alias_make], self.models[alias_make][target]
        if one_word and len(key) >= 4 and not key.isalpha() and not key.isdigit():
            # "rab4", "cx5" typed "cx 5" aside: one wrong letter in a model with digits, the digits the same
            # ("cx3" is never "cx5"); without a make only when a single model fits.
            found = self._near_model_with_digits(key, make_key)
            if found is not None:
                return found
        if not _fuzzy_ok(key):
            return None
        if make_key is not None:
            choices = [k for k in self.models.get(make_key, {}) if len(k) >= FUZZY_MIN_CANDIDATE and k.isalpha()]
        else:
            choices = self._free_model_choices
        hit = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        if hit is None and make_key is not None and one_word and len(key) == FUZZY_MIN_TOKEN:
            # A short model after its make with two neighbouring letters swapped ("chevrolet avoe", "vw gofl").
            swapped = next(
                (k for k in self.models.get(make_key, {}) if sorted(k) == sorted(key) and OSA.distance(key, k) == 1),
                None,
            )
            if swapped is not None:
                return self._exact_model(swapped, make_key, allow_context=True)
        if hit is None and make_key is not None and one_word and len(key) >= FUZZY_MIN_CANDIDATE:
            # After its make ("hyundai tuczon") one wrong letter in a word is a typo. Not across words:
            # in "clase e" the one letter is the whole difference from "Clase A".
            near = _one_edit(key, choices)
            return self._exact_model(near, make_key, allow_context=True) if near is not None else None
        if hit is not None:
            return self._exact_model(hit[0], make_key, allow_context=True)
        return None

    def _near_model_with_digits(self, key: str, make_key: str | None) -> tuple[str, str] | None:
        digits = re.sub(r"\D", "", key)
        owners = [make_key] if make_key is not None else list(self.models)
        near = {
            (owner, k)
            for owner in owners
            for k in self.models.get(owner, {})
            if len(k) >= 4 and re.sub(r"\D", "", k) == digits and Levenshtein.distance(key, k, score_cutoff=1) <= 1
        }
        if len(near) != 1:
            return None
        owner, model_key = next(iter(near))
        return self.makes[owner], self.models[owner][model_key]

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


_KNOWN_MAKES: dict[str, str] = {name_key(name): name for name in KNOWN_MAKE_NAMES}
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
    """The first choice one letter (inserted, dropped, changed, or two neighbours swapped: "avoe") away from
    ``key``, else None."""
    return next((c for c in choices if OSA.distance(key, c, score_cutoff=1) <= 1), None)


def _fuzzy_ok(key: str) -> bool:
    return len(key) >= FUZZY_MIN_TOKEN and key.isalpha() and key not in STOPWORDS


_TRANSLATIONS: dict[str, set[str]] = {}
for _es, _en in COLOUR_PAIRS:
    _TRANSLATIONS.setdefault(_es, set()).add(_en)
    _TRANSLATIONS.setdefault(_en, set()).add(_es)


def inflections(key: str) -> set[str]:
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
    forms = inflections(key)
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
