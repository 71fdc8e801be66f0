"""Ground truth for the conversation evaluation, computed from each dealer's own files at run time.

Nothing here is a hand-copied answer: the cars come from the dealer's catalog CSV (read with the
dealer's own column names), the policy facts from its company text, and quotes are recomputed with the
dealer's finance terms (numpy-financial, rounded to the cent), independently of the agent's code.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy_financial as npf

from app.text.money import spelled_numbers_to_digits

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DEMO_DATA = ROOT / "app" / "demo" / "data"
CENT = Decimal("0.01")

# Down payment shares a reply may assume when the customer gave none (besides the tenant's minimum).
ASSUMED_DOWN_RATIOS = (Decimal("0.15"), Decimal("0.2"), Decimal("0.25"), Decimal("0.3"), Decimal("0.4"), Decimal("0.5"))


def fold(text: str) -> str:
    """Lower case without accents (ñ kept as n): the form every text comparison uses."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# ---------------------------------------------------------------------------------------------- dealers


@dataclass(frozen=True)
class DealerSource:
    """Where a dealer's data lives and how its CSV names the columns the checks need."""

    slug: str
    tenant_json: Path
    catalog_csv: Path
    columns: dict[str, str]  # canonical name (stock_id, make, model, ...) -> the CSV's header
    knowledge: Path  # JSON list of {title, content} or a Markdown text
    onboard_via_api: bool


DEALERS: dict[str, DealerSource] = {
    "demo": DealerSource(
        slug="demo",
        tenant_json=DEMO_DATA / "tenant.json",
        catalog_csv=DEMO_DATA / "cars.csv",
        columns={
            "stock_id": "stock_id",
            "make": "make",
            "model": "model",
            "year": "year",
            "price": "price",
            "km": "km",
            "version": "version",
            "transmission": "transmission",
            "fuel": "fuel",
            "color": "color",
            "body": "body",
        },
        knowledge=DEMO_DATA / "knowledge.json",
        onboard_via_api=False,
    ),
    "bajio": DealerSource(
        slug="bajio",
        tenant_json=HERE / "dealers" / "bajio" / "tenant.json",
        catalog_csv=HERE / "dealers" / "bajio" / "inventario.csv",
        columns={
            "stock_id": "Folio",
            "make": "Marca",
            "model": "Modelo",
            "version": "Versión",
            "year": "Año",
            "price": "Precio",
            "km": "Kilometraje",
            "color": "Color",
            "branch": "Sucursal",
        },
        knowledge=HERE / "dealers" / "bajio" / "empresa.md",
        onboard_via_api=True,
    ),
}

NUMERIC = ("year", "price", "km")


def _number(raw: str) -> Decimal | None:
    cleaned = re.sub(r"[$\s,]|mxn|km", "", raw, flags=re.IGNORECASE)
    return Decimal(cleaned) if cleaned else None


@dataclass(frozen=True)
class Car:
    """One catalog row under canonical names (make, model, price, ... and any attribute the dealer has)."""

    stock_id: str
    values: dict[str, Any]

    @property
    def price(self) -> Decimal:
        return Decimal(self.values["price"])

    def describe(self) -> str:
        v = self.values
        extra = " ".join(str(v[k]) for k in ("version", "color", "branch") if v.get(k))
        return f"{self.stock_id} {v['make']} {v['model']} {v['year']} ${self.price:,.0f} {extra}".strip()


