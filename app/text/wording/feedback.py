"""The learning loop's sentences: the 👍/👎 question after a resolved exchange, the thanks, the request for a
one-line reason after a 👎."""

from __future__ import annotations

from app.text.wording import Texts

TEXTS: Texts = {
    "feedback.ask": {
        "es": "¿Te sirvió esta respuesta?",
        "en": "Was this answer helpful?",
    },
    # Without quick-reply buttons the customer answers with a digit (or the emoji).
    "feedback.ask_text": {
        "es": "¿Te sirvió esta respuesta? Responde 1 👍 sí o 2 👎 no.",
        "en": "Was this answer helpful? Reply 1 👍 yes or 2 👎 no.",
    },
    "feedback.up": {"es": "👍 Sí", "en": "👍 Yes"},
    "feedback.down": {"es": "👎 No", "en": "👎 No"},
    "feedback.thanks": {
        "es": "¡Gracias por tu opinión! Aquí sigo si necesitas algo más.",
        "en": "Thanks for your feedback! I'm here if you need anything else.",
    },
    "feedback.ask_reason": {
        "es": "Gracias por decírnoslo. En una línea, ¿qué faltó o qué estuvo mal?",
        "en": "Thanks for telling us. In one line, what was missing or wrong?",
    },
    "feedback.thanks_reason": {
        "es": "Gracias, se lo paso al equipo para mejorar. ¿Te ayudo con algo más?",
        "en": "Thanks, I'll pass it on to the team so we improve. Can I help with anything else?",
    },
}
