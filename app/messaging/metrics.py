"""Counters of the pre-send check: parts held back, by reason, and parts sent as templates or rich content."""

from __future__ import annotations

from prometheus_client import Counter

OUTBOUND_BLOCKED = Counter(
    "agent_outbound_blocked",
    "Outbound WhatsApp parts the pre-send check held back, by reason (opted_out, window_closed, "
    "template_not_approved).",
    ["reason"],
)
OUTBOUND_KIND = Counter(
    "agent_outbound_kind",
    "Outbound WhatsApp parts handed to Twilio, by kind (text, template, rich).",
    ["kind"],
)
OPT_OUTS = Counter(
    "agent_customer_opt_outs", "Customers opting out (stop) or back in (start), by source.", ["action", "source"]
)
