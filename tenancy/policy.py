"""Every authorization rule of SPEC §2, §4 and §7, in one place: where rule X is enforced.

Three kinds of function live here, and nowhere else:

- **SQL clauses** (``*_visible``, ``*_changeable``, collected in ``VISIBLE`` and
  ``CHANGEABLE``), applied by ``tenancy.scoping`` to every statement that reads a tenant
  table, so that filtering, counting and sorting happen in the database. They mirror the
  per-command row-level security policies of migration 0003, which PostgreSQL applies once
  more underneath (as the service role of ``db/roles.py``, which cannot switch them off).
- **Decisions** on rows the caller can already see, or on what an input asks for
  (``may_*``, ``*_denials``, ``*_for_new``, ...): plain functions of the principal.
- **Refusals**: ``deny`` is the one place a ``NOT_PERMITTED`` userError is produced and
  ``_forbidden`` the one place a top-level ``FORBIDDEN`` is (SPEC §2 "Refusal tiers"). A
  rule about what an input asks for returns its ``Denial`` (the field and the message);
  a rule about an object is a predicate, and the use-case words the ``Denial`` for the
  input path that named the object.

Index: each rule of SPEC §2 (and §4, §7), the functions deciding it and the row-level
security policy of ``db/migrations/versions/0003_rls_per_command.py`` that enforces it
once more in PostgreSQL (``catalog`` stands for each of its CATALOG_TABLES).
``tests/test_policy_index.py`` checks that every name here exists (functions here, RLS
policies in the migration) and that every public function of this module is listed.

======================== ======================================== ================================
SPEC rule                Function(s)                              RLS policy
======================== ======================================== ================================
§2 see classes           ``classes_visible``                      ``customer_class_select``
§2 create class          ``class_manager_for_new``,               ``customer_class_insert``
                         ``class_request_denials``
§2 edit / delete class   ``classes_changeable``,                  ``customer_class_update``,
                         ``may_change_class``                     ``customer_class_delete``
§2 clone class           ``clone_manager``                        ``customer_class_insert``
§2 share / unshare       ``require_administrator``                ``customer_class_update``
§2 see customers         ``customers_visible``                    ``customer_select``
§2 create customer       ``customer_request_denials``             ``customer_insert``
§2 assign a class, edit  ``customers_changeable``,                ``customer_update``
overrides; §4 rule 1     ``may_change_customer``,
                         ``is_own_record``,
                         ``customer_change_denials``
§4 rules 2-4             ``may_assign_class``,                    ``customer_update``
                         ``assignment_problems``
§2 catalogs              ``require_administrator``                ``catalog_select``,
                                                                  ``catalog_insert``,
                                                                  ``catalog_update``,
                                                                  ``catalog_delete``
§2 audit events          ``events_visible``, ``actor_token_name`` ``audit_event_select``,
                                                                  ``audit_event_insert``
§2 class history         ``classes_visible``,                     ``audit_event_select`` (as
(issue 11)               ``history_changes``,                     migration 0007 amends it)
                         ``actor_token_name``
§2 API tokens            ``tokens_visible``,                      ``api_token_select``,
                         ``tokens_changeable``,                   ``api_token_insert``,
                         ``token_request_denials``,               ``api_token_update``,
                         ``token_owner``                          ``api_token_delete``
§2 Tokens: expiry        ``token_expiry_ceiling``,                ``api_token_insert``
ceiling, 20 unrevoked    ``command_line_token_expiry_ceiling``,
                         ``limits_unrevoked_tokens``
§2 Hidden = nonexistent  ``sees_everything``,                     (every *_select)
                         ``reachable_reseller``, ``hides_shared``
§2 No oracles            ``names_reseller``,                      (none: decided before SQL)
                         ``resolves_named_reseller``,
                         ``actor_token_name``,
                         ``sees_impact_by_reseller``
§2 Refusal tiers         ``deny``, ``require_administrator``,     (none)
                         ``metrics_refusal``
§7 metrics are not       ``metrics_refusal``                      (none)
public
§7 trusted documents     ``document_must_be_registered``          (none: decided before SQL)
Issue 11 classes as      ``class_scope_denials``,                 ``customer_class_insert``,
code: a reseller's       ``export_scope_refusal``                 ``customer_class_update``,
documents are of its                                              ``customer_class_delete``
own classes
Issue 12 webhook         ``subscriptions_visible``,               ``webhook_subscription_select``,
subscriptions            ``subscriptions_changeable``,            ``webhook_subscription_insert``,
                         ``subscription_owner``                   ``webhook_subscription_update``,
                                                                  ``webhook_subscription_delete``
Issue 12 deliveries      ``deliveries_visible``,                  ``webhook_delivery_select``,
                         ``deliveries_changeable``                ``webhook_delivery_update``,
                                                                  ``webhook_delivery_delete``,
                                                                  ``webhook_delivery_insert``
Issue 12 outbox: who     ``outbox_visible``,                      ``webhook_event_select``,
hears of a change        ``outbox_changeable``,                   ``webhook_event_insert``,
                         ``receives_event``,                      ``webhook_event_update``,
                         ``actor_token_name``                     ``webhook_event_delete``
§7 the database net      ``VISIBLE``, ``CHANGEABLE``, (and the    ``customer_delete`` (customers
covers writes            role split of db/roles.py: audit events  are never deleted), and every
                         append-only)                             *_insert, *_update, *_delete
======================== ======================================== ================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from db.models import (
    class_table,
    customer_table,
    delivery_table,
    event_table,
    subscription_table,
    tenant_is,
    token_table,
    webhook_event_table,
)
from tenancy.errors import ErrorList, Forbidden, Path
from tenancy.errors import UserErrorCode as Code
from tenancy.principal import Principal, Role

Clause = ColumnElement[bool]
ClauseOf = Callable[[Principal, sa.FromClause], Clause]

# SPEC §2 "Tokens": a token without expiry counts as expiring this long from now when it
# creates another.
IMPLICIT_LIFETIME = timedelta(days=90)


# --------------------------------------------------------------------------- rows
# The columns the decisions read (a SQLAlchemy Row of the table has them all).


class ClassRow(Protocol):
    @property
    def tenant_id(self) -> int | None: ...  # the managing reseller; None: administrator
    @property
    def currency_code(self) -> str | None: ...
    @property
    def shared_with_resellers(self) -> bool: ...


class CustomerRow(Protocol):
    @property
    def tenant_id(self) -> int | None: ...  # the parent; None: a direct customer


class EventRow(Protocol):
    @property
    def actor_reseller_id(self) -> int | None: ...
    @property
    def actor_token_name(self) -> str: ...


class HistoryEventRow(Protocol):
    @property
    def tenant_id(self) -> int | None: ...  # the class's manager; None: administrator
    @property
    def changes(self) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- refusals


@dataclass(frozen=True, slots=True)
class Denial:
    """A caller who may see what it names but not ask for it: NOT_PERMITTED on
    ``("input", *field)``."""

    field: Path
    message: str


def deny(errors: ErrorList, denials: Iterable[Denial]) -> None:
    """Add each denial to ``errors``: the one place a NOT_PERMITTED userError is made."""
    for denial in denials:
        errors.add(Code.NOT_PERMITTED, denial.field, denial.message)


def _forbidden(message: str) -> Forbidden:
    """The one place a top-level FORBIDDEN is made."""
    return Forbidden(message)


def require_administrator(principal: Principal, what: str) -> None:
    """Role-level refusal (top-level FORBIDDEN), decided before any ID is resolved."""
    if not principal.is_admin:
        raise _forbidden(f"Only administrators may {what}.")


def metrics_refusal(principal: Principal) -> Forbidden | None:
    """SPEC §7 "Metrics are not public": only administrator tokens read ``/metrics``."""
    if principal.is_admin:
        return None
    return _forbidden("Only administrator tokens may read /metrics.")


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
        sa.and_(tenant_is(table.c.tenant_id, None), table.c.shared_with_resellers),
    )


def customers_visible(principal: Principal, table: sa.FromClause = customer_table) -> Clause:
    """A reseller sees itself (read-only) and its direct customers, nothing deeper."""
    if principal.is_admin:
        return sa.true()
    return sa.or_(table.c.tenant_id == principal.reseller_id, table.c.id == principal.reseller_id)


def tokens_visible(principal: Principal, table: sa.FromClause = token_table) -> Clause:
    """A reseller sees its own tokens (of any role, though it only makes RESELLER ones)."""
    if principal.is_admin:
        return sa.true()
    return table.c.tenant_id == principal.reseller_id


def events_visible(principal: Principal, table: sa.FromClause = event_table) -> Clause:
    """A reseller sees the events whose tenant is itself."""
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


def subscriptions_visible(
    principal: Principal, table: sa.FromClause = subscription_table
) -> Clause:
    """Issue 12: administrators see every webhook subscription, a reseller its own."""
    if principal.is_admin:
        return sa.true()
    return table.c.tenant_id == principal.reseller_id


def subscriptions_changeable(
    principal: Principal, table: sa.FromClause = subscription_table
) -> Clause:
    """A reseller changes its own subscriptions; administrators any."""
    return subscriptions_visible(principal, table)


def deliveries_visible(principal: Principal, table: sa.FromClause = delivery_table) -> Clause:
    """A delivery belongs to its subscription's tenant."""
    if principal.is_admin:
        return sa.true()
    return table.c.tenant_id == principal.reseller_id


