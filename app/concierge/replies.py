"""Reading vendors' free-text WhatsApp replies, and the keywords that stop or close things.

``parse_vendor_reply("sí tengo, 850 pesos, entrega hoy")`` gives availability, price, delivery and a
confidence the shortlist can weigh. The rules are deliberately conservative: an unclear reply is
``available=None`` with a low confidence, never a guessed yes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from app.concierge.amounts import is_year, money_currency, money_value
from app.concierge.cleaning import clean_text, folded_with_offsets
from app.concierge.lexicon import MONEY_PATTERN, NOT_MONEY_AFTER, PER_UNIT, WORD_NUMBERS
from app.concierge.types import MAX_BUDGET, Currency
from app.text.normalize import WEEKDAYS, days_to_weekday, fold

MAX_REPLY_CHARS = 1_000
MAX_DELIVERY_CHARS = 80
# Without a clock, "hoy" is taken as this many hours away (the rest of a working day).
TODAY_HOURS = 6.0
# Deliveries are assumed to happen around midday of the day named ("el jueves", "mañana").
DELIVERY_HOUR = 12
EVENING_HOUR = 20

VendorKeyword = Literal["stop", "start"]
CustomerKeyword = Literal["stop", "start", "cancel"]


class VendorReply(BaseModel):
    """What a vendor's reply says about one request."""

    # True: has it (or can get it, see ``on_order``); False: does not; None: the reply does not say.
    available: bool | None = None
    on_order: bool = False
    price: float | None = Field(default=None, gt=0, le=MAX_BUDGET)  # per unit
    total_price: float | None = Field(default=None, gt=0, le=MAX_BUDGET)
    currency: Currency | None = None
    delivery: str | None = Field(default=None, max_length=MAX_DELIVERY_CHARS)
    delivery_hours: float | None = Field(default=None, ge=0)
    quantity: int | None = Field(default=None, ge=1, le=999)
    asks_question: bool = False
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)

    @property
    def in_stock(self) -> bool:
        """Has it now (not "lo consigo para el jueves")."""
        return self.available is True and not self.on_order


_B = r"(?<![a-zñ])"
_E = r"(?![a-zñ])"
_OBJ = r"(?:lo |la |los |las |le |te |se |me )?"
_DELIVERY_NOUNS = r"(?:envios?|entregas?|servicio a domicilio|domicilio|reparto|repartidor|delivery|shipping|moto)"

