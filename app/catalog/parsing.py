"""Rule-based (no LLM) parsing of a customer's free text into catalog filters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from app.catalog.search import (
    STOPWORDS,
    CatalogFilters,
    CatalogVocabulary,
    SortOrder,
    name_key,
    split_make_digits,
)
from app.text.normalize import fold

# "poco kilometraje" without a number means at most this many km.
LOW_MILEAGE_KM = 60_000
AROUND_TOLERANCE = 0.10
YEAR_MIN, YEAR_MAX = 1990, 2030
KM_PER_MILE = 1.609
# Anything bigger is a phone number or an id, not a car price.
MAX_PRICE = 100_000_000

_TOKEN = re.compile(r"[a-z0-9ñ]+")

_AMOUNT = re.compile(
    r"(?<![a-zñ0-9.,$])"
    r"(?P<cur>\$\s*)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)"  # 250,000 / 250,000.00
    r"|\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?(?!\d)"  # 250.000 / 250.000,00
    r"|\d{1,3}(?: \d{3})+(?![\d.,]\d)"  # 250 000
    r"|\d+(?:[.,]\d{1,2}(?!\d))?(?!\d))"  # 250 / 1.2 / 1,5
    r"(?:\s*(?P<unit>millones|millon|mdp|mil|thousand|grand|k|m)(?![a-zñ]))?"
    r"(?:\s*(?P<tail>pesos|mxn|usd|dolares|dlls|kilometros|kilometraje|kms|km|millas|miles)(?![a-zñ]))?"
)

# Words that may sit between a cue and its number: "menos DE", "presupuesto ES DE". One character or
# word per repetition: a nested quantifier like (\s+)* backtracks exponentially on blanked-out spans.
_FILL = r"(?:[\s:$]|\b(?:de|del|of|los|las|el|la|un|una|the|a|an|es|is|sea|be|que|en)\b)*"
_PRE_CUE = re.compile(
    r"(?<![a-zñ0-9])(?:"
    r"(?P<around>mas o menos|alrededor|aproximadamente|aprox|cerca|como|unos|unas|around|about|approximately|approx"
    r"|roughly|por ahi|~)"
    r"|(?P<min_strict>despues|after|newer than|mas nuevos? que|posterior|later than)"
    r"|(?P<max_strict>antes|before|older than|mas viejos? que|anterior)"
    r"|(?P<min_phrase>al menos|por lo menos|a partir|at least|more than|starting at)"
    r"|(?P<max>no mas car[oa]s?|no mas|no more than|not more than|no mayor|no exceda|no pase|menos|menor|menores"
    r"|hasta|maximo|max|tope|debajo|abajo|under|below|less than|up to|at most|maximum|budget|presupuesto"
    r"|tengo|cuento con|within|<=|<)"
    r"|(?P<min>mas|mayor|mayores|arriba|encima|minimo|min|desde|over|above|from|since|superior|>=|>)"
    rf"){_FILL}$"
)
_POST_MIN = re.compile(
    r"\s*(?:\+|o mas nuev[oa]s?|o mas recientes?|o mas|or more|or newer|or later|or above|y mas|and up|and above"
    r"|and newer|para arriba|pa arriba|en adelante|para adelante|pa adelante|o posteriores|o posterior|y posteriores"
    r"|onwards?|and later|or after|o superior|minimo|at least)(?![a-zñ])"
)
_POST_AROUND = re.compile(r"\s*(?:aprox(?:imadamente)?|mas o menos|more or less|or so|ish|aproximado)(?![a-zñ])")
_POST_MAX = re.compile(
    r"\s*(?:o menos|or less|or under|o anterior(?:es)?|o mas viej[oa]s?|or older|or earlier|maximo|max|tops"
    r"|como maximo|at most|a lo mucho)(?![a-zñ])"
)
_RANGE_START = re.compile(rf"(?<![a-zñ0-9])(?:entre|between|de|del|from|desde){_FILL}$")
_RANGE_JOIN = re.compile(r"\s*(?:y|and|a|al|to|hasta|-)\s*(?:el|del|los)?\s*")
_KM_CUE = re.compile(
    r"(?<![a-zñ0-9])(?:kilometraje|mileage|kilometros|kms|km|odometro|odometer)"
    r"\s*(?:(?:de|of|:|is|es|con|with|menor|menor a|menos de|less than|under|below|hasta|maximo|max|up to)\s*)*$"
)
_LOW_BEFORE = re.compile(r"(?<![a-zñ])(?:poc[oa]s?|baj[oa]|low)\s+$")
_FINANCE_CUE = re.compile(
    r"(?<![a-zñ0-9])(?:enganche|mensualidad(?:es)?|mensual|pagos?|abonos?|down ?payment|monthly|deposito|deposit"
    r"|apartado|apartar|sueldo|salary|gano|ingresos?)\s*(?:(?:de|of|:|unos|como|around|about|es|is)\s*)*\$?\s*$"
)
_NOT_MONEY_AFTER = re.compile(
    r"\s*(?:años|anos|ano|año|years?|yrs?|meses|mes|months?|puertas|doors|cilindros|cil|cyl|pasajeros|plazas"
    r"|asientos|seats|dueños|duenos|owners?|hp|cv|litros|lts?|l|%|por ciento|percent|semanas|weeks?|dias|days"
    r"|horas|hours|velocidades|speeds|opciones|options|carros|autos|coches|cars|resultados|results"
    r"|mensualidades|pagos|payments|personas|people|passengers|x|de enganche|de pago inicial|de mensualidad"
    r"|mensuales|al mes|por mes|per month|a month|monthly|down)(?![a-zñ])"
)
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

# Words naming cars or the stock: enough on their own to make a message a search.
_VEHICLE_WORDS = re.compile(
    r"\b(?:carros?|autos?|coches?|cars?|vehiculos?|vehicles?|suvs?|camionetas?|sedan(?:es|s)?|pick ?ups?"
    r"|hatchbacks?|trocas?|trucks?|stock|inventario|inventory|disponibles?|available|catalogo|catalog"
    r"|seminuevos?|usados?|used|opciones|options|modelos?|unidades)\b"
)
# "el auto", "my car": a car the customer already has in mind, not a search ("¿puedo devolver el auto?").
_DEFINITE_VEHICLE = re.compile(
    r"\b(?:el|mi|tu|su|este|ese|aquel|my|the|your|our|this|that)\s+(?:carro|auto|coche|car|vehiculo|vehicle"
    r"|camioneta|truck)\b"
)
# "¿tienen ...?" / "do you sell ...?": a search only when nothing else in the message is a mystery.
_OFFER_VERBS = re.compile(r"\b(?:tienen|tienes|hay|have|venden|vendes|sell|manejan|ofrecen|offer|carry)\b")
_PLAIN_WORDS = frozenset(
    {
        "que",
        "qué",
        "cuales",
        "algo",
        "alguno",
        "alguna",
        "algun",
        "ustedes",
        "do",
        "you",
        "does",
        "any",
        "anything",
        "what",
        "which",
        "there",
        "here",
        "ahora",
        "now",
        "hoy",
        "today",
        "hola",
        "hi",
        "hello",
        "hey",
        "por",
        "favor",
        "please",
        "oye",
        "buenas",
        "buenos",
        "dias",
        "tardes",
        "noches",
        "mas",
        "more",
        "else",
        "otros",
        "otras",
        "other",
        "others",
        "ver",
        "see",
        "show",
        "muestrame",
        "ensename",
        "guys",
        "y",
        "e",
        "and",
        "or",
        "u",
    }
)
_OTHER_TOPICS = re.compile(
    r"\b(?:financiamiento|financiar|credito|credit|financing|finance|loan|enganche|mensualidad(?:es)?|horarios?"
    r"|hours|abren|cierran|open|ubicacion|direccion|address|location|garantia|warranty|requisitos"
    r"|requirements|documentos|documents|cita|appointment|prueba de manejo|test drive|tasa|interest|seguro"
    r"|insurance|devol\w*|devuelv\w*|regres\w*|reembolso|returns?|refund|a cuenta|trade[ -]?ins?|avaluo|appraisal"
    r"|vender mi|vendo mi|sell my|compran|buy my|entrega\w*|delivery|deliver|domicilio|envio|shipping|apart\w*"
    r"|reserv\w*|formas? de pago|tarjetas?|transferencia|efectivo|cards?|cash|papeles|factura|tenencias?"
    r"|paperwork|invoice|placas|plates|historial|accidentes?|choques?|chocado|history|accidents?|servicio"
    r"|mantenimiento|taller|service|maintenance|inspeccion|inspection|contacto|telefono|phone|contact"
    r"|sucursal(?:es)?|branch(?:es)?|estacionamiento|parking|empresa|company)\b"
)

# The same topics' key words, for misspellings ("warrenty", "garantai", "orario").
_TOPIC_WORDS: tuple[str, ...] = (
    "garantia",
    "warranty",
    "financiamiento",
    "financing",
    "horario",
    "horarios",
    "documentos",
    "documents",
    "requisitos",
    "requirements",
    "devolucion",
    "devoluciones",
    "refund",
    "insurance",
    "seguro",
    "inspeccion",
    "inspection",
    "mantenimiento",
    "maintenance",
    "estacionamiento",
    "parking",
    "appointment",
    "ubicacion",
    "location",
    "direccion",
    "address",
    "sucursal",
    "sucursales",
    "branch",
    "credito",
    "enganche",
    "mensualidad",
    "transferencia",
    "tarjeta",
    "factura",
    "paperwork",
    "historial",
    "accidentes",
    "servicio",
    "service",
    "contacto",
    "telefono",
    "appraisal",
    "avaluo",
    "delivery",
    "reservar",
    "reserve",
)
_TOPIC_TYPO_CUTOFF = 85.0

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


@dataclass
class _Mention:
    """A number in the text with its unit and surrounding context."""

    start: int
    end: int
    raw: str
    base: float
    mult: float
    currency: bool
    km: bool
    miles: bool

    @property
    def value(self) -> float:
        return self.base * self.mult

    @property
    def year_like(self) -> bool:
        return (
            self.raw.isdigit()
            and len(self.raw) == 4
            and YEAR_MIN <= int(self.raw) <= YEAR_MAX
            and self.mult == 1
            and not self.currency
            and not self.km
        )


def _number(raw: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        return float(raw.replace(",", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?", raw):
        return float(raw.replace(".", "").replace(",", "."))
    return float(raw.replace(" ", "").replace(",", "."))


def _multiplier(unit: str | None, base: float) -> float:
    if unit in ("k", "mil", "thousand", "grand"):
        return 1_000.0
    if unit in ("millones", "millon", "mdp"):
        return 1_000_000.0
    if unit == "m":
        # "1.2m" is millions; "300m" is how some people write 300 mil.
        return 1_000_000.0 if base < 100 else 1_000.0
    return 1.0


def _prepare(text: str) -> str:
    t = fold(text)
    t = t.replace("–", "-").replace("—", "-").replace("\u00a0", " ")
    t = re.sub(r"\b(?:un millon|a million|one million)\b", "1 millon", t)
    t = re.sub(r"\b(?:medio millon|half a million)\b", "500 mil", t)
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


def _mentions(t: str) -> list[_Mention]:
    found: list[_Mention] = []
    for m in _AMOUNT.finditer(t):
        raw = m.group("num")
        base = _number(raw)
        tail = m.group("tail")
        found.append(
            _Mention(
                start=m.start(),
                end=m.end(),
                raw=raw,
                base=base,
                mult=_multiplier(m.group("unit"), base),
                currency=bool(m.group("cur")) or tail in ("pesos", "mxn", "usd", "dolares", "dlls"),
                km=tail in ("kilometros", "kilometraje", "kms", "km", "millas", "miles"),
                miles=tail in ("millas", "miles"),
            )
        )
    return found


def parse_money(text: str) -> float | None:
    """First money amount in ``text`` ("300 mil", "$250k", "1.2 millones", "250,000.00"), else None."""
    for m in _mentions(_prepare(text)):
        if m.km or m.year_like:
            continue
        if m.mult > 1 or m.currency or m.value >= 10_000:
            return m.value
    return None


@dataclass
class _Span:
    start: int
    end: int


@dataclass
class _Numbers:
    """What the numbers in a message said."""

    year_min: int | None = None
    year_max: int | None = None
    price_min: float | None = None
    price_max: float | None = None
    km_max: int | None = None


def _pre_cue(pre: str) -> tuple[str | None, int]:
    """Relation word right before a number ("menos de", "over", "alrededor de") and where it starts."""
    m = _PRE_CUE.search(pre)
    if m is None or m.lastgroup is None:
        return None, len(pre)
    kind = "min" if m.lastgroup == "min_phrase" else m.lastgroup
    return kind, m.start()


def _km_context(pre: str, cue_at: int) -> bool:
    """Whether the words before a number name mileage: "kilometraje menor a 50 mil", "km: 40,000"."""
    for text in (pre[:cue_at], pre):
        m = _KM_CUE.search(text)
        # "poco km menos de 300 mil": the km word belongs to "poco km", the number is a price.
        if m is not None and not _LOW_BEFORE.search(text, 0, m.start()):
            return True
    return False


def _parse_numbers(t: str, consumed: list[_Span]) -> _Numbers:
    out = _Numbers()
    exact_years: list[int] = []
    mentions = _mentions(t)
    used: set[int] = set()

    def context(i: int) -> tuple[str, str]:
        prev_end = mentions[i - 1].end if i > 0 else 0
        next_start = mentions[i + 1].start if i + 1 < len(mentions) else len(t)
        return t[prev_end : mentions[i].start], t[mentions[i].end : next_start]

    for i in range(len(mentions) - 1):
        a, b = mentions[i], mentions[i + 1]
        join = _RANGE_JOIN.fullmatch(t[a.end : b.start])
        if join is None or i in used:
            continue
        pre, _ = context(i)
        start_cue = _RANGE_START.search(pre)
        if join.group(0).strip().startswith(("y", "and")) and not re.search(
            rf"(?<![a-zñ])(?:entre|between){_FILL}$", pre
        ):
            continue
        if _FINANCE_CUE.search(pre) or _NOT_MONEY_AFTER.match(t, b.end):
            continue
        span_start = a.start - (len(pre) - start_cue.start()) if start_cue else a.start
        if a.year_like and b.year_like:
            low, high = sorted((int(a.base), int(b.base)))
            out.year_min, out.year_max = low, high
        elif a.year_like or b.year_like:
            continue
        elif a.km or b.km or _km_context(pre, len(pre)):
            km = b.value * (KM_PER_MILE if b.miles else 1)
            out.km_max = int(km if km >= 1000 else km * 1000)
        else:
            low_v, high_v = a.value, b.value
            if a.mult == 1 and b.mult > 1 and a.base < 1000:
                low_v = a.base * b.mult  # "entre 200 y 300 mil"
            if b.mult == 1 and a.mult > 1 and b.base < 1000:
                high_v = b.base * a.mult  # "200 mil a 300"
            if not 1000 <= max(low_v, high_v) <= MAX_PRICE:
                continue
            out.price_min, out.price_max = min(low_v, high_v), max(low_v, high_v)
        used.update((i, i + 1))
        consumed.append(_Span(span_start, b.end))

    for i, m in enumerate(mentions):
        if i in used:
            continue
        pre, post = context(i)
        if _FINANCE_CUE.search(pre) or _NOT_MONEY_AFTER.match(post):
            continue
        kind, cue_at = _pre_cue(pre)
        post_cue = _POST_MIN.match(post) or _POST_MAX.match(post) or _POST_AROUND.match(post)
        if post_cue is not None and kind is not None and kind != "around":
            # "under 300k and newer than 2018": the word before the number says what it is; what follows
            # belongs to the next clause.
            post_cue = None
        if post_cue is not None:
            kind = "min" if post_cue.re is _POST_MIN else "max" if post_cue.re is _POST_MAX else "around"
        span = _Span(m.start - (len(pre) - cue_at), m.end + (post_cue.end() if post_cue else 0))

        if m.km or (not m.currency and _km_context(pre, cue_at)):
            if kind in ("min", "min_strict"):
                continue
            km = m.value * (KM_PER_MILE if m.miles else 1)
            out.km_max = int(km if km >= 1000 else km * 1000)
        elif m.year_like:
            year = int(m.base)
            if kind == "min":
                out.year_min = year
            elif kind == "min_strict":
                out.year_min = year + 1
            elif kind == "max":
                out.year_max = year
            elif kind == "max_strict":
                out.year_max = year - 1
            else:
                exact_years.append(year)
        else:
            value = m.value
            if m.mult == 1 and not m.currency and value < 10_000:
                # "menos de 300" in a car chat means 300 mil; a bare "300" means nothing.
                if kind is None or not 100 <= value < 1000 or "." in m.raw or "," in m.raw:
                    continue
                value *= 1000
            if not 1000 <= value <= MAX_PRICE:
                continue
            if kind == "around":
                out.price_min = round(value * (1 - AROUND_TOLERANCE), 2)
                out.price_max = round(value * (1 + AROUND_TOLERANCE), 2)
            elif kind in ("min", "min_strict"):
                out.price_min = value
            else:
                out.price_max = value
        consumed.append(span)

    if exact_years:
        if out.year_min is None:
            out.year_min = min(exact_years)
        if out.year_max is None:
            out.year_max = max(exact_years)
    if out.year_min is not None and out.year_max is not None and out.year_min > out.year_max:
        out.year_min, out.year_max = out.year_max, out.year_min
    return out


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


def _find_vehicle(t: str, vocabulary: CatalogVocabulary) -> tuple[str | None, str | None, list[_Span]]:
    """First make and first model mentioned (the model's make wins), with their text spans."""
    tokens = _tokens(t, vocabulary)
    make: str | None = None
    spans: list[_Span] = []
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
                spans.append(_Span(group[0].start, group[-1].end))
                return hit[0], hit[1], spans
            if n > 2:
                continue
            found_make = vocabulary.match_any_make(phrase)
            if found_make is None:
                continue
            spans.append(_Span(group[0].start, group[-1].end))
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
                    spans.append(_Span(follow[0].start, follow[-1].end))
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


def _blank(t: str, spans: Iterable[_Span]) -> str:
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
    t = _prepare(text)
    make, model, vehicle_spans = _find_vehicle(t, vocabulary)
    rest = _blank(t, vehicle_spans)
    consumed: list[_Span] = []
    numbers = _parse_numbers(rest, consumed)
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


def mentions_other_topic(text: str) -> bool:
    """Whether ``text`` is about hours, warranty, paperwork, financing... (not the stock), even misspelt."""
    return _mentions_other_topic(_prepare(text))


def _mentions_other_topic(t: str) -> bool:
    if _OTHER_TOPICS.search(t):
        return True
    return any(
        process.extractOne(token, _TOPIC_WORDS, scorer=fuzz.ratio, score_cutoff=_TOPIC_TYPO_CUTOFF) is not None
        for token in _TOKEN.findall(t)
        if len(token) >= 5 and token.isalpha()
    )


def looks_like_catalog_query(text: str, vocabulary: CatalogVocabulary) -> bool:
    """Whether a message is about finding a car: make/model, budget, year, body type, stock words...

    Another topic wins over loose cues: "¿la garantía cubre la transmisión automática?" is about the
    warranty and "¿puedo devolver el auto?" about returns, while "¿tienen SUVs?" is a search.
    """
    filters = parse_catalog_query(text, vocabulary)
    if (
        filters.make
        or filters.model
        or filters.price_min is not None
        or filters.price_max is not None
        or filters.km_max is not None
        or filters.year_min is not None
        or filters.year_max is not None
    ):
        return True
    t = _prepare(text)
    if _mentions_other_topic(t):
        return False
    if filters.features or filters.sort != "relevance":
        return True
    if _VEHICLE_WORDS.search(_DEFINITE_VEHICLE.sub(" ", t)):
        return True
    if _OFFER_VERBS.search(t):
        # "¿qué tienen?" asks for the stock; "¿venden motos acuáticas?" asks about something else.
        rest = [w for w in _TOKEN.findall(_OFFER_VERBS.sub(" ", t)) if w not in STOPWORDS and w not in _PLAIN_WORDS]
        return not rest
    return False
