"""Tenant scoping: the only way to run SQL on tenant-owned tables, the guard that enforces
it, and the per-transaction row-level security context.

Every SELECT, UPDATE or DELETE that reads a tenant-owned table (``db.models.TENANT_TABLES``)
is built by one of three helpers, which apply the rule and mark the statement in one step:

- ``visible(select, principal)``: every tenant table or alias the SELECT reads, joined ones
  included, gets the caller's clause of ``policy.VISIBLE`` (what it may see);
- ``changeable(update_or_delete, principal)``: the target gets ``policy.CHANGEABLE`` (what
  the caller may change: the row-level security write policies of migration 0003), any
  other tenant table the statement reads its ``policy.VISIBLE`` clause;
- ``unscoped(statement, reason)``: no clause, for the deliberate bypasses of ``Bypass``,
  listed there and nowhere else.

``install_guard`` is the safety net of SPEC §2 (the only one on SQLite, which has no
row-level security): before the database sees a statement, every SELECT, UPDATE and
DELETE in it (subqueries, CTEs, EXISTS and UNION members included: each needs a helper of
its own) that reads a tenant table must carry a mark that these helpers issued, for that
very table or alias, whose clause is in its WHERE. A table joined after the helper ran, a
mark copied from another statement or a hand-made mark is refused: apply the helper last,
to the finished statement. INSERTs (decided by the use-cases, and by the RLS INSERT
policies) and raw SQL text are not guarded.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from enum import Enum
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.base import _from_objects
from sqlalchemy.sql.elements import ClauseElement, ColumnElement

from db.distribution import is_distributed
from db.models import TENANT_TABLES, tenant_is
from db.transaction_settings import set_local
from tenancy import policy
from tenancy.principal import Principal, Role

# The execution option that carries a statement's mark (a ``_Scope``).
SCOPE = "billclass_tenant_scope"

S = TypeVar("S", bound=sa.Select[Any])
W = TypeVar("W", sa.Update, sa.Delete)
E = TypeVar("E", bound=sa.Executable)


class UnscopedStatement(RuntimeError):
    """A statement reads a tenant-owned table without the scope of a helper (a bug)."""


class UnknownBypass(ValueError):
    """``unscoped()`` was given a reason that ``Bypass`` does not list."""


class Bypass(Enum):
    """Every statement on tenant rows that deliberately goes without the caller's policy
    clause, and why that is safe. Adding one is a review decision (the list is asserted
    in tests/integration/test_guard.py)."""

    # Authentication runs before any principal exists. The WHERE names the SHA-256 of the
    # presented secret (one row at most, and only its bearer knows the secret); on
    # PostgreSQL the SELECT policy shows the transaction only the row whose hash it
    # presents (``billclass.token_hash``).
    AUTHENTICATION = "authentication by token hash"
    # The class behind the effective settings of a customer the caller can see. For a
    # reseller's own record it may be a class the reseller cannot see (an administrator's
    # private class): the API shows the settings the reseller experiences, never the class
    # (its node stays hidden); the PostgreSQL SELECT policy allows exactly that class. Any
    # other customer a reseller sees uses its own or a shared class (SPEC §4).
    CLASS_OF_VISIBLE_CUSTOMER = "class of a visible customer"
    # The audit events of classes the caller can see: their history (issue 11). The
    # class keys come from a visible() read of the same function (tenancy.class_history),
    # and a visible class's events are the caller's own tenant's or, for a shared
    # administrator class, no tenant's (a class never changes manager); the PostgreSQL
    # SELECT policy of audit_event allows exactly those of shared classes (migration 0007).
    HISTORY_OF_VISIBLE_CLASS = "history of a visible class"


class _Scope:
    """The mark of one helper call: each tenant table or alias it covered, with the clause
    it added to the WHERE (None for a bypass). Only ``_mark`` makes them."""

    __slots__ = ("__weakref__", "covered", "how")

    def __init__(
        self, covered: Sequence[tuple[sa.FromClause, ColumnElement[bool] | None]], how: str
    ) -> None:
        self.covered = tuple(covered)
        self.how = how


# The marks the helpers issued and a live statement still holds.
_ISSUED: weakref.WeakSet[_Scope] = weakref.WeakSet()


# --------------------------------------------------------------------------- helpers


def visible(statement: S, principal: Principal) -> S:
    """``statement`` restricted, in every tenant table or alias it reads itself, to the
    rows ``principal`` may see (SPEC §2), and marked. A subquery is its own SELECT: it
    needs a ``visible()`` of its own."""
    if not isinstance(statement, sa.Select):
        raise TypeError(f"visible() takes a SELECT, not {type(statement).__name__}")
    rules = [(table, policy.VISIBLE[name]) for table, name in _reads(statement)]
    return _apply(statement, principal, rules, "visible()")


# Scoped statements kept for reuse, by (shape, role, reseller): see ``visible_reused``.
_REUSED: dict[tuple[Hashable, Role, int | None], Any] = {}
MAX_REUSED = 4096


def visible_reused(shape: Hashable, principal: Principal, build: Callable[[], S]) -> S:
    """``visible(build(), principal)``, built once per ``shape`` and caller's scope and then
    reused: the statements of the hot reads take their values as bound parameters (e.g. an
    expanding ``bindparam("keys")``), so one built and checked statement serves every
    request of that scope. Building a statement and scoping it cost more CPU than running
    the point lookup itself; a reused statement also keeps SQLAlchemy's cache key and the
    guard's verdict (``check``). The policy clauses depend only on the caller's role and
    reseller (``tenancy.policy``), which is the scope; ``shape`` must name everything else
    ``build`` depends on (e.g. the columns). Bounded: a full cache starts again empty."""
    key = (shape, principal.role, principal.reseller_id)
    statement = _REUSED.get(key)
    if statement is None:
        if len(_REUSED) >= MAX_REUSED:
            _REUSED.clear()
        statement = _REUSED[key] = visible(build(), principal)
    return cast(S, statement)


def changeable(statement: W, principal: Principal) -> W:
    """``statement`` (an UPDATE or DELETE) restricted to the rows ``principal`` may change
    (its target: ``policy.CHANGEABLE``; any other tenant table it reads: what the caller
    may see), and marked. Audit events have no change clause: they never change. Which
    values are written stays the use-case's decision (on PostgreSQL the WITH CHECK of
    the RLS policies checks them once more)."""
    if not isinstance(statement, sa.Update | sa.Delete):
        raise TypeError(f"changeable() takes an UPDATE or DELETE, not {type(statement).__name__}")
    rules: list[tuple[sa.FromClause, policy.ClauseOf]] = []
    for table, name in _reads(statement):
        if table is not statement.table:
            rules.append((table, policy.VISIBLE[name]))
        elif name in policy.CHANGEABLE:
            rules.append((table, policy.CHANGEABLE[name]))
        else:
            raise UnscopedStatement(f"{name} rows are append-only: nothing changes them")
    return _apply(statement, principal, rules, "changeable()")


def unscoped(statement: E, reason: Bypass) -> E:
    """``statement`` marked as deliberately unfiltered, for one of the ``Bypass`` reasons
    (anything else is refused). Its subqueries still need helpers of their own."""
    if not isinstance(reason, Bypass):
        raise UnknownBypass(f"{reason!r} is not a reason listed in tenancy.scoping.Bypass")
    return _mark(
        statement, [(table, None) for table, _ in _reads(statement)], f"unscoped({reason.name})"
    )


def _apply(
    statement: E,
    principal: Principal,
    rules: Sequence[tuple[sa.FromClause, policy.ClauseOf]],
    how: str,
) -> E:
    clauses = [rule(principal, table) for table, rule in rules]
    filtered: Any = cast(Any, statement).where(*clauses)
    # The clauses as the WHERE now holds them (coerced), for the guard to find.
    added = filtered._where_criteria[len(filtered._where_criteria) - len(clauses) :]
    covered = [(table, clause) for (table, _), clause in zip(rules, added, strict=True)]
    return _mark(cast(E, filtered), covered, how)


def _mark(
    statement: E, covered: Sequence[tuple[sa.FromClause, ColumnElement[bool] | None]], how: str
) -> E:
    scope = _Scope(covered, how)
    _ISSUED.add(scope)
    return statement.execution_options(**{SCOPE: scope})


# --------------------------------------------------------------------------- what a statement reads


def _tenant_table(from_: Any) -> str | None:
    """The name of the tenant table that ``from_`` is (or aliases), else None."""
    base = from_.element if isinstance(from_, sa.Alias) else from_
    if isinstance(base, sa.TableClause) and base.name in TENANT_TABLES:
        return str(base.name)
    return None


def _flatten(froms: Iterable[Any]) -> Iterator[Any]:
    for from_ in froms:
        if isinstance(from_, sa.Join):
            yield from _flatten((from_.left, from_.right))
        elif isinstance(from_, sa.Alias) and isinstance(from_.element, sa.Join):
            # Policy clauses would name the tables inside the alias, not the alias.
            if any(_tenant_table(inner) for inner in _flatten((from_.element,))):
                raise UnscopedStatement("an aliased JOIN of tenant tables cannot be scoped")
        else:
            yield from_


def _froms(node: Any) -> list[Any]:
    """What one statement itself selects from, read off its parts the way SQLAlchemy
    builds its FROM list (``get_final_froms()`` would compile it: milliseconds a call):
    explicit FROMs, join targets, and the tables its columns and WHERE name; for an
    UPDATE or DELETE its target and the tables its WHERE names. Not its subqueries."""
    if isinstance(node, sa.Select):
        joins = [*node._setup_joins]
        for memoized in node._memoized_select_entities:  # joins kept by with_only_columns()
            joins.extend(memoized._setup_joins)
        return [
            *node._from_obj,
            *(target for target, _on, _left, _flags in joins),
            *(left for _target, _on, left, _flags in joins if left is not None),
            *_from_objects(*node._raw_columns, *node._where_criteria),
        ]
    if isinstance(node, sa.Update | sa.Delete):
        return [node.table, *_from_objects(*node._where_criteria)]
    return []


def _reads(node: Any) -> list[tuple[sa.FromClause, str]]:
    """The tenant tables and aliases that ``node`` reads itself (see ``_froms``), each
    once, with the name of its table."""
    found: list[tuple[sa.FromClause, str]] = []
    for from_ in _flatten(_froms(node)):
        name = _tenant_table(from_)
        if name is not None and not any(from_ is seen for seen, _ in found):
            found.append((from_, name))
    return found


# --------------------------------------------------------------------------- the guard


# Statements that passed ``check``. A statement is immutable (SQLAlchemy's methods return
# copies) and its marks stay issued while it lives, so a reused one passes again.
_CHECKED: weakref.WeakSet[ClauseElement] = weakref.WeakSet()


def check(statement: ClauseElement) -> None:
    """Raise ``UnscopedStatement`` unless every SELECT, UPDATE and DELETE in ``statement``
    that reads a tenant table carries a helper's mark covering each of them."""
    if statement in _CHECKED:
        return
    _check(statement)
    _CHECKED.add(statement)


