"""Percentage rollouts by phone number: stable across processes, fair in aggregate."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from app.tenants.rollout import BUCKETS, in_rollout, normalise_phone, rollout_bucket

# Computed once from SHA-256 of "feature:digits"; a change here moves real customers between cohorts.
KNOWN_BUCKETS = [
    ("whatsapp:+5215512345678", "concierge", 7126),
    ("+14155550123", "concierge", 3381),
    ("+5215512345678", "ocr", 304),
    ("+34912345678", "llm_agent", 5333),
]


@pytest.mark.parametrize(("phone", "feature", "bucket"), KNOWN_BUCKETS)
def test_known_buckets_never_move(phone: str, feature: str, bucket: int) -> None:
    assert rollout_bucket(phone, feature) == bucket


def test_bucket_is_the_same_in_a_fresh_interpreter_with_another_hash_seed() -> None:
    code = "from app.tenants.rollout import rollout_bucket; print(rollout_bucket('+5215512345678', 'concierge'))"
    for seed in ("1", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=".",
        )
        assert int(out.stdout.strip()) == 7126


@pytest.mark.parametrize(
    "spelling",
    [
        "whatsapp:+5215512345678",
        "+52 1 55 1234 5678",
        "+52 55 1234 5678",
        "0052 55-1234-5678",
        "(+52) 55.1234.5678",
        "  WhatsApp:+525512345678 ",
    ],
)
def test_spellings_of_one_number_share_a_bucket(spelling: str) -> None:
    assert normalise_phone(spelling) == "525512345678"
    assert rollout_bucket(spelling, "concierge") == 7126


def test_feature_name_is_case_and_space_insensitive_but_features_differ() -> None:
    assert rollout_bucket("+14155550123", " Concierge ") == rollout_bucket("+14155550123", "concierge")
    phones = [f"+52155{n:08d}" for n in range(200)]
    same = sum(rollout_bucket(p, "concierge") == rollout_bucket(p, "ocr") for p in phones)
    assert same < 5  # independent per feature, not one cohort for everything


def test_buckets_are_in_range() -> None:
    rng = random.Random(7)
    for _ in range(2_000):
        b = rollout_bucket(f"+52{rng.randrange(10**9, 10**10)}", "concierge")
        assert 0 <= b < BUCKETS


@pytest.mark.parametrize("percentage", [10.0, 25.0, 50.0])
def test_share_in_rollout_matches_percentage_within_two_points(percentage: float) -> None:
    rng = random.Random(2026)
    phones = {f"+521{rng.randrange(10**9, 10**10)}" for _ in range(10_500)}
    sample = sorted(phones)[:10_000]
    share = 100 * sum(in_rollout(p, "concierge", percentage) for p in sample) / len(sample)
    assert abs(share - percentage) <= 2.0


def test_sequential_numbers_are_spread_too() -> None:
    # Numbers handed out in blocks (one carrier, one office) must not land in one cohort.
    sample = [f"+5215512{n:06d}" for n in range(10_000)]
    share = 100 * sum(in_rollout(p, "concierge", 25) for p in sample) / len(sample)
    assert abs(share - 25) <= 2.0


def test_rollout_grows_monotonically() -> None:
    phones = [f"+5215598{n:06d}" for n in range(1_000)]
    for p in phones:
        steps = [in_rollout(p, "concierge", pct) for pct in (0, 1, 5, 10, 25, 50, 75, 100)]
        # Once in at some percentage, in at every higher one.
        assert steps == sorted(steps)
    assert not any(in_rollout(p, "concierge", 0) for p in phones)
    assert all(in_rollout(p, "concierge", 100) for p in phones)


def test_fractional_percentages() -> None:
    phone = "+5215512345678"  # bucket 7126 for concierge
    assert in_rollout(phone, "concierge", 71.27)
    assert not in_rollout(phone, "concierge", 71.26)


@pytest.mark.parametrize("bad", ["", "hola", "123", "+1234567890123456789", "whatsapp:", "🙂"])
def test_not_a_phone_number(bad: str) -> None:
    with pytest.raises(ValueError, match="not a phone number"):
        rollout_bucket(bad, "concierge")


@pytest.mark.parametrize("pct", [-0.1, 100.1, float("nan")])
def test_percentage_out_of_range(pct: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 100"):
        in_rollout("+5215512345678", "concierge", pct)


def test_empty_feature_name() -> None:
    with pytest.raises(ValueError, match="feature"):
        rollout_bucket("+5215512345678", "  ")
