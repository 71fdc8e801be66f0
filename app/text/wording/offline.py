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
    # The customer closes or puts it off ("lo voy a pensar", "ya déjalo así"): no question back, no search.
    "closing": {
        "es": "¡Claro! Tómate tu tiempo; aquí estoy cuando quieras retomarlo.",
        "en": "Of course! Take your time; I'm here whenever you want to pick it up again.",
    },
    "closing~2": {
        "es": "Sin problema. Cuando lo decidas, escríbeme y seguimos.",
        "en": "No problem. When you've decided, write to me and we'll carry on.",
    },
    "closing~3": {
        "es": "Va, sin prisa. Aquí sigo por si te surge cualquier duda.",
        "en": "Sure, no rush. I'm here if any question comes up.",
    },
    # "no me marquen, solo por whats": no calls, the chat goes on here.
    "no_calls": {
        "es": "Entendido, nadie te va a llamar: seguimos por aquí, por WhatsApp. ¿Qué auto o qué duda te ayudo a ver?",
        "en": "Understood, nobody will call you: we'll keep it here on WhatsApp. What can I help you with?",
    },
    "no_calls~2": {
        "es": "Claro, solo por WhatsApp. Dime qué buscas y te ayudo por aquí.",
        "en": "Sure, WhatsApp only. Tell me what you're looking for and I'll help you here.",
    },
    "thanks": {
        "es": "¡Con gusto! Si necesitas algo más, aquí estoy.",
        "en": "You're welcome! I'm here if you need anything else.",
    },
    "thanks~2": {
        "es": "¡A ti! Cuando quieras seguimos: autos, financiamiento o dudas de la agencia.",
        "en": "Thank you! Whenever you like, we can go on: cars, financing or questions about us.",
    },
    "thanks~3": {
        "es": "¡Para servirte! Escríbeme cuando lo necesites.",
        "en": "Happy to help! Write to me whenever you need.",
    },
    "complaint": {
        "es": "Lamento mucho la molestia, tienes razón en querer una mejor atención. ¿Quieres que te comunique "
        "con un asesor de {business} para resolverlo? Responde «sí» o escribe «asesor».",
        "en": "I'm really sorry about that; you deserve better service. Would you like me to connect you with "
        'an advisor from {business} to sort it out? Reply "yes" or type "advisor".',
    },
    "identity": {
        "es": "Soy {agent_name}, la asistente virtual de {business}: te ayudo con autos, precios, financiamiento y "
        "citas. Si prefieres hablar con una persona, responde «sí» y te comunico con un asesor.",
        "en": "I'm {agent_name}, {business}'s virtual assistant: I can help with cars, prices, financing and "
        "appointments. If you'd rather talk to a person, reply \"yes\" and I'll connect you with an advisor.",
    },
    "negotiate": {
        "es": "Entiendo que busques el mejor precio. Los ajustes de precio los autoriza un asesor de {business}: "
        "¿quieres que te comunique con uno para revisarlo? Responde «sí».",
        "en": "I understand you want the best price. Price adjustments are approved by an advisor from {business}: "
        'shall I connect you with one to go over it? Reply "yes".',
    },
    "negotiate~2": {
        "es": "El precio lo puede revisar una persona de {business} contigo. ¿Te comunico con un asesor? "
        "Responde «sí».",
        "en": "A person from {business} can go over the price with you. Shall I connect you with an advisor? "
        'Reply "yes".',
    },
    "complaint~2": {
        "es": "Una disculpa, no era la experiencia que esperabas. Si quieres, una persona de {business} lo "
        "revisa contigo: responde «sí» y te comunico.",
        "en": "I apologise, that's not the experience you expected. If you like, a person from {business} can "
        'look into it with you: reply "yes" and I\'ll connect you.',
    },
    "complaint~3": {
        "es": "Perdón por el mal rato. Puedo pasarte con un asesor de {business} ahora mismo; ¿te comunico? "
        "(responde «sí»)",
        "en": "Sorry for the trouble. I can put you through to an advisor from {business} right now; "
        'shall I? (reply "yes")',
    },
    # Opens a reply that would otherwise repeat one already sent in this conversation, word for word.
    "repeat_prefix": {"es": "Como te comentaba: ", "en": "As I mentioned: "},
    "repeat_prefix~2": {"es": "Te lo repito por si acaso: ", "en": "Just to repeat: "},
    "repeat_prefix~3": {"es": "De nuevo, para que lo tengas a la mano: ", "en": "Once more, for reference: "},
    "repeat_prefix~4": {"es": "Va otra vez: ", "en": "Here it is again: "},
    "fallback": {
        "es": "Perdona, no entendí bien. Puedo buscar autos en inventario, cotizar financiamiento, darte "
        "información de {business} o comunicarte con un asesor. ¿Qué necesitas?",
        "en": "Sorry, I didn't quite get that. I can search our stock, quote financing, share information "
        "about {business} or connect you with an advisor. What do you need?",
    },
    "fallback~2": {
        "es": "No me quedó claro, ¿me lo dices de otra forma? Por ejemplo: un auto que buscas, cuánto pagarías al "
        "mes, o una duda sobre {business}.",
        "en": "I didn't catch that; could you put it another way? For example: a car you're after, a monthly "
        "payment, or a question about {business}.",
    },
    "fallback~3": {
        "es": "Creo que no te entendí. Dime qué auto te interesa, pídeme una cotización o pregúntame por "
        "horarios y sucursales; si prefieres, te paso con un asesor.",
        "en": "I don't think I understood. Tell me which car you like, ask me for a quote or about hours and "
        "branches; or I can pass you to an advisor.",
    },
    "wordless.audio": {
        "es": "Por ahora no puedo escuchar notas de voz. ¿Me escribes lo que necesitas? Te ayudo con autos, "
        "cotizaciones o dudas.",
        "en": "I can't listen to voice notes yet. Could you type what you need? I can help with cars, quotes or "
        "questions.",
    },
    "wordless.file": {
        "es": "No puedo abrir ese archivo aquí. ¿Me escribes lo que necesitas? Te ayudo con autos, cotizaciones "
        "o dudas.",
        "en": "I can't open that file here. Could you type what you need? I can help with cars, quotes or questions.",
    },
    "wordless.location": {
        "es": "Gracias por tu ubicación. ¿Qué necesitas? Puedo decirte horarios y sucursales, buscarte un auto "
        "o cotizarlo.",
        "en": "Thanks for your location. What do you need? I can tell you our hours and branches, find you a "
        "car or quote one.",
    },
    "wordless.photo": {
        "es": "Recibí tu foto. ¿Qué necesitas con ella? Escríbeme qué buscas y te ayudo.",
        "en": "I got your photo. What do you need with it? Tell me what you're looking for and I'll help.",
    },
    "acknowledge": {
        "es": "¡De acuerdo! Si quieres, te busco autos en inventario, te cotizo financiamiento o te resuelvo dudas "
        "sobre horarios, garantía o trámites.",
        "en": "Okay! Whenever you like, I can search our stock, quote financing or answer questions about hours, "
        "warranty or paperwork.",
    },
    "acknowledge~2": {
        "es": "Perfecto. Aquí sigo por si quieres ver otro auto o sacar una cotización.",
        "en": "Sounds good. I'm here if you want to see another car or get a quote.",
    },
    "acknowledge~3": {
        "es": "Va. ¿Te ayudo con algo más: un auto, una mensualidad o una duda?",
        "en": "Okay. Anything else I can help with: a car, a monthly payment or a question?",
    },
    # Before the handoff reply when the request comes with a complaint ("pésimo servicio, que me llame alguien").
    "handoff_apology": {
        "es": "Una disculpa por la espera y la molestia.",
        "en": "I'm sorry for the wait and the trouble.",
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
    "knowledge_not_found~2": {
        "es": "Ese dato no lo tengo y no quiero darte algo incorrecto. Lo que sí puedo: mostrarte autos, "
        "cotizarte financiamiento o pasarte con un asesor que lo sepa. ¿Te comunico? (responde «sí»)",
        "en": "I don't have that detail and I don't want to tell you something wrong. What I can do: show you "
        'cars, quote financing, or pass you to an advisor who knows. Shall I? (reply "yes")',
    },
    "knowledge_not_found~3": {
        "es": "Eso no lo tengo documentado. Un asesor te lo puede confirmar: responde «sí» y te comunico; o "
        "pregúntame por autos, precios o mensualidades.",
        "en": "That isn't in what I have on file. An advisor can confirm it: reply \"yes\" and I'll connect you; or "
        "ask me about cars, prices or monthly payments.",
    },
    "catalog_header_one": {
        "es": "Encontré 1 auto que coincide:",
        "en": "I found 1 matching car:",
    },
    "catalog_header_all": {
        "es": "Encontré {total} autos que coinciden:",
        "en": "I found {total} matching cars:",
    },
    "catalog_header_stock": {
        "es": "Tenemos {total} autos en inventario; te muestro {shown}:",
        "en": "We have {total} cars in stock; here are {shown}:",
    },
    "catalog_header_some": {
        "es": "Encontré {total} autos que coinciden; te muestro {shown}:",
        "en": "I found {total} matching cars; here are {shown}:",
    },
    "catalog_relaxed": {
        "es": "No tengo autos que cumplan todo lo que pediste ({why}). Estas son las alternativas más cercanas:",
        "en": "Nothing matches everything you asked for ({why}). These are the closest alternatives:",
    },
    "catalog_in_branch": {
        "es": "sucursal {branch}",
        "en": "{branch} branch",
    },
    "catalog_near_value": {
        "es": "No tengo autos con {wanted}; lo más cercano que tengo son autos con {near}:",
        "en": "I don't have any cars with {wanted}; the closest I have are cars with {near}:",
    },
    "catalog_no_make": {
        "es": "Por ahora no tengo {make} en inventario. Estas son otras opciones que podrían interesarte:",
        "en": "We don't have any {make} in stock right now. Here are some other options you might like:",
    },
    "catalog_no_make_ask": {
        "es": "Por ahora no tengo {make} en inventario. Si me dices qué tipo de auto buscas o tu presupuesto, te "
        "muestro lo más parecido que tengo, o te comunico con un asesor.",
        "en": "We don't have any {make} in stock right now. Tell me what kind of car you're after or your budget "
        "and I'll show you the closest ones we have, or I can connect you with an advisor.",
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
        "es": "Pregunta por cualquiera («el segundo», «el último») o por su financiamiento.",
        "en": 'Ask about any of them ("the second one", "the last one") or about financing it.',
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
