"""Financing quotes (math, validation, WhatsApp text) and the rule-based finance parser."""

from __future__ import annotations

import json
import random
from decimal import ROUND_HALF_UP, Decimal

import numpy_financial as npf
import pytest
from pydantic import ValidationError

from app.finance.parsing import (
    FinanceRequest,
    looks_like_finance_query,
    parse_finance_request,
)
from app.finance.service import (
    FinanceError,
    FinanceTerms,
    Quote,
    QuoteRequest,
    amortization_schedule,
    down_payment_share,
    format_finance_error,
    format_percent,
    format_quote,
    format_quote_table,
    minimum_down_payment,
    monthly_payment,
    quote_all_terms,
    quote_financing,
    quote_options,
)
from app.text.money import format_money

D = Decimal
CENT = D("0.01")
TERMS = FinanceTerms(
    annual_rate=D("0.139"),
    terms_months=[12, 24, 36, 48, 60],
    min_down_payment_ratio=D("0.1"),
)


def npf_raw(principal: Decimal, annual_rate: Decimal, term: int) -> float:
    """numpy_financial's (float) level payment, as a positive number."""
    return float(-npf.pmt(float(annual_rate) / 12, term, float(principal)))


def npf_payment(principal: Decimal, annual_rate: Decimal, term: int) -> Decimal:
    """numpy_financial's payment, rounded half-up to the cent via its shortest float repr."""
    return D(repr(npf_raw(principal, annual_rate, term))).quantize(CENT, rounding=ROUND_HALF_UP)


def is_half_cent_tie(value: float) -> bool:
    """Float results this close to x.xx5 may round either way; Decimal resolves them exactly."""
    return abs((value * 100) % 1 - 0.5) < 1e-6


def request(**kwargs: object) -> QuoteRequest:
    return QuoteRequest.model_validate({"price": D(250_000), **kwargs})


def raises(req: QuoteRequest, terms: FinanceTerms = TERMS) -> FinanceError:
    with pytest.raises(FinanceError) as info:
        quote_financing(request=req, terms=terms)
    return info.value


def assert_consistent(quote: Quote) -> None:
    installments = quote.monthly_payment * quote.term_months
    assert quote.price == quote.down_payment + quote.amount_financed
    assert quote.total_paid == quote.down_payment + installments
    assert quote.total_interest == installments - quote.amount_financed
    for value in (quote.price, quote.down_payment, quote.amount_financed, quote.monthly_payment,
                  quote.total_paid, quote.total_interest):  # fmt: skip
        assert value == value.quantize(CENT)
        assert value.as_tuple().exponent == -2


# --- quotes ----------------------------------------------------------------------------------


def test_known_quote_250k_10pct_down_48_months() -> None:
    quote = quote_financing(request=request(down_payment_ratio=D("0.1"), term_months=48), terms=TERMS)
    assert quote.price == D("250000.00")
    assert quote.down_payment == D("25000.00")
    assert quote.amount_financed == D("225000.00")
    assert quote.annual_rate == D("0.139")
    assert quote.term_months == 48
    assert quote.monthly_payment == D("6137.18")
    assert quote.monthly_payment == npf_payment(D(225_000), D("0.139"), 48)
    assert quote.total_paid == D("319584.64")  # 25,000 + 48 × 6,137.18
    assert quote.total_interest == D("69584.64")
    assert_consistent(quote)


def test_default_down_payment_is_the_minimum() -> None:
    quote = quote_financing(request=request(term_months=36), terms=TERMS)
    assert quote.down_payment == D("25000.00") == minimum_down_payment(D(250_000), TERMS)


def test_down_payment_amount_and_ratio_give_same_quote() -> None:
    by_amount = quote_financing(request=request(down_payment=D(50_000), term_months=24), terms=TERMS)
    by_ratio = quote_financing(request=request(down_payment_ratio=D("0.2"), term_months=24), terms=TERMS)
    assert by_amount == by_ratio
    assert by_amount.amount_financed == D("200000.00")


