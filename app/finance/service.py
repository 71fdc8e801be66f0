"""Financing quotes for used cars: amortized-loan math, validation and WhatsApp-ready text.

Pure functions, no I/O. All money is ``Decimal`` (MXN) and results are rounded to the cent
with ROUND_HALF_UP only at the end, so monthly payments match ``numpy_financial.pmt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.text.normalize import Language

CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
_MAX_MONEY = Decimal(10**10)  # sanity cap so huge tool arguments fail validation, not the math
# Private arithmetic context so a caller's global decimal settings cannot change results.
_CTX = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

FinanceErrorCode = Literal[
    "invalid_price",
    "invalid_down_payment",
    "down_payment_too_high",
    "down_payment_too_low",
    "term_not_offered",
    "term_required",
]


def _cents(value: Decimal) -> Decimal:
    """Round ``value`` to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class FinanceTerms(BaseModel):
    """The dealer's financing conditions (rate, offered terms, minimum down payment)."""

    model_config = ConfigDict(frozen=True)

    annual_rate: Decimal = Field(
        ge=0,
        lt=1,
        description="Fixed annual interest rate as a fraction, e.g. 0.139 for 13.9%.",
    )
    terms_months: list[int] = Field(min_length=1, description="Offered loan terms in months (1..120).")
    min_down_payment_ratio: Decimal = Field(
        ge=0,
        le=Decimal("0.9"),
        description="Minimum down payment as a fraction of the price, e.g. 0.1.",
    )

    @field_validator("terms_months")
    @classmethod
    def _check_terms(cls, value: list[int]) -> list[int]:
        """Each term must be 1..120 months; store them sorted and de-duplicated."""
        bad = [t for t in value if not 1 <= t <= 120]
        if bad:
            raise ValueError(f"terms must be between 1 and 120 months, got {bad}")
        return sorted(set(value))


class QuoteRequest(BaseModel):
    """Arguments of the ``quote_financing`` tool."""

    model_config = ConfigDict(extra="forbid")

    price: Decimal = Field(gt=0, le=_MAX_MONEY, description="Vehicle price in MXN.")
    down_payment: Decimal | None = Field(
        default=None,
        ge=0,
        le=_MAX_MONEY,
        description="Down payment amount in MXN; omit to use the minimum or down_payment_ratio.",
    )
    down_payment_ratio: Decimal | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Down payment as a fraction of the price (0.2 = 20%); not with down_payment.",
    )
    term_months: int | None = Field(
        default=None,
        ge=1,
        description="Loan term in months; omit to quote every offered term.",
    )

    @model_validator(mode="after")
    def _one_down_payment_form(self) -> QuoteRequest:
        """Reject requests that give the down payment both as an amount and as a ratio."""
        if self.down_payment is not None and self.down_payment_ratio is not None:
            raise ValueError("give either down_payment or down_payment_ratio, not both")
        return self


class Quote(BaseModel):
    """One financing scenario; money fields are rounded to the cent."""

    model_config = ConfigDict(frozen=True)

    price: Decimal
    down_payment: Decimal
    amount_financed: Decimal
    annual_rate: Decimal
    term_months: int
    monthly_payment: Decimal
    total_paid: Decimal
    total_interest: Decimal


class AmortizationRow(BaseModel):
    """One month of an amortization schedule."""

    model_config = ConfigDict(frozen=True)

    month: int
    payment: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal


