"""Rule-based (no LLM) reading of a concierge request: what, how many, budget, where and by when.

``extract_requirements`` is the offline tier: it turns "necesito 2 balatas delanteras para un Jetta
2017, cerca de Polanco, hasta 900 pesos, hoy" into a ``Requirements`` and merges later answers into the
earlier ones. The customer's words are only ever data: nothing in them changes what this code does,
instruction-looking fragments are dropped rather than forwarded to vendors, and every field is capped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from rapidfuzz import fuzz

from app.concierge.geo import check_coordinates
from app.text.normalize import Language, detect_language, fold

# Longer messages are cut before parsing: no request needs more, and it bounds the regex work.
MAX_TEXT_CHARS = 1_000
MAX_ITEMS = 10
MAX_ITEM_NAME_CHARS = 80
MAX_ITEM_DETAILS_CHARS = 120
MAX_HINT_CHARS = 60
MAX_QUANTITY = 999
# Anything bigger is a phone number, an order id or a typo, not what a person spends on an errand.
MAX_BUDGET = 10_000_000
ZONE_MATCH_CUTOFF = 85.0
# Shorter names only match exactly: at four letters one typo is a different word ("Roma" / "rama").
ZONE_FUZZY_MIN_CHARS = 5

# What ``missing_fields`` asks for, in order; only the optional ones can be declined.
FIELD_ORDER = ("items", "location", "urgency", "budget")
OPTIONAL_FIELDS = ("urgency", "budget")
Currency = Literal["MXN", "USD"]


class Category(StrEnum):
    """Which kind of vendor to ask."""

    auto_parts = "auto_parts"
    pharmacy = "pharmacy"
    hardware = "hardware"
    electronics = "electronics"
    services = "services"
    other = "other"


class Urgency(StrEnum):
    """By when the customer needs it, most urgent first."""

    now = "now"
    today = "today"
    tomorrow = "tomorrow"
    this_week = "this_week"
    flexible = "flexible"


class Item(BaseModel):
    """One thing asked for: "balatas delanteras" ×2, details "Jetta 2017"."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=MAX_ITEM_NAME_CHARS)
    quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY)
    details: str | None = Field(default=None, max_length=MAX_ITEM_DETAILS_CHARS)


class Money(BaseModel):
    """An amount in a currency (ISO 4217 code)."""

    model_config = ConfigDict(frozen=True)

    amount: float = Field(gt=0, le=MAX_BUDGET)
    currency: Currency = "MXN"


class Zone(BaseModel):
    """A named area the tenant serves, with a centre point and other names people use for it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=MAX_HINT_CHARS)
    lat: float
    lon: float
    aliases: tuple[str, ...] = ()

    @field_validator("lat")
    @classmethod
    def _lat(cls, v: float) -> float:
        check_coordinates(v, 0.0)
        return v

    @field_validator("lon")
    @classmethod
    def _lon(cls, v: float) -> float:
        check_coordinates(0.0, v)
        return v


class Location(BaseModel):
    """Where the customer needs it: a shared pin, coordinates in the text, or a matched zone."""

    model_config = ConfigDict(frozen=True)

    lat: float
    lon: float
    source: Literal["pin", "coordinates", "zone"]
    zone: str | None = None


class Requirements(BaseModel):
    """Everything the concierge knows about one request so far."""

    items: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)
    # The quantity of a one-item request (None when unsaid, or when there are several items).
    quantity: int | None = Field(default=None, ge=1, le=MAX_QUANTITY)
    budget: Money | None = None
    # "máximo $3,500 c/u": the budget is per unit rather than for the whole request.
    budget_per_unit: bool = False
    location: Location | None = None
    # A place the customer named that matched no zone: shown back to them when asking again.
    location_hint: str | None = Field(default=None, max_length=MAX_HINT_CHARS)
    urgency: Urgency | None = None
    category: Category | None = None
    # Optional fields the customer chose not to give ("sin presupuesto", "da igual"): not asked again.
    declined: list[str] = Field(default_factory=list)
    language: Language = "es"
    # Set when instruction-looking text ("ignore previous instructions") was dropped from the items.
    suspicious_text: bool = False


# --- folded text with offsets back into the original --------------------------------------------


_fold_char = functools.lru_cache(maxsize=4096)(fold)


def folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` and, for each folded character, the index of the original character it came from."""
    if text.isascii() and "\x00" not in text:  # fold() maps NUL to ñ (its placeholder); keep it exact
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        f = _fold_char(ch)
        out.append(f)
        offsets.extend([i] * len(f))
    return "".join(out), offsets


