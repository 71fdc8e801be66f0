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
    # Asked about something this car's row leaves empty: said plainly, with a person offered.
    # A body asked of a stock with no body column, answered from the models and versions (``app.catalog.derived``).
    "catalog_body_by_model": {
        "es": "Ojo: mi inventario no registra la carrocería; la deduzco del modelo y versión (un asesor la confirma).",
        "en": "Note: my inventory doesn't record the body type; I infer it from model and trim (an advisor confirms).",
    },
    "catalog_empty_cell_for_car": {
        "es": "De este auto no tengo registrado: {what}. No quiero inventarte el dato; un asesor te lo confirma.",
        "en": "For this car I don't have the {what} on record. I won't guess it; an advisor can confirm it.",
    },
    # A car the dealer's status column marks as reserved ("Apartado"): shown, and said to be reserved.
    "catalog_card_reserved": {"es": "apartado", "en": "reserved"},
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
    # The footer under a list: it points only at cars of that list.
    "catalog_footer_list": {
        "es": "Pregunta por cualquiera («el {ordinal}», «el {example}») o por su financiamiento.",
        "en": 'Ask about any of them ("the {ordinal} one", "the {example}") or about financing it.',
    },
    "catalog_footer_one": {
        "es": "¿Quieres más detalles del {example} o que te cotice su financiamiento?",
        "en": "Would you like more details on the {example} or a financing quote for it?",
    },
    "catalog_ordinal_2": {"es": "segundo", "en": "second"},
    # "el más barato": one car, the first of the matches in that order.
    "catalog_header_sorted_one": {
        "es": "{what} de los {total} autos que coinciden:",
        "en": "{what} of the {total} matching cars:",
    },
    "catalog_in_other_branch": {
        "es": "En {asked} no lo tengo; está en {where}:",
        "en": "It isn't at {asked}; it's at {where}:",
    },
    "catalog_prices_header": {"es": "Estos son sus precios:", "en": "Here are their prices:"},
    "catalog_where_car": {"es": "• {car}: sucursal {branch}", "en": "• {car}: {branch} branch"},
    "catalog_where_same": {"es": "Sí, están en {branch}:", "en": "They're both at {branch}:"},
    # The same over the whole stock (nothing narrowed it): no "coinciden", no count.
    "catalog_header_sorted_one_stock": {
        "es": "{what} que tengo en inventario:",
        "en": "{what} I have in stock:",
    },
    "catalog_header_sorted_some_stock": {
        "es": "Estos son {what} de mi inventario:",
        "en": "These are {what} in my stock:",
    },
    "catalog_header_sorted_some": {
        "es": "De los {total} autos que coinciden, estos son {what}:",
        "en": "Of the {total} matching cars, these are {what}:",
    },
    "catalog_sorted_price_asc_one": {"es": "El más barato", "en": "The cheapest"},
    "catalog_sorted_price_desc_one": {"es": "El más caro", "en": "The most expensive"},
    "catalog_sorted_year_desc_one": {"es": "El más nuevo", "en": "The newest"},
    "catalog_sorted_year_asc_one": {"es": "El más antiguo", "en": "The oldest"},
    "catalog_sorted_km_asc_one": {"es": "El de menor kilometraje", "en": "The one with the lowest mileage"},
    "catalog_sorted_price_asc_some": {"es": "los más baratos", "en": "the cheapest"},
    "catalog_sorted_price_desc_some": {"es": "los más caros", "en": "the most expensive"},
    "catalog_sorted_year_desc_some": {"es": "los más nuevos", "en": "the newest"},
    "catalog_sorted_year_asc_some": {"es": "los más antiguos", "en": "the oldest"},
    "catalog_sorted_km_asc_some": {"es": "los de menor kilometraje", "en": "the ones with the lowest mileage"},
    # What the dealer's data does not record ("¿tienen híbridos?" without a fuel column).
    "catalog_kind_fuel": {"es": "el tipo de combustible", "en": "the fuel type"},
    "catalog_kind_body": {
        "es": "el tipo de carrocería (SUV, sedán, pickup…)",
        "en": "the body type (SUV, sedan, pickup…)",
    },
    "catalog_kind_transmission": {"es": "la transmisión", "en": "the transmission"},
    "catalog_kind_colour": {"es": "el color", "en": "the colour"},
    "catalog_kind_consumption": {"es": "el rendimiento de combustible", "en": "fuel economy"},
    "catalog_kind_seats": {"es": "el número de pasajeros", "en": "the number of seats"},
    "catalog_kind_traction": {"es": "la tracción (4x4, AWD)", "en": "the drivetrain (4x4, AWD)"},
    "catalog_kind_engine": {"es": "el motor", "en": "the engine"},
    "catalog_kind_doors": {"es": "el número de puertas", "en": "the number of doors"},
    "catalog_kind_owners": {"es": "el número de dueños anteriores", "en": "the number of previous owners"},
    "catalog_kind_equipment": {
        "es": "el equipamiento (quemacocos, CarPlay, piel, cámara…)",
        "en": "the equipment (sunroof, CarPlay, leather, camera…)",
    },
    "catalog_unrecorded": {
        "es": "Mi inventario no registra {what}, así que no puedo decirte cuáles lo cumplen.",
        "en": "My inventory doesn't record {what}, so I can't tell you which cars match that.",
    },
    "catalog_unrecorded_offer": {
        "es": "Puedo buscarte por {fields}, o un asesor te lo confirma. ¿Quieres que te comunique con uno?",
        "en": "I can search by {fields}, or an advisor can confirm it for you. Shall I connect you with one?",
    },
    "catalog_unrecorded_rest": {
        "es": "Estos cumplen lo demás que pediste{described}; confírmalo con un asesor:",
        "en": "These match the rest of what you asked{described}; an advisor can confirm it:",
    },
    "catalog_fields": {
        "es": "marca, modelo, año, precio y kilometraje",
        "en": "make, model, year, price and mileage",
    },
    "catalog_fields_more": {
        "es": "marca, modelo, año, precio, kilometraje y {more}",
        "en": "make, model, year, price, mileage and {more}",
    },
    # Pointing at a car among several: "de esas, ¿cuál es automática?" when none of them is.
    "catalog_none_among_shown": {
        "es": "Ninguno de los que te mostré es {wanted}. Estos sí lo son:",
        "en": "None of the cars I showed you is {wanted}. These are:",
    },
    "catalog_some_among_shown": {
        "es": "De los que te mostré, estos son {wanted}:",
        "en": "Of the cars I showed you, these are {wanted}:",
    },
    # Comparisons: facts from the catalogue side by side, never opinions.
    "catalog_compare_header": {
        "es": "Te los comparo con lo que registra mi inventario:",
        "en": "Here they are side by side, from my inventory data:",
    },
    "catalog_compare_no_opinion": {
        "es": "No tengo datos para decir cuál es mejor{criterion}; te comparo lo que sí registra mi inventario:",
        "en": "I don't have data to say which is better{criterion}; here is what my inventory does record:",
    },
    "catalog_compare_payment": {"es": "≈ {payment}/mes", "en": "≈ {payment}/month"},
    "catalog_compare_cheapest": {"es": "Más barato: {name}.", "en": "Cheapest: {name}."},
    "catalog_compare_newest": {"es": "Más nuevo: {name} ({year}).", "en": "Newest: {name} ({year})."},
    "catalog_compare_lowest_km": {
        "es": "Menos kilometraje: {name} ({km:,} km).",
        "en": "Lowest mileage: {name} ({km:,} km).",
    },
    "catalog_compare_terms": {
        "es": "_Mensualidades estimadas a {term} meses con {down} de enganche, tasa anual {rate}, sujetas a "
        "aprobación._",
        "en": "_Monthly payments estimated over {term} months with {down} down, annual rate {rate}, subject to "
        "approval._",
    },
    # A question about a car that its row cannot answer ("¿cuánto rinde por litro?"), before its details.
    "catalog_not_recorded_for_car": {
        "es": "Mi inventario no registra {what} de este auto; un asesor te lo puede confirmar. Sus datos:",
        "en": "My inventory doesn't record {what} for this car; an advisor can confirm it. Its details:",
    },
    # Cars named whose version does not state the kind asked ("¿la Lobo es 4x4?"), before them.
    "catalog_not_recorded_for_these": {
        "es": "Mi inventario no registra {what} de estos autos (su versión no lo dice); un asesor te lo confirma:",
        "en": "My inventory doesn't record {what} for these cars (their trim doesn't say); an advisor can confirm it:",
    },
    # A yes/no question about the car being talked about ("¿es automático?"), before its details.
    "catalog_it_yes": {"es": "Sí. Te paso sus datos:", "en": "Yes. Here are its details:"},
    "catalog_it_no": {
        "es": "No. Te paso sus datos, y si quieres te busco uno que sí:",
        "en": "No. Here are its details; I can look for one that is, if you like:",
    },
    "catalog_compare_close": {
        "es": "¿Te cotizo alguno o agendamos una prueba de manejo?",
        "en": "Shall I quote one of them or book a test drive?",
    },
    "catalog_compare_need_two": {
        "es": "¿Con cuál quieres compararlo? Dime el modelo o el número de la lista.",
        "en": "Which car should I compare it with? Tell me the model or its number in the list.",
    },
    "catalog_ask_needs": {
        "es": "Te ayudo a elegir. Para recomendarte bien dime: ¿qué presupuesto tienes (de contado o de "
        "mensualidad) y qué tipo de auto prefieres: sedán, SUV, pickup o minivan? ¿Automático o estándar?",
        "en": "I'll help you choose. To recommend well, tell me: what's your budget (cash or monthly) and what "
        "kind of car do you prefer: sedan, SUV, pickup or minivan? Automatic or manual?",
    },
    "catalog_compare_nothing": {
        "es": "¿Qué autos quieres comparar? Dime los modelos (por ejemplo «Versa o Aveo») y te los pongo lado a lado.",
        "en": 'Which cars would you like to compare? Tell me the models (e.g. "Versa or Aveo") and I\'ll put them '
        "side by side.",
    },
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
    (("colour", "color"), ("color",), "Color", "Color"),
    (("branch", "location", "store"), ("sucursal", "agencia", "sede", "ubicacion", "ciudad"), "Sucursal", "Branch"),
    (("notes", "comments"), ("notas", "comentarios", "observaciones"), "Notas", "Notes"),
    (("version", "trim"), ("version", "acabado"), "Versión", "Trim"),
    (("engine",), ("motor",), "Motor", "Engine"),
    (("traction", "drive"), ("traccion",), "Tracción", "Drive"),
    (("condition",), ("estado", "condicion"), "Estado", "Condition"),
)
COLUMN_LABELS: dict[Language, dict[str, str]] = {
    "es": {name: es for english, spanish, es, _ in _LABEL_ROWS for name in (*english, *spanish)},
    "en": {name: en for english, spanish, _, en in _LABEL_ROWS for name in (*spanish, *english)},
}
"""Folded catalogue column name → its label in the customer's language: the columns named in the other language,
and the dealer's own names with their accents back ("duenos" → "Dueños": column keys are folded at import)."""
