"""Rule-based (no LLM) parsing of a customer's free text into catalog filters.

The message is folded, then read in turn: the make and model (``app.catalog.vocabulary``), the
numbers as limits (``app.catalog.ranges``), then features, sort order and how many cars to show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from app.catalog.keys import name_key
from app.catalog.lexicon import STOPWORDS
from app.catalog.ranges import Span, read_ranges
from app.catalog.schemas import CatalogFilters, SortOrder
from app.catalog.vocabulary import CatalogVocabulary, split_make_digits
from app.text.money import prepare_amounts

# "poco kilometraje" without a number means at most this many km.
LOW_MILEAGE_KM = 60_000

_TOKEN = re.compile(r"[a-z0-9ñ]+")

_LIMIT = re.compile(
    r"(?<![0-9.,])(?P<n>\d{1,2})\s+(?:opciones|carros|autos|coches|options|cars|resultados|results|modelos)\b"
)

_SORT_BY = r"\b(?:ordena\w*|acomoda\w*|sort\w*|order\w*|arrange\w*)\s+(?:\w+\s+)?(?:por|by)\s+(?:el\s+|la\s+|the\s+)?"
_SORT_RULES: tuple[tuple[SortOrder, re.Pattern[str]], ...] = (
    (
        "km_asc",
        re.compile(
            r"\b(?:menos (?:km|kms|kilometros|kilometraje|millas|recorrido)|menor kilometraje|lowest mileage"
            r"|least mileage|lowest km|fewest (?:miles|km|kilometers)|less mileage)\b"
            rf"|{_SORT_BY}(?:kilometraje|km|kms|kilometros|mileage|millas|miles)\b"
        ),
    ),
    (
        "price_desc",
        re.compile(r"\b(?:mas car[oa]s?|most expensive|priciest|highest price|mayor precio|precio mas alto)\b"),
    ),
    (
        "price_asc",
        re.compile(
            r"\b(?:mas barat[oa]s?|barat[oa]s?|mas economic[oa]s?|economic[oa]s?|cheapest|cheaper|cheap"
            r"|lowest price|menor precio|precio mas bajo|inexpensive|affordable)\b"
            rf"|{_SORT_BY}(?:precio|price|costo|cost)\b"
        ),
    ),
    (
        "year_desc",
        re.compile(
            r"\b(?:mas nuev[oa]s?|mas recientes?|recientes?|newest|latest|most recent|ultimos? modelos?)\b"
            rf"|{_SORT_BY}(?:a[nñ]os?|modelo|year|model year)\b"
        ),
    ),
)
_LOW_MILEAGE = re.compile(
    r"\b(?:poc[oa]s?|baj[oa]) (?:kilometraje|km|kms|kilometros|millaje|recorrido)\b"
    r"|\blow (?:mileage|km|kms|kilometers|miles)\b"
)

_BODY = ("body", "body_type", "carroceria", "tipo", "type", "segment", "segmento", "categoria", "category")
_TRANSMISSION = ("transmission", "transmision", "caja", "gearbox", "trans")
_FUEL = ("fuel", "fuel_type", "combustible", "tipo_combustible", "motor", "engine")


@dataclass(frozen=True)
class _FeatureRule:
    pattern: re.Pattern[str]
    columns: tuple[str, ...]
    values: tuple[str, ...]  # acceptable value keys, preferred first
    default: str  # value to ask for when the catalog has none of ``values`` yet
    yes_no: bool = False


def _yes_no(pattern: str, *columns: str) -> _FeatureRule:
    return _FeatureRule(re.compile(pattern), columns, ("si",), "Sí", yes_no=True)


_FEATURE_RULES: tuple[_FeatureRule, ...] = (
    _FeatureRule(re.compile(r"\b(?:automatic[oa]s?|automatic)\b"), _TRANSMISSION, ("automatica",), "Automática"),
    _FeatureRule(
        re.compile(r"\b(?:manual|manuales|estandar|standard|std|mecanic[oa]s?|stick(?: shift)?)\b"),
        _TRANSMISSION,
        ("manual",),
        "Manual",
    ),
    _yes_no(r"\b(?:apple )?car ?play\b", "carplay", "apple_carplay"),
    _yes_no(r"\bandroid ?auto\b", "android_auto"),
    _yes_no(r"\bblue ?tooth\b", "bluetooth"),
    _yes_no(
        r"\b(?:quemacocos|sunroof|moonroof|techo solar|techo corredizo|techo panoramico|panoramic roof)\b",
        "sunroof",
        "quemacocos",
        "techo_solar",
    ),
    _yes_no(r"\b(?:piel|leather)\b", "leather", "piel", "asientos_piel", "leather_seats"),
    _yes_no(
        r"\b(?:camara de reversa|camara trasera|backup camera|rear camera|reverse camera|rearview camera)\b",
        "camera",
        "camara",
        "backup_camera",
        "rear_camera",
        "camara_reversa",
    ),
    _FeatureRule(re.compile(r"\b(?:hibrid[oa]s?|hybrids?)\b"), _FUEL, ("hibrido",), "Híbrido"),
    _FeatureRule(re.compile(r"\bdiesel\b"), _FUEL, ("diesel",), "Diésel"),
    _FeatureRule(re.compile(r"\b(?:electric[oa]s?|electric)\b"), _FUEL, ("electrico",), "Eléctrico"),
    _FeatureRule(re.compile(r"\b(?:gasolina|gasoline|petrol)\b"), _FUEL, ("gasolina",), "Gasolina"),
    _FeatureRule(
        re.compile(r"\b(?:suvs?|camionetas?|crossovers?|todoterrenos?)\b"),
        _BODY,
        ("suv", "camioneta", "crossover"),
        "SUV",
    ),
    _FeatureRule(re.compile(r"\b(?:pick ?ups?|pick-ups?|trocas?|trucks?)\b"), _BODY, ("pickup", "troca"), "Pickup"),
    _FeatureRule(re.compile(r"\b(?:sedan|sedanes|sedans)\b"), _BODY, ("sedan",), "Sedán"),
    _FeatureRule(re.compile(r"\b(?:hatchbacks?|hatch)\b"), _BODY, ("hatchback",), "Hatchback"),
    _FeatureRule(re.compile(r"\bcoupes?\b"), _BODY, ("coupe",), "Coupé"),
    _FeatureRule(re.compile(r"\b(?:minivans?|vans?)\b"), _BODY, ("minivan", "van"), "Minivan"),
    _FeatureRule(re.compile(r"\b(?:convertibles?|descapotables?)\b"), _BODY, ("convertible",), "Convertible"),
)
_FLAG_CUTOFF = 85.0
_NEGATION = re.compile(r"(?<![a-zñ])(?:sin|without|no|not)\s+(?:[a-zñ]+\s+)?$")


def prepare_message(text: str) -> str:
    """Folded text with amounts spelled plainly and two-digit model years written out ("modelo 19" → 2019)."""
    t = prepare_amounts(text)
    # "modelo 19", "modelo 18 al 20", "model year 21": two-digit years, but only after a year word.
    return _SHORT_YEARS.sub(_expand_short_years, t)


_SHORT_YEARS = re.compile(
    r"\b(?P<cue>modelos?|model years?|models?|a[nñ]o|year)\s+(?:del\s+|de\s+|from\s+)?(?P<a>\d{2})(?![\d.,])"
    r"(?:(?P<join>\s*(?:-|a|al|to|y|and|hasta)\s*)(?P<b>\d{2})(?![\d.,]))?"
    r"(?!\s*(?:mil|k|km|kms|millas|miles|meses|months|pesos|%|años|anos|years|puertas|doors))"
)


def _century(two: str) -> str:
    return ("19" if int(two) >= 90 else "20") + two


def _expand_short_years(m: re.Match[str]) -> str:
    text = f"{m.group('cue')} {_century(m.group('a'))}"
    if m.group("b") is not None:
        text += f"{m.group('join')}{_century(m.group('b'))}"
    return text


@dataclass
class _Token:
    text: str
    start: int
    end: int


def _tokens(t: str, vocabulary: CatalogVocabulary) -> list[_Token]:
    tokens: list[_Token] = []
    for m in _TOKEN.finditer(t):
        parts = split_make_digits([m.group(0)], vocabulary)
        offset = m.start()
        for part in parts:
            tokens.append(_Token(part, offset, offset + len(part)))
            offset += len(part)
    return tokens


def _find_vehicle(t: str, vocabulary: CatalogVocabulary) -> tuple[str | None, str | None, list[Span]]:
    """First make and first model mentioned (the model's make wins), with their text spans."""
    tokens = _tokens(t, vocabulary)
    make: str | None = None
    spans: list[Span] = []
    i = 0
    while i < len(tokens):
        step = 1
        for n in (3, 2, 1):
            group = tokens[i : i + n]
            if len(group) < n or group[0].text.isdigit():
                continue
            if n > 1 and any(tok.text in STOPWORDS for tok in group):
                continue
            phrase = " ".join(tok.text for tok in group)
            hit = vocabulary.match_model(phrase)
            if hit is not None and _cut_short(hit[1], group, tokens[i + n : i + n + 1]):
                hit = None
            if hit is not None:
                spans.append(Span(group[0].start, group[-1].end))
                return hit[0], hit[1], spans
            if n > 2:
                continue
            found_make = vocabulary.match_any_make(phrase)
            if found_make is None:
                continue
            spans.append(Span(group[0].start, group[-1].end))
            make = make or found_make
            step = n
            if vocabulary.match_make(found_make) is None:
                break  # a make we don't stock: no model of it can match
            # Numeric and generic model names ("Mazda 3", "VW Sedan") only count right after the make.
            after = i + n
            for n2 in (3, 2, 1):
                follow = tokens[after : after + n2]
                if len(follow) < n2:
                    continue
                model_hit = vocabulary.match_model(" ".join(tok.text for tok in follow), found_make)
                if model_hit is not None and _cut_short(model_hit[1], follow, tokens[after + n2 : after + n2 + 1]):
                    model_hit = None
                if model_hit is not None:
                    spans.append(Span(follow[0].start, follow[-1].end))
                    return model_hit[0], model_hit[1], spans
            break
        i += step
    return make, None, spans


def _cut_short(model: str, group: list[_Token], following: list[_Token]) -> bool:
    """ "mercedes clase" + "e" is not "Clase A": the name goes on with another letter than the one typed next."""
    if len(following) != 1 or len(following[0].text) != 1:
        return False
    model_key, last = name_key(model), group[-1].text
    return len(model_key) > len(last) and model_key.startswith(last) and model_key != last + following[0].text


def _blank(t: str, spans: Iterable[Span]) -> str:
    chars = list(t)
    for span in spans:
        for k in range(max(span.start, 0), min(span.end, len(chars))):
            chars[k] = " "
    return "".join(chars)


def _features(t: str, vocabulary: CatalogVocabulary) -> dict[str, str]:
    wanted: dict[str, str] = {}
    conflicting: set[str] = set()
    for rule in _FEATURE_RULES:
        column = vocabulary.feature_column(*rule.columns)
        if column is None:
            continue
        for m in rule.pattern.finditer(t):
            if rule.yes_no and _NEGATION.search(t[: m.start()]):
                value = vocabulary.feature_value(column, "no", "No")
            else:
                known = [v for v in rule.values if v in vocabulary.attribute_values.get(column, {})]
                value = vocabulary.feature_value(column, known[0], rule.default) if known else rule.default
            if column in wanted and wanted[column] != value:
                conflicting.add(column)  # "automático o estándar": the customer doesn't mind
            wanted[column] = value
    for column in conflicting:
        wanted.pop(column, None)
    for column, value in _catalog_features(t, vocabulary).items():
        if column not in wanted and column not in conflicting:
            wanted[column] = value
    return wanted


def _catalog_features(t: str, vocabulary: CatalogVocabulary) -> dict[str, str]:
    """Features named by the catalog's own columns: a value ("rojo", "gris plata") or a yes/no column ("gps")."""
    if not vocabulary.value_words and not vocabulary.flag_words:
        return {}
    tokens = list(_TOKEN.finditer(t))
    found: dict[str, set[str]] = {}
    i = 0
    while i < len(tokens):
        step = 1
        for n in (3, 2, 1):
            group = tokens[i : i + n]
            if len(group) < n:
                continue
            key = "".join(m.group(0) for m in group)
            if n > 1 and any(m.group(0) in STOPWORDS for m in group):
                continue
            column, value = _feature_word(key, vocabulary, t, group[0].start())
            if column is not None and value is not None:
                found.setdefault(column, set()).add(value)
                step = n
                break
        i += step
    # "rojo o blanco": the customer does not mind, so neither value is a filter.
    return {column: next(iter(values)) for column, values in found.items() if len(values) == 1}


def _feature_word(key: str, vocabulary: CatalogVocabulary, t: str, start: int) -> tuple[str | None, str | None]:
    hit = vocabulary.value_words.get(key)
    if hit is not None:
        return hit
    column = vocabulary.flag_words.get(key)
    if column is None and len(key) >= 5 and key.isalpha() and key not in STOPWORDS and vocabulary.flag_words:
        # "blutooth", "carplai": a misspelt yes/no column name.
        near = process.extractOne(key, list(vocabulary.flag_words), scorer=fuzz.ratio, score_cutoff=_FLAG_CUTOFF)
        column = vocabulary.flag_words[near[0]] if near is not None else None
    if column is None:
        return None, None
    if _NEGATION.search(t[:start]):
        return column, vocabulary.feature_value(column, "no", "No")
    return column, vocabulary.feature_value(column, "si", "Sí")


def _sort(t: str) -> SortOrder:
    best: tuple[int, SortOrder] | None = None
    for order, pattern in _SORT_RULES:
        m = pattern.search(t)
        if m is not None and (best is None or m.start() < best[0]):
            best = (m.start(), order)
    return best[1] if best else "relevance"


def parse_catalog_query(text: str, vocabulary: CatalogVocabulary) -> CatalogFilters:
    """Turn a Spanish/English customer message into ``CatalogFilters`` using rules only."""
    t = prepare_message(text)
    make, model, vehicle_spans = _find_vehicle(t, vocabulary)
    rest = _blank(t, vehicle_spans)
    consumed: list[Span] = []
    numbers = read_ranges(rest, consumed)
    rest = _blank(rest, consumed)

    km_max = numbers.km_max
    if km_max is None and _LOW_MILEAGE.search(rest):
        km_max = LOW_MILEAGE_KM
    rest = _LOW_MILEAGE.sub(" ", rest)
    limit = 3
    limit_match = _LIMIT.search(t)
    if limit_match is not None:
        limit = min(max(int(limit_match.group("n")), 1), 10)

    return CatalogFilters(
        make=make,
        model=model,
        year_min=numbers.year_min,
        year_max=numbers.year_max,
        price_min=numbers.price_min,
        price_max=numbers.price_max,
        km_max=km_max,
        features=_features(rest, vocabulary),
        sort=_sort(rest),
        limit=limit,
    )
