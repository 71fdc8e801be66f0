"""Rule-based extraction of financing requests (price, down payment, term) from customer text.

Works on accent-folded text (``app.text.normalize.fold``) in Spanish and English. The steps are:

1. find loan terms ("48 meses", "4 years", "plazo de 36") and percentages ("20%", "20 por ciento");
2. find money amounts ("250 mil", "$60k", "1.2 millones", "250,000.00"; numbers, multiplier words and
   spelled millions are read by ``app.text.money``), skipping model years, mileage and amounts that are
   monthly payments ("5 mil al mes");
3. give every context keyword (enganche/down/inicial/pie → down payment; precio/carro/price/car →
   price) to the nearest number mention, then label each amount by its closest keyword;
4. unlabeled amounts fill the gaps: the largest becomes the price, a smaller one the down payment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from app.finance.service import QuoteRequest
from app.text.money import (
    AND_THOUSANDS,
    HALF_MILLION,
    MILLION,
    THOUSAND,
    read_number,
    spelled_millions,
    spelled_numbers_to_digits,
    to_cents,
    unit_scale,
)
from app.text.normalize import fold

Label = Literal["down", "price"]

_MAX_AMOUNT = Decimal(100_000_000)


class FinanceRequest(BaseModel):
    """What a customer message says about financing; ``None`` means not mentioned."""

    price: Decimal | None = Field(default=None, description="Car price in MXN.")
    down_payment: Decimal | None = Field(default=None, description="Down payment amount in MXN.")
    down_payment_ratio: Decimal | None = Field(default=None, description="Down payment as a fraction (0.2 = 20%).")
    term_months: int | None = Field(default=None, description="Loan term in months.")
    monthly_payment: Decimal | None = Field(
        default=None, description="A monthly amount the customer can pay (6 mil al mes): a budget to invert."
    )
    mentions_finance: bool = Field(default=False, description="The message is about financing / monthly payments.")

    def to_quote_request(self, *, default_price: Decimal | None = None) -> QuoteRequest | None:
        """Build tool arguments, using ``default_price`` (e.g. the car in context) when no price was said."""
        price = self.price if self.price is not None else default_price
        if price is None or price <= 0:
            return None
        return QuoteRequest(
            price=price,
            down_payment=self.down_payment,
            down_payment_ratio=None if self.down_payment is not None else self.down_payment_ratio,
            term_months=self.term_months,
        )


# --- Loan terms ----------------------------------------------------------------------------

_SMALL_NUMBERS = {
    "un": 1, "una": 1, "uno": 1, "one": 1, "dos": 2, "two": 2, "tres": 3, "three": 3,
    "cuatro": 4, "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6, "siete": 7, "seven": 7,
    "ocho": 8, "eight": 8, "nueve": 9, "nine": 9, "diez": 10, "ten": 10,
}  # fmt: skip
_MONTH_WORDS = {
    "doce": 12, "twelve": 12, "dieciocho": 18, "eighteen": 18, "veinticuatro": 24, "twenty four": 24,
    "treinta y seis": 36, "thirty six": 36, "cuarenta y ocho": 48, "forty eight": 48,
    "sesenta": 60, "sixty": 60, "setenta y dos": 72, "seventy two": 72,
}  # fmt: skip

_MONTH_UNIT = (
    r"(?:meses|mes|months?|mos?|mths?|mensualidades|pagos(?:\s+mensuales)?|"
    r"monthly\s+payments|payments|cuotas|abonos|plazos)"
)
_YEAR_UNIT = r"(?:años|anos|año|ano|years?|yrs?)"
# "6 meses de garantía", "3 years old", "2 años de uso" are not loan terms.
_NOT_A_TERM_AFTER = re.compile(
    r"\s*(?:de\s+|of\s+)?(?:garantia|warranty|uso|antiguedad|edad|vida|old|ago|usage)(?![a-z])"
)
# The *_BEFORE patterns end at the match; scanning only a short window before it keeps parsing
# linear in the message length (scanning from the start made it quadratic).
_LOOKBACK = 80
_NOT_A_TERM_BEFORE = re.compile(
    r"(?<![a-z])(?:hace|tiene|tengo|(?:carro|auto|coche|camioneta|vehiculo)\s+(?:de|con))\s*$"
)

_TERM_WORD_MONTHS = re.compile(
    r"(?<![a-z])(?P<w>"
    + "|".join(w.replace(" ", r"[\s-]+") for w in _MONTH_WORDS)
    + r")\s*-?\s*"
    + _MONTH_UNIT
    + r"(?![a-z])"
)
_TERM_MONTHS = re.compile(
    r"(?<![\w.,$])(?P<n>\d{1,3})(?![\d]|[.,]\d)(?P<more>(?:\s*(?:,|/|o|or|y|and|u)\s*\d{1,3}(?![\d]|[.,]\d))*)\s*-?\s*"
    + _MONTH_UNIT
    + r"(?![a-z])"
)
_TERM_YEARS = re.compile(
    r"(?<![\w.,$])(?P<n>\d{1,2}(?:[.,]5)?|"
    + "|".join(_SMALL_NUMBERS)
    + r")\s*-?\s*"
    + _YEAR_UNIT
    + r"(?P<half>\s+y\s+medio|\s+and\s+a\s+half)?(?![a-z])"
)
_TERM_YEAR_AND_HALF = re.compile(r"(?<![a-z])(?:(?:un|one|a)\s+)?(?:a[ñn]o\s+y\s+medio|year\s+and\s+a\s+half)(?![a-z])")
_TERM_PLAZO = re.compile(
    r"(?<![a-z])(?:plazos?|term)\s*(?:de|of|a|:|=)?\s*(?P<n>\d{1,3})(?![\d.,]*\s*(?:%|k\b|mil|mill|pesos|mxn))(?![\d.,])"
)

# --- Percentages ---------------------------------------------------------------------------

_PERCENT = re.compile(
    r"(?<![\w.,])(?P<n>\d{1,3}(?:[.,]\d+)?)\s*(?:%|(?:por\s*ciento|porciento|percent|per\s*cent|pct)(?![a-z]))"
)
_NOT_DOWN_PERCENT_BEFORE = re.compile(
    r"(?<![a-z])(?:tasa|interes(?:es)?|rate|interest|apr|cat|descuento|discount|rebaja)\s*(?:anual|annual|fija|fixed)?\s*"
    r"(?:de|del|of|at|:|es|is)?\s*(?:un|una|a|an|the|el|la)?\s*$"
)
_NOT_DOWN_PERCENT_AFTER = re.compile(
    r"\s*(?:de\s+|of\s+)?(?:interes|anual|annual|apr|rate|interest|tasa|fij[oa]|fixed|cat|yearly|"
    r"per\s+year|a\s+year|al\s+a[ñn]o|descuento|discount|off|menos)(?![a-z])"
)
_NO_DOWN_PAYMENT = re.compile(
    r"(?<![a-z\d.,$])(?:sin\s+(?:dar\s+)?(?:enganche|pago\s+inicial|anticipo)|no\s+down\s*payment|"
    r"(?:zero|nothing|\$?0)\s+down)(?![a-z])"
)

# --- Money ---------------------------------------------------------------------------------

_MONEY = re.compile(
    r"(?P<cur>\$|mx\$|mxn\s*\$?)?\s*(?<![\w.,])(?P<num>\d[\d.,]*\d|\d)"
    r"(?:\s*(?P<mult>k|mil|thousand)(?![a-z])"
    r"|\s*(?P<mill>millones|millon|millions?|mdp)(?![a-z])(?P<half>\s+y\s+medio)?"
    + AND_THOUSANDS
    + r"|(?P<m>m)(?![a-z]))?"
)
_CURRENCY_AFTER = re.compile(r"\s*(?:pesos|mxn|mn|m\.n\.)(?![a-z])")
_NOT_MONEY_AFTER = re.compile(
    r"\s*(?:km|kms|kilometros?|kilometers?|kilometraje|millas|miles|mi|cc|hp|caballos|litros?|lts?|kg|"
    r"kilos|puertas|doors|pasajeros|cilindros|velocidades)(?![a-z])"
)
_NOT_MONEY_BEFORE = re.compile(
    r"(?<![a-z])(?:modelo|model|a[ñn]o|year|version|tel|telefono|phone|whatsapp|#|numero)\s*:?\s*$"
)
_MONTHLY_AFTER = re.compile(
    r"\s*(?:(?:pesos|mxn|mn|dolares|dlls)\s+)?(?:al\s+mes|por\s+mes|cada\s+mes|mensual(?:es)?|a\s+month|per\s+month|each\s+month|"
    r"every\s+month|monthly|/\s*mes|/\s*month|/\s*mo)(?![a-z])"
)
_MONTHLY_BEFORE = re.compile(
    r"(?<!down\s)(?:mensualidad(?:es)?|pagos\s+mensuales|pago\s+mensual|pagos|cuotas?|abonos|"
    r"monthly\s+payments?|payments|monthly)\s*(?:de|of|:|around|about|unos|como|aprox\w*)?\s*"
    # "de mensualidad son 5,500", "mi mensualidad máxima sería de 6 mil", "monthly payment is up to 7k"
    r"(?:(?:maxim[oa]|max|tope)\s+)?(?:(?:son|es|seria|serian|sería|serían|would be|is|are|could be)\s+)?"
    r"(?:(?:hasta|de hasta|up to|unos|como|around|about)\s+)?(?:de|of)?\s*$"
)

# --- Context keywords ----------------------------------------------------------------------


def _kw(pattern: str) -> re.Pattern[str]:
    """Compile a whole-word keyword alternation."""
    return re.compile(r"(?<![a-zñ])(?:" + pattern + r")(?![a-zñ])")


# (pattern, label, strong, prefers_following_number)
_KEYWORDS: list[tuple[re.Pattern[str], Label, bool, bool]] = [
    (_kw(r"down\s*payment|pago\s+inicial|initial\s+payment"), "down", True, True),
    (_kw(r"enganche|inicial|entrada|anticipo|pie|deposit"), "down", True, True),
    (_kw(r"down"), "down", True, False),
    (
        _kw(r"con|with|dando|doy|daria|pongo|pondria|dejo|dejaria|put|putting"),
        "down",
        False,
        True,
    ),
    (
        _kw(
            r"precio|price|priced|cuesta|cuestan|costaria|cuesten|costo|cost|costs|vale|valor|value|carro|coche|"
            r"auto|automovil|camioneta|vehiculo|unidad|presupuesto|budget|de\s+contado|total"
        ),
        "price",
        True,
        True,
    ),
    (_kw(r"car|truck|suv|vehicle|pickup|sedan"), "price", True, False),
]
_CONJUNCTIONS = frozenset(
    {
        "y",
        "e",
        "and",
        "con",
        "with",
        "para",
        "for",
        "on",
        "pero",
        "but",
        "o",
        "or",
        "plus",
        "mas",
    }
)
_PUNCTUATION = re.compile(r"[,;!?¿¡\n]|\.(?!\d)")
_MAX_KEYWORD_BEFORE = 6  # words between a keyword and the number it precedes
_MAX_KEYWORD_AFTER = 3  # words between a number and a keyword that follows it

_FINANCE_WORDS = re.compile(
    r"(?<![a-z])(?:financ\w*|credito|credit|prestamo|loan|a\s+plazos|plazos?|mensualidad\w*|mensual(?:es)?|"
    r"al\s+mes|por\s+mes|cada\s+mes|enganche|pago\s+inicial|down\s*payments?|monthly|per\s+month|a\s+month|"
    r"installments?|apr|interest|interes(?:es)?|tasa|msi|lease|leasing|arrendamiento|amortiza\w*)(?![a-z])"
)


@dataclass
class _Mention:
    """A number in the text: a money amount, a percentage or a term (terms only separate contexts)."""

    start: int
    end: int
    kind: Literal["money", "percent", "term"]
    value: Decimal = Decimal(0)
    monthly: bool = False
    # (distance, label, strong, keyword_precedes_number)
    keywords: list[tuple[float, Label, bool, bool]] = field(default_factory=list)


def _mask(text: str, start: int, end: int) -> str:
    """Blank out ``text[start:end]`` keeping offsets."""
    return text[:start] + " " * (end - start) + text[end:]


def _find_terms(text: str) -> tuple[list[_Mention], list[int], str]:
    """Loan-term mentions, their values in months, and ``text`` with them blanked out."""
    mentions: list[_Mention] = []
    values: list[int] = []

    def keep(match: re.Match[str], months: list[int]) -> None:
        nonlocal text
        if _NOT_A_TERM_AFTER.match(text, match.end()) or _NOT_A_TERM_BEFORE.search(
            text, max(0, match.start() - _LOOKBACK), match.start()
        ):
            return
        mentions.append(_Mention(match.start(), match.end(), "term"))
        values.extend(months)
        text = _mask(text, match.start(), match.end())

    for match in list(_TERM_WORD_MONTHS.finditer(text)):
        keep(match, [_MONTH_WORDS[re.sub(r"[\s-]+", " ", match["w"])]])
    for match in list(_TERM_MONTHS.finditer(text)):
        keep(
            match,
            [int(match["n"]), *(int(n) for n in re.findall(r"\d+", match["more"]))],
        )
    for match in list(_TERM_YEARS.finditer(text)):
        raw = match["n"]
        years = Decimal(_SMALL_NUMBERS[raw]) if raw in _SMALL_NUMBERS else Decimal(raw.replace(",", "."))
        if match["half"]:
            years += Decimal("0.5")
        keep(match, [int(years * 12)])
    for match in list(_TERM_YEAR_AND_HALF.finditer(text)):
        keep(match, [18])
    for match in list(_TERM_PLAZO.finditer(text)):
        n = int(match["n"])
        # "plazo de 5" means years; "plazo de 36" means months.
        keep(match, [n * 12 if n <= 10 else n])
    return mentions, [v for v in values if v > 0], text


def _find_percentages(text: str, original: str) -> tuple[list[_Mention], list[Decimal], str]:
    """Down-payment percentage mentions (rates and discounts are skipped), values as fractions."""
    mentions: list[_Mention] = []
    ratios: list[Decimal] = []
    for match in list(_PERCENT.finditer(text)):
        mentions.append(_Mention(match.start(), match.end(), "percent"))
        text = _mask(text, match.start(), match.end())
        if _NOT_DOWN_PERCENT_BEFORE.search(
            original, max(0, match.start() - _LOOKBACK), match.start()
        ) or _NOT_DOWN_PERCENT_AFTER.match(original, match.end()):
            continue
        value = read_number(match["n"].replace(",", "."))
        if value is not None and 0 <= value < 100:
            ratios.append(value / 100)
    return mentions, ratios, text


def _find_amounts(text: str, original: str) -> list[_Mention]:
    """Money mentions with their values; monthly amounts are flagged, years/mileage dropped."""
    mentions: list[_Mention] = []
    for spelled in spelled_millions(text):
        mentions.append(_amount_mention(spelled.start, spelled.end, spelled.value, original))
        text = _mask(text, spelled.start, spelled.end)
    for match in _MONEY.finditer(text):
        number = read_number(match["num"])
        if number is None:
            continue
        mult = match["mult"] or match["mill"] or match["m"]
        end = match.end()
        if mult is not None:
            # A bare "m" here is millions: finance amounts are car prices, never "300m" for 300 mil.
            number *= MILLION if match["m"] else unit_scale(mult)
        if match["half"]:
            number += HALF_MILLION
        if match["extra"]:
            number += int(match["extra"]) * THOUSAND
        start = match.start("cur") if match["cur"] else match.start("num")
        explicit = bool(match["cur"] or mult or re.search(r"\d[.,]\d{3}(?!\d)", match["num"]))
        if _NOT_MONEY_AFTER.match(original, end) or _NOT_MONEY_BEFORE.search(
            original, max(0, start - _LOOKBACK), start
        ):
            continue
        if not explicit:
            if _CURRENCY_AFTER.match(original, end):
                explicit = True
            elif number < 1000 or (len(match["num"]) == 4 and 1900 <= number <= 2099):
                continue  # small counts and model years are not money
        if number <= 0 or number > _MAX_AMOUNT:
            continue
        mentions.append(_amount_mention(start, end, number, original))
    return mentions


def _amount_mention(start: int, end: int, value: Decimal, original: str) -> _Mention:
    """A money mention, flagged as a monthly payment when the context says so."""
    monthly = bool(
        _MONTHLY_AFTER.match(original, end) or _MONTHLY_BEFORE.search(original, max(0, start - _LOOKBACK), start)
    )
    return _Mention(
        start,
        end,
        "money",
        to_cents(value),
        monthly=monthly,
    )


def _distance(gap: str) -> float:
    """Weighted word count between a keyword and a number; conjunctions count double."""
    tokens = re.findall(r"[a-zñ0-9]+", gap)
    return float(sum(2 if t in _CONJUNCTIONS else 1 for t in tokens))


def _assign_keywords(text: str, mentions: list[_Mention]) -> None:
    """Give every context keyword between numbers to the nearest mention on either side."""
    bounds = [0, *(p for m in mentions for p in (m.start, m.end)), len(text)]
    for index in range(len(mentions) + 1):
        gap_start, gap_end = bounds[2 * index], bounds[2 * index + 1]
        prev = mentions[index - 1] if index > 0 else None
        nxt = mentions[index] if index < len(mentions) else None
        gap = text[gap_start:gap_end]
        cuts = [m.start() for m in _PUNCTUATION.finditer(gap)]
        first_cut = cuts[0] if cuts else len(gap)
        last_cut = cuts[-1] + 1 if cuts else 0
        taken: list[tuple[int, int]] = []
        for pattern, label, strong, prefers_following in _KEYWORDS:
            for match in pattern.finditer(gap):
                if any(match.start() < e and s < match.end() for s, e in taken):
                    continue  # "down payment" already claimed the "down"
                taken.append((match.start(), match.end()))
                options: list[tuple[float, int, _Mention, bool]] = []
                if prev is not None and match.end() <= first_cut and strong:
                    d = _distance(gap[: match.start()])
                    if d <= _MAX_KEYWORD_AFTER:
                        options.append((d, 0 if not prefers_following else 1, prev, False))
                if nxt is not None and match.start() >= last_cut:
                    d = _distance(gap[match.end() :])
                    if d <= (_MAX_KEYWORD_BEFORE if strong else 1):
                        options.append((d, 0 if prefers_following else 1, nxt, True))
                if options:
                    d, _, owner, before = min(options, key=lambda o: (o[0], o[1]))
                    owner.keywords.append((d, label, strong, before))


def _label(mention: _Mention) -> Label | None:
    """Closest strong keyword wins (keyword-before-number on ties); weak ones only as a fallback."""
    strong = [k for k in mention.keywords if k[2]]
    pool = strong or mention.keywords
    if not pool:
        return None
    return min(pool, key=lambda k: (k[0], not k[3]))[1]


_CAP_WORDS = (
    r"(?:no (?:pase|pasen|exceda|excedan|sea mayor|sean mayores) de|no mas de|menos de|hasta|maximo|max|tope de"
    r"|presupuesto (?:es )?de|under|up to|no more than|at most|below)"
)
# A cap on a monthly payment: "la mensualidad no pase de 6 mil", "monthly payment up to 5k".
_MONTHLY_CAP = re.compile(
    rf"\b(?:mensualidad(?:es)?|mensual|pago mensual|pagos mensuales|monthly(?: payment)?)\b[^.;?!]{{0,20}}"
    rf"\b{_CAP_WORDS}\s*(?:de |los |unos |como )?\$?\s*$"
)
# A cap on the car's price: "que no pase de 400 mil", "hasta 300 mil" (not a price to quote).
_SEARCH_CAP = re.compile(rf"\b{_CAP_WORDS}\s*(?:de |los |unos |como )?\$?\s*$")


def parse_finance_request(text: str) -> FinanceRequest:
    """Extract price, down payment (amount or ratio) and term from a Spanish or English message."""
    original = spelled_numbers_to_digits(fold(text))
    term_mentions, term_values, work = _find_terms(original)
    percent_mentions, ratios, work = _find_percentages(work, original)
    amounts = _find_amounts(work, original)

    mentions = sorted([*term_mentions, *percent_mentions, *amounts], key=lambda m: m.start)
    _assign_keywords(original, mentions)

    price: Decimal | None = None
    down: Decimal | None = None
    monthly: Decimal | None = None
    unlabeled: list[Decimal] = []
    for mention in amounts:
        before = original[max(0, mention.start - 45) : mention.start]
        if mention.monthly or (_label(mention) != "down" and _MONTHLY_CAP.search(before)):
            # "la mensualidad no pase de 6 mil": a monthly budget, however the cap is worded.
            monthly = monthly if monthly is not None else mention.value
            continue
        label = _label(mention)
        if label is None and _SEARCH_CAP.search(before):
            continue  # "una SUV que no pase de 400 mil": a limit on the search, not a price to quote
        if label == "price" and price is None:
            price = mention.value
        elif label == "down" and down is None:
            down = mention.value
        elif label is None:
            unlabeled.append(mention.value)
    ratio = ratios[0] if ratios else None
    # Only a down payment someone named ("enganche", "down", "dando") says the message is about financing:
    # two bare amounts are as likely a budget range ("between 200k and 300k").
    named_down = down is not None
    for value in sorted(unlabeled, reverse=True):
        if price is None and (down is None or value > down):
            price = value
        elif down is None and ratio is None and price is not None and value < price:
            down = value
    if down is not None:
        ratio = None
    elif ratio is None and _NO_DOWN_PAYMENT.search(original):
        ratio = Decimal(0)

    asks_payment = bool(_HOW_MUCH.search(original))
    if not term_values and (named_down or monthly is not None or asks_payment or _FINANCE_WORDS.search(original)):
        # "80 mil de enganche a 36": a bare number after "a" is the term when the message is about financing.
        bare = _BARE_TERM.search(work)
        if bare is not None:
            term_values = [int(bare["n"])]
    distinct_terms = sorted(set(term_values))
    term = distinct_terms[0] if len(distinct_terms) == 1 else None
    mentions_finance = bool(_FINANCE_WORDS.search(original) or term_values or named_down or ratio is not None)
    return FinanceRequest(
        price=price,
        down_payment=down,
        down_payment_ratio=ratio,
        term_months=term,
        monthly_payment=monthly,
        mentions_finance=mentions_finance or monthly is not None,
    )


_BARE_TERM = re.compile(
    r"(?<![a-z])(?:a|en|at|over|por)\s+(?P<n>6|12|18|24|30|36|42|48|54|60|72|84|96|120)(?![\d.,%])"
    r"(?!\s*(?:mil|k|pesos|mxn|km|kms|%))"
)
# "¿cuánto queda a 48?", "how much at 36?": a price question with a bare term is a quote request.
_HOW_MUCH = re.compile(
    r"(?<![a-z])(?:cuanto|how much)\s+(?:me\s+)?(?:queda|quedaria|sale|saldria|seria|pagaria|es|would|is|at|a|en)"
)
_TERM_FOLLOWUP = re.compile(
    r"^\s*(?:y|and|o|or|what about|how about|que tal|y si fuera|y si es|y si)?\s*(?:mejor|better|instead)?\s*"
    r"(?:a|en|con|at|over|for|in|de|por)?"
    r"\s*(?P<n>\d{1,3})\s*(?:meses|mes|months?|mensualidades|pagos|payments)?\s*[?!.]*\s*$"
)


def parse_term_followup(text: str) -> int | None:
    """The term of a bare follow-up to a quote ("¿y a 60?", "what about 36?"), else None."""
    match = _TERM_FOLLOWUP.match(fold(text).replace("¿", " ").replace("¡", " "))
    if match is None:
        return None
    months = int(match["n"])
    return months if 6 <= months <= 120 else None


def looks_like_finance_query(text: str) -> bool:
    """True when the message asks about financing, monthly payments, down payment or a loan term."""
    return parse_finance_request(text).mentions_finance
