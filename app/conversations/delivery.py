"""Delivery of stored reply parts: each part is handed to the channel sender in order and its outcome recorded.

Parts are rows written in the turn's transaction before anything is sent; this module only moves them
forward (``pending`` → Twilio's status, or ``failed``), so a retried job resumes from what is left.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import update

from app.channels.sender import ReplySender
from app.channels.twilio_client import TwilioSendError
from app.conversations.models import Message
from app.core.db import session_scope

log = logging.getLogger(__name__)


async def send_stored(parts: list[Message], *, to: str | None, from_: str | None, sender: ReplySender) -> None:
    """Hand stored reply parts to Twilio in order, recording each SID (or the failure) as it goes."""
    for part in parts:
        if not to or not from_:
            status, sid, code = "failed", None, None
        else:
            try:
                sent = await sender.send(to=to, from_=from_, body=part.body)
                status, sid, code = sent.status, sent.sid, None
            except TwilioSendError as error:
                if error.retryable:
                    raise  # the job is retried later; this and the following parts stay pending
                log.warning("send failed for message %s: status=%s code=%s", part.id, error.status, error.code)
                status, sid, code = "failed", None, error.code
        async with session_scope() as session:
            await session.execute(
                update(Message)
                .where(Message.tenant_id == part.tenant_id, Message.id == part.id)
                .values(status=status, provider_sid=sid, error_code=code, status_updated_at=datetime.now(UTC))
            )
