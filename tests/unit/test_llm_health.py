"""Provider health: the circuit opens on consecutive failures or a failure rate, cools down, lets one probe through."""

from __future__ import annotations

import pytest

from app.llm.health import CircuitPolicy, HealthBoard, ProviderHealth


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def health(clock: FakeClock, **policy: float) -> ProviderHealth:
    return ProviderHealth(policy=CircuitPolicy(**policy), clock=clock)  # type: ignore[arg-type]


def record(h: ProviderHealth, outcomes: str) -> None:
    """Record outcomes written as a string: ``s`` success, ``f`` failure."""
    for o in outcomes:
        h.record(o == "s")


# ---------------------------------------------------------------------------------- consecutive failures


def test_a_new_provider_is_closed_and_allows_calls(clock: FakeClock) -> None:
    h = health(clock)
    assert h.state == "closed"
    assert all(h.allow() for _ in range(5))
    assert h.failure_rate() == 0.0
    assert h.calls_in_window() == 0


def test_opens_on_the_nth_consecutive_failure(clock: FakeClock) -> None:
    h = health(clock, failures_to_open=3, min_calls_for_rate=100)
    record(h, "ff")
    assert h.state == "closed"
    assert h.allow()
    h.record(False)
    assert h.state == "open"
    assert h.opened_at == clock.now
    assert not h.allow()


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    h = health(clock, failures_to_open=3, min_calls_for_rate=100)
    record(h, "ffsff")
    assert h.consecutive_failures == 2
    assert h.state == "closed"
    h.record(False)
    assert h.state == "open"


# ---------------------------------------------------------------------------------- failure rate


def test_rate_does_not_open_below_the_minimum_number_of_calls(clock: FakeClock) -> None:
    h = health(clock, failures_to_open=100, failure_rate_to_open=0.5, min_calls_for_rate=6)
    record(h, "fsfsf")  # 60% failures, but only 5 calls
    assert h.failure_rate() == pytest.approx(0.6)
    assert h.state == "closed"


def test_rate_opens_once_the_minimum_is_reached(clock: FakeClock) -> None:
    h = health(clock, failures_to_open=100, failure_rate_to_open=0.5, min_calls_for_rate=6)
    record(h, "sfsfs")
    assert h.state == "closed"
    h.record(False)  # 3 of 6 failed: exactly the threshold
    assert h.state == "open"


def test_rate_below_the_threshold_keeps_the_circuit_closed(clock: FakeClock) -> None:
    h = health(clock, failures_to_open=100, failure_rate_to_open=0.5, min_calls_for_rate=6)
    record(h, "sssfsssf")  # 25%
    assert h.state == "closed"
    assert h.calls_in_window() == 8


def test_calls_older_than_the_window_no_longer_count(clock: FakeClock) -> None:
    h = health(clock, failures_to_open=100, failure_rate_to_open=0.5, min_calls_for_rate=4, window_seconds=60)
    record(h, "fff")
    clock.advance(61)
    assert h.calls_in_window() == 0
    assert h.failure_rate() == 0.0
    h.record(False)  # without expiry this would be 4 of 4 failed
    assert h.state == "closed"
    assert h.calls_in_window() == 1


def test_calls_inside_the_window_still_count(clock: FakeClock) -> None:
    h = health(clock, failures_to_open=100, failure_rate_to_open=0.5, min_calls_for_rate=4, window_seconds=60)
    record(h, "fff")
    clock.advance(59)
    h.record(False)
    assert h.state == "open"


def test_window_slides_call_by_call(clock: FakeClock) -> None:
    h = health(clock, window_seconds=10, min_calls_for_rate=100)
    h.record(False)
    clock.advance(6)
    h.record(True)
    assert h.failure_rate() == pytest.approx(0.5)
    clock.advance(5)  # the failure is 11 s old, the success 5 s
    assert h.calls_in_window() == 1
    assert h.failure_rate() == 0.0


