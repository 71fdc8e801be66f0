"""Distances and vendors' opening hours.

Opening hours are a compact spec that a person can type into a CSV cell::

    mon-fri 09:00-19:00; sat 10:00-14:00
    lun-vie 9:00-14:00,16:00-19:00; sáb 10-14; dom cerrado
    fri 20:00-02:00            (overnight: open Friday 20:00 until Saturday 02:00)
    24h                        (always open; so is an empty cell)
    mon-sat 24h

Segments are separated by ";" or new lines; days by "," or ranges "mon-fri" (wrapping ranges such as
"fri-mon" are allowed); several time ranges by ",". Day names are English or Spanish, full or
abbreviated, with or without accents; "daily" / "diario" / "todos" mean every day.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.text.normalize import fold

EARTH_RADIUS_KM = 6371.0088
MAX_SPEC_CHARS = 500
_MINUTES_PER_DAY = 24 * 60

_DAY_NAMES: dict[str, int] = {}
for _index, _names in enumerate(
    (
        ("mon", "monday", "lun", "lu", "lunes"),
        ("tue", "tues", "tuesday", "mar", "ma", "martes"),
        ("wed", "wednesday", "mie", "mi", "miercoles"),
        ("thu", "thur", "thurs", "thursday", "jue", "ju", "jueves"),
        ("fri", "friday", "vie", "vi", "viernes"),
        ("sat", "saturday", "sab", "sa", "sabado"),
        ("sun", "sunday", "dom", "do", "domingo"),
    )
):
    for _name in _names:
        _DAY_NAMES[_name] = _index
_ALL_DAYS = frozenset({"daily", "everyday", "diario", "todos", "todos los dias", "all", "lun-dom", "mon-sun"})
_ALWAYS = frozenset({"24h", "24 h", "24hrs", "24 hrs", "24/7", "24x7", "always", "siempre", "abierto 24h"})
_CLOSED = frozenset({"closed", "cerrado", "cerrados"})

_TIME = re.compile(r"(?P<h>\d{1,2})(?::(?P<m>\d{2}))?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.)?")
_SEGMENT = re.compile(r"^(?P<days>[a-zñ][a-zñ ,\-]*?)\s+(?P<times>(?:\d|24h|closed|cerrado).*)$")


@dataclass(frozen=True)
class Interval:
    """Open from ``start`` to ``end`` minutes after midnight of ``weekday`` (0 = Monday); ``end`` may pass 1440."""

    weekday: int
    start: int
    end: int


@dataclass(frozen=True)
class OpeningHours:
    """Parsed opening hours: ``always_open`` or a set of weekly intervals."""

    intervals: tuple[Interval, ...]
    always_open: bool = False

    def is_open_at(self, local: datetime) -> bool:
        """Whether the place is open at the wall-clock time ``local`` (already in the place's time zone)."""
        if self.always_open:
            return True
        minute = local.hour * 60 + local.minute
        today = local.weekday()
        yesterday = (today - 1) % 7
        for iv in self.intervals:
            if iv.weekday == today and iv.start <= minute < iv.end:
                return True
            if iv.weekday == yesterday and iv.end > _MINUTES_PER_DAY and minute < iv.end - _MINUTES_PER_DAY:
                return True
        return False


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in decimal degrees."""
    for lat, lon in ((lat1, lon1), (lat2, lon2)):
        check_coordinates(lat, lon)
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def check_coordinates(lat: float, lon: float) -> None:
    """Raise ValueError unless ``lat``/``lon`` are finite degrees in range."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError("coordinates must be finite numbers")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} is outside -180..180")


