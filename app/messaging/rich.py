"""Rich WhatsApp messages with a text fallback: quick-reply buttons, list pickers and car cards with photos.

A turn's reply may carry a *spec* (plain JSON stored on the outbound part): what to show instead of the
bare text when the tenant has rich messages on, the channel can show them and the window is open. At
delivery the spec becomes a Content API resource (made once per distinct content, cached by hash) sent
by its Content SID; anything else (rich off, simulated channel, the Content API failing) sends the text.

Taps come back as Twilio's ``ButtonPayload`` or ``ListId``; ``tap_text`` turns them into the words a
customer would have typed ("the second one"), so a tap and a typed answer are the same turn.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from app.text.money import format_money
from app.text.normalize import Language
from app.text.wording import say

LIST_MAX_ROWS = 10
LIST_ITEM_MAX_CHARS = 24
LIST_DESCRIPTION_MAX_CHARS = 72
BUTTON_MAX_CHARS = 20
BODY_MAX_CHARS = 1024
QUICK_REPLY_MAX_BUTTONS = 3
CARD_TITLE_MAX_CHARS = 1024
ROW_PREFIX = "car:"
TERM_PREFIX = "term:"
# Buttons of the yes/no and next-step prompts: id → the wording key of the typed equivalent.
_TYPED = {
    "yes": "messaging.typed_yes",
    "no": "messaging.typed_no",
    "change": "messaging.typed_change",
    "quote": "messaging.typed_quote",
    "test_drive": "messaging.typed_test_drive",
}
_ORDINALS: dict[Language, tuple[str, ...]] = {
    "es": ("el primero", "el segundo", "el tercero", "el cuarto", "el quinto"),
    "en": ("the first one", "the second one", "the third one", "the fourth one", "the fifth one"),
}
_SAFE = re.compile(r"[\x00-\x1f]")


def _cap(text: str, limit: int) -> str:
    text = _SAFE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def car_list(body: str, cars: Sequence[Mapping[str, Any]], language: Language) -> dict[str, Any] | None:
    """A list picker of the cars shown (one row each: name, year and price), or None when it can't be one."""
    if not 2 <= len(cars) <= LIST_MAX_ROWS or len(body) > BODY_MAX_CHARS:
        return None
    items = []
    for index, car in enumerate(cars, start=1):
        name = _cap(f"{car.get('make', '')} {car.get('model', '')}", LIST_ITEM_MAX_CHARS)
        price = format_money(Decimal(str(car.get("price") or 0)))
        description = _cap(f"{car.get('year', '')} · {price}", LIST_DESCRIPTION_MAX_CHARS)
        items.append({"id": f"{ROW_PREFIX}{index}", "item": name, "description": description})
    return {"kind": "list", "body": body, "button": _cap(say("messaging.list_button", language), 20), "items": items}


def term_list(body: str, months: Sequence[int], language: Language) -> dict[str, Any] | None:
    """A list picker of financing terms (one row per term), or None."""
    if not 2 <= len(months) <= LIST_MAX_ROWS or len(body) > BODY_MAX_CHARS:
        return None
    items = [
        {"id": f"{TERM_PREFIX}{m}", "item": _cap(say("messaging.term_row", language, months=m), 24), "description": ""}
        for m in months
    ]
    return {"kind": "list", "body": body, "button": _cap(say("messaging.terms_button", language), 20), "items": items}


def buttons(body: str, ids: Sequence[str], language: Language) -> dict[str, Any] | None:
    """Quick-reply buttons (``yes``, ``no``, ``change``, ``quote``, ``test_drive``) under ``body``, or None."""
    if not 1 <= len(ids) <= QUICK_REPLY_MAX_BUTTONS or len(body) > BODY_MAX_CHARS:
        return None
    labels = {"yes": "messaging.yes", "no": "messaging.no", "change": "messaging.change", "quote": "messaging.quote"}
    labels["test_drive"] = "messaging.test_drive"
    actions = [{"id": i, "title": _cap(say(labels[i], language), BUTTON_MAX_CHARS)} for i in ids]
    return {"kind": "buttons", "body": body, "actions": actions}