class FinanceError(Exception):
    """A request the dealer's terms cannot satisfy; ``details`` carries what a helpful reply needs."""

    def __init__(
        self,
        code: FinanceErrorCode,
        message: str,
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.code: FinanceErrorCode = code
        self.message = message
        self.details: dict[str, object] = dict(details or {})

    def as_payload(self) -> dict[str, object]:
        """JSON-safe form (Decimals as strings) for returning to an LLM as a tool result."""

        def plain(value: object) -> object:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        return {
            "code": self.code,
            "message": self.message,
            "details": {k: plain(v) for k, v in self.details.items()},
        }


def minimum_down_payment(price: Decimal, terms: FinanceTerms) -> Decimal:
    """Smallest accepted down payment for ``price``, rounded up to the cent."""
    with localcontext(_CTX):
        return (_cents(price) * terms.min_down_payment_ratio).quantize(CENT, rounding=ROUND_CEILING)


def monthly_payment(principal: Decimal, annual_rate: Decimal, term_months: int) -> Decimal:
    """Level payment of an amortized loan, rounded to the cent (equals ``-numpy_financial.pmt``)."""
    if term_months < 1:
        raise ValueError("term_months must be at least 1")
    with localcontext(_CTX):
        rate = annual_rate / 12
        raw = principal / term_months if rate == 0 else principal * rate / (1 - (1 + rate) ** -term_months)
        return _cents(raw)


def _base_details(price: Decimal, terms: FinanceTerms) -> dict[str, object]:
    """Details every error carries so the reply can suggest valid alternatives."""
    details: dict[str, object] = {
        "allowed_terms": list(terms.terms_months),
        "min_down_payment_ratio": terms.min_down_payment_ratio,
    }
    if price > 0:
        details["price"] = price
        details["minimum_down_payment"] = minimum_down_payment(price, terms)
    return details


def _check_price(request: QuoteRequest, terms: FinanceTerms) -> Decimal:
    """Price rounded to the cent, or ``invalid_price`` (reachable via ``model_construct``)."""
    price = _cents(request.price)
    if price <= 0:
        raise FinanceError(
            "invalid_price",
            f"price must be greater than zero, got {request.price}",
            _base_details(Decimal(0), terms) | {"price": request.price},
        )
    return price


def _resolve_down_payment(request: QuoteRequest, price: Decimal, terms: FinanceTerms) -> Decimal:
    """The down payment amount for ``request``, validated against the price and minimum ratio."""
    details = _base_details(price, terms)
    minimum = minimum_down_payment(price, terms)
    amount, ratio = request.down_payment, request.down_payment_ratio
    if amount is not None and ratio is not None:
        raise FinanceError(
            "invalid_down_payment",
            "give either down_payment or down_payment_ratio, not both",
            details,
        )
    with localcontext(_CTX):
        if amount is not None:
            down = _cents(amount)
            too_low = amount < price * terms.min_down_payment_ratio
        elif ratio is not None:
            down = _cents(price * ratio)
            too_low = ratio < terms.min_down_payment_ratio
        else:
            down, too_low = minimum, False
    details["down_payment"] = down
    if down < 0:
        raise FinanceError(
            "invalid_down_payment",
            f"down payment cannot be negative, got {down}",
            details,
        )
    if down >= price:
        raise FinanceError(
            "down_payment_too_high",
            f"down payment {down} must be less than the price {price}",
            details,
        )
    if too_low:
        raise FinanceError(
            "down_payment_too_low",
            f"down payment {down} is below the minimum {minimum} "
            f"({format_percent(terms.min_down_payment_ratio)} of {price})",
            details,
        )
    return down


def _build_quote(price: Decimal, down: Decimal, term: int, annual_rate: Decimal) -> Quote:
    """Assemble a quote whose totals add up exactly to the cent."""
    financed = price - down
    payment = monthly_payment(financed, annual_rate, term)
    paid_in_installments = payment * term
    return Quote(
        price=price,
        down_payment=down,
        amount_financed=financed,
        annual_rate=annual_rate,
        term_months=term,
        monthly_payment=payment,
        total_paid=down + paid_in_installments,
        total_interest=paid_in_installments - financed,
    )


def quote_request(
    *,
    price: Decimal,
    down_payment: Decimal | None = None,
    down_payment_percent: Decimal | None = None,
    term_months: int | None = None,
) -> QuoteRequest:
    """A quote request from the forms people give a down payment in: an amount, or a percent of the price."""
    ratio = None if down_payment_percent is None else down_payment_percent / 100
    return QuoteRequest(price=price, down_payment=down_payment, down_payment_ratio=ratio, term_months=term_months)


def quote_payload(quote: Quote) -> dict[str, Any]:
    """The quote as the API and the tools return it (numbers, two decimals)."""
    return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in quote.model_dump().items()}


