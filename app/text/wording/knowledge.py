"""Wording of knowledge answers: the offer to say more, the note on a text in the other language, "don't know"."""

from __future__ import annotations

from app.text.wording import Texts

TEXTS: Texts = {
    # Added to the search of "¿me la pueden pasar a Centro?": the transfer between branches is what is asked.
    "transfer_search_words": {"es": "traslado entre sucursales", "en": "transfer between branches"},
    "knowledge_more_offer": {
        "es": "¿Quieres que te cuente más?",
        "en": "Want me to tell you more?",
    },
    "knowledge_nothing_more": {
        "es": "Eso es todo lo que tengo por escrito sobre ese tema. ¿Te ayudo con algo más?",
        "en": "That's all I have written down on that topic. Can I help you with anything else?",
    },
    # The customer writes in one language and the business's text is in the other: say so, never mix silently.
    "knowledge_other_language": {
        "es": "Esto es lo que dice nuestra información (está escrita en inglés):",
        "en": "Here's what our information says (it's written in Spanish):",
    },
    # "Don't know", in turns: the same sentence is never sent twice in a row.
    "knowledge_dont_know": {
        "es": "No tengo esa información por escrito y prefiero no adivinar. ¿Quieres que te comunique con "
        "un asesor que te lo confirme? Responde «sí» o escribe «asesor».",
        "en": "I don't have that information written down and I'd rather not guess. Would you like me to "
        'connect you with an advisor who can confirm it? Reply "yes" or type "advisor".',
    },
    "knowledge_dont_know_again": {
        "es": "Eso no viene en la información que me compartió {business}, así que no quiero inventarte "
        "nada. Un asesor te lo puede resolver: ¿te comunico? Responde «sí».",
        "en": "That isn't covered in what {business} has shared with me, so I won't make it up. An advisor "
        'can sort it out for you: shall I connect you? Reply "yes".',
    },
    "knowledge_dont_know_third": {
        "es": "Sobre eso no tengo datos confirmados. Si quieres, te paso con un asesor (responde «sí»), o "
        "pregúntame otra cosa.",
        "en": 'I have no confirmed details on that. I can pass you to an advisor (reply "yes"), or ask me '
        "something else.",
    },
    "knowledge_topics_hint": {
        "es": "Lo que sí puedo contarte: {topics}.",
        "en": "What I can tell you about: {topics}.",
    },
}
