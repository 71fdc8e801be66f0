"""Vendor wording: the request sent to a vendor on a customer's behalf, and the acknowledgements of
their answers and of STOP/START.

The acknowledgements go out in Spanish: a vendor's language is not recorded, and the tenants'
vendors are Mexican businesses. The English texts are there for the day it is.
"""

from __future__ import annotations

from app.text.normalize import Language

TEXTS: dict[str, dict[Language, str]] = {
    # --- the request ----------------------------------------------------------------------------
    "vendor.request_greeting": {
        "es": "¡Hola! Te escribe {business} de parte de un cliente. ¿Tienes esto?",
        "en": "Hi! This is {business}, writing on behalf of a customer. Do you have:",
    },
    # Who writes when the tenant's name is empty.
    "vendor.request_unnamed_business": {"es": "un negocio", "en": "a business"},
    "vendor.request_area": {"es": "Zona: {place}", "en": "Area: {place}"},
    "vendor.request_when": {"es": "Para: {when}", "en": "Needed: {when}"},
    "vendor.request_budget": {"es": "Presupuesto: hasta {budget}", "en": "Budget: up to {budget}"},
    "vendor.request_how": {
        "es": "Responde en un solo mensaje: sí o no, precio y cuándo lo entregas (por ejemplo: «sí, 850, hoy»).",
        "en": 'Please answer in one message: yes or no, price, and when you can deliver (e.g. "yes, 850, today").',
    },
    "vendor.request_stop": {
        "es": "Si no quieres recibir estas consultas, responde STOP.",
        "en": "If you'd rather not get these requests, reply STOP.",
    },
    # The last line when the items do not all fit in one message.
    "vendor.request_more": {"es": "• … y {count} más", "en": "• … and {count} more"},
    # --- acknowledgements -----------------------------------------------------------------------
    "vendor.stop": {
        "es": "Listo, no te volveremos a escribir. Si cambias de opinión, responde START.",
        "en": "Done, we won't write to you again. If you change your mind, reply START.",
    },
    "vendor.start": {
        "es": "¡Gracias! Volverás a recibir solicitudes de clientes. Responde STOP para dejar de recibirlas.",
        "en": "Thanks! You'll get customers' requests again. Reply STOP to stop getting them.",
    },
    "vendor.thanks": {
        "es": "¡Gracias! Le paso tu respuesta al cliente.",
        "en": "Thanks! I'm passing your answer on to the customer.",
    },
    "vendor.late": {
        "es": "¡Gracias! El cliente ya eligió entre las opciones de este pedido; te escribiremos con el siguiente.",
        "en": "Thanks! The customer has already chosen among the offers for this request; we'll write with the "
        "next one.",
    },
}
