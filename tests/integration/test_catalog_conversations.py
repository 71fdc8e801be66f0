"""Real conversations about the stock, through the chat API and the signed webhook: a second dealer onboarded
from its own CSV, follow-ups that keep the conversation's constraints, what the data cannot tell, a monthly
budget, comparisons, everyday-word model names and English. Expectations are computed from the CSV itself
(pandas) and quotes with numpy_financial, never copied from replies."""

from __future__ import annotations

import io
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy_financial as npf
import pandas as pd
import pytest

from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import Customer, TenantHandle, chat, make_tenant, new_number, say_on_whatsapp, settle

# The dealer's own export: Spanish headers, accents, money and mileage with units, a photo column, a branch
# column, no fuel/body/transmission columns.
DEALER_CSV = """Clave,Marca,Modelo,Versión,Año,Precio,Kilometraje,Color,Sucursal,Imagen
A-01,Nissan,March,Advance,2019,"$189,900","45,000 km",Gris Oxford,Querétaro,https://img.example.com/a01.jpg
A-02,Nissan,Versa,Sense,2020,"$239,900","38,500 km",Blanco,Querétaro,
A-03,Chevrolet,Aveo,LT,2021,"$229,500","22,000 km",Rojo,León,https://img.example.com/a03.jpg
A-04,Volkswagen,Jetta,GLI,2019,"$349,000","61,200 km",Gris Plata,León,
A-05,Volkswagen,Jetta,Comfortline,2020,"$319,000","40,100 km",Negro,Querétaro,
A-06,Volkswagen,Up,Move,2018,"$159,000","70,000 km",Blanco,León,
A-07,Honda,Fit,Fun,2019,"$219,000","52,000 km",Azul,León,
A-08,Volkswagen,Vento,Starline,2021,"$265,000","30,000 km",Gris,Querétaro,
"""
RATE, TERMS, MIN_DOWN = Decimal("0.149"), [12, 24, 36, 48, 60], Decimal("0.15")


def _stock() -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(DEALER_CSV), dtype=str)
    frame["price"] = frame["Precio"].str.replace(r"[$,]", "", regex=True).astype(float)
    frame["year"] = frame["Año"].astype(int)
    return frame.set_index("Clave")


STOCK = _stock()


def monthly(price: float, down: float, term: int) -> Decimal:
    """The payment, computed independently of the app with numpy_financial."""
    value = -npf.pmt(float(RATE) / 12, term, price - down)
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def money(value: Decimal | float) -> str:
    cents = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"${cents:,.0f}" if cents == cents.to_integral_value() else f"${cents:,.2f}"


@pytest.fixture
async def dealer(client: Any) -> TenantHandle:
    finance = {"annual_rate": str(RATE), "terms_months": TERMS, "min_down_payment_ratio": str(MIN_DOWN)}
    return await make_tenant(client, catalog_csv=DEALER_CSV, finance=finance)


class Talk:
    """One customer of ``tenant`` through the chat API."""

    def __init__(self, client: Any, tenant: TenantHandle) -> None:
        self.client, self.tenant, self.user = client, tenant, f"cat-{uuid.uuid4().hex[:10]}"

    async def say(self, text: str) -> dict[str, Any]:
        return await chat(self.client, self.tenant, text, user=self.user)


# --------------------------------------------------------------------------- onboarding from the dealer's CSV


