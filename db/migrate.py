"""Programmatic Alembic: ``billclass migrate`` and the readiness probe use this."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from db import roles

MIGRATIONS = Path(__file__).parent / "migrations"


class MigrationRefused(Exception):
    """A migration found data it cannot carry over safely and changed nothing; the
    message (several lines) tells the operator what to fix before running it again."""


def alembic_config(
    url: str | None = None,
    *,
    service_url: str | None = None,
    citus: bool | None = None,
    distribute_non_empty: bool = False,
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if service_url and service_url.startswith("postgresql"):
        # Read by migrations/env.py: grant this role the service privileges (db/roles.py).
        config.attributes["service_role"] = roles.role_of(service_url)
    # Read by 0009_citus_distribution: distribute the tables on Citus (None: as
    # BILLCLASS_CITUS says), and whether tables holding rows may be distributed.
    config.attributes["citus"] = citus
    config.attributes["distribute_non_empty"] = distribute_non_empty
    return config


def upgrade(
    url: str | None = None,
    *,
    service_url: str | None = None,
    citus: bool | None = None,
    distribute_non_empty: bool = False,
) -> None:
    """Apply every pending migration as the role of ``url`` (the table owner); when
    ``service_url`` connects as another role, grant that role what the service needs, in
    the same transaction (SPEC §7). Must run outside an event loop (Alembic env is sync).

    ``citus`` (None: ``BILLCLASS_CITUS``): the database is a Citus cluster, whose tables
    migration 0009 distributes; it refuses tables that already hold rows unless
    ``distribute_non_empty`` (``billclass migrate --distribute-non-empty``), which then
    checks that no row was lost."""
    config = alembic_config(
        url,
        service_url=service_url,
        citus=citus,
        distribute_non_empty=distribute_non_empty,
    )
    command.upgrade(config, "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(url: str) -> str | None:
    """The revision the database is at (None: not migrated at all)."""
    from db.engine import make_engine

    async def main() -> str | None:
        engine = make_engine(url, for_migrations=True)
        try:
            async with engine.connect() as conn:
                exists = await conn.run_sync(
                    lambda sync: sa.inspect(sync).has_table("alembic_version")
                )
                if not exists:
                    return None
                return (
                    await conn.execute(sa.text("select version_num from alembic_version"))
                ).scalar()
        finally:
            await engine.dispose()

    return asyncio.run(main())
