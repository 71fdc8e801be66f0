"""Rule-based (no LLM) parsing of a customer's free text into catalog filters.

The message is folded, then read in turn: the make and model (``app.catalog.vocabulary``), the
numbers as limits (``app.catalog.ranges``), then features, sort order and how many cars to show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from app.catalog.keys import name_key
from app.catalog.lexicon import PLACE_ABBREVIATIONS, PLAIN_WORDS, STOPWORDS
from app.catalog.ranges import Span, read_ranges
from app.catalog.schemas import CatalogFilters, SortOrder
from app.catalog.vocabulary import CatalogVocabulary, split_make_digits
from app.text.money import prepare_amounts

# Alternatives of one feature: "blanco o gris" -> "Blanco | Gris".
ANY_OF = " | "
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
        # "aunque salga un poco más caro", "even if it's more expensive": a concession, not a sort
        re.compile(
            r"(?<!aunque salga )(?<!aunque sea )(?<!aunq salga )(?<!aunque cueste )(?<!salga un poco )"
            r"(?<!sea un poco )(?<!cueste un poco )(?<!un poco )(?<!algo )"
            r"\b(?:mas car[oa]s?|most expensive|priciest|highest price|mayor precio|precio mas alto)\b"
        ),
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
    (
        "year_asc",
        re.compile(
            r"\b(?:mas viej(?:[oa]s?|it[oa]s?)|mas antigu[oa]s?|mas grande de (?:edad|a[nñ]os)|oldest|older"
            r"|de mayor antig[uü]edad|menos recientes?)\b"
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
    kind: str | None = None  # what the rule asks about ("fuel", "body"...), found by ``CatalogVocabulary.kinds``


def _yes_no(pattern: str, *columns: str) -> _FeatureRule:
    return _FeatureRule(re.compile(pattern), columns, ("si",), "Sí", yes_no=True)


def _kind(kind: str, pattern: str, columns: tuple[str, ...], values: tuple[str, ...], default: str) -> _FeatureRule:
    return _FeatureRule(re.compile(pattern), columns, values, default, kind=kind)


_FEATURE_RULES: tuple[_FeatureRule, ...] = (
    _kind(
        "transmission",
        r"\b(?:automatic[oa]s?|automatic|automatico)\b",
        _TRANSMISSION,
        ("automatica",),
        "Automática",
    ),
    _kind(
        "transmission",
        r"\b(?:manual|manuales|estandar|standard|std|mecanic[oa]s?|stick(?: shift)?)\b",
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
    # "¿tiene bolsas de aire?", "¿cuál es más seguro?" asks for safety equipment.
    _yes_no(
        r"\b(?:bolsas? de aire|airbags?|frenos abs|control de estabilidad|stability control|mas segur[oa]|safer)\b",
        "airbags",
        "bolsas_aire",
        "bolsas_de_aire",
        "seguridad",
    ),
    _kind("fuel", r"\b(?:hibrid[oa]s?|hybrids?)\b", _FUEL, ("hibrido",), "Híbrido"),
    _kind("fuel", r"\b(?:diesel|disel|diessel)\b", _FUEL, ("diesel",), "Diésel"),
    _kind("fuel", r"\b(?:electric[oa]s?|electric|ev|evs)\b", _FUEL, ("electrico",), "Eléctrico"),
    _kind("fuel", r"\b(?:gasolina|gasoline|petrol)\b", _FUEL, ("gasolina",), "Gasolina"),
    _kind(
        "body",
        r"\b(?:suvs?|camionetas?(?! de batea)|camionetitas?|crossovers?|todoterrenos?)\b",
        _BODY,
        ("suv", "camioneta", "crossover"),
        "SUV",
    ),
    _kind(
        "body",
        r"\b(?:pick ?ups?|pick-ups?|trocas?|trokas?|trucks?|camionetas? de batea|de batea|doble cabina|cabina sencilla"
        r"|redilas?)\b",
        _BODY,
        ("pickup", "troca"),
        "Pickup",
    ),
    _kind("body", r"\b(?:sedan|sedanes|sedans)\b", _BODY, ("sedan",), "Sedán"),
    _kind("body", r"\b(?:hatchbacks?|hatch)\b", _BODY, ("hatchback",), "Hatchback"),
    _kind("body", r"\bcoupes?\b", _BODY, ("coupe",), "Coupé"),
    _kind("body", r"\b(?:minivans?|vans?)\b", _BODY, ("minivan", "van"), "Minivan"),
    _kind("body", r"\b(?:convertibles?|descapotables?)\b", _BODY, ("convertible",), "Convertible"),
)
# Colour words, for asking about colours a catalogue without a colour column cannot answer.
_COLOUR_WORDS = re.compile(
    r"\b(?:roj[oa]s?|blanc[oa]s?|negr[oa]s?|gris(?:es)?|azul(?:es)?|verdes?|amarill[oa]s?|naranjas?|dorad[oa]s?"
    r"|morad[oa]s?|plateado?s?|red|white|black|gr[ae]y|silver|blue|green|yellow|orange|gold|purple|colou?r(?:es)?)\b"
)
_FLAG_CUTOFF = 85.0
# Body words loose enough that a named model decides the body ("camioneta" is an SUV, a pickup or a van).
_LOOSE_BODY = re.compile(r"\b(?:camionet(?:a|as|ita|itas)|trucks?|vehiculo|vehicle)\b")
_STRICT_BODY = re.compile(r"\b(?:suvs?|crossovers?|sedan(?:es|s)?|hatch(?:back)?s?|pick ?ups?|coupes?|minivans?)\b")
_NEGATION = re.compile(r"(?<![a-zñ])(?:sin|without|no|not)\s+(?:[a-zñ]+\s+)?$")
# "no sé manejar estándar", "no quiero diésel", "don't want a manual": a kind of car refused, not asked for.
_REFUSED = re.compile(
    r"\b(?:no|ni)\s+(?:se\s+|sabe\s+|puedo\s+|puede\s+|quiero\s+|queremos\s+|(?:me|le|nos)\s+gustan?\s+|busco\s+"
    r"|manejo\s+|maneja\s+|manejamos\s+)+(?:manejar\s+|usar\s+)?"
    r"(?:(?:un|una|uno|el|la|los|las)\s+)?$"
    r"|\b(?:don'?t|do not|can'?t|cannot)\s+(?:want|like|drive|know how to drive)\s+(?:(?:a|an|the)\s+)?$"
)


# "gas only, no hybrids", "sin diésel": a kind refused by the word right before it ("¿no hay híbridos?" asks).
_NOT_BEFORE = re.compile(r"(?<![a-zñ])(?:sin|without|no|not|nada de|ningun[oa]?|nothing)\s+$")


def prepare_message(text: str) -> str:
    """Folded text with amounts spelled plainly and two-digit model years written out ("modelo 19" → 2019)."""
    t = _SEARCH_TYPO.sub(_fix_search_typo, prepare_amounts(text))
    # "modelo 19", "modelo 18 al 20", "model year 21": two-digit years, but only after a year word.
    return _SHORT_YEARS.sub(_expand_short_years, t)


# The words that make a search an order or a filter, as customers mistype them ("newst", "wich", "cheapst",
# "barto"): one letter off (dropped, added, changed or two swapped) and not a word of its own.
_SEARCH_WORDS = frozenset(
    {
        *("which", "newest", "cheapest", "cheaper", "oldest", "lowest", "highest", "expensive", "mileage"),
        *("automatic", "under", "between", "barato", "barata", "baratos", "baratas", "economico", "economica"),
        *("nuevo", "nueva", "nuevos", "nuevas", "reciente", "recientes", "automatico", "automatica"),
        *("automaticos", "kilometraje", "kilometros"),
    }
)
_SEARCH_TYPO = re.compile(r"\b[a-z]{4,12}\b")
_NOT_TYPOS = frozenset({"nueve", "newer", "manuel"})


def _fix_search_typo(m: re.Match[str]) -> str:
    word = m.group(0)
    if word in _SEARCH_WORDS or word in _NOT_TYPOS or word in STOPWORDS or word in PLAIN_WORDS:
        return word
    for known in _SEARCH_WORDS:
        if abs(len(known) - len(word)) <= 1 and len(known) >= 5 and _one_typo(word, known):
            return known
    return word


def _one_typo(word: str, known: str) -> bool:
    """One letter dropped, added or changed, or two neighbours swapped."""
    if Levenshtein.distance(word, known, score_cutoff=1) <= 1:
        return True
    if len(word) != len(known):
        return False
    diffs = [i for i, (a, b) in enumerate(zip(word, known, strict=True)) if a != b]
    return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and word[diffs[0]] == known[diffs[1]]


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
    if make is None:
        generic = _generic_model(tokens, vocabulary)
        if generic is not None:
            found, token = generic
            return found[0], found[1], [Span(token.start, token.end)]
    return make, None, spans


# Words after which a model name that is also an everyday word ("march", "up", "fit") is a car: an article or
# a search verb ("un March", "el Up", "tienen Fit?"). "en marzo", "in March", "pick me up" never are.
_CAR_POINTERS = frozenset(
    {
        "un", "una", "el", "la", "los", "las", "del", "ese", "esa", "este", "esta", "otro", "otra", "algun",
        "alguna", "busco", "buscando", "quiero", "tienen", "tienes", "hay", "venden", "cotiza", "cotizame",
        "the", "a", "an", "that", "this", "any", "about", "y", "and", "o", "or", "su", "tu", "precio",
        # "estoy entre kicks y creta", "march vs kicks": a comparison names cars.
        "entre", "vs", "contra", "versus", "between", "compara", "comparame",
    }
)  # fmt: skip
_PLACE_PREPOSITIONS = frozenset({"for", "in", "to", "at", "on", "around", "para", "en", "por", "a", "into"})
_STRICT_GENERIC = frozenset({"up", "one", "life", "sport", "note", "city", "van", "wagon", "classic", "clasico"})
# ... or words after it: a year, a car word, or the stock verb of "¿qué March tienen?", "¿cuántos Up hay?".
_CAR_AFTER = re.compile(
    r"(?:19|20)\d{2}|modelo|model|automatic[oa]?|manual|usados?|seminuevos?|disponibles?|tienen|tienes|hay|venden|manejan"
)


def _generic_model(tokens: list[_Token], vocabulary: CatalogVocabulary) -> tuple[tuple[str, str], _Token] | None:
    """A stocked model whose name is an everyday word, when the words around it read as a car request."""
    words = [tok.text for tok in tokens]
    for i, tok in enumerate(tokens):
        owners = vocabulary.model_makes.get(tok.text)
        if not owners or tok.text in STOPWORDS or tok.text.isdigit() or len(tok.text) < 2:
            continue
        before = words[i - 1] if i > 0 else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        if i > 1 and words[i - 2] in _PLACE_PREPOSITIONS and before in ("the", "la", "el", "a"):
            continue  # "for the city", "en la ciudad": a place, not a car
        pointed = before in _CAR_POINTERS or (i == 0 and len(words) <= 3)
        if tok.text in _STRICT_GENERIC:
            pointed = before in _CAR_POINTERS - {"y", "and", "o", "or", "a", "about", "precio"} or (
                len(words) <= 2 and i == len(words) - 1 and before in ("", "y", "and")
            )
        if pointed or (_CAR_AFTER.fullmatch(after) is not None and before not in ("en", "in", "on", "de")):
            make_key = owners[0]
            return (vocabulary.makes[make_key], vocabulary.models[make_key][tok.text]), tok
    return None


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


# Kinds where two values named together mean either of them ("una troca o SUV"); for the transmission they
# mean any ("automático o estándar, me da igual").
_EITHER_KINDS = frozenset({"body", "fuel"})


def _features(t: str, vocabulary: CatalogVocabulary) -> dict[str, str]:
    wanted: dict[str, str] = {}
    conflicting: set[str] = set()
    refused: set[str] = set()
    for rule in _FEATURE_RULES:
        column = _rule_column(rule, vocabulary)
        if column is None:
            continue
        for m in rule.pattern.finditer(t):
            if rule.yes_no and _NEGATION.search(t[: m.start()]):
                value = vocabulary.feature_value(column, "no", "No")
            elif rule.kind is not None and (_REFUSED.search(t[: m.start()]) or _NOT_BEFORE.search(t[: m.start()])):
                refused.add(column)  # "¿y automáticos? no sé manejar estándar": not the one wanted
                continue
            else:
                known = [v for v in rule.values if v in vocabulary.attribute_values.get(column, {})]
                value = vocabulary.feature_value(column, known[0], rule.default) if known else rule.default
            if rule.kind == "body" and column in vocabulary.derived.values() and m.group(0).startswith("camionet"):
                # "camioneta" is any SUV, pickup or van in Mexico: with bodies known from the models, any of them.
                held = vocabulary.attribute_values.get(column, {})
                loose = [held[k] for k in ("suv", "pickup", "minivan") if k in held]
                if not loose:
                    continue  # no model or version says one: the data cannot tell (``missing_kinds``)
                value = ANY_OF.join(loose)
            elif rule.kind is not None and _unstated(rule, column, vocabulary):
                continue  # read from the versions, and none says it: the data cannot tell (``missing_kinds``)
            if column in wanted and value not in wanted[column].split(" | "):
                conflicting.add(column)  # "automático o estándar": the customer doesn't mind
                if rule.kind in _EITHER_KINDS:
                    value = f"{wanted[column]} | {value}"  # "troca o SUV", "hybrids or electric": either one
            wanted[column] = value
    for column in list(conflicting):
        if "|" not in wanted.get(column, ""):
            wanted.pop(column, None)
        else:
            conflicting.discard(column)
    for column, value in _catalog_features(t, vocabulary).items():
        if column not in wanted and column not in conflicting and column not in refused:
            wanted[column] = value
    return wanted


def _rule_column(rule: _FeatureRule, vocabulary: CatalogVocabulary) -> str | None:
    """The column a rule filters on: the one recording its kind, else one named like the rule's columns."""
    if rule.kind is not None and rule.kind in vocabulary.kinds:
        return vocabulary.kinds[rule.kind]
    if rule.kind is not None and rule.kind in vocabulary.derived:
        return vocabulary.derived[rule.kind]  # read from the versions ("Advance CVT")
    return vocabulary.feature_column(*rule.columns)