async def test_the_dealers_own_csv_imports(client: Any, dealer: TenantHandle) -> None:
    r = await client.post(
        f"/v1/tenants/{dealer.slug}/catalog",
        files={"file": ("inventario.csv", DEALER_CSV.encode("latin-1", "replace"), "text/csv")},
        headers=dealer.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"] == len(STOCK) and {"color", "sucursal", "image_url"} <= set(body["columns"])


async def test_a_bad_photo_url_is_a_422_naming_row_and_column(client: Any, dealer: TenantHandle) -> None:
    bad = DEALER_CSV.replace("https://img.example.com/a03.jpg", "img/a03.jpg")
    r = await client.post(
        f"/v1/tenants/{dealer.slug}/catalog",
        files={"file": ("x.csv", bad.encode(), "text/csv")},
        headers=dealer.headers,
    )
    assert r.status_code == 422, r.text
    details = r.json()["error"]["details"]
    assert details["row"] == 4 and details["column"] == "imagen"
    # Nothing was applied: the old catalogue still answers.
    assert (await chat(client, dealer, "tienen aveo?"))["items"] == ["A-03"]


# --------------------------------------------------------------------------- follow-ups and references


async def test_follow_ups_keep_the_constraints_and_references_resolve(client: Any, dealer: TenantHandle) -> None:
    talk = Talk(client, dealer)
    first = await talk.say("tienen volkswagen de menos de 350 mil?")
    vw = STOCK[(STOCK["Marca"] == "Volkswagen") & (STOCK["price"] <= 350_000)]
    assert first["items"] and set(first["items"]) <= set(vw.index)

    grey = await talk.say("¿y en gris?")
    expected = vw[vw["Color"].str.contains("Gris")]
    assert set(grey["items"]) == set(expected.index)  # VW, under 350k, grey: every constraint kept
    assert "Mazda" not in grey["reply"]  # the footer names only listed cars
    for stock_id in grey["items"]:
        assert f"({stock_id})" in grey["reply"]

    gli = await talk.say("el GLI")
    assert gli["items"] == ["A-04"] and "GLI" in gli["reply"] and "León" in gli["reply"]

    quote = await talk.say("¿y si doy 80 mil de enganche a 36?")
    assert quote["agent"] == "finance" and quote["items"] == ["A-04"]
    assert quote["quote"]["monthly_payment"] == pytest.approx(float(monthly(349_000, 80_000, 36)))
    assert money(monthly(349_000, 80_000, 36)) in quote["reply"]


async def test_a_down_payment_said_with_a_search_is_never_a_price_limit(client: Any, dealer: TenantHandle) -> None:
    talk = Talk(client, dealer)
    # "sería de 80 mil" is the down payment the customer has, not a price limit (no Volkswagen costs 80k or less).
    first = await talk.say("busco un volkswagen, el enganche sería de 80 mil")
    assert first["items"] and set(first["items"]) <= set(STOCK[STOCK["Marca"] == "Volkswagen"].index)
    assert "enganche $80,000" in first["reply"]
    car = first["items"][0]
    again = await talk.say("cambio el enganche a 120 mil")
    assert again["agent"] == "finance" and again["items"] == [car]
    assert again["quote"]["down_payment"] == pytest.approx(120_000) and "$120,000" in again["reply"]


async def test_a_quote_after_a_list_asks_which_car(client: Any, dealer: TenantHandle) -> None:
    talk = Talk(client, dealer)
    listing = await talk.say("qué tienen de menos de 250 mil?")
    assert len(listing["items"]) > 1
    which = await talk.say("¿y si doy 50 mil de enganche a 24?")
    assert which["quote"] is None and which["agent"] == "finance"
    assert all(f"${STOCK.loc[i, 'price']:,.0f}" in which["reply"] for i in listing["items"])
    second = await talk.say("el segundo")
    assert second["items"] == [listing["items"][1]]


async def test_the_cheapest_is_one_car(client: Any, dealer: TenantHandle) -> None:
    talk = Talk(client, dealer)
    await talk.say("busco un volkswagen")
    cheapest = await talk.say("el más barato")
    vw = STOCK[STOCK["Marca"] == "Volkswagen"].sort_values("price")
    assert cheapest["items"] == [vw.index[0]]
    assert f"de los {len(vw)} autos" in cheapest["reply"] and "Encontré" not in cheapest["reply"]


# --------------------------------------------------------------------------- what the data cannot tell


@pytest.mark.parametrize(
    ("text", "what"), [("¿tienen híbridos?", "combustible"), ("busco una camioneta", "carrocería")]
)
async def test_what_the_catalog_does_not_record(client: Any, dealer: TenantHandle, text: str, what: str) -> None:
    talk = Talk(client, dealer)
    reply = await talk.say(text)
    assert reply["agent"] == "catalog" and reply["items"] == []  # never the whole stock as a match
    assert what in reply["reply"] and "asesor" in reply["reply"]
    accepted = await talk.say("sí")
    assert accepted["handoff"]


# --------------------------------------------------------------------------- monthly budget


async def test_a_monthly_budget_lists_the_cars_that_fit(client: Any, dealer: TenantHandle) -> None:
    talk = Talk(client, dealer)
    reply = await talk.say("puedo pagar unos 6 mil al mes, ¿qué me alcanza?")
    assert reply["items"], reply["reply"]
    assert "48 meses" in reply["reply"] and "15%" in reply["reply"]  # the assumptions are stated
    for stock_id in reply["items"]:
        price = float(STOCK.loc[stock_id, "price"])
        payment = monthly(price, price * float(MIN_DOWN), 48)
        assert payment <= 6000 and money(payment) in reply["reply"]
    too_dear = STOCK[[monthly(p, p * float(MIN_DOWN), 48) > 6000 for p in STOCK["price"]]]
    assert not set(reply["items"]) & set(too_dear.index)


# --------------------------------------------------------------------------- comparisons


async def test_comparison_side_by_side_without_opinions(client: Any, dealer: TenantHandle) -> None:
    talk = Talk(client, dealer)
    reply = await talk.say("¿cuál es mejor, el Versa o el Aveo?")
    assert reply["items"] == ["A-02", "A-03"]
    assert "No tengo datos para decir cuál es mejor" in reply["reply"]
    for stock_id in reply["items"]:
        price = float(STOCK.loc[stock_id, "price"])
        assert money(monthly(price, price * float(MIN_DOWN), 48)) in reply["reply"]
    assert "Más barato: Chevrolet Aveo LT" in reply["reply"]
    again = await talk.say("compárame el primero y el segundo a 24 meses")
    assert again["items"] == ["A-02", "A-03"]
    assert money(monthly(239_900, 239_900 * float(MIN_DOWN), 24)) in again["reply"]


# --------------------------------------------------------------------------- model names that are words


async def test_everyday_word_models(client: Any, dealer: TenantHandle) -> None:
    assert (await chat(client, dealer, "tienen march?"))["items"] == ["A-01"]
    assert (await chat(client, dealer, "me interesa el up"))["items"] == ["A-06"]
    assert (await chat(client, dealer, "quiero ir a ver el auto en marzo"))["items"] == []
    assert (await chat(client, dealer, "can you pick me up at the airport?"))["items"] == []


# --------------------------------------------------------------------------- English


async def test_english_replies_use_english_values(client: Any, demo: dict[str, Any]) -> None:
    customer = Customer(client, prefix="cat-en")
    listing = await customer.say("do you have automatic SUVs under 400k?")
    assert listing["items"]
    detail = await customer.say("the second one")
    assert "Transmission: Automatic" in detail["reply"] and "Automática" not in detail["reply"]
    assert not re.search(r"\b(Gasolina|Sí|Carrocería|Combustible)\b", detail["reply"])


# --------------------------------------------------------------------------- through WhatsApp


@pytest.mark.usefixtures("worker")
async def test_a_reference_by_version_on_whatsapp(
    client: Any, dealer: TenantHandle, fake_twilio: FakeTwilioServer
) -> None:
    customer = new_number()

    async def say(body: str) -> str:
        """Every message the customer got for ``body`` (the answer, and any message sent after it)."""
        before = fake_twilio.count_to(customer)
        await say_on_whatsapp(client, dealer, customer, body, fake_twilio)
        await settle(dealer.id)
        return "\n".join(m["body"] for m in fake_twilio.messages_to(customer)[before:])

    listing = await say("tienen jetta?")
    assert "A-04" in listing and "A-05" in listing
    detail = await say("me interesa el GLI")
    assert "A-04" in detail and "GLI" in detail and "A-05" not in detail