@pytest.mark.parametrize("annual_rate", [D(0), D("0.05"), D("0.139"), D("0.25")])
def test_monthly_payment_matches_numpy_financial(annual_rate: Decimal) -> None:
    rng = random.Random(f"finance-{annual_rate}")
    all_terms = [6, 12, 18, 24, 36, 48, 60, 72, 84, 96, 120]
    terms = FinanceTerms(
        annual_rate=annual_rate,
        terms_months=all_terms,
        min_down_payment_ratio=D("0.05"),
    )
    checked = ties = 0
    for _ in range(150):
        price = D(rng.randint(50_000, 2_000_000))
        if rng.random() < 0.3:
            price += D(rng.randint(0, 99)) / 100
        ratio = rng.choice(
            [
                D("0.05"),
                D("0.1"),
                D("0.15"),
                D("0.2"),
                D("0.25"),
                D("0.333"),
                D("0.5"),
                D("0.75"),
            ]
        )
        for quote in quote_all_terms(request=QuoteRequest(price=price, down_payment_ratio=ratio), terms=terms):
            expected = npf_payment(quote.amount_financed, annual_rate, quote.term_months)
            if is_half_cent_tie(npf_raw(quote.amount_financed, annual_rate, quote.term_months)):
                # Only at 0%: e.g. 1,425,724.38 / 12 = 118,810.365 exactly, which float sees as ...3649999.
                ties += 1
                exact = (quote.amount_financed / quote.term_months).quantize(CENT, rounding=ROUND_HALF_UP)
                assert quote.monthly_payment == exact, quote
                assert abs(quote.monthly_payment - expected) <= CENT, quote
            else:
                assert quote.monthly_payment == expected, quote
            assert_consistent(quote)
            checked += 1
    assert checked == 150 * len(all_terms)
    if annual_rate > 0:
        assert ties == 0


def test_monthly_payment_function_directly() -> None:
    assert monthly_payment(D(225_000), D("0.139"), 48) == D("6137.18")
    assert monthly_payment(D(100), D(0), 3) == D("33.33")
    assert monthly_payment(D("1425724.38"), D(0), 12) == D("118810.37")  # exact tie 118,810.365 rounds half up
    with pytest.raises(ValueError, match="at least 1"):
        monthly_payment(D(100), D(0), 0)


def test_zero_rate() -> None:
    terms = FinanceTerms(annual_rate=D(0), terms_months=[24], min_down_payment_ratio=D("0.2"))
    quote = quote_financing(request=QuoteRequest(price=D(120_000), term_months=24), terms=terms)
    assert quote.down_payment == D("24000.00")
    assert quote.monthly_payment == D("4000.00")
    assert quote.total_interest == D("0.00")
    assert quote.total_paid == D("120000.00")
    assert all(row.interest == 0 for row in amortization_schedule(quote))


def test_quote_all_terms_one_per_term_ignoring_requested_term() -> None:
    quotes = quote_all_terms(request=request(down_payment=D(25_000), term_months=48), terms=TERMS)
    assert [q.term_months for q in quotes] == [12, 24, 36, 48, 60]
    payments = [q.monthly_payment for q in quotes]
    assert payments == sorted(payments, reverse=True)
    assert [str(p) for p in payments] == [
        "20191.52",
        "10792.27",
        "7679.04",
        "6137.18",
        "5223.70",
    ]
    for quote in quotes:
        assert quote == quote_financing(request=request(down_payment=D(25_000), term_months=quote.term_months),
                                        terms=TERMS)  # fmt: skip


def test_quote_options_dispatches_on_term() -> None:
    assert [q.term_months for q in quote_options(request=request(), terms=TERMS)] == [
        12,
        24,
        36,
        48,
        60,
    ]
    assert [q.term_months for q in quote_options(request=request(term_months=36), terms=TERMS)] == [36]