@dataclass
class Dealer:
    """A dealer's ground truth: its cars, finance terms and company text."""

    source: DealerSource
    tenant: dict[str, Any]
    cars: list[Car]
    knowledge_text: str
    by_id: dict[str, Car] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.source.slug

    @property
    def fields(self) -> set[str]:
        return set(self.source.columns)

    @property
    def annual_rate(self) -> Decimal:
        return Decimal(str(self.tenant.get("finance", {}).get("annual_rate", "0.139")))

    @property
    def terms(self) -> list[int]:
        return sorted(self.tenant.get("finance", {}).get("terms_months", [12, 24, 36, 48, 60, 72]))

    @property
    def min_down_ratio(self) -> Decimal:
        return Decimal(str(self.tenant.get("finance", {}).get("min_down_payment_ratio", "0.10")))

    @cached_property
    def knowledge_folded(self) -> str:
        return fold(self.knowledge_text)

    @cached_property
    def static_amounts(self) -> set[int]:
        """Amounts (whole pesos) any reply may state: catalog prices, the company text's, standard quotes."""
        amounts = {c.price for c in self.cars}
        amounts |= set(amounts_in_text(self.knowledge_text, customer=True))
        for car in self.cars:
            amounts |= self.quotes_for(car.price, ())
        return pesos(amounts)

    def quotes_for(self, price: Decimal, customer: tuple[Decimal, ...]) -> set[Decimal]:
        """Every figure of the quotes of ``price`` at each term, for each plausible down payment."""
        amounts: set[Decimal] = set()
        for down in self.down_candidates(price, customer):
            amounts.add(down)
            for term in self.terms:
                amounts |= quote_amounts(price, down, term, self.annual_rate)
        return amounts

    def affordable_prices(self, customer: tuple[Decimal, ...]) -> set[Decimal]:
        """The top price each customer amount buys as a monthly payment (the quote inverted), per term and down."""
        prices: set[Decimal] = set()
        rate = float(self.annual_rate) / 12
        for monthly in (a for a in customer if a >= 500):
            for term in self.terms:
                pv = Decimal(str(-float(npf.pv(rate, term, float(monthly))) if rate else float(monthly) * term))
                prices |= {pv + d for d in customer if d != monthly}
                # A fixed down payment is also a cap: it must be the minimum share of the price.
                if self.min_down_ratio > 0:
                    prices |= {d / self.min_down_ratio for d in customer if d != monthly}
                prices |= {pv / (1 - r) for r in (self.min_down_ratio, *ASSUMED_DOWN_RATIOS)}
                prices.add(pv)
        return prices

    def down_candidates(self, price: Decimal, customer: tuple[Decimal, ...]) -> set[Decimal]:
        ratios = (self.min_down_ratio, *ASSUMED_DOWN_RATIOS)
        downs = {(price * r).quantize(CENT, rounding=ROUND_CEILING) for r in ratios}
        downs |= {(price * r).quantize(CENT, rounding=ROUND_HALF_UP) for r in ratios}
        downs |= {a for a in customer if a < price}
        downs |= {(price * a / 100).quantize(CENT) for a in customer if 0 < a < 100}
        return downs


def load_dealer(slug: str) -> Dealer:
    """Read a dealer's files into ground truth."""
    source = DEALERS[slug]
    tenant = json.loads(source.tenant_json.read_text(encoding="utf-8"))
    cars: list[Car] = []
    with source.catalog_csv.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            values: dict[str, Any] = {}
            for name, header in source.columns.items():
                raw = (row.get(header) or "").strip()
                if name in NUMERIC:
                    values[name] = _number(raw) if raw else None
                    if name in ("year", "km") and values[name] is not None:
                        values[name] = int(values[name])
                else:
                    values[name] = raw or None
            cars.append(Car(stock_id=str(values["stock_id"]), values=values))
    raw_text = source.knowledge.read_text(encoding="utf-8")
    if source.knowledge.suffix == ".json":
        text = "\n\n".join(f"{e['title']}\n{e['content']}" for e in json.loads(raw_text))
    else:
        text = raw_text
    dealer = Dealer(source=source, tenant=tenant, cars=cars, knowledge_text=text)
    dealer.by_id = {c.stock_id: c for c in cars}
    return dealer


# ---------------------------------------------------------------------------------------------- constraints

RANGES: dict[str, tuple[str, Callable[[Decimal, Decimal], bool]]] = {
    "price_max": ("price", lambda v, lim: v <= lim),
    "price_min": ("price", lambda v, lim: v >= lim),
    "year_min": ("year", lambda v, lim: v >= lim),
    "year_max": ("year", lambda v, lim: v <= lim),
    "km_max": ("km", lambda v, lim: v <= lim),
}
SORTS = {"price_asc", "price_desc", "year_desc", "km_asc"}
EXACT = {"make", "model", "year"}  # everything else matches as a folded substring ("gris" in "Gris Plata")


def constraint_fields(constraints: dict[str, Any]) -> set[str]:
    """The catalog fields a constraint set reads."""
    names: set[str] = set()
    for key in constraints:
        if key == "sort":
            continue
        names.add(RANGES[key][0] if key in RANGES else key)
    return names


def _norm_model(value: str) -> str:
    return re.sub(r"[\s\-]+", "", fold(value))


def meets(car: Car, constraints: dict[str, Any]) -> bool:
    """Whether ``car`` satisfies every constraint (``sort`` is ignored here)."""
    for key, wanted in constraints.items():
        if key == "sort":
            continue
        if key in RANGES:
            column, ok = RANGES[key]
            value = car.values.get(column)
            if value is None or not ok(Decimal(value), Decimal(str(wanted))):
                return False
            continue
        value = car.values.get(key)
        if value is None:
            return False
        options = wanted if isinstance(wanted, list) else [wanted]
        if key in EXACT:
            if not any(_norm_model(str(value)) == _norm_model(str(o)) for o in options):
                return False
        elif not any(fold(str(o)) in fold(str(value)) for o in options):
            return False
    return True


