"""Answers from the knowledge base as a WhatsApp message: the relevant passage, formatted, concise, resumable.

A retrieved chunk is the start of the answer. When it opens its section (the question is about the
section as a whole), the answer runs on through the section's following chunks; when it is one sub-part
of a section (a bold-line sub-part, one bold-lead list item) the answer is that sub-part. Either way the
text is converted from Markdown to WhatsApp formatting (``**x**`` → ``*x*``, headings → bold lines,
tables → list lines, links → "text (url)"), cut at paragraph and list-item boundaries to fit the
budget (sentence, then word boundaries only for a single over-long paragraph), and what is left is
described by a ``More`` the conversation keeps, so "dime más" continues exactly where the answer stopped.

FAQ texts: a question-answer pair the answer starts with is shown as its answer alone (the customer just
asked it); other pairs read after it keep their question as a bold line. A list's lead-in ("con estas
condiciones:") never ends a message without its items. Items with sub-bullets (a branch's address, hours,
days closed) asked about all at once are summarised by the sub-bullets the question is about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from app.knowledge.chunking import Chunk, block_spans, blocks
from app.text.normalize import fold

ANSWER_CHARS = 600  # what an answer aims at, everything included


class More(BaseModel):
    """What is left of a passage: the entry, the chunk ordinals still to show, how much of the first was shown."""

    entry_id: str
    head: int = 0  # the chunk the answer started with (shown with its heading, without a lone bullet)
    queue: list[int] = Field(default_factory=list)
    offset: int = 0
    language: str = "es"
    turn: int = 0


@dataclass(frozen=True, slots=True)
class Portion:
    """A piece of a passage ready to send, and what remains after it (None: nothing)."""

    text: str
    more: More | None


# ------------------------------------------------------------------------------------- WhatsApp formatting

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$")
_BULLET = re.compile(r"^(\s*)[*+•]\s+")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)[^)]*\)")
_CODE = re.compile(r"`{1,3}([^`]+)`{1,3}")
_ITALIC = re.compile(r"(?<![*\w])\*(?![\s*])([^*\n]+?)(?<![\s*])\*(?![*\w])")
_BOLD = re.compile(r"(\*\*|__)\s*(.+?)\s*\1")
_STRIKE = re.compile(r"~~\s*(.+?)\s*~~")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>\n]*>")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~])")


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def _table_lines(rows: list[str]) -> list[str]:
    """A Markdown table as list lines: "- a: b" for two columns, "- a — h2: b; h3: c" for more."""
    header: list[str] | None = None
    if len(rows) >= 2 and _TABLE_SEPARATOR.match(rows[1]):
        header, rows = _cells(rows[0]), rows[2:]
    lines = []
    for row in rows:
        if _TABLE_SEPARATOR.match(row):
            continue
        cells = _cells(row)
        if len(cells) == 2:
            lines.append(f"- {cells[0]}: {cells[1]}")
        elif header and len(header) == len(cells):
            rest = "; ".join(f"{h}: {c}" if h else c for h, c in zip(header[1:], cells[1:], strict=True))
            lines.append(f"- {cells[0]} — {rest}")
        else:
            lines.append("- " + " · ".join(c for c in cells if c))
    return lines


def to_whatsapp(markdown: str) -> str:
    """``markdown`` as WhatsApp shows it: *bold*, _italic_, ~strike~, "- " lists, no raw Markdown left."""
    lines: list[str] = []
    table: list[str] = []
    for line in markdown.replace("\r\n", "\n").split("\n"):
        if _TABLE_ROW.match(line):
            table.append(line)
            continue
        if table:
            lines.extend(_table_lines(table))
            table = []
        if _RULE.match(line) and not _BULLET.match(line.replace("-", "*", 1) + " x"):
            continue
        heading = _HEADING.match(line)
        if heading:
            lines.append(f"**{heading.group(1).strip('*_ ')}**")
            continue
        lines.append(_BULLET.sub(r"\1- ", line).rstrip())
    if table:
        lines.extend(_table_lines(table))
    text = "\n".join(lines)
    text = _BREAK.sub("\n", text)
    text = _TAG.sub("", text)
    text = _IMAGE.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(1) else m.group(2), text)
    text = _LINK.sub(lambda m: m.group(2) if m.group(1) == m.group(2) else f"{m.group(1)} ({m.group(2)})", text)
    text = _CODE.sub(r"\1", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _BOLD.sub(r"*\2*", text)
    text = _STRIKE.sub(r"~\1~", text)
    text = text.replace("**", "")
    text = _ESCAPE.sub(r"\1", text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# ------------------------------------------------------------------------------------- passages

_LIST_START = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+")
_WORDS = re.compile(r"[a-z0-9ñ]+")


def _path(heading: str) -> list[str]:
    return [p for p in heading.split(" / ") if p]


_QUESTION_LINE = re.compile(r"^(?:\*\*|__)(?P<question>[^\n]+?\?)(?:\*\*|__)\n")


def _asked(chunk: Chunk) -> re.Match[str] | None:
    """The question line an FAQ pair's chunk opens with (the question is in its heading path)."""
    asked = _QUESTION_LINE.match(chunk.content)
    return asked if asked is not None and asked.group("question").strip() in _path(chunk.heading) else None


