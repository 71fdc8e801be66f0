"""Split an entry into retrievable chunks that respect its Markdown structure: headings, then sub-parts.

Sections are cut at the entry's own headings first (levels 1-4, blank lines and indentation kept), so a
chunk never straddles two sections and knows the heading path above it. Company texts often mark the
sub-parts of a section with **bold lines** ("**Garantía extendida**") or bold-lead list items
("- **Identificación:** INE vigente") rather than headings: a section longer than ``SECTION_CHARS`` is
cut at those sub-parts, each becoming a chunk whose heading path ends with the sub-part's label, so a
question about one sub-part finds that one and its answer starts where it starts (never mid-list). A
section without such sub-parts is packed by paragraphs and whole list items; only a single block longer
than ``CHUNK_CHARS`` (a long paragraph) is cut at sentence and word boundaries with about
``OVERLAP_CHARS`` of overlap (LangChain's ``RecursiveCharacterTextSplitter``). A short FAQ stays one chunk.

FAQ-style texts are cut per question-answer pair: a section with a labelled question line ("**P: ¿Dónde
están?**", "**Pregunta:** ...", "Q: ...") or with several bold question lines ("**¿Cómo aparto?**") is a
list of pairs, each starting at its question (or at another bold line), however short the section. A
pair's chunk is its question as a bold line and its answer without the "R:"/"Respuesta:"/"A:" label, and
its heading path ends with the question, so "¿me devuelven el apartado?" finds that one pair. A pair
longer than ``SECTION_CHARS`` is cut further at its own sub-parts (one chunk per bold-lead list item:
"1. **San Pedro**" with its sub-bullets), the question and the list's lead-in travelling with the first.

``section`` numbers the answer units of an entry (its heading sections, and each pair of an FAQ section
its own): the chunks of one section, in order, are what an answer continues with when the customer asks
to hear more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

CHUNK_CHARS = 900
OVERLAP_CHARS = 150
# A section up to this long stays one chunk even when it has sub-parts: it answers whole.
SECTION_CHARS = 600
# A lead-in this short ("Para tu crédito necesitas:") travels with the first sub-part instead of alone.
LEAD_IN_CHARS = 200
_HEADING = re.compile(r"^\s{0,3}(#{1,4})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")

# "**Garantía extendida**", "__Horario__:", "**Requisitos:**" alone on their line.
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)\s*(?P<label>[^*_\n]{1,120}?)\s*:?\s*(?:\*\*|__)\s*:?\s*$")
# "- **Identificación:** INE", "1. **Plazo** — 12 a 60 meses", "**Horario:** de 9 a 19 h" (no bullet).
_BOLD_ITEM = re.compile(r"^(?:(?:[-*+]|\d{1,2}[.)])\s+)?(?:\*\*|__)\s*(?P<label>[^*_\n]{1,120}?)\s*:?\s*(?:\*\*|__)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")

# FAQ labels: "P:", "Pregunta:", "Q:", "Question:" before a question; "R:", "Respuesta:", "A:", "Answer:" before
# its answer. Either may be bold on its own ("**P:** ¿...?") or bold with the text ("**P: ¿...?**").
_Q_LABEL = r"(?:p|pregunta|q|question)"
_A_LABEL = r"(?:r|resp|respuesta|a|answer)"
_LABELLED_QUESTION = re.compile(
    rf"^\s*(?P<bold>\*\*|__)?\s*{_Q_LABEL}\s*(?:\*\*|__)?\s*:\s*(?P<question>\S.*?)\s*$", re.IGNORECASE
)
_ANSWER_LABEL = re.compile(rf"^\s*(?:\*\*|__)?\s*{_A_LABEL}\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?[ \t]*", re.IGNORECASE)
_MARKUP_EDGES = re.compile(r"^[\s*_]+|[\s*_]+$")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One piece of an entry: its position, the heading path above it, its text and its section."""

    ordinal: int
    heading: str
    content: str
    section: int = 0


@dataclass(frozen=True, slots=True)
class _Part:
    label: str | None
    text: str


def plain_heading(text: str) -> str:
    """A heading's words without inline markup ("## **Financiamiento**" → "Financiamiento")."""
    return re.sub(r"[*_`]+", "", text).strip() or text.strip()


def sections(content: str) -> list[tuple[list[str], str]]:
    """The text under each heading (levels 1-4, outside code fences) with the heading path above it.

    The text keeps its blank lines and indentation (paragraphs and nested lists stay recognisable);
    headings without text under them give no section.
    """
    found: list[tuple[list[str], str]] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    fenced = False

    def flush() -> None:
        text = "\n".join(body).strip("\n")
        if text.strip():
            found.append(([t for _, t in stack], text.strip()))
        body.clear()

    for line in content.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match is None:
            body.append(line)
            continue
        flush()
        level = len(match.group(1))
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, plain_heading(match.group(2))))
    flush()
    return found


