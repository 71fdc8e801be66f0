"""Where the hot paths spend their time: database round trips and CPU per webhook ack and per offline turn.

    python -m tests.bench.profile_hot [--customers 60] [--rounds 3] [--profile DIR]

Not a latency benchmark (``tests.bench.run`` is): this runs the API (through an in-process ASGI
transport) and one worker (``app.worker.run_worker``) inside this process, on a fresh embedded
PostgreSQL with the demo tenant and a fake Twilio, and counts what each ack and each turn asks of the
database by wrapping the drivers' calls that make a round trip (asyncpg for the application,
psycopg for the job queue), labelled by the statement's first words. CPU is the event-loop thread's
CPU time (``time.thread_time``), so the fake Twilio's thread is not counted.

* acks: ``--customers`` signed webhooks, one at a time, each from a new customer (a new
  conversation, the inbound row and its job); then the same customers' later messages.
* turns: ``--rounds`` rounds; in each, every customer's next message of the demo scripts of
  ``tests.bench.run`` is posted, then the worker (concurrency 4) answers them all.

With ``--profile DIR`` the ack and turn phases are also profiled with cProfile timed by the thread's CPU
clock (``acks.prof``, ``turns.prof``; read them with ``python -m pstats``). Results are printed and written to
bench-results/profile_hot.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import cProfile
import functools
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2

from tests.bench.capacity import signed
from tests.bench.run import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    NOT_LOCAL,
    SCRIPTS,
    embedded_database,
    service_env,
)
from tests.e2e.procs import ROOT, WEBHOOK_PATH, free_port, run_agentctl
from tests.fakes.twilio_server import FakeTwilioServer

RESULTS = ROOT / "bench-results" / "profile_hot.json"

# ---------------------------------------------------------------------------------------------- counting

_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("inside_db_call", default=False)
# "ack" inside a webhook request (the ASGI transport runs the app in the caller's task); "" elsewhere.
phase: contextvars.ContextVar[str] = contextvars.ContextVar("phase", default="")
trips: Counter[str] = Counter()


def _label(driver: str, method: str, query: Any) -> str:
    text = query if isinstance(query, str) else str(getattr(query, "query", "") or getattr(query, "as_string", ""))
    text = re.sub(r"\s+", " ", text).strip()
    return f"{driver}.{method}: {text[:90]}"


def _wrap(owner: Any, method: str, driver: str, query_of: Callable[[Any, tuple[Any, ...]], Any]) -> None:
    original = getattr(owner, method)

    @functools.wraps(original)
    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _inside.get():
            return await original(self, *args, **kwargs)
        trips[phase.get() + _label(driver, method, query_of(self, args))] += 1
        token = _inside.set(True)
        try:
            return await original(self, *args, **kwargs)
        finally:
            _inside.reset(token)

    setattr(owner, method, counted)


def install_counters() -> None:
    """Count every call that makes a database round trip (nested driver calls count once)."""
    import asyncpg.connection
    import asyncpg.prepared_stmt
    import psycopg

    first_arg: Callable[[Any, tuple[Any, ...]], Any] = lambda _self, args: args[0] if args else ""  # noqa: E731
    for method in ("prepare", "execute", "executemany", "fetch", "fetchrow", "fetchval"):
        _wrap(asyncpg.connection.Connection, method, "asyncpg", first_arg)
    statement_query: Callable[[Any, tuple[Any, ...]], Any] = lambda self, _args: self.get_query()  # noqa: E731
    for method in ("fetch", "fetchrow", "fetchval", "executemany"):
        _wrap(asyncpg.prepared_stmt.PreparedStatement, method, "asyncpg-stmt", statement_query)
    for method in ("execute", "executemany"):
        _wrap(psycopg.AsyncCursor, method, "psycopg", first_arg)
    _wrap(psycopg.AsyncConnection, "execute", "psycopg", first_arg)


def snapshot() -> Counter[str]:
    return Counter(trips)


def since(before: Counter[str], *, acks: bool) -> Counter[str]:
    after = snapshot()
    after.subtract(before)
    wanted = {k: v for k, v in after.items() if v > 0 and not k.startswith("setup:")}
    return Counter({k.removeprefix("ack:"): v for k, v in wanted.items() if k.startswith("ack:") == acks})


def per_unit(counts: Counter[str], units: int) -> dict[str, Any]:
    total = sum(counts.values())
    return {
        "per_unit": round(total / units, 2),
        "total": total,
        "units": units,
        "by_statement": {k: round(v / units, 2) for k, v in counts.most_common()},
    }


# ---------------------------------------------------------------------------------------------- sampling


class Sampler:
    """A sampling profiler of the event-loop thread: every ``interval`` seconds, while enabled, the running
    stack is recorded; a function's share is the fraction of samples whose stack holds it (inclusive).

    cProfile mis-attributes time in coroutines and threads (a coroutine's frame leaves the stack at each
    await; waits for the GIL count as the running function's time); a stack sample of the loop's thread
    while it runs Python code does not. Samples taken while the loop waits in ``select`` are counted apart.
    """

    def __init__(self, interval: float = 0.0005) -> None:
        self.interval = interval
        self.thread_id = threading.get_ident()
        self.enabled = False
        self.samples = 0
        self.idle = 0
        self.inclusive: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.enabled:
                continue
            frame = sys._current_frames().get(self.thread_id)
            if frame is None:
                continue
            names: set[str] = set()
            top = frame.f_code.co_name
            while frame is not None:
                code = frame.f_code
                where = code.co_filename.replace(str(ROOT) + "/", "")
                where = re.sub(r".*site-packages/", "", where)
                names.add(f"{where}:{code.co_name}")
                frame = frame.f_back
            if top in ("select", "poll"):
                self.idle += 1
                continue
            self.samples += 1
            self.inclusive.update(names)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=1)

    def report(self, top: int = 80) -> list[str]:
        busy = max(self.samples, 1)
        lines = [f"{self.samples} busy samples, {self.idle} idle"]
        for name, count in self.inclusive.most_common(top):
            lines.append(f"{100 * count / busy:5.1f}%  {name}")
        return lines


# ---------------------------------------------------------------------------------------------- phases


class Harness:
    """The API as an ASGI app and the worker, both in this event loop."""

    def __init__(self, api_url: str, fake: FakeTwilioServer, conninfo: str) -> None:
        self.api_url = api_url
        self.fake = fake
        self.conninfo = conninfo

    async def post_all(
        self, http: httpx2.AsyncClient, messages: list[tuple[str, str]], profiler: cProfile.Profile | None
    ) -> tuple[float, list[float]]:
        """Post each message one at a time; the loop thread's CPU seconds and each ack's wall milliseconds."""
        prepared = [signed(self.api_url, c, b) for c, b in messages]
        walls: list[float] = []
        cpu = 0.0
        for params, headers in prepared:
            started_cpu, started = time.thread_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            token = phase.set("ack:")
            try:
                response = await http.post(WEBHOOK_PATH, data=params, headers=headers)
            finally:
                phase.reset(token)
            if profiler:
                profiler.disable()
            cpu += time.thread_time() - started_cpu
            walls.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
        return cpu, walls

    async def wait_replies(self, count: int, within: float = 120) -> None:
        deadline = time.monotonic() + within
        while len(self.fake.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.fake.messages)} of {count} replies")
            await asyncio.sleep(0.01)


_UNFINISHED_SQL = (
    "SELECT (SELECT count(*) FROM messages WHERE (direction = 'inbound' AND status = 'received') "
    "OR (direction = 'outbound' AND status IN ('pending', 'sending'))), (SELECT count(*) FROM turns)"
)


async def settled_turns(conninfo: str, within: float = 120) -> int:
    """Wait until no message is left unanswered or unsent (replies may have several parts, and a turn may be
    followed by other messages); the number of turns stored so far. Not counted as the worker's round trips."""
    import psycopg

    token = phase.set("setup:")
    deadline = time.monotonic() + within
    try:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            while True:
                row = await (await conn.execute(_UNFINISHED_SQL)).fetchone()
                assert row is not None
                if row[0] == 0:
                    return int(row[1])
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{row[0]} messages still unfinished")
                await asyncio.sleep(0.05)
    finally:
        phase.reset(token)


async def make_due(conninfo: str) -> None:
    """Every waiting job due now (a separate connection: not counted as the worker's)."""
    import psycopg

    token = phase.set("setup:")
    try:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            await conn.execute("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
    finally:
        phase.reset(token)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


async def measure(args: argparse.Namespace, harness: Harness) -> dict[str, Any]:
    # lazy: the application reads its settings from the environment this process set up first
    from app.core.config import get_settings
    from app.main import create_app
    from app.worker import run_worker

    settings = get_settings()

    profile_dir: Path | None = args.profile
    # Timed by the thread's CPU clock: waits (and being preempted by PostgreSQL on a small machine) count nothing.
    ack_profiler = cProfile.Profile(time.thread_time) if profile_dir else None
    turn_profiler = cProfile.Profile(time.thread_time) if profile_dir else None
    sampler = Sampler() if args.sample else None
    app = create_app()
    customers = [f"whatsapp:+52157{i:08d}" for i in range(1, args.customers + 1)]
    scripts = [SCRIPTS[i % len(SCRIPTS)] for i in range(len(customers))]
    results: dict[str, Any] = {}
    async with app.router.lifespan_context(app):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url=harness.api_url) as http:
            # warm-up: two customers that are not measured, through the worker too
            worker = asyncio.create_task(run_worker(concurrency=args.concurrency))
            warm = [(f"whatsapp:+52158{i:08d}", SCRIPTS[i][0]) for i in range(2)]
            await harness.post_all(http, warm, None)
            await harness.wait_replies(2)
            ack_trips: Counter[str] = Counter()
            ack_cpu: list[float] = []
            ack_walls: list[float] = []
            turn_trips: Counter[str] = Counter()
            turn_cpu = 0.0
            turn_cpu_by_round: list[float] = []
            turn_wall = 0.0
            turns = 0
            for round_no in range(args.rounds):
                messages = [(c, s[round_no]) for c, s in zip(customers, scripts, strict=True)]
                turns_before = await settled_turns(harness.conninfo)
                before = snapshot()
                # Jobs due in an hour while the acks are measured, so the worker stays idle; then due now.
                settings.burst_window_seconds = settings.burst_max_seconds = 3600
                cpu, walls = await harness.post_all(http, messages, ack_profiler)
                settings.burst_window_seconds = settings.burst_max_seconds = 0
                ack_trips.update(since(before, acks=True))
                await make_due(harness.conninfo)
                ack_cpu.append(cpu / len(messages) * 1000)
                ack_walls.extend(walls)
                before = snapshot()
                started_cpu, started = time.thread_time(), time.perf_counter()
                if turn_profiler:
                    turn_profiler.enable()
                if sampler:
                    # The sampler runs only when this thread lets go of the GIL: make that often, not only at
                    # system calls (which would bias the samples towards them).
                    sys.setswitchinterval(0.0002)
                    sampler.enabled = True
                turns_after = await settled_turns(harness.conninfo)
                if sampler:
                    sampler.enabled = False
                    sys.setswitchinterval(0.005)
                if turn_profiler:
                    turn_profiler.disable()
                turn_cpu += time.thread_time() - started_cpu
                turn_cpu_by_round.append((time.thread_time() - started_cpu) / max(turns_after - turns_before, 1) * 1000)
                turn_wall += time.perf_counter() - started
                turn_trips.update(since(before, acks=False))
                turns += turns_after - turns_before
                print(
                    f"profile: round {round_no + 1}: {len(messages)} acks, {turns_after - turns_before} turns",
                    flush=True,
                )
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(worker, timeout=30)
    acks = args.customers * args.rounds
    results["acks"] = {
        "cpu_ms_per_ack_by_round": [round(c, 2) for c in ack_cpu],
        "wall_ms_p50": round(median(ack_walls), 2),
        "round_trips": per_unit(ack_trips, acks),
    }
    results["turns"] = {
        "cpu_ms_per_turn": round(turn_cpu / turns * 1000, 2),
        "cpu_ms_per_turn_by_round": [round(c, 2) for c in turn_cpu_by_round],
        "wall_s": round(turn_wall, 2),
        "turns_per_s_in_process": round(turns / turn_wall, 1),
        "round_trips": per_unit(turn_trips, turns),
    }
    if sampler:
        sampler.stop()
        results["turn_samples"] = sampler.report()
    if profile_dir:
        assert ack_profiler is not None and turn_profiler is not None
        ack_profiler.create_stats()
        turn_profiler.create_stats()
        results["profiles"] = {"acks": ack_profiler, "turns": turn_profiler}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="messages per customer (at most 6)")
    parser.add_argument("--concurrency", type=int, default=4, help="the worker's concurrency")
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats to this directory")
    parser.add_argument("--sample", action="store_true", help="sample the loop's stack during the turns")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop (as uvicorn does)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="agent-profile-"))
    fake = FakeTwilioServer(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    try:
        with embedded_database(data_dir) as conninfo:
            api_url = f"http://127.0.0.1:{free_port()}"
            env = service_env(data_dir, fake, api_url, {"WORKER_METRICS_PORT": "0", "LOG_LEVEL": "ERROR"})
            run_agentctl("migrate", env={**os.environ, **env})
            run_agentctl("seed", env={**os.environ, **env})
            os.environ.update(env)
            for name in NOT_LOCAL:
                os.environ.pop(name, None)
            install_counters()
            if args.uvloop:
                import uvloop

                results = uvloop.run(measure(args, Harness(api_url, fake, conninfo)))
            else:
                results = asyncio.run(measure(args, Harness(api_url, fake, conninfo)))
    finally:
        fake.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    profiles = results.pop("profiles", {})
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        for name, profiler in profiles.items():
            profiler.dump_stats(args.profile / f"{name}.prof")
    print(json.dumps(results, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