def deliveries_changeable(principal: Principal, table: sa.FromClause = delivery_table) -> Clause:
    """A reseller redelivers (and, deleting a subscription, deletes) its own deliveries."""
    return deliveries_visible(principal, table)


def outbox_visible(principal: Principal, table: sa.FromClause = webhook_event_table) -> Clause:
    """Outbox rows are read by the dispatcher (an administrator context); a reseller's
    transaction could only ever see its own tenant's."""
    if principal.is_admin:
        return sa.true()
    return table.c.tenant_id == principal.reseller_id


def outbox_changeable(principal: Principal, table: sa.FromClause = webhook_event_table) -> Clause:
    """Only the dispatcher (administrator context) marks outbox rows fanned out."""
    return sa.true() if principal.is_admin else sa.false()


# Tenant table -> the clause of what the caller may see (SELECT) and change (UPDATE,
# DELETE). Audit events are append-only: no change clause, so nothing changes them.
VISIBLE: dict[str, ClauseOf] = {
    "customer_class": classes_visible,
    "customer": customers_visible,
    "api_token": tokens_visible,
    "audit_event": events_visible,
    "webhook_subscription": subscriptions_visible,
    "webhook_delivery": deliveries_visible,
    "webhook_event": outbox_visible,
}
CHANGEABLE: dict[str, ClauseOf] = {
    "customer_class": classes_changeable,
    "customer": customers_changeable,
    "api_token": tokens_changeable,
    "webhook_subscription": subscriptions_changeable,
    "webhook_delivery": deliveries_changeable,
    "webhook_event": outbox_changeable,
}


