"""Citus (issue 13): what migration 0009 makes of a database, and that each transaction's
settings reach the workers. Marked ``citus``: run with BILLCLASS_TEST_DATABASE=citus
(``make citus test-citus``), deselected elsewhere; the refusal of BILLCLASS_CITUS=1 on a
database without the extension runs on PostgreSQL too."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url

from db import migrate, transaction_settings
from db.engine import make_engine
from db.settings import Settings
from tests.databases import CITUS_SHARD_COUNT, OWNER_ROLE, SERVICE_ROLE, Databases

REFERENCE = {
    "currency",
    "business_model",
    "invoice_template",
    "notification_set",
    "custom_field_definition",
    "custom_tax",
    "trusted_document",
}
DISTRIBUTED = {
    "customer",
    "customer_class",
    "api_token",
    "audit_event",
    "webhook_subscription",
    "webhook_event",
    "webhook_delivery",
}
RESELLER_TENANT = 4242


def _fetch(
    dsn: str, query: str, *args: Any, settings: dict[str, str] | None = None
) -> list[asyncpg.Record]:
    async def main() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn, server_settings=settings)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(main())


def _role_url(url: str, role: str) -> str:
    return make_url(url).set(username=role).render_as_string(hide_password=False)


@pytest.mark.citus
def test_tables_are_reference_or_distributed_by_tenant_and_colocated(database_url: str) -> None:
    rows = _fetch(
        Databases.superuser_dsn(database_url),
        "select table_name::text as name, citus_table_type as kind, distribution_column"
        " as column, colocation_id, shard_count from citus_tables",
    )
    kinds = {row["name"]: row["kind"] for row in rows}
    assert {name for name, kind in kinds.items() if kind == "reference"} == REFERENCE
    distributed = [row for row in rows if row["kind"] == "distributed"]
    assert {row["name"] for row in distributed} == DISTRIBUTED
    assert {row["column"] for row in distributed} == {"tenant_id"}
    assert len({row["colocation_id"] for row in distributed}) == 1
    assert {row["shard_count"] for row in distributed} == {CITUS_SHARD_COUNT}
    # Local to the coordinator: the SQLite dispatchers' lease and Alembic's revision.
    assert "webhook_dispatcher_lease" not in kinds and "alembic_version" not in kinds


@pytest.mark.citus
def test_every_shard_keeps_forced_row_level_security_and_the_service_grants(
    database_url: str, databases: Databases
) -> None:
    """Distribution lifts FORCE while it copies rows: it must be back on every shard."""
    name = make_url(database_url).database
    for worker in databases.citus.nodes(name)[1:]:
        shards = _fetch(
            worker,
            "select c.relname::text as shard, c.relforcerowsecurity as forced,"
            " has_table_privilege($1, c.oid, 'SELECT') as readable"
            " from pg_dist_shard s join pg_class c on c.relname ="
            " (s.logicalrelid::regclass::text || '_' || s.shardid)",
            SERVICE_ROLE,
            # Citus hides the shards from catalog queries unless told otherwise.
            settings={"citus.override_table_visibility": "off"},
        )
        assert shards
        assert all(row["forced"] and row["readable"] for row in shards), shards


@pytest.mark.citus
def test_each_transaction_sends_its_context_and_timeouts_to_the_workers(
    database_url: str,
) -> None:
    """A single-shard statement runs on a worker: what it reads there is what the
    transaction set, with BILLCLASS_CITUS=1; without it, the worker sees no context (and
    row-level security shows nothing: it fails closed)."""

    async def on_a_worker(citus: bool) -> tuple[Any, ...]:
        settings = Settings(database_url=database_url, citus=citus, lock_timeout_seconds=3)
        engine = make_engine(settings=settings)
        try:
            async with engine.connect() as conn:
                await transaction_settings.set_local(conn, {"billclass.role": "ADMINISTRATOR"})
                row = (
                    await conn.execute(
                        sa.text(
                            "select current_setting('billclass.role', true),"
                            " current_setting('lock_timeout'),"
                            " current_setting('statement_timeout'),"
                            " count(*) from customer_class where tenant_id = 0"
                        )
                    )
                ).one_or_none()
                await conn.rollback()
                return tuple(row) if row else ()
        finally:
            await engine.dispose()

    assert asyncio.run(on_a_worker(True)) == ("ADMINISTRATOR", "3s", "10s", 1)
    # Not propagated: no role and no timeouts on the shard; the policies hide every row.
    assert asyncio.run(on_a_worker(False)) == (None, "0", "0", 0)


@pytest.fixture
def at_0008(databases: Databases) -> Iterator[str]:
    """An empty Citus database migrated up to 0008 (the owner's URL): not distributed."""
    with databases.empty() as url:
        owner = Databases.owner_url(url)
        config = migrate.alembic_config(owner, service_url=_role_url(url, SERVICE_ROLE), citus=True)
        command.upgrade(config, "0008")
        yield owner


def _counts(dsn: str) -> dict[str, int]:
    return {
        table: _fetch(dsn, f"select count(*) from {table}")[0][0]
        for table in sorted(REFERENCE | DISTRIBUTED)
    }


def _add_a_resellers_class(dsn: str) -> None:
    """A reseller's row, as a restored backup would hold it (the superuser writes it)."""
    columns = [
        row[0]
        for row in _fetch(
            dsn,
            "select column_name::text from information_schema.columns"
            " where table_name = 'customer_class' and column_name not in"
            " ('id', 'tenant_id', 'name', 'name_key', 'is_default') order by ordinal_position",
        )
    ]
    listed = ", ".join(columns)
    _fetch(
        dsn,
        f"insert into customer_class (id, tenant_id, name, name_key, is_default, {listed})"
        f" select 77, $1, 'Restored', 'restored', false, {listed} from customer_class",
        RESELLER_TENANT,
    )


@pytest.mark.citus
def test_tables_holding_rows_are_refused_unless_told_and_then_none_is_lost(
    at_0008: str,
) -> None:
    superuser = Databases.superuser_dsn(at_0008)
    _add_a_resellers_class(superuser)
    before = _counts(superuser)
    assert before["customer_class"] == 2
    with pytest.raises(migrate.MigrationRefused) as refused:
        migrate.upgrade(at_0008, citus=True)
    message = str(refused.value)
    assert "customer_class: 1" in message and "--distribute-non-empty" in message
    assert _fetch(superuser, "select count(*) from pg_dist_partition")[0][0] == 0
    assert migrate.current_revision(at_0008) == "0008"

    migrate.upgrade(at_0008, citus=True, distribute_non_empty=True)
    assert migrate.current_revision(at_0008) == migrate.head_revision()
    assert _fetch(superuser, "select count(*) from pg_dist_partition")[0][0] == len(
        REFERENCE | DISTRIBUTED
    )
    # The reseller's row, which the owner cannot see under FORCE'd RLS, is on its shard.
    assert _counts(superuser) == before
    restored = _fetch(superuser, "select tenant_id from customer_class where id = 77")
    assert [row[0] for row in restored] == [RESELLER_TENANT]


@pytest.mark.citus
def test_the_extension_without_billclass_citus_is_refused(at_0008: str) -> None:
    with pytest.raises(migrate.MigrationRefused, match="BILLCLASS_CITUS is not 1"):
        migrate.upgrade(at_0008, citus=False)
    assert migrate.current_revision(at_0008) == "0008"


@pytest.mark.postgres
def test_billclass_citus_without_the_extension_is_refused(databases: Databases) -> None:
    """A plain PostgreSQL database (on Citus: one on the coordinator alone)."""
    from tests.databases import SUPERUSER_URL, _admin, _dsn

    name = f"{databases.prefix}_plain"
    asyncio.run(_admin(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}'))
    try:
        owner = make_url(SUPERUSER_URL).set(database=name, username=OWNER_ROLE)
        with pytest.raises(migrate.MigrationRefused, match="has no citus extension"):
            migrate.upgrade(owner.render_as_string(hide_password=False), citus=True)
        tables = _fetch(
            _dsn(SUPERUSER_URL, name), "select count(*) from pg_tables where tablename = 'customer'"
        )
        assert tables[0][0] == 0  # refused in the migrations' transaction: nothing created
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.citus
def test_models_and_the_distributed_database_differ_only_where_citus_cannot_hold(
    settings: Settings,
) -> None:
    """0008 leaves out, on Citus alone, the foreign key from a customer to its class and
    the unique key on a class's ID alone (a shared class lives in another shard): the
    application guarantees what they would (README). Nothing else may differ."""
    from sqlmodel import SQLModel

    from tests.integration.test_migrations import differences

    found = sorted(
        (diff[0], str(getattr(diff[-1], "name", diff[-1])))
        for diff in differences(settings, SQLModel.metadata)
    )
    assert found == [
        ("add_constraint", "uq_customer_class_id"),
        ("add_fk", "fk_customer_customer_class_id_customer_class"),
    ]


@pytest.mark.citus
def test_migrating_again_grants_again_on_distributed_and_reference_tables(
    database_url: str,
) -> None:
    """Every billclass migrate and serve grants the service role its privileges, also
    when there is nothing to migrate: on Citus that changes distributed and reference
    tables in one transaction."""
    owner = Databases.owner_url(database_url)
    migrate.upgrade(owner, service_url=database_url, citus=True)
    assert migrate.current_revision(owner) == migrate.head_revision()
