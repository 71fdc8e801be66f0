"""Booking wording: the questions that complete a visit or a test drive, its summary and its confirmation."""

from __future__ import annotations

from app.text.normalize import Language

_WEEKDAYS_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

TEXTS: dict[str, dict[Language, str]] = {
    "booking.ask_car": {
        "es": "¡Claro! ¿Qué auto te gustaría ver? Dime marca y modelo, o el número de la lista.",
        "en": "Sure! Which car would you like to see? Tell me the make and model, or its number in the list.",
    },
    "booking.ask_day": {
        "es": "{ack}¿Qué día te queda bien? (por ejemplo «mañana» o «el sábado»)",
        "en": '{ack}Which day suits you? (e.g. "tomorrow" or "on Saturday")',
    },
    "booking.ask_time": {
        "es": "{ack}¿A qué hora te acomoda? Puede ser una hora («a las 5») o «en la mañana» / «en la tarde».",
        "en": '{ack}What time works for you? A time ("at 5 pm") or "in the morning" / "in the afternoon".',
    },
    "booking.ask_branch": {
        "es": "{ack}¿En qué sucursal? Tenemos {branches}.",
        "en": "{ack}At which branch? We have {branches}.",
    },
    "booking.ask_name": {
        "es": "{ack}¿A nombre de quién hago la cita?",
        "en": "{ack}What name should I book it under?",
    },
    "booking.ack": {"es": "Anotado: {what}. ", "en": "Noted: {what}. "},
    "booking.ack_car": {"es": "el {car}", "en": "the {car}"},
    "booking.ack_plain": {"es": "Va. ", "en": "Okay. "},
    "booking.or": {"es": " o ", "en": " or "},
    "booking.header_test_drive": {
        "es": "Te confirmo la prueba de manejo:",
        "en": "Here's your test drive:",
    },
    "booking.header_visit": {"es": "Te confirmo la visita:", "en": "Here's your visit:"},
    "booking.line_car": {"es": "• Auto: {car}", "en": "• Car: {car}"},
    "booking.line_when": {"es": "• Cuándo: {when}", "en": "• When: {when}"},
    "booking.line_branch": {"es": "• Sucursal: {branch}", "en": "• Branch: {branch}"},
    "booking.line_name": {"es": "• A nombre de: {name}", "en": "• Name: {name}"},
    "booking.confirm_ask": {
        "es": "¿Lo agendo así? Responde «sí» o dime qué cambiar.",
        "en": 'Shall I book it? Reply "yes" or tell me what to change.',
    },
    "booking.confirmed": {
        "es": "¡Listo, {name}! Quedó agendada tu {what} para el {when}{where}. Un asesor te confirma por este chat.",
        "en": "All set, {name}! Your {what} is booked for {when}{where}. An advisor will confirm here in this chat.",
    },
    "booking.what_test_drive": {"es": "prueba de manejo", "en": "test drive"},
    "booking.what_visit": {"es": "visita", "en": "visit"},
    "booking.where": {"es": " en {branch}", "en": " at {branch}"},
    "booking.car_elsewhere": {
        "es": "Ojo: ese auto está en {where}; para verlo en {branch} lo trasladamos y te confirmamos cuándo llega.",
        "en": "Note: that car is at {where}; to see it at {branch} we'll move it there and confirm when it arrives.",
    },
    "booking.closed_day": {
        "es": "El {weekday} no podemos recibirte{where}: «{rule}».{elsewhere} ¿Qué otro día te queda bien?",
        "en": 'We can\'t see you on {weekday}{where}: "{rule}".{elsewhere} Which other day suits you?',
    },
    "booking.closed_open_elsewhere": {
        "es": " Ese día sí abre {branches}, si te queda mejor.",
        "en": " {branches} is open that day, if that suits you better.",
    },
    # Added to a follow-up question's knowledge search ("¿qué necesito llevar?" after booking).
    "booking.search_words": {"es": "prueba de manejo", "en": "test drive"},
    "booking.change": {
        "es": "Claro, ¿qué cambio? Dime el día, la hora, la sucursal o el nombre correctos.",
        "en": "Sure, what should I change? Tell me the right day, time, branch or name.",
    },
    "booking.when": {"es": "{day}, {time}", "en": "{day}, {time}"},
    "booking.date": {"es": "{weekday} {day} de {month}", "en": "{weekday}, {month} {day}"},
    "booking.at_time": {"es": "a las {time}", "en": "at {time}"},
    "booking.window_morning": {"es": "en la mañana", "en": "in the morning"},
    "booking.window_afternoon": {"es": "en la tarde", "en": "in the afternoon"},
    "booking.window_evening": {"es": "en la noche", "en": "in the evening"},
    **{
        f"booking.weekday_{i}": {"es": es, "en": en}
        for i, (es, en) in enumerate(zip(_WEEKDAYS_ES, _WEEKDAYS_EN, strict=True))
    },
    **{
        f"booking.month_{i + 1}": {"es": es, "en": en}
        for i, (es, en) in enumerate(zip(_MONTHS_ES, _MONTHS_EN, strict=True))
    },
}