def faq_entry(chunks: Sequence[Chunk]) -> bool:
    """Whether an entry is written as question-answer pairs (two chunks or more open with their question)."""
    return sum(_asked(c) is not None for c in chunks) >= 2


def _single_item(text: str) -> bool:
    return len(block_spans(text)) == 1 and _LIST_START.match(text) is not None


def display_text(chunk: Chunk, title: str, *, first: bool, unlist: bool = False, faq: bool = False) -> str:
    """A chunk as the customer reads it, in WhatsApp formatting.

    A chunk of a sub-section inside the entry gets its heading as a bold line (unless its text opens with
    it); one shown alone that is a single list item loses its bullet, so an answer never starts mid-list.
    An FAQ pair the answer starts with is its answer alone (the customer just asked the question); a pair
    read after it keeps its question as a bold line, so each answer says what it answers. With ``unlist``
    (the answer started with one item of a list) the list's other items read the same way, without bullet.
    ``faq``: the entry is written as question-answer pairs.
    """
    text = chunk.content
    path, base = _path(chunk.heading), _path(title)
    asked = _asked(chunk) if faq else None
    if (first or unlist) and asked is not None:
        text = text[asked.end() :].lstrip("\n")
    elif first and len(path) > len(base):
        label = path[-1]
        if label.casefold() not in text.casefold():
            text = f"**{label}**\n{text}"
    spans = block_spans(text)
    if (
        unlist
        and not first
        and len(spans) == 2
        and _lead_in(text[slice(*spans[0])])
        and _single_item(text[spans[1][0] :])
    ):
        text = text[spans[1][0] :]  # the list's other items, each on its own: its lead-in was passed
    if (first or unlist) and _single_item(text):
        text = _LIST_START.sub("", text, count=1)
    return to_whatsapp(text)


def start_queue(chunks: list[Chunk], ordinal: int, *, first: Sequence[int] = ()) -> list[int]:
    """The chunk ordinals an answer starting at ``ordinal`` reads, in order.

    At the start of its section: the section on from there. Inside it (one sub-part): that chunk, then
    the rest of the section after it, then what came before it. Chunks of the section listed in ``first``
    (other passages the search found for the question) come right after the start, in their order; so do
    other FAQ pairs of the entry listed there ("¿cuánto me dan por mi carro?": the trade-in pair, then the
    appraisal one).
    """
    by_ordinal = {c.ordinal: c for c in chunks}
    start = by_ordinal.get(ordinal)
    if start is None:
        return []
    section = [c.ordinal for c in chunks if c.section == start.section]
    position = section.index(ordinal)
    queue = section if position == 0 else [ordinal, *section[position + 1 :], *section[:position]]
    if faq_entry(chunks):
        pairs = [o for o in first if o in by_ordinal and o not in queue and _asked(by_ordinal[o]) is not None]
        queue = [queue[0], *pairs, *queue[1:]]
    promoted = [o for o in dict.fromkeys(first) if o in queue[1:]]
    if not promoted:
        return queue
    return [queue[0], *promoted, *(o for o in queue[1:] if o not in promoted)]


def _overlap(previous: str, following: str) -> int:
    """How many leading characters of ``following`` repeat the end of ``previous`` (split overlap)."""
    for size in range(min(len(previous), len(following), 400), 19, -1):
        if previous.endswith(following[:size]):
            return size
    return 0


def _cut(text: str, budget: int) -> int:
    """Where to stop in one over-long paragraph: the last sentence end, else word end, within ``budget``."""
    window = text[:budget]
    sentence = max(window.rfind(". "), window.rfind("! "), window.rfind("? "), window.rfind(".\n"))
    if sentence >= budget // 3:
        return sentence + 1
    space = window.rfind(" ")
    return space if space > 0 else budget


