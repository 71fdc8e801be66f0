"""Whether a message is a car search at all, or about another topic (hours, warranty, financing...)."""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from app.catalog.constraints import lifted
from app.catalog.keys import name_key, value_key
from app.catalog.lexicon import PLAIN_WORDS, STOPWORDS, TOPIC_WORDS
from app.catalog.parsing import missing_kinds, parse_catalog_query, prepare_message
from app.catalog.schemas import CarCard
from app.catalog.vocabulary import CatalogVocabulary

_TOKEN = re.compile(r"[a-z0-9ñ]+")

# Words naming cars or the stock: enough on their own to make a message a search.
_VEHICLE_WORDS = re.compile(
    r"\b(?:carros?|autos?|coches?|cars?|vehiculos?|vehicles?|suvs?|camionetas?|sedan(?:es|s)?|pick ?ups?"
    r"|hatchbacks?|trocas?|trucks?|stock|inventario|inventory|disponibles?|available|catalogo|catalog"
    r"|seminuevos?|usados?|used|opciones|options|modelos?|unidades)\b"
)
# "el auto", "my car": a car the customer already has in mind, not a search ("¿puedo devolver el auto?").
_DEFINITE_VEHICLE = re.compile(
    r"\b(?:el|mi|tu|su|este|ese|aquel|my|the|your|our|this|that)\s+(?:carro|auto|coche|car|vehiculo|vehicle"
    r"|camioneta|truck)\b"
)
# "¿tienen ...?" / "do you sell ...?": a search only when nothing else in the message is a mystery.
_OFFER_VERBS = re.compile(r"\b(?:tienen|tienes|hay|have|venden|vendes|sell|manejan|ofrecen|offer|carry)\b")
_OTHER_TOPICS = re.compile(
    r"\b(?:financiamiento|financiar|credito|credit|financing|finance|loan|enganche|mensualidad(?:es)?|horarios?"
    r"|hours|abren|abre|abrimos|cierran|cierra|open|ubicacion|direccion|address|location|garantia|warranty|requisitos"
    r"|requirements|documentos|documents|cita|appointment|prueba de manejo|test drive|tasa|interest|seguro"
    r"|insurance|devol\w*|devuelv\w*|regres\w*|reembolso|returns?|refund|a cuenta|trade(?:[ -]?ins?)?|avaluo|appraisal"
    r"|vender mi|vendo mi|sell my|compran|buy my|entrega\w*|delivery|deliver|domicilio|envio|shipping|apart\w*"
    r"|reserv\w*|formas? de pago|tarjetas?|transferencia|efectivo|cards?|cash|papeles|factura|tenencias?"
    r"|paperwork|invoice|placas|plates|historial|accidentes?|choques?|chocado|history|accidents?|servicio"
    r"|mantenimiento|taller|service|maintenance|inspeccion|inspection|contacto|telefono|phone|contact"
    r"|sucursal(?:es)?|branch(?:es)?|estacionamiento|parking|empresa|company"
    # The business itself: "¿quiénes son, desde cuándo venden carros?", "who are you guys?"
    r"|quienes son|quienes somos|desde cuando|cuantos a[nñ]os tienen|historia|trayectoria|who are you|about you"
    r"|how long have you been)\b"
)

_TOPIC_TYPO_CUTOFF = 85.0


def mentions_other_topic(text: str) -> bool:
    """Whether ``text`` is about hours, warranty, paperwork, financing... (not the stock), even misspelt."""
    return _mentions_other_topic(prepare_message(text))


# "¿cuál es más seguro?" is about safety, not insurance ("seguro").
_SAFE = re.compile(r"\b(?:mas|muy|tan|menos|lo|es) segur[oa]s?\b")


def _mentions_other_topic(t: str) -> bool:
    t = _SAFE.sub(" ", t)
    if _OTHER_TOPICS.search(t):
        return True
    return any(
        process.extractOne(token, TOPIC_WORDS, scorer=fuzz.ratio, score_cutoff=_TOPIC_TYPO_CUTOFF) is not None
        for token in _TOKEN.findall(t)
        if len(token) >= 5 and token.isalpha()
    )


def looks_like_catalog_query(text: str, vocabulary: CatalogVocabulary) -> bool:
    """Whether a message is about finding a car: make/model, budget, year, body type, stock words...

    Another topic wins over loose cues: "¿la garantía cubre la transmisión automática?" is about the
    warranty and "¿puedo devolver el auto?" about returns, while "¿tienen SUVs?" is a search.
    """
    filters = parse_catalog_query(text, vocabulary)
    if (
        filters.make
        or filters.model
        or filters.price_min is not None
        or filters.price_max is not None
        or filters.km_max is not None
        or filters.year_min is not None
        or filters.year_max is not None
    ):
        return True
    t = prepare_message(text)
    if _mentions_other_topic(t):
        return False
    if filters.features or filters.sort != "relevance" or missing_kinds(text, vocabulary):
        return True
    if any(lifted(text, vocabulary)):  # "cualquier color", "no importa el año": a search, loosened
        return True
    if _VEHICLE_WORDS.search(_DEFINITE_VEHICLE.sub(" ", t)):
        return True
    if _OFFER_VERBS.search(t):
        # "¿qué tienen?" asks for the stock; "¿venden motos acuáticas?" asks about something else.
        rest = [w for w in _TOKEN.findall(_OFFER_VERBS.sub(" ", t)) if w not in STOPWORDS and w not in PLAIN_WORDS]
        return not rest
    return False


