"""A tenant's notification endpoint: records every POST (headers and raw body); can fail the first N."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.threaded import ThreadedAiohttpServer


@dataclass(frozen=True)
class Received:
    """One delivery as the receiver saw it."""

    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class NotifyReceiver(ThreadedAiohttpServer):
    """Answers 200 (or 500 for the first ``fail_first`` requests) and keeps what it got."""

    thread_name = "fake-notify"

    def __init__(self, *, fail_first: int = 0) -> None:
        super().__init__()
        self.fail_first = fail_first
        self.received: list[Received] = []
        self.attempts = 0
        self._lock = threading.Lock()

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self.attempts += 1
            if self.attempts <= self.fail_first:
                return web.Response(status=500, text="down")
            self.received.append(Received(headers=dict(request.headers), body=body))
        return web.Response(status=200, text="ok")

    @property
    def hook_url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    def events(self, name: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.json["event"] == name]

    async def wait_for(self, name: str, count: int = 1, within: float = 15.0) -> list[Received]:
        """The deliveries of event ``name`` once there are ``count`` (fails after ``within`` seconds)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.events(name)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} {name} deliveries; got {[r.json for r in self.received]}")