def _check(statement: ClauseElement) -> None:
    seen: set[int] = set()
    for node in visitors.iterate(statement):
        if isinstance(node, sa.Select | sa.Update | sa.Delete) and id(node) not in seen:
            seen.add(id(node))
            reads = _reads(node)
            if reads:
                _check_mark(node, reads)


def _check_mark(node: Any, reads: list[tuple[sa.FromClause, str]]) -> None:
    scope = node.get_execution_options().get(SCOPE)
    if not isinstance(scope, _Scope) or scope not in _ISSUED:
        names = ", ".join(sorted({name for _, name in reads}))
        raise UnscopedStatement(
            f"statement on tenant table {names} not built by visible(), changeable() or unscoped()"
        )
    for table, name in reads:
        clauses = [clause for covered, clause in scope.covered if covered is table]
        if not clauses:
            raise UnscopedStatement(
                f"tenant table {name!r} read without its clause: added after {scope.how}"
                " ran (apply the helper to the finished statement)"
            )
        if clauses[0] is not None and not any(clauses[0] is c for c in node._where_criteria):
            raise UnscopedStatement(
                f"the mark on tenant table {name!r} comes from another statement"
            )


def install_guard(engine: Engine) -> None:
    """Check every statement executed on ``engine`` (``check``) before it is sent."""

    @event.listens_for(engine, "before_execute")
    def _guard(
        conn: Any, clauseelement: Any, multiparams: Any, params: Any, execution_options: Any
    ) -> None:
        if isinstance(clauseelement, ClauseElement):
            check(clauseelement)


