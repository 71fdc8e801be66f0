"""POST /v1/tenants/{slug}/finance/quote: exact amounts, schedule, catalog prices, errors and auth."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy_financial as npf
import pytest

from tests.helpers import admin_headers, make_tenant

RATE = Decimal("0.12")
TERMS = [12, 24, 36]
FINANCE = {"annual_rate": str(RATE), "terms_months": TERMS, "min_down_payment_ratio": "0.15"}
CARS = """stock_id,make,model,year,price,km,version,transmission
F1,Mazda,3,2019,265000,48000,i Sport,Automática
F2,Nissan,Versa,2018,189999.50,61000,Advance,Manual
"""


def cents(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def expected(price: str, down: str, term: int) -> dict[str, Decimal]:
    """The quote computed independently with numpy_financial."""
    financed = Decimal(price) - Decimal(down)
    monthly = cents(npf.pmt(float(RATE) / 12, term, -float(financed)))
    return {
        "price": Decimal(price),
        "down_payment": Decimal(down),
        "amount_financed": financed,
        "monthly_payment": monthly,
        "total_paid": Decimal(down) + monthly * term,
        "total_interest": monthly * term - financed,
    }


def assert_quote(quote: dict[str, Any], price: str, down: str, term: int) -> None:
    want = expected(price, down, term)
    for field, value in want.items():
        assert cents(quote[field]) == value, (field, quote[field], value)
    assert quote["term_months"] == term
    assert Decimal(str(quote["annual_rate"])) == RATE


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    return dict(body["error"])


@pytest.fixture
async def tenant(client: Any) -> Any:
    return await make_tenant(client, catalog_csv=CARS, finance=FINANCE)


def url(slug: str) -> str:
    return f"/v1/tenants/{slug}/finance/quote"


async def test_quote_matches_numpy_financial_to_the_cent(client: Any, tenant: Any) -> None:
    r = await client.post(
        url(tenant.slug), json={"price": 250000, "down_payment": 50000, "term_months": 24}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"quote"}  # no schedule unless asked, no options
    assert "stock_id" not in body["quote"]
    assert_quote(body["quote"], "250000", "50000", 24)


async def test_schedule_adds_up(client: Any, tenant: Any) -> None:
    r = await client.post(
        url(tenant.slug),
        json={"price": 189999.5, "down_payment": 30000, "term_months": 36, "schedule": True},
        headers=tenant.headers,
    )
    assert r.status_code == 200, r.text
    quote, rows = r.json()["quote"], r.json()["schedule"]
    assert_quote(quote, "189999.50", "30000", 36)
    assert [row["month"] for row in rows] == list(range(1, 37))
    assert sum(cents(row["principal"]) for row in rows) == cents(quote["amount_financed"])
    assert cents(rows[-1]["balance"]) == 0
    for row in rows:
        assert cents(row["payment"]) == cents(row["interest"]) + cents(row["principal"])
    assert all(cents(row["payment"]) == cents(quote["monthly_payment"]) for row in rows[:-1])
    assert sum(cents(row["interest"]) for row in rows) == cents(quote["total_interest"]) + (
        cents(rows[-1]["payment"]) - cents(quote["monthly_payment"])
    )


async def test_stock_id_uses_the_catalog_price(client: Any, tenant: Any) -> None:
    r = await client.post(
        url(tenant.slug), json={"stock_id": "F1", "down_payment": 60000, "term_months": 12}, headers=tenant.headers
    )
    assert r.status_code == 200, r.text
    quote = r.json()["quote"]
    assert quote["stock_id"] == "F1"
    assert_quote(quote, "265000", "60000", 12)
    # A client price cannot be smuggled in next to a stock id.
    both = await client.post(
        url(tenant.slug), json={"stock_id": "F1", "price": 1000, "term_months": 12}, headers=tenant.headers
    )
    assert_error(both, 422, "invalid_input")
    neither = await client.post(url(tenant.slug), json={"term_months": 12}, headers=tenant.headers)
    assert_error(neither, 422, "invalid_input")


async def test_percent_and_amount_down_payment_agree(client: Any, tenant: Any) -> None:
    by_percent = await client.post(
        url(tenant.slug), json={"price": 200000, "down_payment_percent": 25, "term_months": 36}, headers=tenant.headers
    )
    by_amount = await client.post(
        url(tenant.slug), json={"price": 200000, "down_payment": 50000, "term_months": 36}, headers=tenant.headers
    )
    assert by_percent.status_code == by_amount.status_code == 200, (by_percent.text, by_amount.text)
    assert by_percent.json() == by_amount.json()
    assert_quote(by_percent.json()["quote"], "200000", "50000", 36)
    # No down payment: the tenant's minimum (15%).
    default = await client.post(url(tenant.slug), json={"price": 200000, "term_months": 36}, headers=tenant.headers)
    assert default.status_code == 200, default.text
    assert_quote(default.json()["quote"], "200000", "30000", 36)
    both = await client.post(
        url(tenant.slug),
        json={"price": 200000, "down_payment": 50000, "down_payment_percent": 25, "term_months": 36},
        headers=tenant.headers,
    )
    assert_error(both, 422, "invalid_input")


async def test_no_term_quotes_every_offered_term(client: Any, tenant: Any) -> None:
    r = await client.post(url(tenant.slug), json={"stock_id": "F2"}, headers=tenant.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"quotes"}
    quotes = body["quotes"]
    assert [q["term_months"] for q in quotes] == TERMS
    for q in quotes:
        assert q["stock_id"] == "F2"
        assert_quote(q, "189999.50", "28499.93", q["term_months"])  # 15% rounded up to the cent


async def test_term_not_offered_is_422_with_envelope(client: Any, tenant: Any) -> None:
    r = await client.post(url(tenant.slug), json={"price": 200000, "term_months": 48}, headers=tenant.headers)
    error = assert_error(r, 422, "term_not_offered")
    assert error["details"]["allowed_terms"] == TERMS
    assert error["details"]["requested_term"] == 48


async def test_down_payment_below_minimum_is_422(client: Any, tenant: Any) -> None:
    r = await client.post(
        url(tenant.slug), json={"price": 200000, "down_payment_percent": 5, "term_months": 12}, headers=tenant.headers
    )
    error = assert_error(r, 422, "down_payment_too_low")
    assert Decimal(error["details"]["minimum_down_payment"]) == Decimal("30000")


async def test_schedule_without_term_is_422(client: Any, tenant: Any) -> None:
    r = await client.post(url(tenant.slug), json={"price": 200000, "schedule": True}, headers=tenant.headers)
    assert_error(r, 422, "invalid_input")


async def test_unknown_stock_id_is_404(client: Any, tenant: Any) -> None:
    r = await client.post(url(tenant.slug), json={"stock_id": "NOPE", "term_months": 12}, headers=tenant.headers)
    assert_error(r, 404, "not_found")


async def test_auth(client: Any, tenant: Any) -> None:
    body = {"price": 200000, "term_months": 12}
    other = await make_tenant(client)
    assert_error(await client.post(url(tenant.slug), json=body, headers=other.headers), 403, "forbidden")
    assert_error(await client.post(url(tenant.slug), json=body), 401, "unauthorized")
    admin = await client.post(url(tenant.slug), json=body, headers=admin_headers())
    assert admin.status_code == 200, admin.text
    assert_quote(admin.json()["quote"], "200000", "30000", 12)
