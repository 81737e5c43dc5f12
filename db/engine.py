"""Engine construction for SQLite (embedded default) and PostgreSQL (production).

SQLite: the driver's own transaction handling is switched off so that we emit BEGIN
ourselves; write transactions use ``BEGIN IMMEDIATE`` (taking the write lock up front, so
a read-modify-write can never lose an update or fail on lock upgrade), WAL lets readers
proceed meanwhile, and ``busy_timeout`` bounds lock waits (SPEC §3).

PostgreSQL: every connection gets ``statement_timeout`` and ``lock_timeout`` so that a
runaway query or a lock wait ends in a clean error; connecting is bounded too, so a
database that is down answers within seconds instead of hanging a request. On Citus
(``BILLCLASS_CITUS=1``) every transaction sets both again with ``SET LOCAL``, forwarded
to the workers, and the coordinator forwards the transaction's ``SET LOCAL`` statements.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import URL, Engine, create_engine, event, exc, make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db import distribution, transaction_settings
from db.settings import Settings, get_settings

# Execution option a request sets on its connection before the first statement to ask
# for a write transaction (BEGIN IMMEDIATE on SQLite; ignored on PostgreSQL).
WRITE_TRANSACTION = "billclass_write_transaction"


# Notes (PEP 678) that say what stalled start with this; gql.errors reads them for the log.
STALL_NOTE = "billclass stalled: "


class ConnectFailed(exc.SQLAlchemyError):
    """A new PostgreSQL connection could not be made: the message says where (host, port
    and database; never the user or the password), how long it was tried and why (timed
    out, refused...). Its cause is the driver's own error (a TimeoutError or OSError)."""


def where(url: URL) -> str:
    """A database's place for messages: host:port/database, no credentials."""
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


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
        _describe_stalls(engine.sync_engine, settings)
        return engine
    server_settings = {
        "application_name": "billclass",
        "lock_timeout": str(int(settings.lock_timeout_seconds * 1000)),
        "idle_in_transaction_session_timeout": "60000",
    }
    if not for_migrations:
        server_settings["statement_timeout"] = str(int(settings.statement_timeout_seconds * 1000))
    if settings.citus:
        # The coordinator forwards each transaction's SET LOCAL (the row-level security
        # context of db.transaction_settings, the timeouts below) to the workers it uses.
        server_settings["citus.propagate_set_commands"] = "local"
    engine = create_async_engine(
        url,
        connect_args={
            "timeout": settings.connect_timeout_seconds,
            "server_settings": server_settings,
            **transaction_settings.connect_args(),
        },
        pool_size=settings.pool_size,
        max_overflow=_overflow(settings),
        pool_timeout=settings.lock_timeout_seconds,
        pool_recycle=1800,
        **common,
    )
    event.listen(engine.sync_engine, "checkout", _discard_closed_connection)
    transaction_settings.forget_pending_on_checkin(engine.sync_engine)
    if settings.citus:
        _timeouts_per_transaction(engine.sync_engine, server_settings)
    _describe_connect_failures(engine.sync_engine, settings)
    _describe_stalls(engine.sync_engine, settings)
    # What differs on a distributed database asks its connections (db.distribution).
    return distribution.distributed(engine) if settings.citus else engine


def _timeouts_per_transaction(engine: Engine, server_settings: dict[str, str]) -> None:
    """Citus: a connection's settings apply on the coordinator only, never on the
    workers' connections that run a transaction's shard queries (where its row locks are
    waited for). So every transaction also starts with ``SET LOCAL`` of the timeouts,
    sent with its BEGIN (no round trip of its own; db.transaction_settings), which the
    coordinator forwards (``citus.propagate_set_commands = 'local'``)."""
    statements = "; ".join(
        f"SET LOCAL {name} = {server_settings[name]}"
        for name in ("lock_timeout", "statement_timeout")
        if name in server_settings
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if isinstance(driver, transaction_settings.SettingConnection):
            driver.on_begin = statements


def _describe_connect_failures(engine: Engine, settings: Settings) -> None:
    """A connect that times out raises a bare ``TimeoutError()``, which says neither what
    nor where: replace it (and a refused or unresolvable connect) by :class:`ConnectFailed`
    naming the server and the time it took."""
    place = where(engine.url)

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        started = time.monotonic()
        try:
            return dialect.connect(*cargs, **cparams)
        except OSError as error:  # TimeoutError is one
            elapsed = time.monotonic() - started
            if isinstance(error, TimeoutError):
                why = (
                    f"timed out after {elapsed:.1f} s"
                    f" (BILLCLASS_CONNECT_TIMEOUT_SECONDS={settings.connect_timeout_seconds:g})"
                )
            else:
                why = f"failed after {elapsed:.1f} s: {type(error).__name__}: {error}"
            raise ConnectFailed(f"connecting to PostgreSQL at {place} {why}") from error


def _describe_stalls(engine: Engine, settings: Settings) -> None:
    """A statement that waited too long fails with the database's own words; note on the
    error which wait it was and its bound, for the log line (gql.errors.unavailable_reason)."""

    @event.listens_for(engine, "handle_error")
    def _note(context: ExceptionContext) -> None:
        stall = _stall(context.original_exception, settings)
        if stall is not None and context.sqlalchemy_exception is not None:
            statement = (context.statement or "").strip().split("\n", 1)[0][:80]
            context.sqlalchemy_exception.add_note(f"{STALL_NOTE}{stall} in: {statement}")


def _stall(error: BaseException, settings: Settings) -> str | None:
    state = getattr(error, "sqlstate", None) or getattr(
        getattr(error, "__cause__", None), "sqlstate", None
    )
    lock = settings.lock_timeout_seconds
    if state == "55P03":
        return f"lock wait: no lock within lock_timeout {lock:g} s (BILLCLASS_LOCK_TIMEOUT_SECONDS)"
    if state == "57014" and "statement timeout" in str(error):
        return (
            f"statement timeout: ran past statement_timeout {settings.statement_timeout_seconds:g}"
            " s (BILLCLASS_STATEMENT_TIMEOUT_SECONDS)"
        )
    if "database is locked" in str(error):
        return f"lock wait: SQLite database locked for {lock:g} s (BILLCLASS_LOCK_TIMEOUT_SECONDS)"
    return None


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
    _describe_stalls(engine, settings)
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
        if connection.get_execution_options().get(WRITE_TRANSACTION, False):
            # Through SQLAlchemy: a busy database raises its OperationalError, which the
            # endpoint answers 503 (SQLITE_BUSY past the lock timeout).
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        # A deferred BEGIN takes no lock and cannot be busy: straight to the driver, as
        # SQLAlchemy's statement machinery (events, result set-up) cost more than the
        # statement itself on every read.
        cursor = connection.connection.dbapi_connection.cursor()
        cursor.execute("BEGIN")
        cursor.close()
