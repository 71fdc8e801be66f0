"""A durable local spool for inbound webhooks the database could not take.

When PostgreSQL is unreachable, an already verified webhook is written here, one fsynced file per message,
before Twilio gets its 200: an acknowledged message is never only in memory. A drainer ingests the files in
arrival order (their names sort by arrival) once the database answers again; ingestion is idempotent by
MessageSid, so a file ingested twice (a crash between the insert and the unlink) does no harm.

Every process of one host shares the directory (DATA_DIR/spool/inbound); an flock makes one drainer at a
time. Written by hand: the job needs a few lines of os.fsync and rename, which no queue library offers
without a second server.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.core.config import get_settings

log = logging.getLogger(__name__)

Ingest = Callable[[dict[str, Any]], Awaitable[None]]
_counter = itertools.count()


class SpoolFull(Exception):
    """The spool holds ``max_bytes`` already: the caller refuses the message (Twilio retries a 503)."""


class Spool:
    """One directory of pending messages, oldest first."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self.directory = directory
        self.rejected = directory.parent / (directory.name + "-rejected")
        self.max_bytes = max_bytes
        # Set while this process knows of spooled messages: newer ones queue behind them to keep their order.
        self.backlog = False

    # ------------------------------------------------------------------ writing

    async def append(self, record: dict[str, Any]) -> Path:
        """Write ``record`` durably (fsync of the file and of the directory); SpoolFull or OSError if it can't."""
        path = await asyncio.to_thread(self._append, json.dumps(record, ensure_ascii=False).encode())
        self.backlog = True
        return path

    def _append(self, data: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.size() + len(data) > self.max_bytes:
            raise SpoolFull(f"inbound spool holds {self.max_bytes} bytes already")
        # Wall-clock nanoseconds first: names sort by arrival across every process of the host.
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(_counter):06d}.json"
        tmp = self.directory / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        final = self.directory / name
        os.rename(tmp, final)  # atomic: a reader sees the whole file or none
        _fsync_dir(self.directory)
        return final

    # ------------------------------------------------------------------ reading

    def pending(self) -> list[Path]:
        """Spooled messages, oldest first."""
        with contextlib.suppress(FileNotFoundError):
            return sorted(p for p in self.directory.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
        return []

    def size(self) -> int:
        """Bytes held by spooled messages."""
        total = 0
        with contextlib.suppress(FileNotFoundError), os.scandir(self.directory) as entries:
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    total += entry.stat().st_size
        return total

    async def drain(self, ingest: Ingest, *, transient: Callable[[BaseException], bool]) -> int:
        """Ingest spooled messages in order, removing each once ingested; stops at the first transient error.

        A message that fails for any other reason is moved aside (``-rejected``) so it cannot block the
        ones behind it. Returns how many were ingested; 0 when another process is draining.
        """
        lock = await asyncio.to_thread(self._try_lock)
        if lock is None:
            return 0
        done = 0
        try:
            for path in await asyncio.to_thread(self.pending):
                try:
                    record = json.loads(await asyncio.to_thread(path.read_bytes))
                    await ingest(record)
                except FileNotFoundError:
                    continue  # another drainer (before we held the lock) took it
                except Exception as exc:  # noqa: BLE001  (transient: retried later; anything else: set aside)
                    if transient(exc):
                        return done
                    log.error("spooled message %s rejected: %s", path.name, type(exc).__name__)
                    await asyncio.to_thread(self._set_aside, path)
                    continue
                await asyncio.to_thread(path.unlink, True)
                done += 1
            self.backlog = bool(await asyncio.to_thread(self.pending))
        finally:
            lock.close()  # releases the flock
        return done

    def _try_lock(self) -> Any:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle = (self.directory / ".drain.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle

    def _set_aside(self, path: Path) -> None:
        self.rejected.mkdir(parents=True, exist_ok=True)
        os.replace(path, self.rejected / path.name)

    async def drain_forever(self, ingest: Ingest, *, transient: Callable[[BaseException], bool]) -> None:
        """Drain every SPOOL_DRAIN_INTERVAL_SECONDS while messages wait, and look for new ones every 5 intervals."""
        interval = get_settings().spool_drain_interval_seconds
        idle = 5  # the first pass at once: messages spooled before a restart
        while True:
            if self.backlog or idle >= 5:
                idle = 0
                try:
                    ingested = await self.drain(ingest, transient=transient)
                except Exception:  # the drainer must outlive any one failure; the next pass retries
                    log.exception("inbound spool drain failed")
                    ingested = 0
                if ingested:
                    log.info("ingested %d spooled inbound message(s); backlog left: %s", ingested, self.backlog)
            idle += 1
            await asyncio.sleep(interval)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@lru_cache
def get_spool() -> Spool:
    """The process's inbound spool under DATA_DIR."""
    settings = get_settings()
    return Spool(settings.data_dir.resolve() / "spool" / "inbound", max_bytes=settings.spool_max_bytes)
