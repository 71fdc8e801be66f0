"""The conversation evaluation's data files are well formed (fast: no database, no agent)."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.eval.conversations.checks import (
    DONT_KNOW,
    ConversationState,
    TurnOutcome,
    candidates,
    check_amounts,
    check_repeat,
    check_shows,
    reply_language,
)
from tests.eval.conversations.spec import CLASSES, SpecError, _parse, load_conversations
from tests.eval.conversations.truth import (
    DEALERS,
    amounts_in_reply,
    amounts_in_text,
    fold,
    load_dealer,
    matching,
    recompute_quote,
)

CONVERSATIONS = load_conversations()


def test_enough_conversations_and_turns() -> None:
    assert len(CONVERSATIONS) >= 80
    assert sum(len(c.turns) for c in CONVERSATIONS) >= 200


def test_exactly_a_quarter_held_out_spread_over_classes() -> None:
    held = [c for c in CONVERSATIONS if c.held_out]
    assert len(held) * 4 == len(CONVERSATIONS)
    assert {c.cls for c in held} == set(CLASSES)


def test_every_class_and_both_dealers_present() -> None:
    assert {c.cls for c in CONVERSATIONS} == set(CLASSES)
    assert {c.dealer for c in CONVERSATIONS} == set(DEALERS)
    per_class = Counter(c.cls for c in CONVERSATIONS)
    assert min(per_class.values()) >= 4, per_class
    for cls in CLASSES:
        assert {c.dealer for c in CONVERSATIONS if c.cls == cls} == set(DEALERS), f"class {cls} on one dealer only"


def test_english_conversations_expect_english() -> None:
    english = [c for c in CONVERSATIONS if c.cls == 11]
    assert english and all(c.lang == "en" for c in english)


@pytest.mark.parametrize("slug", sorted(DEALERS))
def test_dealer_files_read(slug: str) -> None:
    dealer = load_dealer(slug)
    assert len(dealer.cars) >= 40
    assert len({c.stock_id for c in dealer.cars}) == len(dealer.cars)
    assert all(c.price > 0 and c.values["year"] for c in dealer.cars)
    assert len(dealer.knowledge_text) > 4000


def test_second_dealer_differs_in_shape() -> None:
    bajio = DEALERS["bajio"]
    header = bajio.catalog_csv.read_text(encoding="utf-8").splitlines()[0].lower()
    assert not {"fuel", "body", "transmission", "combustible", "carroceria"} & set(header.split(","))
    text = bajio.knowledge.read_text(encoding="utf-8")
    assert not text.startswith("#"), "a paragraph comes before the first heading"
    assert re.search(r"^\*\*[^*\n]+\*\*$", text, re.M), "sections whose sub-parts are bold lines"


def test_every_shows_constraint_has_stock() -> None:
    """A turn expecting cars names constraints the dealer's stock can meet (else the check is unfair)."""
    dealers = {slug: load_dealer(slug) for slug in DEALERS}
    for c in CONVERSATIONS:
        for n, t in enumerate(c.turns, start=1):
            if "shows" in t.expect:
                assert matching(dealers[c.dealer], t.expect["shows"]), f"{c.id} turn {n}: nothing in stock"


def test_facts_are_grounded_in_the_company_text_or_catalog() -> None:
    """Every digit-bearing fact pattern occurs in the dealer's own text or catalog, not only in the answer key."""
    dealers = {slug: load_dealer(slug) for slug in DEALERS}
    for c in CONVERSATIONS:
        dealer = dealers[c.dealer]
        corpus = dealer.knowledge_folded + fold(dealer.source.catalog_csv.read_text(encoding="utf-8"))
        for t in c.turns:
            for pattern in t.expect.get("facts", []):
                if re.search(r"\d", pattern):
                    assert re.search(fold(pattern), corpus), f"{c.id}: {pattern!r} not in {c.dealer}'s data"


def test_schema_rejects_bad_conversations() -> None:
    base = {"id": "x", "dealer": "demo", "class": 1, "held_out": False, "turns": [{"user": "hola"}]}
    _parse(base, "t")
    with pytest.raises(SpecError):
        _parse({**base, "class": 12}, "t")
    with pytest.raises(SpecError):
        _parse({**base, "dealer": "nobody"}, "t")
    with pytest.raises(SpecError):
        _parse({**base, "turns": [{"user": "hola", "expect": {"shows": {"fuel": "diesel"}}}], "dealer": "bajio"}, "t")
    with pytest.raises(SpecError):
        _parse({**base, "turns": [{"user": "hola", "expect": {"focus": {"turn": 1, "pick": 1}}}]}, "t")
    with pytest.raises(SpecError):
        _parse({**base, "turns": [{"user": "hola", "expect": {"wat": 1}}]}, "t")


