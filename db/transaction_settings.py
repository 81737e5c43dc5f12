"""Transaction-local settings on PostgreSQL (the row-level security context), sent with BEGIN.

The policies read ``current_setting('billclass.role')`` and co., which a request sets for
its transaction only, so that a pooled connection never carries one caller's context to
the next. They are set with ``SET LOCAL`` rather than ``set_config(..., true)``: a
distributed PostgreSQL (Citus, with ``citus.propagate_set_commands = 'local'``) forwards
``SET LOCAL`` to the shards a transaction touches, and never a ``set_config`` call.

And they cost no round trip of their own. SQLAlchemy's asyncpg driver opens the database
transaction lazily, with a ``BEGIN`` sent just before the first statement; ``set_local``
called before that statement only notes the ``SET LOCAL`` statements on the connection
(``SettingConnection.pending``), and the ``BEGIN`` goes out as one simple-query message
``BEGIN; SET LOCAL ...; SET LOCAL ...`` (one round trip instead of two). Where the
transaction has already begun, the statements are sent at once, as before.

Fail closed: a noted context is only ever attached to a top-level ``BEGIN`` of the same
connection, and forgotten when the connection goes back to the pool, so it can reach no
other checkout; a context that is never sent leaves the settings empty, under which the
policies show nothing.

Values are inlined (``SET`` takes no parameters), so they are restricted to what the
callers pass (a role name, a decimal id, a hex digest) and anything else is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection

_NAME = re.compile(r"billclass\.[a-z_]+")
# Lists are comma-separated; global IDs are base64. Never a quote or a backslash.
_VALUE = re.compile(r"[A-Za-z0-9_,+/=]*")


class SettingConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection that sends its pending ``SET LOCAL`` statements with BEGIN."""

    pending: str | None = None
    # Statements every transaction of this connection starts with (db.engine: on Citus,
    # the timeouts, which a connection's own settings would not carry to the workers).
    on_begin: str | None = None

    # The signature is asyncpg's own, which this overrides.
    async def execute(self, query: str, *args: Any, timeout: float | None = None) -> str:  # noqa: ASYNC109
        pending = self.pending
        # Only a top-level BEGIN (asyncpg's Transaction.start, simple-query protocol, no
        # arguments): never a SAVEPOINT or any other statement.
        if (pending is not None or self.on_begin) and not args and query.startswith("BEGIN"):
            self.pending = None
            sent = "; ".join(part for part in (self.on_begin, pending) if part)
            query = f"{query.rstrip().rstrip(';')}; {sent};"
        result: str = await super().execute(query, *args, timeout=timeout)
        return result


def set_local_statements(values: Mapping[str, str]) -> list[str]:
    """The ``SET LOCAL`` statements for ``values``; ValueError on anything unexpected."""
    statements = []
    for name, value in values.items():
        if not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
            raise ValueError(f"refusing to inline transaction setting {name!r}")
        statements.append(f"SET LOCAL {name} = '{value}'")
    return statements


async def set_local(conn: AsyncConnection, values: Mapping[str, str]) -> None:
    """Set ``values`` for the rest of ``conn``'s current transaction (PostgreSQL only),
    with the transaction's BEGIN when it has not been sent yet."""
    if conn.dialect.name != "postgresql":
        return
    statements = set_local_statements(values)
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if isinstance(driver, SettingConnection) and not driver.is_in_transaction():
        joined = "; ".join(statements)
        driver.pending = f"{driver.pending}; {joined}" if driver.pending else joined
        return
    for statement in statements:
        await conn.exec_driver_sql(statement)


def connect_args() -> dict[str, Any]:
    """What ``asyncpg.connect`` needs for ``set_local`` to fold its statements into BEGIN."""
    return {"connection_class": SettingConnection}


def forget_pending_on_checkin(engine: Engine) -> None:
    """Drop a context that was noted but never sent when its connection is returned."""

    def _forget(dbapi_connection: Any, _record: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if isinstance(driver, SettingConnection):
            driver.pending = None

    event.listen(engine, "checkin", _forget)
    event.listen(engine, "checkout", lambda dbapi, record, proxy: _forget(dbapi, record))
