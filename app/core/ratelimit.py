"""Per-key request rate limits for the HTTP API (the `limits` library, moving window, in process memory).

Per process by design: each API process counts its own requests, so with N processes a tenant can make
up to N times the configured rate. The limit exists to stop one tenant's runaway script from taking the
API away from the others, which a per-process bound does; a shared counter would cost a database round
trip on every request. The WhatsApp per-sender limit is different: it is decided from the database
where the turn runs (app/flows/conversation.py), so it holds across any number of processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class Decision:
    """Whether a request may go ahead and, if not, how many whole seconds until it may."""

    allowed: bool
    retry_after: int = 0


class RateLimiter:
    """A moving-window limit (e.g. ``"600/minute"``) per key, counted in this process."""

    def __init__(self, rate: str) -> None:
        self.item: RateLimitItem = parse(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, key: str) -> Decision:
        """Count one request for ``key``; refused (with Retry-After seconds) once the window is full."""
        if await self._limiter.hit(self.item, key):
            return Decision(allowed=True)
        stats = await self._limiter.get_window_stats(self.item, key)
        return Decision(allowed=False, retry_after=max(1, math.ceil(stats.reset_time - time.time())))
