"""Contact details in free text: links, e-mail addresses and phone numbers, found and cut out.

What a customer writes is forwarded to third parties (vendors) only without the ways to reach the
customer or to be sent elsewhere. Detection reads the text as it looks (``app.text.visible``: full-width
digits, "＠", zero-width characters between digits do not hide anything) and uses libraries where they
exist: linkify-it (links with or without a scheme, bare domains against the list of top-level domains,
e-mail addresses) and libphonenumber's matcher (numbers valid for the region, or international ones).
A last rule catches what those do not call a phone number but could still reach a person: any run of
8 or more digits ("+52 1 55 1234 5678", "1234 5678", "whatsapp:+5215512345678"), except lists of
years ("2015-2018"), dates and figures with one-digit groups ("Jetta 2017 1.8 16v").
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from linkify_it import LinkifyIt

from app.text.visible import cut, original_spans, visible_view

# "juan [at] gmail.com", "juan arroba gmail punto com": spelled-out addresses linkify cannot see.
_SPELLED_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]{1,64}\s*(?:@|[\[({]\s*at\s*[\])}]|\barroba\b)\s*[\w-]+"
    r"(?:\s*(?:\.|[\[({]\s*(?:dot|punto)\s*[\])}]|\b(?:dot|punto)\b)\s*[a-z]{2,})+"
)
# Digits in groups separated by spaces, dots or dashes (a group may be in brackets), after an optional "+" or "00".
_DIGIT_RUN = re.compile(r"(?:\+\s?|\b00)?(?:\(\d+\)|\d+)(?:[ .\-]{1,2}(?:\(\d+\)|\d+))*")
_YEAR = re.compile(r"(?:19|20)\d\d")
_DATE = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
MIN_PHONE_DIGITS = 8
MAX_LINK_WORD = 200
_WORD = re.compile(r"\S+")
_LINKISH = re.compile(r"[.@:/]")


@functools.lru_cache(maxsize=1)
def _linkify() -> LinkifyIt:
    # Built on first use, not at import: compiling its patterns takes a few milliseconds.
    return LinkifyIt(options={"fuzzy_email": True, "fuzzy_link": True, "fuzzy_ip": True})


def _link_spans(view: str) -> list[tuple[int, int]]:
    """Links and e-mail addresses, looked for word by word (neither holds a space).

    linkify-it takes time quadratic in a word's length, so a word longer than ``MAX_LINK_WORD`` that
    could hold one is cut whole without asking it: no item a vendor needs is a 200-character word.
    """
    spans: list[tuple[int, int]] = []
    for word in _WORD.finditer(view):
        if not _LINKISH.search(word.group(0)):
            continue
        if len(word.group(0)) > MAX_LINK_WORD:
            spans.append(word.span())
            continue
        start = word.start()
        spans += [(start + m.index, start + m.last_index) for m in _linkify().match(word.group(0)) or []]
    return spans + [m.span() for m in _SPELLED_EMAIL.finditer(view)]


def _could_reach_someone(run: str) -> bool:
    """A digit run that may be a phone number: 8+ digits, not years, a date or a figure like "1.8 16"."""
    groups = re.findall(r"\d+", run)
    if sum(len(g) for g in groups) < MIN_PHONE_DIGITS:
        return False
    if run.lstrip().startswith(("+", "00")):
        return True
    if all(_YEAR.fullmatch(g) for g in groups) or _DATE.fullmatch(run.strip()):
        return False
    return all(len(g) >= 2 for g in groups)


def _phone_spans(view: str, region: str | None) -> list[tuple[int, int]]:
    matcher = phonenumbers.PhoneNumberMatcher(view, region, leniency=phonenumbers.Leniency.VALID)
    spans = [(m.start, m.end) for m in matcher]
    return spans + [m.span() for m in _DIGIT_RUN.finditer(view) if _could_reach_someone(m.group(0))]


def contact_spans(text: str, *, region: str | None = None) -> list[tuple[int, int]]:
    """Where ``text`` holds a link, an e-mail address or a phone number (sorted, merged spans of ``text``)."""
    view, origin = visible_view(text)
    return original_spans(origin, _link_spans(view) + _phone_spans(view, region))


def scrub_contacts(text: str, *, region: str | None = None) -> str:
    """``text`` without links, e-mail addresses or phone numbers (``region``: how national numbers are read)."""
    spans = contact_spans(text, region=region)
    if not spans:
        return text
    scrubbed = cut(text, spans, " ")
    scrubbed = re.sub(r"\(\s*\)|\[\s*\]", " ", scrubbed)  # brackets that held only a number
    scrubbed = re.sub(r"[ \t]+([),.;:!?\]])", r"\1", scrubbed)  # no gap left before punctuation
    scrubbed = re.sub(r"([(\[])[ \t]+", r"\1", scrubbed)
    return re.sub(r"[ \t]{2,}", " ", scrubbed).strip()