def test_ground_truth_helpers() -> None:
    quote = recompute_quote(Decimal(359000), Decimal(71800), 48, Decimal("0.139"))
    assert quote["monthly_payment"] == Decimal("7833.76")
    assert [v for _, v in amounts_in_reply("Mensualidad: $7,833.76 y enganche $71,800")] == [
        Decimal("7833.76"),
        Decimal(71800),
    ]
    assert Decimal(80000) in amounts_in_text("y si doy 80 mil de enganche a 36?", customer=True)
    assert DONT_KNOW.search(fold("No tengo esa información por escrito"))
    assert DONT_KNOW.search(fold("Our catalog doesn't record the fuel type"))
    assert reply_language("Encontré 3 autos que coinciden con tu búsqueda") == "es"
    assert reply_language("I found 3 cars that match your search") == "en"


def test_sets_live_in_one_file_per_class() -> None:
    files = {c.source for c in CONVERSATIONS}
    assert all(Path(f).suffix == ".yaml" for f in files)


def test_catalog_references_resolve() -> None:
    """References to the catalog (not to a shown list) name a car the dealer has."""
    dealers = {slug: load_dealer(slug) for slug in DEALERS}
    for c in CONVERSATIONS:
        for n, t in enumerate(c.turns, start=1):
            e = t.expect
            refs = [e.get("focus"), (e.get("quote") or {}).get("of"), *e.get("mentions", [])]
            for ref in refs:
                if ref and "turn" not in ref:
                    where = {**ref["where"], **({"sort": ref["sort"]} if "sort" in ref else {})}
                    assert matching(dealers[c.dealer], where), f"{c.id} turn {n}: {ref} matches no car"
            for ref in refs:
                if ref and "turn" in ref and "where" in ref:
                    earlier = c.turns[ref["turn"] - 1].expect.get("shows")
                    if earlier:
                        both = {**earlier, **ref["where"]}
                        both.pop("sort", None)
                        assert matching(dealers[c.dealer], both), f"{c.id} turn {n}: {ref} can't be among the shown"


def _outcome(reply: str, items: list[str] | None = None, quote: dict[str, Any] | None = None) -> TurnOutcome:
    return TurnOutcome(1, "q", reply, items or [], quote, False, "catalog")


def test_checks_catch_invented_amounts_and_repeats() -> None:
    demo = load_dealer("demo")
    car = demo.cars[0]
    state = ConversationState(dealer=demo, lang="es")
    assert check_amounts(_outcome(f"Cuesta ${car.price:,.0f}", [car.stock_id]), state).ok
    assert not check_amounts(_outcome("Te lo dejo en $123,457"), state).ok
    state.customer_amounts.append(Decimal(80000))
    down = recompute_quote(car.price, Decimal(80000), 36, demo.annual_rate)
    assert check_amounts(_outcome(f"36 mensualidades de ${down['monthly_payment']:,.2f}"), state).ok
    state.replies.append("hola")
    assert not check_repeat(_outcome("hola"), state).ok
    assert check_repeat(_outcome("hola, ¿qué buscas?"), state).ok


def test_checks_hold_shown_cars_to_the_constraints() -> None:
    demo = load_dealer("demo")
    nissan = matching(demo, {"make": "Nissan", "sort": "price_asc"})
    other = matching(demo, {"make": "Audi"})[0]
    assert check_shows(_outcome("", [c.stock_id for c in nissan[:3]]), {"make": "Nissan"}, demo).ok
    assert not check_shows(_outcome("", [nissan[0].stock_id, other.stock_id]), {"make": "Nissan"}, demo).ok
    wanted = {"make": "Nissan", "sort": "price_asc"}
    assert check_shows(_outcome("", [nissan[0].stock_id]), wanted, demo).ok
    assert not check_shows(_outcome("", [nissan[1].stock_id]), wanted, demo).ok
    assert not check_shows(_outcome(""), {"make": "Nissan"}, demo).ok


def test_references_fall_back_to_the_asked_set_when_the_list_lacked_the_car() -> None:
    demo = load_dealer("demo")
    state = ConversationState(dealer=demo, lang="es")
    jettas = matching(demo, {"model": "Jetta", "sort": "price_asc"})
    state.shown[1] = [jettas[0].stock_id, jettas[1].stock_id]
    state.constraints[1] = {"model": "Jetta"}
    assert candidates({"turn": 1, "pick": 2}, state) == [jettas[1]]
    assert candidates({"turn": 1, "pick": -1}, state) == [jettas[1]]
    gli = candidates({"turn": 1, "where": {"version": "GLI", "year": 2022}}, state)
    assert [c.values["version"] for c in gli] == ["GLI"]
