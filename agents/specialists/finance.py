"""Finance specialist: amortized-loan quotes for a price or a car the customer saw."""

from __future__ import annotations

from decimal import Decimal

from pydantic import ValidationError

from agents.classify import has_constraints
from agents.memory import ShownCar
from agents.specialists.catalog import shown_entry
from agents.state import TurnState, TurnUpdate
from app.catalog.cards import car_name, format_card
from app.catalog.search import search_catalog
from app.catalog.service import LoadedCatalog
from app.finance.parsing import parse_finance_request, parse_term_followup
from app.finance.service import (
    FinanceError,
    format_finance_error,
    format_quote,
    format_quote_options,
    quote_for,
    quote_payload,
)
from app.text.wording import say


def _car_label(car: ShownCar) -> str:
    name = car_name(str(car["make"]), str(car["model"]))
    return " ".join(str(p) for p in (name, car.get("version") or "", car["year"]) if p)


class FinanceAnswer(TurnUpdate, total=False):
    """The finance specialist's update; ``needs_price`` asks the graph to try the business's own answer first."""

    needs_price: bool


def answer_finance(state: TurnState, catalog: LoadedCatalog) -> FinanceAnswer:
    """Quote the car or price the customer means; a table of all terms when no term was given."""
    tenant = state["tenant"]
    language = state["language"]
    memory = state["memory"].model_copy(deep=True)
    classification = state["classification"]
    shown = memory.shown
    request = parse_finance_request(state["text"])
    last_quote = memory.last_quote
    if request.term_months is None and last_quote is not None:
        # "¿y a 60?" right after a quote: a bare number is the new term.
        followup = parse_term_followup(state["text"])
        if followup is not None:
            request = request.model_copy(update={"term_months": followup})

    car: ShownCar | None = None
    intro_cards: list[str] = []
    items: list[str] = []
    price = request.price
    if price is None:
        if classification.reference is not None:
            car = shown[classification.reference]
        elif has_constraints(classification.filters) and (classification.filters.make or classification.filters.model):
            found = search_catalog(catalog.frame, classification.filters.model_copy(update={"limit": 1}))
            if found.items and not found.relaxed:
                card = found.items[0]
                car = shown_entry(card)
                intro_cards.append(format_card(card, 1, language))
                memory.shown = [car]
        elif memory.focus:
            car = next((c for c in shown if c["stock_id"] == memory.focus), None)
        elif len(shown) == 1:
            car = shown[0]
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
        quotes_payload = [quote_payload(q) for q in quoted.quotes]
        memory.last_quote = quote_payload(quoted.quotes[0])
        reply = "\n".join([*header, format_quote_options(quoted.quotes, language)])
        return {"agent": "finance", "reply": reply, "items": items, "memory": memory, "quotes": quotes_payload}
    payload = quote_payload(quote)
    memory.last_quote = payload
    reply = "\n".join([*header, format_quote(quote, language)])
    return {"agent": "finance", "reply": reply, "items": items, "quote": payload, "memory": memory}
