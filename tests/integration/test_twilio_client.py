"""TwilioSender against the local fake Twilio REST server (no network access)."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
from collections.abc import Iterator

import aiohttp
import pytest

from app.channels.splitting import split_message
from app.channels.twilio_client import SentMessage, TwilioSender, TwilioSendError
from tests.fakes.twilio_server import FakeTwilioServer

# twilio 9.13 passes aiohttp.BasicAuth / auth=..., both deprecated in aiohttp 3.14.
pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]

TO = "whatsapp:+5215512345678"
FROM = "whatsapp:+14155238886"
CALLBACK = "https://agent.example.test/webhooks/twilio/status"


@pytest.fixture
def fake() -> Iterator[FakeTwilioServer]:
    with FakeTwilioServer() as server:
        yield server


def make_sender(fake: FakeTwilioServer, **overrides: object) -> TwilioSender:
    kwargs: dict[str, object] = {
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "api_base_url": fake.base_url,
        "status_callback_url": CALLBACK,
    }
    kwargs.update(overrides)
    return TwilioSender(**kwargs)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_send_records_message_and_returns_sid(fake: FakeTwilioServer) -> None:
    async with make_sender(fake) as sender:
        sent = await sender.send(to=TO, from_=FROM, body="¡Hola! ¿En qué te ayudo?")

    assert isinstance(sent, SentMessage)
    assert re.fullmatch(r"SM[0-9a-f]{32}", sent.sid)
    assert sent.status == "queued"
    [msg] = await fake.wait_for(1, timeout=5)
    assert msg["sid"] == sent.sid
    assert msg["to"] == TO
    assert msg["from_"] == FROM
    assert msg["body"] == "¡Hola! ¿En qué te ayudo?"
    assert msg["status_callback"] == CALLBACK
    assert msg["account_sid"] == fake.account_sid
    assert msg["received_at"] is not None
    assert [a["response_status"] for a in fake.attempts] == [201]


@pytest.mark.asyncio
async def test_status_callback_omitted_when_not_configured(
    fake: FakeTwilioServer,
) -> None:
    async with make_sender(fake, status_callback_url=None) as sender:
        await sender.send(to=TO, from_=FROM, body="hi")
    [msg] = fake.messages
    assert msg["status_callback"] is None
    assert "StatusCallback" not in msg["params"]


@pytest.mark.asyncio
async def test_bad_credentials_raise_401(fake: FakeTwilioServer) -> None:
    async with make_sender(fake, auth_token="wrong-token") as sender:
        with pytest.raises(TwilioSendError) as excinfo:
            await sender.send(to=TO, from_=FROM, body="hi")
    err = excinfo.value
    assert err.status == 401
    assert err.code == 20003
    assert err.retryable is False
    assert "wrong-token" not in str(err)
    assert fake.messages == []


@pytest.mark.asyncio
async def test_rate_limited_is_retryable_and_not_auto_retried(
    fake: FakeTwilioServer,
) -> None:
    fake.fail_next(429, 20429)
    async with make_sender(fake) as sender:
        with pytest.raises(TwilioSendError) as excinfo:
            await sender.send(to=TO, from_=FROM, body="first")
        assert excinfo.value.status == 429
        assert excinfo.value.code == 20429
        assert excinfo.value.retryable is True
        assert len(fake.attempts) == 1  # the library did not retry on its own
        assert fake.messages == []

        sent = await sender.send(to=TO, from_=FROM, body="second")
    assert [m["sid"] for m in fake.messages] == [sent.sid]


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retryable_but_may_hide_a_message(fake: FakeTwilioServer, status: int) -> None:
    fake.fail_next(status, 20500)
    async with make_sender(fake) as sender:
        with pytest.raises(TwilioSendError) as excinfo:
            await sender.send(to=TO, from_=FROM, body="hi")
    assert excinfo.value.status == status
    assert excinfo.value.code == 20500
    assert (excinfo.value.retryable, excinfo.value.maybe_sent) == (True, True)
    assert len(fake.attempts) == 1  # the caller retries, after looking in Twilio's list


@pytest.mark.asyncio
async def test_fail_next_times(fake: FakeTwilioServer) -> None:
    fake.fail_next(500, 20500, times=2)
    async with make_sender(fake) as sender:
        for _ in range(2):
            with pytest.raises(TwilioSendError):
                await sender.send(to=TO, from_=FROM, body="hi")
        await sender.send(to=TO, from_=FROM, body="hi")
    assert [a["response_status"] for a in fake.attempts] == [500, 500, 201]
    assert len(fake.messages) == 1


@pytest.mark.asyncio
async def test_sequential_sends_recorded_in_order(fake: FakeTwilioServer) -> None:
    text = "\n\n".join(f"Párrafo {i}. " + "texto " * 120 for i in range(8))
    parts = split_message(text)
    assert len(parts) > 1
    async with make_sender(fake) as sender:
        sids = [(await sender.send(to=TO, from_=FROM, body=part)).sid for part in parts]
    recorded = await fake.wait_for(len(parts), timeout=5)
    assert [m["body"] for m in recorded] == parts
    assert [m["sid"] for m in recorded] == sids


@pytest.mark.asyncio
async def test_concurrent_sends_share_one_client(fake: FakeTwilioServer) -> None:
    async with make_sender(fake) as sender:
        sent = await asyncio.gather(*(sender.send(to=TO, from_=FROM, body=f"msg {i}") for i in range(10)))
    assert {m["sid"] for m in fake.messages} == {s.sid for s in sent}


@pytest.mark.asyncio
async def test_timeout_is_retryable_and_message_may_exist(
    fake: FakeTwilioServer,
) -> None:
    fake.delay(2.0)
    async with make_sender(fake, timeout=0.3) as sender:
        with pytest.raises(TwilioSendError) as excinfo:
            await sender.send(to=TO, from_=FROM, body="slow")
    assert excinfo.value.status is None
    assert (excinfo.value.retryable, excinfo.value.maybe_sent) == (True, True)
    # Twilio-side the message was created even though we never saw the response.
    assert [m["body"] for m in fake.messages] == ["slow"]


@pytest.mark.asyncio
async def test_connection_refused_is_retryable_and_sent_nothing() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender = TwilioSender(
        account_sid="AC" + "1" * 32,
        auth_token="t",
        api_base_url=f"http://127.0.0.1:{port}",
    )
    try:
        with pytest.raises(TwilioSendError) as excinfo:
            await sender.send(to=TO, from_=FROM, body="hi")
        assert excinfo.value.status is None
        assert (excinfo.value.retryable, excinfo.value.maybe_sent) == (True, False)
    finally:
        await sender.aclose()


@pytest.mark.asyncio
async def test_region_env_does_not_redirect_fake_base_url(
    fake: FakeTwilioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    async with make_sender(fake) as sender:
        await sender.send(to=TO, from_=FROM, body="hi")
    assert len(fake.messages) == 1


@pytest.mark.asyncio
async def test_invalid_bodies_rejected_before_any_request(
    fake: FakeTwilioServer,
) -> None:
    async with make_sender(fake) as sender:
        with pytest.raises(ValueError):
            await sender.send(to=TO, from_=FROM, body="")
        with pytest.raises(ValueError):
            await sender.send(to=TO, from_=FROM, body="x" * 1601)
        await sender.send(to=TO, from_=FROM, body="x" * 1600)
    assert [a["response_status"] for a in fake.attempts] == [201]


@pytest.mark.asyncio
async def test_aclose_closes_session_and_is_reusable(fake: FakeTwilioServer) -> None:
    sender = make_sender(fake)
    await sender.aclose()  # closing before first use is a no-op
    await sender.send(to=TO, from_=FROM, body="one")
    session = sender._http_client.session
    assert not session.closed
    await sender.aclose()
    assert session.closed
    await sender.aclose()  # idempotent
    await sender.send(to=TO, from_=FROM, body="two")  # lazily reopens
    await sender.aclose()
    assert [m["body"] for m in fake.messages] == ["one", "two"]


@pytest.mark.asyncio
async def test_auth_token_never_logged(fake: FakeTwilioServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sender = make_sender(fake)
    assert fake.auth_token not in repr(sender)
    async with sender:
        await sender.send(to=TO, from_=FROM, body="hi")
    assert caplog.records, "expected some log output to inspect"
    assert all(fake.auth_token not in r.getMessage() for r in caplog.records)


def test_empty_credentials_rejected() -> None:
    with pytest.raises(ValueError):
        TwilioSender(account_sid="", auth_token="x")


@pytest.mark.asyncio
async def test_fake_healthz_and_unauthenticated_post(fake: FakeTwilioServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.base_url}/healthz") as resp:
            assert resp.status == 200
            assert await resp.json() == {"status": "ok"}
        async with http.post(fake.messages_url, data={"To": TO, "From": FROM, "Body": "x"}) as resp:
            assert resp.status == 401
            payload = await resp.json()
            assert payload["code"] == 20003
            assert payload["status"] == 401
    assert fake.healthz_hits == 1
    assert fake.messages == []


def test_fake_wait_for_sync_from_another_thread() -> None:
    with FakeTwilioServer() as server:

        async def send_later() -> None:
            await asyncio.sleep(0.1)
            async with make_sender(server) as sender:
                await sender.send(to=TO, from_=FROM, body="from thread")

        thread = threading.Thread(target=asyncio.run, args=(send_later(),))
        thread.start()
        try:
            [msg] = server.wait_for_sync(1, timeout=5)
        finally:
            thread.join()
        assert msg["body"] == "from thread"
        with pytest.raises(TimeoutError):
            server.wait_for_sync(2, timeout=0.1)


def test_error_mapping_without_twilio_code() -> None:
    from twilio.base.exceptions import (  # type: ignore[import-untyped]
        TwilioRestException,
        TwilioServiceException,
    )

    from app.channels.twilio_client import _to_send_error

    # twilio-python fills `code` with the HTTP status when the body has no JSON code.
    err = _to_send_error(TwilioRestException(502, "/uri", "Unable to create record", 502))
    assert (err.status, err.code, err.retryable, err.maybe_sent) == (502, None, True, True)
    err = _to_send_error(TwilioRestException(400, "/uri", "bad number", 21211))
    assert (err.status, err.code, err.retryable) == (400, 21211, False)
    err = _to_send_error(TwilioRestException(429, "/uri", "slow down", 20429))
    assert (err.status, err.code, err.retryable, err.maybe_sent) == (429, 20429, True, False)
    err = _to_send_error(TwilioServiceException("about:blank", "Too Many Requests", 429, 20429))
    assert (err.status, err.code, err.retryable) == (429, 20429, True)


def test_sender_bound_to_one_event_loop(fake: FakeTwilioServer) -> None:
    sender = make_sender(fake)
    first = asyncio.new_event_loop()
    second = asyncio.new_event_loop()
    try:
        first.run_until_complete(sender.send(to=TO, from_=FROM, body="one"))
        with pytest.raises(RuntimeError, match="another event loop"):
            second.run_until_complete(sender.send(to=TO, from_=FROM, body="two"))
        first.run_until_complete(sender.aclose())
        second.run_until_complete(sender.send(to=TO, from_=FROM, body="three"))
        second.run_until_complete(sender.aclose())
    finally:
        first.close()
        second.close()
    assert [m["body"] for m in fake.messages] == ["one", "three"]
