"""Company texts pasted from a word processor, turned into the Markdown the knowledge base is built from.

Businesses rarely write Markdown: they paste their Word document, whose sections are marked by ALL-CAPS
title lines ("HORARIOS DE ATENCIÓN"), by a "Título:" line standing alone, or by a short title-like line
followed by a blank line; lists are numbered "1)" or "2.-"; a table (branch, days, hours) arrives as
columns separated by tabs or runs of spaces. ``to_markdown`` gives such a text the structure a Markdown
text has (``##`` headings, list items, a table as one readable line per row) so that it is split into
sections and answered exactly like one. A text with any Markdown heading is returned untouched.

Texts pasted from WhatsApp (a business's "info" message or catalog) mark the same structure their own way:
rule lines between sections ("━━━━━━", "──────", "======"), emoji around titles ("📍 *NUESTRAS SUCURSALES*"),
and bold in single stars ("*1. ¿Dan crédito?*"). Rules become blank lines, a title keeps its words without
the emoji, and single-star bold becomes Markdown bold, so its bold lines are sub-parts and FAQ questions
as in a Markdown text.
"""

from __future__ import annotations

import re
import unicodedata

_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S")
_CELL_GAP = re.compile(r"\t+|\s{2,}")
# "2.-", "2.)", "2-" before the item's text: Word's numbering, as a Markdown ordered list item.
_WORD_NUMBER = re.compile(r"^(?P<indent>\s*)(?P<n>\d{1,3})\s*(?:\.-|\.\)|-\)|-)\s+(?=\S)")
_LIST_START = re.compile(r"^\s*(?:[-*+•·▪◦●]|\d{1,3}[.)]|[a-zA-Z][.)])\s+")
_LEADING_BULLET = re.compile(r"^(?P<indent>\s*)[·▪◦●■□➢➤►✓✔–—▫🔹🔸]\ufe0f?\s+")
_HOUR_RANGE = re.compile(r"\b(\d{1,2}:\d\d(?:\s*(?:h|hrs|am|pm))?)\s*(?:a|-|–|al?)\s*(\d{1,2}:\d\d)")
MAX_TITLE_CHARS = 80
MAX_TITLE_WORDS = 12
# A mixed-case title ("Horarios de atención") must be shorter: a short sentence is no title.
MAX_LOOSE_TITLE_CHARS = 60
MAX_LOOSE_TITLE_WORDS = 8


# WhatsApp's bold: one star each side, not Markdown's two ("*Cancún*", not "**Cancún**" nor "2 * 3 * 4").
_WHATSAPP_BOLD = re.compile(r"(?<![*\w])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?![*\w])")


def _decoration(char: str) -> bool:
    """An emoji, a symbol or a joiner/variation selector: decoration around a title, not its words."""
    return unicodedata.category(char) in {"So", "Sk", "Cf", "Mn", "Me"} or char.isspace()


def _undecorated(line: str) -> str:
    """The line without emoji and symbols at its start and end."""
    start, end = 0, len(line)
    while start < end and _decoration(line[start]):
        start += 1
    while end > start and _decoration(line[end - 1]):
        end -= 1
    return line[start:end]


def _is_rule(line: str) -> bool:
    """A separator line: three or more of one or two symbols ("━━━━", "-----", "=*=*=*", "~~~~") and no words."""
    text = line.strip()
    return len(text) >= 3 and not any(c.isalnum() for c in text) and len(set(text)) <= 2


def _from_whatsapp(lines: list[str]) -> list[str]:
    """WhatsApp markup as this module's input expects it: rules blank, titles bare, single-star bold as "**"."""
    out: list[str] = []
    for line in lines:
        if _is_rule(line):
            out.append("")
            continue
        core = _undecorated(line)
        bold = re.fullmatch(r"\*([^*\n]+)\*(:?)", core)
        inner = bold.group(1).strip() + bold.group(2) if bold else core
        if inner != line.strip() and _is_caps_title(inner):
            out.append(inner)  # "📍 *NUESTRAS SUCURSALES*": the title's words
        elif bold:
            out.append(f"**{inner}**")  # "*1. ¿Dan crédito?*": a bold line, as in Markdown
        else:
            out.append(_WHATSAPP_BOLD.sub(r"**\1**", line))
    return out


def _is_whatsapp_text(lines: list[str]) -> bool:
    """Whether the text uses WhatsApp's markup: single-star bold lines or rule lines between its parts."""
    bold_lines = sum(bool(re.fullmatch(r"\*[^*\n]+\*:?", _undecorated(line))) for line in lines)
    return bold_lines >= 2 or sum(_is_rule(line) for line in lines) >= 2


def has_markdown_headings(text: str) -> bool:
    """Whether ``text`` marks its sections with Markdown headings (then it is taken as Markdown)."""
    return any(_MARKDOWN_HEADING.match(line) for line in text.splitlines())


def _cells(line: str) -> list[str]:
    return [c.strip() for c in _CELL_GAP.split(line.strip()) if c.strip()]


def _is_row(line: str) -> bool:
    """A table row: two or more cells separated by tabs or runs of spaces (not indentation)."""
    return bool(line.strip()) and not _LIST_START.match(line) and len(_cells(line)) >= 2


def _letters(text: str) -> list[str]:
    return [c for c in text if c.isalpha()]


def _is_caps_title(line: str) -> bool:
    """An ALL-CAPS line short enough to be a title ("FINANCIAMIENTO", "PLAZAS Y HORARIOS")."""
    text = line.strip()
    letters = _letters(text)
    return (
        len(letters) >= 3
        and all(c.isupper() for c in letters)
        and len(text) <= MAX_TITLE_CHARS
        and len(text.split()) <= MAX_TITLE_WORDS
        and not _LIST_START.match(text)
        and len(_cells(text)) == 1
    )


