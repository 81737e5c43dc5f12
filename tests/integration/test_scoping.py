"""The scoping helpers (tenancy.scoping): ``visible()`` and ``changeable()`` apply the
rules of tenancy/policy.py to every tenant table a statement reads, so the application
layer alone keeps tenants apart (SQLite has no row-level security).

Every statement here runs on a guarded engine in an *administrator's* row-level security
context, so that on PostgreSQL too only the helpers filter; the last tests check, on
PostgreSQL, that the helpers and the RLS policies of migration 0003 agree row for row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import make_engine
from db.models import (
    TENANT_TABLES,
    class_table,
    customer_table,
    event_table,
    tenant_is,
    token_table,
)
from db.settings import Settings
from tenancy import policy
from tenancy.ids import to_global_id
from tenancy.principal import Principal, Role
from tenancy.scoping import UnscopedStatement, changeable, enter_tenant, install_guard, visible
from tests.api_client import Api, World
from tests.databases import CITUS
from tests.integration.rls_support import ADMIN, key, reseller

T = TypeVar("T")
TABLES = {t.name: t for t in (class_table, customer_table, token_table, event_table)}


def as_administrator(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``work(conn)`` on a guarded engine, in an administrator's RLS context, in one
    transaction that is rolled back (so UPDATEs change nothing for the next step)."""

    async def main() -> T:
        engine = make_engine(settings=settings)
        install_guard(engine.sync_engine)
        try:
            async with engine.connect() as conn, conn.begin() as transaction:
                await enter_tenant(conn, ADMIN)
                if CITUS:
                    # The joins below pair rows of different tenants on purpose (the
                    # application joins none that way): Citus needs to repartition them.
                    await conn.execute(sa.text("SET LOCAL citus.enable_repartition_joins = on"))
                try:
                    return await work(conn)
                finally:
                    await transaction.rollback()
        finally:
            await engine.dispose()

    return asyncio.run(main())


@dataclass
class Scene:
    a: int  # reseller A, whose view the tests take
    b: int
    a_class: int
    b_class: int
    a_customer: int
    b_customer: int
    admin_class: int  # private to the administrator, and the class of A's own record
    shared_class: int
    default_class: int
    a_token: int
    b_token: int
    admin_token: int


@pytest.fixture
def scene(world: World, api: Api, settings: Settings) -> Scene:
    api.ok(
        "assignCustomerClass", {"customerId": world.a.id, "customerClassId": world.admin_class_id}
    )

    async def token_of(conn: AsyncConnection, owner: int | None) -> int:
        c = token_table.c
        owned = tenant_is(c.tenant_id, owner)
        statement = sa.select(c.id).where(owned).order_by(c.created_at).limit(1)
        return int((await conn.execute(visible(statement, ADMIN))).scalar_one())

    a, b = key(world.a.id), key(world.b.id)

    async def tokens(conn: AsyncConnection) -> tuple[int, int, int]:
        return await token_of(conn, a), await token_of(conn, b), await token_of(conn, None)

    a_token, b_token, admin_token = as_administrator(settings, tokens)
    return Scene(
        a=a,
        b=b,
        a_class=key(world.a.class_id),
        b_class=key(world.b.class_id),
        a_customer=key(world.a.customer_id),
        b_customer=key(world.b.customer_id),
        admin_class=key(world.admin_class_id),
        shared_class=key(world.shared_class_id),
        default_class=key(world.default_class_id),
        a_token=a_token,
        b_token=b_token,
        admin_token=admin_token,
    )


# --------------------------------------------------------------------------- visible()

cls, customer, token, events = class_table, customer_table, token_table, event_table
other = customer_table.alias("other")

# From a row A may see, joined to rows it may not: each leaks unless *every* tenant
# table (and alias) of the join is filtered on its own.
CROSS_TENANT_JOINS: dict[str, Callable[[Scene], Any]] = {
    "A's record -> the private class it uses": lambda s: (
        sa.select(customer.c.id, cls.c.name)
        .join(cls, cls.c.id == customer.c.customer_class_id)
        .where(customer.c.id == s.a)
    ),
    "A's customer -> B's customer (an alias of the same table)": lambda s: (
        sa.select(customer.c.id, other.c.name)
        .join(other, other.c.currency_code == customer.c.currency_code)
        .where(customer.c.id == s.a_customer, other.c.id == s.b_customer)
    ),
    "A's class -> B's customers (implicit FROM)": lambda s: (
        sa.select(cls.c.id, customer.c.name)
        .where(cls.c.id == s.a_class, customer.c.customer_class_id != cls.c.id)
        .where(customer.c.tenant_id == s.b)
    ),
    "A's record -> B's tokens": lambda s: (
        sa.select(customer.c.id, token.c.name)
        .join(token, sa.true())
        .where(customer.c.id == s.a, token.c.tenant_id == s.b)
    ),
    "A's customer -> B's audit events": lambda s: (
        sa.select(customer.c.id, events.c.object_id)
        .join(events, sa.true())
        .where(customer.c.id == s.a_customer, events.c.tenant_id == s.b)
    ),
}


