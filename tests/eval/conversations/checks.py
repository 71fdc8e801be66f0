"""Per-turn checks of a reply against the dealer's ground truth (pure functions, no database)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.eval.conversations.spec import Turn
from tests.eval.conversations.truth import (
    Car,
    Dealer,
    amounts_in_reply,
    amounts_in_text,
    explained,
    fold,
    matching,
    meets,
    minimum_down,
    pesos,
    recompute_quote,
    sort_value,
)

KNOWLEDGE_MAX_CHARS = 600

# "The data can't tell" / "I don't know", in either language (folded text).
DONT_KNOW = re.compile(
    r"no (tengo|cuento con|manejo|registr\w*|aparece\w*|viene\w*|se indica|especific\w*|incluye|lo se|se )"
    r"|no puedo (saber|confirmar|decir)"
    r"|no (esta|estan) (registrad|indicad|en (el|mi|nuestro)s? (inventario|catalogo|datos))"
    r"|sin (ese|esa|el|la) (dato|informacion)|no hay (ese|esa|informacion|datos?)|no dispongo"
    r"|(don'?t|do not|doesn'?t|does not) (have|record|list|include|show|say|know)|not (recorded|listed|sure)"
    r"|can'?t (tell|say|confirm)|no information|isn'?t (recorded|listed)"
)
_ES_WORDS = """de la el que y en los las un una por con para es tu te tus su sus del al lo como mas pero si hay
tenemos puedo puedes quieres este esta estos meses enganche auto autos precio mensualidad gracias hola claro cual
donde sucursal"""
_EN_WORDS = """the and of to a in is for you your with we our on are this that it can would like have has at from
months down payment car cars price monthly thanks hi sure which where branch"""
_ES = frozenset(_ES_WORDS.split())
_EN = frozenset(_EN_WORDS.split())
_WORD = re.compile(r"[a-z]+")
_SPACE = re.compile(r"\s+")


def reply_language(text: str) -> str | None:
    """es or en by frequent words (None when the reply has too few words to tell)."""
    words = _WORD.findall(fold(text))
    es = sum(w in _ES for w in words)
    en = sum(w in _EN for w in words)
    if es + en < 2:
        return None
    return "en" if en > es else "es"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class TurnOutcome:
    """A turn's response facts and its checks."""

    number: int
    user: str
    reply: str
    items: list[str]
    quote: dict[str, Any] | None
    handoff: bool
    agent: str
    checks: list[Check] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


@dataclass
class ConversationState:
    """What earlier turns of the conversation showed and said (for references, repeats and amounts)."""

    dealer: Dealer
    lang: str
    shown: dict[int, list[str]] = field(default_factory=dict)  # turn number -> stock ids shown
    constraints: dict[int, dict[str, Any]] = field(default_factory=dict)  # turn number -> its `shows`
    replies: list[str] = field(default_factory=list)
    customer_amounts: list[Decimal] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- references


def candidates(ref: dict[str, Any], state: ConversationState) -> list[Car]:
    """Every car a ref may name, best first.

    ``{turn, pick}``: the n-th car that turn showed (-1 the last). ``{turn, where}``: the shown cars that
    match; when the list shown held none, the cars meeting that turn's constraints and ``where`` (the
    customer names a car of the set they asked for). ``{where}``: every catalog car that matches. With
    ``sort``, only the first in that order.
    """
    dealer = state.dealer
    order = ref.get("sort")
    if "turn" in ref:
        cars = [dealer.by_id[i] for i in state.shown.get(ref["turn"], []) if i in dealer.by_id]
        if "pick" in ref:
            pick = ref["pick"]
            index = pick - 1 if pick > 0 else len(cars) + pick
            return [cars[index]] if 0 <= index < len(cars) else []
        found = [c for c in cars if meets(c, ref["where"])]
        if not found:
            scope = {k: v for k, v in state.constraints.get(ref["turn"], {}).items() if k != "sort"}
            found = matching(dealer, {**scope, **ref["where"]})
    else:
        found = matching(dealer, ref["where"])
    if order:
        found.sort(key=lambda c: sort_value(c, order))
        return found[:1]
    return found


def resolve(ref: dict[str, Any], state: ConversationState) -> Car | None:
    """The first car a ref names (see ``candidates``)."""
    cars = candidates(ref, state)
    return cars[0] if cars else None


