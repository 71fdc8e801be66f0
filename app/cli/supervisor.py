"""`agentctl up`'s supervisor: the API and a worker as child processes, restarted with backoff when they die,
the embedded PostgreSQL restarted when it dies, and every child stopped on SIGTERM exactly as on Ctrl-C.

Written by hand rather than with supervisord or honcho: the restart of the embedded database belongs to the
process that started it, and the whole loop is a few dozen lines of subprocess and signal.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

log = logging.getLogger("app.cli.supervisor")

FIRST_BACKOFF_SECONDS = 1.0
# A child that ran this long before dying counts as healthy: its next restart waits the first backoff again.
HEALTHY_RUN_SECONDS = 60.0
STOP_GRACE_SECONDS = 15.0
TICK_SECONDS = 0.25


@dataclass
class Child:
    """One supervised command and its restart state."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = FIRST_BACKOFF_SECONDS
    restart_at: float | None = None
    restarts: int = field(default=0)

    def start(self) -> None:
        """Start (or restart) the command."""
        self.proc = subprocess.Popen(self.argv)
        self.started_at = time.monotonic()
        self.restart_at = None
        log.info("%s started (pid %d)", self.name, self.proc.pid)

    def check(self, *, max_backoff: float) -> None:
        """Restart the child when it is due; schedule a restart (with backoff) when it has just died."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                self.start()
            return
        if self.proc is None or self.proc.poll() is None:
            return
        if now - self.started_at >= HEALTHY_RUN_SECONDS:
            self.backoff = FIRST_BACKOFF_SECONDS
        log.warning(
            "%s (pid %d) exited with %s; restarting in %.0f s",
            self.name,
            self.proc.pid,
            self.proc.returncode,
            self.backoff,
        )
        self.restart_at = now + self.backoff
        self.backoff = min(self.backoff * 2, max_backoff)


def stop_children(children: list[Child]) -> None:
    """SIGTERM every running child, wait up to STOP_GRACE_SECONDS, then SIGKILL those still running."""
    running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("pid %d did not stop in %.0f s: killing it", proc.pid, STOP_GRACE_SECONDS)
            proc.kill()
            proc.wait()


def supervise(
    children: list[Child],
    *,
    max_backoff: float,
    database_down: Callable[[], bool],
    restart_database: Callable[[], None],
) -> None:
    """Run ``children`` until SIGTERM or SIGINT, keeping them (and the embedded database) alive; then stop them."""
    stopping = threading.Event()

    def on_signal(signum: int, _: FrameType | None) -> None:
        log.info("%s received: stopping every child", signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for child in children:
            child.start()
        while not stopping.wait(TICK_SECONDS):
            _keep_database(database_down, restart_database)
            for child in children:
                child.check(max_backoff=max_backoff)
    finally:
        stop_children(children)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


_next_database_try = 0.0


def _keep_database(database_down: Callable[[], bool], restart_database: Callable[[], None]) -> None:
    global _next_database_try
    if time.monotonic() < _next_database_try or not database_down():
        return
    try:
        restart_database()
        log.warning("embedded PostgreSQL restarted")
    except Exception as exc:  # noqa: BLE001  (stale shared memory of a killed server clears; try again soon)
        log.error("embedded PostgreSQL restart failed (%s); trying again in 2 s", type(exc).__name__)
        _next_database_try = time.monotonic() + 2.0


def agentctl(*args: str) -> list[str]:
    """The command line of ``agentctl ARGS`` with this interpreter."""
    return [sys.executable, "-m", "app.cli", *args]
