"""`agentctl healthcheck worker|api` and `agentctl seed --if-enabled` through the real CLI.

What a container orchestrator sees: exit 0 when the process is well, exit 1 with a one-line reason.
The worker probe reads procrastinate's worker heartbeats; the ``worker`` fixture runs a real worker in
the test loop, which is frozen while a sync test runs: a worker that stops beating, as a hung one would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.config import get_settings
from tests.e2e.procs import Stack
from tests.integration.agentctl import Cli


async def test_worker_probe_passes_while_a_worker_beats(worker: None, cli: Cli) -> None:
    await asyncio.sleep(1.2)  # at least one heartbeat of the fixture's worker (every second)
    # In a thread: the command runs its own event loop while the worker keeps beating in this one.
    result = await asyncio.to_thread(cli.invoke, "healthcheck", "worker", "--max-age", "3")
    assert result.exit_code == 0, result.output
    assert "worker healthy" in result.output


def test_worker_probe_fails_with_a_reason_once_heartbeats_stop(worker: None, cli: Cli) -> None:
    cli.ok("healthcheck", "worker", "--max-age", "120")  # the worker is registered
    time.sleep(2.2)  # the test loop (and the worker in it) is frozen during a sync test
    output = cli.fails("healthcheck", "worker", "--max-age", "2")
    assert output.strip() == "worker unhealthy: no worker heartbeat in the last 2 s"


@pytest.fixture
def api(migrated: None, tmp_path: Path) -> Iterator[Stack]:
    """``agentctl serve`` as a real process on a free port."""
    with Stack(log_dir=tmp_path) as stack:
        stack.start_api()
        yield stack


def test_api_probe_passes_on_a_migrated_api_and_fails_when_it_is_gone(api: Stack, cli: Cli) -> None:
    output = cli.ok("healthcheck", "api", "--url", api.url)
    assert f"api ready: {api.url}/readyz (schema " in output
    api.stop()
    output = cli.fails("healthcheck", "api", "--url", api.url, "--timeout", "2")
    assert output.startswith(f"api unreachable: {api.url}/readyz (")
    assert len(output.strip().splitlines()) == 1


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings of a production deployment on the test database (SEED_DEMO unset)."""
    from app.core.db import libpq_conninfo

    monkeypatch.setenv("DATABASE_URL", libpq_conninfo())
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("SEED_DEMO", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()  # monkeypatch restores the environment after this


def test_seed_if_enabled_skips_the_demo_in_production(cli: Cli, production: None) -> None:
    output = cli.ok("seed", "--if-enabled")
    assert output.strip() == "demo tenant not seeded: ENVIRONMENT is production and SEED_DEMO is not true"


def test_seed_if_enabled_seeds_in_production_when_asked(
    cli: Cli, production: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEED_DEMO", "true")
    get_settings.cache_clear()
    output = cli.ok("seed", "--if-enabled")
    assert "not seeded" not in output
    assert "'tenant': 'demo'" in output


def test_seed_if_enabled_seeds_outside_production(cli: Cli) -> None:
    assert get_settings().environment == "test"
    output = cli.ok("seed", "--if-enabled")
    assert "not seeded" not in output
    assert "'tenant': 'demo'" in output