def _heading_path(*parts: str) -> str:
    return " / ".join(dict.fromkeys(p.strip() for p in parts if p and p.strip()))[:500]


def sub_parts(text: str) -> list[_Part]:
    """The section's text cut before each bold line, or else before each bold-lead top-level list item.

    The text before the first sub-part (a lead-in) is a part of its own with no label; nothing is lost.
    """
    lines = text.split("\n")
    marker = _BOLD_LINE if sum(bool(_BOLD_LINE.match(line)) for line in lines) >= 2 else _BOLD_ITEM
    starts = [i for i, line in enumerate(lines) if marker.match(line)]
    if len(starts) < 2:
        return [_Part(None, text.strip())]
    parts: list[_Part] = []
    lead = "\n".join(lines[: starts[0]]).strip()
    if lead:
        parts.append(_Part(None, lead))
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        match = marker.match(lines[start])
        label = match.group("label").strip() if match else None
        body = "\n".join(lines[start:end]).strip()
        if body:
            parts.append(_Part(label, body))
    if len(parts) >= 2 and parts[0].label is None and len(parts[0].text) <= LEAD_IN_CHARS:
        parts[1:2] = [_Part(parts[1].label, f"{parts[0].text}\n\n{parts[1].text}")]
        parts.pop(0)
    return parts


def _question(line: str, following: str) -> str | None:
    """The question a line asks as an FAQ pair's start, without label or markup; None when it is no question.

    A labelled line counts when bold, when it ends with "?" or when the next line is a labelled answer; a
    bold line alone counts when it is a question ("**¿Cómo aparto un auto?**").
    """
    labelled = _LABELLED_QUESTION.match(line)
    if labelled is not None:
        question = _MARKUP_EDGES.sub("", labelled.group("question"))
        if question and (labelled.group("bold") or question.endswith("?") or _ANSWER_LABEL.match(following)):
            return question
        return None
    bold = _BOLD_LINE.match(line)
    if bold is not None and bold.group("label").endswith("?") and not line.rstrip().endswith(":"):
        return bold.group("label").strip()
    return None


def _questions(lines: list[str]) -> list[str | None]:
    following = [*lines[1:], ""]
    return [_question(line, nxt) for line, nxt in zip(lines, following, strict=True)]


def is_faq(text: str) -> bool:
    """Whether ``text`` is written as question-answer pairs: a labelled question, or two bold question lines."""
    lines = text.split("\n")
    found = [(q, line) for q, line in zip(_questions(lines), lines, strict=True) if q is not None]
    return any(_LABELLED_QUESTION.match(line) for _, line in found) or len(found) >= 2


def without_answer_label(text: str) -> str:
    """An answer without its leading "R:" / "**Respuesta:**" / "A:" label."""
    return _ANSWER_LABEL.sub("", text.lstrip("\n"), count=1).lstrip()


def faq_pairs(text: str) -> list[_Part]:
    """An FAQ section as its pairs: each starts at a question line (or another bold line) and runs to the next.

    A pair's text is "**question**" on a line of its own, then the answer without its label; text before
    the first pair is a part with no label.
    """
    lines = text.split("\n")
    questions = _questions(lines)
    starts = [i for i, line in enumerate(lines) if questions[i] is not None or _BOLD_LINE.match(line)]
    parts: list[_Part] = []
    lead = "\n".join(lines[: starts[0]] if starts else lines).strip()
    if lead:
        parts.append(_Part(None, lead))
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        question = questions[start]
        if question is None:  # another bold line ("**Extensión del apartado**"): a labelled sub-part as usual
            match = _BOLD_LINE.match(lines[start])
            label = match.group("label").strip() if match else None
            parts.append(_Part(label, "\n".join(lines[start:end]).strip()))
            continue
        answer = without_answer_label("\n".join(lines[start + 1 : end])).strip()
        parts.append(_Part(question, f"**{question}**\n{answer}".strip()))
    return parts


def block_spans(text: str) -> list[tuple[int, int]]:
    """Where the paragraphs and whole list items (with their continuation lines) of ``text`` are."""
    spans: list[tuple[int, int]] = []
    start: int | None = None
    end = 0
    offset = 0
    for line in text.split("\n"):
        line_end = offset + len(line)
        if not line.strip():
            if start is not None:
                spans.append((start, end))
                start = None
        else:
            starts_item = bool(_LIST_ITEM.match(line)) and not line.startswith(("  ", "\t"))
            if starts_item and start is not None:
                spans.append((start, end))
                start = None
            if start is None:
                start = offset
            end = line_end
        offset = line_end + 1
    if start is not None:
        spans.append((start, end))
    return spans