# "¿cuál es mejor, el Versa o el Aveo?", "compárame el primero y el tercero", "which one do you recommend?"
_COMPARE = re.compile(
    r"\b(?:compar\w*|versus|vs|diferencias?|difference|differences|cual (?:es |seria |sale |me conviene )?mejor"
    r"|que (?:es |seria |sale )?mejor|que (?:me )?conviene(?: mas)?|which is best|which one is best"
    r"|cual (?:esta|queda) mejor|es mejor|mejor que|better than|contra|recomienda\w*|recomiendas"
    r"|cual (?:me )?llevo|cual (?:escogerias|elegirias|comprarias|te llevarias|tomarias)"
    r"|which (?:one )?would you (?:buy|pick|choose|get|take)"
    r"|cual (?:es|esta|sale|queda) mas (?:barato|barata|caro|cara|nuevo|nueva|economico|economica|reciente)"
    r"|which (?:one )?is (?:cheaper|newer|more expensive|more recent)"
    r"|cual (?:me )?conviene|cual (?:me )?recomienda\w*|que (?:me )?recomienda\w*|cual escojo|cual elijo"
    r"|cual le\s?(?:recomiendas|conviene)|which (?:one )?(?:is|would be|'s) better|which (?:one )?(?:do|would) you"
    r" recommend|what do you recommend|recommend\w*|better for|mejor para|pros y contras|pros and cons"
    r"|which should i (?:get|buy|choose|pick))\b"
)


def looks_like_comparison(text: str) -> bool:
    """Whether the customer asks to compare cars or for a recommendation among them."""
    return bool(_COMPARE.search(prepare_message(text)))


_BRANCH = ("sucursal", "sucursales", "agencia", "sede", "ubicacion", "branch", "location", "store", "lot", "plaza")
_OWNERS = ("owners", "duenos", "dueños", "propietarios", "owner")
_COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = (
    {word: _BRANCH for word in _BRANCH}
    | {word: _OWNERS for word in _OWNERS}
    | {"color": ("colour",), "colour": ("color",)}
)
_CORE_QUESTIONS = re.compile(r"\b(?:kilometraje|km|kms|mileage|version|trim)\b")


def _asked_keys(t: str) -> set[str]:
    """The message's words as column keys, with the other language's name of a column: "branch" for
    "Sucursal", "sucursal" for "branch"."""
    keys = {name_key(w) for w in _TOKEN.findall(t)}
    for key in list(keys):
        keys |= set(_COLUMN_SYNONYMS.get(key, ()))
    return keys


def asks_about_column(text: str, vocabulary: CatalogVocabulary) -> bool:
    """Whether the message asks about something the catalogue records per car ("¿en qué sucursal está?",
    "¿de qué color es?"): a question about a car, answered from its row, not the company text."""
    t = prepare_message(text)
    keys = _asked_keys(t)
    columns = {name_key(c) for c in vocabulary.attribute_columns.values()} | set(vocabulary.attribute_columns)
    kinds = {"color", "colour", "transmision", "transmission", "combustible", "fuel", "traccion", "traction"}
    asked = bool(keys & columns) or bool(keys & kinds) or bool(_CORE_QUESTIONS.search(t))
    return asked or _names_two_values(t, vocabulary)


def _names_two_values(t: str, vocabulary: CatalogVocabulary) -> bool:
    """ "¿es estándar o automático?", "¿4x4 o 4x2?": two values of one kind of column (transmission, fuel...)
    name that column, not a car wanted both ways."""
    kind_columns = {*vocabulary.kinds.values(), *vocabulary.derived.values()}
    named: dict[str, set[str]] = {}
    for word in _TOKEN.findall(t):
        key = value_key(word)
        for column in kind_columns:
            if key and key in vocabulary.attribute_values.get(column, {}):
                named.setdefault(column, set()).add(key)
    return any(len(values) > 1 for values in named.values())


_KM_WORDS = frozenset({"km", "kms", "kilometraje", "kilometros", "mileage", "miles", "millas", "recorrido"})
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "color": ("color", "colour", "colores"),
    "transmission": ("transmision", "transmission", "caja", "automatico", "automatica", "estandar", "manual"),
    "fuel": ("combustible", "fuel", "gasolina", "diesel", "hibrido", "hybrid"),
}


def unrecorded_asked(text: str, card: CarCard, vocabulary: CatalogVocabulary) -> list[str]:
    """What the message asks about this car that its row leaves empty: the dealer's column names ("Color",
    "Dueños") or "km". Only columns the catalogue has: a kind it never records is said elsewhere."""
    keys = _asked_keys(prepare_message(text))
    missing: list[str] = []
    if keys & _KM_WORDS and card.km is None:
        missing.append("km")
    kinds = {**vocabulary.kinds, **vocabulary.derived}
    asked_columns = {vocabulary.attribute_columns[k] for k in keys if k in vocabulary.attribute_columns}
    asked_columns |= {kinds[kind] for kind, words in _KIND_WORDS.items() if kind in kinds and keys & set(words)}
    for column in sorted(asked_columns):
        value = card.attributes.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            missing.append(column)
    return missing