def _unstated(rule: _FeatureRule, column: str, vocabulary: CatalogVocabulary) -> bool:
    """A kind read from the versions where no version states the value asked ("híbrido" when only "Diesel" is
    written): the data cannot tell, rather than "none is"."""
    stated = vocabulary.attribute_values.get(column, {})
    return column in vocabulary.derived.values() and not any(v in stated for v in rule.values)


def _names_value_of(t: str, column: str, vocabulary: CatalogVocabulary) -> bool:
    """Whether the message names a value ``column`` holds ("4x4" of a traction read from the versions)."""
    return any(vocabulary.value_words.get(w, ("", ""))[0] == column for w in _TOKEN.findall(t))


# What customers ask that a catalogue may or may not record: fuel economy, seats, traction, engine, doors.
_OTHER_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "consumption",
        re.compile(
            r"\b(?:rendimiento|consumo de (?:gasolina|combustible)|gast[ae]n? (?:menos|poca|mucha|mas)"
            r"(?: gasolina)?|km (?:por|x) litro|kilometros por litro|cuanto rinden?|rinden? (?:por|x|el) litro"
            r"|fuel economy|gas mileage|mpg|ahorrador[ae]?s?)\b"
        ),
    ),
    (
        "seats",
        re.compile(
            r"\b(?:\d\s*pasajeros|(?:siete|ocho) pasajeros|\d\s*plazas|tercera fila|third row|\d[- ]seaters?"
            r"|(?:seven|eight)[- ]seaters?|asientos para \d)\b"
        ),
    ),
    (
        "traction",
        re.compile(r"\b(?:4x4|4wd|awd|traccion (?:integral|4x4|total|doble)|all[- ]wheel drive|four[- ]wheel drive)\b"),
    ),
    (
        "engine",
        re.compile(r"\b(?:cilindros|caballos de fuerza|horsepower|\d+ ?hp)\b"),
    ),
    ("doors", re.compile(r"\b(?:\d|dos|cuatro|cinco) puertas|\b\d[- ]door|\b(?:two|four|five)[- ]doors?\b")),
    (
        "owners",
        re.compile(
            r"\b(?:(?:cuantos|numero de|cuantas|how many|previous|prior) (?:due[nñ]os|due[nñ]as|propietarios|owners)"
            r"|(?:un|unico|solo|primer|1|one|single) (?:due[nñ]o|propietario|owner)|due[nñ]os anteriores)\b"
        ),
    ),
)


