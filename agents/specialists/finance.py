"""Finance specialist: amortized-loan quotes for a price or a car the customer saw."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, cast

from pydantic import ValidationError

from agents.classify import has_constraints, has_vehicle_constraints
from agents.memory import ConversationMemory, ShownCar
from agents.specialists.catalog import answer_affordable, answer_catalog, answer_compare, shown_entry
from agents.state import TurnState, TurnUpdate
from app.catalog.cards import car_name, format_card
from app.catalog.constraints import refine
from app.catalog.intent import looks_like_comparison
from app.catalog.schemas import CarCard, CatalogFilters
from app.catalog.search import search_catalog
from app.catalog.service import LoadedCatalog
from app.finance.parsing import FinanceRequest, parse_finance_request, parse_term_followup
from app.finance.service import (
    FinanceError,
    FinanceTerms,
    format_finance_error,
    format_percent,
    format_quote,
    format_quote_options,
    join_terms,
    quote_for,
    quote_payload,
)
from app.text.normalize import Language, fold
from app.text.wording import say


def _quoted_one_of(last_quote: dict[str, Any] | None, shown: list[ShownCar]) -> bool:
    """Whether the last quote was for one of the cars shown (a follow-up "¿y a 60?" keeps quoting it)."""
    if last_quote is None:
        return False
    return any(abs(float(c["price"]) - float(last_quote["price"])) < 0.005 for c in shown)


def _named_car(said: CatalogFilters, memory: ConversationMemory, catalog: LoadedCatalog) -> CarCard | None:
    """The car a quote request describes: "el blanco" (the one white car among the conversation's matches),
    "un Jetta" (the first Jetta), "la más barata" (the first in that order); None when the words fit several cars
    and name no model."""
    previous = CatalogFilters.model_validate(memory.last_filters) if memory.last_filters else None
    wanted = refine(previous, said, catalog.vocabulary).model_copy(update={"limit": 2, "exclude_ids": []})
    found = search_catalog(catalog.frame, wanted, catalog.vocabulary)
    # "la más barata" names one car of the matches by its order; "el blanco" only when one car is white.
    if found.items and not found.relaxed and (found.total == 1 or said.make or said.model or said.sort != "relevance"):
        return found.items[0]
    if said.make or said.model:
        alone = search_catalog(catalog.frame, said.model_copy(update={"limit": 1}), catalog.vocabulary)
        if alone.items and not alone.relaxed:
            return alone.items[0]
    return None


_TERMS_QUESTION = re.compile(
    r"\b(?:minim[oa]|minimum|min|cuanto (?:es )?(?:de |el )?enganche|how much down|tasa|interest rate|rate"
    r"|plazos?|terms?|longest|mas largo|maximo|(?:a|hasta|en) cuantos (?:meses|años|anos)|cuantos meses"
    r"|how many (?:months|years)|how long (?:can|do|is)|what terms)\b"
)


def _asks_terms(text: str) -> bool:
    """ "¿Cuánto es lo mínimo de enganche?", "what's your rate?": the tenant's terms answer it, no car needed."""
    return bool(_TERMS_QUESTION.search(fold(text)))


# "¿tienen crédito?", "¿manejan financiamiento?", "do you offer financing?": whether financing exists at all.
_OFFERS_FINANCING = re.compile(
    r"\b(?:tienen|tienes|manejan|dan|dar|darme|ofrecen|hay|hacen|trabajan con|aceptan|otorgan|aprueban|"
    r"do (?:you|u) (?:offer|have|do)|is there|can i get|you guys do|give me|approve me for)\s+(?:\w+\s+)?"
    r"(?:credito|creditos|financiamiento|financiacion|prestamos?|"
    r"financing|credit|loans?)\b"
)


# "los dos", "ambos", "both", "cada uno": every car on screen, side by side at the term asked.
_EACH_SHOWN = re.compile(
    r"\b(?:los dos|las dos|ambos|ambas|los tres|las tres|cada uno|cada una|todos|todas|both|each|all three"
    r"|(?:como|cuanto|en cuanto|a cuanto) (?:me )?(?:quedan|salen|serian|quedarian|saldrian)|how much are they)\b"
)
# A term's number, not an amount's ("a 36 meses con 60 mil de enganche" names one term: 36).
_TERM_NUMBER = re.compile(
    r"(?<![$\d,.])\b(12|18|24|36|48|60|72|84|96)\b(?!\s*(?:mil\b|k\b|%|,\d|\.\d|pesos|mxn|dolares|usd))"
)


def _named_terms(text: str) -> set[int]:
    """The loan terms a message names ("¿me conviene a 36 o a 48?" weighs two terms for one car)."""
    return {int(n) for n in _TERM_NUMBER.findall(fold(text))}


# "¿qué documentos piden para el crédito?", "¿revisan buró?": about getting credit, not about a car's payments.
_CREDIT_PROCESS = re.compile(
    r"\b(?:requisitos?|documentos?|documentacion|papeles|papeleria|tramites?|buro|historial|aval|avales|"
    r"comprobantes?|(?:que|q) piden|(?:que|q) me piden|(?:que|q) necesito|requirements?|documents?|paperwork|"
    r"credit (?:score|history)|no tengo nomina|trabajo por mi cuenta|independiente|self.?employed|"
    r"what do i need)\b"
)


# "¿y si no me sale el crédito me lo regresan?": the deposit's refund, a policy (the business's words).
_REFUND = re.compile(r"\b(?:regres\w*|devuelv\w*|devolucion|reembols\w*|refund\w*|give (?:it|me) back)\b")


def _asks_if_financing(text: str, request: FinanceRequest) -> bool:
    """Whether financing is offered, or what getting it takes, asked with no car, amount or term to quote."""
    has_numbers = request.term_months is not None or request.down_payment is not None or request.price is not None
    folded = fold(text)
    return not has_numbers and bool(_OFFERS_FINANCING.search(folded) or _CREDIT_PROCESS.search(folded))


def _terms_summary(terms: FinanceTerms, language: Language) -> str:
    return say(
        "finance_terms_summary",
        language,
        ratio=format_percent(terms.min_down_payment_ratio),
        terms=join_terms(terms.terms_months, language),
        rate=format_percent(terms.annual_rate),
    )


def _asks_no_down(request: FinanceRequest, terms: FinanceTerms) -> bool:
    """ "sin enganche", "con 0 de enganche" where the business asks for a minimum down payment."""
    zero = request.down_payment_ratio == 0 or request.down_payment == 0
    return zero and terms.min_down_payment_ratio > 0


def _with_note(no_down: bool, terms: FinanceTerms, language: Language, update: TurnUpdate) -> TurnUpdate:
    """``update`` opened by the minimum down payment when the customer asked for none."""
    if no_down and update.get("reply"):
        note = say("finance_no_zero_down", language, ratio=format_percent(terms.min_down_payment_ratio))
        return {**update, "reply": f"{note}\n{update['reply']}"}
    return update


def _quote_one(
    afford: TurnUpdate,
    stock_id: str,
    request: FinanceRequest,
    memory: ConversationMemory,
    terms: FinanceTerms,
    language: Language,
) -> FinanceAnswer | None:
    """The one car a budget answer picked, quoted at the customer's term and down payment (else the minimum)."""
    kept = afford.get("memory") or memory
    car = next((c for c in kept.shown if c["stock_id"] == stock_id), None)
    if car is None:
        return None
    try:
        quoted = quote_for(
            terms=terms,
            price=Decimal(str(car["price"])),
            down_payment=request.down_payment,
            down_payment_ratio=request.down_payment_ratio,
            term_months=request.term_months,
        )
    except (FinanceError, ValidationError, ValueError):
        return None
    if quoted.single is None:
        return None
    payload = quote_payload(quoted.single)
    kept.focus = stock_id
    kept.last_quote = payload
    reply = "\n".join([say("finance_for_car", language, car=_car_label(car)), format_quote(quoted.single, language)])
    return {"agent": "finance", "reply": reply, "items": [stock_id], "quote": payload, "memory": kept}


def _searches(filters: CatalogFilters) -> bool:
    """A search by kind with two or more limits (body, transmission, price cap...) and no car named: a list to
    show, not one car to quote ("¿tienen un Jetta 2015 y a cuánto a 48?" names the car to quote)."""
    if filters.make or filters.model:
        return False
    limits = [filters.price_max, filters.price_min, filters.year_min, filters.km_max]
    return sum(1 for v in limits if v is not None) + len(filters.features) >= 2


def _changes_terms(request: FinanceRequest) -> bool:
    """ "¿y si doy 50 mil de enganche?" / "¿y a 60?": the same budget question with other terms."""
    return request.down_payment is not None or request.down_payment_ratio is not None or request.term_months is not None


def _which_car(shown: list[ShownCar], language: Language) -> str:
    cars = "\n".join(f"{i + 1}. {_car_label(c)} — ${float(c['price']):,.0f}" for i, c in enumerate(shown[:5]))
    return say("finance_which_car", language, cars=cars)


def _remember_preferences(memory: ConversationMemory, request: FinanceRequest) -> None:
    """A down payment or term the customer states holds for later turns (affordability, quotes)."""
    if request.down_payment is not None:
        memory.down_payment = float(request.down_payment)
    if request.term_months is not None:
        memory.term_months = request.term_months
    if request.monthly_payment is not None:
        memory.monthly_budget = float(request.monthly_payment)


def _car_label(car: ShownCar) -> str:
    name = car_name(str(car["make"]), str(car["model"]))
    return " ".join(str(p) for p in (name, car.get("version") or "", car["year"]) if p)


class FinanceAnswer(TurnUpdate, total=False):
    """The finance specialist's update; ``needs_price`` asks the graph to try the business's own answer first."""

    needs_price: bool
    info_only: bool  # the info step's answer stands even when it found nothing (it says so and offers a person)


def answer_finance(state: TurnState, catalog: LoadedCatalog) -> FinanceAnswer:
    """Quote the car or price the customer means; a table of all terms when no term was given."""
    tenant = state["tenant"]
    language = state["language"]
    memory = state["memory"].model_copy(deep=True)
    classification = state["classification"]
    shown = memory.shown
    request = parse_finance_request(state["text"])
    last_quote = memory.last_quote
    if request.term_months is None and (
        last_quote is not None or memory.monthly_budget is not None or memory.focus is not None
    ):
        # "¿y a 60?" right after a quote: a bare number is the new term.
        followup = parse_term_followup(state["text"])
        if followup is not None:
            request = request.model_copy(update={"term_months": followup})

    no_down = _asks_no_down(request, tenant.finance)
    if no_down:
        # "¿y se puede sin dar enganche?": not with this business; the same answer at its minimum, saying so.
        request = request.model_copy(update={"down_payment": None, "down_payment_ratio": None})
    again = memory.monthly_budget is not None and memory.focus is None and (_changes_terms(request) or no_down)
    if (request.monthly_payment is not None or again) and request.price is None and classification.reference is None:
        # "Puedo pagar unos 6 mil al mes, ¿qué me alcanza?": invert the quote, then list what fits.
        _remember_preferences(memory, request)
        if request.down_payment is None and request.down_payment_ratio is None and memory.down_payment is not None:
            request = request.model_copy(update={"down_payment": Decimal(str(memory.down_payment))})
        afford = _with_note(
            no_down,
            tenant.finance,
            language,
            answer_affordable(
                state,
                catalog,
                memory,
                monthly=request.monthly_payment or Decimal(str(memory.monthly_budget or 0)),
                down_payment=request.down_payment,
                down_payment_ratio=request.down_payment_ratio,
                term_months=request.term_months or memory.term_months,
            ),
        )
        picked = afford.get("items") or []
        if len(picked) == 1 and request.term_months is not None and classification.filters.limit == 1:
            # "de esos, ¿cuánto queda el más barato a 48 meses?": that one car, quoted at the term asked.
            one = _quote_one(afford, picked[0], request, memory, tenant.finance, language)
            if one is not None:
                return one
        return cast(FinanceAnswer, afford)
    _remember_preferences(memory, request)
    vehicle = has_vehicle_constraints(classification.filters)
    named_terms = _named_terms(state["text"])
    weighs_terms = len(named_terms) >= 2 and (classification.reference is not None or bool(memory.focus))
    if weighs_terms:
        request = request.model_copy(update={"term_months": None})  # each term named, side by side
    each_shown = bool(_EACH_SHOWN.search(fold(state["text"]))) and 1 < len(memory.shown) <= 3
    compares = looks_like_comparison(state["text"]) or each_shown  # "¿a 48 meses cómo quedan los dos?"
    if request.price is None and compares and (memory.shown or vehicle) and not weighs_terms:
        # "compárame el primero y el segundo a 48 meses": side by side, each at that term.
        return cast(FinanceAnswer, answer_compare(state, catalog, memory, request.term_months))

    numbers = request.price is not None or request.down_payment is not None or request.term_months is not None
    credit_process = (
        _CREDIT_PROCESS.search(fold(state["text"])) or _REFUND.search(fold(state["text"]))
    ) and not has_constraints(classification.filters)
    if not numbers and request.down_payment_ratio is None and credit_process:
        # "¿qué necesito para el crédito? no tengo nómina": the business's own words on getting credit, even with a
        # car in view (its quote is not the answer).
        return {"agent": "finance", "reply": "", "memory": memory, "needs_price": True, "info_only": True}
    if not numbers and request.down_payment_ratio is None and _asks_terms(state["text"]) and last_quote is not None:
        # "¿enganche mínimo?" right after a quote: the terms themselves, not the same quote again.
        return {"agent": "finance", "reply": _terms_summary(tenant.finance, language), "memory": memory}
    car: ShownCar | None = None
    intro_cards: list[str] = []
    items: list[str] = []
    price = request.price
    if price is None:
        superlative = classification.filters.sort != "relevance"  # "el kwid más barato": search, not the shown one
        if classification.reference is not None and not superlative:
            car = shown[classification.reference]
        elif (has_constraints(classification.filters) or superlative) and (
            card := _named_car(classification.filters, memory, catalog)
        ):
            car = shown_entry(card)
            if not any(c["stock_id"] == card.stock_id for c in shown):
                intro_cards.append(format_card(card, 1, language))
                memory.shown = [car]
        elif memory.focus:
            car = next((c for c in shown if c["stock_id"] == memory.focus), None)
        elif len(shown) == 1:
            car = shown[0]
        elif (
            len(shown) > 1
            and not _quoted_one_of(last_quote, shown)
            and not _asks_terms(state["text"])
            and not _asks_if_financing(state["text"], request)
        ):
            # Several cars on screen and none chosen: ask which, rather than a general answer.
            return {"agent": "finance", "reply": _which_car(shown, language), "memory": memory}
        if car is not None:
            price = Decimal(str(car["price"]))
            items = [car["stock_id"]]
            memory.focus = car["stock_id"]
        elif last_quote is not None:
            price = Decimal(str(last_quote["price"]))
        # A follow-up like "¿y a 60 meses?" keeps the down payment of the last quote of the same price.
        same_price = last_quote is not None and price is not None and Decimal(str(last_quote["price"])) == price
        if same_price and last_quote and request.down_payment is None and request.down_payment_ratio is None:
            request = request.model_copy(update={"down_payment": Decimal(str(last_quote["down_payment"]))})
        elif same_price and last_quote and request.term_months is None and not weighs_terms:
            # "¿y si doy 100 mil de enganche?" after a quote at 36 months: the same term, the new down payment.
            request = request.model_copy(update={"term_months": int(last_quote["term_months"])})
    if price is None and _asks_terms(state["text"]):
        return {"agent": "finance", "reply": _terms_summary(tenant.finance, language), "memory": memory}
    if price is None and _asks_if_financing(state["text"], request) and _OFFERS_FINANCING.search(fold(state["text"])):
        # The business's own text on financing when it has one (finance_node tries it first), else the terms.
        if _CREDIT_PROCESS.search(fold(state["text"])):
            # "tengo buró malo, ¿me pueden dar crédito?": the business's own words, or that it has none on it.
            return {"agent": "finance", "reply": "", "memory": memory, "needs_price": True, "info_only": True}
        summary = _terms_summary(tenant.finance, language)
        return {"agent": "finance", "reply": summary, "memory": memory, "needs_price": True}
    if price is None and car is None and _searches(classification.filters):
        # "busco una SUV automática que no pase de 400 mil, ¿cuánto me pedirían de enganche?": the cars that fit,
        # and the terms that answer the financing question.
        found = answer_catalog(state, catalog)
        if found.get("items"):
            terms_line = _terms_summary(tenant.finance, language)
            return cast(FinanceAnswer, {**found, "reply": f"{found.get('reply', '')}\n\n{terms_line}"})
    if price is None:
        return {"agent": "finance", "reply": say("finance_need_price", language), "memory": memory, "needs_price": True}

    terms = tenant.finance
    header = [*intro_cards]
    if car is not None and not intro_cards:
        header.append(say("finance_for_car", language, car=_car_label(car)))
    try:
        quoted = quote_for(
            terms=terms,
            price=price,
            down_payment=request.down_payment,
            down_payment_ratio=request.down_payment_ratio,
            term_months=request.term_months,
        )
    except FinanceError as error:
        return {
            "agent": "finance",
            "reply": "\n".join([*header, format_finance_error(error, language)]),
            "items": items,
            "memory": memory,
        }
    except ValidationError:
        return {"agent": "finance", "reply": say("finance_need_price", language), "memory": memory}
    quote = quoted.single
    if quote is None:
        options = [q for q in quoted.quotes if q.term_months in named_terms] if weighs_terms else []
        options = options if len(options) >= 2 else quoted.quotes
        quotes_payload = [quote_payload(q) for q in options]
        memory.last_quote = quote_payload(options[0])
        reply = "\n".join([*header, format_quote_options(options, language)])
        return {"agent": "finance", "reply": reply, "items": items, "memory": memory, "quotes": quotes_payload}
    payload = quote_payload(quote)
    memory.last_quote = payload
    if no_down:
        header.insert(0, say("finance_no_zero_down", language, ratio=format_percent(terms.min_down_payment_ratio)))
    reply = "\n".join([*header, format_quote(quote, language)])
    return {"agent": "finance", "reply": reply, "items": items, "quote": payload, "memory": memory}