def sort_value(car: Car, order: str) -> float:
    v = car.values
    return {
        "price_asc": float(car.price),
        "price_desc": -float(car.price),
        "year_desc": -float(v["year"]),
        "km_asc": float(v["km"]) if v.get("km") is not None else float("inf"),
    }[order]


def matching(dealer: Dealer, constraints: dict[str, Any]) -> list[Car]:
    """The dealer's cars meeting ``constraints``, in its ``sort`` order when one is given."""
    cars = [c for c in dealer.cars if meets(c, constraints)]
    order = constraints.get("sort")
    if order:
        cars.sort(key=lambda c: sort_value(c, order))
    return cars


# ---------------------------------------------------------------------------------------------- quotes


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def recompute_quote(price: Decimal, down: Decimal, term: int, annual_rate: Decimal) -> dict[str, Decimal]:
    """A level-payment loan quote (numpy-financial pmt), every field rounded to the cent."""
    price, down = to_cents(price), to_cents(down)
    financed = price - down
    rate = float(annual_rate) / 12
    raw = float(financed) / term if rate == 0 else -float(npf.pmt(rate, term, float(financed)))
    monthly = to_cents(Decimal(str(raw)))
    installments = monthly * term
    return {
        "price": price,
        "down_payment": down,
        "amount_financed": financed,
        "monthly_payment": monthly,
        "total_paid": down + installments,
        "total_interest": installments - financed,
    }


def quote_amounts(price: Decimal, down: Decimal, term: int, annual_rate: Decimal) -> set[Decimal]:
    q = recompute_quote(price, down, term, annual_rate)
    return {v for k, v in q.items()}


def minimum_down(dealer: Dealer, price: Decimal) -> Decimal:
    return (to_cents(price) * dealer.min_down_ratio).quantize(CENT, rounding=ROUND_CEILING)


# ---------------------------------------------------------------------------------------------- amounts

_UNIT = {"mil": Decimal(1000), "k": Decimal(1000), "millon": Decimal(1_000_000), "millones": Decimal(1_000_000)}
_MONEY_IN_REPLY = re.compile(
    r"\$\s?(?P<a>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<c>\d{1,2}))?(?:\s?(?P<u>mil\b|k\b|millones\b|millon\b))?"
    r"|(?P<b>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<d>\d{1,2}))?\s?(?:mxn|pesos)\b",
    re.IGNORECASE,
)
_CUSTOMER_NUMBER = re.compile(
    r"(?P<n>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s?(?P<u>mil\b|k\b|millones\b|millon\b)?", re.IGNORECASE
)


def amounts_in_reply(reply: str) -> list[tuple[str, Decimal]]:
    """Money amounts a reply states ($ or MXN/pesos), as (text, value)."""
    found: list[tuple[str, Decimal]] = []
    for m in _MONEY_IN_REPLY.finditer(fold(reply)):
        whole = m.group("a") or m.group("b")
        cents = m.group("c") or m.group("d") or "0"
        value = Decimal(whole.replace(",", "")) + Decimal(f"0.{cents}")
        unit = m.group("u")
        if unit:
            value *= _UNIT[unit.lower()]
        found.append((m.group(0), value))
    return found


def amounts_in_text(text: str, *, customer: bool = False) -> list[Decimal]:
    """Every number a customer (or a company text) wrote, with 'mil'/'k'/'millones' applied."""
    values: list[Decimal] = []
    folded = spelled_numbers_to_digits(fold(text)) if customer else fold(text)  # "cinco mil al mes"
    for m in _CUSTOMER_NUMBER.finditer(folded):
        value = Decimal(m.group("n").replace(",", ""))
        unit = m.group("u")
        if unit:
            value *= _UNIT[unit.lower()]
        values.append(value)
    return values if customer else [v for v in values if v >= 100]


def pesos(amounts: set[Decimal]) -> set[int]:
    """Amounts as whole pesos (the unit replies are compared in)."""
    return {int(a.quantize(Decimal(1), rounding=ROUND_HALF_UP)) for a in amounts}


def explained(value: Decimal, allowed: set[int]) -> bool:
    """Whether a stated amount is one of the allowed ones, to the peso (replies may drop the cents)."""
    whole = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return any(whole + d in allowed for d in (-1, 0, 1))