def missing_kinds(text: str, vocabulary: CatalogVocabulary) -> list[str]:
    """What the message asks about that this catalogue does not record ("fuel" for "¿tienen híbridos?")."""
    t = prepare_message(text)
    missing: list[str] = []
    for rule in _FEATURE_RULES:
        if rule.kind is None or rule.kind in missing:
            continue
        column = _rule_column(rule, vocabulary)
        if column is not None and not _unstated(rule, column, vocabulary):
            continue
        if rule.pattern.search(t):
            missing.append(rule.kind)
    if "colour" not in vocabulary.kinds and _COLOUR_WORDS.search(t) and "colour" not in missing:
        missing.append("colour")
    for kind, pattern in _OTHER_KINDS:
        if kind not in vocabulary.kinds and kind not in missing and pattern.search(t):
            if kind == "owners" and vocabulary.feature_column("owners", "duenos", "propietarios", "dueños"):
                continue
            derived = vocabulary.derived.get(kind)
            if derived is not None and _names_value_of(t, derived, vocabulary):
                continue  # "¿es 4x4?" where some versions say "4x4"
            missing.append(kind)
    # "¿el Tiguan trae quemacocos?" where the catalogue has no such column: equipment it cannot tell.
    for rule in _FEATURE_RULES:
        asked = rule.yes_no and rule.pattern.search(t) is not None and not _negated(t, rule)
        if asked and "equipment" not in missing and _rule_column(rule, vocabulary) is None:
            missing.append("equipment")
    return missing


