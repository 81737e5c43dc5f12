"""Tenant scoping: the SQL form of the policy, the per-transaction RLS context, and a
guard that refuses any statement on a tenant-owned table built without a scope.

The guard is the safety net of SPEC §2 for SQLite, which has no row-level security: a
SELECT, UPDATE or DELETE that touches a tenant-owned table must carry the execution
option ``SCOPED`` (added by the helpers below after they apply the caller's filter), or
it raises before reaching the database.
"""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import util as sql_util
from sqlalchemy.sql.elements import ClauseElement

from db.models import TENANT_TABLES
from tenancy.principal import Principal

SCOPED = "billclass_tenant_scope"


class UnscopedStatement(RuntimeError):
    """A statement on a tenant-owned table was built without tenant scoping (a bug)."""


def scoped(statement: Any, reason: str = "principal") -> Any:
    """Mark a statement whose tenant filter has been applied (or that needs none, with a
    ``reason`` such as "authentication" that names the narrow path)."""
    return statement.execution_options(**{SCOPED: reason})


def install_guard(engine: Engine) -> None:
    @event.listens_for(engine, "before_execute")
    def _guard(
        conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any
    ) -> None:
        if not isinstance(clauseelement, sa.sql.Executable) or isinstance(
            clauseelement, sa.sql.expression.Insert | sa.sql.elements.TextClause
        ):
            return
        options = clauseelement.get_execution_options()
        if SCOPED in options or SCOPED in execution_options:
            return
        tables = sql_util.find_tables(
            cast(ClauseElement, clauseelement), include_crud=True, include_joins=True
        )
        for table in tables:
            if getattr(table, "name", None) in TENANT_TABLES:
                raise UnscopedStatement(
                    f"statement on tenant table {table.name!r} without tenant scoping"
                )


async def enter_tenant(conn: AsyncConnection, principal: Principal) -> None:
    """Set the row-level security context of this transaction (PostgreSQL only).

    ``set_config(..., true)`` is transaction-local: the context cannot leak to the next
    user of a pooled connection.
    """
    if conn.dialect.name != "postgresql":
        return
    await conn.execute(
        sa.text(
            "select set_config('billclass.role', :role, true),"
            " set_config('billclass.reseller_id', :reseller, true)"
        ),
        {"role": principal.role.value, "reseller": str(principal.reseller_id or "")},
    )