# --------------------------------------------------------------------------- RLS context


async def in_its_shard(
    conn: AsyncConnection,
    principal: Principal,
    statement: S,
    table: sa.Table,
    key: int,
) -> S | None:
    """``statement`` (a SELECT of ``table``'s row ``key``, about to be locked ``FOR
    UPDATE``) restricted to that row's tenant, so that a distributed database runs it in
    one shard (Citus refuses a row lock that may span shards); None when the caller sees
    no such row. The tenant is read first, under the caller's visibility, in a statement
    of its own. On a single node, ``statement`` as it is, without that statement.
    Apply ``visible()`` to the result, as to any statement."""
    if not is_distributed(conn):
        return statement
    where = visible(sa.select(table.c.tenant_id).where(table.c.id == key), principal)
    found = (await conn.execute(where)).first()
    if found is None:
        return None
    return statement.where(tenant_is(table.c.tenant_id, found.tenant_id))


# The transaction setting through which each bypass read shows a reseller's transaction
# the rows it reads (the SELECT policies of migration 0008, which may not sub-select).
_BYPASS_SETTINGS = {
    Bypass.CLASS_OF_VISIBLE_CUSTOMER: "billclass.class_ids",
    Bypass.HISTORY_OF_VISIBLE_CLASS: "billclass.history_of",
}


async def open_bypass(
    conn: AsyncConnection, principal: Principal, bypass: Bypass, keys: Iterable[object]
) -> None:
    """Before the read of ``bypass``: name its keys (class IDs, or the global IDs whose
    history is read) to row-level security, for the rest of the transaction (PostgreSQL,
    resellers only: an administrator's context sees every row anyway). The keys are the
    ones the bypass's contract allows (see ``Bypass``); the policy shows no other row."""
    if principal.is_admin:
        return
    await set_local(conn, {_BYPASS_SETTINGS[bypass]: ",".join(str(key) for key in keys)})


async def enter_tenant(conn: AsyncConnection, principal: Principal) -> None:
    """Set the row-level security context of this transaction (PostgreSQL only).

    ``SET LOCAL``, sent with the transaction's BEGIN (db.transaction_settings): the context
    cannot leak to the next user of a pooled connection, costs no round trip of its own,
    and reaches the shards of a distributed PostgreSQL.
    """
    await set_local(
        conn,
        {
            "billclass.role": principal.role.value,
            "billclass.reseller_id": str(principal.reseller_id or ""),
        },
    )
