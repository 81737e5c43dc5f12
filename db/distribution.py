"""Whether an engine's database is distributed (Citus, ``BILLCLASS_CITUS=1``).

One layout serves every database (migration 0008); a few statements still differ where
a distributed database refuses what a single node does: a row lock (``FOR UPDATE``) must
name its shard (``tenancy.scoping.in_its_shard``). ``db.engine.make_engine`` marks a
Citus engine with an execution option, which every connection of it carries.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

OPTION = "billclass_distributed"


def distributed(engine: AsyncEngine) -> AsyncEngine:
    """``engine``, marked as one of a distributed database (same pool and events)."""
    return engine.execution_options(**{OPTION: True})


def is_distributed(conn: AsyncConnection) -> bool:
    return bool(conn.sync_connection and conn.sync_connection.get_execution_options().get(OPTION))
