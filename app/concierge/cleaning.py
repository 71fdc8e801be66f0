"""Customer text made safe to read: control characters out, length capped, and folded text (lower case,
no accents) that maps back to the original characters, so what is found in one is cut from the other.
"""

from __future__ import annotations

import functools
import re

from app.concierge.types import MAX_TEXT_CHARS
from app.text.normalize import fold

_fold_char = functools.lru_cache(maxsize=4096)(fold)


def folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` and, for each folded character, the index of the original character it came from."""
    if text.isascii() and "\x00" not in text:  # fold() maps NUL to ñ (its placeholder); keep it exact
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        f = _fold_char(ch)
        out.append(f)
        offsets.extend([i] * len(f))
    return "".join(out), offsets


def original_span(offsets: list[int], start: int, end: int, original_len: int) -> tuple[int, int]:
    if start >= len(offsets):
        return original_len, original_len
    o_start = offsets[start]
    o_end = offsets[end - 1] + 1 if end > start else o_start
    return o_start, o_end


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` without control or invisible characters, whitespace collapsed, cut to ``limit`` characters."""
    text = re.sub(r"[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]", "", text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)
    text = re.sub(r"[ \t]+", " ", text)
    return text.strip()[:limit]


def blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(max(0, start), min(len(chars), end)):
            chars[i] = " "
    return "".join(chars)


def slice_original(original: str, offsets: list[int], start: int, end: int) -> str:
    """The part of ``original`` behind its folded characters [start, end)."""
    if start >= end or start >= len(offsets):
        return ""
    return original[offsets[start] : offsets[min(end, len(offsets)) - 1] + 1]


def tidy(text: str, limit: int) -> str:
    text = re.sub(r"[*_~`<>{}\[\]\\]", "", text)
    text = re.sub(r"\s+", " ", text).strip(" .,:;!?¿¡-\"'()")
    return text[:limit].rstrip()
