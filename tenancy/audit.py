"""The audit log: one event per successful change, written in the change's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.clock import utcnow
from db.ids import new_id
from db.models import event_table
from tenancy import fields, pagination, webhooks
from tenancy.ids import to_global_id
from tenancy.principal import Principal
from tenancy.scoping import visible

# Set by the HTTP layer for each request, so events can be tied to the request log line.
request_id: ContextVar[str | None] = ContextVar("billclass_request_id", default=None)


async def record(
    conn: AsyncConnection,
    *,
    principal: Principal,
    action: str,
    object_type: str,
    object_key: int,
    tenant_id: int | None,
    changes: dict[str, Any],
    subject: Any = None,
) -> None:
    """Write one event. ``tenant_id`` is the tenant of the object at write time (the
    managing reseller of a class, the parent of a customer, the reseller of a token).
    The change's outbox row for webhooks (``tenancy.webhooks.record_change``) is written
    with it, in the same transaction; ``subject`` is the changed class's row, for the
    version its change event carries."""
    at = utcnow()
    object_id = to_global_id(object_type, object_key)
    await conn.execute(
        event_table.insert().values(
            id=new_id(),
            tenant_id=tenant_id,
            at=at,
            action=action,
            actor_role=principal.role.value,
            actor_token_name=principal.token_name,
            actor_reseller_id=principal.reseller_id,
            object_id=object_id,
            object_type=object_type,
            changes=changes,
            request_id=request_id.get(),
        )
    )
    await webhooks.record_change(
        conn,
        principal=principal,
        action=action,
        object_type=object_type,
        object_key=object_key,
        object_id=object_id,
        tenant_id=tenant_id,
        changes=changes,
        at=at,
        subject=subject,
    )


def _event_clauses(object_id: str | None) -> list[Any]:
    clauses: list[Any] = []
    if object_id is not None:
        # Events name objects by canonical global ID, of any type: anything else is
        # BAD_USER_INPUT, and arbitrary client text never reaches SQL.
        clauses.append(event_table.c.object_id == fields.filter_global_id(object_id, ("objectId",)))
    return clauses


# auditEvents(orderBy:) fields: the sort expression and the type a cursor carries.
SORTS: dict[str, tuple[Any, type]] = {"AT": (event_table.c.at, datetime)}


async def list_events(
    conn: AsyncConnection,
    principal: Principal,
    *,
    order_field: str = "AT",
    direction: str = "DESC",
    first: int,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    object_id: str | None,
) -> pagination.Page:
    """One keyset page of the events the caller may see (administrators all, a reseller
    those whose tenant is itself), sorted by ``order_field`` (AT) in ``direction`` (DESC:
    newest first), then id; forwards from ``after``, or backwards when ``last``/``before``
    is given; optionally of one object (an ``object_id`` that is no canonical global ID is
    BAD_USER_INPUT). A cursor of another order or object is BAD_USER_INPUT. No lock, no
    event.
    """
    sort, value_type = SORTS[order_field]
    statement = (
        sa.select(event_table)
        .add_columns(sort.label("sort_value"))
        .where(*_event_clauses(object_id))
    )
    return await pagination.keyset_page(
        conn,
        visible(statement, principal),
        sort=sort,
        key=event_table.c.id,
        sort_attr="sort_value",
        mark=pagination.order_mark(
            "AuditEvent",
            order_field,
            direction,
            pagination.fingerprint("auditEvents", {"objectId": object_id}),
            unchanged_default=("AT", "DESC"),
        ),
        value_type=value_type,
        ascending=direction == "ASC",
        first=first,
        after=after,
        last=last,
        before=before,
    )


async def count_events(conn: AsyncConnection, principal: Principal, object_id: str | None) -> int:
    """How many events the caller may see (of one object, if given). No lock, no event."""
    statement = sa.select(sa.func.count()).select_from(event_table)
    statement = statement.where(*_event_clauses(object_id))
    return int((await conn.execute(visible(statement, principal))).scalar_one())


async def visible_events(
    conn: AsyncConnection, principal: Principal, keys: Sequence[int]
) -> dict[int, Any]:
    """The events among ``keys`` the caller may see, by key (hidden ones are absent). No
    lock, no event.
    """
    if not keys:
        return {}
    statement = sa.select(event_table).where(event_table.c.id.in_(list(set(keys))))
    return {row.id: row for row in await conn.execute(visible(statement, principal))}