_NEGATIVE = re.compile(
    rf"{_B}(?:no {_OBJ}(?:puedo|podemos|se puede|pude) conseguir|no {_OBJ}(?:consigo|conseguimos|encuentro)"
    rf"|no {_OBJ}(?:tengo|tenemos|hay|manejo|manejamos|contamos con|contamos|trabajo|trabajamos|vendo|vendemos"
    rf"|me queda|me quedan|nos queda|nos quedan|quedan|queda)(?! {_DELIVERY_NOUNS}{_E})"
    rf"|ya no (?:hay|tengo|tenemos|queda|quedan|manejo|manejamos)|agotad[oa]s?|sin (?:existencia|stock|inventario)"
    rf"|no (?:esta|estan) disponibles?|no disponibles?|no,? (?:disculpa|lo siento|perdon|gracias)|nel|nop|nada(?! mas)"
    rf"|lo siento,? no|out of stock|sold out|(?:don'?t|do not|dont|doesn'?t) (?:have|carry|stock|sell)"
    rf"|not available|unavailable|we'?re out|no stock|sorry,? no|none left|can'?t get)"
    rf"{_E}"
)
_LEADING_NO = re.compile(r"^\W*no(?:\s*[.,!]|\s*$)")
_ON_ORDER = re.compile(
    rf"{_B}(?:{_OBJ}(?:puedo |podemos |podria )?(?:consigo|conseguimos|conseguir(?:lo|la|los|las)?)"
    rf"|{_OBJ}(?:pido|pedimos|encargo|encargamos|mando traer|surto|surtimos)"
    # "me llega el viernes" is stock arriving; "te llega hoy" is only the delivery.
    rf"|sobre pedido|bajo pedido|por encargo|(?:me|nos) llegan?"
    rf"|(?:can|could) (?:get|order)(?: it| them| one)?|on order|special order|order (?:it|them)|i'?ll get (?:it|them))"
    rf"{_E}"
)
_POSITIVE = re.compile(
    rf"{_B}(?:si (?:hay|tengo|tenemos|lo tengo|la tengo|los tengo|las tengo|manejamos|manejo|contamos)"
    rf"|(?:tengo|tenemos|hay|manejo|manejamos|contamos con|me quedan?|nos quedan?|quedan)"
    rf"|(?:lo|la|los|las) (?:tengo|tenemos|manejo|manejamos)|en existencia|disponibles?|con gusto|claro|por supuesto"
    rf"|in stock|(?:we|i) (?:have|got|carry)|(?:have|got) (?:it|them|one|some)|available|of course)"
    rf"{_E}"
)
# Not "ok" / "va": a vendor's "ok" is as often "ok, let me check" as a yes.
_LEADING_YES = re.compile(r"^\W*(?:si|sip|simon|yes|yep|yeah|yup|sure)(?![a-zñ])")
_QUESTION = re.compile(
    rf"\?|¿|{_B}(?:de que (?:año|ano|modelo|medida|marca|tamaño)|que (?:año|ano|modelo|medida|marca)|cual (?:modelo"
    rf"|medida|marca)|which (?:model|year|size|brand)|what (?:model|year|size|brand))"
)
_QUANTITY = re.compile(
    r"(?<![a-zñ0-9])(?:(?:tengo|tenemos|hay|quedan|me quedan|nos quedan|solo|nomas|nada mas|have|got|only)\s+"
    r"(?:(?:solo|nomas)\s+)?(?P<a>\d{1,3})(?!\d|[.,]\d)(?!\s*(?:pesos|mxn|usd|dolares|dlls)\b)"
    r"|(?P<b>\d{1,3})\s*(?:piezas|pzas?|pz|juegos|unidades|cajas|disponibles|en existencia|pieces|units|left"
    r"|in stock|sets|pares|pairs)(?![a-zñ]))"
)
_WORD_QUANTITY = re.compile(
    r"(?<![a-zñ])(?:tengo|tenemos|hay|quedan|solo|nomas|have|only)\s+(?:(?:solo|nomas)\s+)?"
    r"(?P<w>un[oa]?|dos|tres|cuatro|cinco|one|two|three|four|five)(?![a-zñ])"
)
_SMALL_NUMBERS = {
    "un": 1,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
}
_TOTAL = re.compile(
    r"(?<![a-zñ])(?:en total|total|por todo|todo en|los dos|las dos|ambos|ambas|el par|for both|both)(?![a-zñ])"
)
_PRICE_CUE = re.compile(
    r"(?<![a-zñ])(?:a|en|por|precio|cuesta|cuestan|sale|salen|lo dejo|te lo dejo|son|de|price|for|at|costs?|total"
    r"|\$)\s*(?:en\s+)?$"
)
_TIME_BEFORE = re.compile(r"(?<![a-zñ])(?:a las|las|a la|la|at|el|del|al|desde las|antes de las|#|no\.?)\s*$")
_TIME_SHAPE = re.compile(r"\d{1,2}:\d{2}")

_DELIVERY_PREFIX = (
    r"(?:(?:(?:te |se |le )?(?:entrega|entregas|entrego|entregamos|envio|envios|envia|llega|llegan|te llega|delivery"
    r"|delivered|deliver|ships?|shipping|lo consigo|lo tengo|listo|lista|ready|disponible|available|pickup|pick up)"
    r"\s+)?(?:(?:en|in|el|para el|para|by|on|hasta el|dentro de|within)\s+)?)"
)
_NUM_WORDS = r"\d+(?:[.,]\d)?|un|una|uno|media|dos|tres|cuatro|cinco|seis|an|a|one|two|three|four|five|six|half an?"


# Counts of days or hours as vendors write them ("en dos días", "half an hour").
_DURATION_WORDS: dict[str, float] = {**WORD_NUMBERS, "an": 1, "a": 1, "media": 0.5}


def _num(raw: str) -> float:
    raw = raw.strip()
    if raw.startswith("half"):
        return 0.5
    if raw in _DURATION_WORDS:
        return float(_DURATION_WORDS[raw])
    return float(raw.replace(",", "."))


