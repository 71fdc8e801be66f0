"""Money and numbers as Mexicans and English speakers write them, read and written back.

Reading works on accent-folded text (``app.text.normalize.fold``): one number ("250,000.00",
"250.000,00", "250 000", "1,5"), its multiplier word ("300 mil", "$250k", "1.2 millones", "300m")
and its currency or distance cue ("pesos", "km"), plus amounts spelled in words ("medio millón",
"un millón y medio"). The catalog and finance parsers build on these; what an amount *means*
(a budget, a down payment, a mileage) stays with them.

Writing: ``format_money`` is the one way an amount is shown to a customer (``$250,000``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from app.text.normalize import fold

CENT = Decimal("0.01")
THOUSAND = Decimal(1_000)
MILLION = Decimal(1_000_000)
HALF_MILLION = Decimal(500_000)
# A bare four-digit number in this range is a model year, not an amount.
YEAR_MIN, YEAR_MAX = 1990, 2030

_THOUSAND_WORDS = frozenset({"k", "mil", "thousand", "grand"})
_MILLION_WORDS = frozenset({"millones", "millon", "million", "millions", "mdp"})
_CURRENCY_WORDS = frozenset({"pesos", "mxn", "usd", "dolares", "dlls"})
_DISTANCE_WORDS = frozenset({"kilometros", "kilometraje", "kms", "km", "millas", "miles"})
_MILE_WORDS = frozenset({"millas", "miles"})

AMOUNT = re.compile(
    r"(?<![a-zñ0-9.,$])"
    r"(?P<cur>\$\s*)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)"  # 250,000 / 250,000.00
    r"|\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?(?!\d)"  # 250.000 / 250.000,00
    r"|\d{1,3}(?: \d{3})+(?![\d.,]\d)"  # 250 000
    r"|\d+(?:[.,]\d{1,2}(?!\d))?(?!\d))"  # 250 / 1.2 / 1,5
    r"(?:\s*(?P<unit>millones|millon|mdp|mil|thousand|grand|k|m)(?![a-zñ]))?"
    r"(?:\s*(?P<tail>pesos|mxn|usd|dolares|dlls|kilometros|kilometraje|kms|km|millas|miles)(?![a-zñ]))?"
)
"""One amount in folded text: the number, its multiplier word and a currency or distance word."""

# "y 200 mil" after a million: "un millón 200 mil", "1 millón y 200 mil".
AND_THOUSANDS = r"(?:\s+(?:y\s+|and\s+)?(?P<extra>\d{1,3})\s*(?:mil|thousand)(?![a-z]))?"
_HALF_MILLION = re.compile(r"(?<![a-z])(?:medio\s+millon|half\s+a\s+million)(?![a-z])")
_WORD_MILLION = re.compile(
    r"(?:(?<![a-z\d])(?:un|one|a)\s+|(?<![\d.,]\s)(?<![\d.,a-z]))mill(?:on|ion)"
    r"(?P<half>\s+(?:y\s+medio|and\s+a\s+half))?(?![a-z])" + AND_THOUSANDS
)
_SPACED_THOUSANDS = re.compile(r"\d{1,3}(?: \d{3})+")


@dataclass
class AmountMention:
    """A number in the text with its multiplier and the currency or distance word after it."""

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
        """The number times its multiplier."""
        return self.base * self.mult

    @property
    def year_like(self) -> bool:
        """A bare four-digit number that reads as a model year ("2019"), not an amount."""
        return (
            self.raw.isdigit()
            and len(self.raw) == 4
            and YEAR_MIN <= int(self.raw) <= YEAR_MAX
            and self.mult == 1
            and not self.currency
            and not self.km
        )


@dataclass(frozen=True)
class SpelledAmount:
    """An amount written with words ("medio millón", "un millón y medio") and where it is."""

    start: int
    end: int
    value: Decimal


def read_number(raw: str) -> Decimal | None:
    """``250,000.50`` / ``250.000`` / ``250 000`` / ``1,5`` / ``1.2`` → Decimal; None if malformed."""
    if _SPACED_THOUSANDS.fullmatch(raw):
        raw = raw.replace(" ", "")
    try:
        if "," in raw and "." in raw:
            return _mixed_separators(raw)
        for sep in (",", "."):
            if sep in raw:
                if re.fullmatch(r"\d{1,3}(?:" + re.escape(sep) + r"\d{3})+", raw):
                    return Decimal(raw.replace(sep, ""))
                if raw.count(sep) == 1:
                    return Decimal(raw.replace(sep, "."))
                return None
        return Decimal(raw)
    except InvalidOperation:
        return None


def _mixed_separators(raw: str) -> Decimal | None:
    """ "250,000.50" or "250.000,50": the last separator is the decimal one, the other groups thousands."""
    dec = "." if raw.rfind(".") > raw.rfind(",") else ","
    thousands = "," if dec == "." else "."
    whole, _, frac = raw.rpartition(dec)
    if not re.fullmatch(r"\d{1,3}(?:" + re.escape(thousands) + r"\d{3})*", whole) or not frac.isdigit():
        return None
    return Decimal(whole.replace(thousands, "") + "." + frac)


def unit_scale(unit: str) -> Decimal:
    """What a multiplier word means: "mil"/"k"/"thousand" → 1,000, "millones"/"mdp" → 1,000,000, else 1."""
    if unit in _THOUSAND_WORDS:
        return THOUSAND
    if unit in _MILLION_WORDS:
        return MILLION
    return Decimal(1)


def multiplier(unit: str | None, base: float) -> float:
    """The multiplier of ``unit`` after the number ``base``; a bare "m" is read by the size of the number."""
    if unit == "m":
        # "1.2m" is millions; "300m" is how some people write 300 mil.
        return 1_000_000.0 if base < 100 else 1_000.0
    return float(unit_scale(unit)) if unit is not None else 1.0


_UNITS_ES = {
    "cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
    "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14, "quince": 15,
    "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiuno": 21,
    "veintiun": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26,
    "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "treinta": 30, "cuarenta": 40, "cincuenta": 50,
    "sesenta": 60, "setenta": 70, "ochenta": 80, "noventa": 90, "cien": 100, "ciento": 100, "doscientos": 200,
    "trescientos": 300, "cuatrocientos": 400, "quinientos": 500, "seiscientos": 600, "setecientos": 700,
    "ochocientos": 800, "novecientos": 900,
}  # fmt: skip
_UNITS_EN = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_NUMBER_WORDS = {**_UNITS_ES, **_UNITS_EN}
_NUMBER_WORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
# A run of number words ("doscientos cincuenta", "treinta y seis", "twenty five", "2 cientos") directly before a
# unit that says it is a quantity: only then, so "un auto", "los dos" or English "once" stay words.
_SPELLED_RUN = re.compile(
    rf"(?<![a-zñ0-9])(?P<run>(?:\d\s*cientos|{_NUMBER_WORD})(?:(?:\s+y\s+|\s+and\s+|[\s-]+)(?:{_NUMBER_WORD}|hundred))*)"
    r"(?=\s*(?:mil|thousand|grand|k|millones|millon|million|meses|mes|months?|mensualidades|pagos|payments|pesos"
    r"|mxn|dolares|bucks|kms?|kilometros|por ciento|percent|%|a[nñ]os|years?)(?![a-zñ]))"
)


_MIL_TAIL = re.compile(
    rf"(?<![\d.,])(?P<n>\d{{1,3}})\s+mil\s+(?P<run>(?:{_NUMBER_WORD})(?:(?:\s+y\s+|[\s-]+)(?:{_NUMBER_WORD}))*)"
    r"(?![a-zñ])"
)


def _place(value: int) -> int:
    return 100 if value >= 100 else 10 if value >= 10 else 1


def _run_values(run: str) -> list[int]:
    """The numbers a run of number words says: "doscientos cincuenta" → [250], "treinta y seis" → [36],
    "ciento cincuenta y doscientos" → [150, 200] (a "y" joins only tens and units), "two hundred" → [200]."""
    numbers: list[int] = []
    last_place = 1000
    joined = False
    for word in re.findall(r"\d\s*cientos|[a-z]+", run):
        if word in ("y", "and"):
            joined = True
            continue
        if word == "hundred":
            if numbers:
                numbers[-1] = max(numbers[-1], 1) * 100
                last_place = 100
            joined = False
            continue
        value = int(word[0]) * 100 if word[0].isdigit() else _NUMBER_WORDS[word]
        place = _place(value)
        tens_then_unit = last_place == 10 and numbers and numbers[-1] % 10 == 0 and place == 1
        if numbers and place < last_place and (not joined or tens_then_unit):
            numbers[-1] += value
        else:
            numbers.append(value)
        last_place = place if value % 10 == 0 or place == 1 else 1
        joined = False
    return numbers


def spelled_numbers_to_digits(t: str) -> str:
    """Numbers written in words before a unit, in folded text, as digits: "cinco mil" → "5 mil",
    "doscientos mil" → "200 mil", "treinta y seis meses" → "36 meses", "2 cientos" → "200",
    "entre ciento cincuenta y doscientos mil" → "entre 150 y 200 mil"."""

    def repl(m: re.Match[str]) -> str:
        run = m.group("run")
        if run in ("un", "una", "uno") or run.startswith(("un ", "una ")):
            return run  # an article ("un mes", "una k"): "un millon" is read elsewhere
        values = _run_values(run)
        return run if not values or 0 in values else " y ".join(str(v) for v in values)

    t = _SPELLED_RUN.sub(repl, t)

    def tail(m: re.Match[str]) -> str:
        values = _run_values(m.group("run"))
        if len(values) != 1 or not 0 < values[0] < 1000:
            return m.group(0)
        return str(int(m.group("n")) * 1000 + values[0])

    # "cuatro mil quinientos al mes" → "4 mil quinientos" → "4500": the hundreds after "mil" belong to it.
    t = _MIL_TAIL.sub(tail, t)
    # "2 cientos" / "3 cientos mil" without a unit after it.
    return re.sub(r"(?<![\d.,])(\d)\s*cientos(?![a-zñ])", lambda m: str(int(m.group(1)) * 100), t)


def prepare_amounts(text: str) -> str:
    """Folded text with dashes and blanks made plain and spelled millions in digits ("un millón" → "1 millon")."""
    t = spelled_numbers_to_digits(fold(text))
    t = t.replace("–", "-").replace("—", "-").replace("\u00a0", " ")
    t = re.sub(r"\b(?:un millon|a million|one million)\b", "1 millon", t)
    return re.sub(r"\b(?:medio millon|half a million)\b", "500 mil", t)


def find_amounts(t: str) -> list[AmountMention]:
    """Every number in prepared text (``prepare_amounts``) with its multiplier and unit, in order."""
    found: list[AmountMention] = []
    for m in AMOUNT.finditer(t):
        raw = m.group("num")
        number = read_number(raw)
        if number is None:
            continue  # the pattern only admits well-formed numbers; kept for the type checker
        base = float(number)
        tail = m.group("tail")
        found.append(
            AmountMention(
                start=m.start(),
                end=m.end(),
                raw=raw,
                base=base,
                mult=multiplier(m.group("unit"), base),
                currency=bool(m.group("cur")) or tail in _CURRENCY_WORDS,
                km=tail in _DISTANCE_WORDS,
                miles=tail in _MILE_WORDS,
            )
        )
    return found


def spelled_millions(t: str) -> list[SpelledAmount]:
    """Amounts written with words in folded text: "medio millon", "un millon y medio", "a million 200 thousand"."""
    found: list[SpelledAmount] = []
    for pattern, base in ((_HALF_MILLION, HALF_MILLION), (_WORD_MILLION, MILLION)):
        for match in list(pattern.finditer(t)):
            groups = match.groupdict()
            value = base * Decimal("1.5") if groups.get("half") else base
            if groups.get("extra"):
                value += int(groups["extra"]) * THOUSAND
            found.append(SpelledAmount(match.start(), match.end(), value))
            # Blank it so "un millon" is not found again inside "medio millon".
            t = t[: match.start()] + " " * (match.end() - match.start()) + t[match.end() :]
    return found


def parse_money(text: str) -> float | None:
    """First money amount in ``text`` ("300 mil", "$250k", "1.2 millones", "250,000.00"), else None."""
    for m in find_amounts(prepare_amounts(text)):
        if m.km or m.year_like:
            continue
        if m.mult > 1 or m.currency or m.value >= 10_000:
            return m.value
    return None


def to_cents(value: Decimal) -> Decimal:
    """Round ``value`` to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal) -> str:
    """``$1,234,567.89``; whole amounts drop the cents (``$250,000``)."""
    value = to_cents(amount)
    sign = "-" if value < 0 else ""
    value = abs(value)
    body = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{sign}${body}"
