"""Finance wording: what the finance specialist says and the WhatsApp layout of quotes and quote errors.

Money, percentages and term lists arrive already formatted (``app.text.money``, ``app.finance.service``).
"""

from __future__ import annotations

from app.text.normalize import Language

TEXTS: dict[str, dict[Language, str]] = {
    "finance_need_price": {
        "es": "Con gusto te cotizo. ¿Qué auto te interesa (o su precio)? Por ejemplo: «auto de 250 mil a 48 "
        "meses con 20% de enganche».",
        "en": 'Happy to quote. Which car are you interested in (or its price)? For example: "a 250k car over '
        '48 months with 20% down".',
    },
    # A monthly budget inverted into a price: the assumptions are always stated.
    "finance_afford_header": {
        "es": "Con {monthly} al mes, a {term} meses, con {down} de enganche y tasa anual {rate}, te alcanza un auto "
        "de hasta {max_price}.",
        "en": "With {monthly} a month over {term} months, {down} down and a {rate} annual rate, you can afford a car "
        "of up to {max_price}.",
    },
    "finance_afford_down_share": {"es": "el {share} del precio", "en": "{share} of the price"},
    "finance_afford_list": {
        "es": "Estos caben en tu mensualidad{described}:",
        "en": "These fit your monthly budget{described}:",
    },
    "finance_no_zero_down": {
        "es": "Sin enganche no es posible: el mínimo es el {ratio} del precio. Así quedaría con el mínimo:",
        "en": "Zero down isn't possible: the minimum is {ratio} of the price. This is how it works out at the minimum:",
    },
    "finance_afford_down_cap": {
        "es": "(Ese tope lo pone el enganche: debe ser al menos el {ratio} del precio; con más enganche alcanza para "
        "más.)",
        "en": "(The down payment sets that limit: it must be at least {ratio} of the price; a larger one buys more.)",
    },
    "finance_afford_list_sorted": {
        "es": "{what} de los que caben en tu mensualidad:",
        "en": "{what} of those that fit your monthly budget:",
    },
    "finance_afford_list_relaxed": {
        "es": "No encontré uno que cumpla todo lo demás ({why}); estos caben en tu mensualidad:",
        "en": "Nothing fits everything else you asked ({why}); these fit your monthly budget:",
    },
    "finance_afford_none": {
        "es": "No tengo autos en ese rango{described}. El más económico es {car} a {payment} al mes en esas "
        "condiciones. ¿Quieres ajustar el enganche o el plazo?",
        "en": "I don't have cars in that range{described}. The most affordable is the {car} at {payment} a month "
        "on those terms. Would you like to change the down payment or the term?",
    },
    "finance_budget_fits": {
        "es": "Sí entra: queda dentro de tus {monthly} al mes. ¿Agendamos una visita o te cotizo otro plazo?",
        "en": "Yes, it fits: it stays within your {monthly} a month. Shall we book a visit or quote another term?",
    },
    "finance_budget_over_one": {
        "es": "Queda en {payment} al mes: se pasa de tus {monthly}. Con más enganche o a más plazo puede entrar; ¿te "
        "lo cotizo así o te muestro los que sí caben?",
        "en": "That's {payment} a month, over your {monthly}. More down or a longer term can bring it in; shall I "
        "quote that, or show you the ones that fit?",
    },
    "finance_budget_over_cheapest": {
        "es": "Es el más económico de esos y aun así queda en {payment} al mes: se pasa de tus {monthly}. ¿Ajustamos "
        "enganche o plazo, o te muestro los que sí caben?",
        "en": "It's the most affordable of them and still {payment} a month, over your {monthly}. Shall we adjust "
        "the down payment or term, or shall I show you the ones that fit?",
    },
    "finance_afford_card": {"es": "{card} · ≈ {payment}/mes", "en": "{card} · ≈ {payment}/month"},
    "finance_afford_footer": {
        "es": "Otro plazo o enganche cambia el monto. ¿Te cotizo alguno?",
        "en": "A different term or down payment changes the amount. Shall I quote one of them?",
    },
    # The tenant's financing terms, when asked without a car ("¿cuánto es lo mínimo de enganche?").
    "finance_terms_summary": {
        "es": "El enganche mínimo es del {ratio} del precio; plazos de {terms} meses, tasa anual {rate}. "
        "¿Te cotizo algún auto?",
        "en": "The minimum down payment is {ratio} of the price; terms of {terms} months, annual rate {rate}. "
        "Shall I quote a car for you?",
    },
    # Several cars shown and none chosen: which one to quote.
    "finance_which_car": {
        "es": "¿Cuál de estos te cotizo?\n{cars}\nDime el número o el modelo.",
        "en": "Which of these should I quote?\n{cars}\nTell me its number or model.",
    },
    "finance_for_car": {
        "es": "Para el {car}:",
        "en": "For the {car}:",
    },
    "finance_table_header": {
        "es": "Precio {price}, enganche {down} ({share}), tasa anual {rate}. Mensualidades estimadas:",
        "en": "Price {price}, down payment {down} ({share}), annual rate {rate}. Estimated monthly payments:",
    },
    "finance_table_footer": {
        "es": "Dime el plazo que prefieras para darte el detalle. Cotización estimada, sujeta a aprobación de crédito.",
        "en": "Tell me the term you prefer for the details. Estimate only, subject to credit approval.",
    },
    # One quote, as a WhatsApp message (the estimate note is appended).
    "finance_quote": {
        "es": "*Cotización de financiamiento*\n"
        "Precio: {price}\n"
        "Enganche: {down} ({share})\n"
        "Monto a financiar: {financed}\n"
        "*{term} mensualidades de {payment}*\n"
        "Tasa anual: {rate}\n"
        "Total pagado: {total} (intereses: {interest})",
        "en": "*Financing quote*\n"
        "Price: {price}\n"
        "Down payment: {down} ({share})\n"
        "Amount financed: {financed}\n"
        "*{term} monthly payments of {payment}*\n"
        "Annual rate: {rate}\n"
        "Total paid: {total} (interest: {interest})",
    },
    "finance_note": {
        "es": "_Cifras estimadas en MXN, sujetas a aprobación de crédito._",
        "en": "_Estimate in MXN, subject to credit approval._",
    },
    # Every offered term: a title, then one line per term.
    "finance_table_title": {
        "es": "*Opciones de financiamiento*\nPrecio {price}, enganche {down} ({share}), tasa anual {rate}:",
        "en": "*Financing options*\nPrice {price}, down payment {down} ({share}), annual rate {rate}:",
    },
    "finance_table_row": {
        "es": "• {term} meses: {payment} al mes",
        "en": "• {term} months: {payment}/month",
    },
    # "12, 24, 36 y 48": the last two terms of a list.
    "finance_terms_last": {"es": "{rest} y {last}", "en": "{rest} and {last}"},
    # A request the dealer's terms cannot satisfy, pointing at valid alternatives.
    "finance_error_minimum": {
        "es": "El enganche mínimo es {minimum} ({ratio} del precio).",
        "en": "The minimum down payment is {minimum} ({ratio} of the price).",
    },
    "finance_error_terms": {
        "es": "Plazos disponibles: {terms} meses.",
        "en": "Available terms: {terms} months.",
    },
    "finance_error_too_high": {
        "es": "Con un enganche de {down} ya cubres el precio de {price}, así que no necesitas financiamiento.",
        "en": "A down payment of {down} already covers the {price} price, so no financing is needed.",
    },
    "finance_error_too_low": {
        "es": "El enganche es menor al mínimo.",
        "en": "The down payment is below the minimum.",
    },
    "finance_error_too_low_amount": {
        "es": "El enganche ({down}) es menor al mínimo.",
        "en": "The down payment ({down}) is below the minimum.",
    },
    "finance_error_term_not_offered": {
        "es": "No manejamos plazo de {term} meses.",
        "en": "We don't offer a {term}-month term.",
    },
    "finance_error_term_required": {
        "es": "¿A qué plazo te gustaría cotizar?",
        "en": "Which term would you like?",
    },
    "finance_error_invalid_price": {
        "es": "Necesito el precio del auto (mayor a $0) para cotizar.",
        "en": "I need the car's price (greater than $0) to give you a quote.",
    },
    "finance_error_invalid_down_payment": {
        "es": "Indícame el enganche como monto o como porcentaje, por favor.",
        "en": "Please give the down payment either as an amount or as a percentage.",
    },
}
