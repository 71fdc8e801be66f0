"""Distances and vendors' opening hours (the spec a CSV import validates)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.concierge.geo import haversine_km, is_open, parse_hours

MX = "America/Mexico_City"  # UTC-6 all year since 2022
POLANCO = (19.4330, -99.1910)
ROMA_NORTE = (19.4190, -99.1620)
ZOCALO = (19.4326, -99.1332)


def mx(day: int, hour: int, minute: int = 0) -> datetime:
    """An aware datetime in Mexico City: 2026-11-30 is a Monday, so day 0..6 is Monday..Sunday."""
    return datetime(2026, 11, 30, hour, minute, tzinfo=ZoneInfo(MX)) + timedelta(days=day)


# --- haversine ---------------------------------------------------------------------------------


def test_same_point_is_zero() -> None:
    assert haversine_km(*POLANCO, *POLANCO) == 0.0


def test_distances_across_mexico_city() -> None:
    assert haversine_km(*POLANCO, *ZOCALO) == pytest.approx(6.1, abs=0.2)
    assert haversine_km(*POLANCO, *ROMA_NORTE) == pytest.approx(3.4, abs=0.2)
    assert haversine_km(*POLANCO, *ZOCALO) == pytest.approx(haversine_km(*ZOCALO, *POLANCO))


def test_long_distances() -> None:
    # Mexico City to Guadalajara is about 460 km; one degree of latitude about 111 km.
    assert haversine_km(19.4326, -99.1332, 20.6597, -103.3496) == pytest.approx(461, abs=5)
    assert haversine_km(0, 0, 1, 0) == pytest.approx(111.2, abs=0.1)
    # Antipodes: half the circumference, and no math domain error from rounding.
    assert haversine_km(0, 0, 0, 180) == pytest.approx(20015, abs=5)
    assert haversine_km(90, 0, -90, 0) == pytest.approx(20015, abs=5)


def test_across_the_antimeridian() -> None:
    assert haversine_km(0, 179.9, 0, -179.9) == pytest.approx(22.2, abs=0.2)


@pytest.mark.parametrize(
    ("lat", "lon", "message"),
    [(91, 0, "latitude"), (-90.5, 0, "latitude"), (0, 181, "longitude"), (float("nan"), 0, "finite")],
)
def test_bad_coordinates(lat: float, lon: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        haversine_km(lat, lon, 0, 0)


# --- opening hours -------------------------------------------------------------------------------

WEEKDAYS_AND_SATURDAY = "mon-fri 09:00-19:00; sat 10:00-14:00"


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (mx(0, 8, 59), False),
        (mx(0, 9, 0), True),  # opening minute is open
        (mx(2, 13, 30), True),
        (mx(4, 18, 59), True),
        (mx(4, 19, 0), False),  # closing minute is closed
        (mx(5, 10, 0), True),
        (mx(5, 14, 0), False),
        (mx(6, 12, 0), False),  # Sunday not listed
    ],
)
def test_weekly_hours(when: datetime, expected: bool) -> None:
    assert is_open(WEEKDAYS_AND_SATURDAY, when, MX) is expected


def test_spanish_day_names_with_and_without_accents() -> None:
    spec = "lun-vie 9:00-14:00,16:00-19:00; sáb 10-14; dom cerrado"
    assert is_open(spec, mx(0, 10), MX)
    assert not is_open(spec, mx(0, 15), MX)  # lunch break
    assert is_open(spec, mx(3, 17, 30), MX)
    assert is_open(spec, mx(5, 13), MX)
    assert not is_open(spec, mx(6, 11), MX)
    assert parse_hours("Sab 10:00-14:00") == parse_hours("sáb 10:00-14:00") == parse_hours("SÁBADO 10:00-14:00")
    assert parse_hours("miércoles 9-13") == parse_hours("wed 09:00-13:00")


def test_day_lists_and_full_names() -> None:
    spec = "monday, wednesday, friday 08:00-12:00"
    assert is_open(spec, mx(2, 9), MX)
    assert not is_open(spec, mx(1, 9), MX)


def test_overnight_range_spills_into_the_next_day() -> None:
    spec = "fri 20:00-02:00"
    assert not is_open(spec, mx(4, 19, 59), MX)
    assert is_open(spec, mx(4, 23, 30), MX)
    assert is_open(spec, mx(5, 1, 59), MX)  # Saturday early morning
    assert not is_open(spec, mx(5, 2, 0), MX)
    assert not is_open(spec, mx(4, 1, 0), MX)  # Friday early morning belongs to Thursday night


def test_overnight_from_sunday_wraps_to_monday() -> None:
    spec = "dom 22:00-03:00"
    assert is_open(spec, mx(0, 2), MX)  # Monday 02:00
    assert not is_open(spec, mx(1, 2), MX)


def test_wrapping_day_range() -> None:
    spec = "fri-mon 10:00-18:00"
    for day in (4, 5, 6, 0):
        assert is_open(spec, mx(day, 12), MX)
    for day in (1, 2, 3):
        assert not is_open(spec, mx(day, 12), MX)


def test_close_at_midnight() -> None:
    spec = "mon-sun 18:00-24:00"
    assert is_open(spec, mx(1, 23, 59), MX)
    assert not is_open(spec, mx(2, 0, 0), MX)
    assert parse_hours("daily 18:00-00:00").is_open_at(mx(1, 23, 59))


@pytest.mark.parametrize("spec", [None, "", "   ", "24h", "24/7", "siempre"])
def test_always_open(spec: str | None) -> None:
    for day in range(7):
        for hour in (0, 3, 12, 23):
            assert is_open(spec, mx(day, hour), MX)


def test_24h_on_some_days() -> None:
    spec = "mon-sat 24h; sun 10:00-14:00"
    assert is_open(spec, mx(2, 3), MX)
    assert not is_open(spec, mx(6, 3), MX)
    assert is_open(spec, mx(6, 11), MX)


def test_am_pm_and_daily() -> None:
    spec = "diario 9am-7:30pm"
    assert is_open(spec, mx(6, 19, 29), MX)
    assert not is_open(spec, mx(6, 19, 30), MX)
    assert not is_open(spec, mx(6, 8, 59), MX)
    assert parse_hours("todos 12am-12pm") == parse_hours("daily 00:00-12:00")


def test_newlines_and_dashes_as_separators() -> None:
    spec = "Lun–Vie 09:00–18:00\nSáb 09:00–13:00"
    assert is_open(spec, mx(5, 10), MX)
    assert not is_open(spec, mx(5, 13, 30), MX)


def test_now_is_converted_to_the_vendors_time_zone() -> None:
    # 15:30 UTC is 09:30 in Mexico City (open) and 07:30 in Tijuana in winter (closed).
    now = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    assert is_open("mon-fri 09:00-19:00", now, MX)
    assert not is_open("mon-fri 09:00-19:00", now, "America/Tijuana")
    assert is_open("mon-fri 09:00-19:00", now, ZoneInfo("America/Mexico_City"))
    # Any fixed offset works the same as the named zone.
    same = now.astimezone(timezone(timedelta(hours=5)))
    assert is_open("mon-fri 09:00-19:00", same, MX)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open("mon-fri 09:00-19:00", datetime(2026, 12, 1, 10, 0), MX)


def test_unknown_time_zone() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        is_open("24h", datetime.now(UTC), "Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mon-fri 25:00-19:00", "'25:00' is not a valid time"),
        ("mon-fri 09:60-19:00", "not a valid time"),
        ("mon-fri 9h-19h", "is not a time"),
        ("funday 09:00-19:00", "unknown day 'funday'"),
        ("mon-fri", "expected days then times"),
        ("09:00-19:00", "expected days then times"),
        ("mon-fri 09:00", "not a range like 09:00-19:00"),
        ("mon-fri 09:00-12:00-15:00", "not a range"),
        ("mon 09:00-09:00", "opens and closes at the same time"),
        ("mon 24:00-02:00", "cannot start at 24:00"),
        ("sat 13pm-2pm", "not a 12-hour time"),
        ("mon,,tue 09:00-10:00", "empty day"),
        ("mon-tue-wed 09:00-10:00", "unknown day"),
        ("lun cerrado; mar cerrado", "every day is closed"),
        ("x" * 600, "too long"),
    ],
)
def test_malformed_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hours(spec)


def test_error_names_the_bad_segment() -> None:
    with pytest.raises(ValueError, match="'sat 10:00-31:00'"):
        parse_hours("mon-fri 09:00-19:00; sat 10:00-31:00")


def test_parsed_hours_can_be_reused() -> None:
    hours = parse_hours(WEEKDAYS_AND_SATURDAY)
    assert is_open(hours, mx(0, 10), MX)
    assert not is_open(hours, mx(6, 10), MX)
    # Duplicates collapse; order of segments does not matter.
    assert parse_hours("sat 10:00-14:00; mon-fri 09:00-19:00; sat 10:00-14:00") == hours
