"""The WhatsApp texts on both sides of the outreach: the request a vendor receives, and the shortlist
(or "nobody has it") the customer receives, each within WhatsApp's limits.

The sentences are in ``app.text.wording`` (``concierge`` for the customer, ``vendor`` for vendors);
this module picks them, fills them with the request's and the offers' facts, and fits them in.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

from app.concierge.dialogue import budget_text, format_money, item_line, location_text, urgency_text
from app.concierge.lexicon import INSTRUCTION_LIKE
from app.concierge.replies import VendorReply
from app.concierge.scoring import RankedOffer
from app.concierge.types import Item, Money, Requirements
from app.text.contacts import scrub_contacts
from app.text.normalize import Language, fold
from app.text.wording import say

MAX_MESSAGE_CHARS = 1_500  # below Twilio's 1,600 so a link is never cut
MAX_MESSAGES = 2
MAX_VENDOR_NAME_CHARS = 60
MAX_VENDOR_REQUEST_CHARS = 1_200


def wa_me_link(number: str) -> str:
    """``https://wa.me/5215512345678`` from "whatsapp:+5215512345678" (or any spelling with the country code)."""
    raw = number.strip()
    if raw.lower().startswith("whatsapp:"):
        raw = raw[len("whatsapp:") :]
    digits = re.sub(r"\D", "", raw)
    if raw.startswith("00"):
        digits = digits[2:]
    if not 8 <= len(digits) <= 15:
        raise ValueError(f"not a phone number with country code: {number!r}")
    return f"https://wa.me/{digits}"


def _plain(text: str, limit: int) -> str:
    """``text`` safe inside a WhatsApp message: no formatting marks or line breaks, capped."""
    text = re.sub(r"[*_~`]", "", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit].rstrip() if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_DELIVERY_WORDS = re.compile(
    r"^(?:(?:te |se |le )?(?:entrega|entregas|entrego|entregamos|envío|envio|envíos|envios|llega|llegan|te llega"
    r"|delivery|delivered|deliver|ships?|shipping|lo consigo|lo tengo|listo|lista|ready|disponible|available)\s+)?"
    r"(?:para\s+)?",
    re.IGNORECASE,
)


def _delivery_label(reply: VendorReply) -> str | None:
    if reply.delivery is None:
        return None
    label = _DELIVERY_WORDS.sub("", reply.delivery).strip() or reply.delivery
    return _plain(label, 50)


def _hours_label(hours: float, language: Language) -> str:
    if hours < 1:
        minutes = max(5, round(hours * 60 / 5) * 5)
        return say("concierge.eta_minutes", language, minutes=minutes)
    if hours < 48:
        return say("concierge.eta_hours", language, hours=round(hours))
    return say("concierge.eta_days", language, days=round(hours / 24))


def _price_label(reply: VendorReply, language: Language, budget: Money | None) -> str:
    """ "$850 MXN c/u (arriba de tu presupuesto)", or that the price is still to be confirmed."""
    if reply.price is None:
        return say("concierge.offer_price_unknown", language)
    price = format_money(Money(amount=reply.price, currency=reply.currency or "MXN"), language)
    if reply.currency is None:
        price = price.rsplit(" ", 1)[0]  # the vendor did not say which currency
    if reply.quantity and reply.quantity > 1:
        price += say("concierge.per_unit", language)
    if budget is not None and reply.currency == budget.currency and reply.price > budget.amount:
        price += say("concierge.offer_over_budget", language)
    return price


def _stock_label(reply: VendorReply, language: Language) -> str:
    if reply.in_stock:
        stock = say("concierge.offer_in_stock", language)
    elif reply.on_order:
        stock = say("concierge.offer_on_order", language)
    else:
        stock = say("concierge.offer_stock_unknown", language)
    if reply.quantity:
        stock += say("concierge.offer_quantity", language, quantity=reply.quantity)
    return stock


def _offer_details(ranked: RankedOffer, language: Language) -> list[str]:
    """Stock, delivery and distance of one offer."""
    o, r = ranked.offer, ranked.offer.reply
    details = [_stock_label(r, language)]
    # The vendor's own words ("el jueves") read best in Spanish; an English reader gets the estimate.
    delivery = _delivery_label(r)
    if language == "en" and r.delivery_hours is not None:
        details.append(
            say("concierge.offer_delivery_estimate", language, estimate=_hours_label(r.delivery_hours, language))
        )
    elif delivery:
        details.append(say("concierge.offer_delivery_said", language, label=delivery))
    elif r.delivery_hours is not None:
        details.append(
            say("concierge.offer_delivery_estimate", language, estimate=_hours_label(r.delivery_hours, language))
        )
    if o.distance_km is not None:
        km = f"{o.distance_km:.1f}" if o.distance_km < 10 else f"{o.distance_km:.0f}"
        details.append(say("concierge.offer_distance", language, km=km))
    return details


