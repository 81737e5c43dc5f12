"""Serialisation of decisions that depend on rows a transaction does not change.

Two kinds of lock, both transaction-scoped (released at COMMIT or ROLLBACK):

- ``lock_class``: a mutation whose decision depends on a customer class takes it
  *exclusive* when it changes the class (update, delete, share, copy settings) and
  *shared* when it only relies on it (assigning it, creating a customer with it,
  validating overrides against it). Many assignments to one class run side by side;
  an update waits for them, and they wait for it. A row lock (``FOR UPDATE`` /
  ``FOR SHARE``) cannot do this on PostgreSQL: row-level security requires the UPDATE
  policy for any row lock, and a reseller may not update the shared classes it assigns
  (SPEC §7), so the lock is a transaction-level advisory lock keyed by the class ID.
- ``serialise``: counted limits (SPEC §7 "Limits that race": unrevoked tokens per
  reseller, tokens per owner, catalog sizes) count and insert under one exclusive lock
  per (limit, owner), so two concurrent requests can never both see room for one more.

SQLite needs neither: every write transaction is ``BEGIN IMMEDIATE``, which already
serialises all writers of the database, so both functions do nothing there.

Waits are bounded by PostgreSQL's ``lock_timeout`` (5 s), which ends in
SERVICE_UNAVAILABLE like any lock wait (SPEC §3).
"""

from __future__ import annotations

from enum import IntEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


class Limit(IntEnum):
    """The counted limits; the value is the first key of the two-key advisory lock (a key
    space distinct from the one-key locks of classes, PostgreSQL keeps them apart)."""

    UNREVOKED_TOKENS = 1
    TOKENS_PER_OWNER = 2
    BUSINESS_MODELS = 3
    INVOICE_TEMPLATES = 4
    NOTIFICATION_SETS = 5
    CUSTOM_FIELD_DEFINITIONS = 6
    CUSTOM_TAXES = 7
    WEBHOOK_SUBSCRIPTIONS = 8
    # Not a count: which webhook dispatcher leads, where they cannot share the queue by
    # row locks (Citus, tenancy.webhooks.lead).
    DISPATCHER_LEAD = 9


_INT32 = 2**31 - 1


async def lock_class(conn: AsyncConnection, key: int, *, shared: bool = False) -> None:
    """Lock customer class ``key`` until the transaction ends (PostgreSQL; see module).

    Take it *before* reading the class: in READ COMMITTED, the next statement then sees
    everything the previous holder committed.
    """
    if conn.dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await conn.execute(sa.text(f"select {function}(:key)"), {"key": key})


async def serialise(conn: AsyncConnection, limit: Limit, owner: int | None) -> None:
    """Hold the lock of ``limit`` for ``owner`` (None: the administrator or a global
    catalog) until the transaction ends. Owners are folded into 31 bits: two owners that
    share a lock only wait for each other, they never see each other's counts."""
    if conn.dialect.name != "postgresql":
        return
    await conn.execute(
        sa.text("select pg_advisory_xact_lock(:limit, :owner)"),
        {"limit": int(limit), "owner": (owner or 0) % _INT32},
    )
