"""Offline-tier wording: greetings, help, hand-off, fallbacks and the catalogue specialist's list lines.

These are reply templates, not LLM prompts (those live in ``prompts/``); placeholders are filled
with facts from domain functions only.
"""

from __future__ import annotations

from app.text.normalize import Language

TEXTS: dict[str, dict[Language, str]] = {
    "greeting": {
        "es": "¡Hola! Soy {agent_name}, asistente de {business}. Te ayudo a encontrar auto en nuestro "
        "inventario, cotizar financiamiento y resolver dudas sobre sucursales, horarios, garantía y trámites. "
        "¿Qué estás buscando?",
        "en": "Hi! I'm {agent_name}, the assistant of {business}. I can help you find a car in our stock, "
        "quote financing and answer questions about branches, hours, warranty and paperwork. "
        "What are you looking for?",
    },
    "help": {
        "es": "Puedo ayudarte con:\n"
        "• Buscar autos: «¿tienen Jetta 2019?», «SUV de menos de 300 mil»\n"
        "• Financiamiento: «¿cuánto pagaría al mes por el segundo a 48 meses con 20% de enganche?»\n"
        "• Información: horarios, sucursales, garantía, documentos, toma de auto a cuenta\n"
        "• Hablar con un asesor: escribe «asesor»",
        "en": "I can help you with:\n"
        '• Finding cars: "do you have a 2019 Jetta?", "SUV under 300k"\n'
        '• Financing: "monthly payment for the second one over 48 months with 20% down?"\n'
        "• Information: hours, branches, warranty, documents, trade-ins\n"
        '• Talking to an advisor: type "advisor"',
    },
    "thanks": {
        "es": "¡Con gusto! Si necesitas algo más, aquí estoy.",
        "en": "You're welcome! I'm here if you need anything else.",
    },
    "fallback": {
        "es": "Perdona, no entendí bien. Puedo buscar autos en inventario, cotizar financiamiento, darte "
        "información de {business} o comunicarte con un asesor. ¿Qué necesitas?",
        "en": "Sorry, I didn't quite get that. I can search our stock, quote financing, share information "
        "about {business} or connect you with an advisor. What do you need?",
    },
    "acknowledge": {
        "es": "¡De acuerdo! Si quieres, te busco autos en inventario, te cotizo financiamiento o te resuelvo dudas "
        "sobre horarios, garantía o trámites.",
        "en": "Okay! Whenever you like, I can search our stock, quote financing or answer questions about hours, "
        "warranty or paperwork.",
    },
    "handoff": {
        "es": "Te comunico con un asesor de {business}; en breve te escribe por este mismo chat. "
        "Mientras tanto, dejaré de responder automáticamente.",
        "en": "I'm connecting you with an advisor from {business}; they'll write to you here shortly. "
        "Until then I'll stop replying automatically.",
    },
    "holding": {
        "es": "Dame un momento: estoy teniendo problemas para consultar la información. Te comunico con un asesor "
        "de {business}, que te escribe por este mismo chat en breve.",
        "en": "Give me a moment: I'm having trouble looking that up. I'm connecting you with an advisor from "
        "{business}, who will write to you here shortly.",
    },
    "knowledge_not_found": {
        "es": "No tengo esa información por escrito y prefiero no adivinar. ¿Quieres que te comunique con un "
        "asesor? Responde «sí» o escribe «asesor».",
        "en": "I don't have that information written down and I'd rather not guess. Would you like me to "
        'connect you with an advisor? Reply "yes" or type "advisor".',
    },
    "catalog_header_one": {
        "es": "Encontré 1 auto que coincide:",
        "en": "I found 1 matching car:",
    },
    "catalog_header_all": {
        "es": "Encontré {total} autos que coinciden:",
        "en": "I found {total} matching cars:",
    },
    "catalog_header_some": {
        "es": "Encontré {total} autos que coinciden; te muestro {shown}:",
        "en": "I found {total} matching cars; here are {shown}:",
    },
    "catalog_relaxed": {
        "es": "No tengo autos que cumplan todo lo que pediste ({why}). Estas son las alternativas más cercanas:",
        "en": "Nothing matches everything you asked for ({why}). These are the closest alternatives:",
    },
    "catalog_no_make": {
        "es": "Por ahora no tengo {make} en inventario. Estas son otras opciones que podrían interesarte:",
        "en": "We don't have any {make} in stock right now. Here are some other options you might like:",
    },
    "catalog_other_makes": {
        "es": "No tengo {wanted} por ahora. Estas son las opciones más cercanas de otras marcas:",
        "en": "I don't have a {wanted} right now. These are the closest options from other makes:",
    },
    "catalog_over_budget": {
        "es": "No tengo autos de hasta {budget} que cumplan lo que pediste. Los más económicos que tengo son:",
        "en": "I don't have any matching cars up to {budget}. These are the most affordable ones I have:",
    },
    "catalog_footer": {
        "es": "Pregunta por cualquiera («el segundo», «el Mazda») o por su financiamiento.",
        "en": 'Ask about any of them ("the second one", "the Mazda") or about financing it.',
    },
    "catalog_empty": {
        "es": "Por ahora no tengo autos que coincidan con eso. ¿Quieres que busque con otro presupuesto, año o "
        "modelo, o que te comunique con un asesor?",
        "en": "I don't have any cars matching that right now. Shall I search with a different budget, year or "
        "model, or connect you with an advisor?",
    },
    "catalog_detail": {
        "es": "{card}\n{details}\n¿Te cotizo el financiamiento o agendamos una prueba de manejo?",
        "en": "{card}\n{details}\nShall I quote financing or book a test drive?",
    },
    "catalog_no_reference": {
        "es": "No encontré ese auto entre los que te mostré. ¿Me dices marca y modelo, o el número de la lista?",
        "en": "I couldn't find that car among the ones I showed you. Tell me the make and model, or its number "
        "in the list?",
    },
}
