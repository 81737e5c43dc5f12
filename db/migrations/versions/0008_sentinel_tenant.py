"""One layout for SQLite, PostgreSQL and Citus: a sentinel tenant, keys with the tenant,
policies without sub-selects (issue 13).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

A distributed PostgreSQL (Citus) shards the tenant tables by ``tenant_id``, and refuses
what 0001-0007 built on it (``../shared/vendor/citus/README.md``): a NULL distribution
column, a primary or unique key without it, a foreign key between shards, a policy with
a sub-select. So, on every database:

- the administrator's rows (``tenant_id`` NULL) move to the sentinel tenant 0
  (``db.models.ADMINISTRATOR_TENANT``) and ``tenant_id`` becomes NOT NULL, without
  losing a row (the count of every table is checked; on PostgreSQL the tables are
  briefly NO FORCE'd, so the owner's UPDATE sees every row whatever the context);
- the foreign keys ``tenant_id -> customer.id`` go (the sentinel is no customer); the
  application guarantees a tenant is a reseller that exists (README "Deployment: beyond
  one database server");
- primary keys become ``(id, tenant_id)``: the distribution column is in every key, and
  a lookup by ID alone (every ID issued before 0008) is still one index probe;
- unique keys take ``tenant_id`` too (names per manager, token hashes, webhook
  deliveries);
- ``customer.customer_class_id -> customer_class.id`` (a customer may use a shared
  administrator class, which lives in another shard) stays where it can: on SQLite and
  PostgreSQL, with a unique key on ``customer_class.id`` for it; on Citus both are left
  out and the application's guarantee is the one in force (deleting a class that has
  customers is refused under the class's advisory lock, tenancy/customer_classes.py);
- the SELECT policies lose their sub-selects: the ``(select current_setting(..))``
  wrappers, the reseller's own class (0001: a sub-select on ``customer``) and the shared
  classes' history (0007: a sub-select on ``customer_class``). The last two read a
  transaction setting instead, set by the application only around the one read that
  needs it (``billclass.class_ids``: the classes of visible customers, a reseller's own
  record's among them; ``billclass.history_of``: the classes whose history a visible()
  read has just returned). They are the two ``scoping.Bypass`` reads, so the database
  net holds them exactly where the application already trusts its own key list.

On Citus (the ``citus`` extension is installed) the tables are still plain tables here;
0009 distributes them.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENTINEL = 0
TENANT_TABLES = (
    "customer_class",
    "customer",
    "api_token",
    "audit_event",
    "webhook_subscription",
    "webhook_event",
    "webhook_delivery",
)
TENANT_FOREIGN_KEYS = {
    "customer_class": "fk_customer_class_tenant_id_customer",
    "customer": "fk_customer_tenant_id_customer",
    "api_token": "fk_api_token_tenant_id_customer",
    "webhook_subscription": "fk_webhook_subscription_tenant_id_customer",
}
CLASS_FOREIGN_KEY = "fk_customer_customer_class_id_customer_class"
# Unique indexes on an expression (SQLite's batch mode cannot reflect them).
NAME_INDEXES = {
    "customer_class": "uq_customer_class_manager_name",
    "api_token": "uq_api_token_owner_name",
}

# The context each transaction sets (tenancy/scoping.py, tenancy/tokens.py), frozen.
ADMIN = "current_setting('billclass.role', true) = 'ADMINISTRATOR'"
ROLE_RESELLER = "current_setting('billclass.role', true) = 'RESELLER'"
RESELLER = "nullif(current_setting('billclass.reseller_id', true), '')::bigint"
TOKEN_HASH = "current_setting('billclass.token_hash', true)"
CLASS_IDS = "string_to_array(current_setting('billclass.class_ids', true), ',')::bigint[]"
HISTORY_OF = "string_to_array(current_setting('billclass.history_of', true), ',')"

SELECT = {
    "customer_class": f"{ADMIN} OR tenant_id = {RESELLER}"
    f" OR (tenant_id = {SENTINEL} AND shared_with_resellers AND {ROLE_RESELLER})"
    f" OR ({ROLE_RESELLER} AND id = ANY({CLASS_IDS}))",
    "customer": f"{ADMIN} OR tenant_id = {RESELLER} OR id = {RESELLER}",
    "api_token": f"{ADMIN} OR tenant_id = {RESELLER} OR token_hash = {TOKEN_HASH}",
    "audit_event": f"{ADMIN} OR tenant_id = {RESELLER}"
    f" OR (tenant_id = {SENTINEL} AND object_type = 'CustomerClass' AND {ROLE_RESELLER}"
    f" AND object_id = ANY({HISTORY_OF}))",
    "webhook_subscription": f"{ADMIN} OR tenant_id = {RESELLER}",
    "webhook_delivery": f"{ADMIN} OR tenant_id = {RESELLER}",
    "webhook_event": f"{ADMIN} OR tenant_id = {RESELLER}",
}

# The SELECT policies 0008 replaces (0003, 0006 and 0007), frozen for the downgrade.
_READ_ADMIN = "(select current_setting('billclass.role', true)) = 'ADMINISTRATOR'"
_READ_ROLE_RESELLER = "(select current_setting('billclass.role', true)) = 'RESELLER'"
_READ_RESELLER = "(select nullif(current_setting('billclass.reseller_id', true), '')::bigint)"
_READ_TOKEN_HASH = "(select current_setting('billclass.token_hash', true))"
_OWN = f"{_READ_ADMIN} OR tenant_id = {_READ_RESELLER}"
_SHARED_CLASS_IDS = (
    "select encode(convert_to('CustomerClass:' || c.id::text, 'UTF8'), 'base64')"
    " from customer_class c where c.tenant_id IS NULL AND c.shared_with_resellers"
)
BEFORE = {
    "customer_class": f"{_OWN}"
    f" OR (tenant_id IS NULL AND shared_with_resellers AND {_READ_RESELLER} IS NOT NULL)"
    f" OR id = (select own.customer_class_id from customer own where own.id = {_READ_RESELLER})",
    "customer": f"{_OWN} OR id = {_READ_RESELLER}",
    "api_token": f"{_OWN} OR token_hash = {_READ_TOKEN_HASH}",
    "audit_event": f"{_OWN} OR (tenant_id IS NULL AND object_type = 'CustomerClass'"
    f" AND {_READ_ROLE_RESELLER} AND {_READ_RESELLER} IS NOT NULL"
    f" AND object_id IN ({_SHARED_CLASS_IDS}))",
    "webhook_subscription": _OWN,
    "webhook_delivery": _OWN,
    "webhook_event": _OWN,
}


def _is_citus(bind: sa.Connection) -> bool:
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(sa.text("select 1 from pg_extension where extname = 'citus'"))
    return found.scalar() is not None


def _counts(bind: sa.Connection) -> dict[str, int]:
    return {
        table: bind.execute(sa.text(f"select count(*) from {table}")).scalar_one()
        for table in TENANT_TABLES
    }


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    citus = _is_citus(bind)
    if postgres:
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    before = _counts(bind)
    if postgres:
        _upgrade_postgresql(citus)
    else:
        _upgrade_sqlite()
    if _counts(bind) != before:  # never: an UPDATE and constraints lose no row
        raise RuntimeError(f"migration 0008 changed row counts: {before} -> {_counts(bind)}")
    if postgres:
        _replace_select_policies(SELECT)
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def _upgrade_postgresql(citus: bool) -> None:
    op.drop_constraint(CLASS_FOREIGN_KEY, "customer", type_="foreignkey")
    for table, key in TENANT_FOREIGN_KEYS.items():
        op.drop_constraint(key, table, type_="foreignkey")
    for table in TENANT_TABLES:
        op.execute(f"UPDATE {table} SET tenant_id = {SENTINEL} WHERE tenant_id IS NULL")
        op.alter_column(table, "tenant_id", nullable=False, existing_type=sa.BigInteger())
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, ["id", "tenant_id"])
    _new_unique_keys()
    if not citus:
        op.create_unique_constraint("uq_customer_class_id", "customer_class", ["id"])
        _class_foreign_key()


def _new_unique_keys() -> None:
    for table, index in NAME_INDEXES.items():
        op.drop_index(index, table_name=table)
        op.create_index(index, table, ["tenant_id", "name_key"], unique=True)
    op.drop_constraint("uq_api_token_token_hash", "api_token", type_="unique")
    op.create_index(
        "uq_api_token_token_hash", "api_token", ["token_hash", "tenant_id"], unique=True
    )
    op.drop_constraint("uq_webhook_delivery_event_id", "webhook_delivery", type_="unique")
    op.drop_constraint("uq_webhook_delivery_subscription_id", "webhook_delivery", type_="unique")
    op.create_unique_constraint(
        "uq_webhook_delivery_event_id", "webhook_delivery", ["event_id", "tenant_id"]
    )
    op.create_unique_constraint(
        "uq_webhook_delivery_pair",
        "webhook_delivery",
        ["subscription_id", "webhook_event_id", "tenant_id"],
    )


def _class_foreign_key() -> None:
    op.create_foreign_key(
        CLASS_FOREIGN_KEY, "customer", "customer_class", ["customer_class_id"], ["id"]
    )


def _upgrade_sqlite() -> None:
    """SQLite cannot alter a key: batch mode rebuilds each table (migrations run with
    foreign keys off and check them at the end, db/migrations/env.py). The expression
    indexes it cannot reflect are dropped first and rebuilt on plain columns."""
    for table, index in NAME_INDEXES.items():
        op.drop_index(index, table_name=table)
    for table in TENANT_TABLES:
        op.execute(f"UPDATE {table} SET tenant_id = {SENTINEL} WHERE tenant_id IS NULL")
        with _new_primary_key_warning_ignored(), op.batch_alter_table(
            table, recreate="always"
        ) as batch:
            if table in TENANT_FOREIGN_KEYS:
                batch.drop_constraint(TENANT_FOREIGN_KEYS[table], type_="foreignkey")
            batch.alter_column("tenant_id", nullable=False, existing_type=sa.BigInteger())
            batch.create_primary_key(f"pk_{table}", ["id", "tenant_id"])
            if table == "customer_class":
                batch.create_unique_constraint("uq_customer_class_id", ["id"])
            if table == "api_token":
                batch.drop_constraint("uq_api_token_token_hash", type_="unique")
            if table == "webhook_delivery":
                batch.drop_constraint("uq_webhook_delivery_event_id", type_="unique")
                batch.drop_constraint("uq_webhook_delivery_subscription_id", type_="unique")
                batch.create_unique_constraint(
                    "uq_webhook_delivery_event_id", ["event_id", "tenant_id"]
                )
                batch.create_unique_constraint(
                    "uq_webhook_delivery_pair", ["subscription_id", "webhook_event_id", "tenant_id"]
                )
    for table, index in NAME_INDEXES.items():
        op.create_index(index, table, ["tenant_id", "name_key"], unique=True)
    op.create_index(
        "uq_api_token_token_hash", "api_token", ["token_hash", "tenant_id"], unique=True
    )


@contextmanager
def _new_primary_key_warning_ignored() -> Iterator[None]:
    """Batch mode copies the table with its new primary key, and SQLAlchemy says so (the
    very change asked for)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*as primary_key=True, not matching locally")
        yield


