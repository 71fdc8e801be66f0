"""Financing quotes for used cars: amortized-loan math, validation and WhatsApp-ready text.

Pure functions, no I/O (``quote_for`` is given the tenant's loaded catalog). All money is ``Decimal`` (MXN)
and results are rounded to the cent with ROUND_HALF_UP only at the end, so monthly payments match
``numpy_financial.pmt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
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

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.catalog import frame as catalog_frame
from app.catalog.schemas import CarCard
from app.core.errors import NotFound
from app.text.money import CENT, format_money, to_cents
from app.text.normalize import Language
from app.text.wording import say

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
    default_term_months: int | None = Field(
        default=None,
        description="Term assumed when the customer names none (affordability, comparisons); one of terms_months.",
    )

    @field_validator("terms_months")
    @classmethod
    def _check_terms(cls, value: list[int]) -> list[int]:
        """Each term must be 1..120 months; store them sorted and de-duplicated."""
        bad = [t for t in value if not 1 <= t <= 120]
        if bad:
            raise ValueError(f"terms must be between 1 and 120 months, got {bad}")
        return sorted(set(value))

    @model_validator(mode="after")
    def _default_is_offered(self) -> FinanceTerms:
        """A default term must be one of the offered terms."""
        if self.default_term_months is not None and self.default_term_months not in self.terms_months:
            raise ValueError(f"default_term_months {self.default_term_months} is not one of terms_months")
        return self


def default_term(terms: FinanceTerms) -> int:
    """The term assumed when the customer gives none: the tenant's default, else 48 months when offered, else the
    longest offered term up to 60 months, else the shortest."""
    if terms.default_term_months in terms.terms_months:
        return int(terms.default_term_months or 0)
    if 48 in terms.terms_months:
        return 48
    usual = [t for t in terms.terms_months if t <= 60]
    return max(usual) if usual else min(terms.terms_months)


@dataclass(frozen=True)
class Affordable:
    """The most a customer can pay for a car at a monthly budget, and the assumptions it rests on."""

    max_price: Decimal
    monthly_budget: Decimal
    term_months: int
    down_payment: Decimal | None  # a fixed amount the customer gave; None means the minimum share of each price
    down_payment_ratio: Decimal
    annual_rate: Decimal


def max_price_for_payment(
    *,
    terms: FinanceTerms,
    monthly_budget: Decimal,
    term_months: int | None = None,
    down_payment: Decimal | None = None,
    down_payment_ratio: Decimal | None = None,
) -> Affordable:
    """Invert the quote: the highest price whose monthly payment fits ``monthly_budget`` at the tenant's rate.

    With a fixed down payment the price is that amount plus what the budget finances (capped so the down
    payment still meets the tenant's minimum share); otherwise the down payment is a share of the price (the
    customer's or the tenant's minimum). Raises FinanceError for a term the tenant does not offer.
    """
    term = term_months if term_months is not None else default_term(terms)
    if term not in terms.terms_months:
        allowed = ", ".join(str(t) for t in terms.terms_months)
        raise FinanceError(
            "term_not_offered",
            f"{term}-month term is not offered; allowed terms: {allowed}",
            {"allowed_terms": list(terms.terms_months), "requested_term": term},
        )
    ratio = terms.min_down_payment_ratio if down_payment_ratio is None else max(down_payment_ratio, Decimal(0))
    ratio = max(ratio, terms.min_down_payment_ratio)
    with localcontext(_CTX):
        rate = terms.annual_rate / 12
        factor = Decimal(term) if rate == 0 else (1 - (1 + rate) ** -term) / rate
        financed = monthly_budget * factor
        if down_payment is not None:
            price = financed + down_payment
            if terms.min_down_payment_ratio > 0:
                price = min(price, down_payment / terms.min_down_payment_ratio)
        else:
            price = financed / (1 - ratio) if ratio < 1 else financed
        price = price.quantize(Decimal(1), rounding=ROUND_FLOOR)
    return Affordable(
        max_price=price,
        monthly_budget=to_cents(monthly_budget),
        term_months=term,
        down_payment=to_cents(down_payment) if down_payment is not None else None,
        down_payment_ratio=ratio,
        annual_rate=terms.annual_rate,
    )


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
        return (to_cents(price) * terms.min_down_payment_ratio).quantize(CENT, rounding=ROUND_CEILING)


def monthly_payment(principal: Decimal, annual_rate: Decimal, term_months: int) -> Decimal:
    """Level payment of an amortized loan, rounded to the cent (equals ``-numpy_financial.pmt``)."""
    if term_months < 1:
        raise ValueError("term_months must be at least 1")
    with localcontext(_CTX):
        rate = annual_rate / 12
        raw = principal / term_months if rate == 0 else principal * rate / (1 - (1 + rate) ** -term_months)
        return to_cents(raw)


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
    price = to_cents(request.price)
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
            down = to_cents(amount)
            too_low = amount < price * terms.min_down_payment_ratio
        elif ratio is not None:
            down = to_cents(price * ratio)
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


@dataclass(frozen=True)
class CarQuotes:
    """What ``quote_for`` quoted: one quote for the requested term, or one per offered term; and the car."""

    quotes: list[Quote]
    term_months: int | None  # the requested term; None when every offered term was quoted
    car: CarCard | None = None  # the catalog car, when quoted by stock id

    @property
    def single(self) -> Quote | None:
        """The quote of the requested term, or None when every offered term was quoted."""
        return self.quotes[0] if self.term_months is not None else None


def _catalog_car(catalog: pd.DataFrame | None, stock_id: str) -> CarCard:
    """The car ``stock_id`` of the tenant's catalog; NotFound when the catalog has no such car."""
    if catalog is None:
        raise ValueError("quoting a stock id needs the tenant's catalog")
    card = catalog_frame.card_by_id(catalog, stock_id)
    if card is None:
        raise NotFound(f"No car with stock id {stock_id!r}", details={"stock_id": stock_id})
    return card