def test_terms_are_sorted_and_deduplicated() -> None:
    terms = FinanceTerms(annual_rate=0.139, terms_months=[48, 12, 48, 24], min_down_payment_ratio="0.1")
    assert terms.terms_months == [12, 24, 48]
    assert terms.annual_rate == D("0.139")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"terms_months": []},
        {"terms_months": [0, 12]},
        {"terms_months": [12, 121]},
        {"annual_rate": 1},
        {"annual_rate": -0.01},
        {"min_down_payment_ratio": "0.95"},
    ],
)
def test_finance_terms_validation(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "annual_rate": "0.139",
        "terms_months": [12],
        "min_down_payment_ratio": "0.1",
    }
    with pytest.raises(ValidationError):
        FinanceTerms.model_validate(base | kwargs)


# --- amortization ----------------------------------------------------------------------------


def test_amortization_schedule_known_quote() -> None:
    quote = quote_financing(request=request(term_months=48), terms=TERMS)
    rows = amortization_schedule(quote)
    assert [r.month for r in rows] == list(range(1, 49))
    assert rows[0].interest == D("2606.25")  # 225,000 × 0.139 / 12
    assert rows[0].principal == D("3530.93")
    assert rows[0].balance == D("221469.07")
    assert all(r.payment == quote.monthly_payment for r in rows[:-1])
    assert rows[-1].payment == D("6136.97")  # final payment absorbs rounding
    assert rows[-1].balance == D("0.00")
    assert str(rows[-1].balance) == "0.00"
    assert sum(r.principal for r in rows) == quote.amount_financed
    assert all(r.payment == r.interest + r.principal for r in rows)


def test_amortization_schedule_random_quotes() -> None:
    rng = random.Random(7)
    for _ in range(200):
        rate = rng.choice([D(0), D("0.05"), D("0.139"), D("0.25")])
        terms = FinanceTerms(
            annual_rate=rate,
            terms_months=[rng.randint(1, 120)],
            min_down_payment_ratio=D(0),
        )
        price = D(rng.randint(50_000, 2_000_000)) + D(rng.randint(0, 99)) / 100
        ratio = D(rng.randint(0, 80)) / 100
        quote = quote_all_terms(request=QuoteRequest(price=price, down_payment_ratio=ratio), terms=terms)[0]
        rows = amortization_schedule(quote)
        assert len(rows) == quote.term_months
        assert sum(r.principal for r in rows) == quote.amount_financed
        assert rows[-1].balance == D("0.00")
        assert all(r.balance >= 0 and r.principal >= 0 for r in rows)
        # rounding (≤ half a cent per payment and per interest charge) compounds at the loan rate
        rate = float(quote.annual_rate) / 12
        growth = quote.term_months if rate == 0 else ((1 + rate) ** quote.term_months - 1) / rate
        assert abs(rows[-1].payment - quote.monthly_payment) <= D(str(round(0.01 * growth + 0.01, 2)))


# --- errors ----------------------------------------------------------------------------------


def test_down_payment_equal_to_price_is_too_high() -> None:
    error = raises(request(down_payment=D(250_000), term_months=48))
    assert error.code == "down_payment_too_high"
    assert error.details["down_payment"] == D("250000.00")
    assert error.details["price"] == D("250000.00")
    assert error.details["minimum_down_payment"] == D("25000.00")
    assert error.details["allowed_terms"] == [12, 24, 36, 48, 60]


def test_down_payment_above_price_and_full_ratio_are_too_high() -> None:
    assert raises(request(down_payment=D(300_000), term_months=48)).code == "down_payment_too_high"
    assert raises(request(down_payment_ratio=D(1), term_months=48)).code == "down_payment_too_high"


