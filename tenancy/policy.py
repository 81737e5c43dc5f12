"""Every authorization rule of SPEC §2 and §4, in one place.

Visibility and change rules come in their SQL form (``*_visible``, ``*_changeable``),
applied by ``tenancy.scoping`` so that filtering, counting and sorting happen in the
database; the decisions of the use-cases are plain predicates on rows the caller can
already see (``may_change_*``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from db.models import class_table, customer_table, event_table, token_table
from tenancy.errors import Forbidden
from tenancy.principal import Principal, Role

Row = Any  # a SQLAlchemy Row or mapping with the table's columns
Clause = ColumnElement[bool]
ClauseOf = Callable[[Principal, sa.FromClause], Clause]


def require_administrator(principal: Principal, what: str) -> None:
    """Role-level refusal (top-level FORBIDDEN), decided before any ID is resolved."""
    if not principal.is_admin:
        raise Forbidden(f"Only administrators may {what}.")


# --------------------------------------------------------------------------- in SQL
# The SQL form of the rules, one clause per tenant table and command, applied by
# ``tenancy.scoping`` (``visible()`` and ``changeable()``) to the table or alias a
# statement reads. They mirror the per-command row-level security policies of migration
# 0003, which PostgreSQL applies once more underneath.


def classes_visible(principal: Principal, table: sa.FromClause = class_table) -> Clause:
    """Administrators see every class; a reseller its own and the shared administrator ones."""
    if principal.is_admin:
        return sa.true()
    return sa.or_(
        table.c.tenant_id == principal.reseller_id,
        sa.and_(table.c.tenant_id.is_(None), table.c.shared_with_resellers),
    )


def customers_visible(principal: Principal, table: sa.FromClause = customer_table) -> Clause:
    """A reseller sees itself (read-only) and its direct customers, nothing deeper."""
    if principal.is_admin:
        return sa.true()
    return sa.or_(table.c.tenant_id == principal.reseller_id, table.c.id == principal.reseller_id)


def tokens_visible(principal: Principal, table: sa.FromClause = token_table) -> Clause:
    if principal.is_admin:
        return sa.true()
    return table.c.tenant_id == principal.reseller_id


def events_visible(principal: Principal, table: sa.FromClause = event_table) -> Clause:
    if principal.is_admin:
        return sa.true()
    return table.c.tenant_id == principal.reseller_id


def classes_changeable(principal: Principal, table: sa.FromClause = class_table) -> Clause:
    """A reseller changes the classes it manages; shared and administrator ones are
    read-only to it."""
    if principal.is_admin:
        return sa.true()
    return table.c.tenant_id == principal.reseller_id


def customers_changeable(principal: Principal, table: sa.FromClause = customer_table) -> Clause:
    """A reseller changes its direct customers, never its own record (whose parent is
    another; "id <> R" says so for the reader, as the RLS policy does)."""
    if principal.is_admin:
        return sa.true()
    return sa.and_(table.c.tenant_id == principal.reseller_id, table.c.id != principal.reseller_id)


def tokens_changeable(principal: Principal, table: sa.FromClause = token_table) -> Clause:
    """A reseller changes its own RESELLER tokens (an ADMINISTRATOR token in its name
    would make its bearer an administrator)."""
    if principal.is_admin:
        return sa.true()
    return sa.and_(table.c.tenant_id == principal.reseller_id, table.c.role == Role.RESELLER.value)


# Tenant table -> the clause of what the caller may see (SELECT) and change (UPDATE,
# DELETE). Audit events are append-only: no change clause, so nothing changes them.
VISIBLE: dict[str, ClauseOf] = {
    "customer_class": classes_visible,
    "customer": customers_visible,
    "api_token": tokens_visible,
    "audit_event": events_visible,
}
CHANGEABLE: dict[str, ClauseOf] = {
    "customer_class": classes_changeable,
    "customer": customers_changeable,
    "api_token": tokens_changeable,
}


# --------------------------------------------------------------------------- decisions


def may_change_class(principal: Principal, row: Row) -> bool:
    """Resellers change only the classes they manage; shared classes are read-only."""
    return principal.is_admin or row.tenant_id == principal.reseller_id


def may_change_customer(principal: Principal, row: Row) -> bool:
    """Resellers change only their direct customers, never their own record."""
    return principal.is_admin or (
        row.tenant_id is not None and row.tenant_id == principal.reseller_id
    )


def names_reseller(principal: Principal, given: object, own_global_id: str | None) -> bool:
    """No oracles: a reseller naming a reseller is compared with itself without a lookup.

    True when the input (omitted or None included) designates the caller itself.
    """
    return given is None or given == own_global_id


def class_manager_for_new(principal: Principal) -> int | None:
    return None if principal.is_admin else principal.reseller_id


def assignment_problems(
    principal: Principal,
    class_row: Row,
    customer_parent_id: int | None,
    customer_currency: str,
) -> list[str]:
    """SPEC §4 rules 2-4 for assigning a visible class to a changeable customer.

    Returns the codes that apply, in order: NOT_PERMITTED (administrators never assign a
    reseller's class) alone, or any of CURRENCY_MISMATCH and OWNERSHIP_MISMATCH.
    """
    manager = class_row.tenant_id
    if manager is not None and principal.is_admin:
        return ["NOT_PERMITTED"]
    problems = []
    if class_row.currency_code is not None and class_row.currency_code != customer_currency:
        problems.append("CURRENCY_MISMATCH")
    if manager is None:
        if not class_row.shared_with_resellers and customer_parent_id is not None:
            problems.append("OWNERSHIP_MISMATCH")
    elif customer_parent_id != manager:
        problems.append("OWNERSHIP_MISMATCH")
    return problems
