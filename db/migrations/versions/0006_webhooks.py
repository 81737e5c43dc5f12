"""Change events: webhook subscriptions, the transactional outbox and deliveries (issue 12).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

- ``webhook_subscription``: an integrator's endpoint, owned by a tenant (the reseller R,
  NULL for the administrator), at most 10 per tenant; its signing secret is stored
  encrypted.
- ``webhook_event``: the outbox. Every audited change that has a webhook event type
  writes one row in the same transaction (and savepoint) as the change and its audit
  event, so a rolled-back change leaves none and a committed one always has one.
- ``webhook_delivery``: one row per (event, subscription), made by the dispatcher when it
  fans an event out, with the payload as that subscription's tenant may see it, the
  Standard Webhooks ``webhook-id`` and the attempts. Its subscription is no foreign key
  (see db/models.py: the check's KEY SHARE locks starved deletions).
- ``webhook_dispatcher_lease``: on SQLite one dispatcher leads at a time (PostgreSQL
  dispatchers share the queue with ``FOR UPDATE SKIP LOCKED`` instead).

Row-level security on PostgreSQL, one policy per command as in 0003 (SPEC §7): a reseller
R sees and changes its own subscriptions and their deliveries; it may write outbox rows of
its own tenant naming itself as the actor (as audit events), and only the administrator
context (the dispatcher's) reads them back, marks them fanned out or deletes them. The
lease is the administrator context's alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ID = sa.BigInteger()

# The context each transaction sets (tenancy/scoping.py), frozen copies as in 0003.
READ_ADMIN = "(select current_setting('billclass.role', true)) = 'ADMINISTRATOR'"
READ_RESELLER = "(select nullif(current_setting('billclass.reseller_id', true), '')::bigint)"
ADMIN = "current_setting('billclass.role', true) = 'ADMINISTRATOR'"
RESELLER = "nullif(current_setting('billclass.reseller_id', true), '')::bigint"

OWNED = ("webhook_subscription", "webhook_delivery")
READ_OWN = f"{READ_ADMIN} OR tenant_id = {READ_RESELLER}"
CHANGE_OWN = f"{ADMIN} OR tenant_id = {RESELLER}"
APPEND_EVENT = (
    f"{ADMIN} OR (tenant_id = {RESELLER}"
    f" AND actor_role = 'RESELLER' AND actor_reseller_id = {RESELLER})"
)


def upgrade() -> None:
    op.create_table(
        "webhook_subscription",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("secret", sa.String(400), nullable=False),
        sa.Column("previous_secret", sa.String(400), nullable=True),
        sa.Column("previous_secret_expires_at", UTCDateTime(), nullable=True),
        sa.Column("failing_since", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["customer.id"], name="fk_webhook_subscription_tenant_id_customer"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscription"),
    )
    op.create_index(
        "ix_webhook_subscription_tenant",
        "webhook_subscription",
        ["tenant_id", "created_at", "id"],
    )
    op.create_table(
        "webhook_event",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("object_id", sa.String(100), nullable=False),
        sa.Column("object_type", sa.String(50), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("actor_token_name", sa.String(100), nullable=False),
        sa.Column("actor_reseller_id", ID, nullable=True),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("fanned_out", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_event"),
    )
    op.create_index("ix_webhook_event_pending", "webhook_event", ["fanned_out", "at", "id"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", ID, autoincrement=False, nullable=False),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("subscription_id", ID, nullable=False),
        sa.Column("webhook_event_id", ID, nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("window_started_at", UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_response_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_delivery"),
        sa.UniqueConstraint("event_id", name="uq_webhook_delivery_event_id"),
        sa.UniqueConstraint(
            "subscription_id", "webhook_event_id", name="uq_webhook_delivery_subscription_id"
        ),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["next_attempt_at"])
    op.create_index(
        "ix_webhook_delivery_listing",
        "webhook_delivery",
        ["subscription_id", "created_at", "id"],
    )
    op.create_table(
        "webhook_dispatcher_lease",
        sa.Column("name", sa.String(20), nullable=False),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_webhook_dispatcher_lease"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in (*OWNED, "webhook_event", "webhook_dispatcher_lease"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for table in OWNED:
        op.execute(f"CREATE POLICY {table}_select ON {table} FOR SELECT USING ({READ_OWN})")
        op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({CHANGE_OWN})")
        op.execute(
            f"CREATE POLICY {table}_update ON {table} FOR UPDATE"
            f" USING ({CHANGE_OWN}) WITH CHECK ({CHANGE_OWN})"
        )
        op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({CHANGE_OWN})")
    table = "webhook_event"
    op.execute(f"CREATE POLICY {table}_select ON {table} FOR SELECT USING ({READ_OWN})")
    op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({APPEND_EVENT})")
    op.execute(
        f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({ADMIN}) WITH CHECK ({ADMIN})"
    )
    op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({ADMIN})")
    table = "webhook_dispatcher_lease"
    op.execute(f"CREATE POLICY {table}_select ON {table} FOR SELECT USING ({ADMIN})")
    op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({ADMIN})")
    op.execute(
        f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({ADMIN}) WITH CHECK ({ADMIN})"
    )
    op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({ADMIN})")


def downgrade() -> None:
    op.drop_table("webhook_dispatcher_lease")
    op.drop_index("ix_webhook_delivery_listing", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index("ix_webhook_event_pending", table_name="webhook_event")
    op.drop_table("webhook_event")
    op.drop_index("ix_webhook_subscription_tenant", table_name="webhook_subscription")
    op.drop_table("webhook_subscription")