def _original_span(offsets: list[int], start: int, end: int, original_len: int) -> tuple[int, int]:
    if start >= len(offsets):
        return original_len, original_len
    o_start = offsets[start]
    o_end = offsets[end - 1] + 1 if end > start else o_start
    return o_start, o_end


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` without control or invisible characters, whitespace collapsed, cut to ``limit`` characters."""
    text = re.sub(r"[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]", "", text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)
    text = re.sub(r"[ \t]+", " ", text)
    return text.strip()[:limit]


# --- money -----------------------------------------------------------------------------------------

_WORD_NUMBERS = {
    "un": 1,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "quince": 15,
    "veinte": 20,
    "cien": 100,
    "doscientos": 200,
    "trescientos": 300,
    "cuatrocientos": 400,
    "quinientos": 500,
    "seiscientos": 600,
    "setecientos": 700,
    "ochocientos": 800,
    "novecientos": 900,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "fifty": 50,
    "hundred": 100,
    "a": 1,
}
_WNUM = "|".join(sorted((w for w in _WORD_NUMBERS if w != "a"), key=len, reverse=True))
_CURRENCY_WORDS = r"pesos?|mxn|m\.?n\.?|varos|baros|usd|us dollars?|dolares|dollars?|dlls?|dls|bucks"
MONEY_PATTERN = re.compile(
    r"(?<![a-zñ0-9.,$])"
    r"(?P<pre>(?:us\s?\$|usd\s?\$?|mxn\s?\$?|\$)\s*)?"
    r"(?:"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?(?![\d,])"  # 1,200 / 1,200.50
    r"|\d{1,3}(?:\.\d{3})+(?![\d.])"  # 1.200 (no one quotes three decimals)
    r"|\d+(?:\.\d{1,2})?(?![\d]))"  # 850 / 1.5 / 45.90
    r"(?:\s*(?P<unit>mil|k|grand)(?![a-zñ]))?"
    rf"|(?:(?P<wnum>{_WNUM}|a)\s+)?(?P<wunit>mil|thousand)(?![a-zñ])"  # "dos mil", "mil", "a thousand"
    rf"|(?P<wonly>{_WNUM})(?=\s+(?:{_CURRENCY_WORDS})(?![a-zñ]))"  # "quinientos pesos"
    r")"
    rf"(?:\s*(?P<cur>{_CURRENCY_WORDS})(?![a-zñ]))?"
)
# Words after a number that make it something other than money.
NOT_MONEY_AFTER = re.compile(
    r"\s*(?:mg|mcg|ug|g|gr|grs|gramos?|kg|kilos?|ml|l|lts?|litros?|oz|onzas?|cm|mm|m|mts?|metros?|km|kms"
    r"|pulgadas?|in|inch(?:es)?|pies|ft|%|por ciento|percent|piezas?|pzas?|pz|pcs|pieces?|unidades|units?"
    r"|cajas?|boxes?|frascos?|tabletas?|tablets?|capsulas?|capsules?|pastillas?|pills?|sobres?|ampolletas?"
    r"|juegos?|sets?|pares|pairs?|años|anos|ano|año|years?|meses|months?|semanas?|weeks?|dias|days?"
    r"|horas?|hrs?|hours?|h|minutos?|mins?|minutes?|am|pm|a\.m\.|p\.m\.|puertas|doors|cilindros|v|volts?"
    r"|w|watts?|amperes?|amps?|ah|mah|gb|tb|mb|hp|cc|x)(?![a-zñ0-9])"
)
_BUDGET_CUE = re.compile(
    r"(?<![a-zñ])(?:hasta|max|maximo|tope|limite|presupuesto|budget|no mas de|no mas|menos de|menor a|under"
    r"|up to|below|less than|at most|no more than|maximum|pagar|pago|gastar|spend|pay|cuesta|costar|entre"
    r"|between|traigo|tengo|cuento con|alrededor de|unos|como|around|about|aprox|aproximadamente)"
    r"(?:\s+(?:de|del|of|a|the|el|un|unos|es|is|to|como|about|around|maximo|max))*\s*\$?\s*$"
)
_BUDGET_POST = re.compile(
    r"\s*(?:como maximo|maximo|max|tope|a lo mucho|at most|tops|max(?:imum)?|or less|o menos|aprox(?:imadamente)?"
    r"|mas o menos|approx(?:imately)?|en total|total|por todo|for everything)(?![a-zñ])"
)
_RANGE_JOIN = re.compile(r"\s*(?:a|al|y|-|to|and)\s*\$?\s*")
PER_UNIT = re.compile(
    r"(?<![a-zñ])(?:c/u|c/\s?u|cada (?:un[oa]|pieza|una)|cada|por pieza|por unidad|la pieza|each"
    r"|per (?:unit|piece|item)|apiece|a piece)(?![a-zñ])"
)
_NO_BUDGET = re.compile(
    r"(?<![a-zñ])(?:sin presupuesto|no tengo presupuesto|no hay presupuesto|no importa (?:el )?(?:precio|costo)"
    r"|lo que cueste|el precio que sea|cualquier precio|sin limite|no budget|any price|price doesn'?t matter"
    r"|whatever it costs|no price limit|no limit)(?![a-zñ])"
)


def _money_value(m: re.Match[str]) -> float | None:
    if m.group("num") is not None:
        raw = m.group("num")
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", raw):
            value = float(raw.replace(".", ""))
        else:
            value = float(raw.replace(",", ""))
        if m.group("unit") is not None:
            value *= 1000
        return value
    if m.group("wunit") is not None:
        return float(_WORD_NUMBERS.get(m.group("wnum") or "un", 1) * 1000)
    if m.group("wonly") is not None:
        return float(_WORD_NUMBERS[m.group("wonly")])
    return None


def money_currency(m: re.Match[str], default: Currency = "MXN") -> Currency:
    """Currency named around a ``MONEY_PATTERN`` match, else ``default``."""
    marks = f"{m.group('pre') or ''} {m.group('cur') or ''}"
    if re.search(r"us|dol|dll|dls|bucks", marks):
        return "USD"
    if re.search(r"mxn|peso|m\.?n|varo|baro", marks):
        return "MXN"
    return default


def is_year(m: re.Match[str]) -> bool:
    """A bare four-digit year ("Jetta 2017"), not an amount."""
    raw = m.group("num")
    return (
        raw is not None
        and re.fullmatch(r"(?:19[5-9]\d|20[0-4]\d)", raw) is not None
        and not m.group("pre")
        and not m.group("cur")
        and not m.group("unit")
    )


def _find_budget(
    t: str, default_currency: Currency, *, expected: bool = False
) -> tuple[Money | None, list[tuple[int, int]], bool, bool]:
    """The budget in folded text ``t``, the spans it used, whether it is per unit, and whether the customer
    said there is none."""
    spans: list[tuple[int, int]] = []
    per_unit = False
    candidates: list[Money] = []
    last_end = -1
    for m in MONEY_PATTERN.finditer(t):
        value = _money_value(m)
        if value is None or value <= 0:
            continue
        marked = bool(m.group("pre") or m.group("cur") or m.group("unit") or m.group("wunit") or m.group("wonly"))
        cue = _BUDGET_CUE.search(t, max(0, m.start() - 40), m.start())
        if cue is None and last_end >= 0 and _RANGE_JOIN.fullmatch(t, last_end, m.start()):
            cue = _RANGE_JOIN.fullmatch(t, last_end, m.start())  # "de 500 a 800": the end of a range
        if not marked:
            # "hasta 2000" is money and "Jetta 2017" a year; a bare "800" only answers "¿tienes un presupuesto?".
            if NOT_MONEY_AFTER.match(t, m.end()) or value < 10:
                continue
            if cue is None and (is_year(m) or not expected):
                continue
        if value > MAX_BUDGET:
            continue
        candidates.append(Money(amount=round(value, 2), currency=money_currency(m, default_currency)))
        post = _BUDGET_POST.match(t, m.end())
        end = post.end() if post else m.end()
        unit = PER_UNIT.match(t, end + (len(t[end:]) - len(t[end:].lstrip())))
        if unit is not None:
            per_unit = True
            end = unit.end()
        spans.append((cue.start() if cue is not None else m.start(), end))
        last_end = end
    declined = _NO_BUDGET.search(t)
    if declined is not None:
        spans.append(declined.span())
    if not candidates:
        return None, spans, False, declined is not None
    # "entre 500 y 800 pesos": the ceiling is what matters when asking vendors.
    best = max(candidates, key=lambda c: c.amount)
    return best, spans, per_unit, False


# --- urgency ---------------------------------------------------------------------------------------

_WEEKDAYS = (
    r"lunes|martes|miercoles|jueves|viernes|sabado|domingo|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
_FLEXIBLE = re.compile(
    r"(?<![a-zñ])(?:no (?:me |nos )?urge|sin prisa|no hay prisa|no corre prisa|no tengo prisa"
    r"|cuando (?:sea|se pueda|puedan)|no rush|no hurry|whenever|any ?time|la (?:proxima|siguiente) semana"
    r"|next week|el (?:proximo|siguiente) mes"
    r"|next month|not urgent|no es urgente)(?![a-zñ])"
)
_URGENCY_RULES: tuple[tuple[Urgency, re.Pattern[str]], ...] = (
    (
        Urgency.this_week,
        re.compile(
            rf"(?<![a-zñ])(?:esta semana|this week|en (?:estos|unos|un par de) dias|en \d dias|fin de semana"
            rf"|this weekend|(?:el )?weekend|pasado mañana|pasado manana|day after tomorrow|in \d days"
            rf"|(?:el|para el|antes del|by|on|this) (?:{_WEEKDAYS}))(?![a-zñ])"
        ),
    ),
    (
        Urgency.tomorrow,
        re.compile(r"(?<![a-zñ])(?<!la )(?<!esta )(?<!por )(?<!de )(?:mañana|manana|tomorrow)(?![a-zñ])"),
    ),
    (
        Urgency.today,
        re.compile(
            r"(?<![a-zñ])(?:hoy(?: mismo)?|today|tonight|esta (?:tarde|noche|mañana|manana)|this (?:afternoon|evening"
            r"|morning)|en el dia|antes de que cierren|before closing)(?![a-zñ])"
        ),
    ),
    (
        Urgency.now,
        re.compile(
            r"(?<![a-zñ])(?:urgente(?:mente)?|urgencia|me urgen?|urge|emergencia|ya mismo|para ya|ahorita|ahora mismo"
            r"|ahora|de inmediato|inmediato|inmediatamente|lo antes posible|cuanto antes|lo mas pronto posible"
            r"|asap|right now|right away|now|urgent(?:ly)?|emergency|immediately|as soon as possible"
            r"|en este momento|en (?:una|1|2|dos) horas?|in (?:an|one|1|2|two) hours?)(?![a-zñ])"
        ),
    ),
)


def _find_urgency(t: str) -> tuple[Urgency | None, list[tuple[int, int]]]:
    if re.fullmatch(r"\W*ya(?:\W+ya)*\W*", t):
        return Urgency.now, [(0, len(t))]
    spans = [m.span() for m in _FLEXIBLE.finditer(t)]
    if spans:
        return Urgency.flexible, spans
    found: dict[Urgency, list[tuple[int, int]]] = {}
    for urgency, pattern in _URGENCY_RULES:
        hits = [m.span() for m in pattern.finditer(t)]
        if hits:
            found[urgency] = hits
            t = _blank(t, hits)  # "pasado mañana" is not also "mañana"
    if not found:
        return None, []
    all_spans = [s for hits in found.values() for s in hits]
    # An explicit day beats a bare "urgente": "urgente para mañana" is needed by tomorrow.
    explicit = [u for u in (Urgency.today, Urgency.tomorrow, Urgency.this_week) if u in found]
    return (explicit[0] if explicit else Urgency.now), all_spans


# --- location --------------------------------------------------------------------------------------

_COORDS = re.compile(r"(?<![\d.])(-?\d{1,2}\.\d{3,})\s*,\s*(-?\d{1,3}\.\d{3,})(?![\d.])")
_URL = re.compile(r"\b(?:https?://|www\.)\S+|\b[\w.+-]+@[\w-]+\.[\w.]+")
_PHONE = re.compile(r"(?<![\d.])\+?\d[\d \-]{7,}\d(?![\d.])")
_LOCATION_CUE = re.compile(
    r"(?<![a-zñ])(?:cerca de(?: la| el| los)?|por (?:la zona de |el rumbo de |la colonia )?|rumbo a"
    r"|en (?:la )?(?:colonia |col\.? |zona )?|zona(?: de)?|colonia|col\.?|near(?: the)?|close to|around|in|by"
    r"|entrega en|a domicilio en|delivery to|deliver to)\s*:?\s*$"
)
# Cues strong enough that an unknown place after them is still a place ("cerca de Polanco Norte").
_STRONG_LOCATION_CUE = re.compile(
    r"(?<![a-zñ])(?:cerca de(?: la| el| los)?|por (?:la zona de|el rumbo de|la colonia)|rumbo a|en la colonia"
    r"|en (?:la )?col\.?|colonia|col\.|zona(?: de)?|near(?: the)?|close to|delivery to|deliver to|entrega en"
    r"|a domicilio en)(?:\s*:\s*|\s+)(?P<place>[a-zñ0-9][a-zñ0-9 .'-]{1,59})"
)
_PLACE_PREFIX = re.compile(
    r"^\s*(?:(?:ok|va|bueno|sale|pues)[,.]?\s+)?(?:(?:en|por|cerca de|near|in|around|at|zona|colonia|col\.?|rumbo a)"
    r"(?:\s+(?:la|el|los|las|the|zona|colonia|col\.?))*\s+)?",
    re.IGNORECASE,
)
_RELOCATE = re.compile(
    r"(?<![a-zñ])(?:mejor|en vez de eso|en lugar de eso|instead|actually|cambia(?:lo)? a|change (?:it )?to)\s*,?\s*"
    r"(?:en|por|in|near|cerca de|a)\s+(?:(?:la|el|colonia|col\.?|zona)\s+)*(?P<place>[a-zñ][a-zñ0-9 .'-]{1,59})"
)
_PLACE_END = re.compile(r"\s+(?:y|and|para|for|que|con|with|hoy|mañana|manana|today|tomorrow|hasta|por favor|please)\b")


def _zone_terms(zones: Sequence[Zone]) -> list[tuple[str, Zone]]:
    terms: list[tuple[str, Zone]] = []
    for zone in zones:
        for name in (zone.name, *zone.aliases):
            term = " ".join(re.findall(r"[a-zñ0-9]+", fold(name)))
            if term:
                terms.append((term, zone))
    return terms


def match_zone(text: str, zones: Sequence[Zone]) -> tuple[Zone, tuple[int, int]] | None:
    """The zone named in ``text`` (accent-folded, typo-tolerant) and its span in ``fold(text)``, or None."""
    t = fold(text)
    terms = _zone_terms(zones)
    if not terms:
        return None
    # Exact (folded) mentions first, longest name first: "Roma Norte" before "Roma".
    for term, zone in sorted(terms, key=lambda tz: -len(tz[0])):
        m = re.search(rf"(?<![a-zñ0-9]){re.escape(term)}(?![a-zñ0-9])", t)
        if m is not None:
            return zone, m.span()
    tokens = list(re.finditer(r"[a-zñ0-9]+", t))
    best: tuple[float, int, Zone, tuple[int, int]] | None = None
    for term, zone in terms:
        if len(term) < ZONE_FUZZY_MIN_CHARS:
            continue
        size = term.count(" ") + 1
        for width in {max(1, size - 1), size, size + 1}:
            for i in range(len(tokens) - width + 1):
                start, end = tokens[i].start(), tokens[i + width - 1].end()
                window = " ".join(tok.group(0) for tok in tokens[i : i + width])
                if abs(len(window) - len(term)) > max(2, len(term) // 4):
                    continue
                score = fuzz.ratio(window, term)
                if score >= ZONE_MATCH_CUTOFF and (best is None or (score, -start) > (best[0], -best[1])):
                    best = (score, start, zone, (start, end))
    if best is None:
        return None
    return best[2], best[3]


def _find_location(
    t: str, zones: Sequence[Zone]
) -> tuple[Location | None, tuple[int, int] | None, list[tuple[int, int]]]:
    spans: list[tuple[int, int]] = []
    for m in _COORDS.finditer(t):
        lat, lon = float(m.group(1)), float(m.group(2))
        try:
            check_coordinates(lat, lon)
        except ValueError:
            continue
        spans.append(m.span())
        return Location(lat=lat, lon=lon, source="coordinates"), None, spans
    found = match_zone(t, zones)
    if found is not None:
        zone, (start, end) = found
        cue = _LOCATION_CUE.search(t, max(0, start - 40), start)
        spans.append((cue.start() if cue else start, end))
        return Location(lat=zone.lat, lon=zone.lon, source="zone", zone=zone.name), None, spans
    hint = _STRONG_LOCATION_CUE.search(t)
    if hint is not None:
        place = hint.group("place")
        cut = _PLACE_END.search(place)
        if cut is not None:
            place = place[: cut.start()]
        place = re.split(r"[,.;!?]", place)[0].strip()
        if place:
            spans.append((hint.start(), hint.start("place") + len(place)))
            return None, (hint.start("place"), hint.start("place") + len(place)), spans
    return None, None, spans


# --- categories ------------------------------------------------------------------------------------

_CAR_MODELS = (
    r"jetta|vento|golf|polo|tsuru|sentra|versa|march|tiida|aveo|spark|beat|onix|corolla|yaris|camry|hilux|civic"
    r"|accord|crv|cr-v|mazda ?\d|cx-?\d|chevy|pointer|vocho|beetle|ranger|lobo|f-?150|frontier|np300|tacoma|rav4"
    r"|tiguan|ibiza|leon|rio|forte|sportage|accent|elantra|nissan|toyota|honda|ford|chevrolet|volkswagen|vw|kia"
    r"|hyundai|seat|mitsubishi|suzuki|swift|renault|duster|peugeot|fiat|dodge|ram|jeep"
)
_CATEGORY_RULES: tuple[tuple[Category, re.Pattern[str]], ...] = (
    (
        Category.auto_parts,
        re.compile(
            r"(?<![a-zñ])(?:balatas?|pastillas de freno|frenos?|discos? de freno|rotores?|filtros? de (?:aceite|aire"
            r"|gasolina)|filtros?|aceite (?:de motor|sintetico|para motor)|anticongelante|bujias?|amortiguadores?"
            r"|llantas?|neumaticos?|rines?|acumulador|bateria (?:de|para) (?:auto|carro|coche)|radiador|alternador"
            r"|marcha|clutch|embrague|banda de distribucion|bandas?|faros?|calaveras?|espejo lateral|defensa"
            r"|parabrisas|limpiaparabrisas|plumas|refacciones?|autopartes|brake pads?|brakes?|rotors?|spark plugs?"
            r"|oil filter|air filter|filters?|motor oil|tires?|tyres?|shock absorbers?|shocks|alternator|radiator"
            r"|headlights?|bumper|windshield|wipers?|car battery|auto parts|spare parts?|car parts"
            rf"|{_CAR_MODELS})(?![a-zñ])"
        ),
    ),
    (
        Category.pharmacy,
        re.compile(
            r"(?<![a-zñ])(?:recetas?|medicamentos?|medicinas?|farmacia|pastillas?(?! de freno)|tabletas?|capsulas?"
            r"|jarabe|suspension|ampolletas?|inyeccion|gotas|pomada|unguento|paracetamol|ibuprofeno|amoxicilina"
            r"|omeprazol|losartan|metformina|insulina|antibioticos?|naproxeno|diclofenaco|loratadina|salbutamol"
            r"|inhalador|aspirina|ketorolaco|azitromicina|ciprofloxacino|cetirizina|prednisona|enalapril"
            r"|\d+ ?mg|\d+ ?mcg|prescription|pharmacy|drugstore|pills?|tablets?|capsules?|syrup|medicines?"
            r"|medication|aspirin|tylenol|advil|ibuprofen|acetaminophen|amoxicillin|antibiotics?|inhaler|ointment)"
            r"(?![a-zñ])"
        ),
    ),
    (
        Category.hardware,
        re.compile(
            r"(?<![a-zñ])(?:tornillos?|clavos?|taquetes?|taladro|brocas?|martillo|pintura|brocha|rodillo|cemento"
            r"|yeso|tubos?|tuberia|pvc|codos?|llave (?:de paso|inglesa|stillson|perica)|pinzas|desarmador"
            r"|destornillador|cinta (?:de aislar|aislante|metrica)|silicon|pegamento|lijas?|ferreteria"
            r"|cable electrico|apagador|contactos? electricos?|focos?|bombillas?|tuercas?|rondanas?|candado"
            r"|screws?|nails?|drill|drill bits?|hammer|paint|paintbrush|wrench|pliers|screwdriver|pipes?|glue"
            r"|hardware store|bolts?|nuts|washers|padlock|light ?bulbs?|sandpaper|duct tape)(?![a-zñ])"
        ),
    ),
    (
        Category.electronics,
        re.compile(
            r"(?<![a-zñ])(?:cargador(?:es)?|celular(?:es)?|telefono|cable usb|usb|usb-?c|audifonos|bocinas?"
            r"|laptop|computadora|pantalla|television|televisor|tv|control remoto|mica|funda|chargers?|phone cases?"
            r"|phones?|headphones|earbuds|speakers?|laptops?|computer|monitor|tablet|iphone|samsung|xiaomi|hdmi"
            r"|power bank|memoria usb|sd card)(?![a-zñ])"
        ),
    ),
    (
        Category.services,
        re.compile(
            r"(?<![a-zñ])(?:plomero|plomeria|electricista|cerrajero|cerrajeria|tecnico|reparacion|reparar|arreglar"
            r"|arreglen|instalacion|instalar|mantenimiento|limpieza|mudanza|flete|grua|mecanico|jardinero|pintor"
            r"|carpintero|albañil|fumigacion|herrero|vulcanizadora|plumber|electrician|locksmith|repair|fix"
            r"|install(?:ation)?|cleaning|movers|moving|tow truck|mechanic|handyman|gardener|painter|carpenter"
            r"|technician)(?![a-zñ])"
        ),
    ),
)


def guess_category(text: str) -> Category | None:
    """The kind of vendor ``text`` calls for by keyword count (None when nothing matches)."""
    t = fold(text)
    best: tuple[int, int, Category] | None = None
    for order, (category, pattern) in enumerate(_CATEGORY_RULES):
        hits = len(pattern.findall(t))
        if hits and (best is None or (hits, -order) > (best[0], -best[1])):
            best = (hits, order, category)
    return best[2] if best else None


# --- items -----------------------------------------------------------------------------------------

_INSTRUCTION_LIKE = re.compile(
    r"(?<![a-zñ])(?:ignor[ae]\w*|olvida\w*|disregard|forget) (?:\w+ ){0,3}(?:instrucciones|instructions|reglas|rules"
    r"|prompts?|mensajes?|messages?)"
    r"|system prompt|prompt del sistema|(?:you are|eres) (?:now |ahora )?(?:an? |un |una )?(?:ai|ia|assistant|asistente"
    r"|bot|chatgpt|dan)\b|act(?:ua|úa)? (?:as|como) |developer mode|modo desarrollador|jailbreak|<\s*/?\s*system"
    r"|\[\s*system\s*\]|^\s*(?:system|assistant|sistema)\s*:|reply with|responde (?:con|solo)|repite (?:tus|las)"
    r"|reveal|revela|api key|password|contraseña|contrasena"
    r"|(?:set|cambia|pon|establece|change) (?:the |el |la |tu |your )?(?:category|categoria|budget|presupuesto|price"
    r"|precio|status|estado|zona|zone)\s*(?:=|to|a|en)"
)
_SENTENCE = re.compile(r"[^.!?¡¿\n]+[.!?\n]*")
_GREETING = re.compile(
    r"(?<![a-zñ])(?:hola|holi|buen(?:os|as)? (?:dias|tardes|noches|dia)|buenas|que tal|oye|oiga|disculpa|disculpe"
    r"|perdon|por favor|porfa|porfavor|x ?favor|xfa|plis|gracias|muchas gracias|saludos|hi|hello|hey"
    r"|good (?:morning|afternoon|evening)|please|pls|thanks|thank you)(?![a-zñ])"
)
_REQUEST_VERB = re.compile(
    r"(?<![a-zñ])(?:(?:yo )?(?:necesito|necesitamos|ocupo|ocupamos|requiero|busco|buscamos|ando buscando"
    r"|estoy buscando|quiero|quisiera|queria|me urgen?|me hace falta|me hacen falta|me falta|me faltan)"
    r"(?: (?:conseguir|comprar|encontrar))?"
    r"|(?:me )?(?:puedes|pueden|podrian|podrias) (?:conseguir(?:me)?|buscar(?:me)?|encontrar(?:me)?|ayudar a conseguir)"
    r"|me (?:consigues|consiguen|ayudas a conseguir|ayudan a conseguir)|conseguirme|(?:tienen|tendran|venden|manejan)"
    r"|(?:i )?(?:need|want|would like|am looking for|'m looking for|im looking for)|looking for|searching for"
    r"|(?:can|could) you (?:find|get)(?: me)?|do you (?:have|sell)|where can i (?:get|buy|find)|get me"
    r"|tambien|ademas|agrega|agregale|añade|añadele|also|plus|otra cosa|mejor|en vez de eso|en lugar de eso"
    r"|instead|actually|corrijo|cambia(?: a)?|change (?:it )?to)(?![a-zñ])"
)
_ADD_CUE = re.compile(r"(?<![a-zñ])(?:tambien|ademas|agrega\w*|añade\w*|also|plus|otra cosa|and also)(?![a-zñ])")
_REPLACE_CUE = re.compile(
    r"(?<![a-zñ])(?:mejor|en vez de|en lugar de|instead|actually|corrijo|cambia(?:lo)? (?:a|por)|change (?:it )?to"
    r"|no,? (?:es|son|eran|era))(?![a-zñ])"
)
_SPLIT = re.compile(r"\s*(?:[,;\n•·|+]|\s(?:y|e|and|&)\s|\s-\s)\s*")
_BULLET = re.compile(r"^\s*(?:\d{1,2}[.)]\s+|[-*]\s+)")
_LEADING_FILLER = re.compile(
    r"^(?:(?:de|del|la|el|los|las|lo|un(?! par de)|una|unos|unas|the|a(?! (?:pair|couple) of)|an|some|any|me|que"
    r"|para|for|por|of|to|y|and"
    r"|e|tambien|also|con|with|en|in|at|favor|mi|my|sus?)\s+)+"
)
_TRAILING_FILLER = re.compile(
    r"(?:\s+(?:de|del|la|el|los|las|un|una|para|for|por|of|to|y|and|e|con|with|en|in|at|me|que|pls|porfa))+$"
)
_DETAILS_CUE = re.compile(
    r"\s(?:para (?:un |una |el |la |mi |mis |los |las )?|for (?:a |an |the |my )?|modelo |model |marca |brand "
    r"|compatible (?:con|with) |que sea(?:n)? |that (?:is|are) )"
)
_QUANTITY = re.compile(
    rf"^(?:(?P<n>\d{{1,3}})\s*(?:x\s*)?|x\s*(?P<xn>\d{{1,3}})\s+|(?P<pair>un par de|a pair of|a couple of)\s+"
    rf"|(?P<w>{_WNUM})\s+)(?=[a-zñ])"
)
_TRAILING_QUANTITY = re.compile(r"\s+(?:x\s*(?P<a>\d{1,3})|(?P<b>\d{1,3})\s*(?:x|pzas?|piezas|pieces|pcs|unidades))$")
_YEARISH = re.compile(rf"^(?:(?:{_CAR_MODELS})\s+)?(?:modelo\s+|model\s+)?(?:19[5-9]\d|20[0-4]\d)$")
_MODIFIERS = frozenset(
    {
        "delantera",
        "delanteras",
        "delantero",
        "delanteros",
        "trasera",
        "traseras",
        "trasero",
        "traseros",
        "izquierda",
        "izquierdo",
        "derecha",
        "derecho",
        "front",
        "rear",
        "left",
        "right",
        "originales",
        "original",
        "genericas",
        "genericos",
        "generico",
        "generica",
        "nuevas",
        "nuevos",
        "usadas",
        "usados",
        "grandes",
        "chicas",
        "chicos",
    }
)


# Fragments made only of these are leftovers of a sentence, not things to look for.
_NOISE_WORDS = frozenset(
    [
        "es",
        "son",
        "esta",
        "estan",
        "sea",
        "sean",
        "is",
        "it",
        "its",
        "are",
        "be",
        "muy",
        "very",
        "lo",
        "la",
        "el",
        "los",
        "las",
        "que",
        "algo",
        "something",
        "ok",
        "okay",
        "bien",
        "si",
        "no",
        "mas",
        "more",
        "menos",
        "less",
        "maximo",
        "max",
        "minimo",
        "min",
        "aprox",
        "aproximadamente",
        "presupuesto",
        "budget",
        "total",
        "precio",
        "price",
        "urgente",
        "urgent",
        "rapido",
        "fast",
        "pronto",
        "soon",
        "favor",
        "porfa",
        "pls",
        "gracias",
        "thanks",
        "hola",
        "hi",
        "eso",
        "this",
        "that",
        "esto",
        "aqui",
        "here",
        "alla",
        "there",
        "zona",
        "area",
        "colonia",
        "col",
        "ubicacion",
        "location",
        "cerca",
        "near",
        "por",
        "en",
        "in",
        "a",
        "de",
        "para",
        "for",
        "con",
        "with",
        "y",
        "and",
        "o",
        "or",
        "pero",
        "but",
        "necesito",
        "need",
        "quiero",
        "want",
        "busco",
        "tengo",
        "have",
        "hay",
        "ya",
        "also",
        "tambien",
        "algun",
        "alguna",
        "any",
        "some",
        "cosa",
        "thing",
        "cosas",
        "things",
    ]
)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(max(0, start), min(len(chars), end)):
            chars[i] = " "
    return "".join(chars)


_MEASURE_AFTER = re.compile(
    r"\s*(?:mg|mcg|ug|g|gr|grs|gramos?|kg|kilos?|ml|l|lts?|litros?|oz|onzas?|cm|mm|m|mts?|metros?|pulgadas?|in"
    r"|inch(?:es)?|pies|ft|%|años|anos|ano|año|v|volts?|w|watts?|amps?|ah|mah|gb|tb|mb|hp|cc)(?![a-zñ0-9])"
)


def _slice(original: str, offsets: list[int], start: int, end: int) -> str:
    """The part of ``original`` behind its folded characters [start, end)."""
    if start >= end or start >= len(offsets):
        return ""
    return original[offsets[start] : offsets[min(end, len(offsets)) - 1] + 1]


def _strip_fillers(fragment: str) -> str:
    """``fragment`` without leading and trailing articles and connectors ("de la", "para", "the")."""
    f, offsets = folded_with_offsets(fragment)
    lead = _LEADING_FILLER.match(f)
    start = lead.end() if lead is not None else 0
    trail = _TRAILING_FILLER.search(f)
    end = trail.start() if trail is not None and trail.start() >= start else len(f)
    return _slice(fragment, offsets, start, end)


def _take_quantity(fragment: str) -> tuple[int | None, str]:
    """A leading ("2 balatas", "un par de") or trailing ("x3") quantity, and the fragment without it."""
    f, offsets = folded_with_offsets(fragment)
    m = _QUANTITY.match(f)
    if m is not None and not (m.group("n") and _MEASURE_AFTER.match(f, m.end("n"))):
        if m.group("n") or m.group("xn"):
            n = int(m.group("n") or m.group("xn"))
        elif m.group("pair"):
            n = 2
        else:
            n = _WORD_NUMBERS[m.group("w")]
        if 1 <= n <= MAX_QUANTITY:
            return n, _slice(fragment, offsets, m.end(), len(f))
    t = _TRAILING_QUANTITY.search(f)
    if t is not None:
        n = int(t.group("a") or t.group("b"))
        if 1 <= n <= MAX_QUANTITY:
            return n, _slice(fragment, offsets, 0, t.start())
    return None, fragment


def _split_details(fragment: str) -> tuple[str, str | None]:
    """ "balatas para un Jetta 2017" → ("balatas", "Jetta 2017")."""
    f, offsets = folded_with_offsets(fragment)
    cue = _DETAILS_CUE.search(f)
    if cue is None or cue.start() == 0:
        return fragment, None
    return _slice(fragment, offsets, 0, cue.start()), _slice(fragment, offsets, cue.end(), len(f)) or None


def _tidy(text: str, limit: int) -> str:
    text = re.sub(r"[*_~`<>{}\[\]\\]", "", text)
    text = re.sub(r"\s+", " ", text).strip(" .,:;!?¿¡-\"'()")
    return text[:limit].rstrip()