def quote_financing(*, request: QuoteRequest, terms: FinanceTerms) -> Quote:
    """Quote one term; raises FinanceError if the request breaks the dealer's terms."""
    price = _check_price(request, terms)
    term = request.term_months
    if term is None:
        raise FinanceError(
            "term_required",
            "term_months is required; use quote_all_terms to compare",
            _base_details(price, terms),
        )
    down = _resolve_down_payment(request, price, terms)
    if term not in terms.terms_months:
        allowed = ", ".join(str(t) for t in terms.terms_months)
        raise FinanceError(
            "term_not_offered",
            f"{term}-month term is not offered; allowed terms: {allowed}",
            _base_details(price, terms) | {"requested_term": term, "down_payment": down},
        )
    return _build_quote(price, down, term, terms.annual_rate)


def quote_all_terms(*, request: QuoteRequest, terms: FinanceTerms) -> list[Quote]:
    """Quote every offered term (shortest first), ignoring ``request.term_months``."""
    price = _check_price(request, terms)
    down = _resolve_down_payment(request, price, terms)
    return [_build_quote(price, down, term, terms.annual_rate) for term in terms.terms_months]


def quote_options(*, request: QuoteRequest, terms: FinanceTerms) -> list[Quote]:
    """Tool-style entry point: the requested term if given, otherwise every offered term."""
    if request.term_months is None:
        return quote_all_terms(request=request, terms=terms)
    return [quote_financing(request=request, terms=terms)]


def amortization_schedule(quote: Quote) -> list[AmortizationRow]:
    """Month-by-month schedule; the final payment absorbs rounding so the last balance is 0.00."""
    rows: list[AmortizationRow] = []
    with localcontext(_CTX):
        rate = quote.annual_rate / 12
        balance = quote.amount_financed
        for month in range(1, quote.term_months + 1):
            interest = _cents(balance * rate)
            if month == quote.term_months:
                principal = balance
            else:
                principal = min(max(quote.monthly_payment - interest, Decimal("0.00")), balance)
            balance = balance - principal
            rows.append(
                AmortizationRow(
                    month=month,
                    payment=interest + principal,
                    interest=interest,
                    principal=principal,
                    balance=balance,
                )
            )
    return rows


# --- WhatsApp text -------------------------------------------------------------------------


def format_money(amount: Decimal) -> str:
    """``$1,234,567.89``; whole amounts drop the cents (``$250,000``)."""
    value = _cents(amount)
    sign = "-" if value < 0 else ""
    value = abs(value)
    body = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{sign}${body}"


def format_percent(ratio: Decimal) -> str:
    """A fraction as a percentage: ``0.139`` → ``13.9%``, ``0.10`` → ``10%`` (never ``1E+1%``)."""
    with localcontext(_CTX):
        value = (ratio * _HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP).normalize()
    return f"{value:f}%"


def down_payment_share(quote: Quote) -> str:
    """Down payment as a percentage of the price, one decimal at most (``20%``, ``12.5%``)."""
    with localcontext(_CTX):
        share = (quote.down_payment * _HUNDRED / quote.price).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{share.normalize():f}%"


def _join_terms(terms: list[int], language: Language) -> str:
    """``12, 24, 36 y 48`` / ``12, 24, 36 and 48``."""
    items = [str(t) for t in terms]
    if len(items) == 1:
        return items[0]
    last = " y " if language == "es" else " and "
    return ", ".join(items[:-1]) + last + items[-1]


_NOTE = {
    "es": "_Cifras estimadas en MXN, sujetas a aprobación de crédito._",
    "en": "_Estimate in MXN, subject to credit approval._",
}


def format_quote(quote: Quote, language: Language) -> str:
    """Short WhatsApp message describing one quote."""
    money = format_money
    if language == "es":
        lines = [
            "*Cotización de financiamiento*",
            f"Precio: {money(quote.price)}",
            f"Enganche: {money(quote.down_payment)} ({down_payment_share(quote)})",
            f"Monto a financiar: {money(quote.amount_financed)}",
            f"*{quote.term_months} mensualidades de {money(quote.monthly_payment)}*",
            f"Tasa anual: {format_percent(quote.annual_rate)}",
            f"Total pagado: {money(quote.total_paid)} (intereses: {money(quote.total_interest)})",
        ]
    else:
        lines = [
            "*Financing quote*",
            f"Price: {money(quote.price)}",
            f"Down payment: {money(quote.down_payment)} ({down_payment_share(quote)})",
            f"Amount financed: {money(quote.amount_financed)}",
            f"*{quote.term_months} monthly payments of {money(quote.monthly_payment)}*",
            f"Annual rate: {format_percent(quote.annual_rate)}",
            f"Total paid: {money(quote.total_paid)} (interest: {money(quote.total_interest)})",
        ]
    return "\n".join([*lines, _NOTE[language]])


