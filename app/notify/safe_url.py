"""Outbound webhook URLs the server may POST to: public http(s) hosts only (no SSRF into our own network).

A tenant sets its own ``notify_url`` and an operator sets ``ALERT_WEBHOOK_URL``; the worker then POSTs to
them from inside the deployment. Without this check a URL could reach the cloud metadata service
(169.254.169.254), the database, or any loopback/private service. Every address the host resolves to must
be globally routable; redirects are never followed (the callers pass ``follow_redirects=False``).
``ENVIRONMENT=test`` allows private addresses, because the tests' fake receivers listen on 127.0.0.1.

The host is resolved once and the connection goes to that checked address (Host header and TLS server name
stay the real host's), so DNS rebinding between the check and the request cannot redirect it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import logging
import socket
from typing import Any, Final
from urllib.parse import urlsplit

import httpx2

from app.core.config import get_settings

# httpx2 logs every request's full URL at INFO; a webhook URL is often a credential (a Slack hook's path, a
# CRM's ?token=), and only these webhooks use httpx2 in the service: its per-request lines are not wanted.
logging.getLogger("httpx2").setLevel(logging.WARNING)

MAX_URL_CHARS: Final = 2000
MAX_RESPONSE_BYTES: Final = 64_000  # a receiver's answer is never used; read at most this much of it
RESOLVE_TIMEOUT_SECONDS: Final = 5.0
# A lookup in a thread cannot be cancelled: when the resolver hangs, the thread stays busy after the
# timeout. Lookups get threads of their own, so a hanging resolver can take at most these with it, never
# the event loop's default executor (CSV parsing, trace flushes and every other ``to_thread``).
_RESOLVER: Final = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="dns")


class UnsafeUrl(ValueError):
    """The URL cannot receive server-side requests (why is in the message; never echoes credentials)."""


def private_allowed() -> bool:
    """True when private/loopback targets are allowed: only under ENVIRONMENT=test (fakes on 127.0.0.1)."""
    return get_settings().environment == "test"


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


def check_syntax(url: str, *, schemes: frozenset[str] = frozenset({"http", "https"})) -> str:
    """The stripped URL if it is an absolute URL with an allowed scheme, a host, no credentials, and not
    a literal private address; raises UnsafeUrl otherwise. Needs no DNS (used when the URL is set)."""
    url = url.strip()
    if len(url) > MAX_URL_CHARS or any(ord(c) < 0x21 for c in url):
        raise UnsafeUrl("must be a URL without spaces or control characters, at most 2000 characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise UnsafeUrl("is not a valid URL") from exc
    if parts.scheme not in schemes or not parts.hostname:
        raise UnsafeUrl("must be an absolute " + " or ".join(sorted(schemes)) + " URL")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("must not contain credentials")
    host = parts.hostname
    if not private_allowed():
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None and not _is_public(str(literal)):
            raise UnsafeUrl("must not point to a private, loopback or link-local address")
        if host.rstrip(".").lower() in {"localhost", "metadata.google.internal"} or host.endswith(".localhost"):
            raise UnsafeUrl("must not point to a private, loopback or link-local address")
    return url


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, looked up on the resolver's own threads (see ``_RESOLVER``)."""
    infos = await asyncio.get_running_loop().run_in_executor(
        _RESOLVER, lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    )
    return [str(info[4][0]) for info in infos]


async def check_target(url: str) -> tuple[str, str | None]:
    """``check_syntax`` plus DNS: every address the host resolves to must be public (unless allowed).
    The URL and the address to connect to (None when private targets are allowed: the client resolves)."""
    url = check_syntax(url)
    if private_allowed():
        return url, None
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = await asyncio.wait_for(resolve(host, port), timeout=RESOLVE_TIMEOUT_SECONDS)
    except (OSError, TimeoutError) as exc:
        raise UnsafeUrl("host does not resolve") from exc
    if not addresses or not all(_is_public(a) for a in addresses):
        raise UnsafeUrl("must not point to a private, loopback or link-local address")
    return url, addresses[0]


def _pinned(url: str, address: str) -> tuple[str, str, str]:
    """The URL with its host replaced by the checked address (no second DNS lookup, so no rebinding),
    the Host header, and the TLS server name (certificates are still checked against the real host)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal + (f":{parts.port}" if parts.port else "")
    host_header = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl(), host_header, host


async def post(url: str, *, content: bytes, headers: dict[str, str], timeout_seconds: float) -> int:
    """POST ``content`` to a checked URL without following redirects; the response status. The connection
    goes to the address that was checked; the answer's body is read to at most MAX_RESPONSE_BYTES (a
    receiver cannot make us buffer gigabytes)."""
    target, address = await check_target(url)
    extensions: dict[str, Any] = {}
    if address is not None:
        target, host_header, server_name = _pinned(target, address)
        headers = {**headers, "Host": host_header}
        extensions["sni_hostname"] = server_name
    async with (
        httpx2.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as http,
        http.stream("POST", target, content=content, headers=headers, extensions=extensions) as response,
    ):
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read >= MAX_RESPONSE_BYTES:
                break
        return response.status_code
