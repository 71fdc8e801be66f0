"""The conversation sets: loading and validating the YAML files (no database, no agent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.eval.conversations.truth import DEALERS, RANGES, SORTS, constraint_fields

SETS = Path(__file__).resolve().parent / "sets"
CLASSES: dict[int, str] = {
    1: "follow-ups & references",
    2: "data can't tell",
    3: "monthly budget",
    4: "comparisons",
    5: "several questions",
    6: "word models, synonyms",
    7: "company documents",
    8: "robotic voice, consent",
    9: "bookings",
    10: "features that fight",
    11: "English",
}
CONVERSATION_KEYS = {"id", "dealer", "class", "held_out", "lang", "flags", "note", "turns"}
TURN_KEYS = {"user", "expect"}
EXPECT_KEYS = {
    "shows",  # constraints every shown item must meet (accumulated over the conversation); non-empty list
    "shows_none",  # true: no items shown
    "focus",  # ref: the car this turn is about (first shown item, or the quote's price)
    "quote",  # {term, down? | down_pct?, of? ref}: exact quote (focus car when no `of`)
    "budget",  # {monthly, down?}: shown cars affordable at the tenant's terms, assumptions stated
    "mentions",  # [ref, ...]: each car's price appears in the reply (comparisons)
    "facts",  # [regex, ...]: all present in the folded reply
    "facts_any",  # [regex, ...]: at least one present
    "absent",  # [regex, ...]: none present
    "dont_know",  # true: says the data can't tell; false: must not say so
    "lang",  # es | en (default: the conversation's)
    "handoff",  # expected handoff flag
    "lead",  # {contains: [text, ...]}: a lead listed for this customer holding these texts
    "knowledge",  # true: a company-text answer (≤ 600 characters, no raw ** markup)
    "max_chars",
}
REF_KEYS = {"turn", "pick", "where", "sort"}
QUOTE_KEYS = {"term", "down", "down_pct", "of", "price"}


@dataclass
class Turn:
    user: str
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    id: str
    dealer: str
    cls: int
    held_out: bool
    lang: str
    turns: list[Turn]
    flags: dict[str, bool] = field(default_factory=dict)
    source: str = ""


class SpecError(ValueError):
    """A conversation file that does not follow the schema."""


def _check_ref(ref: Any, where: str, turn_no: int, fields: set[str]) -> list[str]:
    errors: list[str] = []
    if not isinstance(ref, dict) or not ref or set(ref) - REF_KEYS:
        return [f"{where}: a ref is a mapping of {sorted(REF_KEYS)}"]
    if "turn" in ref:
        if not isinstance(ref["turn"], int) or not 1 <= ref["turn"] < turn_no:
            errors.append(f"{where}: ref turn must point to an earlier turn (1-based)")
        if "pick" in ref and (not isinstance(ref["pick"], int) or ref["pick"] == 0):
            errors.append(f"{where}: pick is 1-based (-1 = the last shown)")
        if ("pick" in ref) == ("where" in ref):
            errors.append(f"{where}: a turn ref needs exactly one of pick / where")
    elif "where" not in ref:
        errors.append(f"{where}: a catalog ref needs where")
    if "where" in ref:
        errors += _check_constraints(ref["where"], where, fields)
    if "sort" in ref and ref["sort"] not in SORTS:
        errors.append(f"{where}: unknown sort {ref['sort']!r}")
    return errors


def _check_constraints(constraints: Any, where: str, fields: set[str]) -> list[str]:
    if not isinstance(constraints, dict) or not constraints:
        return [f"{where}: constraints must be a non-empty mapping"]
    if constraints.get("sort") not in (None, *SORTS):
        return [f"{where}: unknown sort {constraints['sort']!r}"]
    unknown = constraint_fields(constraints) - fields
    return [f"{where}: the dealer's data has no {sorted(unknown)}"] if unknown else []


def _check_expect(expect: dict[str, Any], where: str, turn_no: int, fields: set[str]) -> list[str]:
    errors = [f"{where}: unknown check {k!r}" for k in set(expect) - EXPECT_KEYS]
    if "shows" in expect:
        errors += _check_constraints(expect["shows"], f"{where}.shows", fields)
    if "focus" in expect:
        errors += _check_ref(expect["focus"], f"{where}.focus", turn_no, fields)
    for i, ref in enumerate(expect.get("mentions", [])):
        errors += _check_ref(ref, f"{where}.mentions[{i}]", turn_no, fields)
    if "quote" in expect:
        q = expect["quote"]
        if not isinstance(q, dict) or not isinstance(q.get("term"), int) or set(q) - QUOTE_KEYS:
            errors.append(f"{where}.quote: needs term (int), optional down / down_pct / of / price")
        elif "of" in q:
            errors += _check_ref(q["of"], f"{where}.quote.of", turn_no, fields)
        elif "focus" not in expect and "price" not in q:
            errors.append(f"{where}.quote: needs `of`, `price` or a focus")
    if "budget" in expect and not isinstance(expect["budget"].get("monthly"), (int, float)):
        errors.append(f"{where}.budget: needs monthly")
    for key in ("facts", "facts_any", "absent"):
        if key in expect and not (isinstance(expect[key], list) and all(isinstance(x, str) for x in expect[key])):
            errors.append(f"{where}.{key}: a list of regexes")
    if expect.get("lang") not in (None, "es", "en"):
        errors.append(f"{where}.lang: es or en")
    for key in ("handoff", "dont_know", "shows_none", "knowledge"):
        if key in expect and not isinstance(expect[key], bool):
            errors.append(f"{where}.{key}: true or false")
    if "lead" in expect and not isinstance(expect["lead"].get("contains"), list):
        errors.append(f"{where}.lead: needs contains (list)")
    return errors


def _parse(raw: dict[str, Any], source: str) -> Conversation:
    cid = str(raw.get("id", "?"))
    errors = [f"{cid}: unknown key {k!r}" for k in set(raw) - CONVERSATION_KEYS]
    for key in ("id", "dealer", "class", "held_out", "turns"):
        if key not in raw:
            errors.append(f"{cid}: missing {key}")
    if errors:
        raise SpecError("; ".join(errors))
    if raw["dealer"] not in DEALERS:
        raise SpecError(f"{cid}: unknown dealer {raw['dealer']!r}")
    if raw["class"] not in CLASSES:
        raise SpecError(f"{cid}: class must be 1..11")
    if not isinstance(raw["held_out"], bool):
        raise SpecError(f"{cid}: held_out must be true or false")
    lang = raw.get("lang", "es")
    if lang not in ("es", "en"):
        raise SpecError(f"{cid}: lang must be es or en")
    fields = set(DEALERS[raw["dealer"]].columns)
    turns: list[Turn] = []
    if not isinstance(raw["turns"], list) or not raw["turns"]:
        raise SpecError(f"{cid}: turns must be a non-empty list")
    for n, t in enumerate(raw["turns"], start=1):
        where = f"{cid} turn {n}"
        if not isinstance(t, dict) or set(t) - TURN_KEYS or not isinstance(t.get("user"), str) or not t["user"]:
            raise SpecError(f"{where}: a turn is {{user: text, expect: {{...}}}}")
        expect = t.get("expect") or {}
        errors += _check_expect(expect, where, n, fields)
        turns.append(Turn(user=t["user"], expect=expect))
    if errors:
        raise SpecError("; ".join(errors))
    return Conversation(
        id=cid,
        dealer=raw["dealer"],
        cls=raw["class"],
        held_out=raw["held_out"],
        lang=lang,
        turns=turns,
        flags=dict(raw.get("flags") or {}),
        source=source,
    )


def load_conversations(directory: Path = SETS) -> list[Conversation]:
    """Every conversation of every set file, validated; ids are unique."""
    conversations: list[Conversation] = []
    for path in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise SpecError(f"{path.name}: a list of conversations")
        conversations += [_parse(raw, path.name) for raw in data]
    seen: set[str] = set()
    for c in conversations:
        if c.id in seen:
            raise SpecError(f"duplicate conversation id {c.id}")
        seen.add(c.id)
    return conversations


__all__ = ["CLASSES", "RANGES", "Conversation", "SpecError", "Turn", "load_conversations"]
