"""PostgreSQL roles: the table owner migrates, the service role only reads and writes rows
(SPEC §7 "The database net covers writes too").

Row-level security protects tenants only from a role that cannot switch it off. A
superuser or BYPASSRLS role is not subject to it at all; a table owner is subject to it
(the tables are FORCE'd) but may ``ALTER TABLE ... NO FORCE ROW LEVEL SECURITY``, drop a
policy or ``TRUNCATE audit_event``. So migrations run as the owner role
(``BILLCLASS_MIGRATION_DATABASE_URL``), which grants the service role
(``BILLCLASS_DATABASE_URL``) exactly:

- ``USAGE`` on the schema;
- ``SELECT, INSERT, UPDATE, DELETE`` on every table, except ``SELECT, INSERT`` on the
  append-only ``audit_event``, ``SELECT`` on ``alembic_version`` (the readiness probe
  reads it; only migrations write it) and ``SELECT`` on ``trusted_document`` (the
  registry of trusted documents, written by ``billclass documents`` as the owner);
- the same four privileges, by default, on tables the owner creates later (a later
  append-only table must revoke UPDATE and DELETE in its migration, and be listed here).

No ``TRUNCATE``, ``REFERENCES`` or ``TRIGGER``, and no ownership: the service can neither
change the schema nor rewrite history.
"""

from __future__ import annotations

import getpass
import os

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

SERVICE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# table -> the only privileges the service role holds on it
RESTRICTED = {
    "audit_event": "SELECT, INSERT",  # append-only: history is never rewritten
    "alembic_version": "SELECT",  # written by migrations only
    # Registered by `billclass documents` as the owner: a service that could write it
    # could trust any document (BILLCLASS_DOCUMENTS=trusted).
    "trusted_document": "SELECT",
}


class UnsafeRole(RuntimeError):
    """The service would connect as a role row-level security cannot hold (one line)."""


def role_of(url: str) -> str:
    """The role a PostgreSQL URL connects as: its user, else what libpq and asyncpg
    default to (``PGUSER``, else the operating-system user)."""
    return make_url(url).username or os.environ.get("PGUSER") or getpass.getuser()


def grant_service_role(connection: Connection, role: str) -> None:
    """Give ``role`` the service privileges on the current schema (see module), run by
    the migration (as the owner) in its own transaction, on every ``billclass migrate``:
    it is idempotent, and a table a later migration adds is covered at once.

    Does nothing when ``role`` is the migrating role itself (one role for both: the
    service then refuses to start unless BILLCLASS_ALLOW_UNSAFE_ROLE=1)."""
    if connection.execute(sa.text("select current_user")).scalar_one() == role:
        return
    quote = connection.dialect.identifier_preparer.quote
    schema = quote(connection.execute(sa.text("select current_schema()")).scalar_one())
    grantee = quote(role)
    tables = list(
        connection.execute(
            sa.text(
                "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = current_schema() and c.relkind in ('r', 'p')"
                " and pg_has_role(current_user, c.relowner, 'USAGE')"
            )
        ).scalars()
    )
    connection.execute(sa.text(f"GRANT USAGE ON SCHEMA {schema} TO {grantee}"))
    for table in tables:
        name = f"{schema}.{quote(table)}"
        # Start from nothing, so that the grants are exactly these whatever came before.
        connection.execute(sa.text(f"REVOKE ALL ON {name} FROM {grantee}"))
        privileges = RESTRICTED.get(table, SERVICE_PRIVILEGES)
        connection.execute(sa.text(f"GRANT {privileges} ON {name} TO {grantee}"))
    connection.execute(
        sa.text(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
            f" GRANT {SERVICE_PRIVILEGES} ON TABLES TO {grantee}"
        )
    )


async def unsafe_reasons(conn: AsyncConnection) -> tuple[str, list[str]]:
    """The connected role, and why row-level security cannot hold it (empty: safe).

    Membership counts: a role that may ``SET ROLE`` to a superuser, a BYPASSRLS role or
    the tables' owner can do whatever that role can."""
    role = (await conn.execute(sa.text("select current_user"))).scalar_one()
    powers = (
        await conn.execute(
            sa.text(
                "select coalesce(bool_or(rolsuper), false) as superuser,"
                " coalesce(bool_or(rolbypassrls), false) as bypassrls"
                " from pg_roles where pg_has_role(current_user, oid, 'MEMBER')"
            )
        )
    ).one()
    owned = list(
        (
            await conn.execute(
                sa.text(
                    "select c.relname from pg_class c"
                    " join pg_namespace n on n.oid = c.relnamespace"
                    " where n.nspname = current_schema() and c.relkind in ('r', 'p')"
                    " and pg_has_role(current_user, c.relowner, 'MEMBER')"
                    " order by c.relname"
                )
            )
        ).scalars()
    )
    reasons = []
    if powers.superuser:
        reasons.append("a superuser (row-level security does not apply to it)")
    elif powers.bypassrls:
        reasons.append("a BYPASSRLS role (row-level security does not apply to it)")
    if owned and not powers.superuser:
        shown = ", ".join(owned[:4]) + (", ..." if len(owned) > 4 else "")
        reasons.append(
            f"the owner of tables {shown} (it could switch row-level security off"
            " or truncate the audit log)"
        )
    return role, reasons


async def check_service_role(engine: AsyncEngine, *, allow_unsafe: bool) -> str | None:
    """Start-up check of the role the service connects as (PostgreSQL only).

    Returns None when the role is safe (or on SQLite), the warning to log when it is not
    but ``allow_unsafe`` (BILLCLASS_ALLOW_UNSAFE_ROLE=1) says to start anyway; raises
    UnsafeRole otherwise."""
    if engine.dialect.name != "postgresql":
        return None
    async with engine.connect() as conn:
        role, reasons = await unsafe_reasons(conn)
    if not reasons:
        return None
    what = f"PostgreSQL role {role!r} is " + " and ".join(reasons)
    if allow_unsafe:
        return (
            f"!!! SECURITY: {what}; tenant isolation rests on the application alone"
            " (BILLCLASS_ALLOW_UNSAFE_ROLE=1). Connect as the service role (README"
            " 'PostgreSQL roles')."
        )
    raise UnsafeRole(
        f"refusing to start: {what}. Connect as a NOSUPERUSER NOBYPASSRLS role that does"
        " not own the tables (README 'PostgreSQL roles'), or set"
        " BILLCLASS_ALLOW_UNSAFE_ROLE=1 to start anyway."
    )