_DELIVERY_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "minutes",
        re.compile(rf"{_B}{_DELIVERY_PREFIX}(?<![\d.,])(?P<n>{_NUM_WORDS})\s*(?:min|mins|minutos|minutes)\.?{_E}"),
    ),
    (
        "hours",
        re.compile(
            rf"{_B}{_DELIVERY_PREFIX}(?<![\d.,])(?P<n>{_NUM_WORDS})\s*(?:h|hr|hrs|hora|horas|hour|hours)"
            rf"(?P<half> y media)?{_E}"
        ),
    ),
    (
        "now",
        re.compile(
            rf"{_B}{_DELIVERY_PREFIX}(?:inmediata|inmediato|inmediatamente|al momento|al instante|ahorita|ahora mismo"
            rf"|de volada|ya mismo|right away|right now|immediately|same hour|now){_E}"
        ),
    ),
    ("day_after", re.compile(rf"{_B}{_DELIVERY_PREFIX}(?:pasado mañana|pasado manana|day after tomorrow){_E}")),
    (
        "weekday",
        re.compile(rf"{_B}{_DELIVERY_PREFIX}(?P<day>{'|'.join(WEEKDAYS)}){_E}"),
    ),
    (
        "days",
        re.compile(
            rf"{_B}{_DELIVERY_PREFIX}(?<![\d.,])(?P<n>{_NUM_WORDS})\s*(?:dias|dia|days?|business days|dias habiles){_E}"
        ),
    ),
    (
        "week",
        re.compile(
            rf"{_B}{_DELIVERY_PREFIX}(?:una semana|1 semana|la (?:proxima|siguiente) semana|a week|one week"
            rf"|next week){_E}"
        ),
    ),
    ("this_week", re.compile(rf"{_B}{_DELIVERY_PREFIX}(?:esta semana|this week){_E}")),
    (
        "tomorrow",
        re.compile(rf"{_B}{_DELIVERY_PREFIX}(?<!la )(?<!en la )(?:mañana|manana|tomorrow){_E}"),
    ),
    (
        "today",
        re.compile(
            rf"{_B}{_DELIVERY_PREFIX}(?:hoy mismo|hoy|today|esta tarde|esta noche|this afternoon|tonight|same day"
            rf"|mismo dia|en el dia){_E}"
        ),
    ),
    (
        "pickup",
        re.compile(
            rf"{_B}(?:recoger en (?:tienda|sucursal|mostrador)|pasar a recoger|pase a recoger|pasa por el|en mostrador"
            rf"|en tienda|pick ?up|pickup in store|in store){_E}"
        ),
    ),
)


def _hours_to(now: datetime | None, days_ahead: int, fallback: float) -> float:
    if now is None:
        return fallback
    target = (now + timedelta(days=days_ahead)).replace(hour=DELIVERY_HOUR, minute=0, second=0, microsecond=0)
    return round(max(1.0, (target - now).total_seconds() / 3600), 1)


def _delivery(t: str, now: datetime | None) -> tuple[tuple[int, int] | None, float | None]:
    """The span of the first delivery expression in folded ``t`` and how many hours away it is."""
    best: tuple[int, int, float | None] | None = None
    for kind, pattern in _DELIVERY_RULES:
        m = pattern.search(t)
        if m is None:
            continue
        hours: float | None
        if kind == "minutes":
            hours = round(_num(m.group("n")) / 60, 2)
        elif kind == "hours":
            hours = _num(m.group("n")) + (0.5 if m.group("half") else 0)
        elif kind == "now":
            hours = 1.0
        elif kind == "today":
            hours = TODAY_HOURS
            if now is not None:
                end = now.replace(hour=EVENING_HOUR, minute=0, second=0, microsecond=0)
                hours = round(max(1.0, (end - now).total_seconds() / 3600), 1)
        elif kind == "tomorrow":
            hours = _hours_to(now, 1, 24.0)
        elif kind == "day_after":
            hours = _hours_to(now, 2, 48.0)
        elif kind == "weekday":
            if now is None:
                hours = None
            else:
                ahead = days_to_weekday(now, WEEKDAYS[m.group("day")])
                hours = _hours_to(now, ahead, 24.0 * ahead)
        elif kind == "days":
            hours = _num(m.group("n")) * 24
        elif kind == "week":
            hours = 168.0
        elif kind == "this_week":
            hours = 72.0
        else:  # pickup: ready when the customer gets there, unless a time says otherwise
            hours = None
        if hours is not None and hours > 24 * 60:
            continue
        if best is None or m.start() < best[0]:
            best = (m.start(), m.end(), hours)
    if best is None:
        return None, None
    return (best[0], best[1]), best[2]