def _parse_time(raw: str, segment: str) -> int:
    m = _TIME.fullmatch(raw.strip())
    if m is None:
        raise ValueError(f"opening hours {segment!r}: {raw.strip()!r} is not a time (use HH:MM, e.g. 09:00)")
    hour, minute = int(m.group("h")), int(m.group("m") or 0)
    ampm = (m.group("ampm") or "").replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError(f"opening hours {segment!r}: {raw.strip()!r} is not a 12-hour time")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if minute > 59 or hour > 24 or (hour == 24 and minute != 0):
        raise ValueError(f"opening hours {segment!r}: {raw.strip()!r} is not a valid time (00:00 to 24:00)")
    return hour * 60 + minute


def _parse_days(raw: str, segment: str) -> list[int]:
    raw = raw.strip()
    if raw in _ALL_DAYS:
        return list(range(7))
    days: list[int] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            raise ValueError(f"opening hours {segment!r}: empty day in {raw!r}")
        ends = [e.strip().rstrip(".") for e in part.split("-")]
        if len(ends) > 2 or any(e not in _DAY_NAMES for e in ends):
            unknown = next((e for e in ends if e not in _DAY_NAMES), part)
            raise ValueError(
                f"opening hours {segment!r}: unknown day {unknown!r} (use mon..sun or lun..dom, ranges like mon-fri)"
            )
        first, last = _DAY_NAMES[ends[0]], _DAY_NAMES[ends[-1]]
        day = first
        days.append(day)
        while day != last:
            day = (day + 1) % 7
            days.append(day)
    return days


def parse_hours(spec: str | None) -> OpeningHours:
    """Parse an opening-hours spec; empty or None means always open. ValueError says what is wrong and where."""
    if spec is None or not spec.strip():
        return OpeningHours(intervals=(), always_open=True)
    if len(spec) > MAX_SPEC_CHARS:
        raise ValueError(f"opening hours are too long ({len(spec)} characters, at most {MAX_SPEC_CHARS})")
    text = re.sub(r"[ \t]+", " ", fold(spec)).replace("–", "-").replace("—", "-")
    segments = [s.strip() for s in re.split(r"[;\n]", text) if s.strip()]
    intervals: list[Interval] = []
    always = False
    for segment in segments:
        if segment in _ALWAYS:
            always = True
            continue
        m = _SEGMENT.match(segment)
        if m is None:
            raise ValueError(
                f"opening hours {segment!r}: expected days then times, e.g. 'mon-fri 09:00-19:00' or 'sat 24h'"
            )
        days = _parse_days(m.group("days"), segment)
        times = m.group("times").strip()
        if times in _CLOSED:
            continue
        if times in _ALWAYS:
            intervals.extend(Interval(d, 0, _MINUTES_PER_DAY) for d in days)
            continue
        for rng in (r.strip() for r in times.split(",")):
            ends = rng.split("-")
            if len(ends) != 2:
                raise ValueError(f"opening hours {segment!r}: {rng!r} is not a range like 09:00-19:00")
            start, end = _parse_time(ends[0], segment), _parse_time(ends[1], segment)
            if start == _MINUTES_PER_DAY:
                raise ValueError(f"opening hours {segment!r}: a range cannot start at 24:00")
            if start == end:
                raise ValueError(f"opening hours {segment!r}: {rng!r} opens and closes at the same time (use 24h)")
            if end < start:
                end += _MINUTES_PER_DAY  # overnight: closes the next morning
            intervals.extend(Interval(d, start, end) for d in days)
    if always:
        return OpeningHours(intervals=(), always_open=True)
    if not intervals:
        raise ValueError(f"opening hours {spec.strip()[:60]!r}: every day is closed")
    return OpeningHours(intervals=tuple(sorted(set(intervals), key=lambda i: (i.weekday, i.start, i.end))))


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def is_open(hours_spec: str | OpeningHours | None, now: datetime, tz: str | ZoneInfo) -> bool:
    """Whether a place with ``hours_spec`` (in its time zone ``tz``) is open at the aware datetime ``now``."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (e.g. datetime.now(UTC))")
    hours = hours_spec if isinstance(hours_spec, OpeningHours) else parse_hours(hours_spec)
    return hours.is_open_at(now.astimezone(_zone(tz)))
