"""Shared fixtures: a real embedded PostgreSQL migrated by alembic, a fake Twilio, an in-process worker.

Isolation is by construction rather than by rollback: the flows under test open their own
transactions (as in production), so every test makes its own tenant or its own customer ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import ipaddress
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import (
    ADMIN_KEY,
    PUBLIC_URL,
    TWILIO_SID,
    TWILIO_TOKEN,
    llm_settings,
    local_embeddings_missing,
    tesseract_missing,
)

_TMP = Path(tempfile.mkdtemp(prefix="agent-tests-"))

# Settings are read from the environment once; set them before anything reads app.core.config's settings.
os.environ.pop("DATABASE_URL", None)
os.environ.update(
    {
        "ENVIRONMENT": "test",
        "DATA_DIR": str(_TMP),
        "ADMIN_API_KEY": ADMIN_KEY,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "PUBLIC_BASE_URL": PUBLIC_URL,
        # Until the session's fake Twilio starts (fixture below), a closed local port: a sender made too
        # early fails fast instead of reaching the real Twilio.
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        "BURST_WINDOW_SECONDS": "0.4",
        "STALLED_JOB_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
        # Readiness without the worker and queue-age checks: most tests run the API with no worker beside it
        # (tests/e2e/test_supervision.py turns them on).
        "READY_WORKER_HEARTBEAT_SECONDS": "0",
        "READY_MAX_QUEUE_AGE_SECONDS": "0",
    }
)

# The tests never ask the machine's DNS. A name other than this machine's own fails at once, as it would on
# a machine with no network, instead of waiting on whatever resolver the machine has: a resolver that never
# answers holds the lookup's thread, and enough of them starve the event loop's executor for everything else.
_real_getaddrinfo = socket.getaddrinfo
_LOCAL_NAMES = {"localhost", "localhost.", "ip6-localhost", "ip6-loopback", socket.gethostname().lower()}


def _hermetic_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = (host.decode() if isinstance(host, bytes) else host or "").lower()
    if not name or name in _LOCAL_NAMES:
        return _real_getaddrinfo("localhost" if name == "localhost." else host, *args, **kwargs)
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(name.split("%", 1)[0])
        return _real_getaddrinfo(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, f"{name}: not resolved (the tests never ask DNS)")


socket.getaddrinfo = _hermetic_getaddrinfo

from app.core.config import get_settings  # noqa: E402
from app.llm.providers import ProviderRegistry, set_registry  # noqa: E402

get_settings.cache_clear()


# The ``cli`` fixture (agentctl through typer's CliRunner on a private engine).
pytest_plugins = ["tests.integration.agentctl"]


@pytest.fixture(scope="session", autouse=True)
def twilio_server() -> Iterator[FakeTwilioServer]:
    """The fake Twilio REST server for the whole session, started before any other fixture reads settings."""
    with FakeTwilioServer(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN) as fake:
        os.environ["TWILIO_API_BASE_URL"] = fake.base_url
        get_settings.cache_clear()  # settings read at import (collection) still hold the placeholder
        yield fake


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    """The embedded database's directory, removed at the end."""
    yield _TMP
    from app.core.db import stop_embedded_postgres

    stop_embedded_postgres()
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated(data_dir: Path) -> None:
    """Schema built the way production builds it: alembic upgrade head."""
    from app.core.migrate import upgrade

    upgrade()


@pytest.fixture(scope="session")
async def demo(migrated: None) -> dict[str, Any]:
    """The seeded demo tenant (shared, read-mostly; tests use their own customer ids)."""
    from app.demo.seed import seed_demo

    return await seed_demo()


@pytest.fixture(scope="session")
async def queue(migrated: None) -> AsyncIterator[Any]:
    """The job queue, opened for deferring."""
    from app.worker import get_queue

    app = get_queue()
    async with app.open_async():
        yield app


@pytest.fixture(scope="session")
async def worker(queue: Any) -> AsyncIterator[None]:
    """A real procrastinate worker running in the test loop."""
    from app.channels.sender import close_sender

    task = asyncio.create_task(
        queue.run_worker_async(
            concurrency=4,
            install_signal_handlers=False,
            fetch_job_polling_interval=0.1,
            update_heartbeat_interval=1,
            stalled_worker_timeout=5,
            delete_jobs="never",
        )
    )
    await asyncio.sleep(0.2)
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, timeout=10)
    await close_sender()


@pytest.fixture
def fake_twilio(twilio_server: FakeTwilioServer) -> Iterator[FakeTwilioServer]:
    """The fake Twilio REST server, emptied for each test."""
    twilio_server.reset()
    yield twilio_server
    twilio_server.reset()


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI server, installed as the process's LLM provider for one test."""
    with FakeOpenAIServer() as fake:
        registry = ProviderRegistry.from_settings(llm_settings(openai_base_url=fake.base_url, openai_api_key="test"))
        set_registry(registry)
        try:
            yield fake
        finally:
            set_registry(None)


@pytest.fixture(scope="session")
def tesseract() -> None:
    """Skips the test (``requires_tesseract``) when Tesseract or its spa/eng data is missing."""
    reason = tesseract_missing()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def local_embeddings() -> None:
    """Skips the test (``requires_local_embeddings``) when the local-embeddings extra is not installed."""
    reason = local_embeddings_missing()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
async def client(migrated: None, queue: Any) -> AsyncIterator[Any]:
    """An HTTP client speaking to the ASGI app in process."""
    import httpx2

    from app.main import create_app

    app = create_app()
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


# --- a test that hangs ends the run, with what it waited on ---------------------------------------------------

# A test stuck this long (the slowest take ~10 s) is stuck for good: the run would otherwise wait for the CI's
# own time limit and print nothing useful. Every thread's stack and the database's view (who waits on what
# lock, and who holds it) go to stderr, then the process exits.
HANG_SECONDS = float(os.environ.get("TEST_HANG_SECONDS", "300"))


def _database_view() -> str:
    """pg_stat_activity and the blocking graph of the session's database, as text (never raises)."""
    try:
        import psycopg

        from app.core.db import base_url, libpq_conninfo

        if not base_url.cache_info().currsize:
            return "(this run has not used the database)"
        with psycopg.connect(libpq_conninfo(), connect_timeout=5, autocommit=True) as conn:
            conn.execute("SET statement_timeout = '5s'")
            rows = conn.execute(
                "SELECT pid, backend_type, state, wait_event_type, wait_event, pg_blocking_pids(pid),"
                " now() - xact_start, now() - query_start, left(query, 300)"
                " FROM pg_stat_activity WHERE pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST"
            ).fetchall()
        return "\n".join(" | ".join(str(v) for v in row) for row in rows)
    except Exception as exc:  # the database itself may be what hangs
        return f"(no view of the database: {exc!r})"


def _stop_database() -> None:
    with contextlib.suppress(Exception):
        from app.core.db import stop_embedded_postgres

        stop_embedded_postgres()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    def hung() -> None:
        capture = item.config.pluginmanager.getplugin("capturemanager")
        if capture is not None:
            capture.suspend_global_capture(in_=False)  # the test's output is captured; this goes to the terminal
        out = sys.stderr
        print(f"\n!!! {item.nodeid} has run for {HANG_SECONDS:.0f} s; every thread, then the database:", file=out)
        faulthandler.dump_traceback(file=out, all_threads=True)
        print(_database_view(), file=out, flush=True)
        # The session's database would outlive the process: stop it, unless stopping hangs too.
        stopper = threading.Thread(target=_stop_database, daemon=True)
        stopper.start()
        stopper.join(20)
        os._exit(70)

    timer = threading.Timer(HANG_SECONDS, hung)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
