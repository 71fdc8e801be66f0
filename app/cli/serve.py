"""agentctl migrate / seed / serve / worker / up: bring the database, the API and the queue worker up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Annotated

import typer

from app.cli.common import console, run


def migrate() -> None:
    """Apply database migrations (alembic upgrade head)."""
    # lazy: alembic and SQLAlchemy cost ~0.8 s; --help needs neither
    from app.core.migrate import upgrade

    upgrade()
    console.print("database migrated to head")


def seed() -> None:
    """Create or refresh the demo tenant (idempotent)."""
    # lazy: the seeder imports every domain (~2.5 s); --help needs none of them
    from app.demo.seed import seed_demo

    result = run(seed_demo)
    console.print(result)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: PORT)")] = None,
    workers: Annotated[int | None, typer.Option(help="API processes (default: API_WORKERS)")] = None,
) -> None:
    """Serve the HTTP API and webhooks."""
    # lazy: uvicorn and pydantic-settings cost ~0.3 s; only serve needs them
    import uvicorn

    from app.core.config import get_settings

    settings = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=workers or settings.api_workers,
        log_config=None,
    )


def worker(concurrency: Annotated[int | None, typer.Option(help="Jobs run at once")] = None) -> None:
    """Run a queue worker (many may run, on many machines)."""
    # lazy: the worker imports every domain's tasks and the agent graph (~4 s); only worker needs them
    from app.core.logging import configure_logging
    from app.worker import run_worker

    configure_logging()
    run(lambda: run_worker(concurrency=concurrency))


def up(host: Annotated[str, typer.Option()] = "127.0.0.1", port: Annotated[int | None, typer.Option()] = None) -> None:
    """Migrate, seed the demo tenant, then serve the API with one worker beside it."""
    # lazy: pydantic-settings costs ~0.3 s; --help does not read the settings
    from app.core.config import get_settings

    migrate()
    seed()
    worker_process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker"], env=os.environ.copy())
    console.print(f"worker started (pid {worker_process.pid}); API on http://{host}:{port or get_settings().port}")
    try:
        serve(host=host, port=port, workers=None)
    finally:
        worker_process.send_signal(signal.SIGTERM)
        try:
            worker_process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker_process.kill()
