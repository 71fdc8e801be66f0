"""The generic fixes found by the probe conversations, through the chat API on a dealer onboarded from its own
CSV (English headers, no body/fuel/transmission/owners columns): a superlative after a search ranges over all
its matches, a range of bare hundreds is thousands, a budget in words, a changed booking slot, what the data
cannot tell about a named car, and where a branch is."""

from __future__ import annotations

import uuid
from typing import Any

from tests.helpers import TenantHandle, chat, make_tenant

CSV = """stock_number,brand,model,trim,year,price,mileage,color,branch
B-01,Chevrolet,Spark,LT,2018,139900,76400,Verde,Leon
B-02,Chevrolet,Spark,Activ,2019,154900,63200,Gris,Queretaro
B-03,Ford,Figo,Energy,2019,169900,70900,Rojo,Celaya
B-04,Chevrolet,Aveo,LS,2020,179000,64300,Plata,Celaya
B-05,Renault,Kwid,Outsider,2022,189000,21800,Blanco,Leon
B-06,Volkswagen,Golf,GTI,2020,519000,38900,Rojo,Queretaro
B-07,Volkswagen,Tiguan,Comfortline,2020,449000,52300,Azul,Queretaro
B-08,Toyota,RAV4,XLE,2020,519900,58700,Azul,Queretaro
"""


async def _talk(client: Any, tenant: TenantHandle) -> Any:
    user = f"probe-{uuid.uuid4().hex[:10]}"

    async def say(text: str) -> dict[str, Any]:
        return await chat(client, tenant, text, user=user)

    return say


async def test_probe_fixes_through_the_chat_api(client: Any) -> None:
    finance = {"annual_rate": "0.15", "terms_months": [12, 24, 36, 48], "min_down_payment_ratio": "0.15"}
    dealer = await make_tenant(client, catalog_csv=CSV, finance=finance)

    say = await _talk(client, dealer)
    cheap = await say("tienen algo barato? menos de 2 cientos")
    assert cheap["items"] and not {"B-06", "B-07", "B-08"} & set(cheap["items"])
    # Of all five matches (not only the three on screen) the Kwid has the fewest km.
    assert (await say("y de esos cual tiene menos km"))["items"][:1] == ["B-05"]

    say = await _talk(client, dealer)
    ranged = await say("q tienen entre 150 y 180?")
    assert ranged["items"] and set(ranged["items"]) <= {"B-02", "B-03", "B-04"}

    say = await _talk(client, dealer)
    assert (await say("busco una toyota rab4"))["items"] == ["B-08"]

    say = await _talk(client, dealer)
    owners = await say("cuantos dueños ha tenido el golf gti")
    assert "no registra" in owners["reply"] or "no tengo" in owners["reply"].lower()

    say = await _talk(client, dealer)
    where = await say("donde queda la agencia de celaya")
    assert where["items"] == []


async def test_probe_fixes_for_several_questions_comparisons_and_bookings(client: Any) -> None:
    finance = {"annual_rate": "0.15", "terms_months": [12, 24, 36, 48], "min_down_payment_ratio": "0.15"}
    dealer = await make_tenant(client, catalog_csv=CSV, finance=finance)

    say = await _talk(client, dealer)
    # The branch belongs to the test-drive question: the Golf (in Querétaro) is still the car found.
    golf = await say("tienen el golf? y hacen pruebas de manejo en celaya?")
    assert golf["items"] == ["B-06"] and golf["agent"] == "catalog"

    say = await _talk(client, dealer)
    listed = await say("muestrame chevrolets")
    compared = await say("compara los dos primeros")
    assert compared["items"] == listed["items"][:2]

    say = await _talk(client, dealer)
    booking = await say("quiero agendar una prueba de manejo de la rav4 el sabado a las 11 en celaya, soy Ana Ruiz")
    assert booking["agent"] == "booking" and "RAV4" in booking["reply"] and "Celaya" in booking["reply"]
    changed = await say("mejor en leon")
    assert changed["agent"] == "booking" and "Leon" in changed["reply"] and "Celaya" not in changed["reply"]


async def test_either_of_two_models_lists_both(client: Any) -> None:
    dealer = await make_tenant(client, catalog_csv=CSV)
    say = await _talk(client, dealer)
    either = await say("tienen spark o kwid?")
    assert set(either["items"]) == {"B-01", "B-02", "B-05"}  # every match of each, taken in turn
    assert either["items"][1] == "B-05"
    one = await _talk(client, dealer)
    assert set((await one("tienen spark 2018 o 2019"))["items"]) == {"B-01", "B-02"}  # one model, two years