def _is_section_title(line: str, before: str, after: str) -> bool:
    """An ALL-CAPS title among the body: after a blank line, not one of several ALL-CAPS lines in a row (a
    list of names: "BBVA", "BANAMEX"), not a shouted sentence ("NO ACEPTAMOS CHEQUES.")."""
    text = line.strip()
    last = text.split()[-1] if text else ""
    sentence = text.endswith("!") or (text.endswith(".") and "." not in last[:-1])
    return (
        _is_caps_title(line) and not sentence and not before.strip() and not (after.strip() and _is_caps_title(after))
    )


def _is_loose_title(line: str, before: str, after: str) -> bool:
    """A "Título:" line or a short title-like line, standing alone between blank lines (conservative)."""
    text = line.strip()
    if before.strip() or after.strip() or not text or len(_cells(text)) != 1 or _LIST_START.match(text):
        return False
    if len(text) > MAX_LOOSE_TITLE_CHARS or len(text.split()) > MAX_LOOSE_TITLE_WORDS:
        return False
    first = text.lstrip("¿¡\"'«")
    if not first or not first[0].isupper():
        return False
    if text.endswith(":"):
        return ":" not in text[:-1]
    if text.startswith("¿") and text.endswith("?"):
        return True
    return text[-1].isalnum() and not re.search(r"[.;,:!?]", text) and not re.search(r"\d{3,}", text)


def _sentence_case(title: str) -> str:
    """An ALL-CAPS title in sentence case; words with digits or dots ("S.A.", "4X4") are kept."""
    if not all(c.isupper() for c in _letters(title)):
        return title
    words = [w if re.search(r"[\d.]", w) else w.lower() for w in title.split()]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _heading(line: str) -> str:
    return _sentence_case(line.strip().rstrip(":").strip())


def _cell_text(cell: str) -> str:
    """A cell with its ALL-CAPS words lowered ("CERRADO" → "cerrado", acronyms of up to 3 letters stay) and
    its hour ranges compact ("9:00 a 19:00" → "9:00–19:00")."""
    cell = re.sub(r"\b[^\W\d_]{4,}\b", lambda m: m.group(0).lower() if m.group(0).isupper() else m.group(0), cell)
    return _HOUR_RANGE.sub(r"\1–\2", cell)


def _table(rows: list[list[str]]) -> list[str]:
    """Table rows as one list item each: "- Zapopan: lunes a viernes 9:00 a 19:00; sábado 9:00 a 15:00"."""
    header: list[str] = []
    if not any(ch.isdigit() for cell in rows[0] for ch in cell) and any(
        ch.isdigit() for row in rows[1:] for cell in row for ch in cell
    ):
        header, rows = [_cell_text(c).lower() for c in rows[0]], rows[1:]
    lines = []
    for row in rows:
        label, values = _cell_text(row[0]), [_cell_text(c) for c in row[1:]]
        named = [f"{header[i + 1]} {v}" if i + 1 < len(header) else v for i, v in enumerate(values)]
        lines.append(f"- {label}: {'; '.join(named)}")
    return lines


def _normalize_line(line: str) -> str:
    line = _WORD_NUMBER.sub(lambda m: f"{m.group('indent')}{m.group('n')}. ", line, count=1)
    return _LEADING_BULLET.sub(lambda m: f"{m.group('indent')}- ", line, count=1)


def _ends_list(out: list[str]) -> bool:
    """Whether the text so far ends inside a list (its last non-indented line is a list item)."""
    for line in reversed(out):
        if not line.strip():
            return False
        if not line[:1].isspace():
            return bool(_LIST_START.match(line))
    return False


def to_markdown(text: str) -> str:
    """``text`` with its title lines as headings, Word numbering as list items and tables as readable lines.

    The document's first line, when it is a title, is its title (a first-level heading, with the title lines
    right under it); other titles are second-level headings. A Markdown text comes back unchanged.
    """
    if has_markdown_headings(text):
        return text
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if _is_whatsapp_text(lines):
        lines = _from_whatsapp(lines)
    out: list[str] = []
    seen_body = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_row(line) and i + 1 < len(lines) and _is_row(lines[i + 1]):
            end = i
            while end < len(lines) and _is_row(lines[end]):
                end += 1
            out.extend(_table([_cells(row) for row in lines[i:end]]))
            seen_body = True
            i = end
            continue
        before = lines[i - 1] if i > 0 else ""
        after = lines[i + 1] if i + 1 < len(lines) else ""
        rest = "\n".join(lines[i + 1 :]).strip()
        leading = not seen_body and _is_caps_title(line)  # the document's title lines, before any body text
        if rest and (leading or _is_section_title(line, before, after) or _is_loose_title(line, before, after)):
            if not seen_body and out and out[-1].startswith("# ") and before.strip():
                out[-1] = f"{out[-1]} — {_heading(line)}"  # a subtitle right under the document's title
            elif not seen_body and not any(o.strip() for o in out):
                out.append(f"# {line.strip().rstrip(':').strip()}")
            else:
                out.append(f"## {_heading(line)}")
            i += 1
            continue
        line = _normalize_line(line)
        if line.strip():
            seen_body = True
            if _ends_list(out) and not line[:1].isspace() and not _LIST_START.match(line):
                out.append("")  # Word's paragraph right after a list: not the last item's continuation
        out.append(line)
        i += 1
    return "\n".join(out)
