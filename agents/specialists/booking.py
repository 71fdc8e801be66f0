"""Bookings: a visit or a test drive taken in the chat, one question at a time, confirmed, stored as a lead.

The car comes from the conversation (the car in focus, one pointed at, or one named that the stock has);
day, time, branch and name from the customer's words (several may come in one message). Nothing is stored
until the customer says yes to the summary; then the lead is written, and the business notified, in the
turn's transaction.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from agents.memory import ConversationMemory, ShownCar
from agents.state import TurnDeps, TurnState, TurnUpdate
from app.catalog.cards import car_name
from app.catalog.frame import branch_column, branch_of, card_by_id
from app.catalog.schemas import CatalogFilters
from app.catalog.search import search_catalog
from app.leads import service as lead_service
from app.leads.booking import Booking, ClosedDay, closed_on, fill, missing_slots, parse_kind, wants_booking
from app.tenants.models import Tenant
from app.text.answers import leading_answer
from app.text.normalize import Language, fold
from app.text.wording import say

_DEFAULT_ZONE = "America/Mexico_City"
# A catalog column saying where each car is: its values are the branches.
_MAX_BRANCHES = 8
_STALE_AFTER_TURNS = 4


# "mejor en Polanco", "mejor el sábado", "better make it Friday", "cámbialo a las 5": a slot changed.
# A booking already stored, moved: "siempre no", "¿lo podemos cambiar al domingo?", "can we move it to Monday?"
_RESCHEDULE = re.compile(
    r"\b(?:siempre no|ya no puedo|no puedo|no voy a poder|me surgio|cambia\w*|cambie\w*|mover\w*|movemos|"
    r"reagend\w*|reprogram\w*|recorr\w*|pospon\w*|adelant\w*|mejor|en vez|otro dia|otra hora|"
    r"reschedul\w*|move it|change it|can'?t make it|instead|push it)\b"
)
_CONFIRM = re.compile(r"\b(?:confirmo|confirmado|agendal[oa]|agendel[oa]|apartal[oa]|confirm(?:ed)?|book it)\b")
_CHANGE_OF_MIND = re.compile(
    r"^\s*(?:no,?\s+)?(?:mejor|mas bien|cambia\w*|cambie\w*|better|make it|change it|instead|rather|actually)\b"
)


def pending(memory: ConversationMemory) -> Booking | None:
    """The booking this conversation is taking, if any; one untouched for a few turns is forgotten."""
    if not memory.booking:
        return None
    try:
        booking = Booking.model_validate(memory.booking)
    except ValueError:
        return None
    return booking if memory.turns - booking.turn <= _STALE_AFTER_TURNS else None


def continues(text: str, memory: ConversationMemory, *, names_car: bool = False) -> bool:
    """Whether ``text`` answers the open booking (a slot, a yes or no to its summary, the name it asked for).

    ``names_car``: the message names or points at a car; it answers "¿qué auto?" or changes the car of a
    summary waiting for its yes ("mejor el Versa").
    """
    booking = pending(memory)
    if booking is None:
        return False
    if booking.lead_id is not None and not booking.confirming:
        # Stored: only an explicit change moves it ("siempre no puedo el viernes, ¿el sábado?"), not "¿abren
        # el sábado?".
        moved = fill(booking.model_copy(update={"asked": None}), text, today=date.today(), branches=[])
        return bool(_RESCHEDULE.search(fold(text))) and moved != booking.model_copy(update={"asked": None})
    if names_car and (booking.asked == "car" or booking.confirming):
        return True
    if booking == Booking(kind=booking.kind, turn=booking.turn) and "?" in text:
        return False  # opened by a question about test drives: a new question is not an answer to it
    if booking.confirming and leading_answer(text) is not None:
        return True
    if (booking.confirming or booking.asked) and _CHANGE_OF_MIND.search(fold(text)) and "?" not in text:
        return True  # "mejor en Polanco", "better make it Friday": changes a slot of the summary
    if booking.asked in ("name", "branch") and len(text.split()) <= 5 and "?" not in text:
        return True
    if (booking.asked or booking.confirming) and _PLACE_ONLY.match(fold(text).strip()):
        return True  # "en Polanco" while the day is asked: the branch, given before it was asked
    filled = fill(booking.model_copy(update={"asked": None}), text, today=date.today(), branches=[])
    return filled != booking.model_copy(update={"asked": None}) or wants_booking(text)


# "en Polanco", "en la sucursal de Satélite", "at the Cancún lot": a place alone, no question.
_PLACE_ONLY = re.compile(
    r"^(?:(?:mejor|ok|va|y|and|then)[ ,]+)?(?:en|in|at|por)\s+(?:la\s+|el\s+|the\s+)?"
    r"(?:(?:sucursal|agencia|sede|branch|lot)\s+(?:de\s+)?)?[a-zñ][\w ñ]{1,30}[.!]?$"
)


def opened(memory: ConversationMemory, text: str) -> ConversationMemory:
    """``memory`` with an empty booking open, after a question about booking was answered from knowledge.

    "¿puedo hacer una prueba de manejo?" gets the business's written answer; "el Jetta, mañana a las 5"
    then continues the booking it invited.
    """
    if pending(memory) is not None:
        return memory
    booking = Booking(kind=parse_kind(text) or "test_drive", turn=memory.turns)
    return memory.model_copy(update={"booking": booking.model_dump(mode="json")})


def _branches(deps: TurnDeps) -> list[str]:
    """The branches the tenant's own catalog names (a "sucursal" column), in order of first appearance."""
    frame = deps.stock().frame
    column = branch_column(frame)
    if column is None:
        return []
    values = [str(v).strip() for v in frame[column].dropna().unique() if str(v).strip()]
    return values if len(values) <= _MAX_BRANCHES else []