_LABEL_ONLY = re.compile(r"^\s*(?:\*\*|__|\*|_)[^*_\n]+(?:\*\*|__|\*|_)\s*$")


def _lead_in(block: str) -> bool:
    """A block that announces what follows: a list's lead-in ("con estas condiciones:"), a bold label alone."""
    return block.rstrip(" *_").endswith(":") or bool(_LABEL_ONLY.match(block))


def take(chunks: list[Chunk], title: str, more: More, *, budget: int) -> tuple[str, More | None, bool]:
    """Up to ``budget`` characters of the passage ``more`` describes, cut between blocks.

    A list's lead-in never ends the text without its items: the cut moves before it (unless it is all
    there is, then the first item is cut into). Returns the text, what is left (None when nothing), and
    whether the text had to be cut mid-paragraph (the caller then marks the cut with an ellipsis).
    """
    by_ordinal = {c.ordinal: c for c in chunks}
    queue = [o for o in more.queue if o in by_ordinal]
    offset = more.offset
    pieces: list[str] = []
    previous: tuple[int, str] | None = None
    # The last block taken when it is a lead-in: its chunk, where it starts there, the last piece without it.
    lead: tuple[int, int, str] | None = None
    head = by_ordinal.get(more.head)
    items = head.section if head is not None and _single_item(head.content) else None
    faq = faq_entry(chunks)
    while queue:
        ordinal = queue[0]
        chunk = by_ordinal[ordinal]
        full = display_text(chunk, title, first=ordinal == more.head, unlist=chunk.section == items, faq=faq)
        if offset == 0 and previous is not None and previous[0] == ordinal - 1:
            offset = _overlap(previous[1], full)
        rest = full[offset:]
        spans = block_spans(rest)
        used = len(_joined(pieces)) + (2 if pieces else 0)
        kept = []
        for span in spans:
            if used + len(rest[: span[1]].strip()) > budget:
                break
            kept.append(span)
        if kept and len(kept) < len(spans) and _lead_in(rest[kept[-1][0] : kept[-1][1]]):
            if len(kept) == 1 and not pieces:  # the lead-in is all that fits: it comes with part of the first item
                stop = spans[1][0] + _cut(rest[spans[1][0] :], max(budget - spans[1][0], 1))
                return rest[:stop].strip(), _left(more, queue, offset + stop, full), True
            kept.pop()
        end = kept[-1][1] if kept else 0
        if end == 0 and not pieces and spans:  # the first block alone is too long: cut inside it
            start = spans[0][0]
            stop = start + _cut(rest[start:], budget)
            pieces.append(rest[start:stop].strip())
            return _joined(pieces), _left(more, queue, offset + stop, full), True
        if end == 0 and spans and lead is not None:  # nothing of this chunk fits after the last one's lead-in
            if any([*pieces[:-1], lead[2]]):  # the lead-in waits for its items
                pieces[-1] = lead[2]
                return _joined(pieces), more.model_copy(update={"queue": [lead[0], *queue], "offset": lead[1]}), False
            stop = spans[0][0] + _cut(rest[spans[0][0] :], max(budget - used, 1))  # all there is: part of an item
            pieces.append(rest[spans[0][0] : stop].strip())
            return _joined(pieces), _left(more, queue, offset + stop, full), True
        lead = None
        if end:
            pieces.append(rest[:end].strip())
            if _lead_in(rest[kept[-1][0] : kept[-1][1]]):
                lead = (ordinal, offset + kept[-1][0], rest[: kept[-1][0]].strip())
        if not spans or end < spans[-1][1]:
            if not spans:
                queue.pop(0)
                offset = 0
                continue
            return _joined(pieces), _left(more, queue, offset + end, full), False
        previous = (ordinal, full)
        queue.pop(0)
        offset = 0
    return _joined(pieces), None, False


def _joined(pieces: list[str]) -> str:
    """Pieces one after another; list items of consecutive chunks stay one list (no blank line between)."""
    out = ""
    for piece in (p for p in pieces if p):
        together = out and _LIST_START.match(out.rsplit("\n", 1)[-1]) and _LIST_START.match(piece)
        out = f"{out}\n{piece}" if together else (f"{out}\n\n{piece}" if out else piece)
    return out


