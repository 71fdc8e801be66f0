"""Finance API shapes: the quote request and the one response model of ``POST .../finance/quote``."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.finance.service import AmortizationRow, Quote, quote_payload

_MAX_MONEY = Decimal(10**10)


class FinanceQuoteCreate(BaseModel):
    """What to quote: a price or a car of the catalog (exactly one), plus an optional down payment and term."""

    model_config = ConfigDict(extra="forbid")

    price: Decimal | None = Field(
        default=None, gt=0, le=_MAX_MONEY, description="Vehicle price in MXN; not with `stock_id`."
    )
    stock_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="A car of the tenant's catalog; its catalog price is used. Not with `price`.",
    )
    down_payment: Decimal | None = Field(
        default=None, ge=0, le=_MAX_MONEY, description="Down payment amount in MXN; not with `down_payment_percent`."
    )
    down_payment_percent: Decimal | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Down payment as a percentage of the price (20 = 20%). Omit both to use the tenant minimum.",
    )
    term_months: int | None = Field(
        default=None, ge=1, le=120, description="Loan term in months; omit to quote every term the tenant offers."
    )
    schedule: bool = Field(default=False, description="Include the month-by-month schedule (needs `term_months`).")

    @model_validator(mode="after")
    def _check_combinations(self) -> FinanceQuoteCreate:
        """Exactly one of price and stock id; at most one down payment form; a schedule needs a term."""
        if (self.price is None) == (self.stock_id is None):
            raise ValueError("give exactly one of price or stock_id")
        if self.down_payment is not None and self.down_payment_percent is not None:
            raise ValueError("give either down_payment or down_payment_percent, not both")
        if self.schedule and self.term_months is None:
            raise ValueError("schedule needs term_months")
        return self


class QuoteRead(BaseModel):
    """One financing scenario, amounts in MXN rounded to the cent."""

    price: float
    down_payment: float
    amount_financed: float
    annual_rate: float = Field(description="Fixed annual rate as a fraction, 0.139 = 13.9%.")
    term_months: int
    monthly_payment: float
    total_paid: float = Field(description="Down payment plus every monthly payment.")
    total_interest: float
    stock_id: str | None = Field(default=None, description="The catalog car quoted, when one was given.")

    @classmethod
    def of(cls, quote: Quote, stock_id: str | None) -> QuoteRead:
        """The API form of a domain quote."""
        return cls(**quote_payload(quote), stock_id=stock_id)


class AmortizationRowRead(BaseModel):
    """One month of the schedule; the last row's balance is 0."""

    month: int
    payment: float
    interest: float
    principal: float
    balance: float

    @classmethod
    def of(cls, row: AmortizationRow) -> AmortizationRowRead:
        """The API form of a schedule row."""
        return cls.model_validate(row.model_dump())


class FinanceQuoteRead(BaseModel):
    """The answer to a quote request; absent fields are left out of the JSON.

    * with `term_months`: `quote` (that term), plus `schedule` when `schedule` was true;
    * without it: `quotes`, one per term the tenant offers, shortest first.
    """

    quote: QuoteRead | None = Field(default=None, description="The quote for the requested term.")
    schedule: list[AmortizationRowRead] | None = Field(
        default=None, description="Month-by-month schedule of `quote`, when requested."
    )
    quotes: list[QuoteRead] | None = Field(
        default=None, description="One quote per offered term, when no term was requested."
    )