def _price(t: str, default_currency: Currency) -> tuple[float | None, str | None, tuple[int, int] | None]:
    """The first price in folded ``t``: marked money ($, pesos, usd) first, then a number after a price word."""
    marked: list[tuple[float, Currency, tuple[int, int]]] = []
    cued: list[tuple[float, Currency, tuple[int, int]]] = []
    for m in MONEY_PATTERN.finditer(t):
        if m.group("num") is None and m.group("wunit") is None:
            continue  # a number word alone ("quinientos pesos") is not read as a vendor's price
        value = money_value(m) or 0.0  # read as in a budget: "850", "1.200", "2k", "dos mil"
        if not 0 < value <= MAX_BUDGET:
            continue
        currency = money_currency(m, default_currency)
        is_marked = bool(m.group("pre") or m.group("cur") or m.group("unit") or m.group("wunit"))
        if is_marked:
            marked.append((value, currency, m.span()))
            continue
        before = t[max(0, m.start() - 20) : m.start()]
        if (
            NOT_MONEY_AFTER.match(t, m.end())
            or is_year(m)
            or _TIME_BEFORE.search(before)
            or _TIME_SHAPE.match(t, m.start())
            or re.search(r"\d:$", before) is not None
            or _QUANTITY_BEFORE.search(before)
        ):
            continue
        if _PRICE_CUE.search(before) or value >= 10:
            cued.append((value, currency, m.span()))
    for found in (marked, cued):
        if found:
            value, currency, span = found[0]
            return value, currency, span
    return None, None, None


_QUANTITY_BEFORE = re.compile(
    r"(?<![a-zñ])(?:tengo|tenemos|hay|quedan|me quedan|nos quedan|solo|nomas|nada mas|have|got|only)\s*$"
)


def parse_vendor_reply(text: str, *, now: datetime | None = None, default_currency: Currency = "MXN") -> VendorReply:
    """Availability, price, delivery and quantity in a vendor's reply, with a confidence 0..1.

    ``now`` (aware, in the vendor's time zone) turns "el jueves" or "hoy" into hours; without it fixed
    estimates are used (today 6 h, tomorrow 24 h) and a weekday has no estimate.
    """
    cleaned = clean_text(text, MAX_REPLY_CHARS)
    t, offsets = folded_with_offsets(cleaned)
    if not t.strip():
        return VendorReply()
    original_has_si = re.search(r"(?<![^\W\d_])sí(?![^\W\d_])", cleaned.lower()) is not None

    negatives = list(_NEGATIVE.finditer(t))
    blanked = t
    for m in negatives:
        blanked = blanked[: m.start()] + " " * (m.end() - m.start()) + blanked[m.end() :]
    on_order = _ON_ORDER.search(blanked)
    positives = list(_POSITIVE.finditer(blanked))
    leading_yes = _LEADING_YES.match(t) is not None or original_has_si
    leading_no = _LEADING_NO.match(t) is not None

    price, currency, price_span = _price(t, default_currency)
    delivery_span, delivery_hours = _delivery(t, now)
    quantity = _quantity(t)
    asks = _QUESTION.search(t) is not None

    available: bool | None
    conflict = False
    explicit = True
    if on_order is not None:
        available = True
    elif (positives or leading_yes) and (negatives or leading_no):
        conflict = True
        first_pos = min([m.start() for m in positives] + ([0] if leading_yes else [len(t)]))
        first_neg = min([m.start() for m in negatives] + ([0] if leading_no else [len(t)]))
        available = first_pos < first_neg
    elif positives or leading_yes:
        available = True
    elif negatives or leading_no:
        available = False
    elif price is not None:
        available, explicit = True, False  # a bare price means they have it
    else:
        available, explicit = None, False

    total_price: float | None = None
    if price is not None and price_span is not None:
        after = t[price_span[1] : price_span[1] + 25]
        around = t[max(0, price_span[0] - 25) : price_span[1] + 25]
        per_unit = PER_UNIT.search(after) is not None
        if not per_unit and _TOTAL.search(around) and quantity and quantity > 1:
            total_price = price
            price = max(0.01, round(price / quantity, 2))
        elif quantity:
            total_price = round(price * quantity, 2)
        if total_price is not None and total_price > MAX_BUDGET:
            total_price = None  # "999 a 9,999,999": not a total anyone quoted

    delivery: str | None = None
    if delivery_span is not None:
        o_start = offsets[delivery_span[0]]
        o_end = offsets[delivery_span[1] - 1] + 1
        delivery = cleaned[o_start:o_end].strip(" ,.;:!")[:MAX_DELIVERY_CHARS] or None

    if available is False and not conflict:
        confidence = 0.9 if len(t) <= 200 else 0.75
        return VendorReply(available=False, asks_question=asks, confidence=confidence)

    confidence = 0.2
    confidence += 0.35 if explicit else (0.15 if available else 0.0)
    confidence += 0.2 if price is not None else 0.0
    confidence += 0.15 if delivery is not None else 0.0
    confidence += 0.05 if quantity is not None else 0.0
    confidence += 0.05 if explicit and price is not None and delivery is not None else 0.0
    if conflict:
        confidence -= 0.25
    if asks and not explicit:
        confidence -= 0.15
    if len(t) > 300:
        confidence -= 0.1
    if available is None:
        confidence = min(confidence, 0.3)
    return VendorReply(
        available=available,
        on_order=on_order is not None,
        price=price,
        total_price=total_price,
        currency=currency if price is not None else None,
        delivery=delivery,
        delivery_hours=delivery_hours,
        quantity=quantity,
        asks_question=asks,
        confidence=round(min(1.0, max(0.0, confidence)), 2),
    )