def test_down_payment_too_low_amount() -> None:
    error = raises(request(down_payment=D("24999.99"), term_months=48))
    assert error.code == "down_payment_too_low"
    assert error.details["minimum_down_payment"] == D("25000.00")
    assert error.details["min_down_payment_ratio"] == D("0.1")
    assert error.details["down_payment"] == D("24999.99")
    assert error.details["allowed_terms"] == [12, 24, 36, 48, 60]
    assert "25000.00" in error.message
    quote_financing(request=request(down_payment=D(25_000), term_months=48), terms=TERMS)  # exactly the minimum


def test_down_payment_too_low_ratio() -> None:
    error = raises(request(down_payment_ratio=D("0.05"), term_months=48))
    assert error.code == "down_payment_too_low"
    assert error.details["down_payment"] == D("12500.00")
    assert error.details["minimum_down_payment"] == D("25000.00")


def test_minimum_down_payment_rounds_up_to_the_cent() -> None:
    assert minimum_down_payment(D("100.01"), TERMS) == D("10.01")
    assert (
        raises(QuoteRequest(price=D("100.01"), down_payment=D("10.00"), term_months=12)).code == "down_payment_too_low"
    )
    quote_financing(
        request=QuoteRequest(price=D("100.01"), down_payment=D("10.01"), term_months=12),
        terms=TERMS,
    )
    by_ratio = quote_financing(
        request=QuoteRequest(price=D("100.01"), down_payment_ratio=D("0.1"), term_months=12),
        terms=TERMS,
    )
    assert by_ratio.down_payment == D("10.00")  # a ratio at the minimum is always accepted


def test_term_not_offered() -> None:
    error = raises(request(term_months=72))
    assert error.code == "term_not_offered"
    assert error.details["requested_term"] == 72
    assert error.details["allowed_terms"] == [12, 24, 36, 48, 60]
    assert error.details["minimum_down_payment"] == D("25000.00")
    assert "12, 24, 36, 48, 60" in error.message


def test_term_required_for_single_quote() -> None:
    error = raises(request())
    assert error.code == "term_required"
    assert error.details["allowed_terms"] == [12, 24, 36, 48, 60]


def test_invalid_price_when_validation_was_bypassed() -> None:
    for price in (D(0), D(-5), D("0.001")):
        error = raises(QuoteRequest.model_construct(price=price, term_months=48))
        assert error.code == "invalid_price"
        assert error.details["allowed_terms"] == [12, 24, 36, 48, 60]
        assert error.details["min_down_payment_ratio"] == D("0.1")
    with pytest.raises(FinanceError) as info:
        quote_all_terms(request=QuoteRequest.model_construct(price=D(0)), terms=TERMS)
    assert info.value.code == "invalid_price"


def test_invalid_down_payment_when_validation_was_bypassed() -> None:
    both = QuoteRequest.model_construct(
        price=D(250_000),
        down_payment=D(50_000),
        down_payment_ratio=D("0.2"),
        term_months=48,
    )
    assert raises(both).code == "invalid_down_payment"
    negative = QuoteRequest.model_construct(price=D(250_000), down_payment=D(-1), term_months=48)
    assert raises(negative).code == "invalid_down_payment"


def test_error_payload_is_json_safe() -> None:
    payload = raises(request(down_payment=D(1_000), term_months=48)).as_payload()
    decoded = json.loads(json.dumps(payload))
    assert decoded["code"] == "down_payment_too_low"
    assert decoded["details"]["minimum_down_payment"] == "25000.00"
    assert decoded["details"]["allowed_terms"] == [12, 24, 36, 48, 60]