def quote_for(
    *,
    terms: FinanceTerms,
    catalog: pd.DataFrame | None = None,
    price: Decimal | None = None,
    stock_id: str | None = None,
    down_payment: Decimal | None = None,
    down_payment_percent: Decimal | None = None,
    down_payment_ratio: Decimal | None = None,
    term_months: int | None = None,
) -> CarQuotes:
    """Quote a price or a catalog car (its catalog price, never a given one) for one term or every offered term.

    Raises NotFound for a stock id the catalog lacks, FinanceError when the request breaks the dealer's
    terms, and ValueError (pydantic's ValidationError included) for arguments that make no request.
    """
    car = _catalog_car(catalog, stock_id) if stock_id is not None else None
    if car is not None:
        price = Decimal(str(car.price))
    if price is None:
        raise ValueError("give a price or a stock id")
    if down_payment_percent is not None:
        if down_payment_ratio is not None:
            raise ValueError("give either down_payment_percent or down_payment_ratio, not both")
        down_payment_ratio = down_payment_percent / 100
    request = QuoteRequest(
        price=price, down_payment=down_payment, down_payment_ratio=down_payment_ratio, term_months=term_months
    )
    return CarQuotes(quotes=quote_options(request=request, terms=terms), term_months=request.term_months, car=car)


def amortization_schedule(quote: Quote) -> list[AmortizationRow]:
    """Month-by-month schedule; the final payment absorbs rounding so the last balance is 0.00."""
    rows: list[AmortizationRow] = []
    with localcontext(_CTX):
        rate = quote.annual_rate / 12
        balance = quote.amount_financed
        for month in range(1, quote.term_months + 1):
            interest = to_cents(balance * rate)
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


def join_terms(terms: list[int], language: Language) -> str:
    """``12, 24, 36 y 48`` / ``12, 24, 36 and 48``."""
    items = [str(t) for t in terms]
    if len(items) == 1:
        return items[0]
    return say("finance_terms_last", language, rest=", ".join(items[:-1]), last=items[-1])


