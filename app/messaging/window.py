"""WhatsApp's customer-service window: free-form messages only within 24 hours of the customer's last message.

Outside it WhatsApp accepts only an approved template (Twilio error 63016 otherwise). A recipient we have
never heard from on record (a vendor who never wrote) is ``unknown``: a template goes out when one is
approved, otherwise the free text is tried and Twilio's answer (63016 on real WhatsApp) is recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

WINDOW = timedelta(hours=24)
WindowState = Literal["open", "closed", "unknown"]


def window_state(last_inbound_at: datetime | None, *, now: datetime | None = None) -> WindowState:
    """Whether a free-form message to a customer who last wrote at ``last_inbound_at`` may go out now."""
    if last_inbound_at is None:
        return "unknown"
    return "open" if (now or datetime.now(UTC)) - last_inbound_at < WINDOW else "closed"


def too_old_to_answer(received_at: datetime, *, now: datetime | None = None) -> bool:
    """A message received longer ago than the window (recovery of old work): not answered with free text."""
    return (now or datetime.now(UTC)) - received_at >= WINDOW
