"""Rule-based intent classification for the offline tier.

Returns structured intents with a confidence, the same shape the LLM classifier will produce, so
routing does not care which tier classified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agents.memory import ConversationMemory, ShownCar, as_memory, pick_by_traits
from app.catalog.intent import (
    asks_about_column,
    looks_like_catalog_query,
    looks_like_comparison,
    mentions_other_topic,
)
from app.catalog.keys import name_key
from app.catalog.lexicon import BRANCH_COLUMNS
from app.catalog.parsing import parse_catalog_query
from app.catalog.schemas import CatalogFilters
from app.catalog.vocabulary import CatalogVocabulary
from app.finance.parsing import looks_like_finance_query, parse_term_followup
from app.text.answers import declines_contact, is_closing, is_plain_yes
from app.text.complaints import is_complaint
from app.text.normalize import fold, words

_HANDOFF = re.compile(
    r"\b(asesor|asesora|ejecutivo|vendedor|vendedora|humano|una persona|persona real|alguien real|"
    r"hablar con alguien|agente|operador|gerente|human|real person|someone real|representative|"
    r"sales ?person|advisor|adviser|speak to someone|talk to someone|speak with someone|talk to a person|"
    r"customer service|atencion a clientes|llamenme|llamame|call me|"
    r"(?:que )?(?:alguien |un asesor |una persona )?me (?:llame|llamen|marque|marquen|contacte|contacten)|"
    r"marquenme|contactenme|una llamada|call me back|give me a call|have someone call|someone (?:to )?call|"
    # "pásame con alguien de verdad", "put me through to someone"
    r"(?:pasame|paseme|pasenme|comunicame|comuniqueme) con (?:alguien|una persona|un humano|quien sea)|"
    r"alguien de verdad|persona de verdad|(?:a|an) (?:actual|live) (?:person|human))\b"
)
# An explicit request for a person, as opposed to a person merely named ("el asesor nunca me llamó").
_ASKS_FOR_PERSON = re.compile(
    r"\b(?:quiero|quisiera|necesito|ocupo|me gustaria|pasame|paseme|pasenme|comunicame|comuniqueme|comuniquenme|"
    r"me comunicas|me pasas|hablar con|platicar con|llamenme|llamame|marquenme|contactenme|"
    r"(?:que )?(?:alguien|una persona) me (?:llame|marque|contacte)|call me|talk to|speak (?:to|with)|get me|"
    r"connect me|put me through|i want|i need)\b"
)
_GREETING = {
    "hola",
    "holi",
    "buenas",
    "buenos",
    "buen",
    "dias",
    "dia",
    "tardes",
    "noches",
    "que",
    "tal",
    "hi",
    "hello",
    "hey",
    "good",
    "morning",
    "afternoon",
    "evening",
    "saludos",
    "ola",
    "qué",
    "onda",
    "yo",
    "there",
}
_THANKS = re.compile(
    r"\b(gracias|grax|mil gracias|thank you|thanks|thx|ty|muy amable|perfecto gracias|le agradezco|te agradezco"
    r"|se lo agradezco|dios (?:la|lo|te|les) bendiga)\b"
)
# Words that only dress up a thanks ("muchas gracias, muy amable de su parte, saludos").
# Courtesies around a greeting ("disculpe usted la molestia").
_POLITE = frozenset({"disculpe", "disculpa", "usted", "la", "molestia", "perdon", "perdone", "que", "pena"})
_COURTESY_WORDS = frozenset(
    {
        "que",
        "la",
        "agradezco",
        "bendiga",
        "dios",
        "le",
        "lo",
        "mucho",
        "a",
        "all",
        "amable",
        "amables",
        "appreciate",
        "atencion",
        "atenta",
        "atento",
        "ayuda",
        "bendiciones",
        "buen",
        "buena",
        "buenas",
        "day",
        "de",
        "dia",
        "dias",
        "el",
        "excelente",
        "for",
        "gracias",
        "grax",
        "great",
        "have",
        "help",
        "igualmente",
        "info",
        "informacion",
        "information",
        "it",
        "kind",
        "mil",
        "much",
        "muchas",
        "muy",
        "nice",
        "noche",
        "noches",
        "ok",
        "okay",
        "parte",
        "perfecto",
        "por",
        "quedo",
        "saludos",
        "so",
        "su",
        "tarde",
        "tardes",
        "thank",
        "thanks",
        "the",
        "toda",
        "todo",
        "tu",
        "usted",
        "ustedes",
        "va",
        "vale",
        "very",
        "you",
        "your",
    }
)
_HELP = re.compile(
    r"\b(ayuda|help|menu|opciones|que puedes hacer|que haces|what can you do|how does this work|como funciona)\b"
)
ORDINALS: dict[str, int] = {
    "primero": 0,
    "primer": 0,
    "primera": 0,
    "first": 0,
    "1ro": 0,
    "1st": 0,
    "uno": 0,
    "segundo": 1,
    "segunda": 1,
    "second": 1,
    "2do": 1,
    "2nd": 1,
    "dos": 1,
    "tercero": 2,
    "tercer": 2,
    "tercera": 2,
    "third": 2,
    "3ro": 2,
    "3rd": 2,
    "tres": 2,
    "cuarto": 3,
    "cuarta": 3,
    "fourth": 3,
    "4th": 3,
    "quinto": 4,
    "quinta": 4,
    "fifth": 4,
    "5th": 4,
    "ultimo": -1,
    "ultima": -1,
    "last": -1,
}
# Number words that are ordinals only after a pointer word ("el dos", "option 2").
BARE_NUMBERS = frozenset({"uno", "dos", "tres"})
_REFERENCE_CONTEXT = re.compile(r"\b(el|la|ese|esa|este|esta|the|that|this|numero|number|opcion|option|#)\s*$")
# Comparative only: "el más barato" / "los más baratos" (with an article) is a superlative, i.e. a sort.
_CHEAPER = re.compile(
    r"(?<!\bel )(?<!\bla )(?<!\blos )(?<!\blas )(?<!\blo )"
    r"\b(mas barat[oa]s?|mas economic[oa]s?|cheaper|less expensive|lower price)\b"
)
_WHERE = re.compile(
    r"\b(?:donde (?:queda\w*|esta\w*|se (?:encuentra\w*|ubica\w*)|ubica\w*|los encuentro|l[oa]s? veo)"
    r"|(?:en )?que direccion|como llego|where(?:'s| is| are| r)|how do i get to|what'?s the address)\b"
)
_MORE = re.compile(
    r"\b(otr[oa]s|mas opciones|more options|other ones|others|show me more|more cars|algo mas"
    r"|any other [a-z]+s|other [a-z]+s)\b"
)


@dataclass(frozen=True)
class Intent:
    """One thing the customer wants, with the classifier's confidence (0..1)."""

    name: str
    confidence: float


