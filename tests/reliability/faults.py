"""Fault-injection helpers: lock holders on the side, a superuser PostgreSQL connection,
a TCP proxy that can cut the database off, and a listener that never answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from tests.databases import POSTGRES, Databases


class PgSide:
    """A superuser connection to a test database (bypasses RLS; for set-up and faults)."""

    def __init__(self, url: str) -> None:
        self.database = make_url(url).database
        self._runner = asyncio.Runner()
        self.conn: asyncpg.Connection = self._runner.run(
            asyncpg.connect(Databases.superuser_dsn(url))
        )

    def fetch(self, sql: str, *args: Any) -> list[Any]:
        return self._runner.run(self.conn.fetch(sql, *args))

    def execute(self, sql: str, *args: Any) -> str:
        found: str = self._runner.run(self.conn.execute(sql, *args))
        return found

    def app_backends(self, *, waiting_on_lock: bool = False) -> list[Any]:
        """The service's backends on this database (application_name 'billclass')."""
        # pg_stat_activity is a snapshot per transaction, and this connection may be in one.
        self.fetch("select pg_stat_clear_snapshot()")
        sql = (
            "select pid, state, wait_event_type, backend_xid, query from pg_stat_activity"
            " where datname = $1 and application_name = 'billclass' and pid <> pg_backend_pid()"
        )
        if waiting_on_lock:
            sql += " and wait_event_type = 'Lock'"
        return self.fetch(sql, self.database)

    def wait_for_lock_waiter(self, query_contains: str = "", timeout: float = 5.0) -> Any:
        """The service backend that waits on a lock (in a statement containing the text)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for backend in self.app_backends(waiting_on_lock=True):
                if query_contains.lower() in backend["query"].lower():
                    return backend
            time.sleep(0.02)
        raise AssertionError(f"no service backend waits on a lock in {query_contains!r}")

    def terminate_app_backends(self) -> int:
        self.fetch("select pg_stat_clear_snapshot()")
        rows = self.fetch(
            "select pg_terminate_backend(pid) from pg_stat_activity"
            " where datname = $1 and application_name = 'billclass' and pid <> pg_backend_pid()",
            self.database,
        )
        return len(rows)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._runner.run(self.conn.close())
        self._runner.close()


@contextlib.contextmanager
def pg_side(url: str) -> Iterator[PgSide]:
    side = PgSide(url)
    try:
        yield side
    finally:
        side.close()


@contextlib.contextmanager
def holding_class_lock(url: str, class_key: int) -> Iterator[Callable[[], None]]:
    """Hold, from a side connection, the lock an update of the class needs: the class's
    advisory lock (tenancy.locks.lock_class) on PostgreSQL, the write lock (BEGIN
    IMMEDIATE) on SQLite. Yields a function that releases it early."""
    if POSTGRES:
        with pg_side(url) as side:
            side.execute("begin")
            side.fetch("select pg_advisory_xact_lock($1)", class_key)
            released = False

            def release() -> None:
                nonlocal released
                if not released:
                    side.execute("rollback")
                    released = True

            try:
                yield release
            finally:
                release()
    else:
        database = make_url(url).database
        assert database is not None, url
        conn = sqlite3.connect(database, isolation_level=None, timeout=5)
        conn.execute("BEGIN IMMEDIATE")

        def release_sqlite() -> None:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

        try:
            yield release_sqlite
        finally:
            release_sqlite()
            conn.close()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; ``stop()`` cuts every connection and refuses
    new ones (the database "goes away"), ``start()`` brings it back on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._running = False
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._running = True
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        while self._running:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                thread = threading.Thread(target=self._pump, args=(src, dst), daemon=True)
                thread.start()
                self._threads.append(thread)
        listener.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._running = False
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(5)
        self._threads = []
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections (in the kernel backlog) and never answers: a
    database host that hangs."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def closed_port() -> int:
    """A port nothing listens on (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        found: int = sock.getsockname()[1]
        return found
