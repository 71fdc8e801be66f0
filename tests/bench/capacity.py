"""Capacity of one process: webhook acks/s of one API process, offline turns/s of one worker.

    python -m tests.bench.capacity [--repeat 3] [--acks 1500] [--ack-concurrency 32] [--turns 300]

The figures behind docs/scaling.md. Same machinery as ``tests.bench.run``: a fresh temporary DATA_DIR
(embedded PostgreSQL), a fake Twilio in this process, ``agentctl migrate`` and ``seed``, then real
``agentctl serve`` / ``agentctl worker`` subprocesses; everything on 127.0.0.1, stopped in ``finally``.

* **acks/s of one API process**: ``--ack-concurrency`` clients post signed webhooks, each from a new
  customer (the dearest path: a new conversation, the inbound row, a queued job), to one ``agentctl
  serve`` (one uvicorn process) with no worker running, ``--acks`` requests per repeat; acks/s is the
  number of 200s over the wall time of the repeat.
* **turns/s of one worker**: ``--turns`` customers each write one message (the first turns of the
  demo conversations of ``tests.bench.run``: stock, finance, opening hours…) while no worker runs;
  then one ``agentctl worker`` (WORKER_CONCURRENCY, default 4) drains the queue with the offline tier
  (no LLM). turns/s is replies over the time from the first reply to the last at the fake Twilio, so
  the worker's start-up is not counted.

Beside each rate, the CPU the measured process (the API, or the worker from its first reply on) and
PostgreSQL (every server process) used per ack or per turn: on a shared machine the rates follow the
load of others, the CPU per unit of work much less, so it is the figure to compare changes by.

The load generator and the fake Twilio run in this process, on the same cores as the service: on a
small machine they take a share of the CPU, so these are lower bounds. Each figure is measured
``--repeat`` times; the median and the range are reported with the load average, and written to
bench-results/capacity.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import psutil
import psycopg

from tests.bench.run import ACCOUNT_SID, AUTH_TOKEN, DEMO_NUMBER, SCRIPTS, bench_stack, embedded_database
from tests.e2e.procs import ROOT, WEBHOOK_PATH, Stack, run_agentctl, twilio_signature, whatsapp_params
from tests.fakes.twilio_server import FakeTwilioServer

RESULTS = ROOT / "bench-results" / "capacity.json"
FIRST_MESSAGES = [script[0] for script in SCRIPTS] + [script[1] for script in SCRIPTS]


@dataclass
class Sample:
    """One repeat of one measurement."""

    rate: float  # per second
    count: int
    seconds: float
    failures: int
    loadavg: float  # 1-minute load average right after the repeat
    service_cpu_ms: float = float("nan")  # CPU of the measured process (API or worker) per request or turn
    database_cpu_ms: float = float("nan")  # CPU of PostgreSQL (every backend) per request or turn


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def postgres_cpu(data_dir: Path) -> float:
    """CPU seconds the embedded PostgreSQL of ``data_dir`` has used: the postmaster, its live children and,
    through the postmaster's reaped-children counters, the backends that already exited."""
    pid = int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])
    postmaster = psutil.Process(pid)
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return float(total)


class CpuMeter:
    """CPU used by one service process and by PostgreSQL between ``start`` and ``per``."""

    def __init__(self, pid: int, data_dir: Path) -> None:
        self.pid, self.data_dir = pid, data_dir
        self.service = process_cpu(pid)
        self.database = postgres_cpu(data_dir)

    def per(self, count: int) -> tuple[float, float]:
        """(service ms, database ms) per unit of work since construction."""
        service = (process_cpu(self.pid) - self.service) * 1000 / max(count, 1)
        database = (postgres_cpu(self.data_dir) - self.database) * 1000 / max(count, 1)
        return round(service, 2), round(database, 2)


def customer_number() -> str:
    """A customer never seen before."""
    return f"whatsapp:+52156{uuid.uuid4().int % 10**8:08d}"