def _offer_lines(ranked: RankedOffer, language: Language, budget: Money | None) -> str:
    o = ranked.offer
    name = _plain(o.vendor_name, MAX_VENDOR_NAME_CHARS) or say("concierge.offer_unnamed", language)
    price = _price_label(o.reply, language, budget)
    title = say("concierge.offer_title", language, rank=ranked.rank, name=name, price=price)
    lines = [title, "   " + " · ".join(_offer_details(ranked, language))]
    with contextlib.suppress(ValueError):  # a vendor row with a bad number still shows, without a link
        lines.append(f"   {wa_me_link(o.whatsapp)}")
    return "\n".join(lines)


def _nobody_has_it(language: Language, what: str | None, asked: int | None) -> str:
    asked_text = (
        say("concierge.none_asked_count", language, asked=asked) if asked else say("concierge.none_asked", language)
    )
    thing = say("concierge.none_thing", language, what=what) if what else say("concierge.none_thing_unnamed", language)
    return say("concierge.none_found", language, asked=asked_text, thing=thing)


def format_shortlist(
    offers: Sequence[RankedOffer],
    language: Language = "es",
    *,
    item_label: str | None = None,
    asked: int | None = None,
    budget: Money | None = None,
) -> list[str]:
    """At most two WhatsApp messages (each ≤ 1,500 characters) listing the offers, or one saying nobody has it."""
    what = _plain(item_label, 80) if item_label else None
    if not offers:
        return [_nobody_has_it(language, what, asked)]
    n = len(offers)
    what_text = say("concierge.found_for", language, what=what) if what else ""
    header = say("concierge.found_one" if n == 1 else "concierge.found_many", language, n=n, what=what_text)
    footer = say("concierge.found_footer", language)
    messages: list[str] = [header]
    for ranked in offers:
        block = _offer_lines(ranked, language, budget)
        if len(messages[-1]) + 2 + len(block) <= MAX_MESSAGE_CHARS:
            messages[-1] += "\n\n" + block
        elif len(messages) < MAX_MESSAGES:
            messages.append(block[:MAX_MESSAGE_CHARS])
        else:
            break  # more offers than two messages hold: the best ones are already in
    if len(messages[-1]) + 2 + len(footer) <= MAX_MESSAGE_CHARS:
        messages[-1] += "\n\n" + footer
    return messages


def _request_facts(requirements: Requirements, language: Language) -> list[str]:
    """Zone, deadline and budget of a request, as the vendor reads them."""
    facts: list[str] = []
    place = location_text(requirements, language)
    if place and requirements.location is not None and requirements.location.zone:
        facts.append(say("vendor.request_area", language, place=_plain(place, 60)))
    if requirements.urgency is not None:
        facts.append(say("vendor.request_when", language, when=urgency_text(requirements.urgency, language)))
    budget = budget_text(requirements, language)
    if budget:
        facts.append(say("vendor.request_budget", language, budget=budget))
    return facts


def _forwardable(item: Item, region: str | None) -> str | None:
    """An item as a vendor may read it: no links, e-mail addresses or phone numbers, no instructions.

    The rules already leave these out when they read a message; this also covers what a language model
    read from it, and requests stored before the rules did.
    """
    line = _plain(scrub_contacts(item_line(item), region=region), 200).strip(" ,;:-")
    if not re.search(r"[^\W\d_]{2}", line) or INSTRUCTION_LIKE.search(fold(line)):
        return None
    return line


def format_vendor_request(
    requirements: Requirements, business_name: str, language: Language = "es", *, region: str | None = None
) -> str:
    """The one message sent to a vendor: what is needed, where and by when, how to answer, and STOP.

    ``region`` (the tenant's country) says how phone numbers without a country code are recognised.
    """
    business = _plain(business_name, 60) or say("vendor.request_unnamed_business", language)
    lines = [say("vendor.request_greeting", language, business=business)]
    forwardable = (_forwardable(item, region) for item in requirements.items)
    items = [f"• {line}" for line in forwardable if line]
    facts = _request_facts(requirements, language)
    how = say("vendor.request_how", language)
    stop = say("vendor.request_stop", language)
    tail = ([" · ".join(facts)] if facts else []) + [how, stop]
    budget_left = MAX_VENDOR_REQUEST_CHARS - sum(len(x) + 1 for x in [*lines, *tail])
    shown: list[str] = []
    for i, line in enumerate(items):
        more = len(items) - i - 1
        reserve = 20 if more else 0
        if sum(len(x) + 1 for x in shown) + len(line) + 1 + reserve > budget_left:
            shown.append(say("vendor.request_more", language, count=len(items) - i))
            break
        shown.append(line)
    return "\n".join([*lines, *shown, *tail])
