"""Per-provider health over a sliding window, with a circuit breaker.

Written here rather than taken from a library: the breakers on PyPI (aiobreaker, purgatory, pybreaker)
count consecutive failures only, and this one must also open on a failure *rate* over a time window and
let exactly one probe through after the cool-down. State is per process on purpose: each worker learns a
provider's health from its own calls within seconds, and nothing is lost when a process restarts.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from app.core.metrics import record_circuit

CircuitState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class CircuitPolicy:
    """When a circuit opens and how long it stays open."""

    failures_to_open: int = 3
    failure_rate_to_open: float = 0.5
    min_calls_for_rate: int = 6
    window_seconds: float = 60.0
    cooldown_seconds: float = 30.0


@dataclass
class ProviderHealth:
    """Recent outcomes of one provider's calls and its circuit state."""

    policy: CircuitPolicy
    clock: Callable[[], float] = time.monotonic
    name: str = ""  # the provider, for the circuit-state metric
    state: CircuitState = "closed"
    consecutive_failures: int = 0
    opened_at: float | None = None
    probe_in_flight: bool = False
    _calls: deque[tuple[float, bool]] = field(default_factory=deque)

    def _trim(self, now: float) -> None:
        horizon = now - self.policy.window_seconds
        while self._calls and self._calls[0][0] < horizon:
            self._calls.popleft()

    def failure_rate(self) -> float:
        """Share of failed calls in the window (0 when there were none)."""
        self._trim(self.clock())
        if not self._calls:
            return 0.0
        return sum(1 for _, ok in self._calls if not ok) / len(self._calls)

    def calls_in_window(self) -> int:
        """Calls recorded within the window."""
        self._trim(self.clock())
        return len(self._calls)

    def allow(self) -> bool:
        """Whether a call may go to this provider now (an open circuit lets one probe through after cool-down)."""
        if self.state == "closed":
            return True
        now = self.clock()
        if self.state == "open" and self.opened_at is not None and now - self.opened_at >= self.policy.cooldown_seconds:
            self.state = "half_open"
            self._publish()
        if self.state == "half_open" and not self.probe_in_flight:
            self.probe_in_flight = True
            return True
        return False

    def record(self, ok: bool) -> None:
        """Record a call's outcome and move the circuit."""
        now = self.clock()
        self._calls.append((now, ok))
        self._trim(now)
        if ok:
            self.consecutive_failures = 0
            if self.state != "closed":
                self._close()
            return
        self.consecutive_failures += 1
        if self.state == "half_open":
            self._open(now)  # the probe failed: cool down again
        elif self.state == "closed" and self._should_open():
            self._open(now)

    def _should_open(self) -> bool:
        if self.consecutive_failures >= self.policy.failures_to_open:
            return True
        calls = len(self._calls)
        return calls >= self.policy.min_calls_for_rate and self.failure_rate() >= self.policy.failure_rate_to_open

    def _open(self, now: float) -> None:
        self.state = "open"
        self.opened_at = now
        self.probe_in_flight = False
        self._publish()

    def _close(self) -> None:
        self.state = "closed"
        self.opened_at = None
        self.probe_in_flight = False
        self._calls.clear()
        self._publish()

    def _publish(self) -> None:
        if self.name:  # a provider's health outside a board (unit tests) has no series
            record_circuit(self.name, self.state)

    def release_probe(self) -> None:
        """A probe that never reached the provider (cancelled) gives its slot back."""
        self.probe_in_flight = False


class HealthBoard:
    """The health of every provider this process calls."""

    def __init__(self, policy: CircuitPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self._providers: dict[str, ProviderHealth] = {}

    def __getitem__(self, provider: str) -> ProviderHealth:
        health = self._providers.get(provider)
        if health is None:
            health = self._providers[provider] = ProviderHealth(policy=self.policy, clock=self.clock, name=provider)
            record_circuit(provider, health.state)
        return health

    def snapshot(self) -> dict[str, dict[str, object]]:
        """State, failure rate and window size per provider (for status output)."""
        return {
            name: {
                "state": h.state,
                "failure_rate": round(h.failure_rate(), 3),
                "calls_in_window": h.calls_in_window(),
            }
            for name, h in self._providers.items()
        }
