"""One webhook POST, with the SSRF rules of issue 12.

A minimal HTTP/1.1 client on asyncio streams, so that every step is ours to check: the
host is resolved here, *every* address it resolves to must be allowed
(``tenancy.webhooks.address_refused``), and the connection goes to the address that was
checked (a second lookup by a library could be answered differently: DNS rebinding).
TLS verifies the certificate against the URL's host name. Only the status line of the
answer is read; a redirect is an answer like any other non-2xx (never followed). No proxy
from the environment is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from tenancy.webhooks import address_refused

USER_AGENT = "billclass-webhooks/1"
_TLS = ssl.create_default_context()


@dataclass(frozen=True)
class Outcome:
    """What an attempt got: the HTTP status (None without an answer) and, unless 2xx, why
    it failed."""

    status: int | None
    error: str | None


async def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    seconds: float,
    allow_insecure: bool,
) -> Outcome:
    """POST ``body`` to ``url`` within ``seconds`` (resolving, connecting, sending and
    reading the status line together)."""
    try:
        async with asyncio.timeout(seconds):
            return await _post(url, body, headers, allow_insecure=allow_insecure)
    except TimeoutError:
        return Outcome(None, f"no answer within {seconds:g} s")
    except (OSError, ssl.SSLError, ValueError) as error:
        return Outcome(None, f"{type(error).__name__}: {error}")


async def _post(
    url: str, body: bytes, headers: Mapping[str, str], *, allow_insecure: bool
) -> Outcome:
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    if not (secure or (allow_insecure and parts.scheme == "http")) or not parts.hostname:
        return Outcome(None, "refused: only https URLs are delivered")
    host = parts.hostname
    port = parts.port or (443 if secure else 80)
    try:
        addresses = [ipaddress.ip_address(host)]  # a literal: nothing to resolve
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    refused = [a for a in addresses if address_refused(a, allow_insecure=allow_insecure)]
    if not addresses or refused:
        shown = ", ".join(str(a) for a in refused) or "nothing"
        return Outcome(None, f"refused: {host} resolves to {shown} (not a public address)")
    reader, writer = await asyncio.open_connection(
        str(addresses[0]),
        port,
        ssl=_TLS if secure else None,
        server_hostname=host if secure else None,
    )
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        authority = parts.netloc.rpartition("@")[2]
        lines = [
            f"POST {target} HTTP/1.1",
            f"Host: {authority}",
            f"User-Agent: {USER_AGENT}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        status_line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    fields = status_line.decode("latin-1").split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        return Outcome(None, "the receiver's answer is not HTTP")
    status = int(fields[1])
    return Outcome(status, None if 200 <= status < 300 else f"HTTP {status}")