@dataclass(frozen=True)
class Classification:
    """The classifier's output for one turn."""

    intents: list[Intent]
    filters: CatalogFilters
    reference: int | None  # index into the cars shown last turn

    @property
    def primary(self) -> Intent:
        """The intent routed to."""
        return self.intents[0]


# "y el otro", "the other one": of two cars on screen, the one not in focus.
_OTHER_ONE = re.compile(r"^(?:y |and |e )?(?:el |la |the )?(?:otr[oa]|other(?: one)?)\s*\??$")


OTHER_NAMED = re.compile(r"\b(?:el|la|the) (?:otr[oa]|other) ([a-z0-9ñ]{2,})\b")


def resolve_reference(text: str, shown: Sequence[ShownCar], focus: str | None = None) -> int | None:
    """Index of the shown car the customer points at: "el segundo", "the 2nd", "el Mazda", "#3", "el otro"."""
    if not shown:
        return None
    ids = [str(car["stock_id"]) for car in shown]
    if len(shown) == 2 and _OTHER_ONE.search(fold(text).strip()):
        # With none in focus the first was the one spoken of (it heads the list): the other is the second.
        return 1 - ids.index(str(focus)) if focus in ids else 1
    folded = fold(text)
    other = OTHER_NAMED.search(folded)
    if other is not None and focus in ids:
        # "ufff, ¿y el otro Seltos?": of the shown cars of that model, the one not in focus.
        name = other.group(1)
        same = [
            i
            for i, car in enumerate(shown)
            if str(car["stock_id"]) != focus and name in fold(f"{car['make']} {car['model']}").replace("-", "")
        ]
        if len(same) == 1:
            return same[0]
        if not same:
            return None  # not on screen: a search for that model without the one in focus
    folded = fold(text)
    tokens = words(text)
    for i, token in enumerate(tokens):
        if token in ORDINALS:
            # "uno/dos/tres" are only ordinals after a pointer word ("el dos", "option 2").
            if token in BARE_NUMBERS and not _REFERENCE_CONTEXT.search(" ".join(tokens[:i])):
                continue
            index = ORDINALS[token]
            return index if index == -1 or index < len(shown) else None
    match = re.search(r"(?:#|\bnumero\s*|\bnumber\s*|\bopcion\s*|\boption\s*|^)\s*([1-9])\s*$", folded.strip())
    if match and int(match.group(1)) <= len(shown):
        return int(match.group(1)) - 1
    matches = [
        i
        for i, car in enumerate(shown)
        if re.search(rf"\b{re.escape(fold(str(car['model'])))}\b", folded)
        or re.search(rf"\b{re.escape(fold(str(car['make'])))}\b", folded)
    ]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        # "el Mazda 3" when a Mazda 3 and a CX-5 were shown: the model decides.
        by_model = [i for i in matches if re.search(rf"\b{re.escape(fold(str(shown[i]['model'])))}\b", folded)]
        if len(by_model) == 1:
            return by_model[0]
        # "el Jetta GLI" when two Jettas were shown: the version, colour or price decides.
        among = [shown[i] for i in matches]
        picked = pick_by_traits(text, among)
        return matches[picked] if picked is not None else None
    # "el gris", "el GLI", "el de 250 mil": what the car is, not its name or position.
    return pick_by_traits(text, shown)


