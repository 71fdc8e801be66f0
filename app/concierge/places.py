"""Where a request is needed: coordinates in the text, a zone the tenant serves (typo-tolerant), or a place
named after a strong cue that matched no zone (kept to show back to the customer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from app.concierge.geo import check_coordinates
from app.concierge.lexicon import COORDINATES, LOCATION_CUE, PLACE_END, STRONG_LOCATION_CUE
from app.concierge.types import Location, Zone
from app.text.normalize import fold

ZONE_MATCH_CUTOFF = 85.0
# Shorter names only match exactly: at four letters one typo is a different word ("Roma" / "rama").
ZONE_FUZZY_MIN_CHARS = 5


def _zone_terms(zones: Sequence[Zone]) -> list[tuple[str, Zone]]:
    terms: list[tuple[str, Zone]] = []
    for zone in zones:
        for name in (zone.name, *zone.aliases):
            term = " ".join(re.findall(r"[a-zñ0-9]+", fold(name)))
            if term:
                terms.append((term, zone))
    return terms


def match_zone(text: str, zones: Sequence[Zone]) -> tuple[Zone, tuple[int, int]] | None:
    """The zone named in ``text`` (accent-folded, typo-tolerant) and its span in ``fold(text)``, or None."""
    t = fold(text)
    terms = _zone_terms(zones)
    if not terms:
        return None
    # Exact (folded) mentions first, longest name first: "Roma Norte" before "Roma".
    for term, zone in sorted(terms, key=lambda tz: -len(tz[0])):
        m = re.search(rf"(?<![a-zñ0-9]){re.escape(term)}(?![a-zñ0-9])", t)
        if m is not None:
            return zone, m.span()
    tokens = list(re.finditer(r"[a-zñ0-9]+", t))
    best: tuple[float, int, Zone, tuple[int, int]] | None = None
    for term, zone in terms:
        if len(term) < ZONE_FUZZY_MIN_CHARS:
            continue
        size = term.count(" ") + 1
        for width in {max(1, size - 1), size, size + 1}:
            for i in range(len(tokens) - width + 1):
                start, end = tokens[i].start(), tokens[i + width - 1].end()
                window = " ".join(tok.group(0) for tok in tokens[i : i + width])
                if abs(len(window) - len(term)) > max(2, len(term) // 4):
                    continue
                score = fuzz.ratio(window, term)
                if score >= ZONE_MATCH_CUTOFF and (best is None or (score, -start) > (best[0], -best[1])):
                    best = (score, start, zone, (start, end))
    if best is None:
        return None
    return best[2], best[3]


def find_location(
    t: str, zones: Sequence[Zone]
) -> tuple[Location | None, tuple[int, int] | None, list[tuple[int, int]]]:
    spans: list[tuple[int, int]] = []
    for m in COORDINATES.finditer(t):
        lat, lon = float(m.group(1)), float(m.group(2))
        try:
            check_coordinates(lat, lon)
        except ValueError:
            continue
        spans.append(m.span())
        return Location(lat=lat, lon=lon, source="coordinates"), None, spans
    found = match_zone(t, zones)
    if found is not None:
        zone, (start, end) = found
        cue = LOCATION_CUE.search(t, max(0, start - 40), start)
        spans.append((cue.start() if cue else start, end))
        return Location(lat=zone.lat, lon=zone.lon, source="zone", zone=zone.name), None, spans
    hint = STRONG_LOCATION_CUE.search(t)
    if hint is not None:
        place = hint.group("place")
        cut = PLACE_END.search(place)
        if cut is not None:
            place = place[: cut.start()]
        place = re.split(r"[,.;!?]", place)[0].strip()
        if place:
            spans.append((hint.start(), hint.start("place") + len(place)))
            return None, (hint.start("place"), hint.start("place") + len(place)), spans
    return None, None, spans
