"""Customers written by outside authors (probe batches p200–p230), through the chat API: a competitor's price is
not a budget, a fuel nobody stocks offers the nearest one, a list narrowed to a branch says so, a car named under a
monthly budget is quoted against it, "¿cuál es el que tiene menos km?" is one car, and a booking on a day the
business's own text says is closed is refused in its words."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.helpers import Customer, chat, import_company_text, make_tenant

CARS = """stock_id,make,model,year,price,km,version,sucursal
W1,Suzuki,Swift,2021,279000,31700,GLX,Centro
W2,Renault,Kwid,2023,189000,9800,Iconic,Centro
W3,Nissan,Versa,2020,239000,45000,Advance,Norte
W4,Mazda,3,2019,265000,48000,i Sport,Norte
"""
HOURS = """# Horarios

Abrimos de lunes a viernes de 9:00 a 19:00 y los sábados de 10:00 a 14:00. Norte permanece cerrada los domingos.
Solo la sucursal Centro abre los domingos, de 10:00 a 13:00.

# Sucursales

Tenemos dos sucursales. Centro: Av. Juárez 10. Norte: Calle Roble 200.
"""


@pytest.fixture
def customer(client: Any, demo: dict[str, Any]) -> Customer:
    return Customer(client, prefix="wave3")


async def test_a_competitors_price_is_not_a_budget(customer: Customer) -> None:
    reply = await customer.say("En otra agencia me ofrecen un Mazda 3 2020 en 345 mil. ¿Ustedes en cuánto lo tienen?")
    assert reply["items"] == ["DM-1104"] and "$359,000" in reply["reply"]


async def test_a_fuel_nobody_stocks_offers_the_nearest(customer: Customer) -> None:
    reply = await customer.say("¿tienen algún eléctrico?")
    assert reply["items"] and "híbrido" in reply["reply"]
    assert "eléctrico" in reply["reply"]  # it says there are none before offering the hybrids


async def test_the_least_driven_of_a_list_is_one_car_and_the_next_quote_is_for_it(customer: Customer) -> None:
    await customer.say("busco un sedán automático Toyota o Honda que no pase de 400 mil")
    least = await customer.say("¿y de esos, cuál es el que tiene menos kilometraje?")
    assert len(least["items"]) == 1
    quote = await customer.say("¿cuánto pagaría al mes por ese mismo auto a 48 meses con 100 mil de enganche?")
    assert quote["quote"] is not None and quote["items"] == least["items"]


async def test_a_car_named_under_a_monthly_budget_is_quoted_against_it(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    user = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, tenant, "puedo pagar unos 5 mil al mes, ¿qué me alcanza?", user)
    await chat(client, tenant, "y si doy 50 mil de enganche a 48 meses?", user)
    swift = await chat(client, tenant, "¿el Swift entra?", user)
    assert swift["items"] == ["W1"] and swift["quote"] is not None
    assert swift["quote"]["term_months"] == 48 and float(swift["quote"]["down_payment"]) == 50000
    assert "se pasa" in swift["reply"]  # 5 mil is less than its monthly payment
    # Narrowed to a branch, still within the monthly budget (nothing there fits it: said so, with the cheapest).
    branch = await chat(client, tenant, "¿y qué tienen en Norte?", user)
    assert "norte" in branch["reply"].lower() and "$5,000" in branch["reply"]


async def test_a_list_narrowed_to_a_branch_says_which(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    reply = await chat(client, tenant, "¿qué autos tienen en la sucursal Norte?")
    assert set(reply["items"]) == {"W3", "W4"} and "Norte" in reply["reply"].splitlines()[0]


async def test_a_booking_on_a_closed_day_is_refused_in_the_business_words(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    await import_company_text(client, tenant, HOURS)
    user = f"u-{uuid.uuid4().hex[:8]}"
    refused = await chat(client, tenant, "quiero ir a ver el Versa a Norte el domingo", user)
    assert refused["agent"] == "booking"
    assert "domingo" in refused["reply"] and "cerrada" in refused["reply"] and "Centro" in refused["reply"]
    moved = await chat(client, tenant, "va, entonces el lunes a las 5, soy Ana Ruiz", user)
    assert "lunes" in moved["reply"] and "Ana Ruiz" in moved["reply"] and "¿Lo agendo así?" in moved["reply"]
    # Where the text says a branch opens on Sundays, a Sunday there is taken.
    other = f"u-{uuid.uuid4().hex[:8]}"
    taken = await chat(client, tenant, "quiero ir a ver el Swift a Centro el domingo a las 11, soy Luis Paz", other)
    assert "¿Lo agendo así?" in taken["reply"] and "domingo" in taken["reply"]


async def test_the_newest_within_a_monthly_budget_is_one_car_then_quoted(customer: Customer) -> None:
    await customer.say("lo maximo que puedo pagar son como 5 mil al mes, que me alcanza?")
    await customer.say("y si le meto 40 mil de enganche?")
    newest = await customer.say("de esos cual es el mas nuevo")
    assert len(newest["items"]) == 1 and "más nuevo" in newest["reply"]
    quote = await customer.say("va, cuanto seria ese exactamente a 72 meses con los 40 mil")
    assert quote["items"] == newest["items"] and quote["quote"]["term_months"] == 72
    assert float(quote["quote"]["down_payment"]) == 40000


async def test_a_bare_term_after_one_car_quotes_it_and_the_minimum_is_the_terms(customer: Customer) -> None:
    await customer.say("precio rav4?")
    one = await customer.say("la 2020?")
    assert len(one["items"]) == 1
    quote = await customer.say("y a 48?")
    assert quote["quote"] is not None and quote["quote"]["term_months"] == 48 and quote["items"] == one["items"]
    minimum = await customer.say("enganche minimo?")
    assert "10%" in minimum["reply"] and "48 mensualidades" not in minimum["reply"]


async def test_zero_down_is_answered_with_the_minimum(customer: Customer) -> None:
    first = await customer.say("mi tope de mensualidad son 4500 pesos, que opciones tengo?")
    zero = await customer.say("y se puede sin dar enganche?")
    assert "10%" in zero["reply"] and zero["reply"] != first["reply"]
    assert "Como te comentaba" not in zero["reply"]


async def test_a_search_with_a_financing_question_shows_the_cars_and_the_terms(customer: Customer) -> None:
    reply = await customer.say(
        "hola buenas tardes estoy buscando una camioneta tipo suv automatica y que no pase de 400 mil pesos y "
        "quisiera saber si la puedo sacar a credito y cuanto me pedirian de enganche y si necesito aval"
    )
    assert reply["items"] and "10%" in reply["reply"]
    assert "Haval" not in reply["reply"]  # "aval" is a guarantor
    assert reply.get("quote") is None  # 400 mil is a limit on the search, not a price to quote


async def test_a_monthly_cap_worded_as_no_pase_de_is_a_monthly_budget(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    reply = await chat(client, tenant, "ocupo un carro que la mensualidad no pase de 6 mil, tengo 30 mil de enganche")
    assert reply["agent"] == "finance" and reply["items"]
    assert "$6,000 al mes" in reply["reply"] and "$30,000" in reply["reply"]


COMPARE_CARS = """stock_id,make,model,year,price,km,version
K1,Nissan,Kicks,2021,319900,45000,Advance
K2,Nissan,Kicks,2023,399900,15600,Exclusive
C1,Hyundai,Creta,2022,379900,25000,GLS Premium
J1,Volkswagen,Jetta,2022,482000,30000,GLI
J2,Volkswagen,Jetta,2023,511900,43000,GLI
"""


async def test_two_models_weighed_and_a_year_against_the_car_in_focus(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=COMPARE_CARS)
    user = f"u-{uuid.uuid4().hex[:8]}"
    # "kicks" is an everyday English word: after "entre" it is a car.
    weighed = await chat(client, tenant, "estoy entre kicks y creta, cual me conviene", user)
    assert {"C1"} < set(weighed["items"]) and any(i.startswith("K") for i in weighed["items"])
    other = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, tenant, "en cuanto tienen el jetta gli 2022", other)
    differs = await chat(client, tenant, "y el gli 2023 que diferencia tiene", other)
    assert differs["items"] == ["J1", "J2"]
    assert "GLI 2022" in differs["reply"] and "GLI 2023" in differs["reply"]  # told apart by year


async def test_the_price_and_year_of_the_car_in_focus_after_a_question_the_data_cannot_answer(
    customer: Customer,
) -> None:
    await customer.say("el jetta gli 2022 trae quemacocos?")
    price = await customer.say("bueno y en cuanto lo dan")
    assert price["items"] == ["DM-1187"] and "$482,000" in price["reply"]
    assert not price["reply"].startswith("¡Hola!")  # "bueno" is a filler, not a greeting
    year = await customer.say("ok de q año es")
    assert year["items"] == ["DM-1187"] and "2022" in year["reply"]


async def test_the_cheapest_of_the_whole_stock_is_not_headed_as_matches(customer: Customer) -> None:
    reply = await customer.say("el mas barato q tengan cual es")
    assert len(reply["items"]) == 1 and "coinciden" not in reply["reply"]


async def test_a_city_abbreviation_is_the_branch(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS.replace("Centro", "Querétaro"))
    reply = await chat(client, tenant, "q tienen en qro")
    assert set(reply["items"]) == {"W1", "W2"}


async def test_a_city_after_pa_is_a_place_not_a_seat_leon(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS + "W5,Seat,León,2020,299000,40000,FR,Centro\n")
    reply = await chat(client, tenant, "hey bro voy pa norte en diciembre, tienen mazda?")
    assert reply["items"] == ["W4"]


async def test_a_complaints_rhetorical_question_gets_no_company_text(customer: Customer) -> None:
    await customer.say("compre un kia rio con ustedes hace 3 semanas y ya se le prendio el testigo del motor")
    reply = await customer.say("y quien me va a pagar eso? me vendieron un carro chafa")
    assert reply["intent"] == "complaint" and not reply["sources"]
    english = await customer.say(
        "I bought a car from you last month and the check engine light is already on. not happy."
    )
    assert english["intent"] == "complaint"


async def test_a_test_drive_asked_as_going_to_try_it_books_and_being_there_does_not(customer: Customer) -> None:
    drive = await customer.say("puedo ir a probar el mazda 3 2019 el sabado?")
    assert drive["agent"] == "booking"
    here = Customer(customer.client, prefix="wave3-here")
    present = await here.say("estoy aqui en la sucursal de polanco, quiero ver el mazda 3 2019")
    assert present["agent"] != "booking" and present["items"]


async def test_moving_the_car_in_focus_to_another_branch_is_the_policy(customer: Customer) -> None:
    await customer.say("cuanto cuesta el jetta gli 2022")
    moved = await customer.say("y si me lo llevan a satelite para verlo alla?")
    assert moved["agent"] == "info" and moved["sources"]
    assert "otra sucursal" in moved["reply"].lower() or "traslad" in moved["reply"].lower()


async def test_a_counter_offer_is_offered_a_person_and_yes_hands_off(customer: Customer) -> None:
    await customer.say("en kavak vi un jetta gli 2022 en 470 mil, ustedes en cuanto lo tienen?")
    offer = await customer.say("me lo dejan en 470? si no me voy con ellos")
    assert offer["intent"] == "negotiate" and offer["handoff"] is False and "asesor" in offer["reply"]
    assert offer.get("quote") is None
    yes = await customer.say("sí")
    assert yes["handoff"] is True


async def test_where_the_shown_cars_are_comes_from_their_rows(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    await import_company_text(client, tenant, HOURS)
    user = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, tenant, "estoy entre el versa y el mazda 3, cual me recomiendas?", user)
    where = await chat(client, tenant, "ok y donde los puedo ver? estan en norte los dos?", user)
    assert where["agent"] == "catalog" and set(where["items"]) == {"W3", "W4"}
    assert "Norte" in where["reply"].splitlines()[0]
    assert "Calle Roble 200" in where["reply"]  # the branch's address, from the company text


async def test_safer_is_safety_equipment_not_insurance(customer: Customer) -> None:
    await customer.say("estoy entre el kwid y el march, cual me recomiendas?")
    safer = await customer.say("y cual es mas seguro? tiene bolsas de aire?")
    assert safer["agent"] == "catalog" and not safer["sources"]
    assert "seguro de cobertura" not in safer["reply"]


async def test_a_day_with_a_time_or_a_name_about_the_car_in_focus_books(customer: Customer) -> None:
    await customer.say("cuanto cuesta el jetta gli 2022")
    slots = await customer.say("ok voy a juntar papeles, el jueves paso a polanco a las 4, soy Luis Hernandez")
    assert slots["agent"] == "booking" and "Luis Hernandez" in slots["reply"] and "16:00" in slots["reply"]
    hours = Customer(customer.client, prefix="wave3-hours")
    await hours.say("cuanto cuesta el jetta gli 2022")
    asked = await hours.say("¿abren el sábado a las 10?")
    assert asked["agent"] != "booking"


async def test_either_body_the_customer_names_is_searched_and_said(client: Any) -> None:
    tenant = await make_tenant(
        client,
        catalog_csv="stock_id,make,model,year,price,km,body\n"
        "B1,Toyota,Hilux,2021,520000,40000,Pickup\nB2,Kia,Seltos,2022,420000,30000,SUV\n"
        "B3,Nissan,Versa,2021,260000,50000,Sedán\n",
    )
    reply = await chat(client, tenant, "busco una troca o suv pa la familia")
    assert set(reply["items"]) == {"B1", "B2"} and "SUV" in reply["reply"].splitlines()[0]


async def test_putting_it_off_is_a_courteous_close_and_a_real_person_hands_off(customer: Customer) -> None:
    close = await customer.say("ok dejame juntar el dinero y te escribo")
    assert close["intent"] == "thanks" and "no tengo esa información" not in close["reply"].lower()
    person = await customer.say("no pues mejor pasame con alguien de verdad")
    assert person["handoff"] is True


async def test_the_other_of_a_model_is_not_the_one_in_focus(customer: Customer) -> None:
    await customer.say("estoy buscando un kia, sportage o seltos")
    blue = await customer.say("el seltos azul en cuanto esta")
    other = await customer.say("ufff, y el otro seltos?")
    assert other["items"] and other["items"][0] != blue["items"][0]
    assert "Seltos" in other["reply"]


async def test_a_credit_requirements_question_beside_a_car_in_focus_gets_the_requirements(customer: Customer) -> None:
    await customer.say("cuanto cuesta el jetta gli 2022")
    await customer.say("a 48 meses con 100 mil de enganche")
    asked = await customer.say("q necesito para el credito? no tengo nomina, trabajo por mi cuenta")
    assert asked.get("quote") is None and asked["sources"]
    assert "estados de cuenta" in asked["reply"]


async def test_a_truck_with_a_bed_is_a_pickup(customer: Customer) -> None:
    reply = await customer.say("necesito una camioneta de batea para el trabajo")
    assert reply["items"] and "Pickup" in reply["reply"].splitlines()[0] and "SUV" not in reply["reply"].splitlines()[0]


async def test_a_vague_family_request_is_asked_what_it_needs(customer: Customer) -> None:
    reply = await customer.say("Hi there, looking for something for my family, 2 kids, nothing too fancy")
    assert not reply["items"] and "budget" in reply["reply"]
    other = Customer(customer.client, prefix="wave3-needs")
    recommend = await other.say("busco algo para la familia somos 5 q me recomiendan?")
    assert not recommend["items"] and "presupuesto" in recommend["reply"]


async def test_words_that_are_not_cars(customer: Customer) -> None:
    reply = await customer.say("What's the range on the Tesla?")
    assert "Ranger" not in reply["reply"]
    own = Customer(customer.client, prefix="wave3-own")
    await own.say("cuanto cuesta la ram")
    trade = await own.say("la ram me la dejan si les doy mi tsuru 2012 a cuenta?")
    assert "2012" not in trade["reply"].splitlines()[0]


async def test_the_cheapest_of_a_named_model_and_refused_kinds(customer: Customer) -> None:
    await customer.say("tienen jetta?")
    cheapest = await customer.say("el jetta mas barato cuanto")
    assert len(cheapest["items"]) == 1 and "Jetta" in cheapest["reply"]
    gas = Customer(customer.client, prefix="wave3-gas")
    reply = await gas.say("una suv, gas only please, no hybrids")
    assert reply["items"] and "Hybrid" not in reply["reply"] and "HEV" not in reply["reply"]


async def test_moving_a_booked_car_to_another_branch_is_the_transfer_policy(customer: Customer) -> None:
    await customer.say("quiero ir a ver el jetta gli 2022 el martes a polanco")
    moved = await customer.say("ok y me lo pueden pasar a satelite?")
    assert moved["agent"] == "info" and "otra sucursal" in moved["reply"].lower()


async def test_a_bot_insult_is_a_complaint(customer: Customer) -> None:
    reply = await customer.say("NO ME SIRVE DE NADA ESTE BOT 😡😡")
    assert reply["intent"] == "complaint"


async def test_a_spelled_monthly_budget_with_hundreds(customer: Customer) -> None:
    reply = await customer.say("no quiero pagar mas de cuatro mil quinientos al mes, que me recomienda")
    assert reply["agent"] == "finance" and reply["items"] and "$4,500" in reply["reply"]


async def test_a_deposit_refund_question_beside_credit_is_the_policy(customer: Customer) -> None:
    await customer.say("cuanto cuesta el jetta gli 2022")
    refund = await customer.say("y si no me sale el credito me lo regresan?")
    assert refund.get("quote") is None and refund["sources"]


async def test_a_better_term_after_a_quote(customer: Customer) -> None:
    await customer.say("cuanto cuesta el jetta gli 2022")
    await customer.say("a 36 meses")
    longer = await customer.say("y si mejor a 48?")
    assert longer["quote"] is not None and longer["quote"]["term_months"] == 48


async def test_two_models_weighed_on_price_take_each_ones_cheapest(customer: Customer) -> None:
    reply = await customer.say("jetta o corolla cual sale mas barato")
    # The cheapest Jetta (2013, $191,000) against the cheapest Corolla (2012, $209,900), not the first of each.
    assert sorted(reply["items"]) == ["DM-1170", "DM-1185"]


async def test_english_follow_ups_on_the_car_in_focus(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    user = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, tenant, "do you have the swift?", user)
    price = await chat(client, tenant, "ok whats the price and miles on it", user)
    assert price["items"] == ["W1"] and "$279,000" in price["reply"]
    terms = await chat(client, tenant, "y a cuantos meses maximo", user)
    assert terms["agent"] == "finance" and "72" in terms["reply"]


async def test_a_visit_at_another_branch_says_the_car_is_moved(client: Any) -> None:
    tenant = await make_tenant(client, catalog_csv=CARS)
    user = f"u-{uuid.uuid4().hex[:8]}"
    await chat(client, tenant, "cuanto cuesta el versa", user)  # the Versa is at Norte
    visit = await chat(client, tenant, "lo puedo ver en centro el martes?", user)
    assert visit["agent"] == "booking" and "Norte" in visit["reply"] and "traslad" in visit["reply"]


async def test_something_more_like_another_model_drops_the_year(customer: Customer) -> None:
    await customer.say("hay sentra 2020??")
    like = await customer.say("mm no se busco algo mas tipo crv")
    assert len(like["items"]) > 1 and "2020" not in like["reply"].splitlines()[0]


async def test_asking_whether_it_is_a_robot_is_answered_not_handed_off(customer: Customer) -> None:
    who = await customer.say("eres un robot? o una persona de verdad?")
    assert who["handoff"] is False and who["intent"] == "identity" and "asistente virtual" in who["reply"]
    price = await customer.say("cuanto cuesta el jetta gli 2022")
    assert price["items"] == ["DM-1187"]


async def test_formal_courtesies_are_a_greeting_and_thanks(customer: Customer) -> None:
    hello = await customer.say("Buenas tardes. Disculpe usted la molestia.")
    assert hello["intent"] == "greeting"
    thanks = await customer.say("Le agradezco mucho. Que Dios la bendiga.")
    assert thanks["intent"] == "thanks" and "no tengo esa información" not in thanks["reply"].lower()


async def test_a_yes_that_completes_the_booking_stores_it(customer: Customer) -> None:
    await customer.say("quiero ir a ver el jetta gli 2022 a polanco el jueves a las 4")
    done = await customer.say("si, confirmo, jueves 4pm en polanco, a nombre de Daniel Treviño")
    assert done["agent"] == "booking" and "Daniel" in done["reply"] and "¿Lo agendo así?" not in done["reply"]


async def test_the_whole_stock_is_not_headed_as_matches(customer: Customer) -> None:
    reply = await customer.say("Mi nieto me comentó que ustedes venden automóviles usados. ¿Qué tienen?")
    assert reply["items"] and "coinciden" not in reply["reply"] and "inventario" in reply["reply"]