def _quantity(t: str) -> int | None:
    m = _QUANTITY.search(t)
    if m is not None:
        n = int(m.group("a") or m.group("b"))
        return n if 1 <= n <= 999 else None
    w = _WORD_QUANTITY.search(t)
    if w is not None:
        return _SMALL_NUMBERS[w.group("w")]
    return None


# --- keywords --------------------------------------------------------------------------------------

_VENDOR_KEYWORDS: dict[str, VendorKeyword] = {
    "stop": "stop",
    "baja": "stop",
    "alto": "stop",
    "unsubscribe": "stop",
    "start": "start",
    "alta": "start",
    "subscribe": "start",
}
_CUSTOMER_KEYWORDS: dict[str, CustomerKeyword] = {
    "stop": "stop",
    "baja": "stop",
    "alto": "stop",
    "unsubscribe": "stop",
    "start": "start",
    "alta": "start",
    "subscribe": "start",
    "cancel": "cancel",
    "cancelar": "cancel",
    "cancela": "cancel",
    "cancelalo": "cancel",
    "cancelala": "cancel",
    "cancelar busqueda": "cancel",
    "cancela la busqueda": "cancel",
    "cancelar la busqueda": "cancel",
    "cancelar pedido": "cancel",
    "cancelar solicitud": "cancel",
    "ya no": "cancel",
    "ya no gracias": "cancel",
    "ya no lo necesito": "cancel",
    "ya no la necesito": "cancel",
    "ya no los necesito": "cancel",
    "ya lo consegui": "cancel",
    "ya lo encontre": "cancel",
    "olvidalo": "cancel",
    "nevermind": "cancel",
    "never mind": "cancel",
    "forget it": "cancel",
    "cancel request": "cancel",
    "cancel search": "cancel",
    "cancel it": "cancel",
    "i found it": "cancel",
    "no longer needed": "cancel",
}


def _keyword_form(text: str) -> str:
    """Trimmed, case-folded, accent-folded text without surrounding punctuation; inner spaces collapsed."""
    t = fold(text.strip()[:60])
    t = re.sub(r"^[\W_]+|[\W_]+$", "", t)
    return re.sub(r"\s+", " ", t)


def vendor_keyword(text: str) -> VendorKeyword | None:
    """ "stop" or "start" when the whole message is STOP/BAJA/ALTO/UNSUBSCRIBE or START/ALTA/SUBSCRIBE."""
    return _VENDOR_KEYWORDS.get(_keyword_form(text))


def customer_keyword(text: str) -> CustomerKeyword | None:
    """ "stop"/"start" for the opt-out keywords, "cancel" when the whole message closes the request."""
    return _CUSTOMER_KEYWORDS.get(_keyword_form(text))