# Cartesian products and joins of distributed tables on anything but their tenant, which
# Citus cannot plan; the application runs none (its one join is co-located).
_UNPLANNABLE_ON_CITUS = pytest.mark.not_on_citus(
    "a cartesian or non-equi join of distributed tables, which Citus refuses to plan"
)
_JOINS = [
    pytest.param(name, marks=_UNPLANNABLE_ON_CITUS)
    if name.endswith(("(implicit FROM)", "B's tokens", "B's audit events"))
    else name
    for name in CROSS_TENANT_JOINS
]


@pytest.mark.parametrize("name", _JOINS)
def test_visible_filters_every_tenant_table_of_a_join(
    name: str, scene: Scene, settings: Settings
) -> None:
    statement = CROSS_TENANT_JOINS[name](scene)

    async def work(conn: AsyncConnection) -> tuple[Sequence[sa.Row[Any]], Sequence[sa.Row[Any]]]:
        everything = (await conn.execute(visible(statement, ADMIN))).all()
        as_a = (await conn.execute(visible(statement, reseller(scene.a)))).all()
        return everything, as_a

    everything, as_a = as_administrator(settings, work)
    assert everything, "control: the administrator finds the row"
    assert as_a == []


def test_visible_leaves_a_reseller_the_rows_it_may_see_of_a_join(
    scene: Scene, settings: Settings
) -> None:
    """Control for the joins above: A's own customer with its class and parent."""
    parent = customer_table.alias("parent")
    statement = (
        sa.select(customer.c.id, cls.c.id, parent.c.id)
        .join(cls, cls.c.id == customer.c.customer_class_id)
        .join(parent, parent.c.id == customer.c.tenant_id)
    )

    async def work(conn: AsyncConnection) -> set[tuple[int, ...]]:
        rows = await conn.execute(visible(statement, reseller(scene.a)))
        return {tuple(row) for row in rows}

    assert as_administrator(settings, work) == {(scene.a_customer, scene.a_class, scene.a)}


def test_visible_takes_selects_only_and_changeable_updates_and_deletes_only() -> None:
    # The wrong kinds on purpose: the run-time check behind the types is under test.
    with pytest.raises(TypeError):
        visible(class_table.update(), ADMIN)  # type: ignore[type-var]
    with pytest.raises(TypeError):
        changeable(sa.select(class_table), ADMIN)  # type: ignore[type-var]


def test_every_tenant_table_has_a_visibility_clause_and_events_no_change_clause() -> None:
    assert set(policy.VISIBLE) == set(TENANT_TABLES)
    assert set(policy.CHANGEABLE) == set(TENANT_TABLES) - {"audit_event"}
    with pytest.raises(UnscopedStatement, match="append-only"):
        changeable(event_table.update().values(action="FORGED"), ADMIN)


# --------------------------------------------------------------------------- changeable()