def _car_branch(deps: TurnDeps, stock_id: str, branches: list[str]) -> str | None:
    """The branch where the chosen car is: where to see it unless the customer names another (the summary says it)."""
    where = branch_of(deps.stock().frame, stock_id)
    return where if where in branches else None


async def _today(deps: TurnDeps, tenant_id: uuid.UUID) -> date:
    tenant = await deps.session.get(Tenant, tenant_id)
    zone = tenant.timezone if tenant is not None and tenant.timezone else _DEFAULT_ZONE
    try:
        return datetime.now(ZoneInfo(zone)).date()
    except (KeyError, ValueError):
        return datetime.now(ZoneInfo(_DEFAULT_ZONE)).date()


def _car_in_message(state: TurnState, deps: TurnDeps) -> tuple[str, str] | None:
    """(stock id, name) of the car this message names or points at ("el Jetta 2020", "el segundo")."""
    shown: list[ShownCar] = state["memory"].shown
    classification = state["classification"]
    if classification.reference is not None and shown:
        car = shown[classification.reference]
        return car["stock_id"], _label(car["make"], car["model"], car["year"])
    filters = classification.filters
    if filters.make or filters.model:
        frame = deps.stock().frame
        # "la CR-V ... en Celaya": the place is where to meet (cars move between branches), not a trait of the
        # car; the make, model and year alone name it when the whole request finds nothing.
        only_car = CatalogFilters(
            make=filters.make, model=filters.model, year_min=filters.year_min, year_max=filters.year_max
        )
        for wanted in (filters, only_car):
            result = search_catalog(frame, wanted.model_copy(update={"limit": 1}), deps.stock().vocabulary)
            if result.items and not result.relaxed:
                card = result.items[0]
                return card.stock_id, _label(card.make, card.model, card.year)
    return None


def _car_named(state: TurnState, deps: TurnDeps) -> tuple[str, str] | None:
    """(stock id, name) of the car the message or the conversation points at; None when none is clear."""
    memory = state["memory"]
    shown: list[ShownCar] = memory.shown
    in_message = _car_in_message(state, deps)
    if in_message is not None:
        return in_message
    focused = card_by_id(deps.stock().frame, memory.focus) if memory.focus else None
    if focused is not None:
        return focused.stock_id, _label(focused.make, focused.model, focused.year)
    if len(shown) == 1:
        car = shown[0]
        return car["stock_id"], _label(car["make"], car["model"], car["year"])
    return None


def _label(make: str, model: str, year: int) -> str:
    return f"{car_name(make, model)} {year}"


def _date_text(day: date, language: Language) -> str:
    return say(
        "booking.date",
        language,
        weekday=say(f"booking.weekday_{day.weekday()}", language),
        day=day.day,
        month=say(f"booking.month_{day.month}", language),
    )


def _time_text(window: str, language: Language) -> str:
    if window in ("morning", "afternoon", "evening"):
        return say(f"booking.window_{window}", language)
    return say("booking.at_time", language, time=window)


def _when(booking: Booking, language: Language) -> str:
    parts = []
    if booking.day is not None:
        parts.append(_date_text(booking.day, language))
    if booking.time_window:
        parts.append(_time_text(booking.time_window, language))
    return ", ".join(parts)


