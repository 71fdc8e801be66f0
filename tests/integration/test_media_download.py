"""The customer's photo download (Twilio ``MediaUrl``): only Twilio's URLs are fetched, redirects followed by hand,
each hop checked, and the account's credentials sent to Twilio's host only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from agents.specialists.concierge import download_media, twilio_media_url
from app.concierge.ocr import OcrError
from app.core.config import get_settings
from app.notify import safe_url


@pytest.fixture
async def servers(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[dict[str, Any]]:
    """A storage server, and a Twilio whose origin is the configured TWILIO_API_BASE_URL."""
    seen: dict[str, Any] = {"storage_auth": "unset"}

    async def storage(request: web.Request) -> web.Response:
        seen["storage_auth"] = request.headers.get("Authorization")
        return web.Response(body=b"PNGDATA", content_type="image/png")

    storage_app = web.Application()
    storage_app.router.add_get("/file", storage)
    storage_runner = web.AppRunner(storage_app)
    await storage_runner.setup()
    storage_site = web.TCPSite(storage_runner, "127.0.0.1", 0)
    await storage_site.start()
    storage_url = f"http://127.0.0.1:{storage_site._server.sockets[0].getsockname()[1]}/file"  # type: ignore[union-attr]

    async def media(request: web.Request) -> web.Response:
        seen["media_auth"] = request.headers.get("Authorization")
        target = {"storage": storage_url, "metadata": "http://169.254.169.254/latest/meta-data"}
        raise web.HTTPTemporaryRedirect(target[request.match_info["to"]])

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    twilio_app = web.Application()
    twilio_app.router.add_get("/media/{to}", media)
    twilio_app.router.add_get("/loop", loop)
    twilio_runner = web.AppRunner(twilio_app)
    await twilio_runner.setup()
    twilio_site = web.TCPSite(twilio_runner, "127.0.0.1", 0)
    await twilio_site.start()
    seen["base"] = f"http://127.0.0.1:{twilio_site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    seen["storage"] = storage_url
    monkeypatch.setenv("TWILIO_API_BASE_URL", seen["base"])
    get_settings.cache_clear()
    yield seen
    monkeypatch.undo()
    get_settings.cache_clear()
    await twilio_runner.cleanup()
    await storage_runner.cleanup()


async def test_redirect_to_storage_gets_the_photo_without_our_credentials(servers: dict[str, Any]) -> None:
    data = await download_media(f"{servers['base']}/media/storage")
    assert data == b"PNGDATA"
    assert servers["media_auth"] and servers["media_auth"].startswith("Basic ")
    assert servers["storage_auth"] is None


async def test_redirect_to_a_private_address_is_refused(
    servers: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    await download_media(f"{servers['base']}/media/storage")  # the first hop is Twilio's (trusted) URL
    monkeypatch.setattr(safe_url, "private_allowed", lambda: False)
    with pytest.raises(OcrError, match="redirect refused"):
        await download_media(f"{servers['base']}/media/metadata")


async def test_endless_redirects_stop(servers: dict[str, Any]) -> None:
    with pytest.raises(OcrError, match="more than 3"):
        await download_media(f"{servers['base']}/loop")


async def test_a_media_url_that_is_not_twilio_s_is_never_fetched(servers: dict[str, Any]) -> None:
    """A webhook names the URL and the account's credentials go with it: only Twilio's host may have them."""
    servers["storage_auth"] = "unset"
    for url in (servers["storage"], "http://169.254.169.254/latest/meta-data", "file:///etc/passwd"):
        with pytest.raises(OcrError, match="not Twilio's"):
            await download_media(url)
    assert servers["storage_auth"] == "unset", "the storage server was called"


def test_twilio_s_own_media_hosts() -> None:
    sid = "AC" + "0" * 32
    for url in (
        f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages/MM1/Media/ME1",
        f"https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/{sid}/Messages/MM1/Media/ME1",
    ):
        assert twilio_media_url(url), url
    for url in (
        "http://api.twilio.com/x",  # not https
        "https://api.twilio.com.evil.example/x",
        "https://evil.example/api.twilio.com",
        "https://api.twilio.com:8443/x",
        "https://twilio.com.evil/x",
        "https://127.0.0.1/x",
    ):
        assert not twilio_media_url(url), url