def _left(more: More, queue: list[int], offset: int, full: str) -> More | None:
    while offset < len(full) and full[offset].isspace():
        offset += 1
    if offset >= len(full):
        queue, offset = queue[1:], 0
    if not queue:
        return None
    return more.model_copy(update={"queue": list(queue), "offset": offset})


# ------------------------------------------------------------------------------------- overviews

_NESTED_ITEM = re.compile(r"^[ \t]{2,}(?:[-*+•]|\d{1,3}[.)])\s+", re.MULTILINE)
_BOLD_START = re.compile(r"^(?:[-*+]\s+|\d{1,2}[.)]\s+)?(?:\*\*|__)\s*([^*_\n]+?)\s*:?\s*(?:\*\*|__)\s*:?\s*")
OVERVIEW_LINE_CHARS = 160
OVERVIEW_MIN_CHARS = 40


def _first_sentence(text: str) -> str:
    """The opening sentence of ``text`` (abbreviations like "Av." or "Col." do not end it), kept short."""
    flat = " ".join(text.split())
    end = len(flat)
    if _LIST_START.match(text.lstrip()):  # a list: its items, one after another
        items = [_LIST_START.sub("", line.strip()) for line in text.split("\n") if _LIST_START.match(line.strip())]
        flat = "; ".join(i.rstrip(".;") for i in items if i)
        end = len(flat)
    for match in re.finditer(r"[.!?](?=\s+[A-ZÁÉÍÓÚÑ¿¡])", flat):
        word = flat[: match.start()].rsplit(" ", 1)[-1]
        # "Av.", "Col.", "Blvd.", "Qro." are abbreviations; "grande.", "2021.", "MXN." end a sentence; a bare
        # "Sí." is too short to say anything, so the next sentence comes with it.
        ends = len(word) >= 5 or word.islower() or word.isupper() or not word[:1].isalpha()
        if ends and match.end() >= OVERVIEW_MIN_CHARS:
            end = match.end()
            break
    sentence = flat[:end]
    if len(sentence) > OVERVIEW_LINE_CHARS:
        cut = sentence.rfind(", ", 0, OVERVIEW_LINE_CHARS)
        if cut <= OVERVIEW_LINE_CHARS // 3:
            cut = sentence.rfind(" ", 0, OVERVIEW_LINE_CHARS)
        sentence = sentence[:cut]
        sentence = sentence.rstrip(" ,;:") + "…"
    return sentence


def _mentions(text: str, terms: list[list[str]]) -> int:
    """How many of the question's topic terms (any alternative, compared by word prefix) ``text`` has."""
    folded = " " + " ".join(_WORDS.findall(fold(text))) + " "
    return sum(any(f" {alt[:5]}" in folded for alt in group if alt) for group in terms)


def _label_echo(chunk: Chunk, title: str, question: str) -> int:
    """How many of the question's own words (4+ letters, by prefix) the sub-part's label repeats."""
    path = _path(chunk.heading)
    if len(path) <= len(_path(title)):  # no label of its own (the section's lead-in)
        return 0
    label = " " + " ".join(_WORDS.findall(fold(path[-1]))) + " "
    return sum(f" {w[:5]}" in label for w in set(_WORDS.findall(fold(question))) if len(w) >= 4)


def names_part(chunks: list[Chunk], ordinal: int, title: str, question: str) -> bool:
    """Whether the question names the sub-part of an FAQ answer the answer starts with ("¿a qué hora abren en
    San Pedro?" for the San Pedro item of the branches answer): then that part is the answer."""
    by_ordinal = {c.ordinal: c for c in chunks}
    chunk = by_ordinal.get(ordinal)
    if chunk is None or not question:
        return False
    before = [c for c in chunks if c.section == chunk.section and c.ordinal < ordinal]
    asked = _QUESTION_LINE.match(before[0].content) if before else None
    path = _path(chunk.heading)  # "... / ¿Dónde están sus sucursales? / San Pedro": a part of that answer
    pair = asked is not None and len(path) >= 2 and path[-2] == asked.group("question").strip()
    return pair and _label_echo(chunk, title, question) > 0


