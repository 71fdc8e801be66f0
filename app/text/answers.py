"""How a customer's short answer reads: a yes, a no, or something else (a question, a change).

A yes is taken only from a message that says yes: "ok, ¿y en Querétaro?" is a new question, not consent.
A yes may carry details after it ("sí, confirmo, las delanteras, hasta 1500"); ``leading_answer`` says
yes for those, and the caller reads the details from the rest.
"""

from __future__ import annotations

import re
from typing import Literal

from app.text.normalize import fold

Answer = Literal["yes", "no"]

_YES_WORDS = (
    r"si|sii+|sip|simon|claro|claro que si|va|vale|dale|ok|okay|okey|oki|sale|adelante|de acuerdo|correcto|"
    r"esta bien|perfecto|asi es|por favor|porfa|porfavor|yes|yep|yeah|yup|sure|of course|go|go ahead|do it|"
    r"please|confirm|confirmed|confirmo|confirmado|exacto|eso|listo|busca|buscalo|andale|orale|por supuesto|obvio|"
    r"sure thing|sounds good|go for it|that'?s right|correct|right|perfect|great|that works|yes please|👍"
)
_NO_WORDS = r"no|nop|nope|nel|espera|wait|para nada|todavia no|aun no|not yet|no thanks|no gracias|nah|cancel|cancela"
_FILLER = r"gracias|thanks|thank you|pues|porfa|por favor|please|si|yes|ok|va|dale|claro|confirmo|asesor|advisor"
_LEADING_YES = re.compile(rf"^(?:{_YES_WORDS})(?:[\s,.!]+|$)")
_LEADING_NO = re.compile(rf"^(?:{_NO_WORDS})(?:[\s,.!]+|$)")
_ONLY_YES = re.compile(rf"^(?:(?:{_YES_WORDS}|{_FILLER})[\s,.!]*)+$")
# "sí, pero en otra zona": a change, not a yes.
_BUT = re.compile(r"^(?:[\w👍]+[\s,.!]+){1,3}(?:pero|but|aunque|nada mas que|solo que)\b")
_LEADING_WORDS = re.compile(rf"^(?:(?:{_YES_WORDS}|{_FILLER})(?:[\s,.!]+|$))+", re.IGNORECASE)


def _clean(text: str) -> str:
    folded = fold(text).replace("'", "").replace("’", "")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s,.!?¿👍]", " ", folded)).strip()


def is_plain_yes(text: str) -> bool:
    """A message that only says yes ("sí", "ok, por favor", "yes please"): consent to what was offered."""
    t = _clean(text)
    return bool(t) and "?" not in t and "¿" not in t and _ONLY_YES.match(t) is not None


def leading_answer(text: str) -> Answer | None:
    """ "yes" or "no" when the message starts with one (details may follow), None otherwise.

    A question ("ok, ¿y en Querétaro?") is never a yes: it asks something else.
    """
    t = _clean(text)
    if not t or "?" in t or "¿" in t:
        return None
    if _LEADING_NO.match(t) and not t.startswith("no problem"):
        return "no"
    if _LEADING_YES.match(t) and not _BUT.match(t):
        return "yes"
    return None


def after_answer(text: str) -> str:
    """What a message says after its leading yes ("sí, confirmo, las delanteras" → "las delanteras")."""
    folded = fold(text)
    m = _LEADING_WORDS.match(folded)
    # fold keeps the length of accented text here (it only drops combining marks of precomposed letters).
    cut = m.end() if m and len(folded) == len(text) else 0
    return text[cut:].strip(" ,.!")


# "lo voy a pensar", "luego te aviso", "ya déjalo así", "no gracias", "I'll think about it": the customer closes
# or puts off the conversation; a courteous close answers it, not a search or a "don't know".
_CLOSING = re.compile(
    r"\b(?:lo (?:voy a |vamos a )?(?:pensar|pienso|pensare|checo|checare|platico|consulto)|"
    r"(?:dejame|deja|dejeme|dejenme) (?:lo )?(?:pensarlo|pensar|checarlo|platicarlo|consultarlo)|"
    r"(?:luego|despues|al rato|mas tarde|otro dia|manana) (?:te |les )?(?:aviso|escribo|digo|marco|contacto|busco)|"
    r"te (?:aviso|escribo) (?:luego|despues|al rato|mas tarde)|"
    r"(?:ya )?dejalo (?:asi|ahi|por la paz)|asi dejalo|olvidalo|no gracias|por ahora no|ahorita no|por el momento no|"
    r"eso es todo|es todo|nada mas|seria todo|i'?ll think about it|let me think(?: about it)?|maybe later|"
    r"not (?:right )?now|no thanks|that'?s all|never ?mind|forget it|i'?ll get back to you|"
    # "déjame juntar el dinero y te escribo", "let me talk to my wife and get back to you"
    r"(?:dejame|deja|dejeme) (?:juntar|ver|checar|hablar|platicar|revisar|hacer)\b[\w ]{0,40}\b(?:te|les) "
    r"(?:escribo|aviso|marco|busco|digo)|(?:y )?(?:te|les) (?:escribo|aviso|marco|busco) (?:en cuanto|cuando|si)|"
    r"(?:get|got to get) back to you|let me (?:talk|check|speak) (?:to|with) my|talk (?:to|with) my (?:wife|husband"
    r"|partner|family|spouse)|lo (?:hablo|platico|consulto) con mi)\b"
)


def is_closing(text: str) -> bool:
    """The customer closes or puts off the conversation, asking nothing ("ok gracias, lo voy a pensar")."""
    return "?" not in text and bool(_CLOSING.search(_clean(text)))


# "no me marquen porfa, solo por whats", "no quiero que me llame nadie", "please don't call me": the customer
# turns contact down. Never a request for a person, however many call words it holds.
_DECLINES_CONTACT = re.compile(
    r"\b(?:no|ni|nunca|tampoco)\b(?: \w+){0,4}? (?:me )?(?:llame|llamen|llames|marque|marquen|marques|"
    r"contacte|contacten|busque|busquen|hable|hablen)\b|"
    r"\bno (?:quiero|necesito|ocupo) (?:llamadas|que me (?:llamen|marquen|llame|marque))|\bsin llamadas\b|"
    r"\bnada de llamadas\b|\bno (?:me )?(?:llamen|marquen)\b|"
    r"\b(?:don ?t|do not|no need to)(?: \w+){0,4}? (?:call|phone|ring|contact)\b|\bno (?:phone )?calls\b"
)


def declines_contact(text: str) -> bool:
    """The customer turns down calls or contact ("no me marquen, solo por whats", "don't call me")."""
    return bool(_DECLINES_CONTACT.search(_clean(text)))


# "¿y la de Celaya?", "y a Monterrey?", "and on Saturdays?", "what about León?": a short message that asks the last
# question again of something else.
_ELLIPTICAL = re.compile(r"^(?:(?:ok|va|oye|ah|bueno|sale|and|y|e)[ ,.!]+)*(?:y|e|and|what about|how about)\b")
MAX_ELLIPTICAL_WORDS = 7


def is_elliptical(text: str) -> bool:
    """A short follow-up that leans on the last question ("¿y la de Celaya?", "and on Saturdays?")."""
    cleaned = _clean(text)
    return len(cleaned.split()) <= MAX_ELLIPTICAL_WORDS and bool(_ELLIPTICAL.match(cleaned))
