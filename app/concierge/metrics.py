"""Concierge metrics of a tenant: how fast shortlists leave, how vendors answer, how OCR and calls fare."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class ConciergeMetrics(BaseModel):
    """Counts and rates over the requests created in the last ``days`` days."""

    days: int
    requests: int
    by_status: dict[str, int]
    shortlists_sent: int
    time_to_shortlist_p50_seconds: float | None = Field(
        description="From the customer's confirmation (outreach start)."
    )
    time_to_shortlist_p95_seconds: float | None
    vendors_asked: int
    vendor_reply_rate: float | None = Field(description="Vendors who answered / vendors the request reached.")
    ocr_attempts: int
    ocr_failure_rate: float | None
    calls: int
    call_failure_rate: float | None


_METRICS_SQL = text(
    """
    WITH r AS (
        SELECT * FROM concierge_requests
        WHERE tenant_id = :tenant_id AND created_at > now() - make_interval(days => :days)
    )
    SELECT
        (SELECT count(*) FROM r) AS requests,
        (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
           FROM (SELECT status, count(*) AS n FROM r GROUP BY status) s) AS by_status,
        (SELECT count(*) FROM r WHERE shortlist_sent_at IS NOT NULL) AS shortlists_sent,
        (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM shortlist_sent_at - vendor_outreach_at))
           FROM r WHERE shortlist_sent_at IS NOT NULL AND vendor_outreach_at IS NOT NULL) AS tts_p50,
        (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM shortlist_sent_at - vendor_outreach_at))
           FROM r WHERE shortlist_sent_at IS NOT NULL AND vendor_outreach_at IS NOT NULL) AS tts_p95,
        (SELECT count(*) FROM vendor_outreach o JOIN r ON r.id = o.request_id
           WHERE o.status IN ('sent', 'replied')) AS asked,
        (SELECT count(*) FROM vendor_outreach o JOIN r ON r.id = o.request_id WHERE o.status = 'replied') AS replied,
        (SELECT coalesce(sum((requirements->'_flow'->>'ocr_attempts')::int), 0) FROM r) AS ocr_attempts,
        (SELECT coalesce(sum((requirements->'_flow'->>'ocr_failures')::int), 0) FROM r) AS ocr_failures,
        (SELECT count(*) FROM concierge_calls c JOIN r ON r.id = c.request_id) AS calls,
        (SELECT count(*) FROM concierge_calls c JOIN r ON r.id = c.request_id WHERE c.status = 'failed') AS calls_failed
    """
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def concierge_metrics(session: AsyncSession, *, tenant_id: uuid.UUID, days: int = 30) -> ConciergeMetrics:
    """The tenant's concierge figures over the requests of the last ``days`` days."""
    row = (await session.execute(_METRICS_SQL, {"tenant_id": tenant_id, "days": days})).one()
    return ConciergeMetrics(
        days=days,
        requests=row.requests,
        by_status=dict(row.by_status),
        shortlists_sent=row.shortlists_sent,
        time_to_shortlist_p50_seconds=None if row.tts_p50 is None else round(float(row.tts_p50), 3),
        time_to_shortlist_p95_seconds=None if row.tts_p95 is None else round(float(row.tts_p95), 3),
        vendors_asked=row.asked,
        vendor_reply_rate=_rate(row.replied, row.asked),
        ocr_attempts=row.ocr_attempts,
        ocr_failure_rate=_rate(row.ocr_failures, row.ocr_attempts),
        calls=row.calls,
        call_failure_rate=_rate(row.calls_failed, row.calls),
    )