def _parse_items(residual: str) -> tuple[list[Item], bool]:
    """Items in the leftover original text once money, place and time words are blanked out."""
    items: list[Item] = []
    suspicious = False
    # Blanked-out spans leave long runs of spaces; collapsed first, they cannot make the split quadratic.
    residual = re.sub(r"[ \t]{2,}", " ", residual)
    for raw_fragment in _SPLIT.split(residual):
        fragment = _BULLET.sub("", raw_fragment).strip(" .,:;!?¿¡-\"'()")
        if not fragment:
            continue
        if _INSTRUCTION_LIKE.search(fold(fragment)):
            suspicious = True
            continue
        quantity, fragment = _take_quantity(_strip_fillers(fragment))
        fragment = _strip_fillers(fragment)
        f = fold(fragment)
        if not re.search(r"[a-zñ]{2}", f) or all(w in _NOISE_WORDS for w in re.findall(r"[a-zñ]+", f)):
            continue
        fragment, details = _split_details(fragment)
        words = re.findall(r"[a-zñ0-9]+", fold(fragment))
        if items and _YEARISH.match(" ".join(words)):
            # "balatas delanteras, Jetta 2017": the car belongs to the item before.
            prev = items[-1]
            merged = ", ".join(x for x in (prev.details, _tidy(fragment, MAX_ITEM_DETAILS_CHARS)) if x)
            items[-1] = prev.model_copy(update={"details": merged[:MAX_ITEM_DETAILS_CHARS] or None})
            continue
        if items and len(words) == 1 and words[0] in _MODIFIERS and quantity is None:
            # "balatas delanteras y traseras": one item, not "traseras" on its own.
            prev = items[-1]
            items[-1] = prev.model_copy(update={"name": _tidy(f"{prev.name} y {fragment}", MAX_ITEM_NAME_CHARS)})
            continue
        name = _tidy(fragment, MAX_ITEM_NAME_CHARS)
        if not re.search(r"[^\W\d_]{2}", name):
            continue
        detail_text = _tidy(details, MAX_ITEM_DETAILS_CHARS) if details else None
        items.append(Item(name=name, quantity=quantity, details=detail_text or None))
        if len(items) >= MAX_ITEMS:
            break
    return items, suspicious