def _is_only(tokens: list[str], vocabulary: set[str]) -> bool:
    return bool(tokens) and all(t in vocabulary for t in tokens)


# "el Golf más barato", "la CR-V más económica": a superlative of the model named, not "cheaper than those".
_ARTICLE_NOUN_BEFORE = re.compile(r"\b(?:el|la|los|las|the)\s+[a-z0-9ñ-]+\s+$")


def wants_cheaper(text: str) -> bool:
    """ "Show me cheaper ones" / "más baratos"."""
    folded = fold(text)
    m = _CHEAPER.search(folded)
    return m is not None and not _ARTICLE_NOUN_BEFORE.search(folded[: m.start()])


def wants_more(text: str) -> bool:
    """ "Show me other ones" / "otros"."""
    return bool(_MORE.search(fold(text)))


def asks_where(text: str) -> bool:
    """ "¿Dónde queda la sede de León?" / "where's your lot?": a question about a place (an address)."""
    return bool(_WHERE.search(fold(text)))


def has_vehicle_constraints(filters: CatalogFilters) -> bool:
    """True when the filters name a make, model, year, price or mileage (features and sort aside)."""
    return any(
        v is not None
        for v in (
            filters.make,
            filters.model,
            filters.year_min,
            filters.year_max,
            filters.price_min,
            filters.price_max,
            filters.km_max,
        )
    )


# "¿es automático?", "is it red?", "¿trae carplay?": a yes/no question about the car being talked about.
_ABOUT_IT = re.compile(
    r"^\W*(?:y\s+)?(?:es|esta|tiene|trae|viene|cuenta con|ese es|ese tiene|is it|is this|is that|does it|does this|"
    r"has it|it has|it is|its|and is it|and does it)\b"
)


# The car's own price, year or mileage asked without naming it: "bueno y en cuánto lo dan", "ok de q año es".
_ITS_FIELDS = re.compile(
    r"\b(?:(?:en )?cuanto (?:lo|la|me lo|me la) (?:dan|dejan|venden|tienen)"
    r"|cuanto (?:cuesta|sale|vale|esta)\b(?! el| la)|que precio tiene|(?:de )?(?:que|q) (?:ano|año|modelo) es"
    r"|cuantos (?:km|kms|kilometros) (?:tiene|trae)"
    r"|how much is it|how much does it cost|what year is it|how many (?:miles|km) (?:does it have|on it)"
    r"|(?:what'?s|what is|whats) the (?:price|mileage|miles)|price and (?:miles|mileage|km))\b"
)


