"""An unexpected error answers the 500 envelope on the real server (uvicorn), logged once with the request's id,
and the client's keep-alive connection serves its next request.

Starlette's own catch-all answers too, but then raises the error to the server, which logs it again without the
request's ids and closes the connection: a client (Twilio, a program on the API) pays a new connection for each.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from app.core.logging import AddContext
from app.main import create_app
from tests.e2e.procs import free_port


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(AddContext())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server(migrated: None) -> Iterator[int]:
    """The application, with one route that fails unexpectedly, served by uvicorn on a free port (no lifespan:
    the route needs nothing started)."""
    app = create_app()

    async def boom() -> dict[str, Any]:
        raise RuntimeError("an unexpected fault")

    app.add_api_route("/v1/boom", boom, methods=["GET"])
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        threading.Event().wait(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def test_an_unexpected_error_is_a_500_that_keeps_the_connection_and_logs_the_request_id(server: int) -> None:
    records = _Records()
    errors = logging.getLogger("app.core.errors")
    errors.addHandler(records)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
        conn.connect()
        sock = conn.sock
        conn.request("GET", "/v1/boom", headers={"X-Request-ID": "req-boom-1"})
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == 500 and payload["error"]["code"] == "internal_error", payload
        assert response.getheader("X-Request-ID") == "req-boom-1"
        assert not response.will_close
        conn.request("GET", "/healthz")
        assert conn.getresponse().status == 200 and conn.sock is sock, "the connection was closed after the 500"
        conn.close()
    finally:
        errors.removeHandler(records)
    logged = [r for r in records.records if r.getMessage() == "unhandled error"]
    assert len(logged) == 1
    # With the processes' handler installed (another test may have), its redaction renders the traceback into
    # exc_text and drops exc_info on this same record.
    traceback = logged[0].exc_text or (
        logging.Formatter().formatException(logged[0].exc_info) if logged[0].exc_info else ""
    )
    assert "RuntimeError: an unexpected fault" in traceback
    assert getattr(logged[0], "request_id", None) == "req-boom-1"