def _negated(t: str, rule: _FeatureRule) -> bool:
    """ "sin quemacocos" / "no necesito carplay": not asking for it."""
    m = rule.pattern.search(t)
    return m is not None and _NEGATION.search(t[: m.start()]) is not None


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
    # "blanco o gris": either will do (values joined by ANY_OF, matched as alternatives by the search).
    return {column: ANY_OF.join(sorted(values)) for column, values in found.items()}


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


# "el más barato", "the newest one": one car, not a list ("los más baratos", "the cheapest cars" stay lists).
_SINGULAR_SUPERLATIVE = re.compile(
    r"\b(?:el|la)\s+(?:mas\s+)?(?:barat[oa]|economic[oa]|car[oa]|nuev[oa]|recientes?|viej(?:[oa]|it[oa])|antigu[oa])\b"
    r"(?!\s+(?:de\s+)?(?:\d))"
    r"|\b(?:el|la)\s+(?:de|con)\s+(?:menos|menor)\s+(?:km|kms|kilometraje|kilometros|recorrido)\b"
    # "el Jetta más barato", "la CR-V más nueva": one car of the model named.
    r"|\b(?:el|la)\s+[a-z0-9ñ-]+(?:\s+[a-z0-9ñ-]+)?\s+mas\s+(?:barat[oa]|economic[oa]|car[oa]|nuev[oa]|viej[oa]"
    r"|recientes?)\b(?!\s+(?:de\s+)?(?:\d))"
    # "¿cuál es el que tiene menos kilometraje?", "¿cuál sale más barato?": one car, asked in the singular.
    r"|\bcual\s+(?:es\s+)?(?:el|la)?\s*(?:que\s+)?(?:tiene|trae|sale|esta|es|cuesta|anda)?\s*(?:el\s+|la\s+)?"
    r"(?:mas|menos|menor|mayor)\s+(?:barat[oa]|economic[oa]|car[oa]|nuev[oa]|recientes?|viej[oa]|km|kms|kilometraje"
    r"|kilometros|recorrido|precio)\b"
    r"|\bwhich\s+(?:one\s+)?(?:is|has)\s+(?:the\s+)?(?:cheapest|newest|oldest|lowest mileage|least (?:km|miles))\b"
    r"|\b(?:the|your|ur|yr)\s+(?:cheapest|newest|oldest|priciest|most expensive|least expensive|most recent"
    r"|lowest mileage)"
    r"(?:\s+(?:one|car|vehicle))?\b(?!\s+(?:ones|cars|options|vehicles))"
    r"|\b(?:cheapest|newest|priciest|oldest)\s+(?:one|car|vehicle)\b"
    # "cheapest suv u have?", "newest jetta you got": one car, the best of what the customer names.
    r"|^\W*(?:whats |what is |which is )?(?:the |ur |your )?(?:cheapest|newest|oldest|priciest)\s+(?:\w+\s+){1,2}"
    r"(?:u|you|ya|y'?all)\s+(?:have|got|has)\b"
)


