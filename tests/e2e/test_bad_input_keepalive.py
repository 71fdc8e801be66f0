"""Refused input keeps the client's keep-alive connection open on the real server (uvicorn).

A crash that reached the catch-all used to answer 500 and close the connection; each refusal below
must instead be a 4xx on the same TCP connection, which then serves the next request.
"""

from __future__ import annotations

import http.client
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.procs import Stack, run_agentctl
from tests.helpers import ADMIN_KEY


@pytest.fixture(scope="module")
def api(migrated: None, data_dir: Path) -> Iterator[Stack]:
    """The API as a subprocess on the session's database, with the demo tenant seeded."""
    run_agentctl("seed", env=dict(os.environ))
    with Stack(log_dir=data_dir / "keepalive-logs" / uuid.uuid4().hex[:8], env={"LOG_LEVEL": "WARNING"}) as running:
        running.start_api(timeout=90)
        yield running


def test_refusals_keep_the_connection_open(api: Stack) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=30)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}
    refusals = [
        ("GET", "/v1/tenants/de%00mo", None),
        ("GET", f"/v1/tenants/demo/conversations?offset={2**70}", None),
        ("GET", "/v1/tenants/demo/usage?to=9999-12-31", None),
        ("POST", "/v1/tenants/demo/knowledge", {"title": "t", "content": "c", "priority": 2**40}),
        ("POST", "/v1/tenants/demo/knowledge", {"title": "t", "content": "c", "keywords": ["k" * 1_000_000]}),
        # json.dumps writes a lone surrogate as the escape \ud800: valid JSON that UTF-8 cannot store.
        ("POST", "/v1/tenants/demo/knowledge", {"title": "t", "content": "x\ud800"}),
        ("PATCH", "/v1/tenants/demo", {"timezone": "America"}),
    ]
    conn.connect()
    sock = conn.sock
    for method, path, body in refusals:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert 400 <= response.status < 500, (path, response.status, payload)
        assert set(payload["error"]) == {"code", "message", "details"}
        assert not response.will_close, path
        assert conn.sock is sock, f"the connection was replaced after {path}"
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200 and conn.sock is sock
    conn.close()
