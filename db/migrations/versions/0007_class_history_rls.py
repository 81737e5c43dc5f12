"""Resellers read the history of shared classes (issue 11: ``CustomerClass.history``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

A class's history is its audit events. A reseller sees its own classes, whose events
have it as their tenant, and the shared administrator classes, whose events have no
tenant: the SELECT policy of ``audit_event`` (0003) hid the latter from a reseller
context. It now also shows, to a reseller context only, the events of the administrator
classes that are shared at the time of reading: ``object_id`` is the class's global ID,
base64 of ``CustomerClass:<id>`` (frozen here as SQL; PostgreSQL's base64 breaks lines
only after 76 characters, and such an ID has at most 44). The sub-select reads
``customer_class`` under its own SELECT policy, which shows a reseller those classes
anyway. The application reads these events only for classes it has just read with
``visible()`` (``tenancy.scoping.Bypass.HISTORY_OF_VISIBLE_CLASS``); ``auditEvents``
still filters on the tenant (``policy.events_visible``), so what it shows is unchanged.
PostgreSQL only; SQLite has no row-level security.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of 0003's context settings: a migration must not change when the
# application does.
READ_ADMIN = "(select current_setting('billclass.role', true)) = 'ADMINISTRATOR'"
READ_ROLE_RESELLER = "(select current_setting('billclass.role', true)) = 'RESELLER'"
READ_RESELLER = "(select nullif(current_setting('billclass.reseller_id', true), '')::bigint)"

OF_0003 = f"{READ_ADMIN} OR tenant_id = {READ_RESELLER}"
SHARED_CLASS_IDS = (
    "select encode(convert_to('CustomerClass:' || c.id::text, 'UTF8'), 'base64')"
    " from customer_class c where c.tenant_id IS NULL AND c.shared_with_resellers"
)
WITH_SHARED_HISTORY = (
    f"{OF_0003} OR (tenant_id IS NULL AND object_type = 'CustomerClass'"
    f" AND {READ_ROLE_RESELLER} AND {READ_RESELLER} IS NOT NULL"
    f" AND object_id IN ({SHARED_CLASS_IDS}))"
)


def _replace_select_policy(using: str) -> None:
    op.execute("DROP POLICY audit_event_select ON audit_event")
    op.execute(f"CREATE POLICY audit_event_select ON audit_event FOR SELECT USING ({using})")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _replace_select_policy(WITH_SHARED_HISTORY)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _replace_select_policy(OF_0003)