# "en León", "in Celaya", "de la sucursal de Querétaro": a place named after a preposition is a value of the
# dealer's column (branch, city), even when the word is also a model name (Seat León).
# The words after the preposition sit in a lookahead, so "chofer de uber en leon" still sees "en leon".
_PLACE = re.compile(
    r"\b(?:en|in|at|de|desde|from|pa|para|hacia|rumbo a|to|al)\s+(?=(?:la |el |the )?"
    r"(?:(?:sucursal|agencia|sede|branch|lote|tienda|ciudad)\s+(?:de |of |en |in )?)?(?P<w>[a-zñ]+)(?P<w2> [a-zñ]+)?)"
)


def _place_features(t: str, vocabulary: CatalogVocabulary) -> tuple[dict[str, str], list[Span]]:
    """Values of the dealer's descriptive columns named after a preposition, with their spans."""
    found: dict[str, str] = {}
    spans: list[Span] = []
    kinds = set(vocabulary.kinds.values())
    for m in _PLACE.finditer(t):
        for end in ("w2", "w"):
            if m.group(end) is None:
                continue
            key = name_key(t[m.start("w") : m.end(end)])
            key = PLACE_ABBREVIATIONS.get(key, key)  # "en qro": Querétaro
            if key in STOPWORDS or key in ("si", "no") or len(key) < 3:
                continue
            hits = [
                (column, values[key])
                for column, values in vocabulary.attribute_values.items()
                if column not in kinds and key in values
            ]
            if len(hits) == 1 and hits[0][0] not in found:
                found[hits[0][0]] = hits[0][1]
                spans.append(Span(m.start("w"), m.end(end)))
                break
    return found, spans