def _money_forms(value: Decimal) -> list[str]:
    whole = f"{value:,.0f}"
    cents = f"{value:,.2f}"
    return [f"${cents}", f"${whole}", whole if value >= 1000 else f"${whole}"]


def _says_amount(reply: str, value: Decimal) -> bool:
    return any(explained(value, {int(v.quantize(Decimal(1)))}) for _, v in amounts_in_reply(reply)) or any(
        f in reply for f in _money_forms(value)[:2]
    )


# ---------------------------------------------------------------------------------------------- checks


def check_shows(out: TurnOutcome, constraints: dict[str, Any], dealer: Dealer) -> Check:
    if not out.items:
        expected = len(matching(dealer, constraints))
        return Check("shows", False, f"no items shown ({expected} in stock meet {constraints})")
    bad = [i for i in out.items if i not in dealer.by_id or not meets(dealer.by_id[i], constraints)]
    if bad:
        descr = ", ".join(dealer.by_id[i].describe() if i in dealer.by_id else f"{i} (not in catalog)" for i in bad[:3])
        return Check("shows", False, f"{len(bad)}/{len(out.items)} shown miss {constraints}: {descr}")
    order = constraints.get("sort")
    if order:
        best = matching(dealer, constraints)[0]
        first = dealer.by_id[out.items[0]]
        if sort_value(first, order) != sort_value(best, order):
            return Check("shows", False, f"first shown {first.describe()} is not the {order} one ({best.describe()})")
    return Check("shows", True)


def _is_about(out: TurnOutcome, car: Car) -> bool:
    if out.items and out.items[0] == car.stock_id:
        return True
    if out.quote and explained(Decimal(str(out.quote["price"])), {int(car.price)}):
        return True
    # A reply about one car without listing it: it names that car's model (and no other car is shown).
    return not out.items and fold(str(car.values["model"])) in fold(out.reply)


def check_focus(out: TurnOutcome, ref: dict[str, Any], state: ConversationState) -> Check:
    cars = candidates(ref, state)
    if not cars:
        return Check("focus", False, f"reference target not found ({ref}); earlier turns showed {state.shown}")
    if any(_is_about(out, car) for car in cars):
        return Check("focus", True)
    car = cars[0]
    got = out.items[0] if out.items else (out.quote or {}).get("price")
    return Check("focus", False, f"expected {car.describe()}, got {got}")


def check_quote(
    out: TurnOutcome, spec: dict[str, Any], focus: dict[str, Any] | None, state: ConversationState
) -> Check:
    dealer = state.dealer
    if "price" in spec:  # a quote for a price the customer gave, no car
        price = Decimal(str(spec["price"]))
        label = f"${price:,.0f}"
    else:
        ref = spec.get("of") or focus
        cars = candidates(ref, state) if ref else []
        if not cars:
            return Check("quote", False, f"car to quote not resolvable ({ref})")
        if out.quote:  # several cars may fit the reference: the one quoted, if it is one of them
            quoted = Decimal(str(out.quote["price"]))
            cars = sorted(cars, key=lambda c: abs(c.price - quoted))
        price, label = cars[0].price, cars[0].describe()
    if "down" in spec:
        down = Decimal(str(spec["down"]))
    elif "down_pct" in spec:
        down = (price * Decimal(str(spec["down_pct"])) / 100).quantize(Decimal("0.01"))
    else:
        down = minimum_down(dealer, price)
    want = recompute_quote(price, down, spec["term"], dealer.annual_rate)
    if out.quote is None:
        return Check("quote", False, f"no quote; expected monthly {want['monthly_payment']:,.2f} for {label}")
    got_monthly = Decimal(str(out.quote["monthly_payment"]))
    if abs(got_monthly - want["monthly_payment"]) > Decimal("0.01") or out.quote["term_months"] != spec["term"]:
        return Check(
            "quote",
            False,
            f"quote {out.quote['term_months']}m ${got_monthly:,.2f} on ${out.quote['price']:,.0f}; expected "
            f"{spec['term']}m ${want['monthly_payment']:,.2f} on {label} down ${down:,.0f}",
        )
    if not _says_amount(out.reply, want["monthly_payment"]):
        return Check("quote", False, f"reply does not state the monthly {want['monthly_payment']:,.2f}")
    return Check("quote", True)


