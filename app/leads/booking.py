"""A booking being taken in a chat (a visit or a test drive): what it holds, and how a message fills it.

Rules only, both languages: "mañana a las 5", "el sábado en la mañana", "pasado mañana 11:30",
"a nombre de Juan Pérez", "en Satélite". The customer's words are data: a name is letters only and
capped, a branch is one of the tenant's own, a day is a date, a time is a clock time or a window.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel

from app.text.normalize import WEEKDAYS, days_to_weekday, fold

Kind = Literal["visit", "test_drive"]
Slot = Literal["car", "day", "time", "branch", "name"]
Window = Literal["morning", "afternoon", "evening"]
MAX_NAME_CHARS = 60


class Booking(BaseModel):
    """A booking's slots, filled over one or more messages; kept in the conversation's memory."""

    kind: Kind = "test_drive"
    stock_id: str | None = None
    car: str | None = None
    day: date | None = None
    time_window: str | None = None  # "17:00", or a window: "morning", "afternoon", "evening"
    branch: str | None = None
    name: str | None = None
    asked: Slot | None = None  # the slot the last question asked for (a bare answer fills it)
    confirming: bool = False
    turn: int = 0  # the conversation's turn when the booking last moved (an old one is dropped)
    lead_id: str | None = None  # set once stored: a change within a few turns reschedules that lead


_TEST_DRIVE = re.compile(
    r"\b(prueba de manejo|pruebas de manejo|probarlo|probarla|manejarlo|manejarla|test ?drive|drive it|"
    # "¿puedo ir a probar el Kicks el sábado?", "quiero probar la Tracker"
    r"(?:ir a|puedo|podria|quiero|quisiera|me gustaria|para) probar (?:el|la|los|las|un|una|ese|esa)|"
    r"try it out|take it for a (spin|drive))\b"
)
_VISIT = re.compile(
    r"\b(visita|visitarlos|visitar|ir a ver(?:lo|la|los)?|pasar a ver(?:lo|la|los)?|ir a conocer\w*|verlo en persona|"
    r"(?:se puede|puedo|podemos|podria|podre|quiero|quisiera|queremos|quisieramos|me gustaria|nos gustaria|"
    r"voy a|vamos a) ver(?:lo|la)?(?= en| el| la| hoy| ma| este| esta| [0-9])|"
    r"verla en persona|conocerlo en persona|agendar una cita|una cita|cita|visit|see it in person|come by|"
    # "quiero ir a la sucursal de Polanco el sábado", "paso a su agencia mañana", "come in to your showroom"
    # "kiero ir el domingo a ver la x-trail", "paso mañana en la tarde a verlo": a day between going and seeing.
    r"(?:ir|pasar|paso|pasamos|voy|vamos|caer|caigo|llegar|llego)"
    r"(?: (?:el|este|esta|hoy|ma[nñ]ana|la|en|por|tarde|temprano|al rato|mas|lunes|martes|miercoles|jueves|viernes"
    r"|sabado|domingo|fin|de|semana|proxim[oa]|que viene)){1,4} a (?:ver|conocer|probar)(?:l[oa]s?)?\b|"
    # "quiero ir el lunes a San Pedro a ver la Tracker": a day, a place, then the car.
    r"(?:ir|pasar|voy|vamos|paso) (?:el |este |esta )?(?:lunes|martes|miercoles|jueves|viernes|sabado|domingo"
    r"|hoy|ma[nñ]ana)(?: [a-zñ]+){1,4} a (?:ver|conocer|probar)(?:l[oa]s?)?\b|"
    r"(?:ir|pasar|llegar|caer|darme una vuelta|darnos una vuelta) (?:a|por) (?:la |su |sus |el |tu )?"
    r"(?:sucursal|sucursales|agencia|sede|lote|tienda|concesionaria|showroom|piso de ventas?)|"
    r"come (?:in|by|down) to (?:the|your) (?:branch|dealership|store|lot|showroom)|"
    r"come and see|appointment|(?:want to|wanna|would like to|like to|can i|could i|gonna|going to) "
    r"(?:come )?(?:see|check out|look at)(?= it| the| that| this| your| on| at| tomorrow| today| [0-9])"
    r"|(?:see|check out) (?:it|the \w+(?: \w+)?) (?:on|this|next|tomorrow|today|at|monday|tuesday|wednesday"
    r"|thursday|friday|saturday|sunday))\b"
)
_BOOK = re.compile(
    r"\b(agend\w*|reservar (una )?(cita|visita|prueba)|apartar (una )?(cita|prueba)|"
    r"book|schedule|set up)\b"
)
_MONTHS: dict[str, int] = {
    m: i + 1
    for i, names in enumerate(
        [
            ("enero", "january", "jan"),
            ("febrero", "february", "feb"),
            ("marzo", "march", "mar"),
            ("abril", "april", "apr"),
            ("mayo", "may"),
            ("junio", "june", "jun"),
            ("julio", "july", "jul"),
            ("agosto", "august", "aug"),
            ("septiembre", "setiembre", "september", "sep", "sept"),
            ("octubre", "october", "oct"),
            ("noviembre", "november", "nov"),
            ("diciembre", "december", "dec"),
        ]
    )
    for m in names
}
_MONTH_WORDS = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_OF_MONTH = re.compile(rf"\b(\d{{1,2}})\s+(?:de\s+)?({_MONTH_WORDS})\b|\b({_MONTH_WORDS})\s+(\d{{1,2}})\b")
_BARE_DAY = re.compile(r"\b(?:el|the|on the)\s+(\d{1,2})(?:st|nd|rd|th)?\b(?!\s*(?::|am|pm|hrs|h\b|de la))")
# "a las 5", "5 pm", "17:30", "at 11am": a clock time (hours before 8 without am/pm are afternoon hours).
_CLOCK = re.compile(
    r"(?:\b(?:a las|a la|alas|tipo|como a las|at|around|@)\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm|a m|p m|hrs|h)?\b)"
    r"|(?:\b(\d{1,2})(?::(\d{2}))\s*(am|pm|a m|p m|hrs|h)?\b)"
    r"|(?:\b(\d{1,2})\s*(am|pm|a m|p m|hrs)\b)"
)
_WINDOWS: list[tuple[Window, re.Pattern[str]]] = [
    ("morning", re.compile(r"\b(en la ma[nñ]ana|por la ma[nñ]ana|temprano|in the morning|morning)\b")),
    ("afternoon", re.compile(r"\b(en la tarde|por la tarde|de tarde|in the afternoon|afternoon)\b")),
    ("evening", re.compile(r"\b(en la noche|por la noche|in the evening|evening)\b")),
]
_NOON = re.compile(r"\b(medio dia|mediodia|noon|midday)\b")
_NAME_CUE = re.compile(
    r"(?:\bme llamo|\bmi nombre es|\ba nombre de|\bmy name is|\bname is|\bname'?s|\bunder the name(?: of)?"
    r"|\bsoy|\bi am|\bi'm|\bim)"
    r"\s+([^\W\d_]+(?:\s+[^\W\d_]+){0,3})",
    re.IGNORECASE,
)
# Words that follow "soy" / "I'm" without being a name ("soy de Querétaro", "I'm interested").
_NOT_NAMES = frozenset(
    [
        "de",
        "del",
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "su",
        "tu",
        "cliente",
        "interesado",
        "interesada",
        "interested",
        "looking",
        "here",
        "aqui",
        "from",
        "a",
        "an",
        "the",
        "yo",
        "si",
        "no",
        "ok",
        "nuevo",
        "nueva",
        "muy",
        "bien",
        "good",
        "fine",
        "not",
        "going",
        "listo",
        "lista",
    ]
)
# A bare answer to "¿a nombre de quién?" that is not a name.
_NOT_A_NAME_ANSWER = frozenset(
    [
        "si",
        "no",
        "ok",
        "va",
        "dale",
        "sale",
        "claro",
        "gracias",
        "hola",
        "yes",
        "yep",
        "sure",
        "thanks",
        "hello",
        "hi",
        "manana",
        "mañana",
        "hoy",
        "tarde",
        "noche",
        "cuando",
        "donde",
        "que",
        "como",
        "cual",
        "prueba",
        "visita",
    ]
)


# "quiero ver el precio del Jetta", "¿puedo ver el inventario?": seeing information, not the car in person.
_SEE_INFO = re.compile(
    r"\bver (?:el |la |los |las |sus |tus |unas? |unos? |mas |otr[oa]s? )?(?:precios?|catalogo|inventario|fotos?|"
    r"imagen\w*|ficha\w*|detalles?|opciones|lista|listado|mensualidad\w*|cotizacion\w*|info\w*|requisitos|"
    r"modelos|stock|videos?|especificaciones|caracteristicas|planes|promociones)\b"
)
_IN_PERSON = re.compile(r"\b(?:cita|visita\w*|en persona|sucursal|agencia|sede|lote|in person|appointment)\b")


# "estoy aquí en la sucursal de Centro, quiero ver el Corolla": already there, wanting to see it now.
_HERE_NOW = re.compile(
    r"\b(?:estoy|estamos|ando|andamos|ya estoy|ya estamos) (?:aqui|aca|ya) (?:en|afuera de)\b"
    r"|\b(?:i'?m|we'?re|i am|we are) (?:here|already) (?:at|in)\b"
)


def _visits(t: str) -> bool:
    """A folded message asking to come and see a car or the business in person."""
    if _HERE_NOW.search(t):
        return False
    return bool(_VISIT.search(t)) and not (_SEE_INFO.search(t) and not _IN_PERSON.search(t))


def wants_booking(text: str) -> bool:
    """The customer asks to book a visit or a test drive ("¿puedo ir a verlo el sábado?", "book a test drive")."""
    t = fold(text)
    return bool(_TEST_DRIVE.search(t) or _BOOK.search(t) or _visits(t))


_WANT = re.compile(r"\b(quiero|kiero|quisiera|kisiera|me gustaria|i'?d like|i want|i would like)\b")


def asks_to_book(text: str) -> bool:
    """An explicit request ("agéndame...", "quiero una prueba de manejo"), even with a question beside it."""
    t = fold(text)
    return bool(_BOOK.search(t) or (_WANT.search(t) and (_TEST_DRIVE.search(t) or _visits(t))))


def parse_kind(text: str) -> Kind | None:
    """ "test_drive" for a test drive, "visit" for a visit, None when the message names neither."""
    t = fold(text)
    if _TEST_DRIVE.search(t):
        return "test_drive"
    if _visits(t):
        return "visit"
    return None


def parse_day(text: str, today: date) -> date | None:
    """The day a message names, relative to ``today``: "hoy", "mañana", "el sábado", "15 de diciembre"."""
    t = fold(text)
    if re.search(r"\b(pasado ma[nñ]ana|day after tomorrow)\b", t):
        return today + timedelta(days=2)
    # "mañana" is the day unless it is "la mañana" (the morning).
    if re.search(r"(?<!la )\bma[nñ]ana\b|\btomorrow\b", t):
        return today + timedelta(days=1)
    if re.search(r"\b(hoy|today|esta tarde|this afternoon|tonight|esta noche)\b", t):
        return today
    # Several days named: the last is the one meant ("no puedo el viernes, ¿el sábado?", "el lunes no, mejor
    # el martes").
    named = [(m.start(), weekday) for word, weekday in WEEKDAYS.items() for m in re.finditer(rf"\b{word}s?\b", t)]
    if named:
        return today + timedelta(days=days_to_weekday(today, max(named)[1]))
    m = _DAY_OF_MONTH.search(t)
    if m:
        number = int(m.group(1) or m.group(4))
        month = _MONTHS[m.group(2) or m.group(3)]
        return _dated(today, number, month)
    m = _BARE_DAY.search(t)
    if m:
        number = int(m.group(1))
        month = today.month if number >= today.day else today.month % 12 + 1
        return _dated(today, number, month)
    return None


def _dated(today: date, day: int, month: int) -> date | None:
    year = today.year + (1 if month < today.month else 0)
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_time(text: str) -> str | None:
    """ "17:00" for "a las 5" / "5 pm" / "17:00"; "morning", "afternoon" or "evening" for a window; else None."""
    t = fold(text)
    for m in _CLOCK.finditer(t):
        hour_s = m.group(1) or m.group(4) or m.group(7)
        minute_s = m.group(2) or m.group(5) or "00"
        suffix = (m.group(3) or m.group(6) or m.group(8) or "").replace(" ", "")
        hour, minute = int(hour_s), int(minute_s)
        if suffix == "pm" and hour < 12:
            hour += 12
        elif suffix == "am" and hour == 12:
            hour = 0
        elif not suffix and 1 <= hour < 8:
            hour += 12  # "a las 5": nobody books a test drive at dawn
        if hour <= 23 and minute <= 59:
            return f"{hour:02d}:{minute:02d}"
    if _NOON.search(t):
        return "12:00"
    for window, pattern in _WINDOWS:
        if pattern.search(t):
            return window
    return None


def parse_name(text: str, *, asked: bool) -> str | None:
    """A name the customer gives ("soy Laura", "a nombre de Juan Pérez"); a bare "Juan Pérez" when it was asked."""
    for m in _NAME_CUE.finditer(text):
        candidate = m.group(1).strip()
        first = fold(candidate.split()[0])
        if first in _NOT_NAMES:
            continue
        cue = fold(m.group(0).split()[0])
        if cue in ("soy", "i", "i'm", "im") and not candidate[0].isupper():
            continue  # "soy de aquí", "i'm looking": no capital, no name
        return _tidy_name(candidate)
    if asked:
        tokens = re.findall(r"[^\W\d_]+", text)
        if 1 <= len(tokens) <= 4 and not re.search(r"\d|[?¿@]", text) and fold(tokens[0]) not in _NOT_A_NAME_ANSWER:
            return _tidy_name(" ".join(tokens))
    return None


def _tidy_name(name: str) -> str:
    kept = [w for w in name.split() if fold(w) not in {"y", "and", "para", "el", "la", "en", "a"}]
    stop = next((i for i, w in enumerate(kept) if fold(w) in _STOP_AFTER_NAME), len(kept))
    words = kept[:stop] or kept[:1]
    return " ".join(w[:1].upper() + w[1:] for w in words)[:MAX_NAME_CHARS]


_STOP_AFTER_NAME = frozenset(
    [
        "manana",
        "mañana",
        "hoy",
        "pasado",
        "el",
        "la",
        "en",
        "a",
        "las",
        "para",
        "por",
        "tomorrow",
        "today",
        "at",
        "on",
        "in",
        "de",
        "del",
        "quiero",
        "quisiera",
        "gracias",
        "este",
        "como",
        "pues",
        "osea",
        "eh",
        "em",
        "mmm",
        "bueno",
        "entonces",
        "y",
    ]
)


_CALENDAR_WORDS = frozenset([*WEEKDAYS, *_MONTHS, "hoy", "manana", "mañana", "today", "tomorrow"])


def _name_beside(text: str, branches: list[str]) -> str | None:
    """A name given as its own part of a message with other details: "a las 10am, Jorge Salas"."""
    branch_keys = {fold(b) for b in branches}
    for part in re.split(r"[,;\n]+|\.\s+", text):  # "...to drive the Trax. Jennifer Lee"
        tokens = re.findall(r"[^\W\d_]+", part)
        if not 1 < len(tokens) <= 4 or re.search(r"\d", part) or not all(t[0].isupper() for t in tokens):
            continue
        folded = [fold(t) for t in tokens]
        if any(t in _CALENDAR_WORDS or t in branch_keys or t in _NOT_A_NAME_ANSWER for t in folded):
            continue
        return _tidy_name(" ".join(tokens))
    return None


def parse_branch(text: str, branches: list[str]) -> str | None:
    """The tenant branch a message names (accents and case aside; "satelite" is Satélite)."""
    t = fold(text)
    for branch in branches:
        key = fold(branch)
        if key and re.search(rf"\b{re.escape(key)}\b", t):
            return branch
    return None


def fill(booking: Booking, text: str, *, today: date, branches: list[str]) -> Booking:
    """``booking`` with what ``text`` adds or changes: kind, day, time, branch, name."""
    changes: dict[str, object] = {}
    kind = parse_kind(text)
    if kind is not None:
        changes["kind"] = kind
    day = parse_day(text, today)
    if day is not None and day >= today:
        changes["day"] = day
    when = parse_time(text)
    if when is not None:
        changes["time_window"] = when
    branch = parse_branch(text, branches)
    if branch is not None:
        changes["branch"] = branch
    # A bare answer is a name only when the name was asked and nothing else was read from it.
    name = parse_name(text, asked=booking.asked == "name" and not changes)
    if name is None and booking.name is None and changes:
        name = _name_beside(text, branches)  # "a las 10am, Jorge Salas"
    if name is not None:
        changes["name"] = name
    return booking.model_copy(update=changes) if changes else booking


def missing_slots(booking: Booking, *, branches: list[str]) -> list[Slot]:
    """Slots still to ask for, in the order asked: car, day, time, branch (when the tenant has several), name."""
    missing: list[Slot] = []
    if booking.car is None:
        missing.append("car")
    if booking.day is None:
        missing.append("day")
    if booking.time_window is None:
        missing.append("time")
    if booking.branch is None and len(branches) > 1:
        missing.append("branch")
    if booking.name is None:
        missing.append("name")
    return missing


# --- days the business is closed -------------------------------------------------------------------

# "los domingos permanecen cerradas", "closed on Sundays", "no abrimos en domingo", "descansamos los lunes":
# a sentence that says a day is closed. "cerramos a las 7" is a closing time, not a closed day.
_CLOSED_WORDS = re.compile(
    r"\b(?:cerrad[oa]s?|cerramos|closed|no abr(?:imos|e|en)|no laboramos|no trabajamos|descans\w+"
    r"|no (?:atendemos|damos servicio))\b(?!\s*(?:a las|at \d|hasta|until))"
)
_WEEKEND = re.compile(r"\b(?:fines? de semana|weekends?)\b")
_SENTENCE = re.compile(r"[^.;\n]+")
# Clauses of a sentence: "abren de lunes a viernes ..., y los domingos permanecen cerradas".
_CLAUSE = re.compile(r",|\s+(?:y|e|and|but|pero|aunque|mientras que)\s+")
_DAY_FILLERS = frozenset({"los", "las", "el", "la", "on", "and", "y", "en", "fines", "de", "semana", "weekends"})


class ClosedDay(BaseModel):
    """A weekday the business's own text says is closed, where (no branches: all of them), and its words."""

    weekday: int
    branches: frozenset[str] = frozenset()
    sentence: str
    language: str = "es"


