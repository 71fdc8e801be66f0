"""Synonyms applied at retrieval: a built-in lexicon per language (es, en) plus the tenant's own groups.

Customers and companies name the same things differently: a customer asks for the "sucursal", the
"agencia" or the "enganche"; the dealer's text says "sede" and "pago inicial". Each concept below lists
its words and phrases in Spanish and in English. A question's word or phrase found in a concept brings
the concept's other terms of the same language as equal alternatives, and its terms in the other
language as slightly weaker ones (an English question over a Spanish-only company text still finds its
passage). A tenant adds groups of its own (``knowledge_synonyms``): all terms of a group are equal.

Terms are folded (lower case, no accents) word sequences; plural and verb forms a customer types are
listed, the stemmer takes care of the company text's side. Phrases match as phrases in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.text.normalize import fold

SYNONYM_WEIGHT = 0.9  # a synonym: a little weaker than the customer's own word, so a literal match wins ties
TRANSLATION_WEIGHT = 0.8  # a term of the other language (used only when the tenant has no text in the question's)
MAX_PHRASE_WORDS = 4
MAX_ALTERNATIVES = 10

Concept = dict[str, tuple[str, ...]]

CONCEPTS: tuple[Concept, ...] = (
    {
        "es": (
            "sucursal",
            "sucursales",
            "agencias",  # the plural: branches ("agencia" alone is as often the company itself)
            "en que agencia",  # ... but "¿en qué agencia?" asks which branch
            "cual agencia",
            "que agencia",
            "sede",
            "sedes",
            "tienda",
            "tiendas",
            "lote",
            "lotes",
            "concesionaria",
            "concesionario",
            "matriz",
            "piso de venta",
            "piso de ventas",
        ),
        "en": (
            "branch",
            "branches",
            "location",
            "locations",
            "dealership",
            "dealerships",
            "store",
            "stores",
            "showroom",
            "lot",
        ),
    },
    {
        "es": ("enganche", "enganches", "pago inicial", "anticipo", "de entrada", "dar de entrada", "pago de entrada"),
        "en": ("down payment", "downpayment", "initial payment"),
    },
    {
        "es": (
            "credito",
            "creditos",
            "financiamiento",
            "financiamientos",
            "financiar",
            "financian",
            "financiado",
            "financiera",
            "financieras",
            "prestamo",
            "prestamos",
            "plan de pagos",
        ),
        "en": ("credit", "financing", "finance", "financed", "loan", "loans", "payment plan"),
    },
    {
        "es": (
            "apartar",
            "apartado",
            "apartarlo",
            "apartarla",
            "apartan",
            "aparto",
            "apartas",
            "apartame",
            "apartenmelo",
            "reservar",
            "reserva",
            "reservacion",
            "reservarlo",
            "separar",
            "separarlo",
            "deposito",
            "depositos",
        ),
        "en": ("reserve", "reservation", "hold", "put on hold", "deposit", "deposits"),
    },
    {
        "es": (
            "a cuenta",
            "auto a cuenta",
            "carro a cuenta",
            "coche a cuenta",
            "toma de auto",
            "toma de autos",
            "toma de vehiculo",
            "toma de tu auto",
            "intercambio",
            "permuta",
            "parte de pago",
            "como enganche",
        ),
        "en": ("trade in", "tradein", "trade ins", "part exchange"),
    },
    {
        "es": ("mensualidad", "mensualidades", "pago mensual", "pagos mensuales", "abono", "abonos", "letras"),
        "en": ("monthly payment", "monthly payments", "installment", "installments"),
    },
    {
        "es": ("seguro", "seguros", "aseguranza", "poliza"),
        "en": ("insurance", "insured"),
    },
    {
        "es": ("garantia", "garantias"),
        "en": ("warranty", "warranties", "guarantee", "guaranty"),
    },
    {
        "es": ("prueba de manejo", "pruebas de manejo", "manejarlo", "probarlo", "test drive"),
        "en": ("test drive", "test drives", "testdrive"),
    },
    {
        "es": ("seminuevo", "seminuevos", "usado", "usados", "de segunda mano"),
        "en": ("used", "pre owned", "preowned", "second hand", "secondhand"),
    },
    {
        "es": ("requisitos", "documentos", "documentacion", "papeles", "papeleria", "tramites"),
        "en": ("requirements", "documents", "paperwork", "papers", "docs"),
    },
    {
        "es": ("descuento", "descuentos", "promocion", "promociones", "promo", "promos", "rebaja", "rebajas"),
        "en": ("discount", "discounts", "promotion", "promotions", "promo", "deal", "deals"),
    },
    {
        # Returning the car and getting money back are two groups: "regresar el carro" is not a deposit refund.
        "es": (
            "devolucion",
            "devoluciones",
            "devolver",
            "devolverlo",
            "regresar",
            "regresarlo",
            "regresarla",
            "regreso",
            "devolverla",
            "no me gusta",
            "no me convence",
            "no me convencio",
            "me arrepiento",
            "arrepentirme",
        ),
        "en": ("return", "returns", "give back", "change my mind", "don't like it", "not happy with"),
    },
    {
        "es": ("reembolso", "reembolsos", "devolucion del dinero", "devolucion de dinero", "devuelven el dinero"),
        "en": ("refund", "refunds", "money back"),
    },
    {
        "es": ("telefono", "celular", "whatsapp", "numero de telefono", "contacto"),
        "en": ("phone", "phone number", "whatsapp", "contact"),
    },
    {
        # Where the business is: the text gives a street ("4100 Harbor Drive", "Av. Ejército Nacional").
        # Not "dirección": it is also the steering of a car ("frenos, suspensión, dirección").
        "es": ("ubicacion", "ubicaciones", "como llegar"),
        "en": ("address", "addresses", "location", "directions", "located"),
    },
    {
        "es": ("horario", "horarios", "hora de apertura"),
        "en": ("hours", "opening hours", "schedule", "business hours"),
    },
    {
        "es": ("estacionamiento", "estacionamientos", "cajon de estacionamiento"),
        "en": ("parking", "car park"),
    },
    {
        # Asking whether a way of paying is accepted asks for the payment methods.
        "es": (
            "formas de pago",
            "forma de pago",
            "metodos de pago",
            "medios de pago",
            "aceptan tarjeta",
            "aceptan tarjetas",
            "pagar con tarjeta",
            "pago con tarjeta",
            "aceptan efectivo",
            "aceptan transferencia",
        ),
        "en": ("payment methods", "payment method", "ways to pay", "pay by card", "pay with card", "accept cards"),
    },
    {
        "es": ("efectivo", "en efectivo", "billetes"),
        "en": ("cash", "in cash"),
    },
    {
        "es": ("tarjeta de credito", "tarjetas de credito", "tdc", "tarjeta"),
        "en": ("credit card", "credit cards", "card"),
    },
    {
        "es": ("meses sin intereses", "msi"),
        "en": ("interest free months", "interest free"),
    },
    {
        "es": ("buro", "buro de credito", "historial crediticio"),
        "en": ("credit history", "credit score", "credit bureau"),
    },
    {
        "es": ("tenencia", "tenencias", "refrendo", "refrendos"),
        "en": ("vehicle tax", "registration tax"),
    },
    {
        "es": ("traspaso", "cambio de propietario", "cambio de dueno", "cambio de dueño"),
        "en": ("title transfer", "change of ownership"),
    },
    {
        "es": (
            "desde cuando",
            "existen",
            "fundada",
            "fundado",
            "fundaron",
            "fundacion",
            "empezaron",
            "empezamos",
            "iniciaron",
            "historia",
            "trayectoria",
            "nacimos",
            "nacieron",
            "anos de experiencia",
        ),
        "en": ("since when", "founded", "established", "history", "how long have you been"),
    },
    {
        "es": ("plazo", "plazos"),
        "en": ("term", "terms", "loan term"),
    },
    {
        "es": ("maximo", "mas largo"),
        "en": ("longest", "maximum", "max"),
    },
    {
        "es": ("minimo", "minima", "lo menos"),
        "en": ("minimum", "lowest", "min"),
    },
    {
        "es": ("tasa", "tasa de interes", "interes", "intereses"),
        "en": ("rate", "interest rate", "interest", "apr"),
    },
    {
        "es": ("entrega a domicilio", "envio a domicilio", "a domicilio"),
        "en": ("home delivery", "deliver", "delivery"),
    },
    {
        "es": (
            "envio",
            "envios",
            "enviar",
            "envian",
            "enviamos",
            "madrina",
            "otros estados",
            "otro estado",
            "foraneo",
            "foraneos",
            # how customers ask it: "¿mandan autos a Tabasco?", "¿me la pueden mandar a Mérida?"
            "mandan autos",
            "mandan carros",
            "mandan coches",
            "me lo mandan",
            "me la mandan",
            "me lo pueden mandar",
            "me la pueden mandar",
            "lo mandan a",
            "la mandan a",
        ),
        "en": ("shipping", "ship", "ships", "shipped", "out of state", "other states"),
    },
)

# Bridges: words that find a passage in other words or the other language ("open on sundays?" → "abre los
# domingos"), but do not name a topic the passage must mention (``named_concepts`` skips them): "¿cuánto dura
# la revisión?" is answered by "dura alrededor de 40 minutos... Revisamos", which says neither "revisión" nor
# "inspección".
BRIDGES: tuple[Concept, ...] = (
    {
        "es": ("vigencia", "valida", "valido", "vigente", "caduca", "vence", "expira"),
        "en": ("valid", "validity", "expires", "expiry", "good for"),
    },
    # How long something takes: "¿cuánto tardan en aprobar?" is answered by the text's "tiempo de respuesta".
    {
        "es": (
            "cuanto tardan",
            "cuanto tarda",
            "cuanto tiempo",
            "que tan rapido",
            "tiempo de respuesta",
            "tardan",
            "cuanto dura",
            "dura",
        ),
        "en": ("how long", "how fast", "how quickly", "turnaround", "response time"),
    },
    # Days and opening: an English question over a Spanish-only text ("open on sundays?" → "abre los domingos").
    {"es": ("domingo", "domingos"), "en": ("sunday", "sundays")},
    {"es": ("sabado", "sabados"), "en": ("saturday", "saturdays")},
    {"es": ("lunes a viernes", "entre semana"), "en": ("weekday", "weekdays", "monday to friday")},
    {"es": ("dias festivos", "festivo", "festivos"), "en": ("holiday", "holidays", "public holiday")},
    {"es": ("abren", "abre", "abierto", "abierta", "abiertos"), "en": ("open", "opens", "opening")},
    {"es": ("cerrado", "cerrada", "cierran", "cierra"), "en": ("closed", "close", "closes")},
    {"es": ("avaluo", "avaluos", "valuacion", "tasacion"), "en": ("appraisal", "appraise", "valuation")},
    {
        "es": (
            "trasladar",
            "traslado",
            "traslados",
            # How customers ask it: "¿me la pueden traer a Monterrey?", "¿la mueven a otra sede?"
            "me la pueden traer",
            "me lo pueden traer",
            "me la traen",
            "me lo traen",
            "traermela",
            "traermelo",
            "me la llevan a",
            "me lo llevan a",
            "me la pueden pasar",
            "me lo pueden pasar",
            "moverla",
            "moverlo",
            "otra sucursal",
            "otra sede",
        ),
        "en": ("transfer", "ship", "shipping", "move the car", "bring it", "move it"),
    },
    {"es": ("llantas", "llanta", "neumaticos"), "en": ("tires", "tire", "tyres", "tyre")},
    {"es": ("factura", "facturas", "papeles en regla"), "en": ("invoice", "title", "clean title")},
    {"es": ("inspeccion", "revision", "puntos de inspeccion"), "en": ("inspection", "inspected", "checkup")},
)

_TERM = re.compile(r"[a-z0-9ñ]+")


def normalize_term(term: str) -> str:
    """A term as the lexicon keys it: folded words separated by one space ("Pago  Inicial" → "pago inicial")."""
    return " ".join(_TERM.findall(fold(term)))


@dataclass(frozen=True, slots=True)
class _Group:
    terms: dict[str, str] = field(default_factory=dict)  # term -> its language ("" for a tenant's group)
    topic: bool = True  # False for a bridge: it expands a search but names no topic


@dataclass(slots=True)
class Lexicon:
    """Terms → the groups they belong to; ``alternatives`` gives what a question's term expands to."""

    groups: list[_Group] = field(default_factory=list)
    index: dict[str, list[int]] = field(default_factory=dict)

    def add(self, terms: dict[str, str], *, topic: bool = True) -> None:
        """Add one group of equivalent terms (term → language, "" when it has none); ``topic=False`` for a bridge."""
        group = _Group({t: lang for t, lang in terms.items() if t}, topic=topic)
        if len(group.terms) < 2:
            return
        self.groups.append(group)
        for term in group.terms:
            self.index.setdefault(term, []).append(len(self.groups) - 1)

    def lookup(self, term: str) -> list[int]:
        """Groups of ``term``, also through a plural or verb ending a customer types ("sedes", "apartan")."""
        for form in (term, term[:-1] if term.endswith("s") else "", term[:-2] if term.endswith("es") else ""):
            if form and form in self.index:
                return self.index[form]
        return []

    def alternatives(self, term: str, language: str, *, translate: bool = False) -> list[tuple[str, float]]:
        """The terms ``term`` expands to, with weights; the other language's only when ``translate``."""
        found: dict[str, float] = {}
        for number in self.lookup(term):
            for other, lang in self.groups[number].terms.items():
                if lang not in ("", language) and not translate:
                    continue
                weight = SYNONYM_WEIGHT if lang in ("", language) else TRANSLATION_WEIGHT
                if other != term and found.get(other, 0.0) < weight:
                    found[other] = weight
        # A plural of a word already there adds nothing: the text's side is stemmed.
        kept = {t: w for t, w in found.items() if not (_singular(t) & ({term} | set(found)) - {t})}
        ranked = sorted(kept.items(), key=lambda kv: (-kv[1], " " in kv[0], kv[0]))
        own = [kv for kv in ranked if kv[1] >= SYNONYM_WEIGHT][:MAX_ALTERNATIVES]
        return own + [kv for kv in ranked if kv[1] < SYNONYM_WEIGHT][: MAX_ALTERNATIVES - len(own) // 2]

    def phrase_at(self, tokens: Sequence[str], start: int) -> str | None:
        """The longest multi-word term of the lexicon starting at ``tokens[start]``."""
        for size in range(min(MAX_PHRASE_WORDS, len(tokens) - start), 1, -1):
            phrase = " ".join(tokens[start : start + size])
            if self.lookup(phrase):
                return phrase
        return None


def _singular(term: str) -> set[str]:
    """What ``term`` may be the plural of ("sedes" → "sede", "sed"; "pagos iniciales" untouched)."""
    if " " in term or not term.endswith("s"):
        return set()
    return {term[:-1], term[:-2]} if term.endswith("es") else {term[:-1]}


def _builtin() -> Lexicon:
    lexicon = Lexicon()
    for concepts, topic in ((CONCEPTS, True), (BRIDGES, False)):
        for concept in concepts:
            terms: dict[str, str] = {}
            for language, words in concept.items():
                for word in words:
                    terms.setdefault(normalize_term(word), language)
            lexicon.add(terms, topic=topic)
    return lexicon


BUILTIN = _builtin()


def lexicon_with(tenant_groups: Iterable[Sequence[str]]) -> Lexicon:
    """The built-in lexicon plus a tenant's groups (each a list of equivalent terms, any language)."""
    groups = [g for g in tenant_groups if g]
    if not groups:
        return BUILTIN
    lexicon = Lexicon(groups=list(BUILTIN.groups), index={k: list(v) for k, v in BUILTIN.index.items()})
    for group in groups:
        lexicon.add({normalize_term(t): "" for t in group})
    return lexicon


def named_concepts(text: str, lexicon: Lexicon = BUILTIN) -> list[set[str]]:
    """The lexicon's concepts a question names ("descuento" → the discount group), each as all its terms."""
    tokens = re.findall(r"[a-z0-9ñ']+", fold(text))
    found: list[set[str]] = []
    seen: set[int] = set()
    position = 0
    while position < len(tokens):
        phrase = lexicon.phrase_at(tokens, position)
        term = phrase if phrase is not None else tokens[position]
        position += len(phrase.split()) if phrase is not None else 1
        for number in lexicon.lookup(term):
            if number not in seen and lexicon.groups[number].topic:
                seen.add(number)
                found.append(set(lexicon.groups[number].terms))
    return found


def covers(passage: str, terms: Iterable[str]) -> bool:
    """Whether ``passage`` says any of ``terms`` (a word's plural or other ending counts: "descuentos")."""
    text = " ".join(re.findall(r"[a-z0-9ñ']+", fold(passage)))  # "Trade-ins" says "trade ins"
    for term in terms:
        stem = term[:-1] if len(term) > 4 and term.endswith("s") else term
        if len(stem) >= 7 and " " not in stem and stem[-1] in "aeo":
            stem = stem[:-1]  # "reembolso" is said "reembolsamos", "garantía" "garantizamos"
        if re.search(rf"(?<![a-z0-9ñ]){re.escape(stem)}", text):
            return True
    return False