_OWNED_BEFORE = re.compile(
    r"(?:\btengo|\bmi|\bmy|\bi have|\bi own|\bi drive|\bmanejo|\bmi carro es|\bmi auto es|\bmi coche es"
    r"|\bmine is|\bmy car is|\bmi otro (?:carro|auto|coche) es)\s+(?:un |una |a |an )?(?:(?:19|20)\d\d\s+)?$"
)
# The year of a car the customer owns that the catalog does not know ("mi Tsuru 2012", "my old 2009 Civic").
_OWN_YEAR = re.compile(r"\b(?:mi|my|tengo un[oa]?|i have an?|i own an?)\s+(?:[a-zñ-]+\s+){0,2}((?:19|20)\d\d)\b")
_OWN_CUE = re.compile(r"\b(?:tengo|mi|my|i have|i own|i drive|manejo|mine|es un|es una|it'?s an?)\b")
# "¿reciben mi auto a cuenta? es un Aveo 2015": in a message about the customer's own car, "es un" names it.
_TRADE_IN = re.compile(
    r"\b(?:a cuenta|trade(?:[ -]?ins?)?|avaluo|appraisal|mi (?:auto|carro|coche|camioneta)|my car)\b"
)
_IT_IS_BEFORE = re.compile(r"\b(?:es un|es una|it'?s an?|its an?)\s+(?:(?:19|20)\d\d\s+)?$")
_YEAR_AFTER = re.compile(r"\s*(?:modelo\s+)?(?:19|20)\d\d\b")


