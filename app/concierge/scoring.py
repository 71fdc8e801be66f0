"""Scoring vendors' offers into a shortlist, and the WhatsApp texts on both sides of the outreach.

An offer's score is a weighted sum of six parts, each 0..1 (``WEIGHTS`` sums to 1):

=============  ======  ====================================================================
part           weight  1.0 when ... ; 0 when ...
=============  ======  ====================================================================
availability   0.30    in stock; on order 0.6; unclear 0.2 (a "no" is never ranked)
price          0.25    well under budget (at budget 0.6; 20 % over 0). Without a budget: the
                       cheapest offer in the batch; twice its price 0. No price 0.3
distance       0.15    within 1 km; 0 at ``max_distance_km`` (15). Unknown 0.4
delivery       0.10    by the customer's deadline (now 2 h, today 10 h, tomorrow 36 h, this week
                       168 h); twice as late 0. No deadline: sooner is better, a week 0.3. Unknown 0.5
confidence     0.10    the reply parser's confidence
speed          0.10    answered within 5 minutes; 0 after 4 hours. Unknown 0.5
=============  ======  ====================================================================

Availability and price dominate on purpose: a customer would rather walk 3 km more than hear "no hay"
on arrival, and a fast but vague reply should not beat a clear one.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.concierge.replies import VendorReply
from app.concierge.requirements import (
    Money,
    Requirements,
    Urgency,
    budget_text,
    format_money,
    item_line,
    location_text,
    urgency_text,
)
from app.text.normalize import Language

WEIGHTS: dict[str, float] = {
    "availability": 0.30,
    "price": 0.25,
    "distance": 0.15,
    "delivery": 0.10,
    "confidence": 0.10,
    "speed": 0.10,
}
MAX_DISTANCE_KM = 15.0
NEAR_KM = 1.0
FAST_REPLY_SECONDS = 300.0
SLOW_REPLY_SECONDS = 4 * 3600.0
DEADLINE_HOURS: dict[Urgency, float] = {
    Urgency.now: 2.0,
    Urgency.today: 10.0,
    Urgency.tomorrow: 36.0,
    Urgency.this_week: 168.0,
}
SHORTLIST_SIZE = 5
IN_STOCK_TARGET = 3
MAX_MESSAGE_CHARS = 1_500  # below Twilio's 1,600 so a link is never cut
MAX_MESSAGES = 2
MAX_VENDOR_NAME_CHARS = 60
MAX_VENDOR_REQUEST_CHARS = 1_200


@dataclass(frozen=True)
class Offer:
    """One vendor's parsed reply with what the shortlist needs to know about the vendor."""

    vendor_id: str | int | uuid.UUID
    vendor_name: str
    whatsapp: str  # "whatsapp:+5215512345678" or any spelling with the country code
    reply: VendorReply
    distance_km: float | None = None
    reply_seconds: float | None = None


@dataclass(frozen=True)
class RankedOffer:
    """An offer with its score and 1-based rank."""

    offer: Offer
    score: float
    rank: int


def _linear(value: float, best: float, worst: float) -> float:
    """1.0 at or better than ``best``, 0.0 at or worse than ``worst``, linear in between."""
    if value <= best:
        return 1.0
    if value >= worst:
        return 0.0
    return 1.0 - (value - best) / (worst - best)


def _availability_part(reply: VendorReply) -> float:
    if reply.available is not True:
        return 0.2 if reply.available is None else 0.0
    return 0.6 if reply.on_order else 1.0


def _price_part(
    reply: VendorReply,
    budget: Money | None,
    quantity: int | None,
    budget_per_unit: bool,
    reference_price: float | None,
) -> float:
    if reply.price is None:
        return 0.3
    if budget is not None:
        if reply.currency is not None and reply.currency != budget.currency:
            return 0.3  # no exchange rate here: neither rewarded nor punished
        cost = reply.price
        if quantity and quantity > 1 and not budget_per_unit:
            cost = reply.total_price or reply.price * quantity
        ratio = cost / budget.amount
        if ratio <= 1:
            return 0.6 + 0.4 * (1 - ratio)
        return max(0.0, 0.6 - 3.0 * (ratio - 1))
    if reference_price:
        return _linear(reply.price / reference_price, 1.0, 2.0)
    return 0.5


def _delivery_part(reply: VendorReply, urgency: Urgency | None) -> float:
    hours = reply.delivery_hours
    if hours is None:
        return 0.5
    deadline = DEADLINE_HOURS.get(urgency) if urgency is not None else None
    if deadline is not None:
        return _linear(hours, deadline, 2 * deadline)
    return 1.0 - 0.7 * min(hours, 168.0) / 168.0


