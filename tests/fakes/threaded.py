"""The lifecycle the fake servers share: an aiohttp app on 127.0.0.1, served from a background thread.

The thread has its own event loop, so a fake works from sync tests, from async tests (the test's loop
is never blocked) and as the endpoint of processes the tests start. Subclasses build their app in
``_build_app`` and may answer waiting requests in ``_before_stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType
from typing import Any, Self

from aiohttp import web


class ThreadedAiohttpServer:
    """Start/stop, context managers and the bound port of a threaded aiohttp server."""

    thread_name = "fake-server"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._start_error: BaseException | None = None

    # ------------------------------------------------------------------ hooks

    def _build_app(self) -> web.Application:
        raise NotImplementedError

    def _runner_options(self) -> dict[str, Any]:
        return {}

    def _before_stop(self) -> None:
        """Called from the test's thread before the loop stops (e.g. release held requests)."""

    def _set_from_thread(self, event: asyncio.Event | None) -> None:
        """Set an event of the server's loop from any thread (nothing when the loop is gone)."""
        loop = self._loop
        if event is not None and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits any more
                loop.call_soon_threadsafe(event.set)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start serving in a background thread; returns once the port is bound."""
        name = type(self).__name__
        if self._thread is not None:
            raise RuntimeError(f"{name} already started")
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._astart())
            except BaseException as exc:  # re-raised by start()
                self._start_error = exc
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._astop())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError(f"{name} did not start within 10s")
        if self._start_error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"{name} failed to start") from self._start_error
        return self

    def stop(self) -> None:
        """Stop the server (waking delayed handlers) and join its thread; idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._before_stop()
        self._set_from_thread(self._closing)  # wake delayed handlers
        if not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    async def _astart(self) -> None:
        self._closing = asyncio.Event()
        runner = web.AppRunner(self._build_app(), access_log=None, shutdown_timeout=1.0, **self._runner_options())
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def _astop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        """The bound TCP port (only valid after start())."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} not started")
        return self._port
