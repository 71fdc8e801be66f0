"""SSRF guard on server-side POSTs (tenant notify_url, ALERT_WEBHOOK_URL): refused outside ENVIRONMENT=test
when the URL has credentials, a non-http(s) scheme, or a host that is (or resolves to) a private, loopback,
link-local or metadata address; redirects are not followed and answers are read to a bounded size."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from app.alerts import channel
from app.alerts.service import Transition
from app.core.config import get_settings
from app.core.db import session_scope
from app.notify import safe_url
from app.notify import service as notify_service
from app.notify.models import NotifyEvent
from tests.helpers import make_tenant


@pytest.fixture
def production_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Private targets refused, as in development and production (the suite runs under ENVIRONMENT=test)."""
    monkeypatch.setattr(get_settings(), "environment", "development")
    yield


BAD_URLS = [
    "http://127.0.0.1:9/hook",
    "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/x",
    "http://192.168.1.1/x",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://0.0.0.0/x",
    "https://user:pass@example.com/x",
    "file:///etc/passwd",
    "gopher://example.com/",
    "http://example.com:99999/",
    "http://exa mple.com/",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_check_syntax_refuses(url: str, production_rules: None) -> None:
    with pytest.raises(safe_url.UnsafeUrl):
        safe_url.check_syntax(url)


async def test_resolved_private_address_is_refused(production_rules: None) -> None:
    # localtest.me-style names are not needed: a name resolving to loopback (the host's own name) will do.
    with pytest.raises(safe_url.UnsafeUrl):
        await safe_url.check_target("http://localhost./hook")
    with pytest.raises(safe_url.UnsafeUrl):
        await safe_url.check_target("http://ip6-localhost/hook")


async def test_public_literal_passes_syntax(production_rules: None) -> None:
    assert safe_url.check_syntax(" https://93.184.216.34/hook ") == "https://93.184.216.34/hook"


async def test_put_notify_refuses_private_and_credentials(client: Any, production_rules: None) -> None:
    tenant = await make_tenant(client)
    for url in ("http://169.254.169.254/latest/meta-data/", "https://u:p@example.com/hook", "http://127.0.0.1/x"):
        r = await client.put(f"/v1/tenants/{tenant.slug}/notify", json={"url": url}, headers=tenant.headers)
        assert r.status_code == 422, (url, r.text)
        assert r.json()["error"]["details"][0]["field"] == "url"
        assert "p@" not in r.text


@pytest.fixture
async def redirecting() -> AsyncIterator[tuple[str, list[str]]]:
    """A receiver on 127.0.0.1 that redirects to /inner and records hits, plus a huge answer on /big."""
    hits: list[str] = []

    async def hook(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        if request.path == "/big":
            response = web.StreamResponse(status=200)
            await response.prepare(request)
            for _ in range(100):  # 6.4 MB if fully read
                await response.write(b"x" * 64_000)
            return response
        raise web.HTTPFound("/inner")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", hits
    await runner.cleanup()


async def test_redirect_not_followed_and_answer_bounded(redirecting: tuple[str, list[str]]) -> None:
    base, hits = redirecting
    assert await safe_url.post(base + "/hook", content=b"{}", headers={}, timeout_seconds=5) == 302
    assert hits == ["/hook"]  # /inner never requested
    assert await asyncio.wait_for(safe_url.post(base + "/big", content=b"{}", headers={}, timeout_seconds=5), 10) == 200


async def test_delivery_to_now_private_host_fails_without_request(
    client: Any, redirecting: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, hits = redirecting
    tenant = await make_tenant(client)
    put = await client.put(f"/v1/tenants/{tenant.slug}/notify", json={"url": base + "/hook"}, headers=tenant.headers)
    assert put.status_code == 200, put.text
    monkeypatch.setattr(get_settings(), "environment", "development")  # e.g. DNS now points inside
    async with session_scope() as session:
        await notify_service.notify(session, tenant_id=uuid.UUID(tenant.id), event="lead.created", data={})
        event_id = (
            await session.execute(select(NotifyEvent.id).where(NotifyEvent.tenant_id == uuid.UUID(tenant.id)))
        ).scalar_one()
    async with session_scope() as session:
        status = await notify_service.deliver(session, event_id=event_id, attempt=0)
    assert status == "failed" and hits == []


async def test_alert_channel_refuses_private_url(
    redirecting: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    base, hits = redirecting
    settings = get_settings()
    monkeypatch.setattr(settings, "alert_webhook_url", base + "/hook?token=s3cr3t")
    monkeypatch.setattr(settings, "environment", "development")
    transition = Transition.__new__(Transition)
    monkeypatch.setattr(channel, "body", lambda _t: b"{}")
    assert await channel.post_to_admin_channel([transition]) == 0
    assert hits == [] and "s3cr3t" not in caplog.text


async def test_car_photo_refuses_unsafe_image_urls(client: Any, production_rules: None) -> None:
    from decimal import Decimal

    from app.catalog.models import CatalogItem
    from app.messaging.photos import car_photo

    tenant = await make_tenant(client)
    tenant_id = uuid.UUID(tenant.id)
    urls = {
        "ok": "https://cdn.example.com/car.jpg",
        "creds": "https://user:pw@cdn.example.com/car.jpg",
        "meta": "http://169.254.169.254/latest/meta-data/",
        "js": "javascript:alert(1)",
    }
    async with session_scope() as session:
        for stock, url in urls.items():
            session.add(
                CatalogItem(
                    tenant_id=tenant_id,
                    stock_id=stock,
                    make="Toyota",
                    model="Yaris",
                    year=2020,
                    price=Decimal(10000),
                    attributes={"image_url": url},
                )
            )
    async with session_scope() as session:
        found = {s: await car_photo(session, tenant_id=tenant_id, stock_id=s) for s in urls}
    assert found == {"ok": urls["ok"], "creds": None, "meta": None, "js": None}


async def test_operator_template_variables_are_bounded(client: Any) -> None:
    tenant = await make_tenant(client)
    url = f"/v1/tenants/{tenant.slug}/conversations/{uuid.uuid4()}/messages"
    r = await client.post(url, json={"template": "followup", "variables": {"1": "x" * 1025}}, headers=tenant.headers)
    assert r.status_code == 422, r.text
    assert "variables" in r.text


async def test_webhook_url_is_not_logged(redirecting: tuple[str, list[str]], caplog: pytest.LogCaptureFixture) -> None:
    base, hits = redirecting
    with caplog.at_level("DEBUG"):
        await safe_url.post(base + "/big?token=s3cr3t", content=b"{}", headers={}, timeout_seconds=5)
    assert hits == ["/big"] and "s3cr3t" not in caplog.text


async def test_connection_goes_to_the_checked_address(
    redirecting: tuple[str, list[str]], production_rules: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is resolved once (here to 127.0.0.1, treated as public for the test) and the request goes
    to that address with the real Host header: a second lookup (DNS rebinding) never happens."""
    base, hits = redirecting
    port = base.rsplit(":", 1)[1]
    lookups: list[str] = []

    async def fake_resolve(host: str, _port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(safe_url, "resolve", fake_resolve)
    monkeypatch.setattr(safe_url, "_is_public", lambda address: address == "127.0.0.1")
    status = await safe_url.post(f"http://hook.invalid:{port}/hook", content=b"{}", headers={}, timeout_seconds=5)
    assert status == 302 and hits == ["/hook"] and lookups == ["hook.invalid"]
    assert safe_url._pinned("https://h.example:8443/p?q=1", "2001:db8::1") == (
        "https://[2001:db8::1]:8443/p?q=1",
        "h.example:8443",
        "h.example",
    )