def car_card(body: str, image_url: str, language: Language) -> dict[str, Any] | None:
    """A card with the car's photo, its description and the next steps as buttons, or None."""
    if len(body) > CARD_TITLE_MAX_CHARS or not image_url.startswith(("https://", "http://")):
        return None
    actions = [
        {"type": "QUICK_REPLY", "id": i, "title": _cap(say(f"messaging.{i}", language), BUTTON_MAX_CHARS)}
        for i in ("quote", "test_drive")
    ]
    return {"kind": "card", "body": body, "media": [image_url], "actions": actions}


def content_types(spec: Mapping[str, Any], fallback: str) -> dict[str, Any]:
    """The Content API ``types`` of a spec, with ``fallback`` as the text for channels without it."""
    kind = spec.get("kind")
    types: dict[str, Any] = {"twilio/text": {"body": fallback}}
    if kind == "list":
        types["twilio/list-picker"] = {"body": spec["body"], "button": spec["button"], "items": spec["items"]}
    elif kind == "buttons":
        types["twilio/quick-reply"] = {"body": spec["body"], "actions": spec["actions"]}
    elif kind == "card":
        types["twilio/card"] = {"title": spec["body"], "media": spec["media"], "actions": spec["actions"]}
        types["twilio/media"] = {"body": spec["body"], "media": spec["media"]}
    return types


def content_hash(types: Mapping[str, Any]) -> str:
    """The cache key of a content: the same lists, buttons and cards reuse one Content SID."""
    canonical = json.dumps(types, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def tap_text(payload: Mapping[str, Any], language: Language) -> str | None:
    """The words a tap stands for (``ListId`` / ``ButtonPayload``), or None when the message is no tap of ours."""
    tapped = str(payload.get("ListId") or payload.get("ButtonPayload") or "").strip()
    if tapped.startswith(ROW_PREFIX) and tapped[len(ROW_PREFIX) :].isdigit():
        row = int(tapped[len(ROW_PREFIX) :])
        if 1 <= row <= len(_ORDINALS[language]):
            return _ORDINALS[language][row - 1]
        if 1 <= row <= 9:
            return f"opción {row}" if language == "es" else f"option {row}"
        return None
    if tapped.startswith(TERM_PREFIX) and tapped[len(TERM_PREFIX) :].isdigit():
        return say("messaging.typed_term", language, months=int(tapped[len(TERM_PREFIX) :]))
    if tapped in _TYPED:
        return say(_TYPED[tapped], language)
    return None


def for_reply(
    reply: str,
    *,
    agent: str,
    language: Language,
    shown_before: Sequence[Mapping[str, Any]],
    shown_after: Sequence[Mapping[str, Any]],
    focus_before: str | None,
    focus_after: str | None,
    offered_handoff: bool,
    photo: str | None,
    terms: Sequence[int] = (),
) -> dict[str, Any] | None:
    """The rich form of a turn's reply, if it has one: a new listing as a list picker, a car in focus as a
    card with its photo, the financing terms table as a list of ``terms``, a yes/no question (handoff
    offer, the concierge's confirmation) as buttons."""
    if agent == "finance" and terms and reply.rstrip().endswith(say("finance_table_footer", language)):
        return term_list(reply, terms, language)
    if offered_handoff:
        return buttons(reply, ("yes", "no"), language)
    if agent == "concierge" and reply.rstrip().endswith(say("concierge.confirm_ask", language)):
        return buttons(reply, ("yes", "change"), language)
    if focus_after and focus_after != focus_before and photo:
        return car_card(reply, photo, language)
    if shown_after and list(shown_after) != list(shown_before) and not focus_after:
        return car_list(reply, shown_after, language)
    return None