def format_quote_table(quotes: list[Quote], language: Language, *, header: bool = False) -> str:
    """One ``• 48 meses: $6,137.18 al mes`` line per quote; ``header`` adds a title and the note."""
    if not quotes:
        raise ValueError("format_quote_table needs at least one quote")
    if language == "es":
        rows = [f"• {q.term_months} meses: {format_money(q.monthly_payment)} al mes" for q in quotes]
    else:
        rows = [f"• {q.term_months} months: {format_money(q.monthly_payment)}/month" for q in quotes]
    if not header:
        return "\n".join(rows)
    first = quotes[0]
    price, down = format_money(first.price), format_money(first.down_payment)
    share, rate = down_payment_share(first), format_percent(first.annual_rate)
    if language == "es":
        head = [
            "*Opciones de financiamiento*",
            f"Precio {price}, enganche {down} ({share}), tasa anual {rate}:",
        ]
    else:
        head = [
            "*Financing options*",
            f"Price {price}, down payment {down} ({share}), annual rate {rate}:",
        ]
    return "\n".join([*head, *rows, _NOTE[language]])


def _detail_money(details: Mapping[str, object], key: str) -> Decimal | None:
    """A Decimal detail, or None when absent."""
    value = details.get(key)
    return value if isinstance(value, Decimal) else None


def format_finance_error(error: FinanceError, language: Language) -> str:
    """Customer-facing explanation of ``error`` that points at valid alternatives."""
    d = error.details
    es = language == "es"
    price = _detail_money(d, "price")
    down = _detail_money(d, "down_payment")
    minimum = _detail_money(d, "minimum_down_payment")
    ratio = _detail_money(d, "min_down_payment_ratio")
    raw_terms = d.get("allowed_terms")
    allowed = [t for t in raw_terms if isinstance(t, int)] if isinstance(raw_terms, list) else []

    minimum_line = ""
    if minimum is not None and ratio is not None:
        minimum_line = (
            f"El enganche mínimo es {format_money(minimum)} ({format_percent(ratio)} del precio)."
            if es
            else f"The minimum down payment is {format_money(minimum)} ({format_percent(ratio)} of the price)."
        )
    terms_line = ""
    if allowed:
        terms_line = (
            f"Plazos disponibles: {_join_terms(allowed, 'es')} meses."
            if es
            else f"Available terms: {_join_terms(allowed, 'en')} months."
        )

    if error.code == "down_payment_too_high" and down is not None and price is not None:
        lines = [
            f"Con un enganche de {format_money(down)} ya cubres el precio de {format_money(price)}, "
            "así que no necesitas financiamiento."
            if es
            else f"A down payment of {format_money(down)} already covers the {format_money(price)} price, "
            "so no financing is needed.",
            minimum_line,
        ]
    elif error.code == "down_payment_too_low":
        given = f" ({format_money(down)})" if down is not None else ""
        lines = [
            f"El enganche{given} es menor al mínimo." if es else f"The down payment{given} is below the minimum.",
            minimum_line,
        ]
    elif error.code == "term_not_offered":
        requested = d.get("requested_term")
        lines = [
            f"No manejamos plazo de {requested} meses." if es else f"We don't offer a {requested}-month term.",
            terms_line,
        ]
    elif error.code == "term_required":
        lines = [
            "¿A qué plazo te gustaría cotizar?" if es else "Which term would you like?",
            terms_line,
        ]
    elif error.code == "invalid_price":
        lines = [
            "Necesito el precio del auto (mayor a $0) para cotizar."
            if es
            else "I need the car's price (greater than $0) to give you a quote."
        ]
    elif error.code == "invalid_down_payment":
        lines = [
            "Indícame el enganche como monto o como porcentaje, por favor."
            if es
            else "Please give the down payment either as an amount or as a percentage.",
            minimum_line,
        ]
    else:  # pragma: no cover - every code is handled above
        lines = [error.message]
    return "\n".join(line for line in lines if line)