def check_budget(out: TurnOutcome, spec: dict[str, Any], dealer: Dealer) -> Check:
    monthly = Decimal(str(spec["monthly"]))
    if not out.items:
        return Check("budget", False, "no cars shown for the budget")
    customer_down = Decimal(str(spec["down"])) if "down" in spec else None
    # The term the reply assumes (any it states that the dealer offers), else the longest offered.
    stated = {int(n) for n in re.findall(r"(\d+)\s*(?:meses|months)", fold(out.reply))} & set(dealer.terms)
    terms = sorted(stated) or [max(dealer.terms)]
    too_dear: list[str] = []
    for sid in out.items:
        car = dealer.by_id.get(sid)
        if car is None:
            too_dear.append(f"{sid} (not in catalog)")
            continue
        # The down payments the reply states (or the customer gave), else the tenant's minimum.
        downs = [v for _, v in amounts_in_reply(out.reply) if v < car.price] + [minimum_down(dealer, car.price)]
        if customer_down is not None:
            downs = [customer_down]
        fits = any(
            recompute_quote(car.price, d, t, dealer.annual_rate)["monthly_payment"] <= monthly
            for d in downs
            for t in terms
        )
        if not fits:
            too_dear.append(car.describe())
    if too_dear:
        return Check("budget", False, f"not affordable at ${monthly:,.0f}/month: {', '.join(too_dear[:3])}")
    text = fold(out.reply)
    if not re.search(r"\d+\s*(meses|months)", text) or not re.search(r"enganche|pago inicial|down payment", text):
        return Check("budget", False, "reply does not state the term and down payment assumed")
    return Check("budget", True)


def check_mentions(out: TurnOutcome, refs: list[dict[str, Any]], state: ConversationState) -> Check:
    """Each referenced car (any that fits the reference) is in the reply, with its price."""
    missing: list[str] = []
    for ref in refs:
        cars = candidates(ref, state)
        if not cars:
            missing.append(f"unresolvable {ref}")
        elif not any(_says_amount(out.reply, car.price) for car in cars):
            missing.append(cars[0].describe() + (f" (or {len(cars) - 1} more)" if len(cars) > 1 else ""))
    return Check("mentions", not missing, "; ".join(missing))


def check_regexes(out: TurnOutcome, expect: dict[str, Any]) -> list[Check]:
    text = fold(out.reply)
    checks: list[Check] = []
    if "facts" in expect:
        missing = [p for p in expect["facts"] if not re.search(fold(p), text)]
        checks.append(Check("facts", not missing, f"missing {missing}" if missing else ""))
    if "facts_any" in expect:
        ok = any(re.search(fold(p), text) for p in expect["facts_any"])
        checks.append(Check("facts", ok, "" if ok else f"none of {expect['facts_any']}"))
    if "absent" in expect:
        present = [p for p in expect["absent"] if re.search(fold(p), text)]
        checks.append(Check("absent", not present, f"present {present}" if present else ""))
    return checks


def check_dont_know(out: TurnOutcome, wanted: bool) -> Check:
    says = bool(DONT_KNOW.search(fold(out.reply)))
    if says == wanted:
        return Check("dont_know", True)
    return Check("dont_know", False, "should say the data can't tell" if wanted else "said it doesn't know")


def check_amounts(out: TurnOutcome, state: ConversationState) -> Check:
    """Every money amount in the reply comes from the catalog, a recomputed quote, the customer or the text."""
    dealer = state.dealer
    allowed = dealer.static_amounts | pesos(set(state.customer_amounts))
    unexplained = [(t, v) for t, v in amounts_in_reply(out.reply) if not explained(v, allowed)]
    if unexplained:
        customer = tuple(state.customer_amounts)
        prices = {c.price for c in dealer.cars} | {a for a in customer if a > 1000}
        if out.quote:
            prices.add(Decimal(str(out.quote["price"])))
        extra: set[Decimal] = set()
        for price in prices:
            if customer or price not in {c.price for c in dealer.cars}:
                extra |= dealer.quotes_for(price, customer)
        allowed |= pesos(extra) | pesos(dealer.affordable_prices(customer))
        # A comparison may state how much cheaper one shown car is than another.
        shown = [dealer.by_id[i].price for i in out.items if i in dealer.by_id]
        allowed |= pesos({abs(a - b) for a in shown for b in shown if a != b})
        unexplained = [(t, v) for t, v in unexplained if not explained(v, allowed)]
    texts = [t for t, _ in unexplained]
    return Check("amounts", not unexplained, f"invented {texts}" if unexplained else "")


