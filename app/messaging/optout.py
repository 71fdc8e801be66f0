"""Customer opt-out: STOP/BAJA/CANCELAR/UNSUBSCRIBE (the whole message) or a clear phrasing ("ya no me
escriban", "stop texting me") opts the customer out for the tenant; START/ALTA opts back in.

Twilio's Advanced Opt-Out intercepts such keywords itself and tells us in the inbound webhook
(``OptOutType`` STOP/START); that is read the same way. Each change is confirmed once; repeating it
changes nothing and is not answered again. Every outbound path honours it through the pre-send check
(app.messaging.outbound).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.conversations.models import Conversation
from app.messaging.metrics import OPT_OUTS
from app.text.normalize import fold
from app.text.visible import visible_view

OptOutAction = Literal["stop", "start"]

_STOP_WORDS = frozenset({"stop", "stopall", "baja", "alto", "unsubscribe", "cancelar", "cancel", "end", "quit"})
# Said around a keyword without changing it: "stop please", "Baja por favor", "ya STOP", "stop, gracias".
_COURTESY = frozenset(
    {
        "please",
        "pls",
        "plz",
        "now",
        "thanks",
        "thank",
        "you",
        "por",
        "favor",
        "porfa",
        "porfavor",
        "plis",
        "ya",
        "ahora",
        "gracias",
    }
)
# Words that also mean something else in a conversation ("cancelar" a concierge request): the caller
# decides whether something else is open that they could be about.
_AMBIGUOUS = frozenset({"cancelar", "cancel"})
_START_WORDS = frozenset({"start", "alta", "unstop"})
_STOP_PHRASES = re.compile(
    r"\b(?:"
    r"(?:ya )?no me (?:escriban|escribas|manden|mandes|envien|envies)(?: mas)?(?: mensajes)?"
    r"|dejen? de (?:escribirme|mandarme mensajes|enviarme mensajes)"
    r"|(?:ya )?no quiero (?:recibir )?(?:mas )?(?:sus |tus )?mensajes"
    r"|stop (?:texting|messaging|writing to|contacting) me"
    r"|(?:don'?t|do not) (?:text|message|contact) me(?: anymore| again)?"
    r"|unsubscribe me"
    # "dame de baja", "quiero darme de baja", "sáquenme de su lista", "take me off your list"
    r"|(?:dame|denme|deme|darme|dar|doy|me doy) de baja"
    r"|(?:sacame|saquenme|bajame|borrame|borrenme|quitame|quitenme) de (?:la|su|tu|sus|tus) (?:lista|listas|base)"
    r"|(?:take|remove) me (?:off|from) (?:your|the) (?:list|mailing list|contacts)"
    r")\b"
)


@dataclass(frozen=True)
class OptOutRequest:
    """What the customer asked: stop or start; ``ambiguous`` when the word could mean something else."""

    action: OptOutAction
    ambiguous: bool = False
    source: str = "keyword"


def read_opt_out(text: str, payload: Mapping[str, Any] | None = None) -> OptOutRequest | None:
    """The opt-out (or opt-in) a message asks for, or None; Twilio's ``OptOutType`` first."""
    twilio = str((payload or {}).get("OptOutType", "")).strip().upper()
    if twilio in {"STOP", "START"}:
        return OptOutRequest(action="stop" if twilio == "STOP" else "start", source="twilio")
    words = _words(text)
    keyword = _keyword(words)
    if keyword in _STOP_WORDS:
        return OptOutRequest(action="stop", ambiguous=keyword in _AMBIGUOUS)
    if keyword in _START_WORDS:
        return OptOutRequest(action="start")
    if len(words) <= 30 and _STOP_PHRASES.search(" ".join(words)):
        return OptOutRequest(action="stop", source="phrase")
    return None


def _words(text: str) -> list[str]:
    """The message's words as it reads: no accents, case, emoji, punctuation or invisible characters, and
    look-alike letters read as the Latin ones ("S\u200bTOP", "STOP 🛑", "«STOP»" and "ＳＴＯＰ" are all "stop")."""
    view, _ = visible_view(text[:2000])
    return [word for word in re.split(r"[^\w']+", fold(view).replace("_", " ")) if word]


def _keyword(words: list[str]) -> str | None:
    """The one keyword a message is made of, said once or repeated, with courtesy words around it."""
    core = {word for word in words if word not in _COURTESY}
    if len(core) == 1 and len(words) <= 8:
        return next(iter(core))
    return None


async def set_opted_out(
    session: AsyncSession, *, tenant_id: uuid.UUID, conversation_id: uuid.UUID, opted_out: bool, source: str = "api"
) -> bool:
    """Opt the conversation's customer out (or back in); True when that changed anything."""
    condition = Conversation.opted_out_at.is_(None) if opted_out else Conversation.opted_out_at.is_not(None)
    changed = await session.execute(
        update(Conversation)
        .where(Conversation.tenant_id == tenant_id, Conversation.id == conversation_id, condition)
        .values(opted_out_at=datetime.now(UTC) if opted_out else None)
        .returning(Conversation.id)
        .execution_options(synchronize_session="fetch")
    )
    if changed.first() is None:
        return False
    OPT_OUTS.labels("stop" if opted_out else "start", source).inc()
    return True