def asks_about_it(text: str) -> bool:
    """A yes/no question about the car being talked about ("¿es automático?", "is it red?")."""
    return bool(_ABOUT_IT.match(fold(text)))


def has_constraints(filters: CatalogFilters) -> bool:
    """True when the parsed filters narrow the catalog (make, model, year, price, km or features)."""
    return has_vehicle_constraints(filters) or bool(filters.features)


# Moving the car talked about to another branch: "¿y si me la llevan a Querétaro para verla allá?", "¿me la pueden
# traer a Monterrey?" (a policy question, not a search of that branch's stock).
TRANSFER = re.compile(
    r"\b(?:me |nos )?(?:lo |la )?(?:pueden |podrian )?(?:llevan|llevarian|traen|traerian|mueven|mandan|trasladan"
    r"|traer|llevar|mover|mandar|trasladar|pasan|pasar)(?:la|lo)? (?:a|para|hasta) "
    r"(?!mi casa|la casa|mi oficina|mi domicilio)"
    r"|\bme (?:lo|la) (?:traen|trae|pueden traer|podrian traer|mueven|pasan)\b"
    r"|\b(?:bring|move|ship) it (?:to|over)\b"
)
# Shipping a car to the customer's city or state: "¿mandan autos a Chiapas?", "¿hacen envíos a otros estados?",
# "do you ship cars to Texas?". The business's delivery policy answers it, whatever cars are named loosely.
SHIPPING = re.compile(
    r"\b(?:mandan|envian|enviarian|mandarian|llevan|hacen envios?|tienen envios?|envio|envios|entregan en|"
    r"ship|ships|shipping|deliver|delivery)\b(?: \w+){0,3}? (?:a|al|hasta|para|to|en|in) "
    r"(?!mi casa|la casa|mi oficina|mi domicilio|la sucursal|sucursal|la agencia)\w"
    r"|\b(?:envio|envios|shipping|delivery) (?:a|al|to) (?:otros?|otras?|other|todo|toda|all)\b"
)
# A counter-offer on the price: "¿me lo dejan en 470?", "¿cuánto es lo menos?", "would you take 300k?". The price
# is the business's to move: a person is offered (a policy on discounts, when written, is a separate question).
_NEGOTIATE = re.compile(
    r"\b(?:me (?:lo|la) (?:dejan|deja|das|dan|pueden dejar) en|en cuanto me (?:lo|la) dejan|cuanto es lo menos"
    r"|lo menos que (?:me )?(?:lo|la)? ?(?:dejan|das|dan)|(?:su|tu) ultimo precio|ultimo precio|mejor precio"
    r"|se puede negociar|es negociable|regatear|would you take \$?\d|can you do \$?\d|best price|lowest (?:price|you)"
    r"|your bottom line)\b"
)
# "¿dónde los puedo ver?", "¿están en Querétaro los dos?", "where can I see them?": the shown cars' own branches.
WHERE_THEY = re.compile(
    r"\b(?:donde (?:l[oa]s? )?(?:puedo|podemos) ver"
    r"|donde (?:estan|esta)(?! (?:ubicad|sus|su |la sucursal|la agencia))"
    r"|(?:estan|esta) en [a-zñ]+(?: [a-zñ]+)? (?:los dos|las dos|ambos|ambas)"
    r"|(?:los dos|las dos|ambos|ambas) (?:estan|en)"
    r"|en (?:que|cual) (?:sucursal|sede|agencia) (?:estan|los tienen|las tienen)"
    r"|where (?:can i see (?:them|it)|are they|is it)|are (?:they|both) (?:in|at))\b"
)


# A bare price question about what is on screen: "precio?", "¿y cuánto?", "how much?".
BARE_PRICE = re.compile(
    r"^\W*(?:y\s+|and\s+|ok\s+)?(?:el\s+|the\s+)?(?:precio|precios|costo|cuanto|cuanto cuesta|cuanto cuestan"
    r"|cuanto sale|cuanto salen|en cuanto|price|prices|how much)\W*$"
)


