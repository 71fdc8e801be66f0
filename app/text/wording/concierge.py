"""Concierge wording for customers: the questions that complete a request, its confirmation, the
progress messages of a search, and the shortlist of vendors' offers.

Pieces that are joined into one message (a question's optional clause, a shortlist's offer details)
keep their leading spaces here, so a tenant's override reads exactly where it lands.
"""

from __future__ import annotations

from app.text.normalize import Language

TEXTS: dict[str, dict[Language, str]] = {
    # --- the specialist's turn ------------------------------------------------------------------
    "concierge.asking": {
        "es": "¡Listo! Estoy preguntando a proveedores cercanos. En unos minutos te mando las mejores opciones "
        "con precio, disponibilidad y su WhatsApp.",
        "en": "Done! I'm asking nearby vendors now. In a few minutes I'll send you the best options with price, "
        "availability and their WhatsApp.",
    },
    "concierge.waiting": {
        "es": "Sigo esperando respuestas de los proveedores ({replied} de {asked} han contestado). Te aviso en "
        "cuanto tenga opciones. Escribe CANCELAR si ya no lo necesitas.",
        "en": "I'm still waiting for vendors to answer ({replied} of {asked} so far). I'll message you as soon as "
        "I have options. Write CANCEL if you no longer need it.",
    },
    "concierge.cancelled": {
        "es": "Listo, cancelé tu solicitud. Si necesitas algo más, aquí estoy.",
        "en": "Done, I cancelled your request. If you need anything else, I'm here.",
    },
    "concierge.change": {
        "es": "Claro, ¿qué quieres cambiar? Dime el dato correcto (producto, cantidad, zona, para cuándo o "
        "presupuesto).",
        "en": "Sure, what should I change? Tell me the right detail (item, quantity, area, when or budget).",
    },
    "concierge.ocr_failed": {
        "es": "No pude leer la foto. ¿Me escribes qué necesitas (producto, marca o medida)?",
        "en": "I couldn't read the photo. Could you type what you need (product, brand or size)?",
    },
    "concierge.ocr_off": {
        "es": "Por ahora no puedo leer fotos. ¿Me escribes qué necesitas (producto, marca o medida)?",
        "en": "I can't read photos yet. Could you type what you need (product, brand or size)?",
    },
    "concierge.unsure": {
        "es": "Esto leí en tu foto y no estoy seguro de algunas partes: {lines}.",
        "en": "This is what I read in your photo, and I'm unsure about parts of it: {lines}.",
    },
    # --- questions that complete a request ------------------------------------------------------
    "concierge.ask_items": {
        "es": "¿Qué necesitas conseguir? Dime el producto o servicio (marca, modelo o medida si aplica). "
        "También puedes mandar una foto de la etiqueta o la receta.",
        "en": "What do you need me to find? Tell me the product or service (brand, model or size if it applies). "
        "You can also send a photo of the label or prescription.",
    },
    # {unknown}: concierge.location_unknown or nothing; {zone_line}: one of the two clauses below.
    "concierge.ask_location": {
        "es": "{unknown}¿En qué zona lo necesitas? Mándame tu ubicación de WhatsApp (📎 > Ubicación){zone_line}.",
        "en": "{unknown}Where do you need it? Share your location pin (📎 > Location){zone_line}.",
    },
    "concierge.location_unknown": {
        "es": "No encontré «{hint}» entre las zonas que cubrimos. ",
        "en": 'I couldn\'t find "{hint}" among the areas we cover. ',
    },
    "concierge.location_zone_examples": {
        "es": " o escribe tu zona (por ejemplo: {examples})",
        "en": " or type your area (e.g. {examples})",
    },
    "concierge.location_neighbourhood": {"es": " o escribe tu colonia", "en": " or type your neighbourhood"},
    "concierge.ask_urgency": {
        "es": "¿Para cuándo lo necesitas? (ya, hoy, mañana, esta semana o sin prisa)",
        "en": "When do you need it? (now, today, tomorrow, this week, or no rush)",
    },
    "concierge.ask_budget": {
        "es": "¿Tienes un presupuesto máximo? (por ejemplo «hasta 900 pesos»; si no, responde «sin presupuesto»)",
        "en": 'Do you have a maximum budget? (e.g. "up to 900 pesos"; if not, reply "no budget")',
    },
    # --- how a request reads back (also inside the vendor's message) ----------------------------
    "concierge.urgency_now": {"es": "lo antes posible", "en": "as soon as possible"},
    "concierge.urgency_today": {"es": "hoy", "en": "today"},
    "concierge.urgency_tomorrow": {"es": "mañana", "en": "tomorrow"},
    "concierge.urgency_this_week": {"es": "esta semana", "en": "this week"},
    "concierge.urgency_flexible": {"es": "sin prisa", "en": "no rush"},
    "concierge.shared_location": {"es": "tu ubicación compartida", "en": "your shared location"},
    # After a price or a budget: "$3,500 MXN c/u".
    "concierge.per_unit": {"es": " c/u", "en": " each"},
    # --- the confirmation before any vendor is contacted ----------------------------------------
    "concierge.confirm_header": {
        "es": "Esto es lo que voy a pedir a vendedores cercanos:",
        "en": "This is what I'll ask nearby vendors for:",
    },
    "concierge.confirm_area": {"es": "Zona: {place}", "en": "Area: {place}"},
    "concierge.confirm_when": {"es": "Para: {when}", "en": "When: {when}"},
    "concierge.confirm_budget": {"es": "Presupuesto: hasta {budget}", "en": "Budget: up to {budget}"},
    "concierge.confirm_no_budget": {"es": "Presupuesto: sin límite fijo", "en": "Budget: no fixed limit"},
    "concierge.confirm_ask": {
        "es": "¿Lo busco? Responde SÍ para empezar o dime qué cambiar.",
        "en": "Shall I start? Reply YES to search, or tell me what to change.",
    },
    "concierge.confirm_nudge": {
        "es": "¿Empiezo a buscar con lo que te resumí? Responde SÍ, o dime qué cambiar (producto, zona, para "
        "cuándo o presupuesto).",
        "en": "Shall I start searching with the summary above? Reply YES, or tell me what to change (item, area, "
        "when or budget).",
    },
    # --- the shortlist --------------------------------------------------------------------------
    "concierge.found_one": {"es": "Encontré {n} opción{what}:", "en": "I found {n} option{what}:"},
    "concierge.found_many": {"es": "Encontré {n} opciones{what}:", "en": "I found {n} options{what}:"},
    "concierge.found_for": {"es": " para «{what}»", "en": ' for "{what}"'},
    "concierge.found_footer": {
        "es": "Escríbeles directo con el enlace. Cada negocio confirma su precio y existencia.",
        "en": "Message them directly with the link. Each business confirms its own price and stock.",
    },
    # {asked}: one of the two "asked" clauses; {thing}: concierge.none_thing or concierge.none_thing_unnamed.
    "concierge.none_found": {
        "es": "Lo siento: {asked} y por ahora ninguno tiene{thing}. "
        "Puedes intentar con otra zona o describirlo de otra forma y vuelvo a preguntar.",
        "en": "Sorry: {asked} and none of them has{thing} right now. "
        "You can try another area or describe it differently and I'll ask again.",
    },
    "concierge.none_asked_count": {
        "es": "pregunté a {asked} negocios cercanos",
        "en": "I asked {asked} nearby businesses",
    },
    "concierge.none_asked": {"es": "pregunté a negocios cercanos", "en": "I asked nearby businesses"},
    "concierge.none_thing": {"es": " «{what}»", "en": ' "{what}"'},
    "concierge.none_thing_unnamed": {"es": "", "en": " it"},
    # One offer: "1. *Refaccionaria Polanco* — $850 MXN", then its details joined by " · ".
    "concierge.offer_title": {"es": "{rank}. *{name}* — {price}", "en": "{rank}. *{name}* — {price}"},
    "concierge.offer_unnamed": {"es": "Negocio", "en": "Vendor"},
    "concierge.offer_over_budget": {"es": " (arriba de tu presupuesto)", "en": " (over your budget)"},
    "concierge.offer_price_unknown": {"es": "precio por confirmar", "en": "price to confirm"},
    "concierge.offer_in_stock": {"es": "en existencia", "en": "in stock"},
    "concierge.offer_on_order": {"es": "sobre pedido", "en": "to order"},
    "concierge.offer_stock_unknown": {"es": "existencia por confirmar", "en": "availability to confirm"},
    "concierge.offer_quantity": {"es": " ({quantity} disponibles)", "en": " ({quantity} available)"},
    # The vendor's own words ("el jueves"), and our estimate ("~3 h") when there are none to quote.
    "concierge.offer_delivery_said": {"es": "entrega: {label}", "en": 'delivery: "{label}"'},
    "concierge.offer_delivery_estimate": {"es": "entrega: {estimate}", "en": "delivery: {estimate}"},
    "concierge.offer_distance": {"es": "a {km} km", "en": "{km} km away"},
    "concierge.eta_minutes": {"es": "~{minutes} min", "en": "~{minutes} min"},
    "concierge.eta_hours": {"es": "~{hours} h", "en": "~{hours} h"},
    "concierge.eta_days": {"es": "~{days} días", "en": "~{days} days"},
}
