"""Split long outgoing replies into WhatsApp-sized parts.

Twilio caps a WhatsApp/SMS message body at 1,600 characters.  ``split_message``
cuts a reply into ordered parts that each fit, preferring the most natural
boundary available: blank lines (paragraphs), then line breaks, then sentence
ends, then whitespace, and only as a last resort the middle of a word.
Parts are packed greedily, so as many whole units as fit share one part.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["TWILIO_MAX_BODY_CHARS", "split_message"]

TWILIO_MAX_BODY_CHARS = 1600

# Separators, from most to least preferred.  Each pattern matches the text
# *between* two units; the separator is kept verbatim when two units end up in
# the same part and dropped when a part boundary falls on it.
_PARAGRAPH_SEP = re.compile(r"\s*\n[^\S\n]*\n\s*")
_LINE_SEP = re.compile(r"\s*\n\s*")
# Whitespace after a sentence terminator (. ! ? … possibly repeated, e.g. "?!"
# or "..."), optionally followed by closing quotes/brackets.  Spanish opening
# marks (¿ ¡) start the next unit, so they stay with their own sentence.
_SENTENCE_SEP = re.compile(r"(?<=[.!?…])(?:[\"'”’»)\]]*)(\s+)")
_WORD_SEP = re.compile(r"\s+")

_LEVELS: tuple[re.Pattern[str], ...] = (
    _PARAGRAPH_SEP,
    _LINE_SEP,
    _SENTENCE_SEP,
    _WORD_SEP,
)

_ZERO_WIDTH_JOINER = "\u200d"
_GLUE_CHARS = frozenset({_ZERO_WIDTH_JOINER, "\ufe0e", "\ufe0f", "\u20e3"})


def split_message(text: str, limit: int = TWILIO_MAX_BODY_CHARS) -> list[str]:
    """Split ``text`` into ordered, non-empty parts of at most ``limit`` characters."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if not text or text.isspace():
        return []
    if len(text) <= limit:
        return [text]
    parts = _split(text.strip(), 0, limit)
    return [stripped for part in parts if (stripped := part.strip())]


def _tokenize(text: str, level: int) -> tuple[list[str], list[str]]:
    """Cut ``text`` into units and the separators between them (len(seps) == len(units) - 1)."""
    pattern = _LEVELS[level]
    units: list[str] = []
    seps: list[str] = []
    pos = 0
    for match in pattern.finditer(text):
        # For the sentence pattern only group 1 (the whitespace) separates; the
        # terminator and any closing quotes belong to the preceding sentence.
        start, end = match.span(1) if pattern.groups else match.span()
        if start == 0 or end == len(text):
            continue  # never produce an empty leading/trailing unit
        units.append(text[pos:start])
        seps.append(text[start:end])
        pos = end
    units.append(text[pos:])
    return units, seps


def _split(text: str, level: int, limit: int) -> list[str]:
    """Recursively split ``text`` at separator ``level`` (or finer) and pack greedily."""
    if len(text) <= limit:
        return [text]
    if level >= len(_LEVELS):
        return _hard_cut(text, limit)
    units, seps = _tokenize(text, level)
    if len(units) == 1:
        return _split(text, level + 1, limit)

    parts: list[str] = []
    current: str | None = None
    for index, unit in enumerate(units):
        sep = seps[index - 1] if index else ""
        if current is not None and len(current) + len(sep) + len(unit) <= limit:
            current = current + sep + unit
            continue
        if current is not None:
            parts.append(current)
        if len(unit) <= limit:
            current = unit
        else:
            sub_parts = _split(unit, level + 1, limit)
            parts.extend(sub_parts[:-1])
            # The tail of an oversized unit may still share a part with what follows.
            current = sub_parts[-1]
    if current is not None:
        parts.append(current)
    return parts


def _is_glued(text: str, cut: int) -> bool:
    """Whether cutting ``text`` before index ``cut`` would break a visible character."""
    char = text[cut]
    prev = text[cut - 1]
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or char in _GLUE_CHARS
        or prev == _ZERO_WIDTH_JOINER
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences (flags)
    )


def _hard_cut(word: str, limit: int) -> list[str]:
    """Cut a single over-long word into chunks, avoiding breaks inside combined characters."""
    chunks: list[str] = []
    start = 0
    while len(word) - start > limit:
        cut = start + limit
        while cut > start + 1 and _is_glued(word, cut):
            cut -= 1
        if cut == start + 1 and _is_glued(word, cut):
            cut = start + limit  # a pathological run of combining marks: cut anyway
        chunks.append(word[start:cut])
        start = cut
    chunks.append(word[start:])
    return chunks
