"""Rule-based (no LLM) reading of a concierge request: what, how many, budget, where and by when.

``extract_requirements`` is the offline tier: it turns "necesito 2 balatas delanteras para un Jetta
2017, cerca de Polanco, hasta 900 pesos, hoy" into a ``Requirements`` and merges later answers into the
earlier ones. The customer's words are only ever data: nothing in them changes what this code does,
instruction-looking fragments are dropped rather than forwarded to vendors, and every field is capped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.concierge.amounts import find_budget
from app.concierge.cleaning import blank, clean_text, folded_with_offsets, original_span, slice_original, tidy
from app.concierge.dialogue import is_ready, next_field
from app.concierge.geo import check_coordinates
from app.concierge.lexicon import (
    ADD_CUE,
    BULLET,
    CATEGORY_RULES,
    DETAILS_CUE,
    FLEXIBLE,
    GREETING,
    HERE,
    INSTRUCTION_LIKE,
    ITEM_SPLIT,
    LEADING_FILLER,
    LEADING_QUANTITY,
    MEASURE_AFTER,
    MODIFIERS,
    NOISE_WORDS,
    PLACE_PREFIX,
    RELOCATE,
    REPLACE_CUE,
    REQUEST_VERB,
    SENTENCE,
    SKIP_ANSWER,
    TRAILING_FILLER,
    TRAILING_QUANTITY,
    URGENCY_RULES,
    WORD_NUMBERS,
    YEARISH,
)
from app.concierge.places import find_location
from app.concierge.types import (
    MAX_HINT_CHARS,
    MAX_ITEM_DETAILS_CHARS,
    MAX_ITEM_NAME_CHARS,
    MAX_ITEMS,
    MAX_QUANTITY,
    OPTIONAL_FIELDS,
    Category,
    Currency,
    Item,
    Location,
    Requirements,
    Urgency,
    Zone,
)
from app.text.answers import after_answer
from app.text.contacts import scrub_contacts
from app.text.normalize import Language, detect_language, fold


def _find_urgency(t: str) -> tuple[Urgency | None, list[tuple[int, int]]]:
    if re.fullmatch(r"\W*ya(?:\W+ya)*\W*", t):
        return Urgency.now, [(0, len(t))]
    spans = [m.span() for m in FLEXIBLE.finditer(t)]
    if spans:
        return Urgency.flexible, spans
    found: dict[Urgency, list[tuple[int, int]]] = {}
    for urgency, pattern in URGENCY_RULES:
        hits = [m.span() for m in pattern.finditer(t)]
        if hits:
            found[urgency] = hits
            t = blank(t, hits)  # "pasado mañana" is not also "mañana"
    if not found:
        return None, []
    all_spans = [s for hits in found.values() for s in hits]
    # An explicit day beats a bare "urgente": "urgente para mañana" is needed by tomorrow.
    explicit = [u for u in (Urgency.today, Urgency.tomorrow, Urgency.this_week) if u in found]
    return (explicit[0] if explicit else Urgency.now), all_spans


def guess_category(text: str) -> Category | None:
    """The kind of vendor ``text`` calls for by keyword count (None when nothing matches)."""
    t = fold(text)
    best: tuple[int, int, Category] | None = None
    for order, (category, pattern) in enumerate(CATEGORY_RULES):
        hits = len(pattern.findall(t))
        if hits and (best is None or (hits, -order) > (best[0], -best[1])):
            best = (hits, order, category)
    return best[2] if best else None


def _strip_fillers(fragment: str) -> str:
    """``fragment`` without leading and trailing articles and connectors ("de la", "para", "the")."""
    f, offsets = folded_with_offsets(fragment)
    lead = LEADING_FILLER.match(f)
    start = lead.end() if lead is not None else 0
    trail = TRAILING_FILLER.search(f)
    end = trail.start() if trail is not None and trail.start() >= start else len(f)
    return slice_original(fragment, offsets, start, end)


def _take_quantity(fragment: str) -> tuple[int | None, str]:
    """A leading ("2 balatas", "un par de") or trailing ("x3") quantity, and the fragment without it."""
    f, offsets = folded_with_offsets(fragment)
    m = LEADING_QUANTITY.match(f)
    if m is not None and not (m.group("n") and MEASURE_AFTER.match(f, m.end("n"))):
        if m.group("n") or m.group("xn"):
            n = int(m.group("n") or m.group("xn"))
        elif m.group("pair"):
            n = 2
        else:
            n = WORD_NUMBERS[m.group("w")]
        if 1 <= n <= MAX_QUANTITY:
            return n, slice_original(fragment, offsets, m.end(), len(f))
    t = TRAILING_QUANTITY.search(f)
    if t is not None:
        n = int(t.group("a") or t.group("b"))
        if 1 <= n <= MAX_QUANTITY:
            return n, slice_original(fragment, offsets, 0, t.start())
    return None, fragment


def _split_details(fragment: str) -> tuple[str, str | None]:
    """ "balatas para un Jetta 2017" → ("balatas", "Jetta 2017")."""
    f, offsets = folded_with_offsets(fragment)
    cue = DETAILS_CUE.search(f)
    if cue is None or cue.start() == 0:
        return fragment, None
    return slice_original(fragment, offsets, 0, cue.start()), slice_original(
        fragment, offsets, cue.end(), len(f)
    ) or None


def _parse_items(residual: str) -> tuple[list[Item], bool]:
    """Items in the leftover original text once money, place and time words are blanked out."""
    items: list[Item] = []
    suspicious = False
    # Blanked-out spans leave long runs of spaces; collapsed first, they cannot make the split quadratic.
    residual = re.sub(r"[ \t]{2,}", " ", residual)
    for raw_fragment in ITEM_SPLIT.split(residual):
        fragment = BULLET.sub("", raw_fragment).strip(" .,:;!?¿¡-\"'()")
        if not fragment:
            continue
        if INSTRUCTION_LIKE.search(fold(fragment)):
            suspicious = True
            continue
        quantity, fragment = _take_quantity(_strip_fillers(fragment))
        fragment = _strip_fillers(fragment)
        f = fold(fragment)
        if not re.search(r"[a-zñ]{2}", f) or all(w in NOISE_WORDS for w in re.findall(r"[a-zñ]+", f)):
            continue
        fragment, details = _split_details(fragment)
        words = re.findall(r"[a-zñ0-9]+", fold(fragment))
        if items and YEARISH.match(" ".join(words)):
            # "balatas delanteras, Jetta 2017": the car belongs to the item before.
            prev = items[-1]
            merged = ", ".join(x for x in (prev.details, tidy(fragment, MAX_ITEM_DETAILS_CHARS)) if x)
            items[-1] = prev.model_copy(update={"details": merged[:MAX_ITEM_DETAILS_CHARS] or None})
            continue
        if items and len(words) == 1 and words[0] in MODIFIERS and quantity is None:
            # "balatas delanteras y traseras": one item, not "traseras" on its own.
            prev = items[-1]
            items[-1] = prev.model_copy(update={"name": tidy(f"{prev.name} y {fragment}", MAX_ITEM_NAME_CHARS)})
            continue
        name = tidy(fragment, MAX_ITEM_NAME_CHARS)
        if not re.search(r"[^\W\d_]{2}", name):
            continue
        detail_text = tidy(details, MAX_ITEM_DETAILS_CHARS) if details else None
        items.append(Item(name=name, quantity=quantity, details=detail_text or None))
        if len(items) >= MAX_ITEMS:
            break
    return items, suspicious


def _merge_items(old: list[Item], new: list[Item]) -> list[Item]:
    merged = list(old)
    seen = {fold(i.name) for i in merged}
    for item in new:
        key = fold(item.name)
        if key in seen:
            merged = [item if fold(m.name) == key else m for m in merged]
            continue
        seen.add(key)
        merged.append(item)
    return merged[:MAX_ITEMS]


def extract_requirements(
    text: str,
    *,
    zones: Sequence[Zone] = (),
    language: Language | None = None,
    previous: Requirements | None = None,
    pin: tuple[float, float] | None = None,
    default_currency: Currency = "MXN",
    region: str | None = None,
) -> Requirements:
    """Read one customer message (and an optional shared WhatsApp ``pin`` (lat, lon)) into Requirements,
    merged into ``previous`` answers (``region``: how phone numbers without a country code are read)."""
    # Links, e-mail addresses and phone numbers go first: they are never an item, and never reach a vendor.
    cleaned = scrub_contacts(clean_text(text), region=region)
    lang: Language = language or (previous.language if previous else None) or detect_language(cleaned)
    prev = previous or Requirements(language=lang)
    awaiting = next_field(prev) if previous is not None else None

    t, offsets = folded_with_offsets(cleaned)
    spans: list[tuple[int, int]] = []
    # A sentence that reads like instructions to a bot is dropped whole, before any field is read from it.
    injected = [m.span() for m in SENTENCE.finditer(t) if INSTRUCTION_LIKE.search(m.group(0))]
    spans += injected
    spans += [m.span() for m in HERE.finditer(t)]  # "estoy aquí" points at a pin; it is no item and no place
    t_for_rules = blank(t, spans)

    location, hint_span, loc_spans = find_location(t_for_rules, zones)
    hint: str | None = None
    if hint_span is not None:
        o_start, o_end = original_span(offsets, *hint_span, len(cleaned))
        hint = tidy(cleaned[o_start:o_end], MAX_HINT_CHARS) or None
    if pin is not None:
        check_coordinates(pin[0], pin[1])
        location, hint = Location(lat=pin[0], lon=pin[1], source="pin"), None
    budget, budget_spans, per_unit, no_budget = find_budget(
        blank(t_for_rules, loc_spans), default_currency, expected=awaiting == "budget"
    )
    urgency, urgency_spans = _find_urgency(t_for_rules)
    spans += loc_spans + budget_spans + urgency_spans
    spans += [m.span() for m in GREETING.finditer(t)]
    spans += [m.span() for m in REQUEST_VERB.finditer(t)]
    spans += [m.span() for m in REPLACE_CUE.finditer(t)]
    replace = REPLACE_CUE.search(t_for_rules) is not None
    # "mejor en Tlalpan" after a location was set: a new place we do not know, not a new item.
    moved = RELOCATE.search(t_for_rules) if replace and location is None and prev.location is not None else None
    if moved is not None and hint is None:
        o_start, o_end = original_span(offsets, *moved.span("place"), len(cleaned))
        hint = tidy(re.split(r"[,.;!?]", cleaned[o_start:o_end])[0], MAX_HINT_CHARS) or None
        spans.append(moved.span())
    relocating = replace and location is None and hint is not None

    declined = list(prev.declined)
    answer = re.sub(r"[^a-zñ/' ]", "", t).strip()
    skip = SKIP_ANSWER.match(answer) is not None
    if no_budget and "budget" not in declined:
        declined.append("budget")
    if skip and awaiting in OPTIONAL_FIELDS and awaiting not in declined:
        declined.append(awaiting)

    new_items: list[Item] = []
    suspicious = prev.suspicious_text or bool(injected)
    wants_items = not prev.items or awaiting == "items" or replace or ADD_CUE.search(t_for_rules) is not None
    if wants_items and not skip and not relocating:
        original_spans = [original_span(offsets, s, e, len(cleaned)) for s, e in spans if e > s]
        new_items, flagged = _parse_items(blank(cleaned, original_spans))
        suspicious = suspicious or flagged
    elif INSTRUCTION_LIKE.search(t):
        suspicious = True
    items = new_items if (replace and new_items) else _merge_items(prev.items, new_items)
    if replace and len(prev.items) == 1 and len(new_items) == 1 and fold(new_items[0].name) in MODIFIERS:
        # "no, son traseras": the same item with another side, not an item called "traseras".
        old = prev.items[0]
        base = " ".join(w for w in old.name.split() if fold(w) not in MODIFIERS and fold(w) != "y")
        items = [old.model_copy(update={"name": tidy(f"{base} {new_items[0].name}", MAX_ITEM_NAME_CHARS)})]

    quantity = items[0].quantity if len(items) == 1 else None
    item_text = " ".join(f"{i.name} {i.details or ''}" for i in items)
    category = guess_category(item_text) if items else None
    if category is None and items:
        category = prev.category or Category.other

    if location is not None:
        hint = None
    elif hint is None and awaiting == "location" and not skip and not new_items and prev.location is None:
        # The reply to "¿en qué zona?" was a place we do not know: keep it to show back.
        guess = tidy(re.split(r"[,.;!?\n]", PLACE_PREFIX.sub("", cleaned))[0], MAX_HINT_CHARS)
        hint = guess if re.search(r"[^\W\d_]{3}", guess) and not INSTRUCTION_LIKE.search(t) else None
        hint = None if HERE.search(t) else hint

    return Requirements(
        items=items,
        quantity=quantity,
        budget=budget or (None if no_budget else prev.budget),
        budget_per_unit=per_unit if budget is not None else (prev.budget_per_unit and not no_budget),
        # A new place we could not match replaces the old one: asking again beats searching the wrong area.
        location=None if relocating else (location or prev.location),
        location_hint=hint if relocating or (location is None and prev.location is None) else None,
        urgency=urgency or prev.urgency,
        category=category,
        declined=declined,
        language=lang,
        suspicious_text=suspicious,
    )


def with_details(
    previous: Requirements,
    text: str,
    *,
    zones: Sequence[Zone] = (),
    language: Language | None = None,
    pin: tuple[float, float] | None = None,
) -> Requirements:
    """The request a customer confirmed with details after the yes ("sí, confirmo, las delanteras, hasta 1500").

    The budget, place or date they add is taken; a side ("las delanteras") joins the one item's name.
    """
    rest = after_answer(text)
    if not rest:
        return previous
    updated = extract_requirements(rest, zones=zones, language=language, previous=previous, pin=pin)
    sides = [w for w in re.findall(r"[a-zñ]+", fold(rest)) if w in MODIFIERS]
    if sides and len(updated.items) == 1:
        item = updated.items[0]
        named = {fold(w) for w in item.name.split()}
        extra = [w for w in sides if w not in named]
        if extra:
            name = tidy(f"{item.name} {' '.join(extra)}", MAX_ITEM_NAME_CHARS)
            updated = updated.model_copy(update={"items": [item.model_copy(update={"name": name})]})
    return updated if is_ready(updated) else previous
