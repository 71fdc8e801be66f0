"""WhatsApp-native messaging: opt-out confirmations, button and list labels, and the default templates
submitted for WhatsApp's approval (``agentctl template create``; ``{{1}}`` are Twilio's variables, so those
are read raw with ``template_for``, never formatted)."""

from __future__ import annotations

from app.text.wording import Texts

TEXTS: Texts = {
    "messaging.opted_out": {
        "es": "Listo, ya no te enviaremos mensajes. Si cambias de opinión, escribe ALTA.",
        "en": "Done, we won't send you any more messages. If you change your mind, reply START.",
    },
    "messaging.opted_in": {
        "es": "¡Listo! Volverás a recibir nuestros mensajes. Escribe BAJA cuando quieras dejar de recibirlos.",
        "en": "Done! You'll receive our messages again. Reply STOP whenever you want them to stop.",
    },
    "messaging.list_button": {"es": "Ver autos", "en": "See cars"},
    "messaging.terms_button": {"es": "Ver plazos", "en": "See terms"},
    "messaging.yes": {"es": "Sí", "en": "Yes"},
    "messaging.no": {"es": "No", "en": "No"},
    "messaging.change": {"es": "Cambiar algo", "en": "Change something"},
    "messaging.quote": {"es": "Cotizar", "en": "Get a quote"},
    "messaging.test_drive": {"es": "Prueba de manejo", "en": "Test drive"},
    # Typed equivalents of taps: a tap is answered exactly as these words would be.
    "messaging.typed_yes": {"es": "sí", "en": "yes"},
    "messaging.typed_no": {"es": "no", "en": "no"},
    "messaging.typed_change": {"es": "quiero cambiar algo", "en": "I want to change something"},
    "messaging.typed_quote": {"es": "cotízame ese", "en": "quote that one"},
    "messaging.typed_test_drive": {"es": "quiero una prueba de manejo", "en": "I want a test drive"},
    "messaging.typed_term": {"es": "a {months} meses", "en": "over {months} months"},
    "messaging.term_row": {"es": "{months} meses", "en": "{months} months"},
    "messaging.template_vendor_outreach": {
        "es": "Hola, te escribe {{1}}. Un cliente busca: {{2}}. ¿Lo tienes? Responde en un mensaje: sí o no, "
        "precio y cuándo lo entregas. Responde STOP para no recibir más solicitudes.",
        "en": "Hi, this is {{1}}. A customer is looking for: {{2}}. Do you have it? Reply in one message: yes or "
        "no, price and when you can deliver. Reply STOP to receive no more requests.",
    },
    "messaging.template_shortlist_ready": {
        "es": "Ya tengo opciones para {{1}}: {{2}}",
        "en": "I have options for {{1}}: {{2}}",
    },
    "messaging.template_handoff_follow_up": {
        "es": "Hola, soy {{1}}. Sigo al pendiente de tu consulta: {{2}}. Responde a este mensaje para continuar.",
        "en": "Hi, this is {{1}}. I'm following up on your question: {{2}}. Reply to this message to continue.",
    },
    "messaging.template_lead_confirmation": {
        "es": "Hola {{1}}, confirmamos tu solicitud: {{2}}. Responde a este mensaje si necesitas cambiar algo.",
        "en": "Hi {{1}}, we confirm your request: {{2}}. Reply to this message if you need to change anything.",
    },
    "messaging.template_re_engagement": {
        "es": "Hola {{1}}, ¿sigues buscando auto? En {{2}} tenemos opciones nuevas. Responde a este mensaje "
        "para verlas.",
        "en": "Hi {{1}}, are you still looking for a car? {{2}} has new options. Reply to this message to see them.",
    },
}