_LOOKING = re.compile(
    r"\b(?:looking for|i'?m after|busco|buscando|ando buscando|necesito (?:un|una|algo)|quiero (?:un|una|algo)"
    r"|i need (?:a|an|something)|i want (?:a|an|something))\b"
)


# The tenant's financing terms asked outright: "¿y a cuántos meses máximo?", "¿enganche mínimo?", "what's your rate?"
_TERMS_ASK = re.compile(
    r"\b(?:(?:a|hasta|en) cuantos (?:meses|anos|plazos)|plazo maximo|plazo mas largo|enganche minimo"
    r"|minimo de enganche|tasa de interes|que tasa|what(?:'s| is) (?:your|the) (?:rate|interest|longest term)"
    r"|min(?:imum)? down)\b"
)


_WHAT_YOU_ARE = r"(?:robot|bot|maquina|humano|humana|persona|real|ia|ai|human|person|inteligencia artificial|chatbot)"
_IDENTITY = re.compile(
    r"\b(?:eres|es usted|usted es|are you|are u|r u|ru|is this|am i (?:talking|chatting|speaking) (?:to|with)"
    r"|(?:hablo|estoy hablando|estoy chateando|chateo|platico) con)\s+(?:un |una |a |an )?(?:real |actual )?"
    rf"{_WHAT_YOU_ARE}\b"
    # "¿persona o máquina?", "human or bot?": the question is what answers, whatever words come first
    r"|\b(?:persona|humano|human|person|real person|people)\s+(?:o|or)\s+(?:con\s+)?(?:una?\s+|a\s+)?"
    r"(?:robot|bot|maquina|ia|ai|chatbot|computadora|programa)\b"
    r"|\b(?:robot|bot|maquina|ia|ai|chatbot)\s+(?:o|or)\s+(?:una?\s+|a\s+)?(?:persona|humano|human|person|real)\b"
)


# Words asking for the stock itself ("¿qué autos tienen…?", "what do you have…").
_STOCK_WORDS = re.compile(
    r"\b(?:autos|carros|coches|unidades|camionetas|inventario|stock|cars|vehicles|tienen|tienes|hay|have|got)\b"
)


def _names_branch(filters: CatalogFilters) -> bool:
    """Whether the search names one of the catalog's own branches (a place column's value)."""
    return any(name_key(column) in BRANCH_COLUMNS for column in filters.features)