def _merge_items(old: list[Item], new: list[Item]) -> list[Item]:
    merged = list(old)
    seen = {fold(i.name) for i in merged}
    for item in new:
        key = fold(item.name)
        if key in seen:
            merged = [item if fold(m.name) == key else m for m in merged]
            continue
        seen.add(key)
        merged.append(item)
    return merged[:MAX_ITEMS]


_SKIP_ANSWER = re.compile(
    r"^(?:no se|nose|no lo se|ni idea|da igual|me da igual|cualquiera|lo que sea|no importa|ninguno|ninguna|paso"
    r"|skip|no|nop|nel|n/?a|idk|i don'?t know|dont know|doesn'?t matter|does not matter|any|anything|whatever"
    r"|none|no preference|sin preferencia|como sea|no tengo|no hay)$"
)


# --- public API ------------------------------------------------------------------------------------


def extract_requirements(
    text: str,
    *,
    zones: Sequence[Zone] = (),
    language: Language | None = None,
    previous: Requirements | None = None,
    pin: tuple[float, float] | None = None,
    default_currency: Currency = "MXN",
) -> Requirements:
    """Read one customer message (and an optional shared WhatsApp ``pin`` (lat, lon)) into Requirements,
    merged into ``previous`` answers."""
    cleaned = clean_text(text)
    lang: Language = language or (previous.language if previous else None) or detect_language(cleaned)
    prev = previous or Requirements(language=lang)
    awaiting = next_field(prev) if previous is not None else None

    t, offsets = folded_with_offsets(cleaned)
    spans: list[tuple[int, int]] = [m.span() for m in _URL.finditer(t)]
    spans += [m.span() for m in _PHONE.finditer(t)]
    # A sentence that reads like instructions to a bot is dropped whole, before any field is read from it.
    injected = [m.span() for m in _SENTENCE.finditer(t) if _INSTRUCTION_LIKE.search(m.group(0))]
    spans += injected
    t_for_rules = _blank(t, spans)

    location, hint_span, loc_spans = _find_location(t_for_rules, zones)
    hint: str | None = None
    if hint_span is not None:
        o_start, o_end = _original_span(offsets, *hint_span, len(cleaned))
        hint = _tidy(cleaned[o_start:o_end], MAX_HINT_CHARS) or None
    if pin is not None:
        check_coordinates(pin[0], pin[1])
        location, hint = Location(lat=pin[0], lon=pin[1], source="pin"), None
    budget, budget_spans, per_unit, no_budget = _find_budget(
        _blank(t_for_rules, loc_spans), default_currency, expected=awaiting == "budget"
    )
    urgency, urgency_spans = _find_urgency(t_for_rules)
    spans += loc_spans + budget_spans + urgency_spans
    spans += [m.span() for m in _GREETING.finditer(t)]
    spans += [m.span() for m in _REQUEST_VERB.finditer(t)]
    spans += [m.span() for m in _REPLACE_CUE.finditer(t)]
    replace = _REPLACE_CUE.search(t_for_rules) is not None
    # "mejor en Tlalpan" after a location was set: a new place we do not know, not a new item.
    moved = _RELOCATE.search(t_for_rules) if replace and location is None and prev.location is not None else None
    if moved is not None and hint is None:
        o_start, o_end = _original_span(offsets, *moved.span("place"), len(cleaned))
        hint = _tidy(re.split(r"[,.;!?]", cleaned[o_start:o_end])[0], MAX_HINT_CHARS) or None
        spans.append(moved.span())
    relocating = replace and location is None and hint is not None

    declined = list(prev.declined)
    answer = re.sub(r"[^a-zñ/' ]", "", t).strip()
    skip = _SKIP_ANSWER.match(answer) is not None
    if no_budget and "budget" not in declined:
        declined.append("budget")
    if skip and awaiting in OPTIONAL_FIELDS and awaiting not in declined:
        declined.append(awaiting)

    new_items: list[Item] = []
    suspicious = prev.suspicious_text or bool(injected)
    wants_items = not prev.items or awaiting == "items" or replace or _ADD_CUE.search(t_for_rules) is not None
    if wants_items and not skip and not relocating:
        original_spans = [_original_span(offsets, s, e, len(cleaned)) for s, e in spans if e > s]
        new_items, flagged = _parse_items(_blank(cleaned, original_spans))
        suspicious = suspicious or flagged
    elif _INSTRUCTION_LIKE.search(t):
        suspicious = True
    items = new_items if (replace and new_items) else _merge_items(prev.items, new_items)
    if replace and len(prev.items) == 1 and len(new_items) == 1 and fold(new_items[0].name) in _MODIFIERS:
        # "no, son traseras": the same item with another side, not an item called "traseras".
        old = prev.items[0]
        base = " ".join(w for w in old.name.split() if fold(w) not in _MODIFIERS and fold(w) != "y")
        items = [old.model_copy(update={"name": _tidy(f"{base} {new_items[0].name}", MAX_ITEM_NAME_CHARS)})]

    quantity = items[0].quantity if len(items) == 1 else None
    item_text = " ".join(f"{i.name} {i.details or ''}" for i in items)
    category = guess_category(item_text) if items else None
    if category is None and items:
        category = prev.category or Category.other

    if location is not None:
        hint = None
    elif hint is None and awaiting == "location" and not skip and not new_items and prev.location is None:
        # The reply to "¿en qué zona?" was a place we do not know: keep it to show back.
        guess = _tidy(re.split(r"[,.;!?\n]", _PLACE_PREFIX.sub("", cleaned))[0], MAX_HINT_CHARS)
        hint = guess if re.search(r"[^\W\d_]{3}", guess) and not _INSTRUCTION_LIKE.search(t) else None

    return Requirements(
        items=items,
        quantity=quantity,
        budget=budget or (None if no_budget else prev.budget),
        budget_per_unit=per_unit if budget is not None else (prev.budget_per_unit and not no_budget),
        # A new place we could not match replaces the old one: asking again beats searching the wrong area.
        location=None if relocating else (location or prev.location),
        location_hint=hint if relocating or (location is None and prev.location is None) else None,
        urgency=urgency or prev.urgency,
        category=category,
        declined=declined,
        language=lang,
        suspicious_text=suspicious,
    )


