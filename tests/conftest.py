"""Shared fixtures: a real embedded PostgreSQL migrated by alembic, a fake Twilio, an in-process worker.

Isolation is by construction rather than by rollback: the flows under test open their own
transactions (as in production), so every test makes its own tenant or its own customer ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="agent-tests-"))
ADMIN_KEY = "test-admin-key-0123456789abcdef"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "test-auth-token-0123456789"
PUBLIC_URL = "https://agent.example.test"

# Settings are read from the environment once; set them before anything imports app.core.config.
os.environ.pop("DATABASE_URL", None)
os.environ.update(
    {
        "ENVIRONMENT": "test",
        "DATA_DIR": str(_TMP),
        "ADMIN_API_KEY": ADMIN_KEY,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "PUBLIC_BASE_URL": PUBLIC_URL,
        "BURST_WINDOW_SECONDS": "0.4",
        "STALLED_JOB_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
    }
)

from tests.fakes.twilio_server import FakeTwilioServer  # noqa: E402

_fake = FakeTwilioServer(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN).start()
os.environ["TWILIO_API_BASE_URL"] = _fake.base_url

from app.core.config import get_settings  # noqa: E402

get_settings.cache_clear()


# The ``cli`` fixture (agentctl through typer's CliRunner on a private engine).
pytest_plugins = ["tests.integration.agentctl"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _fake.stop()


@pytest.fixture(scope="session")
def data_dir() -> Iterator[Path]:
    """The embedded database's directory, removed at the end."""
    yield _TMP
    from app.core.db import stop_embedded_postgres

    stop_embedded_postgres()
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated(data_dir: Path) -> None:
    """Schema built the way production builds it: alembic upgrade head."""
    from app.core.migrate import upgrade

    upgrade()


@pytest.fixture(scope="session")
async def demo(migrated: None) -> dict[str, Any]:
    """The seeded demo tenant (shared, read-mostly; tests use their own customer ids)."""
    from app.demo.seed import seed_demo

    return await seed_demo()


@pytest.fixture(scope="session")
async def queue(migrated: None) -> AsyncIterator[Any]:
    """The job queue, opened for deferring."""
    from app.worker import get_queue

    app = get_queue()
    async with app.open_async():
        yield app


@pytest.fixture(scope="session")
async def worker(queue: Any) -> AsyncIterator[None]:
    """A real procrastinate worker running in the test loop."""
    from app.worker import close_sender

    task = asyncio.create_task(
        queue.run_worker_async(
            concurrency=4,
            install_signal_handlers=False,
            fetch_job_polling_interval=0.1,
            update_heartbeat_interval=1,
            stalled_worker_timeout=5,
            delete_jobs="never",
        )
    )
    await asyncio.sleep(0.2)
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, timeout=10)
    await close_sender()


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilioServer]:
    """The fake Twilio REST server, emptied for each test."""
    _fake.reset()
    yield _fake
    _fake.reset()


@pytest.fixture(scope="session")
async def client(migrated: None, queue: Any) -> AsyncIterator[Any]:
    """An HTTP client speaking to the ASGI app in process."""
    import httpx2

    from app.main import create_app

    app = create_app()
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


def admin_headers() -> dict[str, str]:
    """Bearer header of the admin key."""
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


def sign(path: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature Twilio would send for a form post to PUBLIC_BASE_URL + path."""
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, params))


def new_number() -> str:
    """A unique WhatsApp address."""
    return f"whatsapp:+52155{uuid.uuid4().int % 10**8:08d}"


@dataclass
class TenantHandle:
    """A tenant made for one test, with a tenant-scoped key."""

    slug: str
    id: str
    number: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(
    client: Any, *, catalog_csv: str | None = None, knowledge: list[dict[str, Any]] | None = None, **overrides: Any
) -> TenantHandle:
    """Create a tenant through the API (admin), give it a key, optionally a catalog and knowledge."""
    slug = overrides.pop("slug", f"t-{uuid.uuid4().hex[:10]}")
    number = overrides.pop("number", new_number())
    body = {"slug": slug, "name": overrides.pop("name", f"Dealer {slug}"), "whatsapp_numbers": [number], **overrides}
    created = await client.post("/v1/tenants", json=body, headers=admin_headers())
    assert created.status_code == 201, created.text
    key = await client.post(f"/v1/tenants/{slug}/api-keys", json={"name": "test"}, headers=admin_headers())
    assert key.status_code == 201, key.text
    handle = TenantHandle(slug=slug, id=created.json()["id"], number=number, key=key.json()["key"])
    if catalog_csv is not None:
        r = await client.post(
            f"/v1/tenants/{slug}/catalog",
            files={"file": ("cars.csv", catalog_csv.encode(), "text/csv")},
            headers=handle.headers,
        )
        assert r.status_code == 200, r.text
    if knowledge is not None:
        r = await client.post(f"/v1/tenants/{slug}/knowledge/import", json=knowledge, headers=handle.headers)
        assert r.status_code == 200, r.text
    return handle


async def post_whatsapp(
    client: Any,
    *,
    to: str,
    from_: str,
    body: str,
    sid: str | None = None,
    extra: dict[str, str] | None = None,
    signature: str | None = None,
) -> Any:
    """A signed inbound webhook as Twilio would post it."""
    params = {
        "MessageSid": sid or "SM" + uuid.uuid4().hex,
        "AccountSid": TWILIO_SID,
        "From": from_,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Cliente",
        **(extra or {}),
    }
    path = "/webhooks/twilio/whatsapp"
    return await client.post(path, data=params, headers={"X-Twilio-Signature": signature or sign(path, params)})
