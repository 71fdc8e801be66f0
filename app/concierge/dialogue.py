"""The conversation that completes a request: what is still missing, the one question to ask next, the
summary to confirm before any vendor is contacted, and how the customer's yes or no is read.

The sentences themselves are in ``app.text.wording.concierge``; this module picks and fills them.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from app.concierge.cleaning import tidy
from app.concierge.types import Item, Money, Requirements, Urgency
from app.text import money as text_money
from app.text.normalize import Language
from app.text.wording import say


def missing_fields(req: Requirements) -> list[str]:
    """Fields still to ask for, in the order to ask: items, location, then urgency and budget unless declined."""
    missing: list[str] = []
    if not req.items:
        missing.append("items")
    if req.location is None:
        missing.append("location")
    if req.urgency is None and "urgency" not in req.declined:
        missing.append("urgency")
    if req.budget is None and "budget" not in req.declined:
        missing.append("budget")
    return missing


def next_field(req: Requirements) -> str | None:
    """The one field ``next_question`` asks about, or None when the request is complete."""
    missing = missing_fields(req)
    return missing[0] if missing else None


def is_ready(req: Requirements) -> bool:
    """Whether vendors can be asked: something to look for and somewhere to look."""
    return bool(req.items) and req.location is not None


def next_question(
    req: Requirements, language: Language | None = None, *, zone_examples: Sequence[str] = ()
) -> str | None:
    """The single question to ask next (Spanish or English), or None when nothing is missing."""
    field = next_field(req)
    lang = language or req.language
    if field == "location":
        return _location_question(req, lang, zone_examples)
    if field in ("items", "urgency", "budget"):
        return say(f"concierge.ask_{field}", lang)
    return None


def _location_question(req: Requirements, lang: Language, zone_examples: Sequence[str]) -> str:
    """Where the customer needs it, saying first when the place they named is not one we cover."""
    examples = ", ".join(tidy(z, 30) for z in zone_examples[:3])
    unknown = say("concierge.location_unknown", lang, hint=req.location_hint) if req.location_hint else ""
    if examples:
        zone_line = say("concierge.location_zone_examples", lang, examples=examples)
    else:
        zone_line = say("concierge.location_neighbourhood", lang)
    return say("concierge.ask_location", lang, unknown=unknown, zone_line=zone_line)


def format_money(money: Money, language: Language = "es") -> str:
    """ "$1,200 MXN", "$45.50 USD"."""
    amount = Decimal(str(money.amount))
    if amount == text_money.to_cents(amount):  # whole cents, as every amount read from a message is
        return f"{text_money.format_money(amount)} {money.currency}"
    # A model's reading may carry more decimals: shown to the cent, never rounded up to a whole amount.
    return f"${money.amount:,.2f} {money.currency}"


def budget_text(req: Requirements, language: Language = "es") -> str | None:
    """ "$3,500 MXN c/u" / "$900 MXN" / None."""
    if req.budget is None:
        return None
    unit = say("concierge.per_unit", language) if req.budget_per_unit else ""
    return f"{format_money(req.budget, language)}{unit}"


def urgency_text(urgency: Urgency, language: Language = "es") -> str:
    """How an urgency reads in a message ("hoy", "as soon as possible")."""
    return say(f"concierge.urgency_{urgency.value}", language)


def item_line(item: Item) -> str:
    """ "2 × balatas delanteras (Jetta 2017)"."""
    text = f"{item.quantity} × {item.name}" if item.quantity and item.quantity > 1 else item.name
    return f"{text} ({item.details})" if item.details else text


def location_text(req: Requirements, language: Language = "es") -> str | None:
    """The zone name, or how a shared pin reads ("tu ubicación compartida")."""
    if req.location is None:
        return None
    if req.location.zone:
        return req.location.zone
    return say("concierge.shared_location", language)


def confirmation_text(req: Requirements, language: Language | None = None) -> str:
    """A summary of the request to confirm before any vendor is contacted."""
    lang = language or req.language
    lines = [say("concierge.confirm_header", lang)]
    lines += [f"• {item_line(item)}" for item in req.items]
    place = location_text(req, lang)
    if place:
        lines.append(say("concierge.confirm_area", lang, place=place))
    if req.urgency is not None:
        lines.append(say("concierge.confirm_when", lang, when=urgency_text(req.urgency, lang)))
    if req.budget is not None:
        lines.append(say("concierge.confirm_budget", lang, budget=budget_text(req, lang)))
    elif "budget" in req.declined:
        lines.append(say("concierge.confirm_no_budget", lang))
    lines.append(say("concierge.confirm_ask", lang))
    return "\n".join(lines)