def missing_fields(req: Requirements) -> list[str]:
    """Fields still to ask for, in the order to ask: items, location, then urgency and budget unless declined."""
    missing: list[str] = []
    if not req.items:
        missing.append("items")
    if req.location is None:
        missing.append("location")
    if req.urgency is None and "urgency" not in req.declined:
        missing.append("urgency")
    if req.budget is None and "budget" not in req.declined:
        missing.append("budget")
    return missing


def next_field(req: Requirements) -> str | None:
    """The one field ``next_question`` asks about, or None when the request is complete."""
    missing = missing_fields(req)
    return missing[0] if missing else None


def is_ready(req: Requirements) -> bool:
    """Whether vendors can be asked: something to look for and somewhere to look."""
    return bool(req.items) and req.location is not None


def next_question(
    req: Requirements, language: Language | None = None, *, zone_examples: Sequence[str] = ()
) -> str | None:
    """The single question to ask next (Spanish or English), or None when nothing is missing."""
    field = next_field(req)
    lang = language or req.language
    examples = ", ".join(_tidy(z, 30) for z in zone_examples[:3])
    if field == "items":
        if lang == "en":
            return (
                "What do you need me to find? Tell me the product or service (brand, model or size if it applies). "
                "You can also send a photo of the label or prescription."
            )
        return (
            "¿Qué necesitas conseguir? Dime el producto o servicio (marca, modelo o medida si aplica). "
            "También puedes mandar una foto de la etiqueta o la receta."
        )
    if field == "location":
        if lang == "en":
            unknown = f'I couldn\'t find "{req.location_hint}" among the areas we cover. ' if req.location_hint else ""
            zone_line = f" or type your area (e.g. {examples})" if examples else " or type your neighbourhood"
            return f"{unknown}Where do you need it? Share your location pin (📎 > Location){zone_line}."
        unknown = f"No encontré «{req.location_hint}» entre las zonas que cubrimos. " if req.location_hint else ""
        zone_line = f" o escribe tu zona (por ejemplo: {examples})" if examples else " o escribe tu colonia"
        return f"{unknown}¿En qué zona lo necesitas? Mándame tu ubicación de WhatsApp (📎 > Ubicación){zone_line}."
    if field == "urgency":
        if lang == "en":
            return "When do you need it? (now, today, tomorrow, this week, or no rush)"
        return "¿Para cuándo lo necesitas? (ya, hoy, mañana, esta semana o sin prisa)"
    if field == "budget":
        if lang == "en":
            return 'Do you have a maximum budget? (e.g. "up to 900 pesos"; if not, reply "no budget")'
        return "¿Tienes un presupuesto máximo? (por ejemplo «hasta 900 pesos»; si no, responde «sin presupuesto»)"
    return None


