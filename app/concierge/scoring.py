"""Scoring vendors' offers into a shortlist (the texts that carry it are in ``app.concierge.messages``).

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

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.concierge.replies import VendorReply
from app.concierge.types import Money, Urgency

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