def format_quote(quote: Quote, language: Language) -> str:
    """Short WhatsApp message describing one quote."""
    money = format_money
    body = say(
        "finance_quote",
        language,
        price=money(quote.price),
        down=money(quote.down_payment),
        share=down_payment_share(quote),
        financed=money(quote.amount_financed),
        term=quote.term_months,
        payment=money(quote.monthly_payment),
        rate=format_percent(quote.annual_rate),
        total=money(quote.total_paid),
        interest=money(quote.total_interest),
    )
    return "\n".join([body, say("finance_note", language)])


def _table_heading(key: str, first: Quote, language: Language) -> str:
    """The line above a table of quotes: the price, down payment (and its share) and rate they share."""
    return say(
        key,
        language,
        price=format_money(first.price),
        down=format_money(first.down_payment),
        share=down_payment_share(first),
        rate=format_percent(first.annual_rate),
    )


def format_quote_table(quotes: list[Quote], language: Language, *, header: bool = False) -> str:
    """One ``• 48 meses: $6,137.18 al mes`` line per quote; ``header`` adds a title and the note."""
    if not quotes:
        raise ValueError("format_quote_table needs at least one quote")
    rows = [
        say("finance_table_row", language, term=q.term_months, payment=format_money(q.monthly_payment)) for q in quotes
    ]
    if not header:
        return "\n".join(rows)
    return "\n".join([_table_heading("finance_table_title", quotes[0], language), *rows, say("finance_note", language)])


def format_quote_options(quotes: list[Quote], language: Language) -> str:
    """The reply to a request without a term: price, down payment and rate, a line per term, then a prompt."""
    header = _table_heading("finance_table_header", quotes[0], language)
    return "\n".join([header, format_quote_table(quotes, language), say("finance_table_footer", language)])


def _detail_money(details: Mapping[str, object], key: str) -> Decimal | None:
    """A Decimal detail, or None when absent."""
    value = details.get(key)
    return value if isinstance(value, Decimal) else None


def _minimum_line(details: Mapping[str, object], language: Language) -> str:
    """The minimum down payment sentence, or "" when the details lack it."""
    minimum = _detail_money(details, "minimum_down_payment")
    ratio = _detail_money(details, "min_down_payment_ratio")
    if minimum is None or ratio is None:
        return ""
    return say("finance_error_minimum", language, minimum=format_money(minimum), ratio=format_percent(ratio))


def _terms_line(details: Mapping[str, object], language: Language) -> str:
    """The offered terms sentence, or "" when the details lack them."""
    raw_terms = details.get("allowed_terms")
    allowed = [t for t in raw_terms if isinstance(t, int)] if isinstance(raw_terms, list) else []
    return say("finance_error_terms", language, terms=join_terms(allowed, language)) if allowed else ""


def format_finance_error(error: FinanceError, language: Language) -> str:
    """Customer-facing explanation of ``error`` that points at valid alternatives."""
    d = error.details
    price = _detail_money(d, "price")
    down = _detail_money(d, "down_payment")
    minimum_line = _minimum_line(d, language)
    terms_line = _terms_line(d, language)

    if error.code == "down_payment_too_high" and down is not None and price is not None:
        too_high = say("finance_error_too_high", language, down=format_money(down), price=format_money(price))
        lines = [too_high, minimum_line]
    elif error.code == "down_payment_too_low":
        too_low = (
            say("finance_error_too_low_amount", language, down=format_money(down))
            if down is not None
            else say("finance_error_too_low", language)
        )
        lines = [too_low, minimum_line]
    elif error.code == "term_not_offered":
        lines = [say("finance_error_term_not_offered", language, term=d.get("requested_term")), terms_line]
    elif error.code == "term_required":
        lines = [say("finance_error_term_required", language), terms_line]
    elif error.code == "invalid_price":
        lines = [say("finance_error_invalid_price", language)]
    elif error.code == "invalid_down_payment":
        lines = [say("finance_error_invalid_down_payment", language), minimum_line]
    else:  # pragma: no cover - every code is handled above
        lines = [error.message]
    return "\n".join(line for line in lines if line)
