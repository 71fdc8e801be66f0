"""The tenant's time zone for display and for its calendar days and business hours."""

from __future__ import annotations

from zoneinfo import ZoneInfo


def tenant_zone(tz: str) -> ZoneInfo:
    """``tz`` as a zone; UTC when it is not one (the tenant API validates it, so this only guards old rows)."""
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")