def _replace_select_policies(using: dict[str, str]) -> None:
    for table, clause in using.items():
        op.execute(f"DROP POLICY {table}_select ON {table}")
        op.execute(f"CREATE POLICY {table}_select ON {table} FOR SELECT USING ({clause})")


def downgrade() -> None:
    """Back to NULL for the administrator and keys on ``id`` alone (not on Citus: a
    distributed database cannot hold the layout of 0007)."""
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    if _is_citus(bind):
        raise RuntimeError("migration 0008 cannot be undone on Citus")
    if postgres:
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        _replace_select_policies(BEFORE)
    before = _counts(bind)
    if postgres:
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
    if _counts(bind) != before:
        raise RuntimeError(f"migration 0008 downgrade changed row counts: {before}")
    if postgres:
        for table in TENANT_TABLES:
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def _old_unique_keys() -> None:
    for table, index in NAME_INDEXES.items():
        op.drop_index(index, table_name=table)
        op.create_index(index, table, [sa.text("coalesce(tenant_id, 0)"), "name_key"], unique=True)
    op.drop_index("uq_api_token_token_hash", table_name="api_token")
    op.create_unique_constraint("uq_api_token_token_hash", "api_token", ["token_hash"])
    op.drop_constraint("uq_webhook_delivery_pair", "webhook_delivery", type_="unique")
    op.drop_constraint("uq_webhook_delivery_event_id", "webhook_delivery", type_="unique")
    op.create_unique_constraint(
        "uq_webhook_delivery_event_id", "webhook_delivery", ["event_id"]
    )
    op.create_unique_constraint(
        "uq_webhook_delivery_subscription_id",
        "webhook_delivery",
        ["subscription_id", "webhook_event_id"],
    )


