"""Shortlist scoring, ranking, stopping, and the WhatsApp texts sent to customers and vendors."""

from __future__ import annotations

import itertools
import re
import uuid

import pytest

from app.concierge.extraction import extract_requirements
from app.concierge.messages import MAX_MESSAGE_CHARS, format_shortlist, format_vendor_request, wa_me_link
from app.concierge.replies import VendorReply, parse_vendor_reply
from app.concierge.scoring import (
    WEIGHTS,
    Offer,
    RankedOffer,
    rank_offers,
    score_offer,
    score_parts,
    should_stop,
)
from app.concierge.types import Money, Urgency, Zone

BUDGET = Money(amount=1000, currency="MXN")
ZONES = [Zone(name="Polanco", lat=19.433, lon=-99.191)]


def reply(**kwargs: object) -> VendorReply:
    base: dict[str, object] = {"available": True, "confidence": 0.9}
    base.update(kwargs)
    if base.get("price") is not None:
        base.setdefault("currency", "MXN")
    return VendorReply.model_validate(base)


def offer(
    vid: str,
    name: str | None = None,
    *,
    distance_km: float | None = 2.0,
    reply_seconds: float | None = 120.0,
    number: str | None = None,
    **reply_fields: object,
) -> Offer:
    return Offer(
        vendor_id=vid,
        vendor_name=name or f"Vendor {vid}",
        whatsapp=number or f"whatsapp:+52155000000{vid[-2:].zfill(2)}",
        reply=reply(**reply_fields),
        distance_km=distance_km,
        reply_seconds=reply_seconds,
    )


def score(r: VendorReply, **kwargs: object) -> float:
    params: dict[str, object] = {"budget": BUDGET, "distance_km": 2.0, "reply_seconds": 120.0}
    params.update(kwargs)
    return score_offer(r, **params)  # type: ignore[arg-type]


# --- score_offer -------------------------------------------------------------------------------


def test_weights_sum_to_one_and_scores_stay_in_range() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)
    perfect = reply(price=100, delivery_hours=1, confidence=1.0)
    assert score(perfect, distance_km=0.2, reply_seconds=10) > 0.98
    worst = reply(available=None, confidence=0.0)
    assert 0.0 <= score(worst, distance_km=500, reply_seconds=10**6) <= 0.2


def test_a_no_scores_zero() -> None:
    assert score(reply(available=False, price=1)) == 0.0


def test_in_stock_beats_on_order_beats_unknown() -> None:
    in_stock = score(reply(price=900))
    on_order = score(reply(price=900, on_order=True))
    unknown = score(reply(available=None, price=900))
    assert in_stock > on_order > unknown


def test_cheaper_within_budget_scores_higher_and_over_budget_falls_fast() -> None:
    prices = [500, 900, 1000, 1100, 1200, 1500]
    scores = [score(reply(price=p)) for p in prices]
    assert scores == sorted(scores, reverse=True)
    parts = [score_parts(reply(price=p), budget=BUDGET, distance_km=1, reply_seconds=1)["price"] for p in prices]
    assert parts[2] == pytest.approx(0.6)  # exactly at budget
    assert parts[4] == pytest.approx(0.0)  # 20 % over
    assert parts[5] == 0.0


def test_budget_for_the_whole_request_against_quantity() -> None:
    r = reply(price=600, quantity=2, total_price=1200)
    whole = score_parts(r, budget=BUDGET, distance_km=1, reply_seconds=1, quantity=2)["price"]
    each = score_parts(r, budget=BUDGET, distance_km=1, reply_seconds=1, quantity=2, budget_per_unit=True)["price"]
    assert whole < 0.6 < each  # 1,200 for two is over a 1,000 total, 600 each is under 1,000 each


def test_other_currency_is_neutral() -> None:
    part = score_parts(reply(price=45, currency="USD"), budget=BUDGET, distance_km=1, reply_seconds=1)["price"]
    assert part == 0.3


def test_without_budget_the_cheapest_in_the_batch_is_the_reference() -> None:
    cheap = score_parts(reply(price=500), budget=None, distance_km=1, reply_seconds=1, reference_price=500)["price"]
    double = score_parts(reply(price=1000), budget=None, distance_km=1, reply_seconds=1, reference_price=500)["price"]
    assert (cheap, double) == (1.0, 0.0)


