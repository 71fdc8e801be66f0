"""The customer's photo download (Twilio ``MediaUrl``): redirects followed by hand, each hop checked, and the
account's credentials sent to the first host only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from agents.specialists.concierge import download_media
from app.concierge.ocr import OcrError
from app.notify import safe_url


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, Any]]:
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
    yield seen
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
