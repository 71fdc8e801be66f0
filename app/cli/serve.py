"""agentctl migrate / seed / serve / worker / up / healthcheck: bring the database, the API and the queue
worker up, and tell a container orchestrator whether they are well."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Annotated

import typer

from app.cli.common import console, err, run

healthcheck_app = typer.Typer(help="Exit 0 when a process is well, 1 with a one-line reason (for probes).")


def migrate() -> None:
    """Apply database migrations (alembic upgrade head)."""
    # lazy: alembic and SQLAlchemy cost ~0.8 s; --help needs neither
    from app.core.migrate import upgrade

    upgrade()
    console.print("database migrated to head")


def seed(
    if_enabled: Annotated[
        bool, typer.Option("--if-enabled", help="Only when SEED_DEMO=true or ENVIRONMENT is not production")
    ] = False,
) -> None:
    """Create or refresh the demo tenant (idempotent)."""
    # lazy: pydantic-settings costs ~0.3 s; --help does not read the settings
    from app.core.config import get_settings

    settings = get_settings()
    if if_enabled and not settings.demo_seeding_enabled:
        console.print("demo tenant not seeded: ENVIRONMENT is production and SEED_DEMO is not true")
        return
    # lazy: the seeder imports every domain (~2.5 s); --help needs none of them
    from app.demo.seed import seed_demo

    result = run(seed_demo)
    console.print(result)


def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: PORT)", min=1, max=65_535)] = None,
    workers: Annotated[int | None, typer.Option(help="API processes (default: API_WORKERS)")] = None,
) -> None:
    """Serve the HTTP API and webhooks."""
    # lazy: uvicorn and pydantic-settings cost ~0.3 s; only serve needs them
    import uvicorn

    from app.core.config import get_settings
    from app.core.logging import configure_logging

    settings = get_settings()
    configure_logging()  # uvicorn's own lines (start-up, access, errors) in our format, before the app loads
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port or settings.port,
        workers=workers or settings.api_workers,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=None,
    )


def worker(
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once", min=1, max=256)] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve this worker's Prometheus metrics here (default: WORKER_METRICS_PORT; 0 = off)"),
    ] = None,
) -> None:
    """Run a queue worker (many may run, on many machines)."""
    # lazy: the worker imports every domain's tasks and the agent graph (~4 s); only worker needs them
    from app.core.config import get_settings
    from app.core.logging import configure_logging
    from app.core.metrics import serve_metrics
    from app.worker import run_worker

    configure_logging()
    settings = get_settings()
    port = settings.worker_metrics_port if metrics_port is None else metrics_port
    # The worker's counters (turns, LLM calls, sends, jobs) live in its own process: it serves them itself.
    stop_metrics = serve_metrics(host=settings.worker_metrics_host, port=port) if port else None
    if stop_metrics is not None:
        console.print(f"worker metrics on http://{settings.worker_metrics_host}:{port}/metrics")
    try:
        run(lambda: run_worker(concurrency=concurrency))
    finally:
        if stop_metrics is not None:
            stop_metrics()


def up(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(min=1, max=65_535)] = None,
) -> None:
    """Migrate, seed the demo tenant (outside production or with SEED_DEMO=true), then run the API and one
    worker as supervised children: restarted with backoff when they die, all stopped on SIGTERM or Ctrl-C."""
    # lazy: pydantic-settings and the database helpers cost ~1 s; --help needs neither
    from app.cli.supervisor import Child, agentctl, supervise
    from app.core.config import get_settings
    from app.core.db import embedded_postgres_down, restart_embedded_postgres, stop_embedded_postgres
    from app.core.logging import configure_logging

    configure_logging()
    settings = get_settings()
    migrate()  # starts the embedded PostgreSQL when DATABASE_URL is unset: this process then watches it
    seed(if_enabled=True)
    port = port or settings.port
    children = [
        Child("api", agentctl("serve", "--host", host, "--port", str(port))),
        Child("worker", agentctl("worker")),
    ]
    console.print(f"API on http://{host}:{port} with one worker; SIGTERM or Ctrl-C stops both")
    try:
        supervise(
            children,
            max_backoff=settings.restart_backoff_max_seconds,
            database_down=embedded_postgres_down,
            restart_database=restart_embedded_postgres,
        )
    finally:
        stop_embedded_postgres()  # only when this process started it (DATABASE_URL unset)


def _unwell(reason: str) -> typer.Exit:
    """Print why a probe failed, on one line, and return the exit to raise."""
    err.print(reason, soft_wrap=True)
    return typer.Exit(1)


async def _fresh_workers(*, max_age_seconds: float) -> int:
    """How many procrastinate workers sent a heartbeat within ``max_age_seconds`` (any host)."""
    # lazy: SQLAlchemy and the engine cost ~1 s; only the worker probe needs them
    from sqlalchemy import text

    from app.core.db import session_scope

    # procrastinate (3.x) registers each running worker in procrastinate_workers and moves its
    # last_heartbeat forward every update_heartbeat_interval; a dead or hung worker's row goes stale.
    query = text(
        "SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => :age)"
    )
    async with session_scope() as session:
        return int((await session.execute(query, {"age": max_age_seconds})).scalar_one())


@healthcheck_app.command("worker")
def healthcheck_worker(
    max_age: Annotated[
        float | None,
        typer.Option(help="Seconds a heartbeat stays fresh (default: STALLED_JOB_SECONDS)", min=0.1, max=86_400),
    ] = None,
) -> None:
    """A queue worker sent a heartbeat within MAX_AGE seconds (procrastinate's worker table)."""
    # lazy: pydantic-settings and SQLAlchemy cost ~1 s; --help needs neither
    from app.core.config import get_settings

    seconds = max_age if max_age is not None else float(get_settings().stalled_job_seconds)
    try:
        count = run(lambda: _fresh_workers(max_age_seconds=seconds))
    except Exception as exc:  # noqa: BLE001  (any failure to look means "not well", said in one line)
        first_line = (str(exc).splitlines() or [""])[0]
        raise _unwell(f"worker unhealthy: cannot read the queue ({type(exc).__name__}: {first_line})") from None
    if count == 0:
        raise _unwell(f"worker unhealthy: no worker heartbeat in the last {seconds:g} s")
    console.print(f"worker healthy: {count} worker(s) with a heartbeat in the last {seconds:g} s")


@healthcheck_app.command("api")
def healthcheck_api(
    url: Annotated[str | None, typer.Option(help="The API's base URL (default: http://127.0.0.1:PORT)")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer", min=0.1, max=3_600)] = 5.0,
) -> None:
    """The API answers GET /readyz with 200 (database reachable and migrated)."""
    if url is None:
        # lazy: pydantic-settings costs ~0.3 s; only the default URL needs it
        from app.core.config import get_settings

        url = f"http://127.0.0.1:{get_settings().port}"
    target = url.rstrip("/") + "/readyz"
    try:
        # No proxies: a probe asks the API process itself, never through HTTP(S)_PROXY.
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(target, timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise _unwell(f"api not ready: {target} answered {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise _unwell(f"api unreachable: {target} ({exc})") from None
    console.print(f"api ready: {target} (schema {body.get('schema', '?')})")
