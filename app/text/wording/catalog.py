"""Catalogue wording: how a car is listed and how the catalogue specialist explains what it found.

The list headers, the footer and the detail line are still in ``agents/replies.py`` (keys ``catalog_header_*``,
``catalog_footer``, ``catalog_detail``...); the keys here must not repeat them.
"""

from __future__ import annotations

from app.text.normalize import Language

TEXTS: dict[str, dict[Language, str]] = {
    # One car in a list: "1. Mazda 3 i Sport 2019 — $265,000 MXN · 48,000 km (DM-1021)".
    "catalog_card": {
        "es": "{index}. {name} {year} — {price} · {mileage} ({stock_id})",
        "en": "{index}. {name} {year} — {price} · {mileage} ({stock_id})",
    },
    "catalog_card_no_mileage": {"es": "km sin dato", "en": "mileage n/a"},
    # What could not be met, with the value asked for ("año 2015", "marca Tesla"), joined by commas.
    "catalog_relaxed_year": {"es": "año {years}", "en": "year {years}"},
    "catalog_relaxed_km_max": {"es": "kilometraje hasta {km:,} km", "en": "mileage up to {km:,} km"},
    "catalog_relaxed_model": {"es": "modelo {model}", "en": "model {model}"},
    "catalog_relaxed_make": {"es": "marca {make}", "en": "make {make}"},
    "catalog_relaxed_price_max": {
        "es": "algunos pasan un poco tu presupuesto de ${price_max:,.0f}",
        "en": "some are slightly over your budget of ${price_max:,.0f}",
    },
    "catalog_relaxed_price_min": {"es": "precio desde ${price_min:,.0f}", "en": "price from ${price_min:,.0f}"},
    "catalog_relaxed_features": {"es": "equipamiento", "en": "features"},
    # Follow-ups to a list: "cheaper ones", "other ones".
    "catalog_none_cheaper": {
        "es": "Esos ya son los más económicos que tengo con lo que pediste{wanted}: no hay autos por debajo de "
        "{floor}. ¿Quieres que busque con otro año, modelo o marca?",
        "en": "Those are already the most affordable ones I have for what you asked{wanted}: nothing below "
        "{floor}. Shall I look at another year, model or make?",
    },
    "catalog_cheaper_relaxed": {
        "es": "No tengo más baratos que cumplan todo lo que pediste ({why}). Estos son los más cercanos por debajo "
        "de {floor}:",
        "en": "Nothing cheaper matches everything you asked for ({why}). These are the closest ones below {floor}:",
    },
    "catalog_all_shown": {
        "es": "Ya te mostré todos los autos que cumplen lo que pediste. Estas son las alternativas más cercanas "
        "({why}):",
        "en": "I've already shown you every car that matches what you asked for. These are the closest "
        "alternatives ({why}):",
    },
    "catalog_all_shown_none": {
        "es": "Ya te mostré todos los autos que tengo con lo que pediste. ¿Quieres que busque con otro "
        "presupuesto, año o modelo?",
        "en": "I've already shown you every car I have for what you asked. Shall I search with a different "
        "budget, year or model?",
    },
    # A request in a few words: "de hasta $100,000, 2018 en adelante, con hasta 50,000 km, con quemacocos".
    "catalog_price_between": {
        "es": "entre ${low:,.0f} y ${high:,.0f}",
        "en": "between ${low:,.0f} and ${high:,.0f}",
    },
    "catalog_price_up_to": {"es": "de hasta ${high:,.0f}", "en": "up to ${high:,.0f}"},
    "catalog_price_from": {"es": "desde ${low:,.0f}", "en": "from ${low:,.0f}"},
    "catalog_years_from": {"es": "{year} en adelante", "en": "{year} or newer"},
    "catalog_years_until": {"es": "{year} o anterior", "en": "{year} or older"},
    "catalog_km_up_to": {"es": "con hasta {km:,} km", "en": "with up to {km:,} km"},
    "catalog_with_feature": {"es": "con {label}", "en": "with {label}"},
    "catalog_without_feature": {"es": "sin {label}", "en": "without {label}"},
    # A yes/no cell of the dealer's catalogue, in the customer's language.
    "catalog_yes": {"es": "Sí", "en": "Yes"},
    "catalog_no": {"es": "No", "en": "No"},
}

# Common catalogue column names in the other language: "body" reads "Carrocería" to a Spanish-speaking
# customer, "quemacocos" reads "Sunroof" to an English-speaking one; others are shown as named.
# (English names, Spanish names, Spanish label, English label).
_LABEL_ROWS: tuple[tuple[tuple[str, ...], tuple[str, ...], str, str], ...] = (
    (("transmission", "gearbox"), ("transmision", "caja"), "Transmisión", "Transmission"),
    (("fuel", "fuel_type"), ("combustible",), "Combustible", "Fuel"),
    (("body", "body_type", "segment"), ("carroceria", "segmento"), "Carrocería", "Body"),
    (("owners",), ("duenos", "propietarios"), "Dueños", "Owners"),
    (("sunroof", "moonroof"), ("quemacocos", "techo_solar"), "Quemacocos", "Sunroof"),
    (("leather", "leather_seats"), ("piel", "asientos_piel"), "Asientos de piel", "Leather seats"),
    (("doors",), ("puertas",), "Puertas", "Doors"),
    (("mileage",), ("kilometraje",), "Kilometraje", "Mileage"),
    (("colour",), (), "Color", "Color"),
)
COLUMN_LABELS: dict[Language, dict[str, str]] = {
    "es": {name: es for english, _, es, _ in _LABEL_ROWS for name in english},
    "en": {name: en for _, spanish, _, en in _LABEL_ROWS for name in spanish},
}
"""Folded catalogue column name → its label in the customer's language, for the columns named in the other one."""
