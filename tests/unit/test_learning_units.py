"""The learning loop's pure parts: reading a feedback answer, the sequential test, intervals, provider watch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.service import ProviderWatch
from app.experiments.service import Rate, msprt
from app.feedback.corrections import passes
from app.feedback.service import parse_answer


@pytest.mark.parametrize(
    ("text", "payload", "score"),
    [
        ("👍 Sí", {"ButtonPayload": "feedback:up"}, 1),
        ("👎 No", {"ButtonPayload": "feedback:down"}, 0),
        ("1", None, 1),
        ("2", None, 0),
        ("👍", None, 1),
        ("👎👎", None, 0),
        ("¡Sí, me sirvió!", None, 1),
        ("no me sirvió", None, 0),
        ("No.", None, 0),
        ("¿y el precio del Jetta?", None, None),
        ("12", None, None),
        ("quiero hablar con un asesor", None, None),
    ],
)
def test_feedback_answers_are_read_and_questions_are_not(
    text: str, payload: dict[str, str] | None, score: int | None
) -> None:
    assert parse_answer(text, payload) == score


def test_the_sequential_test_stays_quiet_without_a_difference_and_fires_with_one() -> None:
    same = msprt(Rate(10, 50), Rate(11, 50))
    assert same < 1  # evidence for "no difference"
    assert msprt(Rate(0, 5), Rate(5, 5)) >= 20  # every B turn handed off, no A turn: stop at 1/alpha
    assert msprt(Rate(0, 0), Rate(5, 5)) == 0.0


def test_wilson_interval_brackets_the_rate() -> None:
    low, high = Rate(3, 10).interval() or (0.0, 0.0)
    assert 0 < low < 0.3 < high < 1
    assert Rate(0, 0).interval() is None


def test_provider_watch_remembers_the_first_time_a_circuit_was_seen_down() -> None:
    watch = ProviderWatch()
    t0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert watch.observe({"openai": {"state": "open"}}, t0) == {"openai": 0.0}
    assert watch.observe({"openai": {"state": "half_open"}}, t0 + timedelta(minutes=7)) == {"openai": 7.0}
    assert watch.observe({"openai": {"state": "closed"}}, t0 + timedelta(minutes=8)) == {}


def test_an_eval_reply_passes_when_it_carries_the_expected_answer() -> None:
    assert passes("Sí, con correa.", "¡Hola! Sí, con correa.\n\nPrecios sujetos a cambio.")
    assert not passes("Sí, con correa.", "No tengo ese dato.")