def classify(
    text: str, *, vocabulary: CatalogVocabulary, memory: ConversationMemory | Mapping[str, Any]
) -> Classification:
    """Intents of ``text`` in priority order; the first is routed to."""
    memory = as_memory(memory)
    folded = fold(text)
    tokens = words(text)
    shown = memory.shown
    filters = parse_catalog_query(text, vocabulary)
    reference = resolve_reference(text, shown, memory.focus)
    about_it = bool(filters.features) and not (filters.make or filters.model) and asks_about_it(text)
    if (
        reference is None
        and shown
        and not has_vehicle_constraints(filters)
        and (about_it or asks_about_column(text, vocabulary) or bool(_ITS_FIELDS.search(folded)))
    ):
        # "¿cuántos km tiene?", "¿de qué color es?": the car being talked about (the one in focus, or the only
        # one shown) — its row answers, not the company text.
        ids = [str(car["stock_id"]) for car in shown]
        if memory.focus in ids:
            reference = ids.index(str(memory.focus))
        elif len(shown) == 1:
            reference = 0
    intents: list[Intent] = []

    if _IDENTITY.search(folded) and not _ASKS_FOR_PERSON.search(folded):
        # "¿eres un robot o una persona?": who is answering, said plainly, with a person offered.
        intents.append(Intent("identity", 0.96))
    elif declines_contact(text):
        # "no me marquen porfa, solo por whats": contact turned down, never a handoff; the chat goes on.
        intents.append(Intent("thanks", 0.6))
    elif _HANDOFF.search(folded) and (_ASKS_FOR_PERSON.search(folded) or not is_complaint(text)):
        # "el vendedor ni me peló, pésimo servicio" names a person in a complaint: an apology and an offer (below),
        # not a handoff nobody asked for; "pésimo servicio, quiero hablar con un gerente" asks for one.
        intents.append(Intent("handoff", 0.95))
    elif memory.offered_handoff and is_plain_yes(text):  # "ok, ¿y en Querétaro?" asks, it does not consent
        intents.append(Intent("handoff", 0.9))
    if (
        memory.question_asked_again(text) is not None
        and reference is None
        and not has_vehicle_constraints(filters)
        and not looks_like_finance_query(text)
        and parse_term_followup(text) is None
    ):
        intents.append(Intent("info", 0.93))  # "¿y la de Celaya?" right after the León branch's address
    followup_term = (memory.last_quote or memory.focus or memory.monthly_budget) and parse_term_followup(
        text
    ) is not None
    if shown and BARE_PRICE.search(folded):
        intents.append(Intent("catalog", 0.87))  # "precio?" after a list: the prices of what is on screen
    if shown and not has_vehicle_constraints(filters) and WHERE_THEY.search(folded):
        intents.append(Intent("catalog", 0.87))  # "¿dónde los puedo ver?": the shown cars' rows say where
    if _NEGOTIATE.search(folded):
        intents.append(Intent("negotiate", 0.88))
    in_view = memory.focus or shown or (memory.booking or {}).get("stock_id")
    if in_view and TRANSFER.search(folded) and not has_vehicle_constraints(filters):
        intents.append(Intent("info", 0.9))  # the business's words on moving cars between branches
    elif SHIPPING.search(folded) and not has_vehicle_constraints(filters):
        intents.append(Intent("info", 0.9))  # "¿mandan autos a Chiapas? ¿cuánto cuesta?": the delivery policy
    if looks_like_finance_query(text) or followup_term or _TERMS_ASK.search(folded):  # "¿y a 48?", "¿plazo máximo?"
        intents.append(Intent("finance", 0.85))
    # Features alone ("automática") do not make a search when the message is about another topic
    # ("¿la garantía cubre la transmisión automática?"): looks_like_catalog_query weighs that.
    catalogish = (
        has_vehicle_constraints(filters)
        or looks_like_catalog_query(text, vocabulary)
        # "¿qué autos tienen en la sucursal Norte?": a branch the catalog records, and the stock asked for.
        or (_names_branch(filters) and bool(_STOCK_WORDS.search(folded)))
        # "looking for something for my family": a search to narrow down (the catalog asks what it needs).
        or (bool(_LOOKING.search(folded)) and not mentions_other_topic(text))
    )
    # "¿el segundo tiene garantía?" is about the warranty, not about the second car's details.
    # "el rojo, ¿en qué sucursal está?" asks about the car's own row (a column of the catalog): still the car.
    points_at_car = reference is not None and (not mentions_other_topic(text) or asks_about_column(text, vocabulary))
    if points_at_car or (shown and (wants_cheaper(text) or wants_more(text))) or looks_like_comparison(text):
        intents.append(Intent("catalog", 0.8))
    elif catalogish and not (asks_where(text) and not has_vehicle_constraints(filters)):
        # "¿dónde queda la agencia de Celaya?" names a branch value but asks for the place, not the stock.
        intents.append(Intent("catalog", 0.8 if has_constraints(filters) else 0.6))
    if _is_only(tokens, _GREETING) or (
        # "Buenas tardes. Disculpe usted la molestia.": a greeting with its courtesies.
        any(t in _GREETING for t in tokens) and _is_only(tokens, _GREETING | _POLITE)
    ):
        intents.append(Intent("greeting", 0.9))
    courteous = len(tokens) <= 6 or all(
        t in _COURTESY_WORDS for t in tokens
    )  # "muchas gracias, muy amable de su parte"
    if (_THANKS.search(folded) and courteous) or (is_closing(text) and not has_constraints(filters)):
        # "ok gracias, lo voy a pensar", "ya déjalo así": a courteous close (smalltalk words it as one).
        intents.append(Intent("thanks", 0.9))
    if _HELP.search(folded):
        intents.append(Intent("help", 0.85))
    # Anything else may be a question the knowledge base answers; the info specialist decides.
    intents.append(Intent("info", 0.5))
    return Classification(intents=intents, filters=filters, reference=reference)