@pytest.mark.parametrize(
    "args",
    [
        {"price": 0},
        {"price": -1},
        {"price": 250_000, "down_payment": 50_000, "down_payment_ratio": 0.2},
        {"price": 250_000, "down_payment_ratio": 1.5},
        {"price": 250_000, "down_payment": -1},
        {"price": 250_000, "term_months": 0},
        {"price": 250_000, "monthly_budget": 5_000},
        {"price": "nan"},
        {"price": "1e30"},
    ],
)
def test_quote_request_validation(args: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        QuoteRequest.model_validate(args)


def test_quote_request_accepts_llm_style_json() -> None:
    req = QuoteRequest.model_validate_json('{"price": "250000", "down_payment_ratio": 0.2, "term_months": 48}')
    assert req.price == D(250_000)
    assert req.down_payment_ratio == D("0.2")
    schema = QuoteRequest.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["price"]
    assert all(prop.get("description") for prop in schema["properties"].values())


# --- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (D("1234567.89"), "$1,234,567.89"),
        (D(250_000), "$250,000"),
        (D("250000.00"), "$250,000"),
        (D("1234.5"), "$1,234.50"),
        (D("0.5"), "$0.50"),
        (D("999.999"), "$1,000"),
        (D("-0.01"), "-$0.01"),
    ],
)
def test_format_money(amount: Decimal, text: str) -> None:
    assert format_money(amount) == text


def test_format_quote_spanish() -> None:
    quote = quote_financing(request=request(term_months=48), terms=TERMS)
    text = format_quote(quote, "es")
    for piece in ("Precio: $250,000", "Enganche: $25,000 (10%)", "Monto a financiar: $225,000",
                  "48 mensualidades de $6,137.18", "Tasa anual: 13.9%", "Total pagado: $319,584.64",
                  "intereses: $69,584.64", "aprobación de crédito"):  # fmt: skip
        assert piece in text, piece


def test_format_quote_english() -> None:
    quote = quote_financing(request=request(down_payment=D(62_500), term_months=60), terms=TERMS)
    text = format_quote(quote, "en")
    for piece in ("Price: $250,000", "Down payment: $62,500 (25%)", "Amount financed: $187,500",
                  f"60 monthly payments of {format_money(quote.monthly_payment)}", "Annual rate: 13.9%",
                  f"Total paid: {format_money(quote.total_paid)}", "subject to credit approval"):  # fmt: skip
        assert piece in text, piece
    assert "mensualidades" not in text


def test_format_quote_table_lines_only_by_default() -> None:
    quotes = quote_all_terms(request=request(), terms=TERMS)
    es = format_quote_table(quotes, "es")
    en = format_quote_table(quotes, "en")
    assert es.splitlines() == [
        "• 12 meses: $20,191.52 al mes",
        "• 24 meses: $10,792.27 al mes",
        "• 36 meses: $7,679.04 al mes",
        "• 48 meses: $6,137.18 al mes",
        "• 60 meses: $5,223.70 al mes",
    ]
    assert en.splitlines()[3] == "• 48 months: $6,137.18/month"
    assert len(en.splitlines()) == 5
    with pytest.raises(ValueError, match="at least one"):
        format_quote_table([], "es")


def test_format_quote_table_with_header() -> None:
    quotes = quote_all_terms(request=request(down_payment_ratio=D("0.125")), terms=TERMS)
    es = format_quote_table(quotes, "es", header=True)
    en = format_quote_table(quotes, "en", header=True)
    assert "Precio $250,000, enganche $31,250 (12.5%), tasa anual 13.9%:" in es
    assert "Price $250,000, down payment $31,250 (12.5%), annual rate 13.9%:" in en
    assert es.count("•") == en.count("•") == 5
    assert "aprobación de crédito" in es
    assert "credit approval" in en


@pytest.mark.parametrize(
    ("ratio", "text"),
    [
        (D("0.139"), "13.9%"),
        (D("0.10"), "10%"),
        (D("0.1"), "10%"),
        (D(0), "0%"),
        (D("0.25"), "25%"),
        (D("0.125"), "12.5%"),
    ],
)
def test_format_percent(ratio: Decimal, text: str) -> None:
    assert format_percent(ratio) == text


def test_down_payment_share() -> None:
    quote = quote_financing(request=request(down_payment=D(50_000), term_months=12), terms=TERMS)
    assert down_payment_share(quote) == "20%"


