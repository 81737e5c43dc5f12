"""The registry of trusted documents (issue 10; SPEC §6, §7).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Operation documents registered ahead of the requests that name them by ID
(``{"documentId": "sha256:<hex>"}``): parsed, validated, limit-checked and costed once,
by ``billclass documents push``. Platform-wide, not a tenant table: a document is text,
and who may run it and what it returns is decided per request exactly as for an ad-hoc
query, so row-level security treats it like a catalog (every table has it, forced):
SELECT for every context, INSERT, UPDATE and DELETE for the administrator context (the
command line's). The service role may only read it
(db/roles.py grants SELECT after every migration): only the owner registers or removes
documents, so a compromised service cannot widen what ``BILLCLASS_DOCUMENTS=trusted``
allows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlmodel.sql.sqltypes import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
# The administrator context (tenancy/scoping.py), frozen as in 0003.
ADMIN = "current_setting('billclass.role', true) = 'ADMINISTRATOR'"


def upgrade() -> None:
    op.create_table(
        "trusted_document",
        sa.Column("id", sa.String(71), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("operation_names", JSON, nullable=False),
        sa.Column("requested_costs", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trusted_document"),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    table = "trusted_document"
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {table}_select ON {table} FOR SELECT USING (true)")
    op.execute(f"CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({ADMIN})")
    op.execute(
        f"CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({ADMIN}) WITH CHECK ({ADMIN})"
    )
    op.execute(f"CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({ADMIN})")


def downgrade() -> None:
    op.drop_table("trusted_document")
