"""The numbers of a car search message read as limits: years, a price range, a maximum mileage.

"entre 200 y 300 mil", "menos de 50 mil km", "2018 o más nuevo", "alrededor de 250k": each number
(read by ``app.text.money``) gets its meaning from the words around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.text.money import AmountMention, find_amounts

AROUND_TOLERANCE = 0.10
KM_PER_MILE = 1.609
# Anything bigger is a phone number or an id, not a car price.
MAX_PRICE = 100_000_000

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
    r"|tengo|cuento con|within|<=|<"
    # the customer raising a limit already given: "¿y si subo a 450?", "me estiro a 300", "can go up to 20k"
    r"|si subo|subo|subiendo|subimos|subir|me estiro|estirarme|llego|puedo llegar|aumento|go up|stretch|raise it"
    r"|bump it)"
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
# A finance amount, not a price. After an amount's own name (enganche, mensualidad, down payment) only the little
# words people put before the amount may come ("cambio el enganche a 80 mil", "que la mensualidad seria menor a 9
# mil", "change the down payment to 60k"; the message is folded, so "sería" reads "seria"): a noun, a comma or a
# "y" ends it ("enganche bajo y un carro de 300 mil" keeps its price). After the other finance words ("pagos",
# "sueldo") only "de", "es" and the like: "a pagos hasta 300 mil" is a car's price.
_FINANCE_CUE = re.compile(
    r"(?<![a-zñ0-9])(?:"
    r"(?:enganche|mensualidad(?:es)?|down ?payment|monthly payments?)"
    r"\s*(?:(?:de|del|of|:|unos|como|around|about|es|is|a|al|en|por|to|at|be|would|will|sea|seria|sera|quede"
    r"|quedaria|que|maximo|max|minimo|menor|mayor|menos|mas|hasta|up|under|below|less|than|only|just|solo|nomas"
    r"|mejor|ahora|now)\s*){0,5}"
    r"|(?:mensual|pagos?|abonos?|monthly|deposito|deposit|apartado|apartar|sueldo|salary|gano|ingresos?)"
    r"\s*(?:(?:de|of|:|unos|como|around|about|es|is)\s*)*"
    r")\$?\s*$"
)
_NOT_MONEY_AFTER = re.compile(
    r"\s*(?:años|anos|ano|año|years?|yrs?|meses|mes|months?|puertas|doors|cilindros|cil|cyl|pasajeros|plazas"
    r"|asientos|seats|dueños|duenos|owners?|hp|cv|litros|lts?|l|%|por ciento|percent|semanas|weeks?|dias|days"
    r"|horas|hours|velocidades|speeds|opciones|options|carros|autos|coches|cars|resultados|results"
    r"|mensualidades|pagos|payments|personas|people|passengers|x|de enganche|de pago inicial|de mensualidad"
    r"|mensuales|al mes|por mes|per month|a month|monthly|down|para el enganche|para enganche|como enganche"
    r"|para la mensualidad|de mensualidades|for the down ?payment|for down ?payment|as (?:a )?down ?payment)(?![a-zñ])"
)
# A price somebody else names: another dealer's offer, what they give for the customer's car, or a discount
# asked for ("¿me lo dejan en 330?"). It is said about a car, never a limit on the search.
_OUTSIDE_PRICE = re.compile(
    r"(?<![a-zñ])(?:otra agencia|otras agencias|otro lote|otro lado|otra parte|otro concesionario|la competencia"
    r"|kavak|me (?:lo |la )?(?:ofrecen|ofrecieron|ofrece|dan|dieron|dejan|dejaron|deja|venden|vendian|cotizaron)"
    r"|lo (?:tienen|venden|dan) en otr|another (?:dealer|lot|place)|elsewhere|other dealer|offered me|they offer"
    r"|quoted me|competitor)(?![a-zñ])"
)
_CLAUSE_START = re.compile(r"[.?!;\n¿¡](?=[^.?!;\n¿¡]*$)")


def _outside_price(t: str, at: int) -> bool:
    """Whether the number at ``at`` is a price somebody else names, said in the same sentence."""
    head = t[:at]
    start = _CLAUSE_START.search(head)
    return _OUTSIDE_PRICE.search(head[start.end() if start else 0 :]) is not None


@dataclass
class Span:
    """A stretch of the message a parser has read (blanked before the next parser looks)."""

    start: int
    end: int


@dataclass
class Ranges:
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


def _bare_hundreds(m: AmountMention) -> bool:
    """A plain 100–999 with no unit, currency or decimals ("150"): thousands of pesos when a range cue says so."""
    return m.mult == 1 and not m.currency and not m.km and 100 <= m.base < 1000 and m.raw.isdigit()


def read_ranges(t: str, consumed: list[Span]) -> Ranges:
    """Year, price and mileage limits the numbers of ``t`` state; the spans read are added to ``consumed``."""
    out = Ranges()
    exact_years: list[int] = []
    mentions = find_amounts(t)
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
            if start_cue and _bare_hundreds(a) and _bare_hundreds(b):
                # "entre 150 y 250" in a car chat is thousands, as "menos de 300" is.
                low_v, high_v = a.base * 1000, b.base * 1000
            if not 1000 <= max(low_v, high_v) <= MAX_PRICE:
                continue
            out.price_min, out.price_max = min(low_v, high_v), max(low_v, high_v)
        used.update((i, i + 1))
        consumed.append(Span(span_start, b.end))

    for i, m in enumerate(mentions):
        if i in used:
            continue
        pre, post = context(i)
        if _FINANCE_CUE.search(pre) or _NOT_MONEY_AFTER.match(post):
            continue
        if not m.year_like and _outside_price(t, m.start):
            continue
        kind, cue_at = _pre_cue(pre)
        post_cue = _POST_MIN.match(post) or _POST_MAX.match(post) or _POST_AROUND.match(post)
        if post_cue is not None and kind is not None and kind != "around":
            # "under 300k and newer than 2018": the word before the number says what it is; what follows
            # belongs to the next clause.
            post_cue = None
        if post_cue is not None:
            kind = "min" if post_cue.re is _POST_MIN else "max" if post_cue.re is _POST_MAX else "around"
        span = Span(m.start - (len(pre) - cue_at), m.end + (post_cue.end() if post_cue else 0))

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