def test_format_finance_error_down_payment_too_low() -> None:
    error = raises(request(down_payment=D(10_000), term_months=48))
    es = format_finance_error(error, "es")
    en = format_finance_error(error, "en")
    assert "enganche mínimo es $25,000 (10%" in es
    assert "$10,000" in es
    assert "minimum down payment is $25,000 (10%" in en


def test_format_finance_error_term_not_offered() -> None:
    error = raises(request(term_months=72))
    es = format_finance_error(error, "es")
    assert "72 meses" in es
    assert "Plazos disponibles: 12, 24, 36, 48 y 60 meses" in es
    assert "Available terms: 12, 24, 36, 48 and 60 months" in format_finance_error(error, "en")


def test_format_finance_error_other_codes() -> None:
    too_high = raises(request(down_payment=D(260_000), term_months=48))
    assert "$260,000" in format_finance_error(too_high, "es")
    assert "$250,000" in format_finance_error(too_high, "en")
    assert "12, 24, 36, 48 y 60" in format_finance_error(raises(request()), "es")
    invalid = raises(QuoteRequest.model_construct(price=D(0), term_months=48))
    assert "precio" in format_finance_error(invalid, "es")
    assert "price" in format_finance_error(invalid, "en")


# --- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # terms
        ("a 48 meses", {"term_months": 48}),
        ("48 months", {"term_months": 48}),
        ("4 años", {"term_months": 48}),
        ("4 anos", {"term_months": 48}),
        ("4 years", {"term_months": 48}),
        ("cinco años", {"term_months": 60}),
        ("año y medio", {"term_months": 18}),
        ("plazo de 36", {"term_months": 36}),
        ("plazo de 5", {"term_months": 60}),
        ("48-month loan", {"term_months": 48}),
        ("veinticuatro meses", {"term_months": 24}),
        ("a 36 o 48 meses", {"term_months": None}),  # several terms: quote the table
        # down payment
        ("enganche de 50 mil", {"down_payment": D(50_000), "price": None}),
        ("con 20% de enganche", {"down_payment_ratio": D("0.2"), "down_payment": None}),
        ("20 por ciento", {"down_payment_ratio": D("0.2")}),
        ("down payment of $60,000", {"down_payment": D(60_000), "price": None}),
        ("put 25% down", {"down_payment_ratio": D("0.25")}),
        ("$60k down", {"down_payment": D(60_000), "price": None}),
        ("pie de 2 millones", {"down_payment": D(2_000_000)}),
        ("sin enganche", {"down_payment_ratio": D(0)}),
        # price
        ("un carro de 250 mil", {"price": D(250_000), "down_payment": None}),
        ("price 300,000", {"price": D(300_000)}),
        ("250k", {"price": D(250_000)}),
        ("$250,000", {"price": D(250_000)}),
        ("250,000.00", {"price": D(250_000)}),
        ("1.2 millones", {"price": D(1_200_000)}),
        ("1 millón 200 mil", {"price": D(1_200_000)}),
        ("medio millón", {"price": D(500_000)}),
        ("1,234,567.89", {"price": D("1234567.89")}),
        # combinations
        (
            "un carro de 250 mil con 50 mil de enganche a 48 meses",
            {
                "price": D(250_000),
                "down_payment": D(50_000),
                "term_months": 48,
                "mentions_finance": True,
            },
        ),
        (
            "enganche de 50 mil para un carro de 250 mil",
            {"price": D(250_000), "down_payment": D(50_000)},
        ),
        (
            "down payment of $60,000 on a $300,000 car",
            {"price": D(300_000), "down_payment": D(60_000)},
        ),
        (
            "precio 300,000 y enganche 60,000",
            {"price": D(300_000), "down_payment": D(60_000)},
        ),
        (
            "How much per month for a $300,000 car with $60,000 down over 48 months?",
            {
                "price": D(300_000),
                "down_payment": D(60_000),
                "term_months": 48,
                "mentions_finance": True,
            },
        ),
        (
            "cuánto pagaría al mes por un carro de 250 mil con el 20% de enganche?",
            {
                "price": D(250_000),
                "down_payment_ratio": D("0.2"),
                "mentions_finance": True,
            },
        ),
        (
            "tengo 50 mil para el enganche, el carro cuesta 250 mil",
            {"price": D(250_000), "down_payment": D(50_000)},
        ),
        (
            "si doy 100 mil de enganche cuanto pagaria a 3 años",
            {"down_payment": D(100_000), "term_months": 36},
        ),
        (
            "price 300,000, 25% down, 60 months",
            {"price": D(300_000), "down_payment_ratio": D("0.25"), "term_months": 60},
        ),
        (
            "quiero financiar un auto de 1.2 millones dando 300 mil",
            {"price": D(1_200_000), "down_payment": D(300_000)},
        ),
        ("60k, 300k", {"price": D(300_000), "down_payment": D(60_000)}),
        # numbers that are not money
        ("modelo 2019 de 250 mil a 3 años", {"price": D(250_000), "term_months": 36}),
        ("el Jetta 2019 cuesta 289,900", {"price": D(289_900)}),
        ("2021 model, 48 months", {"price": None, "term_months": 48}),
        (
            "48 mensualidades de 5 mil",
            {"price": None, "down_payment": None, "term_months": 48},
        ),
        (
            "puedo pagar 5 mil al mes",
            {"price": None, "down_payment": None, "mentions_finance": True},
        ),
        ("un carro con 50,000 km", {"price": None}),
        ("tiene 2 años de garantía?", {"term_months": None, "mentions_finance": False}),
        ("con tasa de 12% anual", {"down_payment_ratio": None}),
        ("descuento de 10%", {"down_payment_ratio": None}),
        ("mi número es 5512345678", {"price": None}),
    ],
)
def test_parse_finance_request(text: str, expected: dict[str, object]) -> None:
    parsed = parse_finance_request(text)
    for field, value in expected.items():
        assert getattr(parsed, field) == value, (text, field, parsed)