# (table, the row, rows A's UPDATE affects)
CHANGES: dict[str, tuple[str, Callable[[Scene], int], int]] = {
    "own class": ("customer_class", lambda s: s.a_class, 1),
    "shared class": ("customer_class", lambda s: s.shared_class, 0),
    "Default class": ("customer_class", lambda s: s.default_class, 0),
    "class of own record": ("customer_class", lambda s: s.admin_class, 0),
    "other tenant's class": ("customer_class", lambda s: s.b_class, 0),
    "own customer": ("customer", lambda s: s.a_customer, 1),
    "own record": ("customer", lambda s: s.a, 0),
    "other tenant's customer": ("customer", lambda s: s.b_customer, 0),
    "other reseller": ("customer", lambda s: s.b, 0),
    "own token": ("api_token", lambda s: s.a_token, 1),
    "other tenant's token": ("api_token", lambda s: s.b_token, 0),
    "administrator token": ("api_token", lambda s: s.admin_token, 0),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_changeable_updates_only_what_the_reseller_may_change(
    name: str, scene: Scene, settings: Settings
) -> None:
    table_name, row, expected = CHANGES[name]
    table = TABLES[table_name]
    statement = table.update().where(table.c.id == row(scene)).values(name=table.c.name)

    async def work(conn: AsyncConnection) -> tuple[int, int]:
        everything = (await conn.execute(changeable(statement, ADMIN))).rowcount
        as_a = (await conn.execute(changeable(statement, reseller(scene.a)))).rowcount
        return everything, as_a

    assert as_administrator(settings, work) == (1, expected)


@pytest.mark.parametrize(("row", "expected"), [("a_token", 1), ("b_token", 0), ("admin_token", 0)])
def test_changeable_deletes_only_what_the_reseller_may_change(
    row: str, expected: int, scene: Scene, settings: Settings
) -> None:
    statement = token_table.delete().where(token_table.c.id == getattr(scene, row))

    async def work(conn: AsyncConnection) -> int:
        return int((await conn.execute(changeable(statement, reseller(scene.a)))).rowcount)

    assert as_administrator(settings, work) == expected


# --------------------------------------------------------------------------- agreement with RLS


async def _rls_ids(conn: AsyncConnection, principal: Principal, query: str) -> set[int]:
    """Raw SQL in ``principal``'s RLS context (a savepoint, rolled back): what the
    database lets that context reach."""
    async with conn.begin_nested() as savepoint:
        await enter_tenant(conn, principal)
        ids = {row.id for row in await conn.execute(sa.text(query))}
        await enter_tenant(conn, ADMIN)
        await savepoint.rollback()
    return ids


async def _helper_ids(conn: AsyncConnection, statement: Any) -> set[int]:
    """The helpers' statement in the administrator's RLS context: the application alone."""
    return {row.id for row in await conn.execute(statement)}


@pytest.mark.postgres
@pytest.mark.parametrize("who", ["a", "b"])
def test_visible_and_changeable_agree_with_the_rls_policies(
    who: str, scene: Scene, settings: Settings
) -> None:
    """For each tenant table, the rows a reseller context may SELECT and UPDATE through
    raw SQL under RLS equal those ``visible()`` and ``changeable()`` give the same
    reseller, exactly (since migration 0008: the class of A's record, a private class,
    and the shared administrator classes' history, which the bypasses of reads read,
    are readable only once a transaction names them, test_rls covers that)."""
    principal = reseller(getattr(scene, who))

    async def work(conn: AsyncConnection) -> dict[str, dict[str, set[int]]]:
        found: dict[str, dict[str, set[int]]] = {}
        for name, table in TABLES.items():
            select = sa.select(table.c.id)
            found[name] = {
                "RLS SELECT": await _rls_ids(conn, principal, f"select id from {name}"),
                "visible()": await _helper_ids(conn, visible(select, principal)),
            }
            if name == "audit_event":
                shared = sa.select(class_table.c.id).where(
                    tenant_is(class_table.c.tenant_id, None), class_table.c.shared_with_resellers
                )
                keys = await _helper_ids(conn, visible(shared, ADMIN))
                gids = [to_global_id("CustomerClass", k) for k in keys]
                events = sa.select(event_table.c.id).where(event_table.c.object_id.in_(gids))
                history = await _helper_ids(conn, visible(events, ADMIN))
                found[name]["shared classes' history"] = history
            if name in policy.CHANGEABLE:
                update = table.update().values(name=table.c.name).returning(table.c.id)
                found[name]["RLS UPDATE"] = await _rls_ids(
                    conn, principal, f"update {name} set name = name returning id"
                )
                found[name]["changeable()"] = await _helper_ids(conn, changeable(update, principal))
        return found

    found = as_administrator(settings, work)
    for name, sets in found.items():
        assert sets["visible()"], f"{name}: a reseller sees something of every table"
        if name == "audit_event":
            history = sets["shared classes' history"]
            assert history, "the shared class was created, so it has an event"
            assert not history & sets["RLS SELECT"], "unnamed, a shared class's history"
        assert sets["RLS SELECT"] == sets["visible()"], name
        if name in policy.CHANGEABLE:
            assert sets["RLS UPDATE"] == sets["changeable()"], name
            assert sets["changeable()"] <= sets["visible()"], name


@pytest.mark.parametrize(("role", "reseller_id"), [(Role.RESELLER, None), (Role.ADMINISTRATOR, 7)])
def test_a_principal_cannot_be_a_reseller_of_nobody(role: Role, reseller_id: int | None) -> None:
    """Visibility compares tenant_id with the reseller: a reseller of no one (NULL) would
    match the administrator's rows, so such a principal cannot be made."""
    with pytest.raises(ValueError, match="RESELLER principal acts for one reseller"):
        Principal(role, reseller_id, token_id=None, token_name="t")