def _summary(booking: Booking, language: Language) -> str:
    lines = [say(f"booking.header_{booking.kind}", language)]
    if booking.car:
        lines.append(say("booking.line_car", language, car=booking.car))
    lines.append(say("booking.line_when", language, when=_when(booking, language)))
    if booking.branch:
        lines.append(say("booking.line_branch", language, branch=booking.branch))
    lines.append(say("booking.line_name", language, name=booking.name))
    lines.append(say("booking.confirm_ask", language))
    return "\n".join(lines)


def _question(booking: Booking, before: Booking, slot: str, branches: list[str], language: Language) -> str:
    """The one question for ``slot``, opening with what this message just gave ("Anotado: sábado 5...")."""
    if slot == "car":
        return say("booking.ask_car", language)
    ack = _ack(booking, before, language)
    if slot == "branch":
        listed = say("booking.or", language).join([", ".join(branches[:-1]), branches[-1]])
        return say("booking.ask_branch", language, ack=ack, branches=listed)
    return say(f"booking.ask_{slot}", language, ack=ack)


def _ack(booking: Booking, before: Booking, language: Language) -> str:
    """What this message added, said back: the car, the day and time, the branch."""
    said = []
    if booking.car and booking.car != before.car:
        said.append(say("booking.ack_car", language, car=booking.car))
    if (booking.day, booking.time_window) != (before.day, before.time_window):
        said.append(_when(booking, language))
    if booking.branch and booking.branch != before.branch:
        said.append(say("booking.where", language, branch=booking.branch).strip())
    if said:
        return say("booking.ack", language, what=", ".join(said))
    return say("booking.ack_plain", language) if booking != before else ""


def _confirmed(booking: Booking, language: Language) -> str:
    where = say("booking.where", language, branch=booking.branch) if booking.branch else ""
    return say(
        "booking.confirmed",
        language,
        name=(booking.name or "").split()[0] if booking.name else "",
        what=say(f"booking.what_{booking.kind}", language),
        when=_when(booking, language),
        where=where,
    )


async def answer_booking(state: TurnState, deps: TurnDeps) -> TurnUpdate:
    """Move the booking on by one message: ask what is missing, summarise, or store it on a yes."""
    tenant = state["tenant"]
    language = state["language"]
    text = state["text"]
    memory = state["memory"].model_copy(deep=True)
    booking = pending(memory)
    stored = booking is not None and booking.lead_id is not None and not booking.confirming
    if booking is not None and stored and not _RESCHEDULE.search(fold(text)):
        booking = None  # a stored booking, and a new request rather than a change of it: a new lead
    booking = booking or Booking(kind=parse_kind(text) or "test_drive")
    before = booking
    today = await _today(deps, tenant.id)
    branches = _branches(deps) or await lead_service.branch_names(deps.session, tenant_id=tenant.id)
    answer = leading_answer(text) if booking.confirming else None
    if answer == "no" and not _changes(booking, text, today, branches):
        memory.booking = booking.model_copy(
            update={"confirming": False, "asked": None, "turn": memory.turns}
        ).model_dump(mode="json")
        return {"agent": "booking", "intent": "booking", "reply": say("booking.change", language), "memory": memory}
    booking = fill(booking, text, today=today, branches=branches)
    # "mejor el Versa"; or a visit booked without a car, then "para ver un Mazda 3" (car "" = none yet).
    other = _car_in_message(state, deps) if booking.car is not None else None
    if other is not None and other[0] != booking.stock_id:
        booking = booking.model_copy(update={"stock_id": other[0], "car": other[1]})
    if booking.car == "" and memory.topics[-1:] == ["catalog"] and memory.focus:
        # "quiero agendar una cita pa ver un carro", then "el Civic naranja" (answered by the catalog), then the
        # day: the visit is to see the car the customer picked meanwhile.
        focused = card_by_id(deps.stock().frame, memory.focus)
        if focused is not None:
            car = _label(focused.make, focused.model, focused.year)
            booking = booking.model_copy(update={"stock_id": focused.stock_id, "car": car})
    if booking.car is None:
        named = _car_named(state, deps)
        if named is not None:
            booking = booking.model_copy(update={"stock_id": named[0], "car": named[1]})
        elif booking.kind == "visit" or deps.stock().frame.empty:
            booking = booking.model_copy(update={"car": ""})  # a visit needs no car; no stock, nothing to name
    if booking.branch is None and booking.stock_id and (where := _car_branch(deps, booking.stock_id, branches)):
        booking = booking.model_copy(update={"branch": where})
    if booking.day is not None and (booking.day, booking.branch) != (before.day, before.branch):
        rules = await lead_service.closed_weekdays(deps.session, tenant_id=tenant.id, branches=branches)
        closed = closed_on(booking.day, booking.branch, rules, branches)
        if closed:
            # "el domingo en Celaya" when the business's own text says Celaya is closed on Sundays: say so, in
            # its words, and ask for another day.
            day = booking.day
            booking = booking.model_copy(update={"day": None})
            memory.booking = booking.model_copy(
                update={"asked": "day", "confirming": False, "turn": memory.turns}
            ).model_dump(mode="json")
            open_there = [b for b in branches if b != booking.branch and not closed_on(day, b, rules, branches)]
            reply = _closed_reply(day, booking.branch, closed, open_there if booking.branch else [], language)
            return {"agent": "booking", "intent": "booking", "reply": reply, "memory": memory, **_items(booking)}
    elsewhere = ""
    if booking.branch and booking.stock_id and booking.branch != before.branch:
        # "¿lo puedo ver en Querétaro?" of a car at León: it has to be moved there first; said once.
        where = _car_branch(deps, booking.stock_id, branches)
        if where and where != booking.branch:
            elsewhere = say("booking.car_elsewhere", language, where=where, branch=booking.branch)
    missing = missing_slots(booking, branches=branches)
    # "sí, confirmo, jueves 4pm en Centro, a nombre de Daniel": a yes that itself completes and confirms it.
    confirmed_here = not before.confirming and leading_answer(text) == "yes" and bool(_CONFIRM.search(fold(text)))
    if (answer == "yes" or confirmed_here) and not missing:
        return await _store(state, deps, booking, memory)
    if missing:
        slot = missing[0]
        memory.booking = booking.model_copy(
            update={"asked": slot, "confirming": False, "turn": memory.turns}
        ).model_dump(mode="json")
        reply = _question(booking, before, slot, branches, language)
        reply = f"{elsewhere} {reply}" if elsewhere else reply
        return {"agent": "booking", "intent": "booking", "reply": reply, "memory": memory, **_items(booking)}
    memory.booking = booking.model_copy(update={"asked": None, "confirming": True, "turn": memory.turns}).model_dump(
        mode="json"
    )
    summary = _summary(booking, language)
    return {
        "agent": "booking",
        "intent": "booking",
        "reply": f"{elsewhere}\n{summary}" if elsewhere else summary,
        "memory": memory,
        **_items(booking),
    }