# ---------------------------------------------------------------------------------- cool-down and probe


def opened(clock: FakeClock, cooldown: float = 30) -> ProviderHealth:
    h = health(clock, failures_to_open=2, min_calls_for_rate=100, cooldown_seconds=cooldown)
    record(h, "ff")
    assert h.state == "open"
    return h


def test_open_circuit_refuses_calls_until_the_cooldown_ends(clock: FakeClock) -> None:
    h = opened(clock, cooldown=30)
    clock.advance(29.9)
    assert not h.allow()
    assert h.state == "open"
    clock.advance(0.1)
    assert h.allow()
    assert h.state == "half_open"


def test_half_open_lets_exactly_one_probe_through(clock: FakeClock) -> None:
    h = opened(clock)
    clock.advance(30)
    assert [h.allow() for _ in range(4)] == [True, False, False, False]
    assert h.probe_in_flight
    clock.advance(300)  # time alone does not admit a second probe while one is in flight
    assert not h.allow()


def test_probe_success_closes_and_forgets_the_past(clock: FakeClock) -> None:
    h = opened(clock)
    clock.advance(30)
    assert h.allow()
    h.record(True)
    assert h.state == "closed"
    assert h.opened_at is None
    assert not h.probe_in_flight
    assert h.calls_in_window() == 0
    assert h.consecutive_failures == 0
    assert all(h.allow() for _ in range(3))
    h.record(False)  # one failure after closing is not enough to reopen
    assert h.state == "closed"


def test_probe_failure_reopens_for_a_full_cooldown(clock: FakeClock) -> None:
    h = opened(clock, cooldown=30)
    clock.advance(30)
    assert h.allow()
    h.record(False)
    assert h.state == "open"
    assert h.opened_at == clock.now
    assert not h.probe_in_flight
    clock.advance(29)
    assert not h.allow()
    clock.advance(1)
    assert h.allow()
    assert not h.allow()


def test_a_released_probe_can_be_taken_again(clock: FakeClock) -> None:
    h = opened(clock)
    clock.advance(30)
    assert h.allow()
    assert not h.allow()
    h.release_probe()
    assert h.state == "half_open"
    assert h.allow()
    assert not h.allow()


def test_a_single_failure_in_half_open_reopens_even_below_the_thresholds(clock: FakeClock) -> None:
    h = health(clock, failures_to_open=5, failure_rate_to_open=0.9, min_calls_for_rate=50, cooldown_seconds=10)
    record(h, "fffff")
    assert h.state == "open"
    clock.advance(10)
    assert h.allow()
    h.record(False)
    assert h.state == "open"


# ---------------------------------------------------------------------------------- board


def test_board_keeps_one_health_per_provider(clock: FakeClock) -> None:
    board = HealthBoard(CircuitPolicy(failures_to_open=2, min_calls_for_rate=100), clock=clock)
    assert board["openai"] is board["openai"]
    board["openai"].record(False)
    board["openai"].record(False)
    assert board["openai"].state == "open"
    assert board["gemini"].state == "closed"
    assert board["gemini"].allow()
    assert not board["openai"].allow()


def test_board_health_uses_the_board_clock_and_policy(clock: FakeClock) -> None:
    policy = CircuitPolicy(failures_to_open=1, cooldown_seconds=5)
    board = HealthBoard(policy, clock=clock)
    board["together"].record(False)
    assert board["together"].policy is policy
    clock.advance(5)
    assert board["together"].allow()  # the board's clock moved the cool-down on


def test_board_snapshot(clock: FakeClock) -> None:
    board = HealthBoard(CircuitPolicy(failures_to_open=3, min_calls_for_rate=100), clock=clock)
    record(board["openai"], "sff")
    board["gemini"].record(True)
    assert board.snapshot() == {
        "openai": {"state": "closed", "failure_rate": 0.667, "calls_in_window": 3},
        "gemini": {"state": "closed", "failure_rate": 0.0, "calls_in_window": 1},
    }