@pytest.mark.parametrize(
    "text",
    [
        "cuánto pagaría al mes",
        "cuanto pagaria al mes",
        "how much per month",
        "¿Tienen financiamiento?",
        "lo puedo sacar a crédito?",
        "se puede a plazos?",
        "de cuánto son las mensualidades",
        "what would the monthly payment be",
        "can I finance it",
        "do you offer a loan",
        "a 48 meses",
        "con 20% de enganche",
        "$60k down",
    ],
)
def test_looks_like_finance_query(text: str) -> None:
    assert looks_like_finance_query(text)


@pytest.mark.parametrize(
    "text",
    [
        "hola, busco un carro",
        "me interesa el auto",
        "un carro de 250 mil",
        "price 300,000",
        "tiene garantía?",
        "",
    ],
)
def test_not_finance_query(text: str) -> None:
    assert not looks_like_finance_query(text)


def test_empty_text_parses_to_nothing() -> None:
    assert parse_finance_request("") == FinanceRequest()


def test_to_quote_request_feeds_the_service() -> None:
    parsed = parse_finance_request("con 50 mil de enganche a 48 meses")
    assert parsed.to_quote_request() is None  # no price said and none in context
    req = parsed.to_quote_request(default_price=D(250_000))
    assert req == QuoteRequest(price=D(250_000), down_payment=D(50_000), term_months=48)
    quote = quote_financing(request=req, terms=TERMS)
    assert quote.amount_financed == D("200000.00")
    said = parse_finance_request("un carro de 300 mil con 25% de enganche").to_quote_request(default_price=D(1))
    assert said == QuoteRequest(price=D(300_000), down_payment_ratio=D("0.25"))
    assert len(quote_options(request=said, terms=TERMS)) == 5
