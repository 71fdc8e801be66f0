"""The bench's load generator (tests.bench.run.RawHttpClient) and its burst figures, against a local socket."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

import pytest

from tests.bench.run import RawHttpClient, burst_summary


async def _serve(answers: list[bytes]) -> tuple[asyncio.Server, list[tuple[int, bytes]]]:
    """A server answering each request with the next of ``answers``; records (connection number, request)."""
    seen: list[tuple[int, bytes]] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        number = connections
        while answers:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length"))
            seen.append((number, head + await reader.readexactly(length)))
            writer.write(answers.pop(0))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


def _answer(status: str, body: bytes, *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"content-length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def test_posts_a_form_and_keeps_the_connection() -> None:
    server, seen = await _serve([_answer("200 OK", b"<Response/>"), _answer("403 Forbidden", b'{"error": 1}')])
    port = server.sockets[0].getsockname()[1]
    client = RawHttpClient(f"http://127.0.0.1:{port}")
    try:
        first = await client.post_form("a", "/hook", {"Body": "¿hola?", "From": "+52 1"}, {"X-Twilio-Signature": "s"})
        second = await client.post_form("a", "/hook", {"Body": "otra"}, {})
    finally:
        await client.aclose()
        server.close()
    assert first == (200, "<Response/>") and second == (403, '{"error": 1}')
    assert [number for number, _ in seen] == [1, 1]  # one keep-alive connection for the sender
    head, _, body = seen[0][1].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /hook HTTP/1.1") and b"X-Twilio-Signature: s" in head
    assert dict(parse_qsl(body.decode())) == {"Body": "¿hola?", "From": "+52 1"}


async def test_connection_close_opens_a_new_connection_and_an_answer_without_length_fails() -> None:
    answers = [_answer("200 OK", b"x", "connection: close"), _answer("200 OK", b"y"), b"HTTP/1.1 200 OK\r\n\r\n"]
    server, seen = await _serve(answers)
    port = server.sockets[0].getsockname()[1]
    client = RawHttpClient(f"http://127.0.0.1:{port}")
    try:
        assert await client.post_form("a", "/", {}, {}) == (200, "x")
        assert await client.post_form("a", "/", {}, {}) == (200, "y")
        with pytest.raises(ConnectionError):
            await client.post_form("a", "/", {}, {})
    finally:
        await client.aclose()
        server.close()
    assert [number for number, _ in seen] == [1, 2, 2]


def test_burst_summary_is_the_median_of_each_bursts_p99() -> None:
    bursts = [[1.0] * 49 + [30.0], [1.0] * 49 + [10.0], [1.0] * 49 + [20.0]]
    figures = burst_summary(bursts)
    # p99 of 50 interpolates between the 49th and the 50th value: 1 + 0.51 × (slowest − 1).
    assert figures["count"] == 3 and figures["p99s"] == [15.8, 5.6, 10.7] and figures["median_p99"] == 10.7
    assert figures["all"]["n"] == 150
    assert burst_summary([])["median_p99"] is None
