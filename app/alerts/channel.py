"""The admin channel: every alert transition posted as JSON to ``ALERT_WEBHOOK_URL``.

The body has ``text`` (what a Slack or Teams incoming webhook shows) and ``alert`` (the structured event);
with ``ALERT_WEBHOOK_SECRET`` it is signed like tenant notifications (``X-Signature-256: sha256=<HMAC>``).
Best effort with one retry: a channel that is down loses the message (each alert is also recorded in the
database and sent to the tenant's own webhook with retries).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import httpx2

from app.alerts.service import Transition
from app.core.config import get_settings
from app.notify import safe_url
from app.notify.service import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5.0
ATTEMPTS = 2


def body(transition: Transition) -> bytes:
    """The JSON a channel receives for one transition."""
    return json.dumps({"text": transition.text(), "alert": transition.payload()}, ensure_ascii=False).encode()


async def post_to_admin_channel(transitions: Sequence[Transition]) -> int:
    """Post each transition to the admin channel, if one is configured; how many were accepted."""
    settings = get_settings()
    url = settings.alert_webhook_url
    if not url or not transitions:
        return 0
    secret = settings.alert_webhook_secret.get_secret_value() if settings.alert_webhook_secret else None
    accepted = 0
    for transition in transitions:
        content = body(transition)
        headers = {"Content-Type": "application/json", "User-Agent": "wa-agent-alerts/1"}
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, content)
        for _ in range(ATTEMPTS):
            try:
                status = await safe_url.post(url, content=content, headers=headers, timeout_seconds=TIMEOUT_SECONDS)
            except safe_url.UnsafeUrl as exc:  # never logs the URL: it may carry a token in its path
                log.warning("ALERT_WEBHOOK_URL refused: %s", exc)
                return accepted
            except httpx2.HTTPError as exc:
                log.warning("alert channel unreachable: %s", type(exc).__name__)
                continue
            if 200 <= status < 300:
                accepted += 1
                break
            log.warning("alert channel answered HTTP %d", status)
    return accepted