def check_repeat(out: TurnOutcome, state: ConversationState) -> Check:
    norm = _SPACE.sub(" ", out.reply.strip())
    if norm and norm in state.replies:
        return Check("repeat", False, "verbatim repeat of an earlier reply")
    return Check("repeat", True)


# An English reply may quote the dealer's Spanish text when it says so (issue 13, class 11).
SAYS_SPANISH = re.compile(r"\b(in|from the) spanish\b|\(spanish\)")


def check_language(out: TurnOutcome, wanted: str) -> Check:
    got = reply_language(out.reply)
    if got in (None, wanted) or (wanted == "en" and SAYS_SPANISH.search(fold(out.reply))):
        return Check("lang", True)
    return Check("lang", False, f"reply in {got}")


def check_length(out: TurnOutcome, limit: int, knowledge: bool) -> Check:
    problems = []
    if len(out.reply) > limit:
        problems.append(f"{len(out.reply)} > {limit} characters")
    if knowledge and "**" in out.reply:
        problems.append("raw ** markup")
    if knowledge and re.match(r"\s*([-*•]|\d+[.)])\s", out.reply):
        problems.append("starts mid-list")
    return Check("length", not problems, "; ".join(problems))


def check_lead(leads: list[dict[str, Any]] | str, customer: str, contains: list[str]) -> Check:
    if isinstance(leads, str):
        return Check("lead", False, leads)
    digits = re.sub(r"\D", "", customer)
    mine = [lead for lead in leads if digits and digits in re.sub(r"\D", "", json.dumps(lead))]
    if not mine:
        return Check("lead", False, f"no lead for this customer among {len(leads)}")
    for lead in mine:
        dump = fold(json.dumps(lead, ensure_ascii=False))
        if all(fold(c) in dump for c in contains):
            return Check("lead", True)
    return Check("lead", False, f"lead lacks some of {contains}: {json.dumps(mine[-1], ensure_ascii=False)[:200]}")


def evaluate_turn(
    out: TurnOutcome,
    turn: Turn,
    state: ConversationState,
    leads: list[dict[str, Any]] | str | None,
    customer: str,
) -> None:
    """Fill ``out.checks`` for one turn, then record what it showed and said in ``state``."""
    e = turn.expect
    dealer = state.dealer
    state.customer_amounts += amounts_in_text(turn.user, customer=True)
    checks = out.checks
    if "shows" in e:
        checks.append(check_shows(out, e["shows"], dealer))
    if e.get("shows_none"):
        checks.append(Check("shows_none", not out.items, f"{len(out.items)} items shown" if out.items else ""))
    if "focus" in e:
        checks.append(check_focus(out, e["focus"], state))
    if "quote" in e:
        checks.append(check_quote(out, e["quote"], e.get("focus"), state))
    if "budget" in e:
        checks.append(check_budget(out, e["budget"], dealer))
    if "mentions" in e:
        checks.append(check_mentions(out, e["mentions"], state))
    checks += check_regexes(out, e)
    if "dont_know" in e:
        checks.append(check_dont_know(out, e["dont_know"]))
    if "handoff" in e:
        ok = out.handoff == e["handoff"]
        checks.append(Check("handoff", ok, "" if ok else f"handoff={out.handoff}"))
    if "lead" in e:
        checks.append(check_lead(leads if leads is not None else "leads not read", customer, e["lead"]["contains"]))
    if e.get("knowledge") or "max_chars" in e:
        checks.append(check_length(out, int(e.get("max_chars", KNOWLEDGE_MAX_CHARS)), bool(e.get("knowledge"))))
    if out.reply:
        checks.append(check_language(out, e.get("lang", state.lang)))
    checks.append(check_amounts(out, state))
    checks.append(check_repeat(out, state))
    if out.items:
        state.shown[out.number] = list(out.items)
    if "shows" in e:
        state.constraints[out.number] = dict(e["shows"])
    norm = _SPACE.sub(" ", out.reply.strip())
    if norm:
        state.replies.append(norm)