def test_nearer_and_faster_score_higher() -> None:
    r = reply(price=900)
    assert score(r, distance_km=0.5) > score(r, distance_km=5) > score(r, distance_km=14) > score(r, distance_km=40)
    assert score(r, distance_km=40) == score(r, distance_km=15)  # beyond the radius it is all the same
    assert score(r, reply_seconds=60) > score(r, reply_seconds=3600) > score(r, reply_seconds=5 * 3600)
    assert score(r, distance_km=None) < score(r, distance_km=1)


def test_delivery_against_the_deadline() -> None:
    today, tomorrow = reply(price=900, delivery_hours=6), reply(price=900, delivery_hours=26)
    assert score(today, urgency=Urgency.today) > score(tomorrow, urgency=Urgency.today)
    assert score(today, urgency=Urgency.tomorrow) == score(tomorrow, urgency=Urgency.tomorrow)  # both in time
    parts = score_parts(tomorrow, budget=None, distance_km=1, reply_seconds=1, urgency=Urgency.now)
    assert parts["delivery"] == 0.0


def test_confidence_counts() -> None:
    assert score(reply(price=900, confidence=0.95)) > score(reply(price=900, confidence=0.5))


def test_parsed_replies_rank_sensibly() -> None:
    clear = parse_vendor_reply("sí tengo, 850 pesos, entrega hoy")
    vague = parse_vendor_reply("850")
    order = parse_vendor_reply("lo consigo para mañana en 800")
    assert score(clear, urgency=Urgency.today) > score(order, urgency=Urgency.today)
    assert score(clear) > score(vague)


# --- rank_offers -------------------------------------------------------------------------------


def test_rank_drops_noes_and_unknowns_and_keeps_the_top_five() -> None:
    offers = [offer(f"{i:02d}", price=500 + 50 * i) for i in range(8)]
    offers += [offer("90", available=False), offer("91", available=None)]
    ranked = rank_offers(offers, budget=BUDGET)
    assert [r.offer.vendor_id for r in ranked] == ["00", "01", "02", "03", "04"]
    assert [r.rank for r in ranked] == [1, 2, 3, 4, 5]
    assert all(a.score >= b.score for a, b in itertools.pairwise(ranked))
    assert len(rank_offers(offers, budget=BUDGET, limit=2)) == 2
    assert rank_offers(offers, budget=BUDGET, limit=0) == []


def test_ties_are_deterministic_whatever_the_input_order() -> None:
    same = {"price": 900, "distance_km": 2.0, "reply_seconds": 100.0}
    offers = [offer("b2", "Beta", **same), offer("a1", "alfa", **same), offer("c3", "Alfa", **same)]  # type: ignore[arg-type]
    first = rank_offers(offers, budget=BUDGET)
    again = rank_offers(list(reversed(offers)), budget=BUDGET)
    assert [r.offer.vendor_id for r in first] == [r.offer.vendor_id for r in again] == ["a1", "c3", "b2"]


def test_database_ids_of_any_kind() -> None:
    a, b = uuid.UUID(int=2), uuid.UUID(int=1)
    offers = [
        Offer(a, "Same", "+5215500000001", reply(price=900)),
        Offer(b, "Same", "+5215500000002", reply(price=900)),
    ]
    assert [r.offer.vendor_id for r in rank_offers(offers)] == [b, a]
    assert not should_stop(offers, in_stock_target=3)


def test_equal_scores_prefer_the_lower_price() -> None:
    # Dollar prices against a peso budget score the same (no exchange rate): the cheaper comes first.
    dear, cheap = offer("01", "Alfa", price=50, currency="USD"), offer("02", "Zeta", price=40, currency="USD")
    ranked = rank_offers([dear, cheap], budget=BUDGET)
    assert ranked[0].score == ranked[1].score
    assert [r.offer.vendor_name for r in ranked] == ["Zeta", "Alfa"]


def test_equal_scores_without_prices_fall_back_to_the_name() -> None:
    a = offer("01", "Zeta", price=None)
    b = offer("02", "Alfa", price=None)
    c = offer("03", "Mid", price=None)
    assert [r.offer.vendor_name for r in rank_offers([a, b, c])] == ["Alfa", "Mid", "Zeta"]