def score_parts(
    reply: VendorReply,
    *,
    budget: Money | None,
    distance_km: float | None,
    reply_seconds: float | None,
    quantity: int | None = None,
    budget_per_unit: bool = False,
    urgency: Urgency | None = None,
    reference_price: float | None = None,
    max_distance_km: float = MAX_DISTANCE_KM,
) -> dict[str, float]:
    """Each part of ``score_offer`` before weighting (0..1), for explaining a ranking."""
    return {
        "availability": _availability_part(reply),
        "price": _price_part(reply, budget, quantity, budget_per_unit, reference_price),
        "distance": 0.4 if distance_km is None else _linear(distance_km, NEAR_KM, max_distance_km),
        "delivery": _delivery_part(reply, urgency),
        "confidence": reply.confidence,
        "speed": 0.5 if reply_seconds is None else _linear(reply_seconds, FAST_REPLY_SECONDS, SLOW_REPLY_SECONDS),
    }


def score_offer(
    reply: VendorReply,
    *,
    budget: Money | None,
    distance_km: float | None,
    reply_seconds: float | None,
    quantity: int | None = None,
    budget_per_unit: bool = False,
    urgency: Urgency | None = None,
    reference_price: float | None = None,
    max_distance_km: float = MAX_DISTANCE_KM,
) -> float:
    """Score 0..1 of one reply (see the module docstring for the weights); 0 when the vendor said no."""
    if reply.available is False:
        return 0.0
    parts = score_parts(
        reply,
        budget=budget,
        distance_km=distance_km,
        reply_seconds=reply_seconds,
        quantity=quantity,
        budget_per_unit=budget_per_unit,
        urgency=urgency,
        reference_price=reference_price,
        max_distance_km=max_distance_km,
    )
    return round(sum(WEIGHTS[name] * value for name, value in parts.items()), 4)


def _tie_key(item: tuple[float, Offer]) -> tuple[float, bool, float, bool, float, bool, float, str, str]:
    score, offer = item
    r = offer.reply
    return (
        -score,
        r.price is None,
        r.price or 0.0,
        offer.distance_km is None,
        offer.distance_km or 0.0,
        offer.reply_seconds is None,
        offer.reply_seconds or 0.0,
        offer.vendor_name.casefold(),
        str(offer.vendor_id),
    )


def rank_offers(
    offers: Sequence[Offer],
    *,
    budget: Money | None = None,
    quantity: int | None = None,
    budget_per_unit: bool = False,
    urgency: Urgency | None = None,
    limit: int = SHORTLIST_SIZE,
    max_distance_km: float = MAX_DISTANCE_KM,
) -> list[RankedOffer]:
    """The best ``limit`` offers that said yes, best first; ties broken by price, distance, speed, name, id."""
    usable = [o for o in offers if o.reply.available is True]
    prices = [o.reply.price for o in usable if o.reply.price is not None]
    currencies = {o.reply.currency for o in usable if o.reply.price is not None}
    reference = min(prices) if prices and len(currencies) == 1 else None
    scored = [
        (
            score_offer(
                o.reply,
                budget=budget,
                distance_km=o.distance_km,
                reply_seconds=o.reply_seconds,
                quantity=quantity,
                budget_per_unit=budget_per_unit,
                urgency=urgency,
                reference_price=reference,
                max_distance_km=max_distance_km,
            ),
            o,
        )
        for o in usable
    ]
    scored.sort(key=_tie_key)
    return [RankedOffer(offer=o, score=s, rank=i) for i, (s, o) in enumerate(scored[: max(0, limit)], start=1)]


def should_stop(
    offers: Sequence[Offer], in_stock_target: int = IN_STOCK_TARGET, *, outstanding: int | None = None
) -> bool:
    """Whether to stop waiting: ``in_stock_target`` vendors have it in stock, or nobody is left to answer."""
    if outstanding is not None and outstanding <= 0:
        return True
    vendors = {o.vendor_id for o in offers if o.reply.in_stock}
    return len(vendors) >= in_stock_target


# --- messages --------------------------------------------------------------------------------------


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
        return f"~{minutes} min"
    if hours < 48:
        return f"~{round(hours)} h"
    days = round(hours / 24)
    return f"~{days} {'days' if language == 'en' else 'días'}"


