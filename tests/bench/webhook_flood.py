"""Genuine webhook acks under a flood of unsigned huge forms (issue 12, defect 1).

    python -m tests.bench.webhook_flood [--genuine 300] [--attackers 18] [--concurrency 4]

Same machinery as ``tests.bench.capacity``: a fresh temporary DATA_DIR (embedded PostgreSQL), a fake
Twilio in this process, ``agentctl migrate`` and ``seed``, then real ``agentctl serve`` (one uvicorn
process) and ``agentctl worker`` subprocesses; the worker answers the genuine messages as in
production. Two phases, each ``--genuine`` signed webhooks from new customers posted by
``--concurrency`` clients, timing each ack:

* **quiet**: nothing else.
* **flood**: meanwhile ``--attackers`` clients in a separate process post, back to back, the request of
  the issue: an unsigned 4.9 MB form of 500,000 fields (half of them with a forged signature header,
  which passes the first check and meets the size cap instead).

Reports ack p50/p99 of each phase, the flood's request count and statuses; written to
bench-results/webhook_flood.json. The attackers share the machine's cores with the service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2

from tests.bench.capacity import CAPACITY_SETTINGS, customer_number, signed
from tests.bench.run import ACCOUNT_SID, AUTH_TOKEN, bench_stack, embedded_database
from tests.e2e.procs import ROOT, WEBHOOK_PATH, Stack, run_agentctl
from tests.fakes.twilio_server import FakeTwilioServer

RESULTS = ROOT / "bench-results" / "webhook_flood.json"
HUGE_FORM = "&".join(f"f{i}=x" for i in range(500_000)).encode()


async def _attack(api_url: str, attackers: int, stop: Any, results: dict[str, int]) -> None:
    async with httpx2.AsyncClient(base_url=api_url, timeout=60) as http:

        async def attacker(forged: bool) -> None:
            headers = {"content-type": "application/x-www-form-urlencoded"}
            if forged:
                headers["X-Twilio-Signature"] = "Zm9yZ2Vk"
            while not stop.is_set():
                try:
                    r = await http.post(WEBHOOK_PATH, content=HUGE_FORM, headers=headers)
                    key = str(r.status_code)
                except httpx2.HTTPError as exc:
                    key = type(exc).__name__
                results[key] = results.get(key, 0) + 1

        await asyncio.gather(*(attacker(i % 2 == 1) for i in range(attackers)))


def flood(api_url: str, attackers: int, stop: Any, queue: Any) -> None:
    """The attackers' process: post huge unsigned forms until ``stop`` is set; put the status counts on ``queue``."""
    results: dict[str, int] = {}
    asyncio.run(_attack(api_url, attackers, stop, results))
    queue.put(results)


async def genuine_acks(api_url: str, count: int, concurrency: int) -> tuple[list[float], int]:
    """Post ``count`` signed webhooks from new customers; each ack's seconds and the failures."""
    prepared = [signed(api_url, customer_number(), "hola, ¿tienen Versa?") for _ in range(count)]
    latencies: list[float] = []
    failures = 0
    async with httpx2.AsyncClient(base_url=api_url, timeout=60) as http:

        async def client(mine: list[tuple[dict[str, str], dict[str, str]]]) -> None:
            nonlocal failures
            for params, headers in mine:
                started = time.perf_counter()
                try:
                    r = await http.post(WEBHOOK_PATH, data=params, headers=headers)
                    ok = r.status_code == 200
                except httpx2.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                failures += not ok
                await asyncio.sleep(0.01)  # a steady trickle, as Twilio delivers, rather than a burst

        await asyncio.gather(*(client(prepared[i::concurrency]) for i in range(concurrency)))
    return latencies, failures


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
    }


def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """The quiet phase, then the flood phase."""
    asyncio.run(genuine_acks(stack.url, 50, args.concurrency))  # warm-up
    quiet, quiet_failures = asyncio.run(genuine_acks(stack.url, args.genuine, args.concurrency))
    spawn = multiprocessing.get_context("spawn")
    queue: Any = spawn.Queue()
    stop = spawn.Event()
    attackers = spawn.Process(target=flood, args=(stack.url, args.attackers, stop, queue))
    attackers.start()
    time.sleep(3.0)  # let the flood build up (and its process start) before measuring
    started = time.monotonic()
    flooded, flooded_failures = asyncio.run(genuine_acks(stack.url, args.genuine, args.concurrency))
    seconds = time.monotonic() - started + 3.0
    stop.set()
    flood_statuses = queue.get(timeout=180)
    attackers.join(timeout=30)
    return {
        "quiet": percentiles(quiet) | {"acks": len(quiet), "failures": quiet_failures},
        "flood": percentiles(flooded) | {"acks": len(flooded), "failures": flooded_failures},
        "flood_requests": dict(Counter(flood_statuses)),
        "flood_seconds": round(seconds, 1),
        "attackers": args.attackers,
        "form_bytes": len(HUGE_FORM),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the flood benchmark; 0 when every genuine webhook was acknowledged."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--genuine", type=int, default=300, help="genuine webhooks per phase")
    parser.add_argument("--attackers", type=int, default=18)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="agent-flood-"))
    fake = FakeTwilioServer(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    try:
        with embedded_database(data_dir) as conninfo:
            stack = bench_stack(data_dir, conninfo, fake, CAPACITY_SETTINGS)
            try:
                run_agentctl("migrate", env=stack.env)
                run_agentctl("seed", env=stack.env)
                stack.start(workers=1, timeout=120)  # /readyz waits for a worker's heartbeat
                results = measure(stack, args)
            except BaseException:
                print(stack.log_tail(), file=sys.stderr)
                raise
            finally:
                stack.stop()
    finally:
        fake.stop()
    results["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    quiet, flooded = results["quiet"], results["flood"]
    print(
        f"genuine ack without flood: p50 {quiet['p50_ms']} ms, p99 {quiet['p99_ms']} ms; "
        f"with {args.attackers} attackers posting {len(HUGE_FORM) / 1e6:.1f} MB unsigned forms: "
        f"p50 {flooded['p50_ms']} ms, p99 {flooded['p99_ms']} ms; flood requests {results['flood_requests']}"
    )
    return 0 if quiet["failures"] == flooded["failures"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
