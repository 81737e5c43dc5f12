"""Round trips to PostgreSQL, counted on the wire.

A TCP proxy in front of the server that reads the server's side of the protocol and counts
its ReadyForQuery messages: the server sends exactly one at the end of every simple query
and every extended-protocol Sync, i.e. once per round trip a client waits for. Unlike a
statement count (``tests.support.sql``), this sees what the driver does on its own:
BEGIN, COMMIT, statement preparation, settings sent with BEGIN.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

SSL_REQUEST = 80877103


class RoundTrips:
    def __init__(self) -> None:
        self.count = 0
        self.queries: list[str] = []  # the text of each simple query (BEGIN; SET LOCAL ...)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.count = 0
            self.queries.clear()

    def _ready(self) -> None:
        with self._lock:
            self.count += 1

    def _query(self, text: str) -> None:
        with self._lock:
            self.queries.append(text)


async def _pipe_server(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, trips: RoundTrips, ssl: bool
) -> None:
    try:
        if ssl:  # the one-byte answer to an SSLRequest is not a message
            writer.write(await reader.readexactly(1))
        while True:
            header = await reader.readexactly(5)
            kind, length = header[:1], struct.unpack("!I", header[1:])[0]
            body = await reader.readexactly(length - 4)
            if kind == b"Z":
                trips._ready()
            writer.write(header + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:  # the server ended the session: so does the client's side
        writer.close()


async def _pipe_client(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    trips: RoundTrips,
    server_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
) -> None:
    # Startup: an optional SSLRequest, then the StartupMessage, neither with a type byte.
    first = await reader.readexactly(8)
    ssl = struct.unpack("!II", first)[1] == SSL_REQUEST
    writer.write(first)
    await writer.drain()
    server = asyncio.ensure_future(_pipe_server(server_reader, client_writer, trips, ssl))
    try:
        if ssl:
            first = await reader.readexactly(4)
            writer.write(first)
        length = struct.unpack("!I", first[:4])[0]
        writer.write(await reader.readexactly(length - len(first)))
        while True:
            header = await reader.readexactly(5)
            body = await reader.readexactly(struct.unpack("!I", header[1:])[0] - 4)
            if header[:1] == b"Q":
                trips._query(body.rstrip(b"\0").decode())
            writer.write(header + body)
            await writer.drain()
    finally:
        server.cancel()


@contextmanager
def counting_proxy(url: str) -> Iterator[tuple[str, RoundTrips]]:
    """A URL that reaches ``url``'s server through a counting proxy, and its counter."""
    parsed = make_url(url)
    target = (parsed.host or "127.0.0.1", parsed.port or 5432)
    trips = RoundTrips()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    port: list[int] = []
    open_writers: set[asyncio.StreamWriter] = set()

    async def handle(
        client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        server_reader, server_writer = await asyncio.open_connection(*target)
        open_writers.update((client_writer, server_writer))
        try:
            await _pipe_client(client_reader, server_writer, trips, server_reader, client_writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for writer in (server_writer, client_writer):
                writer.close()
                open_writers.discard(writer)

    async def serve() -> asyncio.Server:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port.append(server.sockets[0].getsockname()[1])
        return server

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve())
        started.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(5)
    try:
        yield parsed.set(host="127.0.0.1", port=port[0]).render_as_string(False), trips
    finally:
        # Close what is still connected (the server then ends those sessions, and the
        # test database can be dropped), then stop.
        def close_all() -> None:
            for writer in list(open_writers):
                writer.close()
            loop.call_later(0.1, loop.stop)

        loop.call_soon_threadsafe(close_all)
        thread.join(5)
