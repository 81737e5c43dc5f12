"""The migrations and the models agree; the seeds are what the specification says."""

from __future__ import annotations

import importlib.util
import secrets
import unicodedata
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

from db import migrate
from db.currencies import CURRENCIES
from db.models import class_table, currency_table
from db.settings import Settings
from tenancy import class_rows, fields, tabs
from tenancy.ids import to_global_id
from tests.databases import CITUS, POSTGRES, Databases
from tests.support.cli import run_as_cli
from tests.test_cli import billclass

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


@pytest.fixture
def database_url(databases: Databases, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The migration chain runs on one server: on Citus, these tests (downgrades, data
    rewritten at a revision) run on a plain PostgreSQL database of the coordinator, as
    a database is before it moves to Citus; what 0009 makes of a distributed one is
    tests/integration/test_citus.py's."""
    with databases.single_node() as url:
        if CITUS:
            monkeypatch.setenv("BILLCLASS_CITUS", "0")
        yield url


def differences(settings: Settings, metadata: sa.MetaData) -> list[Any]:
    def compare(sync_conn: sa.Connection) -> list[Any]:
        context = MigrationContext.configure(
            sync_conn, opts={"compare_type": True, "compare_server_default": True}
        )
        found: list[Any] = compare_metadata(context, metadata)
        return found

    async def work(conn: AsyncConnection) -> list[Any]:
        return await conn.run_sync(compare)

    found = run_as_cli(settings, work)
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

    rows = run_as_cli(settings, work)
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

    currencies = run_as_cli(settings, work)
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

    return run_as_cli(settings, work)


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

    async def work(conn: AsyncConnection) -> tuple[str | None, int, int]:
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

    assert run_as_cli(settings, work) == (migrate.head_revision(), 1, len(CURRENCIES))
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

    rows = run_as_cli(settings, work)
    assert len(rows) == len(SQLModel.metadata.tables)
    for row in rows:
        assert row.relrowsecurity and row.relforcerowsecurity and row.policies >= 2, row


# --------------------------------------------------------------------------- 0002 name keys

KEYED_TABLES = {
    "business_model": "code_key",
    "invoice_template": "name_key",
    "notification_set": "name_key",
    "custom_field_definition": "name_key",
    "custom_tax": "name_key",
    "customer_class": "name_key",
    "customer": "name_key",
    "api_token": "name_key",
}


def _migration_0002() -> ModuleType:
    path = migrate.MIGRATIONS / "versions" / "0002_name_keys.py"
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MIGRATION_0002 = _migration_0002()


@pytest.mark.parametrize(
    "name",
    [
        "Retail",
        "Straße",
        "\ufb03",
        "\uff32etail",
        "\u2168",
        "\u2460",
        "a\u200db",
        "\u0130",
        "\ufdfa",
    ],
)
def test_0002_key_is_a_frozen_copy_of_tenancy_name_key(name: str) -> None:
    assert MIGRATION_0002.name_key(name) == fields.name_key(name)


@settings_(max_examples=300, deadline=None)
@given(st.text(max_size=100))
def test_0002_key_agrees_with_tenancy_on_any_text(name: str) -> None:
    assert MIGRATION_0002.name_key(name) == fields.name_key(name)


def _old_key(name: str) -> str:
    """What revision 0001's code stored: casefold(NFC(name))."""
    return unicodedata.normalize("NFC", name).casefold()


def _default_class(conn: AsyncConnection) -> Awaitable[Any]:
    async def read() -> Any:
        statement = sa.select(class_table).where(class_table.c.is_default)
        return (await conn.execute(statement)).one()._asdict()

    return read()


async def _insert_0001(conn: AsyncConnection, table: str, **values: Any) -> int:
    """A row as revision 0001's code wrote it: a random id and the old key."""
    values.setdefault("id", secrets.randbits(62) + 1)
    source = "code" if table == "business_model" else "name"
    values[KEYED_TABLES[table]] = _old_key(values[source])
    values.setdefault("created_at", datetime.now(UTC))
    await conn.execute(_as_of_0001(table).insert().values(**values))
    return int(values["id"])


def _as_of_0001(name: str) -> sa.Table:
    """The model's table with ``tenant_id`` as 0001 stored it (NULL for the
    administrator, not 0008's sentinel)."""
    table = SQLModel.metadata.tables[name]
    columns = [
        sa.Column(c.name, sa.BigInteger() if c.name == "tenant_id" else c.type)
        for c in table.columns
    ]
    return sa.Table(name, sa.MetaData(), *columns)


async def _seed_0001(
    conn: AsyncConnection, class_names: dict[str | None, list[str]]
) -> dict[str, Any]:
    """A reseller "R", classes by manager (None: administrator; "R": the reseller), and
    one row with a changing key in every other keyed table."""
    default = await _default_class(conn)
    reseller = await _insert_0001(
        conn,
        "customer",
        tenant_id=None,
        name="R\u00e9seller R",
        customer_type="RESELLER",
        reseller_level=1,
        currency_code="USD",
        customer_class_id=default["id"],
        override_regular_template=False,
        override_out_of_turn_template=False,
    )
    ids: dict[str, Any] = {"reseller": reseller, "classes": {}}
    for manager, names in class_names.items():
        for name in names:
            row = {**default, "is_default": False, "name": name, "shared_with_resellers": False}
            row["tenant_id"] = reseller if manager == "R" else None
            del row["id"], row["name_key"]
            ids["classes"][(manager, name)] = await _insert_0001(conn, "customer_class", **row)
    await _insert_0001(
        conn,
        "customer",
        tenant_id=reseller,
        name="\uff26ull width customer",
        customer_type="RETAIL",
        reseller_level=0,
        currency_code="USD",
        customer_class_id=default["id"],
        override_regular_template=False,
        override_out_of_turn_template=False,
    )
    for tenant, name in ((None, "\uff2fps"), (reseller, "\u2460")):
        await _insert_0001(
            conn,
            "api_token",
            tenant_id=tenant,
            name=name,
            role="RESELLER" if tenant else "ADMINISTRATOR",
            token_hash=secrets.token_hex(32),
        )
    await _insert_0001(conn, "business_model", code="GOLD", name="\uff27old")
    await _insert_0001(conn, "invoice_template", name="\uff29nvoice \u2168")
    await _insert_0001(conn, "notification_set", name="\uff2eotices")
    await _insert_0001(
        conn,
        "custom_field_definition",
        object="CUSTOMER",
        name="\uff26ield",
        type="TEXT",
        list_values=[],
        mandatory=False,
        visible_to_end_user=False,
        contains_personal_data=False,
    )
    await _insert_0001(
        conn, "custom_tax", name="VAT \u2460", rate_percent="20", applied_to="ALL_CHARGES"
    )
    return ids


def _keyed_rows(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    async def work(conn: AsyncConnection) -> dict[str, list[tuple[Any, ...]]]:
        found = {}
        for table, key in KEYED_TABLES.items():
            t = SQLModel.metadata.tables[table]
            source = t.c.code if table == "business_model" else t.c.name
            rows = await conn.execute(sa.select(t.c.id, source, t.c[key]).order_by(t.c.id))
            found[table] = [tuple(row) for row in rows]
        return found

    return run_as_cli(settings, work)


def _policies(settings: Settings) -> set[tuple[Any, ...]]:
    async def work(conn: AsyncConnection) -> set[tuple[Any, ...]]:
        rows = await conn.execute(
            sa.text(
                "select tablename, policyname, cmd, permissive, roles::text, qual, with_check"
                " from pg_policies where schemaname = current_schema()"
            )
        )
        return {tuple(row) for row in rows}

    return run_as_cli(settings, work)


def _key_columns(settings: Settings) -> dict[str, tuple[int | None, str | None]]:
    """Width (and, on PostgreSQL, collation) of every key column as the database has it."""

    def inspect(sync: sa.Connection) -> dict[str, tuple[int | None, str | None]]:
        inspector = sa.inspect(sync)
        found = {}
        for table, key in KEYED_TABLES.items():
            column = next(c for c in inspector.get_columns(table) if c["name"] == key)
            column_type = column["type"]
            assert isinstance(column_type, sa.String), column
            found[table] = (column_type.length, column_type.collation)
        return found

    async def work(conn: AsyncConnection) -> dict[str, tuple[int | None, str | None]]:
        return await conn.run_sync(inspect)

    return run_as_cli(settings, work)


def _version(settings: Settings) -> str:
    async def work(conn: AsyncConnection) -> str:
        return str(
            (await conn.execute(sa.text("select version_num from alembic_version"))).scalar()
        )

    return run_as_cli(settings, work)


def _at_0001(settings: Settings) -> None:
    _downgrade(settings, "0001")
    assert _version(settings) == "0001"
    collation = "C" if POSTGRES else None
    assert set(_key_columns(settings).values()) == {(100, collation)}


def test_0002_recomputes_every_key_and_widens_the_columns(settings: Settings) -> None:
    _at_0001(settings)
    run_as_cli(
        settings,
        lambda conn: _seed_0001(
            conn, {None: ["\uff32etail", "a\u200db"], "R": ["\u2168 Premium", "Retail"]}
        ),
    )
    before = _keyed_rows(settings)
    for table, rows in before.items():
        assert all(key == _old_key(source) for _id, source, key in rows), table
        changing = [source for _id, source, key in rows if key != fields.name_key(source)]
        assert changing or table == "business_model", f"{table}: no key changes, no test"

    _upgrade(settings)

    assert _version(settings) == migrate.head_revision()
    collation = "C" if POSTGRES else None
    assert set(_key_columns(settings).values()) == {(400, collation)}
    after = _keyed_rows(settings)
    assert {t: [(i, s) for i, s, _k in rows] for t, rows in after.items()} == {
        t: [(i, s) for i, s, _k in rows] for t, rows in before.items()
    }
    for table, rows in after.items():
        assert all(key == fields.name_key(source) for _id, source, key in rows), (table, rows)
    # The administrator's full-width "Retail" and the reseller's "Retail" are in separate
    # namespaces: no collision, both keyed "retail".
    keys = [key for _id, _source, key in after["customer_class"]]
    assert keys.count("retail") == 2
    assert differences(settings, SQLModel.metadata) == []
    if POSTGRES:
        test_downgrade_then_upgrade_restores_row_level_security(settings)


def test_0002_stops_on_names_that_now_collide_and_changes_nothing(settings: Settings) -> None:
    _at_0001(settings)
    ids = run_as_cli(
        settings,
        lambda conn: _seed_0001(
            conn,
            {
                None: ["Retail", "\uff32etail", "\uff32\uff45tail", "Business"],
                "R": ["\u2168", "IX", "Retail"],
            },
        ),
    )

    async def more(conn: AsyncConnection) -> None:
        # A second token of the reseller and a second invoice template, each colliding.
        await _insert_0001(
            conn,
            "api_token",
            tenant_id=ids["reseller"],
            name="1",
            role="RESELLER",
            token_hash=secrets.token_hex(32),
        )
        await _insert_0001(conn, "invoice_template", name="invoice IX")

    run_as_cli(settings, more)
    before = _keyed_rows(settings)

    with pytest.raises(migrate.MigrationRefused) as refused:
        _upgrade(settings)

    message = str(refused.value)
    lines = message.splitlines()
    assert "changed nothing" in lines[0]
    admin_line = next(line for line in lines if "managed by the administrator" in line)
    for name in ("Retail", "\uff32etail", "\uff32\uff45tail"):
        assert repr(name) in admin_line
        assert to_global_id("CustomerClass", ids["classes"][(None, name)]) in admin_line
    assert "Business" not in message
    reseller_line = next(line for line in lines if "customer_class, managed by reseller" in line)
    assert repr("R\u00e9seller R") in reseller_line
    assert to_global_id("Customer", ids["reseller"]) in reseller_line
    assert repr("\u2168") in reseller_line and repr("IX") in reseller_line
    # The reseller's "Retail" collides with nobody in its own namespace.
    assert to_global_id("CustomerClass", ids["classes"][("R", "Retail")]) not in message
    token_line = next(line for line in lines if line.lstrip().startswith("api_token"))
    assert "owned by reseller" in token_line
    assert repr("\u2460") in token_line and repr("1") in token_line
    template_line = next(line for line in lines if line.lstrip().startswith("invoice_template"))
    assert repr("\uff29nvoice \u2168") in template_line and repr("invoice IX") in template_line
    assert len([line for line in lines if line.startswith("  ")]) == 4

    assert _version(settings) == "0001"
    assert _keyed_rows(settings) == before
    collation = "C" if POSTGRES else None
    assert set(_key_columns(settings).values()) == {(100, collation)}


def test_0002_stops_on_keys_longer_than_400(settings: Settings) -> None:
    _at_0001(settings)
    name = "\ufdfa" * 30  # 30 ligatures of 18 characters each once NFKC'd
    ids = run_as_cli(settings, lambda conn: _seed_0001(conn, {None: [name]}))
    before = _keyed_rows(settings)

    with pytest.raises(migrate.MigrationRefused) as refused:
        _upgrade(settings)

    message = str(refused.value)
    assert "longer than 400 characters" in message
    assert to_global_id("CustomerClass", ids["classes"][(None, name)]) in message
    assert _version(settings) == "0001"
    assert _keyed_rows(settings) == before


def test_cli_migrate_prints_every_colliding_name(settings: Settings) -> None:
    _at_0001(settings)
    run_as_cli(settings, lambda conn: _seed_0001(conn, {None: ["Retail", "\uff32etail"]}))
    owner = {"BILLCLASS_MIGRATION_DATABASE_URL": Databases.owner_url(settings.database_url)}
    done = billclass(settings.database_url, "migrate", env=owner if POSTGRES else None)
    assert done.returncode == 2, done.stderr
    assert "changed nothing" in done.stderr
    assert "'Retail'" in done.stderr and "'\uff32etail'" in done.stderr
    assert "Traceback" not in done.stderr
    assert _version(settings) == "0001"


@pytest.mark.postgres
def test_the_per_command_policies_downgrade_to_those_of_0001(settings: Settings) -> None:
    """0003 (row-level security per command) is reversible: its downgrade restores
    exactly the policies 0001 creates (0002 only rekeys names)."""
    at_head = _policies(settings)
    _downgrade(settings, "base")
    _upgrade(settings, "0002")
    of_0001 = _policies(settings)
    _upgrade(settings)
    assert _policies(settings) == at_head
    assert at_head != of_0001
    _downgrade(settings, "0002")
    assert _policies(settings) == of_0001
