"""Alembic environment: runs migrations on the async engine of the configured URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import db.models  # noqa: F401 - registers every table on SQLModel.metadata
from db import roles
from db.engine import make_engine
from db.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql" and _has_citus(connection):
            # Citus: the grants below (and 0009's conversions) change distributed and
            # reference tables in one transaction, which it allows over one connection
            # per worker only.
            connection.exec_driver_sql("SET LOCAL citus.multi_shard_modify_mode = 'sequential'")
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            # Migrations run with foreign keys off (db.engine): prove none was broken
            # before the transaction commits.
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"a migration broke foreign keys: {broken[:5]}")
        # The owner/service split (SPEC §7): in the migrations' transaction, so the service
        # role never sees a table it has no privileges on yet.
        service_role = config.attributes.get("service_role")
        if service_role and connection.dialect.name == "postgresql":
            roles.grant_service_role(connection, service_role)


def _has_citus(connection: Connection) -> bool:
    found = connection.exec_driver_sql("select 1 from pg_extension where extname = 'citus'")
    return found.scalar() is not None


async def _run_async() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url, for_migrations=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `billclass migrate`")
asyncio.run(_run_async())
