"""What a class change does (issue 11): the leaves that change, and the customers whose
effective settings change with them.

A customer experiences its class's tabs with its overrides applied (SPEC §4,
``customers.effective_settings``), so a change of the tabs reaches every customer of the
class except those whose overrides cover every changed leaf; a change of the header
(name, description, sender, sharing) reaches no customer's effective settings. That
rule is one SQL condition on the customer table (``ClassImpact.affecting``), so the
count, the page of customers and the per-reseller counts are each one statement, and
only customers the caller may see are counted (``visible``): the impact is no oracle.

Impacts are computed inside the mutation's transaction, after its write: on a dry run
that is the would-be state, before ``gql.mutation`` rolls the savepoint back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import customer_table
from tenancy import class_rows, customers, maxima, pagination, policy
from tenancy.customer_classes import ClassChange
from tenancy.principal import Principal
from tenancy.scoping import visible


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One leaf of a class that changes: its dotted path (as in the audit trail) and its
    values before and after (references as global IDs)."""

    path: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class ClassImpact:
    """A class change, ready to be asked about its customers (``affected_*``)."""

    class_key: int
    changes: list[FieldChange]
    # Which customers of the class the change reaches; None: none (nothing of the tabs
    # changed, or the class is new and has no customers yet).
    affecting: sa.ColumnElement[bool] | None


def _overridden(path: str) -> sa.ColumnElement[bool] | None:
    """SQL for "the customer's override replaces the leaf ``path``"; None when no
    override can replace it."""
    c = customer_table.c
    for column, overridden_path in customers.OVERRIDES.values():
        if path == overridden_path:
            return c[column].is_not(None)
    for flag, _column, overridden_path in customers.TEMPLATE_OVERRIDES.values():
        if path == overridden_path:
            return c[flag].is_(True)
    return None


def _affecting(key: int, tab_paths: list[str]) -> sa.ColumnElement[bool] | None:
    if not tab_paths:
        return None
    of_class = customer_table.c.customer_class_id == key
    covers = [_overridden(path) for path in tab_paths]
    reached = [sa.not_(clause) for clause in covers if clause is not None]
    if len(reached) < len(covers):  # a leaf no override replaces: every customer
        return of_class
    return sa.and_(of_class, sa.or_(*reached))


def class_change_impact(change: ClassChange) -> ClassImpact:
    """The impact of ``change`` (no query: the customers are read by ``affected_*``).

    ``changes`` are the audit trail's: every leaf that differs, sorted by path; for a
    new class every leaf, ``before`` null. A class changing nothing has none."""
    after = class_rows.snapshot(change.after)
    if change.before is None:
        changed = class_rows.created(after)
        affecting = None  # nobody uses a class created by this very mutation
    else:
        changed = class_rows.diff(class_rows.snapshot(change.before), after)
        tab_paths = [p for p in changed if p.split(".", 1)[0] in class_rows.TAB_ROOTS]
        affecting = _affecting(change.after.id, tab_paths)
    return ClassImpact(
        class_key=change.after.id,
        changes=[FieldChange(p, v["before"], v["after"]) for p, v in sorted(changed.items())],
        affecting=affecting,
    )


async def affected_count(conn: AsyncConnection, principal: Principal, impact: ClassImpact) -> int:
    """How many customers the caller may see the change reaches. No lock, no event."""
    if impact.affecting is None:
        return 0
    statement = sa.select(sa.func.count()).select_from(customer_table).where(impact.affecting)
    return int((await conn.execute(visible(statement, principal))).scalar_one())


def _mark(impact: ClassImpact) -> str:
    # A cursor is valid for the impacts of changes to the same class.
    return pagination.order_mark(
        "Customer",
        "NAME",
        "ASC",
        pagination.fingerprint("ClassChangeImpact.affectedCustomers", {"class": impact.class_key}),
    )


async def affected_customers(
    conn: AsyncConnection,
    principal: Principal,
    impact: ClassImpact,
    *,
    first: int,
    after: str | None,
) -> pagination.Page:
    """One keyset page (by name, then id) of the customers the caller may see that the
    change reaches; a cursor of another listing is BAD_USER_INPUT. No lock, no event."""
    mark = _mark(impact)
    if impact.affecting is None:
        if after is not None:
            pagination.decode_cursor(after, mark, str)  # a foreign cursor is still refused
        return pagination.Page(rows=[], cursors=[], has_next=False, has_previous=after is not None)
    sort = customer_table.c.name_key
    statement = (
        sa.select(customer_table).add_columns(sort.label("sort_value")).where(impact.affecting)
    )
    return await pagination.keyset_page(
        conn,
        visible(statement, principal),
        sort=sort,
        key=customer_table.c.id,
        sort_attr="sort_value",
        mark=mark,
        value_type=str,
        ascending=True,
        first=first,
        after=after,
    )


async def affected_by_reseller(
    conn: AsyncConnection, principal: Principal, impact: ClassImpact
) -> list[tuple[int | None, int]] | None:
    """Administrators only (None for resellers, ``policy.sees_impact_by_reseller``): the
    reached customers counted per parent (None: the administrator's direct customers),
    most first, then by parent (direct customers first), at most ``maxima.RESELLER_IMPACTS``."""
    if not policy.sees_impact_by_reseller(principal):
        return None
    if impact.affecting is None:
        return []
    parent = customer_table.c.tenant_id
    count = sa.func.count().label("customers")
    statement = (
        sa.select(parent, count)
        .where(impact.affecting)
        .group_by(parent)
        .order_by(count.desc(), sa.nulls_first(parent.asc()))
        .limit(maxima.RESELLER_IMPACTS)
    )
    rows = await conn.execute(visible(statement, principal))
    return [(row[0], int(row[1])) for row in rows]
