"""Both processes freeze their start-up heap (app.core.heap): Python's full collections then walk only what
serving made since, not the few hundred thousand objects of start-up."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.core.heap import freeze_startup_heap


@pytest.fixture
def thawed() -> Any:
    """The test's freeze undone afterwards, so the rest of the suite's collections see the whole heap again."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_frozen_heap_is_left_out_of_full_collections(thawed: None) -> None:
    import app.main  # noqa: F401  (the API's modules: its start-up heap)

    walked = len(gc.get_objects())  # what a full collection walks (the frozen generation is not listed)
    frozen = freeze_startup_heap()
    assert frozen > 100_000 and gc.get_freeze_count() > 100_000  # (a frozen object freed leaves the count)
    assert len(gc.get_objects()) < walked / 10
    cycle: list[Any] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1  # what is made after the freeze is still collected


async def test_the_api_freezes_its_heap_once_started(migrated: None, thawed: None) -> None:
    from app.main import create_app

    app = create_app()
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() > 100_000


async def test_the_worker_freezes_its_heap_before_taking_jobs(
    migrated: None, thawed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker freezes after its start-up (recovery, spool) and before procrastinate runs its first job."""
    from app import worker

    seen: list[int] = []

    async def run_worker_async(self: Any, **_options: Any) -> None:
        seen.append(gc.get_freeze_count())

    @contextlib.asynccontextmanager
    async def already_open(self: Any) -> AsyncIterator[Any]:
        yield self  # the suite's queue stays open: the worker's own open/close would close it under later tests

    monkeypatch.setattr(type(worker.get_queue()), "open_async", already_open)
    monkeypatch.setattr(type(worker.get_queue()), "run_worker_async", run_worker_async)
    await worker.run_worker(concurrency=1)
    assert seen and seen[0] > 100_000
