"""Indexes for listing customers by creation time (issue 9: ``customers(orderBy: {field:
CREATED_AT})``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

The keyset pagination of ``customers`` seeks on ``(created_at, id)`` in that order (and
on ``(tenant_id, created_at, id)`` for a reseller, whose rows are scoped by tenant), as it
already does on ``(name_key, id)``; without these, a page in that order sorted every
visible customer first. The same pair of indexes as ``customer_class``'s by creation time.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customer_created", "customer", ["created_at", "id"])
    op.create_index("ix_customer_tenant_created", "customer", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_customer_tenant_created", table_name="customer")
    op.drop_index("ix_customer_created", table_name="customer")