def _downgrade_postgresql() -> None:
    op.drop_constraint(CLASS_FOREIGN_KEY, "customer", type_="foreignkey")
    op.drop_constraint("uq_customer_class_id", "customer_class", type_="unique")
    _old_unique_keys()
    for table in TENANT_TABLES:
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, ["id"])
        op.alter_column(table, "tenant_id", nullable=True, existing_type=sa.BigInteger())
        op.execute(f"UPDATE {table} SET tenant_id = NULL WHERE tenant_id = {SENTINEL}")
    _class_foreign_key()
    for table, key in TENANT_FOREIGN_KEYS.items():
        op.create_foreign_key(key, table, "customer", ["tenant_id"], ["id"])


def _downgrade_sqlite() -> None:
    for table, index in NAME_INDEXES.items():
        op.drop_index(index, table_name=table)
    op.drop_index("uq_api_token_token_hash", table_name="api_token")
    with _new_primary_key_warning_ignored():
        for table in TENANT_TABLES:
            with op.batch_alter_table(table, recreate="always") as batch:
                batch.create_primary_key(f"pk_{table}", ["id"])
                batch.alter_column("tenant_id", nullable=True, existing_type=sa.BigInteger())
                if table == "customer_class":
                    batch.drop_constraint("uq_customer_class_id", type_="unique")
                if table == "api_token":
                    batch.create_unique_constraint("uq_api_token_token_hash", ["token_hash"])
                if table == "webhook_delivery":
                    batch.drop_constraint("uq_webhook_delivery_pair", type_="unique")
                    batch.drop_constraint("uq_webhook_delivery_event_id", type_="unique")
                    batch.create_unique_constraint("uq_webhook_delivery_event_id", ["event_id"])
                    batch.create_unique_constraint(
                        "uq_webhook_delivery_subscription_id",
                        ["subscription_id", "webhook_event_id"],
                    )
                if table in TENANT_FOREIGN_KEYS:
                    batch.create_foreign_key(
                        TENANT_FOREIGN_KEYS[table], "customer", ["tenant_id"], ["id"]
                    )
            op.execute(f"UPDATE {table} SET tenant_id = NULL WHERE tenant_id = {SENTINEL}")
    for table, index in NAME_INDEXES.items():
        op.create_index(index, table, [sa.text("coalesce(tenant_id, 0)"), "name_key"], unique=True)