# --------------------------------------------------------------------------- visibility


def sees_everything(principal: Principal) -> bool:
    """Administrators see every row of every tenant table: a filter needs no visibility
    check of its own for them."""
    return principal.is_admin


def sees_impact_by_reseller(principal: Principal) -> bool:
    """A change's impact counted per reseller (issue 11) is for administrators: to a
    reseller every customer it sees is its own, and a breakdown of a shared class's
    customers by reseller is exactly what it must not learn (null, not refused)."""
    return principal.is_admin


def reachable_reseller(principal: Principal, key: int | None) -> int | None:
    """The reseller a list filter may name: a reseller's filter never reaches another
    tenant (any ID but its own matches nothing, None)."""
    if principal.is_admin or key == principal.reseller_id:
        return key
    return None


def hides_shared(principal: Principal, include_shared: object) -> bool:
    """``includeShared: false`` leaves a reseller the classes it manages (to an
    administrator every class is its own to see: the filter means nothing)."""
    return not principal.is_admin and include_shared is False


def actor_token_name(event: EventRow, viewer_reseller: int | None) -> str:
    """No oracles: in events a reseller sees but did not cause, the actor is anonymous."""
    own = viewer_reseller is None or event.actor_reseller_id == viewer_reseller
    return event.actor_token_name if own else "administrator"


def history_changes(event: HistoryEventRow, viewer_reseller: int | None) -> dict[str, Any]:
    """A class's history shows its events' changes as the audit trail records them, with
    one more mask for a reseller reading a shared administrator class's history (events
    of no tenant, which ``auditEvents`` never shows it): the source of a CLONE is null,
    since it may be a class the reseller cannot see (SPEC §2 "Hidden = nonexistent").
    The actor is masked by ``actor_token_name``, as in the audit trail."""
    changes: dict[str, Any] = event.changes
    if viewer_reseller is None or event.tenant_id == viewer_reseller:
        return changes
    if "clonedFrom" in changes:
        changes = {**changes, "clonedFrom": {"before": None, "after": None}}
    return changes


