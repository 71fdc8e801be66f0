"""Handoff wording outside business hours: when a person will answer, and that the bot keeps helping."""

from __future__ import annotations

from app.text.normalize import Language

TEXTS: dict[str, dict[Language, str]] = {
    "handoff_after_hours": {
        "es": "Te comunico con un asesor de {business}. Ahora estamos fuera de horario, así que te escribirá "
        "{when} por este mismo chat. Mientras tanto sigo aquí: puedo ayudarte con autos, precios, "
        "financiamiento o cualquier duda.",
        "en": "I'm connecting you with an advisor from {business}. We're outside business hours right now, so "
        "they'll write to you here {when}. Until then I'm still here: I can help with cars, prices, financing "
        "or any question.",
    },
    "handoff_when_today": {"es": "hoy a las {time}", "en": "today at {time}"},
    "handoff_when_tomorrow": {"es": "mañana a las {time}", "en": "tomorrow at {time}"},
    "handoff_when_weekday": {"es": "el {day} a las {time}", "en": "on {day} at {time}"},
    "weekday_names": {
        "es": "lunes,martes,miércoles,jueves,viernes,sábado,domingo",
        "en": "Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday",
    },
}