def _closed_reply(
    day: date, branch: str | None, closed: list[ClosedDay], open_there: list[str], language: Language
) -> str:
    """ "El domingo no podemos recibirte en Celaya: «…». Ese día sí abre Querétaro…": the rule in the business's
    words, the branches open that day, and a question for another day."""
    own = [r for r in closed if r.language == language] or closed
    where = say("booking.where", language, branch=branch) if branch else ""
    elsewhere = ""
    if open_there:
        listed = open_there[0]
        if len(open_there) > 1:
            listed = say("booking.or", language).join([", ".join(open_there[:-1]), open_there[-1]])
        elsewhere = say("booking.closed_open_elsewhere", language, branches=listed)
    return say(
        "booking.closed_day",
        language,
        weekday=say(f"booking.weekday_{day.weekday()}", language),
        where=where,
        rule=own[0].sentence.rstrip(". "),
        elsewhere=elsewhere,
    )


def _changes(booking: Booking, text: str, today: date, branches: list[str]) -> bool:
    return fill(booking, text, today=today, branches=branches) != booking


def _items(booking: Booking) -> TurnUpdate:
    return {"items": [booking.stock_id]} if booking.stock_id else {}


async def _store(state: TurnState, deps: TurnDeps, booking: Booking, memory: ConversationMemory) -> TurnUpdate:
    tenant_id = state["tenant"].id
    lead = None
    if booking.lead_id is not None:  # "siempre no puedo el viernes, ¿el sábado a las 11?": the same lead, moved
        lead = await lead_service.reschedule_lead(
            deps.session, tenant_id=tenant_id, lead_id=uuid.UUID(booking.lead_id), booking=booking
        )
    if lead is None:
        lead = await lead_service.create_lead(
            deps.session,
            tenant_id=tenant_id,
            conversation_id=deps.conversation_id,
            customer=deps.customer or "",
            booking=booking.model_copy(update={"car": booking.car or None}),
        )
    # Kept for a few turns as stored, so a change of day or time moves this lead rather than making another.
    stored = booking.model_copy(update={"lead_id": str(lead.id), "confirming": False, "asked": None})
    memory.booking = stored.model_copy(update={"turn": memory.turns}).model_dump(mode="json")
    return {
        "agent": "booking",
        "intent": "booking",
        "reply": _confirmed(booking, state["language"]),
        "memory": memory,
        **_items(booking),
    }