def blocks(text: str) -> list[str]:
    """Paragraphs and whole list items (with their continuation lines), in order."""
    return [text[a:b] for a, b in block_spans(text)]


def _units(text: str, chunk_chars: int) -> list[tuple[int, int, bool]]:
    """The block spans, with a lead-in ending in ":" and the list right under it as one span when it fits.

    So a piece never starts mid-list without the line that says what the list is ("Requisitos:"). The flag
    tells such a lead-in-and-list span from a plain block.
    """
    spans = block_spans(text)
    units: list[tuple[int, int, bool]] = []
    i = 0
    while i < len(spans):
        a, b = spans[i]
        j = i
        if not _LIST_ITEM.match(text[a:b]) and text[a:b].rstrip().endswith(":"):
            while j + 1 < len(spans) and _LIST_ITEM.match(text[spans[j + 1][0] : spans[j + 1][1]]):
                j += 1
        if j > i and spans[j][1] - a <= chunk_chars:
            units.append((a, spans[j][1], True))
            i = j + 1
            continue
        units.append((a, b, False))
        i += 1
    return units


def _pack(text: str, chunk_chars: int, splitter: RecursiveCharacterTextSplitter) -> list[str]:
    """Whole blocks packed up to ``chunk_chars``; only a block longer than that is cut (with overlap).

    A lead-in and its list count as one block (``_units``) when together they fit; what follows such a list
    starts a piece of its own once the piece would pass ``SECTION_CHARS`` (the paragraph after "Requisitos:
    1) ... 6) ..." is about something else, and is found and answered on its own).
    """
    pieces: list[str] = []
    start: int | None = None
    end = 0
    after_list = False
    for a, b, is_list in _units(text, chunk_chars):
        if b - a > chunk_chars:
            if start is not None:
                pieces.append(text[start:end])
                start = None
            pieces.extend(p.strip() for p in splitter.split_text(text[a:b]) if p.strip())
            after_list = False
            continue
        if start is None:
            start = a
        elif b - start > chunk_chars or (after_list and b - start > SECTION_CHARS):
            pieces.append(text[start:end])
            start = a
        end = b
        after_list = is_list
    if start is not None:
        pieces.append(text[start:end])
    return pieces


def chunk_entry(
    title: str, content: str, *, chunk_chars: int = CHUNK_CHARS, overlap_chars: int = OVERLAP_CHARS
) -> list[Chunk]:
    """The chunks of one entry, in reading order; headings are "title / section / subsection / sub-part"."""
    if not 0 <= overlap_chars < chunk_chars:
        raise ValueError("overlap_chars must be at least 0 and smaller than chunk_chars")
    splitter = RecursiveCharacterTextSplitter.from_language(
        Language.MARKDOWN, chunk_size=chunk_chars, chunk_overlap=overlap_chars
    )
    chunks: list[Chunk] = []
    number = 0

    def add(path: str, text: str, section: int) -> None:
        for piece in _pack(text, chunk_chars, splitter):
            chunks.append(Chunk(ordinal=len(chunks), heading=path, content=piece.strip(), section=section))

    for path_above, body in sections(content):
        heading = _heading_path(title, *path_above)
        if heading.endswith("?"):  # "### ¿Dónde están?" then "R: ...": the answer without its label
            body = without_answer_label(body) or body
        if is_faq(body):
            for pair in faq_pairs(body):  # each pair answers on its own
                for path, text in _pair_parts(heading, pair):
                    add(path, text, number)
                number += 1
            continue
        parts = [_Part(None, body)] if len(body) <= SECTION_CHARS else sub_parts(body)
        for part in parts:
            add(_heading_path(heading, part.label or ""), part.text, number)
        number += 1
    if not chunks:  # headings with no text under them: the entry still answers by its title
        chunks.append(Chunk(ordinal=0, heading=title[:500], content=content.strip() or title))
    return chunks


def _pair_parts(heading: str, pair: _Part) -> list[tuple[str, str]]:
    """A pair as (heading path, text) pieces: whole when short, else cut at its answer's own sub-parts.

    The question line travels with the first piece; every piece's path names the question.
    """
    path = _heading_path(heading, pair.label or "")
    if len(pair.text) <= SECTION_CHARS or pair.label is None:
        return [(path, pair.text)]
    question, _, answer = pair.text.partition("\n")
    parts = sub_parts(answer)
    if len(parts) < 2:
        return [(path, pair.text)]
    pieces = [(_heading_path(path, part.label or ""), part.text) for part in parts]
    pieces[0] = (pieces[0][0], f"{question}\n{pieces[0][1]}")
    return pieces
