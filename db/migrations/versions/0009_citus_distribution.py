"""On Citus, distribute the tables: catalogs as reference tables, tenant tables sharded by
tenant and co-located (issue 13).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

A no-op on SQLite and on a PostgreSQL without the ``citus`` extension. On Citus
(``BILLCLASS_CITUS=1``, the URLs naming the coordinator) 0008 has left the tables in a
layout Citus can hold (a sentinel tenant instead of NULL, keys with ``tenant_id``, no
foreign key between tenants, policies without sub-selects); here they become:

- reference tables (one copy on every node, joined locally): ``currency``, the five
  catalogs and ``trusted_document`` (platform-wide, written rarely, read by every request
  that names a registered document);
- distributed by ``tenant_id``, co-located with ``customer`` (a tenant's rows of every
  table in one shard): every table of ``db.models.TENANT_TABLES``;
- left on the coordinator: ``webhook_dispatcher_lease`` (SQLite's; PostgreSQL dispatchers
  never use it) and ``alembic_version``.

Safety. Converting a table copies its rows as the current role, and under FORCE'd
row-level security Citus silently drops the rows that role cannot see
(``../shared/vendor/citus/README.md``). So, in this migration's transaction: the
administrator context is set (``SET LOCAL billclass.role``), FORCE is lifted from every
table while it is converted (the owner then sees every row; no other session can see the
tables meanwhile: ALTER TABLE holds their exclusive lock until commit) and put back after,
and every table's row count is compared before and after: a difference rolls everything
back. Tables are distributed while empty: a database holding rows other than what the
migrations seed (the currencies, the Default class) is refused unless the operator says
so (``billclass migrate --distribute-non-empty``, after a backup), and then the counts
prove that no row was lost.

The ``citus`` extension, the coordinator (``citus_set_coordinator_host``) and the workers
(``citus_add_node``) are a superuser's job, done before ``billclass migrate``; README
"Deployment: beyond one database server" has the steps. A database with the extension
migrated without ``BILLCLASS_CITUS=1``, or the reverse, is refused: the service needs to
know (db/engine.py) that its transactions run on Citus.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from db.migrate import MigrationRefused

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen: the tables as of 0008.
REFERENCE_TABLES = (
    "currency",
    "business_model",
    "invoice_template",
    "notification_set",
    "custom_field_definition",
    "custom_tax",
    "trusted_document",
)
# Distributed by tenant_id; the first is the co-location anchor of the others.
DISTRIBUTED_TABLES = (
    "customer",
    "customer_class",
    "api_token",
    "audit_event",
    "webhook_subscription",
    "webhook_event",
    "webhook_delivery",
)
DISTRIBUTION_COLUMN = "tenant_id"
SENTINEL = 0
# What the migrations seed, which may be converted without --distribute-non-empty: every
# currency (0001's list, and later edits of it) and the Default class.
SEEDED = {
    "currency": "true",
    "customer_class": f"is_default AND tenant_id = {SENTINEL}",
}


def _wanted() -> bool:
    asked = context.config.attributes.get("citus")
    if asked is None:
        return os.environ.get("BILLCLASS_CITUS", "").strip().lower() in ("1", "true", "yes", "on")
    return bool(asked)


def _has_citus(bind: sa.Connection) -> bool:
    found = bind.execute(sa.text("select 1 from pg_extension where extname = 'citus'"))
    return found.scalar() is not None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    has_citus, wanted = _has_citus(bind), _wanted()
    if not has_citus and not wanted:
        return
    if not has_citus:
        raise MigrationRefused(
            "BILLCLASS_CITUS=1, but this database has no citus extension. As a superuser,"
            " run CREATE EXTENSION citus in this database on the coordinator and on every"
            " worker, register them (citus_set_coordinator_host, citus_add_node), then run"
            " billclass migrate again (README 'Deployment: beyond one database server')."
            " Not on Citus: unset BILLCLASS_CITUS."
        )
    if not wanted:
        raise MigrationRefused(
            "this database has the citus extension, but BILLCLASS_CITUS is not 1. Set"
            " BILLCLASS_CITUS=1 for billclass migrate, serve and check: the tables are then"
            " distributed, and the service's transactions reach the workers (README"
            " 'Deployment: beyond one database server')."
        )
    _distribute(bind, allow_non_empty=bool(context.config.attributes.get("distribute_non_empty")))


def _distribute(bind: sa.Connection, *, allow_non_empty: bool) -> None:
    workers = bind.execute(
        sa.text("select count(*) from pg_dist_node where groupid <> 0 and isactive")
    ).scalar_one()
    coordinator = bind.execute(
        sa.text("select count(*) from pg_dist_node where groupid = 0")
    ).scalar_one()
    if not workers or not coordinator:
        raise MigrationRefused(
            "this Citus database has no "
            + ("workers" if not workers else "coordinator")
            + " registered: as a superuser, run citus_set_coordinator_host('<host>') and"
            " citus_add_node('<worker>', <port>) in it, then billclass migrate again."
        )
    citus_tables = set(
        bind.execute(sa.text("select logicalrelid::regclass::text from pg_dist_partition"))
        .scalars()
        .all()
    )
    to_reference = [t for t in REFERENCE_TABLES if t not in citus_tables]
    to_distribute = [t for t in DISTRIBUTED_TABLES if t not in citus_tables]
    converted = to_reference + to_distribute
    if not converted:
        return
    # One connection per worker for the whole transaction: DDL may follow the conversions
    # (FORCE below, the grants of db/migrations/env.py), which Citus refuses after a
    # parallel operation in the same transaction.
    op.execute("SET LOCAL citus.multi_shard_modify_mode = 'sequential'")
    op.execute("SET LOCAL billclass.role = 'ADMINISTRATOR'")
    forced = set(
        bind.execute(
            sa.text(
                "select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = current_schema() and relforcerowsecurity"
            )
        )
        .scalars()
        .all()
    ) & set(converted)
    for table in sorted(forced):
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    before = _counts(bind, converted)
    unseeded = _unseeded(bind, before)
    if unseeded and not allow_non_empty:
        listed = ", ".join(f"{table}: {count}" for table, count in unseeded.items())
        raise MigrationRefused(
            "refusing to distribute tables that already hold rows (" + listed + "). Tables"
            " are distributed while empty. To distribute this data anyway: back the database"
            " up, then run billclass migrate --distribute-non-empty (every row is copied to"
            " the shards as the owner with row-level security lifted, and the counts of"
            " every table are compared before and after). Changed nothing."
        )
    for table in to_reference:
        op.execute(f"SELECT create_reference_table('{table}')")
    for table in to_distribute:
        anchor = "none" if table == DISTRIBUTED_TABLES[0] else DISTRIBUTED_TABLES[0]
        op.execute(
            f"SELECT create_distributed_table('{table}', '{DISTRIBUTION_COLUMN}',"
            f" colocate_with => '{anchor}')"
        )
    after = _counts(bind, converted)
    if after != before:
        lost = {t: (before[t], after[t]) for t in converted if before[t] != after[t]}
        raise RuntimeError(f"distribution changed row counts (before, after): {lost}; rolled back")
    for table in sorted(forced):
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def _counts(bind: sa.Connection, tables: Sequence[str]) -> dict[str, int]:
    return {t: bind.execute(sa.text(f"select count(*) from {t}")).scalar_one() for t in tables}


def _unseeded(bind: sa.Connection, counts: dict[str, int]) -> dict[str, int]:
    """Rows other than the migrations' seed, per table holding any."""
    found = {}
    for table, count in counts.items():
        if table in SEEDED and count:
            count = bind.execute(
                sa.text(f"select count(*) from {table} where not ({SEEDED[table]})")
            ).scalar_one()
        if count:
            found[table] = count
    return found


def downgrade() -> None:
    """Nothing to undo on SQLite or PostgreSQL; on Citus, refused: turning distributed
    tables back into local ones copies every row to the coordinator, an operator's
    decision (``undistribute_table``), not a migration's."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _has_citus(bind):
        raise MigrationRefused(
            "migration 0009 is not undone on Citus: undistribute the tables first"
            " (SELECT undistribute_table(...) as the owner, with row-level security not"
            " FORCE'd), or restore a backup."
        )