def test_rank_without_budget_uses_the_cheapest_offer() -> None:
    ranked = rank_offers([offer("01", price=1200), offer("02", price=600), offer("03", price=900)])
    assert [r.offer.vendor_id for r in ranked] == ["02", "03", "01"]


def test_rank_with_mixed_currencies_does_not_compare_them() -> None:
    ranked = rank_offers([offer("01", price=45, currency="USD"), offer("02", price=800, currency="MXN")])
    assert {r.offer.vendor_id for r in ranked} == {"01", "02"}


# --- should_stop -------------------------------------------------------------------------------


def test_should_stop_after_three_in_stock() -> None:
    two = [offer("01"), offer("02"), offer("03", on_order=True), offer("04", available=False)]
    assert not should_stop(two)
    assert should_stop([*two, offer("05")])
    assert should_stop(two, in_stock_target=2)


def test_should_stop_counts_vendors_not_replies() -> None:
    assert not should_stop([offer("01"), offer("01"), offer("01")])


def test_should_stop_when_nobody_is_left_to_answer() -> None:
    assert should_stop([], outstanding=0)
    assert not should_stop([offer("01")], outstanding=4)


# --- links -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "link"),
    [
        ("whatsapp:+5215512345678", "https://wa.me/5215512345678"),
        ("+52 1 55 1234 5678", "https://wa.me/5215512345678"),
        ("0052 55-1234-5678", "https://wa.me/525512345678"),
        ("+1 (415) 555-0123", "https://wa.me/14155550123"),
    ],
)
def test_wa_me_links(number: str, link: str) -> None:
    assert wa_me_link(number) == link


@pytest.mark.parametrize("number", ["", "whatsapp:", "12345", "+1234567890123456789", "call me"])
def test_bad_numbers_have_no_link(number: str) -> None:
    with pytest.raises(ValueError, match="phone number"):
        wa_me_link(number)


# --- format_shortlist --------------------------------------------------------------------------


def ranked_examples() -> list[RankedOffer]:
    rows = [
        ("1", "Refacciones López", "whatsapp:+5215512345678", "sí tengo, 850 pesos, entrega hoy", 1.2, 120),
        ("2", "AutoPartes Polanco", "whatsapp:+5215500000001", "tengo 2 a $900 c/u, mañana", 3.0, 600),
        ("3", "Frenos Express", "+52 55 0000 0002", "lo consigo para el jueves en 700", 0.5, 3600),
        ("4", "Nada SA", "+5215500000003", "no hay", 0.2, 30),
    ]
    offers = [Offer(i, name, number, parse_vendor_reply(text), km, secs) for i, name, number, text, km, secs in rows]
    return rank_offers(offers, budget=BUDGET, urgency=Urgency.today)


def test_shortlist_spanish() -> None:
    ranked = ranked_examples()
    messages = format_shortlist(ranked, "es", item_label="balatas delanteras", budget=BUDGET)
    assert len(messages) == 1
    text = messages[0]
    assert text.startswith("Encontré 3 opciones para «balatas delanteras»:")
    assert "1. *Refacciones López* — $850 MXN" in text
    assert "en existencia · entrega: hoy · a 1.2 km" in text
    assert "https://wa.me/5215512345678" in text
    assert "$900 MXN c/u" in text and "(2 disponibles)" in text
    assert "sobre pedido · entrega: el jueves · a 0.5 km" in text
    assert "https://wa.me/525500000002" in text
    assert "Nada SA" not in text
    assert text.index("Refacciones López") < text.index("AutoPartes Polanco")
    assert text.endswith("Cada negocio confirma su precio y existencia.")


def test_shortlist_english_uses_estimates_for_spanish_delivery_words() -> None:
    text = format_shortlist(ranked_examples(), "en", item_label="front brake pads")[0]
    assert text.startswith('I found 3 options for "front brake pads":')
    assert "in stock · delivery: ~6 h · 1.2 km away" in text  # "hoy" without a clock: 6 hours
    assert 'to order · delivery: "el jueves" · 0.5 km away' in text  # no estimate: the vendor's words, quoted


def test_shortlist_marks_prices_over_budget() -> None:
    ranked = rank_offers([offer("01", "Caro", price=1500)], budget=BUDGET)
    assert "(arriba de tu presupuesto)" in format_shortlist(ranked, "es", budget=BUDGET)[0]
    assert "(over your budget)" in format_shortlist(ranked, "en", budget=BUDGET)[0]


