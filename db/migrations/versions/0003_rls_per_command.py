"""Row-level security per command: the database net covers writes too (SPEC §7).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

0001 let an UPDATE reach every row the caller may *read* (its USING was the read clause)
and only checked the new row, so a reseller context could move the Default class, a
shared class or the class of its own record into its own tenant, or rewrite its own
customer record. Here every tenant table gets one policy per command:

- SELECT: what the caller may see (unchanged from 0001);
- INSERT (WITH CHECK), UPDATE (USING and WITH CHECK), DELETE (USING): what the caller may
  *change*. For a reseller R: classes managed by R (shared and administrator classes are
  read-only to it), customers whose parent is R (never its own record), R's own RESELLER
  tokens (never an ADMINISTRATOR token, which would make its bearer an administrator);
- audit events: SELECT and INSERT only (append-only), and a reseller context may only
  write events of its own tenant that name it as the actor (no forged administrator
  events);
- catalogs: SELECT for everyone, INSERT, UPDATE and DELETE for administrators.

A row lock (``SELECT ... FOR UPDATE`` / ``FOR SHARE``) needs the UPDATE policy: the
application therefore locks classes with advisory locks (tenancy/locks.py).

The change clauses read ``current_setting`` directly, without the ``(select ...)``
wrapper of the read clauses: they decide single rows, so evaluating them per row costs
nothing, and they add no sub-select (a later Citus port may not use them, DESIGN.md).
PostgreSQL only; SQLite has no row-level security.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = ("customer_class", "customer", "api_token", "audit_event")
CATALOG_TABLES = (
    "currency",
    "business_model",
    "invoice_template",
    "notification_set",
    "custom_field_definition",
    "custom_tax",
)

# The context each transaction sets (tenancy/scoping.py, tenancy/tokens.py). Frozen
# copies: a migration must not change when the application does.
READ_ADMIN = "(select current_setting('billclass.role', true)) = 'ADMINISTRATOR'"
READ_RESELLER = "(select nullif(current_setting('billclass.reseller_id', true), '')::bigint)"
TOKEN_HASH = "(select current_setting('billclass.token_hash', true))"
ADMIN = "current_setting('billclass.role', true) = 'ADMINISTRATOR'"
RESELLER = "nullif(current_setting('billclass.reseller_id', true), '')::bigint"

# What the caller may see: 0001's read clauses, verbatim.
READ = {
    "customer_class": f"{READ_ADMIN} OR tenant_id = {READ_RESELLER}"
    f" OR (tenant_id IS NULL AND shared_with_resellers AND {READ_RESELLER} IS NOT NULL)"
    f" OR id = (select own.customer_class_id from customer own where own.id = {READ_RESELLER})",
    "customer": f"{READ_ADMIN} OR tenant_id = {READ_RESELLER} OR id = {READ_RESELLER}",
    "api_token": f"{READ_ADMIN} OR tenant_id = {READ_RESELLER} OR token_hash = {TOKEN_HASH}",
    "audit_event": f"{READ_ADMIN} OR tenant_id = {READ_RESELLER}",
}

# What the caller may change (write, and see written). A customer whose parent is R is
# never R itself (a customer is not its own parent); "id <> R" says so for the reader.
CHANGE = {
    "customer_class": f"{ADMIN} OR tenant_id = {RESELLER}",
    "customer": f"{ADMIN} OR (tenant_id = {RESELLER} AND id <> {RESELLER})",
    "api_token": f"{ADMIN} OR (tenant_id = {RESELLER} AND role = 'RESELLER')",
}
APPEND_EVENT = (
    f"{ADMIN} OR (tenant_id = {RESELLER}"
    f" AND actor_role = 'RESELLER' AND actor_reseller_id = {RESELLER})"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop_0001_policies()
    for table in TENANT_TABLES:
        op.execute(f"CREATE POLICY {table}_select ON {table} FOR SELECT USING ({READ[table]})")
        if table == "audit_event":
            op.execute(
                f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({APPEND_EVENT})"
            )
            continue  # no UPDATE or DELETE policy: both affect no row (and no privilege)
        change = CHANGE[table]
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({change})")
        op.execute(
            f"CREATE POLICY {table}_update ON {table} FOR UPDATE"
            f" USING ({change}) WITH CHECK ({change})"
        )
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({change})")
    for table in CATALOG_TABLES:
        op.execute(f"CREATE POLICY {table}_select ON {table} FOR SELECT USING (true)")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({ADMIN})")
        op.execute(
            f"CREATE POLICY {table}_update ON {table} FOR UPDATE"
            f" USING ({ADMIN}) WITH CHECK ({ADMIN})"
        )
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({ADMIN})")


def _drop_0001_policies() -> None:
    for table in TENANT_TABLES:
        for command in ("read", "insert", "update", "delete"):
            op.execute(f"DROP POLICY IF EXISTS {table}_{command} ON {table}")
    for table in CATALOG_TABLES:
        for command in ("read", "insert"):
            op.execute(f"DROP POLICY IF EXISTS {table}_{command} ON {table}")


def downgrade() -> None:
    """Back to 0001's policies (write holes included: that is what 0001 was)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES + CATALOG_TABLES:
        for command in ("select", "insert", "update", "delete"):
            op.execute(f"DROP POLICY IF EXISTS {table}_{command} ON {table}")
    old_write = f"{READ_ADMIN} OR tenant_id = {READ_RESELLER}"
    for table in TENANT_TABLES:
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING ({READ[table]})")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({old_write})")
        if table == "audit_event":
            continue
        op.execute(
            f"CREATE POLICY {table}_update ON {table} FOR UPDATE"
            f" USING ({READ[table]}) WITH CHECK ({old_write})"
        )
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({old_write})")
    for table in CATALOG_TABLES:
        op.execute(f"CREATE POLICY {table}_read ON {table} FOR SELECT USING (true)")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({READ_ADMIN})")
