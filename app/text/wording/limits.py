"""Rate-limit wording: the one notice a customer gets when they write faster than the bot answers."""

from __future__ import annotations

from app.text.normalize import Language

TEXTS: dict[str, dict[Language, str]] = {
    "limits.sender_flood": {
        "es": (
            "Recibimos muchos mensajes tuyos en poco tiempo. Los guardamos todos; en un minuto te seguimos atendiendo."
        ),
        "en": ("We got a lot of messages from you in a short time. They are all saved; we'll carry on in a minute."),
    },
}