# --------------------------------------------------------------------------- inputs


def names_reseller(principal: Principal, given: object, own_global_id: str | None) -> bool:
    """No oracles: a reseller naming a reseller is compared with itself without a lookup.

    True when the input (omitted or None included) designates the caller itself.
    """
    return given is None or given == own_global_id


def resolves_named_reseller(principal: Principal, given: object) -> bool:
    """No oracles: only an administrator's input naming a reseller (``resellerId``,
    ``managingResellerId``, ``parentId``) is looked up."""
    return principal.is_admin and given is not None


def token_request_denials(
    principal: Principal, role: str, given_reseller: object, own_global_id: str | None
) -> list[Denial]:
    """A reseller creates only RESELLER tokens, only for itself."""
    if principal.is_admin:
        return []
    denials = []
    if role == Role.ADMINISTRATOR:
        denials.append(Denial(("role",), "Resellers create RESELLER tokens only."))
    if not names_reseller(principal, given_reseller, own_global_id):
        denials.append(Denial(("resellerId",), "Resellers create tokens for themselves."))
    return denials


def class_request_denials(
    principal: Principal, given_manager: object, shared: object, own_global_id: str | None
) -> list[Denial]:
    """A reseller creates only classes it manages itself, and never shares one."""
    if principal.is_admin:
        return []
    denials = []
    if not names_reseller(principal, given_manager, own_global_id):
        denials.append(
            Denial(("managingResellerId",), "Resellers create classes that they manage themselves.")
        )
    if shared:
        denials.append(
            Denial(("sharedWithResellers",), "Only administrators share classes with resellers.")
        )
    return denials


def customer_request_denials(
    principal: Principal, given_parent: object, own_global_id: str | None
) -> list[Denial]:
    """A reseller creates customers only with itself as parent."""
    if principal.is_admin or names_reseller(principal, given_parent, own_global_id):
        return []
    return [Denial(("parentId",), "Resellers create their own customers.")]


def class_scope_denials(
    principal: Principal, managed_by: object, given_reseller: object, own_global_id: str | None
) -> list[Denial]:
    """Classes as code: a reseller's document holds the classes it manages itself
    (``managedBy`` RESELLER, ``managingResellerId`` omitted or its own, compared without
    a lookup); shared administrator classes appear in it only as read-only references."""
    if principal.is_admin:
        return []
    denials = []
    if managed_by != "RESELLER":
        denials.append(
            Denial(("document", "managedBy"), "Resellers apply documents of their own classes.")
        )
    if not names_reseller(principal, given_reseller, own_global_id):
        denials.append(
            Denial(
                ("document", "managingResellerId"),
                "Resellers apply documents of their own classes.",
            )
        )
    return denials


def export_scope_refusal(
    principal: Principal, managed_by: object, given_reseller: object, own_global_id: str | None
) -> Forbidden | None:
    """Classes as code: a reseller exports only its own classes (``managedBy`` RESELLER
    or omitted, ``managingResellerId`` omitted or its own: the same rule as
    ``class_scope_denials``, as a top-level FORBIDDEN since a query has no userErrors)."""
    if class_scope_denials(principal, managed_by or "RESELLER", given_reseller, own_global_id):
        return _forbidden("Resellers export only the classes they manage.")
    return None


# --------------------------------------------------------------------------- owners


def class_manager_for_new(principal: Principal) -> int | None:
    """A reseller's new class is its own; an administrator's is its own (None) unless the
    input names a reseller."""
    return None if principal.is_admin else principal.reseller_id


def clone_manager(principal: Principal, source: ClassRow) -> int | None:
    """Administrators' copies keep the source's manager; a reseller's copy is its own."""
    return source.tenant_id if principal.is_admin else principal.reseller_id


def token_owner(principal: Principal, named_reseller: int | None) -> int | None:
    """A reseller's token is its own; an administrator's belongs to the reseller the input
    names, or to the administrator (None)."""
    return named_reseller if principal.is_admin else principal.reseller_id


def subscription_owner(principal: Principal) -> int | None:
    """Issue 12: a webhook subscription belongs to the caller's tenant (the reseller, or
    the administrator: None)."""
    return principal.reseller_id