def closed_days(text: str, branches: list[str], language: str = "es") -> list[ClosedDay]:
    """The closed weekdays a company text states, sentence by sentence, with the branches each sentence names."""
    found: list[ClosedDay] = []
    for m in _SENTENCE.finditer(text):
        sentence = m.group(0).strip(" *-•")
        t = fold(sentence)
        if not _CLOSED_WORDS.search(t):
            continue
        days: dict[int, frozenset[str] | None] = {}
        clauses = _CLAUSE.split(t)
        for i, clause in enumerate(clauses):
            if not _CLOSED_WORDS.search(clause):
                continue
            # "sábados y domingos cerrado": bare day words just before the closed clause belong to it.
            start = i
            while start > 0 and (_only_days(clauses[start - 1]) or _only_branches(clauses[start - 1], branches)):
                start -= 1  # "León y Celaya permanecen cerradas en domingo": both branches
            # "Zapopan no abre los domingos, Tlaquepaque no abre los lunes": each clause's own branch.
            own = _branches_in(" ".join(clauses[start : i + 1]), branches) or None
            for day in _weekdays(" ".join(clauses[start : i + 1])):
                days[day] = own if day not in days else (days[day] or frozenset()) | (own or frozenset())
        named = _branches_in(t, branches) or _parent_branches(text, m.start(), branches)
        found += [
            ClosedDay(weekday=d, branches=days[d] or named, sentence=sentence, language=language) for d in sorted(days)
        ]
    return found


