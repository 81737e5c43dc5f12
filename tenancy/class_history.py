"""Versions of a customer class, rebuilt from the audit trail (issue 11): no second store.

Every change of a class writes exactly one audit event in the transaction that bumps its
version (``customer_classes._save_change``; CREATE and CLONE write version 1), so the
class's events, oldest first, are its versions. Events do not record the version number
itself; it is counted from the class's first event (``version_number``): a CREATE or
CLONE is version 1, the next event version 2, and so on. A class whose first event is
neither is the Default class, whose version 1 was seeded by migration 0001 without an
event: its first event is version 2, and version 1 is the state before it. Counting from
the oldest event, which never changes, keeps the numbers of a page stable while other
transactions add versions (PostgreSQL reads committed data per statement); counting back
from the class's current version would need both read in one snapshot.

The settings at a version are rebuilt *backwards* from the current row: the ``before``
value of every path each newer event changed is put back, newest first. Every event
records the before and after value of each leaf it changed (CREATE and CLONE every leaf,
with before null), so this reaches every tab field of every version back to the oldest
event, including version 1 of a class that has no CREATE event (the Default class) and
paths added to the document after the class was created (they keep their current value).
Replaying the changes forwards from the CREATE event gives the same leaves where there
is one (tests/api/test_class_revert.py checks both ways).

Who sees a class's history: whoever sees the class (``policy.classes_visible``), resellers
included for shared administrator classes, whose events belong to no tenant. Reading
them is the bypass ``Bypass.HISTORY_OF_VISIBLE_CLASS`` (the class is read with
``visible()`` first, in the same function); on PostgreSQL the SELECT policy
``audit_event_select`` (as migration 0007 amends it) allows exactly those events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import class_table, event_table
from tenancy import class_rows, pagination
from tenancy.ids import to_global_id
from tenancy.principal import Principal
from tenancy.scoping import Bypass, open_bypass, unscoped, visible

TYPE = class_rows.TYPE

# Paths of an event's changes that are notes about the change, not fields of the class.
NOTES = frozenset({"clonedFrom", "revertedToVersion"})
# Paths a revert never changes: the name (the class's identity, which classes as code
# key it by; renaming stays updateCustomerClass's, TAKEN when not free), what is fixed
# at creation (manager, business model, currency) and sharing (setCustomerClassSharing,
# with its own rules and audit action).
NOT_REVERTED = frozenset(
    {"name", "managingReseller", "businessModel", "currency", "sharedWithResellers"}
)
# Output names of references (as the audit trail writes them) -> their input names.
_INPUT_KEYS = {
    "invoiceTemplate": "invoiceTemplateId",
    "notificationSet": "notificationSetId",
    "customTaxes": "customTaxIds",
    "customFields": "customFieldIds",
}


def history_mark(class_key: int) -> str:
    """The mark of one class's history cursors: a cursor of another class is refused."""
    return pagination.order_mark(
        "CustomerClassVersion",
        "AT",
        "DESC",
        pagination.fingerprint("CustomerClass.history", {"id": class_key}),
    )


def decode_history_cursor(class_key: int, cursor: str) -> tuple[datetime, int]:
    """The (at, event key) a history cursor of this class points at; BAD_USER_INPUT for
    anything else (another class's cursor included)."""
    value, key = pagination.decode_cursor(cursor, history_mark(class_key), datetime)
    return value, key


# The actions that make version 1 of a class.
CREATING_ACTIONS = frozenset({"CREATE", "CLONE"})


def version_number(ordinal: int, first_action: str) -> int:
    """The version an event made: its position among the class's events (from 1, oldest
    first), shifted by one when the first event is not the class's creation (the Default
    class, installed at version 1 without an event)."""
    return ordinal if first_action in CREATING_ACTIONS else ordinal + 1


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a class: its number and the audit event that made it."""

    version: int
    event: Any  # an audit_event row


@dataclass(frozen=True, slots=True)
class HistoryPage:
    versions: list[Version]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    total: int | None  # versions with an event; None when the page is empty


async def _visible_keys(
    conn: AsyncConnection, principal: Principal, keys: Iterable[int]
) -> list[int]:
    """The classes among ``keys`` the caller may see: the only keys whose events are read."""
    wanted = list(set(keys))
    if not wanted:
        return []
    c = class_table.c
    statement = visible(sa.select(c.id).where(c.id.in_(wanted)), principal)
    return [row.id for row in await conn.execute(statement)]


def _events_of(gids: Sequence[str]) -> sa.Select[Any]:
    """The events of classes a ``visible()`` read has just returned (see the module
    docstring), with each event's position from the oldest, its class's first action
    and its class's event count."""
    e = event_table.c
    oldest_first = (e.at, e.id)
    ordinal = sa.func.row_number().over(partition_by=e.object_id, order_by=oldest_first)
    first_action = sa.func.first_value(e.action).over(
        partition_by=e.object_id, order_by=oldest_first
    )
    total = sa.func.count().over(partition_by=e.object_id)
    statement = sa.select(
        event_table,
        ordinal.label("ordinal"),
        first_action.label("first_action"),
        total.label("total"),
    ).where(e.object_type == TYPE, e.object_id.in_(list(gids)))
    return unscoped(statement, Bypass.HISTORY_OF_VISIBLE_CLASS)


