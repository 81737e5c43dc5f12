"""Engine construction for SQLite (embedded default) and PostgreSQL (production).

SQLite: the driver's own transaction handling is switched off so that we emit BEGIN
ourselves; write transactions use ``BEGIN IMMEDIATE`` (taking the write lock up front, so
a read-modify-write can never lose an update or fail on lock upgrade), WAL lets readers
proceed meanwhile, and ``busy_timeout`` bounds lock waits (SPEC §3).

PostgreSQL: every connection gets ``statement_timeout`` and ``lock_timeout`` so that a
runaway query or a lock wait ends in a clean error; connecting is bounded too, so a
database that is down answers within seconds instead of hanging a request.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, exc, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.settings import Settings, get_settings

# Execution option a request sets on its connection before the first statement to ask
# for a write transaction (BEGIN IMMEDIATE on SQLite; ignored on PostgreSQL).
WRITE_TRANSACTION = "billclass_write_transaction"


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def pool_capacity(settings: Settings) -> int:
    """The most connections one engine of this module holds at once: its pool plus its
    overflow. gql.admission admits at most that many checkouts at a time, so that the
    pool itself never has to wait (SPEC §7: nothing blocks the event loop)."""
    return settings.pool_size + _overflow(settings)


def _overflow(settings: Settings) -> int:
    # PostgreSQL: as many again under load, closed when returned to a full pool. SQLite:
    # none; a file has no connection cost to smooth over.
    return 0 if settings.is_sqlite else settings.pool_size


def make_engine(
    url: str | None = None,
    *,
    settings: Settings | None = None,
    for_migrations: bool = False,
) -> AsyncEngine:
    settings = settings or get_settings()
    url = url or settings.database_url
    common: dict[str, Any] = {
        "json_serializer": _json_dumps,
        "json_deserializer": orjson.loads,
        # An unexpected database error is logged with its statement but never with its
        # values: they are client input (names, e-mail addresses) and token hashes.
        "hide_parameters": True,
    }
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            connect_args={"timeout": settings.lock_timeout_seconds},
            pool_size=settings.pool_size,
            max_overflow=_overflow(settings),
            pool_timeout=settings.lock_timeout_seconds,
            # Every request ends its transaction explicitly (commit or rollback), and
            # SQLite holds no per-transaction context: the pool's extra ROLLBACK on return
            # would only cost a round trip to aiosqlite's thread. PostgreSQL keeps it, as
            # a guard for the row-level security context.
            pool_reset_on_return=None,
            **common,
        )
        _configure_sqlite_events(engine.sync_engine, settings, foreign_keys=not for_migrations)
        return engine
    server_settings = {
        "application_name": "billclass",
        "lock_timeout": str(int(settings.lock_timeout_seconds * 1000)),
        "idle_in_transaction_session_timeout": "60000",
    }
    if not for_migrations:
        server_settings["statement_timeout"] = str(int(settings.statement_timeout_seconds * 1000))
    engine = create_async_engine(
        url,
        connect_args={
            "timeout": settings.connect_timeout_seconds,
            "server_settings": server_settings,
        },
        pool_size=settings.pool_size,
        max_overflow=_overflow(settings),
        pool_timeout=settings.lock_timeout_seconds,
        pool_recycle=1800,
        **common,
    )
    event.listen(engine.sync_engine, "checkout", _discard_closed_connection)
    return engine


def _discard_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed (PostgreSQL restarted, backend
    terminated) is replaced at checkout instead of failing the next request. asyncpg
    knows this locally (no round trip, unlike pool_pre_ping); the pool retries with a
    fresh connection when we raise DisconnectionError."""
    connection = getattr(dbapi_connection, "_connection", None)
    if connection is not None and connection.is_closed():
        raise exc.DisconnectionError("pooled connection closed by the server")


def make_inline_read_engine(settings: Settings | None = None) -> Engine | None:
    """SQLite only: a synchronous engine for read-only requests, used inline on the event
    loop.

    aiosqlite runs every call (BEGIN, execute, fetch, COMMIT...) through a worker thread;
    for a point lookup those hand-offs cost more than the query (bench/README.md). In WAL
    mode a reader never waits for a writer, so a read transaction is a few microseconds
    to milliseconds of CPU that may as well run in the loop's own thread. Writes keep the
    async engine, whose lock waits (BEGIN IMMEDIATE, busy_timeout) must not block the loop.

    Its pool never waits (``pool_timeout=0``: an empty pool raises at once): a waiting
    checkout would block the event loop, and with it the requests that would return a
    connection. gql.admission.GatedInlineEngine queues checkouts asynchronously instead.
    """
    settings = settings or get_settings()
    if not settings.is_sqlite:
        return None
    url = make_url(settings.database_url).set(drivername="sqlite")
    engine = create_engine(
        url,
        connect_args={"timeout": settings.lock_timeout_seconds, "check_same_thread": False},
        pool_size=settings.pool_size,
        max_overflow=_overflow(settings),
        pool_timeout=0,
        pool_reset_on_return=None,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        hide_parameters=True,
    )
    _configure_sqlite_events(engine, settings)
    return engine


def _configure_sqlite_events(
    engine: Engine, settings: Settings, *, foreign_keys: bool = True
) -> None:
    """``foreign_keys=False`` is for migrations only: SQLite cannot alter a column, so
    they rebuild tables, which its documented procedure does with foreign keys off (the
    pragma is ignored inside a transaction, hence per connection); db/migrations/env.py
    runs ``PRAGMA foreign_key_check`` before committing."""
    busy_ms = int(settings.lock_timeout_seconds * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (below) emit BEGIN; pysqlite's implicit transactions would
        # otherwise start a deferred transaction behind our back.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_TRANSACTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
