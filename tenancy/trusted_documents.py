"""The registry of trusted documents (issue 10): rows of ``trusted_document``.

Plain storage: what a document must be to be registered (parsed, validated and costed
against the served schema) is the GraphQL layer's business (gql/trusted.py). The table
is platform-wide, not a tenant table; the command line writes it as the administrator
and the table owner (the service role may only read it, db/roles.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.clock import utcnow
from db.models import trusted_document_table as table


@dataclass(frozen=True, slots=True)
class Registration:
    """One document to register: its ID (``sha256:<hex>``), its text, its operation
    names and the requested cost of each operation known at registration (see
    gql/trusted.py)."""

    id: str
    document: str
    operation_names: list[str | None]
    requested_costs: dict[str, Any]


async def register(conn: AsyncConnection, registrations: Iterable[Registration]) -> int:
    """Insert the documents not yet registered (an ID names one exact text, so a
    registered one is left as it is); how many were new."""
    wanted = {r.id: r for r in registrations}
    if not wanted:
        return 0
    present = set(
        (await conn.execute(sa.select(table.c.id).where(table.c.id.in_(list(wanted))))).scalars()
    )
    now = utcnow()
    new = [
        {
            "id": r.id,
            "document": r.document,
            "operation_names": r.operation_names,
            "requested_costs": r.requested_costs,
            "created_at": now,
        }
        for key, r in wanted.items()
        if key not in present
    ]
    if new:
        await conn.execute(table.insert(), new)
    return len(new)


async def listed(conn: AsyncConnection) -> Sequence[Any]:
    """Every registered document, oldest first."""
    statement = sa.select(table).order_by(table.c.created_at, table.c.id)
    return (await conn.execute(statement)).all()


async def find(conn: AsyncConnection, document_id: str) -> Any | None:
    """The registered document with this ID, or None."""
    statement = sa.select(table).where(table.c.id == document_id)
    return (await conn.execute(statement)).first()


async def remove(conn: AsyncConnection, ids: Sequence[str]) -> list[str]:
    """Remove the documents with these IDs; the IDs that were not registered (then
    nothing is removed: the caller rolls back)."""
    present = set((await conn.execute(sa.select(table.c.id).where(table.c.id.in_(ids)))).scalars())
    missing = [i for i in ids if i not in present]
    if not missing:
        await conn.execute(table.delete().where(table.c.id.in_(ids)))
    return missing