def _offer_lines(ranked: RankedOffer, language: Language, budget: Money | None) -> str:
    en = language == "en"
    o, r = ranked.offer, ranked.offer.reply
    name = _plain(o.vendor_name, MAX_VENDOR_NAME_CHARS) or ("Vendor" if en else "Negocio")
    if r.price is not None:
        price = format_money(Money(amount=r.price, currency=r.currency or "MXN"), language)
        if r.currency is None:
            price = price.rsplit(" ", 1)[0]  # the vendor did not say which currency
        if r.quantity and r.quantity > 1:
            price += " each" if en else " c/u"
        if budget is not None and r.currency == budget.currency and r.price > budget.amount:
            price += " (over your budget)" if en else " (arriba de tu presupuesto)"
    else:
        price = "price to confirm" if en else "precio por confirmar"
    if r.in_stock:
        stock = "in stock" if en else "en existencia"
    elif r.on_order:
        stock = "to order" if en else "sobre pedido"
    else:
        stock = "availability to confirm" if en else "existencia por confirmar"
    if r.quantity:
        stock += f" ({r.quantity} {'available' if en else 'disponibles'})"
    details = [stock]
    # The vendor's own words ("el jueves") read best in Spanish; an English reader gets the estimate.
    delivery = _delivery_label(r)
    if en and r.delivery_hours is not None:
        details.append(f"delivery: {_hours_label(r.delivery_hours, language)}")
    elif delivery:
        details.append(f'delivery: "{delivery}"' if en else f"entrega: {delivery}")
    elif r.delivery_hours is not None:
        details.append(f"entrega: {_hours_label(r.delivery_hours, language)}")
    if o.distance_km is not None:
        km = f"{o.distance_km:.1f}" if o.distance_km < 10 else f"{o.distance_km:.0f}"
        details.append(f"{km} km away" if en else f"a {km} km")
    lines = [f"{ranked.rank}. *{name}* — {price}", "   " + " · ".join(details)]
    with contextlib.suppress(ValueError):  # a vendor row with a bad number still shows, without a link
        lines.append(f"   {wa_me_link(o.whatsapp)}")
    return "\n".join(lines)


def format_shortlist(
    offers: Sequence[RankedOffer],
    language: Language = "es",
    *,
    item_label: str | None = None,
    asked: int | None = None,
    budget: Money | None = None,
) -> list[str]:
    """At most two WhatsApp messages (each ≤ 1,500 characters) listing the offers, or one saying nobody has it."""
    en = language == "en"
    what = _plain(item_label, 80) if item_label else None
    if not offers:
        if en:
            asked_text = f"I asked {asked} nearby businesses" if asked else "I asked nearby businesses"
            thing = f' "{what}"' if what else " it"
            return [
                f"Sorry: {asked_text} and none of them has{thing} right now. "
                "You can try another area or describe it differently and I'll ask again."
            ]
        asked_text = f"pregunté a {asked} negocios cercanos" if asked else "pregunté a negocios cercanos"
        thing = f" «{what}»" if what else ""
        return [
            f"Lo siento: {asked_text} y por ahora ninguno tiene{thing}. "
            "Puedes intentar con otra zona o describirlo de otra forma y vuelvo a preguntar."
        ]
    n = len(offers)
    if en:
        header = f"I found {n} option{'s' if n != 1 else ''}" + (f' for "{what}"' if what else "") + ":"
        footer = "Message them directly with the link. Each business confirms its own price and stock."
    else:
        header = f"Encontré {n} opci{'ones' if n != 1 else 'ón'}" + (f" para «{what}»" if what else "") + ":"
        footer = "Escríbeles directo con el enlace. Cada negocio confirma su precio y existencia."
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


def format_vendor_request(requirements: Requirements, business_name: str, language: Language = "es") -> str:
    """The one message sent to a vendor: what is needed, where and by when, how to answer, and STOP."""
    en = language == "en"
    business = _plain(business_name, 60) or ("a business" if en else "un negocio")
    lines = [
        f"Hi! This is {business}, writing on behalf of a customer. Do you have:"
        if en
        else f"¡Hola! Te escribe {business} de parte de un cliente. ¿Tienes esto?"
    ]
    items = [f"• {_plain(item_line(item), 200)}" for item in requirements.items]
    facts: list[str] = []
    place = location_text(requirements, language)
    if place and requirements.location is not None and requirements.location.zone:
        facts.append(f"{'Area' if en else 'Zona'}: {_plain(place, 60)}")
    if requirements.urgency is not None:
        facts.append(f"{'Needed' if en else 'Para'}: {urgency_text(requirements.urgency, language)}")
    budget = budget_text(requirements, language)
    if budget:
        facts.append(f"{'Budget: up to' if en else 'Presupuesto: hasta'} {budget}")
    how = (
        'Please answer in one message: yes or no, price, and when you can deliver (e.g. "yes, 850, today").'
        if en
        else "Responde en un solo mensaje: sí o no, precio y cuándo lo entregas (por ejemplo: «sí, 850, hoy»)."
    )
    stop = (
        "If you'd rather not get these requests, reply STOP."
        if en
        else "Si no quieres recibir estas consultas, responde STOP."
    )
    tail = ([" · ".join(facts)] if facts else []) + [how, stop]
    budget_left = MAX_VENDOR_REQUEST_CHARS - sum(len(x) + 1 for x in [*lines, *tail])
    shown: list[str] = []
    for i, line in enumerate(items):
        more = len(items) - i - 1
        reserve = 20 if more else 0
        if sum(len(x) + 1 for x in shown) + len(line) + 1 + reserve > budget_left:
            shown.append(f"• … {'and' if en else 'y'} {len(items) - i} {'more' if en else 'más'}")
            break
        shown.append(line)
    return "\n".join([*lines, *shown, *tail])
