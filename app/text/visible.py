"""How text reads, as opposed to how it is encoded: the view that detectors of tags, links and numbers match on.

Full-width and other compatibility forms become their plain letters and digits (NFKC: "５５" → "55",
"＜" → "<"), case is folded, letters drawn like a Latin one (Cyrillic "о", Greek "ο") become it, and
characters that show nothing (zero-width spaces and joiners, soft hyphens, byte-order marks, combining
marks, controls other than tab and line breaks) are dropped. Each character of
the view remembers which original character it came from, so what is found in the view is cut from the
original, and everything else stays exactly as the customer wrote it.
"""

from __future__ import annotations

import functools
import unicodedata

_INVISIBLE = frozenset({"Cf", "Mn", "Me", "Cc", "Co", "Cs", "Cn"})
_KEPT_CONTROLS = frozenset("\t\n\r")
# Cyrillic, Greek and other letters drawn like a Latin one (after case folding), from Unicode's confusables
# (UTS #39): "</customer_messagе>" with a Cyrillic "е", or "wа.me" with a Cyrillic "а", reads as the Latin word.
_LOOK_ALIKES = str.maketrans(
    "аαɑьсϲᴄԁɗеҽεɡցһհіιӏјϳκкⅼոηоοօσрρԛгꭇѕꜱтτυսʋνѵԝѡωхχуγүᴢ",
    "aaabcccddeeegghhiiijjkklnnooooppqrrssttuuuvvwwwxxyyyz",
)


@functools.lru_cache(maxsize=8192)
def _view_char(ch: str) -> str:
    if ch not in _KEPT_CONTROLS and unicodedata.category(ch) in _INVISIBLE:
        return ""
    return unicodedata.normalize("NFKC", ch).casefold().translate(_LOOK_ALIKES)


def visible_view(text: str) -> tuple[str, list[int]]:
    """The text as it reads (NFKC, case-folded, invisible characters out) and each character's original index."""
    if text.isascii() and text.isprintable():
        return text.lower(), list(range(len(text)))
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        seen = _view_char(ch)
        out.append(seen)
        origin.extend([i] * len(seen))
    return "".join(out), origin


def original_spans(origin: list[int], spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of the view mapped back to the original text, sorted and merged where they overlap."""
    mapped = sorted((origin[s], origin[e - 1] + 1) for s, e in spans if e > s)
    merged: list[tuple[int, int]] = []
    for start, end in mapped:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def cut(text: str, spans: list[tuple[int, int]], replacement: str = "") -> str:
    """``text`` with each of the sorted, non-overlapping ``spans`` replaced by ``replacement``."""
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        pieces.append(text[last:start])
        pieces.append(replacement)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only spaces and characters that render as nothing (zero-width spaces...)."""
    return not visible_view(text)[0].strip()
