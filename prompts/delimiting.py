"""Customer text as data: wrapped in ``<customer_message>`` tags that nothing inside it can close or forge.

Every place where a customer's words enter an LLM prompt goes through ``delimit``. Before wrapping, any
opening or closing tag of that name inside the text is removed, however it is spelled: any case, spaces,
attributes (``</customer_message foo=1>``), full-width or other compatibility forms (``＜／customer_message＞``,
found through NFKC), invisible characters between its letters (zero-width spaces, joiners, soft hyphens,
combining marks), look-alike angle brackets and HTML entities (``&lt;/customer_message&gt;``). Detection runs
on a normalised view of the text; only the tags are cut from the original, so the rest reaches the model
exactly as written.
"""

from __future__ import annotations

import re

from app.text.visible import cut, original_spans, visible_view

OPEN = "<customer_message>"
CLOSE = "</customer_message>"

# Angle brackets and the things a model may read as one.
_LT = r"(?:[<‹〈⟨《«]|&lt;?|&#0*60;?|&#x0*3c;?)"
_GT = r"(?:[>›〉⟩》»]|&gt;?|&#0*62;?|&#x0*3e;?)"
# "<", then a few non-letters ("/", "\", spaces, a fraction slash), the name with any separator inside it,
# then, when a closing bracket is in reach, everything up to it (attributes); without one the tag's head
# alone is cut, so an unterminated "</customer_message" cannot pair with the real closing tag either.
_TAG = re.compile(
    _LT + r"[^\w<>]{0,8}customer(?:[^\w<>]|_){0,4}messages?\w*(?:[^<>]{0,200}?" + _GT + r")?",
    re.IGNORECASE,
)


def _cut_tags_once(text: str) -> str:
    view, origin = visible_view(text)
    spans = [m.span() for m in _TAG.finditer(view)]
    return cut(text, original_spans(origin, spans)) if spans else text


def neutralise_tags(text: str) -> str:
    """``text`` without anything that reads as a ``<customer_message>`` or ``</customer_message>`` tag."""
    # Repeat until nothing changes: cutting "</customer_message>" out of "</customer_mess</customer_message>age>"
    # would otherwise put the tag back together.
    while True:
        cleaned = _cut_tags_once(text)
        if cleaned == text:
            return text
        text = cleaned


def delimit(text: str) -> str:
    """Customer text as data: inside tags it cannot close or forge."""
    return f"{OPEN}\n{neutralise_tags(text)}\n{CLOSE}"
