"""The migrations and the models agree; the seeds are what the specification says."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncConnection

from db import migrate
from db.currencies import CURRENCIES
from db.engine import make_engine
from db.models import SQLModel, class_table, currency_table
from db.settings import Settings
from tenancy import class_rows, tabs
from tenancy.principal import CLI
from tenancy.scoping import enter_tenant
from tests.databases import Databases

T = TypeVar("T")

# SQLite cannot reflect expression indexes; alembic skips them and says so.
EXPRESSION_INDEXES = ("uq_customer_class_manager_name", "uq_api_token_owner_name")
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:autogenerate skipping metadata-specified expression-based index"
    ),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    # customer and customer_class reference each other (a class's managing reseller; a
    # customer's class): sorting the metadata says so, harmlessly.
    pytest.mark.filterwarnings("ignore:Cannot correctly sort tables"),
]


def as_cli(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = make_engine(settings=settings)
        try:
            async with engine.connect() as conn, conn.begin():
                await enter_tenant(conn, CLI)
                return await work(conn)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def differences(settings: Settings, metadata: sa.MetaData) -> list[Any]:
    def compare(sync_conn: sa.Connection) -> list[Any]:
        context = MigrationContext.configure(
            sync_conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)

    async def work(conn: AsyncConnection) -> list[Any]:
        return await conn.run_sync(compare)

    found = as_cli(settings, work)
    return [diff for diff in found if not _ignorable(diff)]


def _ignorable(diff: Any) -> bool:
    # Index differences come as ("add_index", Index) / ("remove_index", Index).
    if isinstance(diff, tuple) and diff and diff[0] in ("add_index", "remove_index"):
        return diff[1].name in EXPRESSION_INDEXES
    return False


def test_models_and_migrated_database_agree(settings: Settings) -> None:
    assert differences(settings, SQLModel.metadata) == []


def test_the_comparison_notices_a_difference(settings: Settings) -> None:
    """Control: the check above can fail (a column and an index the database lacks)."""
    metadata = sa.MetaData(naming_convention=SQLModel.metadata.naming_convention)
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(metadata)
    extra = metadata.tables["customer"]
    extra.append_column(sa.Column("nickname", sa.String(20), nullable=True))
    sa.Index("ix_customer_nickname", extra.c.nickname)
    found = differences(settings, metadata)
    kinds = {(diff[0], getattr(diff[-1], "name", None)) for diff in found}
    assert ("add_column", "nickname") in kinds
    assert ("add_index", "ix_customer_nickname") in kinds


def test_default_class_is_the_tenancy_default(settings: Settings) -> None:
    async def work(conn: AsyncConnection) -> list[Any]:
        statement = sa.select(*class_rows.ALL_COLUMNS).where(class_table.c.is_default)
        return list(await conn.execute(statement))

    rows = as_cli(settings, work)
    assert len(rows) == 1, "exactly one Default class"
    row = rows[0]
    assert row.name == "Default"
    assert row.name_key == "default"
    assert row.tenant_id is None  # administrator-managed
    assert row.shared_with_resellers is True
    assert row.is_default is True
    assert row.currency_code is None
    assert row.business_model_id is None
    assert row.notification_sender is None
    assert row.version == 1
    assert row.created_at is not None and row.updated_at is not None

    expected = tabs.default_settings(None)
    assert class_rows.settings_of(row) == expected
    # The list-page columns derived from the tabs agree with them.
    mapping = row._mapping
    for column, value in class_rows.tab_values(expected).items():
        assert mapping[column] == value, column


def test_currencies_are_seeded(settings: Settings) -> None:
    async def work(conn: AsyncConnection) -> dict[str, tuple[str, int]]:
        rows = await conn.execute(sa.select(currency_table))
        return {row.code: (row.name, row.minor_units) for row in rows}

    currencies = as_cli(settings, work)
    assert {code: currencies[code][1] for code in ("USD", "JPY", "BHD", "EUR")} == {
        "USD": 2,
        "JPY": 0,
        "BHD": 3,
        "EUR": 2,
    }
    assert len(currencies) == len(CURRENCIES)
    assert currencies == {code: (name, minor) for code, name, minor in CURRENCIES}
    assert all(len(code) == 3 and code.isupper() for code in currencies)


def _tables(settings: Settings) -> set[str]:
    async def work(conn: AsyncConnection) -> set[str]:
        return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))

    return as_cli(settings, work)


def _upgrade(settings: Settings, revision: str = "head") -> None:
    """Migrate as the owner role (on SQLite: the same URL), granting the service role."""
    owner = Databases.owner_url(settings.database_url)
    config = migrate.alembic_config(owner, service_url=settings.database_url)
    command.upgrade(config, revision)


def _downgrade(settings: Settings, revision: str) -> None:
    owner = Databases.owner_url(settings.database_url)
    command.downgrade(migrate.alembic_config(owner), revision)


def test_downgrade_then_upgrade(settings: Settings) -> None:
    model_tables = set(SQLModel.metadata.tables)
    assert model_tables <= _tables(settings)

    _downgrade(settings, "base")
    assert _tables(settings) == {"alembic_version"}

    _upgrade(settings)
    assert model_tables | {"alembic_version"} == _tables(settings)
    _upgrade(settings)  # at head: nothing to do

    async def work(conn: AsyncConnection) -> tuple[str, int, int]:
        version = (await conn.execute(sa.text("select version_num from alembic_version"))).scalar()
        defaults = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(class_table).where(class_table.c.is_default)
            )
        ).scalar_one()
        currencies = (
            await conn.execute(sa.select(sa.func.count()).select_from(currency_table))
        ).scalar_one()
        return version, defaults, currencies

    assert as_cli(settings, work) == (migrate.head_revision(), 1, len(CURRENCIES))
    test_default_class_is_the_tenancy_default(settings)


@pytest.mark.postgres
def test_downgrade_then_upgrade_restores_row_level_security(settings: Settings) -> None:
    _downgrade(settings, "base")
    _upgrade(settings)

    async def work(conn: AsyncConnection) -> list[Any]:
        return list(
            await conn.execute(
                sa.text(
                    "select relname, relrowsecurity, relforcerowsecurity,"
                    " (select count(*) from pg_policy p where p.polrelid = c.oid) as policies"
                    " from pg_class c where relname = any(:names)"
                ),
                {"names": list(SQLModel.metadata.tables)},
            )
        )

    rows = as_cli(settings, work)
    assert len(rows) == len(SQLModel.metadata.tables)
    for row in rows:
        assert row.relrowsecurity and row.relforcerowsecurity and row.policies >= 2, row


def _policies(settings: Settings) -> set[tuple[Any, ...]]:
    async def work(conn: AsyncConnection) -> set[tuple[Any, ...]]:
        rows = await conn.execute(
            sa.text(
                "select tablename, policyname, cmd, permissive, roles::text, qual, with_check"
                " from pg_policies where schemaname = current_schema()"
            )
        )
        return {tuple(row) for row in rows}

    return as_cli(settings, work)


@pytest.mark.postgres
def test_the_per_command_policies_downgrade_to_those_of_0001(settings: Settings) -> None:
    """0002 (row-level security per command) is reversible: its downgrade restores
    exactly the policies 0001 creates."""
    at_head = _policies(settings)
    _downgrade(settings, "base")
    _upgrade(settings, "0001")
    of_0001 = _policies(settings)
    _upgrade(settings)
    assert _policies(settings) == at_head
    assert at_head != of_0001
    _downgrade(settings, "0001")
    assert _policies(settings) == of_0001
