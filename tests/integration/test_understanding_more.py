"""Customers the team had not written for (probe batch 10), through the chat API: a call request in other
words, a complaint that asks for a person, a visit asked as a question with a day, a make the dealer never
had, an English question over a Spanish-only text, and a question that two sub-parts of one section answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import Customer, chat, import_company_text, make_tenant

# A section whose sub-parts are bold lines, each long enough that the whole section is over one answer.
COMPANY_TEXT = """# Toma de autos usados

**¿Aceptan mi auto?**
Sí, aceptamos tu auto actual como parte de pago de cualquier unidad del lote, de cualquier marca, siempre que
sea modelo 2013 o más reciente y tenga la factura a tu nombre o endosada a tu nombre.

**Revisión del auto**
La revisión es gratuita, dura alrededor de media hora y se hace en cualquiera de nuestras sucursales: carrocería,
motor, transmisión, llantas y el historial del auto en el registro público vehicular.

**Vigencia de la oferta**
La oferta que te hacemos por tu auto tiene vigencia de una semana o 400 kilómetros, lo que ocurra primero, y
no te compromete a nada.

**Si todavía lo debes**
Si tu auto todavía tiene un crédito vigente, liquidamos el adeudo directamente con la financiera y tomamos la
diferencia a favor como parte de pago.

# Horario