def test_shortlist_without_price_or_distance() -> None:
    ranked = rank_offers([offer("01", "Sin Datos", distance_km=None, price=None)])
    text = format_shortlist(ranked, "es")[0]
    assert "Encontré 1 opción:" in text
    assert "precio por confirmar" in text and " km" not in text


def test_nobody_has_it() -> None:
    (es,) = format_shortlist([], "es", item_label="balatas", asked=7)
    assert es.startswith("Lo siento: pregunté a 7 negocios cercanos y por ahora ninguno tiene «balatas».")
    (en,) = format_shortlist([], "en")
    assert en.startswith("Sorry: I asked nearby businesses and none of them has it right now.")


def test_vendor_names_cannot_break_formatting_or_smuggle_links() -> None:
    evil = offer("01", "*Gratis* _click_ ~aquí~\n\nhttps://evil.example " + "x" * 500, price=900)
    text = format_shortlist(rank_offers([evil]), "es")[0]
    first_line = text.splitlines()[2]
    assert first_line.startswith("1. *Gratis click aquí https://evil.example")
    assert first_line.count("*") == 2  # only our own bold marks
    assert len(first_line) < 120


def test_many_long_offers_fit_in_at_most_two_messages() -> None:
    offers = [
        offer(f"{i:02d}", "Refaccionaria " + "Muy Larga " * 20, price=100 + i, delivery="entrega " + "x" * 70)
        for i in range(40)
    ]
    ranked = rank_offers(offers, limit=40)
    messages = format_shortlist(ranked, "es", item_label="y" * 500)
    assert 1 <= len(messages) <= 2
    assert all(len(m) <= MAX_MESSAGE_CHARS for m in messages)
    # Whatever is left out is from the bottom of the list.
    shown = [int(n) for n in re.findall(r"^(\d+)\. ", "\n".join(messages), flags=re.M)]
    assert shown == list(range(1, len(shown) + 1))


def test_bad_vendor_number_shows_without_link() -> None:
    text = format_shortlist(rank_offers([offer("01", "Sin Número", number="n/a", price=900)]), "es")[0]
    assert "Sin Número" in text and "wa.me" not in text


# --- format_vendor_request ---------------------------------------------------------------------


def test_vendor_request_spanish() -> None:
    req = extract_requirements(
        "necesito 2 balatas delanteras para un Jetta 2017 cerca de Polanco, hasta 900 pesos c/u, hoy", zones=ZONES
    )
    assert format_vendor_request(req, "Refaccionaria Demo") == (
        "¡Hola! Te escribe Refaccionaria Demo de parte de un cliente. ¿Tienes esto?\n"
        "• 2 × balatas delanteras (Jetta 2017)\n"
        "Zona: Polanco · Para: hoy · Presupuesto: hasta $900 MXN c/u\n"
        "Responde en un solo mensaje: sí o no, precio y cuándo lo entregas (por ejemplo: «sí, 850, hoy»).\n"
        "Si no quieres recibir estas consultas, responde STOP."
    )


def test_vendor_request_english_and_minimal() -> None:
    req = extract_requirements("I need a locksmith", zones=ZONES, pin=(19.4, -99.1))
    text = format_vendor_request(req, "Demo Shop", "en")
    assert text.startswith("Hi! This is Demo Shop, writing on behalf of a customer. Do you have:\n• locksmith\n")
    assert text.endswith("If you'd rather not get these requests, reply STOP.")
    # A shared pin is the customer's own location: it is never sent to vendors.
    assert "19.4" not in text and "Area" not in text


def test_vendor_request_is_capped_and_never_leaks_customer_formatting() -> None:
    text_in = ", ".join(f"pieza número {i} " + "z" * 60 + " para " + "w" * 110 for i in range(10)) + " en Polanco"
    req = extract_requirements(text_in, zones=ZONES)
    text = format_vendor_request(req, "*Demo*\nSTOP")
    assert len(text) <= 1_200
    assert text.endswith("responde STOP.")
    assert "más" in text  # items that do not fit are counted, not silently dropped
    assert text.splitlines()[0] == "¡Hola! Te escribe Demo STOP de parte de un cliente. ¿Tienes esto?"