def receives_event(
    subscription_tenant: int | None, event_tenant: int | None, shared_class: bool
) -> bool:
    """Issue 12: an administrator's subscription hears of every change; a reseller R's
    only of what R may see: changes whose tenant is R (its classes, customers, tokens:
    what ``auditEvents`` shows it) and changes of administrator classes shared with the
    resellers before or after the change (``shared_class``), never another tenant's."""
    if subscription_tenant is None:
        return True
    if event_tenant is None:
        return shared_class
    return event_tenant == subscription_tenant


def token_expiry_ceiling(principal: Principal, now: datetime) -> datetime | None:
    """The latest expiry a new token may have: for a reseller, the expiry of the token
    creating it (90 days from now when it has none); administrators have no ceiling and
    need no expiry."""
    if principal.is_admin:
        return None
    return principal.token_expires_at or now + IMPLICIT_LIFETIME


def command_line_token_expiry_ceiling(role: str, now: datetime) -> datetime | None:
    """A RESELLER token made on the command line expires, by default and at the latest,
    when a reseller's own new token may (its creating token counted as expiring
    ``IMPLICIT_LIFETIME`` from now); an ADMINISTRATOR token needs no expiry."""
    return now + IMPLICIT_LIFETIME if role == Role.RESELLER else None


def limits_unrevoked_tokens(principal: Principal) -> bool:
    """Resellers hold at most ``maxima.UNREVOKED_RESELLER_TOKENS`` unrevoked tokens."""
    return not principal.is_admin


# --------------------------------------------------------------------------- objects


def may_change_class(principal: Principal, row: ClassRow) -> bool:
    """Resellers change only the classes they manage; shared classes are read-only."""
    return principal.is_admin or row.tenant_id == principal.reseller_id


def is_own_record(principal: Principal, customer_key: int | None) -> bool:
    """A reseller's own customer record: visible to it, but read-only."""
    return not principal.is_admin and customer_key == principal.reseller_id


def may_change_customer(principal: Principal, row: CustomerRow) -> bool:
    """Resellers change only their direct customers, never their own record."""
    return principal.is_admin or (
        row.tenant_id is not None and row.tenant_id == principal.reseller_id
    )


def customer_change_denials(principal: Principal, row: CustomerRow) -> list[Denial]:
    """Assigning a class or overriding settings on a customer the caller may not change
    (to a reseller, its own record) names it in ``customerId``."""
    if may_change_customer(principal, row):
        return []
    return [Denial(("customerId",), "Your own record is read-only.")]


def may_assign_class(principal: Principal, class_row: ClassRow) -> bool:
    """SPEC §4 rule 4: administrators never assign a reseller's class, only that
    reseller does."""
    return class_row.tenant_id is None or not principal.is_admin


def assignment_problems(
    principal: Principal,
    class_row: ClassRow,
    customer_parent_id: int | None,
    customer_currency: str,
) -> list[Code]:
    """SPEC §4 rules 2-4 for assigning a visible class to a changeable customer.

    Returns the codes that apply, in order: NOT_PERMITTED (rule 4, ``may_assign_class``,
    which the use-cases check first) alone, or any of CURRENCY_MISMATCH and
    OWNERSHIP_MISMATCH.
    """
    if not may_assign_class(principal, class_row):
        return [Code.NOT_PERMITTED]
    manager = class_row.tenant_id
    problems = []
    if class_row.currency_code is not None and class_row.currency_code != customer_currency:
        problems.append(Code.CURRENCY_MISMATCH)
    if manager is None:
        if not class_row.shared_with_resellers and customer_parent_id is not None:
            problems.append(Code.OWNERSHIP_MISMATCH)
    elif customer_parent_id != manager:
        problems.append(Code.OWNERSHIP_MISMATCH)
    return problems


def document_must_be_registered(principal: Principal, mode: str) -> bool:
    """Issue 10 (BILLCLASS_DOCUMENTS): whether the caller may run only registered
    (trusted) documents, its ad-hoc queries refused with PERSISTED_DOCUMENT_REQUIRED:
    every caller in mode ``trusted``, resellers in ``trusted-for-resellers``, nobody in
    ``open``."""
    if mode == "trusted":
        return True
    return mode == "trusted-for-resellers" and not principal.is_admin