def _only_branches(clause: str, branches: list[str]) -> bool:
    """A clause that only names branches ("león", "la sucursal de celaya")."""
    rest = clause
    for branch in _branches_in(clause, branches):
        rest = re.sub(rf"\b{re.escape(fold(branch))}\b", " ", rest)
    left = [w for w in re.findall(r"[a-z0-9ñ]+", rest) if w not in _DAY_FILLERS and w not in {"sucursal", "sucursales"}]
    return rest != clause and not left


def _branches_in(t: str, branches: list[str]) -> frozenset[str]:
    return frozenset(b for b in branches if re.search(rf"\b{re.escape(fold(b))}\b", t))


def _parent_branches(text: str, at: int, branches: list[str]) -> frozenset[str]:
    """The branch a nested list item belongs to: "2. *San Pedro*" above "   - Cerrada los lunes"."""
    lines = text[:at].split("\n")
    current = lines[-1] + text[at:].split("\n", 1)[0]
    indent = len(current) - len(current.lstrip())
    for line in reversed(lines[:-1]):
        if not line.strip():
            return frozenset()  # a blank line ends the list
        own = len(line) - len(line.lstrip())
        if own < indent:
            return _branches_in(fold(line), branches)
    return frozenset()


def _only_days(clause: str) -> bool:
    words = clause.split()
    return bool(words) and all(w in _DAY_FILLERS or w.rstrip("s") in WEEKDAYS for w in words)


def _weekdays(text: str) -> set[int]:
    days = {weekday for word, weekday in WEEKDAYS.items() if re.search(rf"\b{word}s?\b", text)}
    return days | ({5, 6} if _WEEKEND.search(text) else set())


def closed_on(day: date, branch: str | None, rules: list[ClosedDay], branches: list[str]) -> list[ClosedDay]:
    """The rules that close ``day`` at ``branch`` (no branch chosen yet: only a day closed at every branch)."""
    rules = [r for r in rules if r.weekday == day.weekday()]
    if branch is not None:
        return [r for r in rules if not r.branches or branch in r.branches]
    everywhere = [r for r in rules if not r.branches]
    if everywhere:
        return everywhere
    covered = set().union(*(r.branches for r in rules)) if rules else set()
    return rules if branches and covered >= set(branches) else []