def signed(api_url: str, customer: str, body: str) -> tuple[dict[str, str], dict[str, str]]:
    """Form and headers of a Twilio webhook from ``customer``, signed for ``api_url``."""
    params = whatsapp_params(
        sid="SM" + uuid.uuid4().hex, account_sid=ACCOUNT_SID, from_=customer, to=DEMO_NUMBER, body=body
    )
    return params, {"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, api_url + WEBHOOK_PATH, params)}


async def post_many(api_url: str, messages: list[tuple[str, str]], concurrency: int) -> tuple[int, int, float]:
    """Post every (customer, body) with ``concurrency`` clients; (200s, failures, seconds)."""
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in messages:
        queue.put_nowait(item)
    # Signing in advance keeps the client's own CPU out of the measured window as far as possible.
    prepared = {item: signed(api_url, *item) for item in messages}
    ok = failed = 0
    limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx2.AsyncClient(base_url=api_url, timeout=30, limits=limits) as http:

        async def client() -> None:
            nonlocal ok, failed
            while not queue.empty():
                params, headers = prepared[queue.get_nowait()]
                try:
                    response = await http.post(WEBHOOK_PATH, data=params, headers=headers)
                except httpx2.HTTPError:
                    failed += 1
                    continue
                if response.status_code == 200:
                    ok += 1
                else:
                    failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return ok, failed, time.perf_counter() - started


def measure_acks(stack: Stack, *, count: int, concurrency: int) -> Sample:
    """Acks/s of the API process: ``count`` webhooks from new customers; its CPU and PostgreSQL's per ack."""
    messages = [(customer_number(), FIRST_MESSAGES[i % len(FIRST_MESSAGES)]) for i in range(count)]
    assert stack.api is not None
    meter = CpuMeter(stack.api.pid, Path(stack.env["DATA_DIR"]))
    ok, failed, seconds = asyncio.run(post_many(stack.url, messages, concurrency))
    service, database = meter.per(ok)
    return Sample(ok / seconds, ok, seconds, failed, round(os.getloadavg()[0], 2), service, database)


def forget_queued_work(conninfo: str) -> None:
    """Drop the jobs and unanswered messages the ack measurement left, so the worker starts on an empty queue."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DELETE FROM procrastinate_jobs WHERE status = 'todo'")
        conn.execute("UPDATE messages SET status = 'failed' WHERE direction = 'inbound' AND status = 'received'")


def measure_turns(stack: Stack, fake: FakeTwilioServer, *, count: int, timeout: float) -> Sample:
    """Turns/s of one worker draining ``count`` queued first messages (offline tier)."""
    customers = [customer_number() for _ in range(count)]
    messages = [(c, FIRST_MESSAGES[i % len(FIRST_MESSAGES)]) for i, c in enumerate(customers)]
    ok, failed, _ = asyncio.run(post_many(stack.url, messages, 16))
    baseline = len(fake.messages)
    worker = stack.start_worker(timeout=120)
    try:
        fake.wait_for_sync(baseline + 1, timeout=timeout)
        # From the first reply: the worker's start-up (imports, recovery pass) is not a turn's cost.
        first = len(fake.messages) - baseline
        meter = CpuMeter(worker.pid, Path(stack.env["DATA_DIR"]))
        fake.wait_for_sync(baseline + ok, timeout=timeout)
        service, database = meter.per(len(fake.messages) - baseline - first)
    except TimeoutError:
        failed += ok - (len(fake.messages) - baseline)
        service = database = float("nan")
    finally:
        stack.stop_workers()
    wanted = set(customers)
    arrived = sorted(m["received_at"].timestamp() for m in fake.messages if m["to"] in wanted)
    seconds = arrived[-1] - arrived[0] if len(arrived) > 1 else float("nan")
    rate = (len(arrived) - 1) / seconds
    return Sample(rate, len(arrived), seconds, failed, round(os.getloadavg()[0], 2), service, database)


def summarise(samples: list[Sample]) -> dict[str, Any]:
    """Median and range of the rates, with every sample."""
    rates = [s.rate for s in samples]
    return {
        "median_per_s": round(statistics.median(rates), 1),
        "min_per_s": round(min(rates), 1),
        "max_per_s": round(max(rates), 1),
        "failures": sum(s.failures for s in samples),
        "service_cpu_ms_median": round(statistics.median(s.service_cpu_ms for s in samples), 2),
        "database_cpu_ms_median": round(statistics.median(s.database_cpu_ms for s in samples), 2),
        "samples": [
            {
                "per_s": round(s.rate, 1),
                "count": s.count,
                "seconds": round(s.seconds, 2),
                "loadavg_1m": s.loadavg,
                "service_cpu_ms": s.service_cpu_ms,
                "database_cpu_ms": s.database_cpu_ms,
            }
            for s in samples
        ],
    }


# The ack measurement runs the API alone and leaves a backlog: /readyz must not wait for either.
CAPACITY_SETTINGS = {
    "API_WORKERS": "1",
    "READY_WORKER_HEARTBEAT_SECONDS": "0",
    "READY_MAX_QUEUE_AGE_SECONDS": "0",
}


def run(args: argparse.Namespace, data_dir: Path, fake: FakeTwilioServer) -> dict[str, Any]:
    """Start the service on a fresh embedded database and take both measurements."""
    with embedded_database(data_dir) as conninfo:
        stack = bench_stack(data_dir, conninfo, fake, CAPACITY_SETTINGS)
        try:
            print(f"capacity: DATA_DIR={data_dir}; migrating and seeding…", flush=True)
            run_agentctl("migrate", env=stack.env)
            run_agentctl("seed", env=stack.env)
            stack.start_api(timeout=120)
            measure_acks(stack, count=100, concurrency=args.ack_concurrency)  # warm-up
            acks = []
            for i in range(args.repeat):
                acks.append(measure_acks(stack, count=args.acks, concurrency=args.ack_concurrency))
                print(f"capacity: acks repeat {i + 1}: {acks[-1].rate:.0f}/s", flush=True)
            forget_queued_work(conninfo)
            turns = []
            for i in range(args.repeat):
                turns.append(measure_turns(stack, fake, count=args.turns, timeout=args.timeout))
                print(f"capacity: turns repeat {i + 1}: {turns[-1].rate:.1f}/s", flush=True)
            concurrency = int(stack.env.get("WORKER_CONCURRENCY", "4"))
        except BaseException:
            print(stack.log_tail(), file=sys.stderr)
            raise
        finally:
            stack.stop()  # before the database: this process must hold its last handle
    return {
        "acks_per_api_process": summarise(acks) | {"requests": args.acks, "concurrency": args.ack_concurrency},
        "turns_per_worker": summarise(turns) | {"turns": args.turns, "worker_concurrency": concurrency},
    }


def report(results: dict[str, Any], machine: dict[str, Any]) -> str:
    """The human-readable summary."""
    acks, turns = results["acks_per_api_process"], results["turns_per_worker"]
    return "\n".join(
        [
            f"capacity on {machine['cpu_count']} CPUs, Python {machine['python']}, "
            f"load average before {machine['loadavg_before']}",
            f"webhook acks/s, one API process ({acks['concurrency']} clients, {acks['requests']} new customers "
            f"per repeat): median {acks['median_per_s']}, range {acks['min_per_s']}–{acks['max_per_s']}, "
            f"failures {acks['failures']}; CPU per ack: API process {acks['service_cpu_ms_median']} ms, "
            f"PostgreSQL {acks['database_cpu_ms_median']} ms",
            f"offline turns/s, one worker (concurrency {turns['worker_concurrency']}, {turns['turns']} queued "
            f"first messages per repeat): median {turns['median_per_s']}, range {turns['min_per_s']}–"
            f"{turns['max_per_s']}, failures {turns['failures']}; CPU per turn: worker "
            f"{turns['service_cpu_ms_median']} ms, PostgreSQL {turns['database_cpu_ms_median']} ms",
            "load average after each repeat: acks "
            + ", ".join(str(s["loadavg_1m"]) for s in acks["samples"])
            + "; turns "
            + ", ".join(str(s["loadavg_1m"]) for s in turns["samples"]),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the capacity benchmark; 0 when every request and turn succeeded."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--acks", type=int, default=1500, help="webhooks per acks repeat")
    parser.add_argument("--ack-concurrency", type=int, default=32)
    parser.add_argument("--turns", type=int, default=300, help="queued messages per turns repeat")
    parser.add_argument("--timeout", type=float, default=300, help="per turns repeat, seconds")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.acks < 1 or args.turns < 2 or args.ack_concurrency < 1:
        parser.error("need --repeat ≥ 1, --acks ≥ 1, --turns ≥ 2, --ack-concurrency ≥ 1")

    machine = {
        "started_at": datetime.now(UTC).isoformat(),
        "cpu_count": os.cpu_count(),
        "loadavg_before": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    data_dir = Path(tempfile.mkdtemp(prefix="agent-capacity-"))
    fake = FakeTwilioServer(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    try:
        results = run(args, data_dir, fake)
    finally:
        fake.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print()
    print(report(results, machine))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, **results}, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten to {args.out}")
    failures = results["acks_per_api_process"]["failures"] + results["turns_per_worker"]["failures"]
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
