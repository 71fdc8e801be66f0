"""Inbound dispatch: a domain that answers some senders itself (the concierge's vendors) plugs in here.

The conversation flow is handed its dispatchers at start-up (``app.worker`` wires them) and asks each in
turn before the agent answers; the flow never imports the domains that implement them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Dispatched:
    """A message a dispatcher took: the acknowledgement to send (if any), and work to run once it is sent."""

    reply: str | None
    after_send: Callable[[], Awaitable[object]] | None = None


class InboundDispatcher(Protocol):
    """Takes a WhatsApp message before the agent does; None leaves it to the agent."""

    async def __call__(
        self, session: AsyncSession, *, tenant_id: uuid.UUID, sender: str, text: str, message_sid: str | None
    ) -> Dispatched | None: ...