def _every_vehicle(t: str, first: list[Span], vocabulary: CatalogVocabulary) -> list[Span]:
    """The spans of every car a message names ("¿me reciben mi Aveo a cuenta de la RAV4?": both), in order."""
    spans = list(first)
    rest = t
    for _ in range(2):
        if not spans or not _OWN_CUE.search(t):
            break
        rest = _blank(rest, spans)
        _, _, more = _find_vehicle(rest, vocabulary)
        if not more:
            break
        spans += more
    return sorted(spans, key=lambda span: span.start)


def _owned_spans(t: str, spans: list[Span]) -> list[Span]:
    """Spans of a car the customer says they own ("tengo un Aveo 2016", "my 2017 Sentra", "mi jetta 2014 a
    cuenta"), with its year: wherever it sits in the message, beside the car they want."""
    owned: list[Span] = []
    trade_in = _TRADE_IN.search(t) is not None
    i = 0
    while i < len(spans):
        span = spans[i]
        before = t[max(0, span.start - 40) : span.start]
        cue = _OWNED_BEFORE.search(before) or (_IT_IS_BEFORE.search(before) if trade_in else None)
        if cue is None:
            i += 1
            continue
        start, end = span.start - (len(before) - cue.start()), span.end
        # "tengo un chevrolet aveo": the model right after the make is the same car.
        while i + 1 < len(spans) and not t[end : spans[i + 1].start].strip():
            i += 1
            end = spans[i].end
        year = _YEAR_AFTER.match(t, end)
        owned.append(Span(start, year.end() if year else end))
        i += 1
    return owned


def parse_catalog_query(text: str, vocabulary: CatalogVocabulary) -> CatalogFilters:
    """Turn a Spanish/English customer message into ``CatalogFilters`` using rules only."""
    t = prepare_message(text)
    places, place_spans = _place_features(t, vocabulary)
    t = _blank(t, place_spans)
    make, model, vehicle_spans = _find_vehicle(t, vocabulary)
    owned = _owned_spans(t, _every_vehicle(t, vehicle_spans, vocabulary))
    owned += [Span(m.start(1), m.end(1)) for m in _OWN_YEAR.finditer(t)]  # "mi tsuru 2012": not a year wanted
    if owned:
        # "tengo un Aveo 2016, ¿me lo toman a cuenta del Sentra?": the customer's own car is not the one wanted.
        t = _blank(t, owned)
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
    sort = _sort(rest)
    if limit_match is None and sort != "relevance" and _SINGULAR_SUPERLATIVE.search(t):
        limit = 1

    features = _features(rest, vocabulary)
    body = vocabulary.kinds.get("body")
    if model is not None and body in features and _LOOSE_BODY.search(rest) and not _STRICT_BODY.search(rest):
        # "una camioneta, Ranger o Hilux": in Mexico "camioneta" is any SUV, pickup or van; the model named says
        # which, so the word does not narrow it to SUVs.
        del features[body]
    return CatalogFilters(
        make=make,
        model=model,
        year_min=numbers.year_min,
        year_max=numbers.year_max,
        price_min=numbers.price_min,
        price_max=numbers.price_max,
        km_max=km_max,
        features={**features, **places},
        sort=sort,
        limit=limit,
    )