def about_whole_section(
    chunks: list[Chunk], queue: list[int], terms: list[list[str]], *, question: str = "", title: str = ""
) -> bool:
    """Whether a question is about its section as a whole rather than the section's first sub-part.

    The first sub-part must mention more of the question's topic than every other sub-part to be the
    question's subject ("¿cuánto es el enganche mínimo?" is about "Pago inicial"; "¿qué sedes tienen?"
    mentions every sede alike); a label echoing the question ("¿Reciben mi auto?" for "¿me reciben mi
    auto a cuenta?") counts twice.
    """
    by_ordinal = {c.ordinal: c for c in chunks}
    section = [by_ordinal[o] for o in queue if o in by_ordinal]
    # An FAQ pair's question belongs to the whole pair, not to its first sub-part.
    terms = [group for group in terms if any(len(t) >= 3 for t in group)]  # "el", "mi" are everywhere
    faq = faq_entry(chunks)
    counts = [_mentions(_answer_text(c, faq), terms) + 2 * _label_echo(c, title, question) for c in section]
    return len(counts) >= 2 and counts[0] <= max(counts[1:])


def _answer_text(chunk: Chunk, faq: bool) -> str:
    """A chunk's text without the question line it starts with when it is an FAQ pair."""
    asked = _asked(chunk) if faq else None
    return chunk.content[asked.end() :] if asked is not None else chunk.content


def _topical(terms: list[list[str]]) -> list[list[str]]:
    """The question's terms that name something ("domingos", "horario"), not "los", "el", "mi"."""
    return [group for group in terms if any(len(t) >= 4 for t in group)]


def _focused(section: list[Chunk], terms: list[list[str]], faq: bool) -> str | None:
    """Items with sub-bullets in brief: each item's label with only the sub-bullets the question is about.

    "¿A qué hora abren el sábado?" over three branches (address, hours, days closed each) gets each
    branch's hours; None when fewer than two items have such a sub-bullet.
    """
    terms = _topical(terms)
    intro: list[str] = []
    lines: list[str] = []
    for chunk in section:
        for block in blocks(_answer_text(chunk, faq)):
            start = _BOLD_START.match(block)
            if start is None:
                if not lines and not intro:
                    intro.append(_first_sentence(block))
                continue
            first, *rest = block.split("\n")
            picked = [
                re.sub(r"\*\*|__", "", _LIST_START.sub("", line.strip())).strip().rstrip(".;")
                for line in rest
                if _NESTED_ITEM.match(line) and _mentions(line, terms)
            ]
            if picked:
                extra = first[start.end() :].strip()
                label = f"**{start.group(1).strip()}**" + (f" {extra}" if extra else "")
                lines.append(f"{label}: {'; '.join(picked)}.")
    if len(lines) < 2:
        return None
    return to_whatsapp("\n".join([*intro, *lines]))


def overview(chunks: list[Chunk], title: str, queue: list[int], terms: list[list[str]] | None = None) -> str | None:
    """A section of labelled sub-parts in brief: its lead-in's first sentence, then one line per sub-part.

    "¿Qué sedes tienen?" over three long bold-line sub-parts gets all three (label and first sentence)
    rather than the first two in full; None when the section has fewer than two labelled sub-parts. Items
    with sub-bullets (a branch's address, hours, days closed) would lose too much in one sentence: each
    gets the sub-bullets the question's ``terms`` are about, or there is no overview.
    """
    by_ordinal = {c.ordinal: c for c in chunks}
    section = [by_ordinal[o] for o in queue if o in by_ordinal]
    depth = len(_path(title))
    if sum(len(_path(c.heading)) > depth for c in section) < 2:
        return None
    if any(_NESTED_ITEM.search(c.content) for c in section):
        return _focused(section, terms, faq_entry(chunks)) if terms else None
    intro: list[str] = []
    lines: list[str] = []
    for chunk in section:
        text = _answer_text(chunk, faq_entry(chunks))  # an FAQ pair's question: the customer asked it
        parts = [text[a:b] for a, b in block_spans(text)]
        for number, block in enumerate(parts):
            start = _BOLD_START.match(block)
            if start is None:
                if not lines and not intro:
                    intro.append(_first_sentence(block))
                continue
            rest = block[start.end() :].strip() or (parts[number + 1] if number + 1 < len(parts) else "")
            if _lead_in(rest):  # "con estas condiciones:": the conditions come with it
                listed = [p for p in parts[number + 1 :] if _LIST_START.match(p)]
                rest = f"{rest} {_first_sentence(chr(10).join(listed))}" if listed else rest
            lines.append(f"**{start.group(1).strip()}:** {_first_sentence(rest)}".rstrip())
            break
    if len(lines) < 2:
        return None
    # One line per sub-part, led by its bold label (not a list: an answer never opens with a bullet).
    return to_whatsapp("\n\n".join([*intro, "\n".join(lines)]))