async def history_pages(
    conn: AsyncConnection,
    principal: Principal,
    class_keys: Sequence[int],
    *,
    first: int,
    after: tuple[datetime, int] | None,
) -> dict[int, HistoryPage]:
    """One page of versions, newest first, for each visible class among ``class_keys``
    (hidden ones are absent), in two statements whatever the number of classes: the
    classes (``visible()``), then their events (window functions number
    each class's events and cut each page). ``after`` is a decoded cursor. No lock, no
    event."""
    keys = await _visible_keys(conn, principal, class_keys)
    if not keys:
        return {}
    gid_keys = {to_global_id(TYPE, key): key for key in keys}
    await open_bypass(conn, principal, Bypass.HISTORY_OF_VISIBLE_CLASS, gid_keys)
    size = max(1, min(first, pagination.MAX_PAGE))
    inner = _events_of(list(gid_keys)).subquery()
    clauses: list[Any] = []
    if after is not None:
        at, key = after
        clauses.append(
            sa.tuple_(inner.c.at, inner.c.id)
            < sa.tuple_(sa.literal(at, inner.c.at.type), sa.literal(key, inner.c.id.type))
        )
    position = sa.func.row_number().over(
        partition_by=inner.c.object_id, order_by=(inner.c.at.desc(), inner.c.id.desc())
    )
    middle = sa.select(inner, position.label("position")).where(*clauses).subquery()
    statement = (
        sa.select(middle)
        .where(middle.c.position <= size + 1)
        .order_by(middle.c.object_id, middle.c.position)
    )
    grouped: dict[int, list[Any]] = {key: [] for key in keys}
    for row in await conn.execute(statement):
        grouped[gid_keys[row.object_id]].append(row)
    pages: dict[int, HistoryPage] = {}
    for key, rows in grouped.items():
        more = len(rows) > size
        rows = rows[:size]
        mark = history_mark(key)
        pages[key] = HistoryPage(
            versions=[Version(version_number(r.ordinal, r.first_action), r) for r in rows],
            cursors=[pagination.encode_cursor(mark, r.at, r.id) for r in rows],
            has_next=more,
            has_previous=after is not None,
            total=rows[0].total if rows else None,
        )
    return pages


async def history_counts(
    conn: AsyncConnection, principal: Principal, class_keys: Sequence[int]
) -> dict[int, int]:
    """How many versions with an event each visible class among ``class_keys`` has (its
    history's totalCount), in two statements. No lock, no event."""
    keys = await _visible_keys(conn, principal, class_keys)
    if not keys:
        return {}
    gid_keys = {to_global_id(TYPE, key): key for key in keys}
    await open_bypass(conn, principal, Bypass.HISTORY_OF_VISIBLE_CLASS, gid_keys)
    e = event_table.c
    statement = (
        sa.select(e.object_id, sa.func.count())
        .where(e.object_type == TYPE, e.object_id.in_(list(gid_keys)))
        .group_by(e.object_id)
    )
    counts = dict.fromkeys(keys, 0)
    rows = await conn.execute(unscoped(statement, Bypass.HISTORY_OF_VISIBLE_CLASS))
    counts.update({gid_keys[row[0]]: row[1] for row in rows})
    return counts


async def versions_of(conn: AsyncConnection, class_row: Any) -> list[Version]:
    """Every version of a class with an event, oldest first. ``class_row`` must come from
    a ``visible()`` read of this transaction (revert reads it locked for change)."""
    statement = _events_of([to_global_id(TYPE, class_row.id)]).order_by(
        event_table.c.at, event_table.c.id
    )
    rows = list(await conn.execute(statement))
    return [Version(version_number(row.ordinal, row.first_action), row) for row in rows]


def state_at(
    current: Mapping[str, Any], versions: Sequence[Version], version: int
) -> dict[str, Any]:
    """The class's snapshot (``class_rows.snapshot`` form) at ``version``: ``current``
    with the before value of every path changed by a newer version put back, newest
    first. Paths the class no longer has are not brought back; notes are skipped."""
    state = dict(current)
    for step in reversed(versions):
        if step.version <= version:
            break
        for path, change in step.event.changes.items():
            if path in state and path not in NOTES:
                state[path] = change["before"]
    return state


def revert_patch(current: Mapping[str, Any], target: Mapping[str, Any]) -> dict[str, Any]:
    """The updateCustomerClass input (without ``id``) that turns the snapshot ``current``
    into ``target``: only what differs, never a path of ``NOT_REVERTED``; references as
    global IDs under their input names; a notification type's channel whole."""
    patch: dict[str, Any] = {}
    channels: dict[str, dict[str, Any]] = {}
    for path in sorted(target):
        if path in NOT_REVERTED or path in NOTES or path not in current:
            continue
        if current[path] == target[path]:
            continue
        parts = path.split(".")
        if parts[:2] == ["notifications", "settings"] and len(parts) == 5:
            kind, channel = parts[2], parts[3]
            prefix = f"notifications.settings.{kind}.{channel}."
            channels.setdefault(kind, {})[channel] = {
                "send": target[prefix + "send"],
                "template": target[prefix + "template"],
            }
            continue
        node = patch
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[_INPUT_KEYS.get(parts[-1], parts[-1])] = target[path]
    if channels:
        patch.setdefault("notifications", {})["settings"] = [
            {"type": kind, **by_channel} for kind, by_channel in channels.items()
        ]
    return patch