def format_money(money: Money, language: Language = "es") -> str:
    """ "$1,200 MXN", "$45.50 USD"."""
    amount = money.amount
    number = f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"
    return f"${number} {money.currency}"


def budget_text(req: Requirements, language: Language = "es") -> str | None:
    """ "$3,500 MXN c/u" / "$900 MXN" / None."""
    if req.budget is None:
        return None
    unit = (" each" if language == "en" else " c/u") if req.budget_per_unit else ""
    return f"{format_money(req.budget, language)}{unit}"


_URGENCY_TEXT: dict[Language, dict[Urgency, str]] = {
    "es": {
        Urgency.now: "lo antes posible",
        Urgency.today: "hoy",
        Urgency.tomorrow: "mañana",
        Urgency.this_week: "esta semana",
        Urgency.flexible: "sin prisa",
    },
    "en": {
        Urgency.now: "as soon as possible",
        Urgency.today: "today",
        Urgency.tomorrow: "tomorrow",
        Urgency.this_week: "this week",
        Urgency.flexible: "no rush",
    },
}


def urgency_text(urgency: Urgency, language: Language = "es") -> str:
    """How an urgency reads in a message ("hoy", "as soon as possible")."""
    return _URGENCY_TEXT[language][urgency]


def item_line(item: Item) -> str:
    """ "2 × balatas delanteras (Jetta 2017)"."""
    text = f"{item.quantity} × {item.name}" if item.quantity and item.quantity > 1 else item.name
    return f"{text} ({item.details})" if item.details else text