De lunes a viernes abrimos de 9:00 a 19:00 y los sábados de 9:00 a 14:00. Solo la sucursal Centro abre los
domingos, de 10:00 a 13:00, para entregas con cita.
"""


@pytest.fixture
def customer(client: Any, demo: dict[str, Any]) -> Customer:
    return Customer(client, prefix="understanding")


async def test_a_call_request_in_other_words_is_a_handoff(customer: Customer) -> None:
    reply = await customer.say("quiero que me llame alguien")
    assert reply["handoff"] is True and reply["intent"] == "handoff"


async def test_a_complaint_asking_for_a_call_gets_an_apology_and_a_person(customer: Customer) -> None:
    reply = await customer.say("pésimo servicio, quiero que alguien me llame ya")
    assert reply["handoff"] is True
    assert "disculpa" in reply["reply"].lower()
    assert "gracias" not in reply["reply"].lower()


async def test_a_complaint_that_names_a_person_is_offered_one_not_handed_off(customer: Customer) -> None:
    reply = await customer.say("fui a la sucursal y el vendedor ni me peló, pésimo servicio")
    assert reply["handoff"] is False and reply["intent"] == "complaint"
    assert "asesor" in reply["reply"]
    question = await customer.say("ok, ¿y a qué hora abren el sábado?")
    assert question["handoff"] is False and question["reply"]


async def test_a_visit_asked_as_a_question_with_a_day_starts_the_booking(customer: Customer) -> None:
    found = await customer.say("me interesa el Jeep Wrangler 2023")
    assert len(found["items"]) == 1
    car = found["items"][0]
    asked = await customer.say("¿puedo ir a verlo el sábado en la mañana? soy Mariana")
    assert asked["agent"] == "booking" and asked["items"] == [car]
    assert "sábado" in asked["reply"] and "sucursal" in asked["reply"]
    summary = await customer.say("Polanco")
    assert "Mariana" in summary["reply"] and "Polanco" in summary["reply"]
    confirmed = await customer.say("sí")
    assert confirmed["agent"] == "booking" and "Mariana" in confirmed["reply"]


async def test_a_make_never_in_stock_shows_no_arbitrary_cars(customer: Customer) -> None:
    reply = await customer.say("¿tienen Tesla Model 3?")
    assert reply["items"] == []
    assert "Tesla" in reply["reply"] and "presupuesto" in reply["reply"]
    # With something to go by, the closest cars that meet it are shown.
    priced = await customer.say("¿tienen algún Tesla de menos de 300 mil?")
    assert priced["items"] and "Tesla" in priced["reply"]


async def _dealer_with_text(client: Any) -> Any:
    tenant = await make_tenant(client, name="Autos del Centro")
    await import_company_text(client, tenant, COMPANY_TEXT)
    return tenant


async def test_a_question_two_sub_parts_answer_gets_both(client: Any) -> None:
    tenant = await _dealer_with_text(client)
    reply = await chat(client, tenant, "todavía debo mi carro al banco, ¿me lo pueden recibir a cuenta?")
    assert reply["agent"] == "info"
    assert "Aceptan mi auto" in reply["reply"] and "liquidamos el adeudo" in reply["reply"]
    assert len(reply["reply"]) <= 600
    # The plain trade-in question still reads the section in its own order.
    plain = await chat(client, tenant, "¿me reciben mi auto a cuenta?")
    assert plain["reply"].index("Aceptan mi auto") < plain["reply"].index("Revisión del auto")


async def test_an_english_question_about_sundays_finds_the_spanish_text(client: Any) -> None:
    tenant = await _dealer_with_text(client)
    reply = await chat(client, tenant, "hi, which of your locations is open on sundays?")
    assert reply["agent"] == "info" and "domingos" in reply["reply"]
    assert "10:00 a 13:00" in reply["reply"]


async def test_a_model_that_is_an_everyday_word_before_the_stock_verb(customer: Customer) -> None:
    reply = await customer.say("que march tienen")
    assert reply["agent"] == "catalog" and reply["items"]
    assert all("March" in line for line in reply["reply"].splitlines() if line[:2] in ("1.", "2.", "3."))


async def test_any_year_widens_the_search_just_made(customer: Customer) -> None:
    narrow = await customer.say("toyota corolla 2023")
    assert narrow["items"] and "2023" in narrow["reply"]
    wide = await customer.say("¿y de cualquier año?")
    assert wide["agent"] == "catalog" and "Corolla" in wide["reply"]
    years = {line.split(" — ")[0][-4:] for line in wide["reply"].splitlines() if " — $" in line}
    assert years - {"2023"}, wide["reply"]


async def test_that_one_against_a_named_model_compares_both(customer: Customer) -> None:
    shown = await customer.say("¿tienen vw virtus?")
    assert shown["items"]
    compared = await customer.say("¿y ese contra un honda city qué tal?")
    assert "Virtus" in compared["reply"] and "City" in compared["reply"]
    assert set(shown["items"]) & set(compared["items"]) and len(compared["items"]) >= 2


async def test_a_short_model_typed_with_two_letters_swapped_after_its_make(customer: Customer) -> None:
    reply = await customer.say("¿tienen el chevrolet avoe?")
    assert reply["items"] and all("Aveo" in line for line in reply["reply"].splitlines() if " — $" in line)


async def test_whether_financing_exists_is_answered_not_asked_back(customer: Customer) -> None:
    listed = await customer.say("¿tienen yaris?")
    assert len(listed["items"]) > 1
    reply = await customer.say("tmb me interesa saber si tienen crédito")
    assert "¿Cuál de estos te cotizo?" not in reply["reply"]
    assert "financ" in reply["reply"].lower() or "crédito" in reply["reply"].lower()


async def test_how_long_and_de_entrada_find_the_passages_that_say_it(client: Any) -> None:
    # Sub-parts long enough to be chunks of their own.
    text = (
        "# Financiamiento\n\n**Pago inicial**\nEl pago inicial mínimo es del 20% del precio del auto. Entre más alto "
        "sea tu pago inicial, menor será tu mensualidad y el interés total que pagas; puedes combinarlo con tu auto "
        "actual como parte de pago y con un depósito de apartado que se descuenta del precio final.\n\n"
        "**Tasa**\nLa tasa es fija desde 14.9% anual, sujeta a la aprobación de tu crédito y a tu perfil. La "
        "mensualidad no cambia durante todo el plazo y no hay cargos escondidos: la comisión por apertura y el "
        "seguro se muestran en la cotización por escrito que te damos antes de firmar nada.\n\n"
        "**Tiempo de respuesta**\nLa respuesta de la financiera llega en 24 a 48 horas hábiles desde que nos "
        "entregas la documentación completa. Te avisamos por este mismo chat en cuanto llegue y, si te piden algún "
        "documento adicional, te decimos exactamente cuál para no perder tiempo.\n"
    )
    tenant = await make_tenant(client, name="Autos del Norte")
    await import_company_text(client, tenant, text)
    for question, heading in [
        ("cuanto tardan en aprobar el credito", "Tiempo de respuesta"),
        ("cuanto es lo minimo que tengo que dar de entrada", "Pago inicial"),
    ]:
        found = await client.get(
            f"/v1/tenants/{tenant.slug}/knowledge/search", params={"q": question}, headers=tenant.headers
        )
        assert found.status_code == 200, found.text
        assert found.json()[0]["heading"].endswith(heading), (question, found.json()[0])


async def test_two_terms_weighed_for_one_car_are_quoted_side_by_side(customer: Customer) -> None:
    listed = await customer.say("¿tienen suzuki swift?")
    first = listed["items"][0]
    reply = await customer.say("el primero, ¿qué me conviene más, a 36 o a 48 meses?")
    assert reply["agent"] == "finance" and reply["items"] == [first]
    assert "36 meses" in reply["reply"] and "48 meses" in reply["reply"]
    assert "¿Con cuál quieres compararlo?" not in reply["reply"]


async def test_a_visit_to_a_branch_books_and_takes_the_car_named_later(customer: Customer) -> None:
    asked = await customer.say("quiero ir a la sucursal de Polanco el sábado a las 11")
    assert asked["agent"] == "booking" and "Polanco" in asked["reply"]
    summary = await customer.say("para ver un Mazda 3, soy Jorge")
    assert summary["agent"] == "booking" and "Mazda 3" in summary["reply"] and "Jorge" in summary["reply"]
    done = await customer.say("sí")
    assert done["agent"] == "booking" and "Jorge" in done["reply"]


async def test_a_question_about_the_car_in_focus_is_answered_from_its_row(customer: Customer) -> None:
    listed = await customer.say("¿tienen nissan x-trail?")
    detail = await customer.say("el más nuevo")
    car = detail["items"][0]
    assert car in listed["items"] or detail["agent"] == "catalog"
    km = await customer.say("¿cuántos km tiene?")
    assert km["agent"] == "catalog" and km["items"] == [car] and "km" in km["reply"]
    assert not km.get("sources")


async def test_the_documents_for_credit_need_no_car_chosen(customer: Customer) -> None:
    listed = await customer.say("¿tienen yaris?")
    assert len(listed["items"]) > 1
    reply = await customer.say("¿qué documentos piden para el crédito?")
    assert "¿Cuál de estos te cotizo?" not in reply["reply"]
    assert reply.get("sources"), reply


async def test_putting_it_off_gets_a_courteous_close(customer: Customer) -> None:
    await customer.say("¿tienen suzuki swift?")
    reply = await customer.say("ok muchas gracias, lo voy a pensar")
    assert reply["agent"] == "smalltalk" and reply["items"] == []
    assert "no tengo esa información" not in reply["reply"].lower() and "asesor" not in reply["reply"].lower()


async def test_a_distinctive_word_of_a_longer_model_finds_it(customer: Customer) -> None:
    reply = await customer.say("hay frontier?")
    assert reply["agent"] == "catalog" and reply["items"]
    assert all("Frontier" in line for line in reply["reply"].splitlines() if " — $" in line)


async def test_seeing_information_is_not_a_visit(customer: Customer) -> None:
    reply = await customer.say("quiero ver el precio del jetta")
    assert reply["agent"] != "booking" and reply["items"]
    visit = await customer.say("me gustaría ver el mazda cx-30 el martes a las 11, soy Lucía")
    assert visit["agent"] == "booking"


async def test_the_oldest(customer: Customer) -> None:
    listed = await customer.say("¿tienen algún vocho?")
    assert len(listed["items"]) == 2
    oldest = await customer.say("el más viejito cuánto")
    assert oldest["items"][0] == "DM-1193" and "1997" in oldest["reply"]


async def test_a_yes_no_question_about_the_car_in_focus(customer: Customer) -> None:
    cheapest = await customer.say("cheapest suv u have?")
    assert len(cheapest["items"]) == 1
    asked = await customer.say("is it automatic?")
    assert asked["items"] == cheapest["items"] and asked["reply"].startswith("No.")
    assert "Manual" in asked["reply"]


async def test_where_the_one_named_car_is(customer: Customer) -> None:
    reply = await customer.say("¿en qué sucursal está el Jeep Wrangler 2023?")
    assert reply["items"] and ("Polanco" in reply["reply"] or "Satélite" in reply["reply"])


async def test_how_do_the_two_come_out_at_a_term(customer: Customer) -> None:
    await customer.say("¿qué me conviene más, el Corolla o el Sentra?")
    reply = await customer.say("¿y en mensualidad a 48 meses cómo quedan los dos?")
    assert "¿Cuál de estos te cotizo?" not in reply["reply"] and len(reply["items"]) == 2
    assert reply["reply"].count("/mes") == 2 and "48 meses" in reply["reply"]


async def test_a_long_courteous_thanks_is_thanks(customer: Customer) -> None:
    reply = await customer.say("Muchas gracias, muy amable de su parte.")
    assert reply["agent"] == "smalltalk" and "no tengo" not in reply["reply"].lower()


async def test_a_short_follow_up_naming_a_branch_narrows_to_it(client: Any) -> None:
    csv_text = (
        "stock_id,make,model,year,price,km,sucursal\n"
        "A1,Nissan,Versa,2022,289900,33100,León\n"
        "A2,Nissan,Versa,2020,229000,61500,Querétaro\n"
        "A3,Seat,León,2021,399000,30000,Celaya\n"
    )
    tenant = await make_tenant(client, name="Autos León", catalog_csv=csv_text)
    user = f"u-{uuid.uuid4().hex[:10]}"
    await chat(client, tenant, "versa", user=user)
    reply = await chat(client, tenant, "leon?", user=user)
    assert reply["items"] == ["A1"], reply
    car = await chat(client, tenant, "seat leon?")
    assert car["items"] == ["A3"], car


async def test_what_a_cars_row_cannot_tell_is_said_with_its_details(customer: Customer) -> None:
    listed = await customer.say("¿tienen híbridos?")
    assert listed["items"]
    reply = await customer.say("¿cuánto rinde por litro el corolla hybrid 2023?")
    assert reply["items"] == ["DM-1173"] and "no registra" in reply["reply"]
    owners = await customer.say("ok. ¿y cuántos dueños ha tenido ese?")
    assert owners["items"] == ["DM-1173"] and "Dueños: 2" in owners["reply"]


async def test_bad_credit_history_gets_an_honest_answer_not_a_quote_prompt(customer: Customer) -> None:
    reply = await customer.say("oiga tengo buró malo, ¿me pueden dar crédito?")
    assert reply["agent"] == "info" and ("asesor" in reply["reply"] or "perfil" in reply["reply"])
    assert "qué auto" not in reply["reply"].lower() and "¿te cotizo algún auto?" not in reply["reply"].lower()
