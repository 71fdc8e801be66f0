"""The webhook's grouped ingest: one set-based execution per group against one execution per call, pipelined.

    python -m tests.bench.group_ingest [--sizes 49 25 10] [--groups 20]

When webhooks arrive together (an opening burst), ``GroupedStatement`` stores them in one round trip and one
commit. This measures what that round trip costs the database both ways, on a fresh embedded PostgreSQL
with the demo tenant: for each group size, ``--groups`` groups of new customers' first messages, the two
forms alternating; the median wall time (send to rows back) and the mean CPU time of this run's PostgreSQL
(``tests.bench.capacity.postgres_cpu``). Written to bench-results/group_ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.bench.capacity import postgres_cpu
from tests.bench.run import ACCOUNT_SID, AUTH_TOKEN, DEMO_NUMBER, ROOT, embedded_database, service_env
from tests.e2e.procs import free_port, run_agentctl
from tests.fakes.twilio_server import FakeTwilioServer

RESULTS = ROOT / "bench-results" / "group_ingest.json"


def first_messages(size: int, group: int) -> list[tuple[Any, ...]]:
    """``size`` new customers' first messages to the demo number, as the webhook's ingest takes them."""
    from app.conversations.service import ingest_args
    from app.flows.conversation import inbound_job

    job = inbound_job(delay_seconds=0, max_delay_seconds=10)
    calls = [
        ingest_args(
            to=DEMO_NUMBER,
            from_=f"whatsapp:+52155{group:03d}{i:05d}",
            body="hola",
            message_sid="SM" + uuid.uuid4().hex,
            profile_name=None,
            media=[],
            payload={},
            job=job,
        )
        for i in range(size)
    ]
    return sorted(calls, key=lambda args: (args[0], args[2]))  # as GroupedStatement sends a group


async def measure(data_dir: Path, sizes: list[int], groups: int) -> dict[str, Any]:
    from app.conversations import service
    from app.core.db import dispose_engine
    from app.core.group_commit import GroupedStatement

    forms = {
        "pipelined": GroupedStatement(service._INGEST_WHATSAPP),
        "set": GroupedStatement(service._INGEST_WHATSAPP, together=service._INGEST_WHATSAPP_GROUP),
    }
    results: dict[str, Any] = {}
    serial = 0
    for size in sizes:
        wall: dict[str, list[float]] = {name: [] for name in forms}
        cpu = dict.fromkeys(forms, 0.0)
        for round_ in range(groups + 1):  # the first of each form plans its statement: left out
            for name, statement in forms.items():
                serial += 1
                calls = first_messages(size, serial)
                cpu_before, started = postgres_cpu(data_dir), time.perf_counter()
                rows = await statement._fetch_group(calls)
                elapsed, cpu_after = (time.perf_counter() - started) * 1000, postgres_cpu(data_dir)
                if len(rows) != size or not all(row["inserted"] for row in rows):
                    raise RuntimeError(f"{name}: {len(rows)} rows for {size} first messages")
                if round_:
                    wall[name].append(elapsed)
                    cpu[name] += (cpu_after - cpu_before) * 1000
                await asyncio.sleep(0.05)
        results[str(size)] = {
            name: {
                "wall_ms_p50": round(statistics.median(wall[name]), 2),
                # The OS counts CPU in clock ticks (10 ms): a group's own reading is too coarse, their mean is not.
                "postgres_cpu_ms_mean": round(cpu[name] / groups, 2),
            }
            for name in forms
        }
    await dispose_engine()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[49, 25, 10], help="calls per group")
    parser.add_argument("--groups", type=int, default=20, help="groups of each size and form")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="agent-group-ingest-"))
    fake = FakeTwilioServer(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    try:
        with embedded_database(data_dir):
            env = service_env(data_dir, fake, f"http://127.0.0.1:{free_port()}", {"LOG_LEVEL": "ERROR"})
            run_agentctl("migrate", env={**os.environ, **env})
            run_agentctl("seed", env={**os.environ, **env})
            os.environ.update(env)
            results = asyncio.run(measure(data_dir, args.sizes, args.groups))
    finally:
        fake.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"group ingest ({args.groups} groups of each size and form, alternating; wall: median):")
    for size, forms in results.items():
        line = " | ".join(
            f"{name} {f['wall_ms_p50']} ms (PostgreSQL CPU, mean {f['postgres_cpu_ms_mean']} ms)"
            for name, f in forms.items()
        )
        ratio = forms["set"]["wall_ms_p50"] / forms["pipelined"]["wall_ms_p50"]
        print(f"  {size:>3} calls: {line}; set/pipelined wall {ratio:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"groups": args.groups, "sizes": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