def location_text(req: Requirements, language: Language = "es") -> str | None:
    """The zone name, or how a shared pin reads ("tu ubicación compartida")."""
    if req.location is None:
        return None
    if req.location.zone:
        return req.location.zone
    return "your shared location" if language == "en" else "tu ubicación compartida"


def confirmation_text(req: Requirements, language: Language | None = None) -> str:
    """A summary of the request to confirm before any vendor is contacted."""
    lang = language or req.language
    en = lang == "en"
    lines = ["This is what I'll ask nearby vendors for:" if en else "Esto es lo que voy a pedir a vendedores cercanos:"]
    lines += [f"• {item_line(item)}" for item in req.items]
    place = location_text(req, lang)
    if place:
        lines.append(f"{'Area' if en else 'Zona'}: {place}")
    if req.urgency is not None:
        lines.append(f"{'When' if en else 'Para'}: {urgency_text(req.urgency, lang)}")
    if req.budget is not None:
        lines.append(f"{'Budget: up to' if en else 'Presupuesto: hasta'} {budget_text(req, lang)}")
    elif "budget" in req.declined:
        lines.append("Budget: no fixed limit" if en else "Presupuesto: sin límite fijo")
    lines.append(
        "Shall I start? Reply YES to search, or tell me what to change."
        if en
        else "¿Lo busco? Responde SÍ para empezar o dime qué cambiar."
    )
    return "\n".join(lines)


_YES = re.compile(
    r"^(?:si|sip|simon|claro|va|dale|ok|okay|okey|sale|adelante|de acuerdo|correcto|esta bien|perfecto|asi es"
    r"|yes|yep|yeah|sure|go|go ahead|do it|confirm|confirmo|confirmado|busca|buscalo|si por favor|si porfa"
    r"|yes please|👍)$"
)
_NO = re.compile(r"^(?:no|nop|nel|no gracias|todavia no|aun no|espera|not yet|wait|no thanks|nope)$")


def parse_confirmation(text: str) -> Literal["yes", "no"] | None:
    """The customer's answer to ``confirmation_text``: "yes", "no", or None for anything else (a change)."""
    t = re.sub(r"[^a-zñ👍 ]", "", fold(clean_text(text, 60)))
    t = re.sub(r"\s+", " ", t).strip()
    if _YES.match(t):
        return "yes"
    if _NO.match(t):
        return "no"
    return None
