"""Row-level security per command (SPEC §7 "The database net covers writes too").

For each tenant table, raw SQL in reseller A's context, as the service role, tries every
command (SELECT, INSERT, UPDATE, DELETE) on each kind of row: A's own, another tenant's
(B's), a shared administrator class (and the Default class), a private administrator row
(for classes: the administrator class A's own record uses, which A may read) and A's own
customer record. Each test asserts the whole table of outcomes at once:

- SELECT: ``visible`` or ``hidden``;
- INSERT (a copy of the row, same tenant and actor): ``1`` or ``POLICY`` (refused by row-
  level security);
- UPDATE / DELETE: the number of rows affected, ``POLICY``, or ``PRIVILEGE`` when the
  service role holds no such privilege at all (audit events).

Every attempt runs in a transaction of its own that is rolled back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from db.ids import new_id
from db.models import (
    class_table,
    customer_table,
    delivery_table,
    event_table,
    subscription_table,
    token_table,
    webhook_event_table,
)
from db.settings import Settings
from tenancy.ids import audit_key
from tenancy.principal import Principal
from tenancy.scoping import enter_tenant
from tests.api_client import Api, World
from tests.databases import CITUS, SERVICE_ROLE
from tests.integration.rls_support import (
    ADMIN,
    add_webhooks,
    key,
    reseller,
    superuser_rows,
    with_engine,
)

pytestmark = pytest.mark.postgres

TABLES = {
    "customer_class": class_table,
    "customer": customer_table,
    "api_token": token_table,
    "audit_event": event_table,
    "webhook_subscription": subscription_table,
    "webhook_event": webhook_event_table,
    "webhook_delivery": delivery_table,
}
Outcome = int | str


@dataclass
class Scene:
    a: int  # reseller A, whose context every attempt runs in
    b: int
    # table -> {kind of row: its id}
    rows: dict[str, dict[str, int]]


@pytest.fixture
def scene(world: World, api: Api, settings: Settings) -> Scene:
    a, b = key(world.a.id), key(world.b.id)
    # A's own record uses a private administrator class (A may read that class).
    api.ok(
        "assignCustomerClass",
        {"customerId": world.a.id, "customerClassId": world.admin_class_id},
    )
    admin_customer = api.create_customer(name="Direct customer of the administrator")
    spare = api.create_class(world.a.token, name="A spare", currencyCode="USD")
    url = settings.database_url

    def one(query: str, *args: Any) -> int:
        rows = superuser_rows(url, query, *args)
        assert rows, query
        return int(rows[0]["id"])

    return Scene(
        a=a,
        b=b,
        rows={
            "customer_class": {
                "own": key(spare),  # unused, so that deleting it is possible
                "other tenant": key(world.b.class_id),
                "shared administrator": key(world.shared_class_id),
                "default": key(world.default_class_id),
                "class of own record": key(world.admin_class_id),
            },
            "customer": {
                "own": key(world.a.customer_id),
                "other tenant": key(world.b.customer_id),
                "other reseller": b,
                "private administrator": key(admin_customer),
                "own record": a,
            },
            "api_token": {
                "own": one("select id from api_token where tenant_id = $1", a),
                "other tenant": one("select id from api_token where tenant_id = $1", b),
                "private administrator": one("select id from api_token where tenant_id = 0"),
            },
            "audit_event": {
                "own": one(
                    "select id from audit_event where tenant_id = $1 and actor_reseller_id = $1",
                    a,
                ),
                "other tenant": one("select id from audit_event where tenant_id = $1", b),
                # A private administrator class's event; and a shared one's, which A reads
                # as that class's history (migrations 0007 and 0008).
                "private administrator": one(
                    "select id from audit_event where object_id = $1",
                    audit_key(world.admin_class_id),
                ),
                "shared administrator class": one(
                    "select id from audit_event where object_id = $1",
                    audit_key(world.shared_class_id),
                ),
            },
        },
    )


# --------------------------------------------------------------------------- attempts


# Citus refuses any UPDATE of the distribution column (tenant_id) before row-level
# security is asked: a seizure is refused whatever the row (issue 13).
DISTRIBUTION = "DISTRIBUTION COLUMN"


def _classify(error: DBAPIError) -> str:
    text = str(error.orig)
    if "row-level security" in text:
        return "POLICY"
    if CITUS and "modifying the partition value of rows is not allowed" in text:
        return DISTRIBUTION
    if re.search(r"permission denied for (table|relation)", text):
        return "PRIVILEGE"
    raise error


async def _run(engine: AsyncEngine, principal: Principal, statement: Any, **params: Any) -> Outcome:
    async with engine.connect() as conn, conn.begin() as transaction:
        try:
            await enter_tenant(conn, principal)
            assert (await conn.execute(sa.text("select current_user"))).scalar() == SERVICE_ROLE
            try:
                result = await conn.execute(statement, params)
            except DBAPIError as error:
                return _classify(error)
            return result.rowcount
        finally:
            await transaction.rollback()


async def _visible(engine: AsyncEngine, principal: Principal, table: str, row_id: int) -> str:
    async with engine.connect() as conn, conn.begin():
        await enter_tenant(conn, principal)
        found = await conn.execute(
            sa.text(f"select id from {table} where id = :id"), {"id": row_id}
        )
        return "visible" if found.first() else "hidden"


async def _copy(engine: AsyncEngine, table: str, row_id: int, **changes: Any) -> Any:
    """An INSERT of a copy of the row (read in an administrator context): same tenant,
    new id and, where unique, a new name and hash."""
    target = TABLES[table]
    async with engine.connect() as conn, conn.begin():
        await enter_tenant(conn, ADMIN)
        row = (await conn.execute(sa.select(target).where(target.c.id == row_id))).one()
    values = dict(row._mapping)
    values["id"] = new_id()
    if "name_key" in values:
        values["name_key"] = f"copy {values['id']}"
    if "token_hash" in values:
        values["token_hash"] = f"{values['id']:064d}"
    if "webhook_event_id" in values:  # one delivery per (subscription, event)
        values["webhook_event_id"] = new_id()
        values["event_id"] = f"msg_copy{values['id']}"
    values.update(changes)
    return target.insert().values(values)


async def _matrix(
    engine: AsyncEngine,
    scene: Scene,
    table: str,
    updates: dict[str, str],
    extra_inserts: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Outcome]]:
    """Every command on every kind of row of ``table``, in A's context."""
    as_a = reseller(scene.a)
    found: dict[str, dict[str, Outcome]] = {}
    for kind, row_id in scene.rows[table].items():
        outcomes: dict[str, Outcome] = {
            "SELECT": await _visible(engine, as_a, table, row_id),
            "INSERT": await _run(engine, as_a, await _copy(engine, table, row_id)),
        }
        for name, extra in (extra_inserts or {}).items():
            statement = await _copy(engine, table, row_id, **extra)
            outcomes[f"INSERT {name}"] = await _run(engine, as_a, statement)
        for name, assignments in updates.items():
            statement = sa.text(f"update {table} set {assignments} where id = :id")
            outcomes[name] = await _run(engine, as_a, statement, id=row_id, a=scene.a)
        statement = sa.text(f"delete from {table} where id = :id")
        outcomes["DELETE"] = await _run(engine, as_a, statement, id=row_id)
        found[kind] = outcomes
    return found


def _table(
    rows: dict[str, tuple[Outcome, ...]], columns: list[str]
) -> dict[str, dict[str, Outcome]]:
    table = {kind: dict(zip(columns, outcomes, strict=True)) for kind, outcomes in rows.items()}
    if CITUS:
        for outcomes in table.values():
            if "UPDATE seize" in outcomes:
                outcomes["UPDATE seize"] = DISTRIBUTION
    return table


# --------------------------------------------------------------------------- the matrices


def test_customer_classes_per_command(scene: Scene, settings: Settings) -> None:
    updates = {
        "UPDATE": "description = 'Hijacked'",
        # The write hole of 0001: seize a class into A's tenant while renaming it.
        "UPDATE seize": "tenant_id = :a, name = 'Seized', name_key = 'seized ' || id",
    }

    async def work(engine: AsyncEngine) -> dict[str, dict[str, Outcome]]:
        return await _matrix(engine, scene, "customer_class", updates)

    columns = ["SELECT", "INSERT", "UPDATE", "UPDATE seize", "DELETE"]
    assert with_engine(settings, work) == _table(
        {
            "own": ("visible", 1, 1, 1, 1),
            "other tenant": ("hidden", "POLICY", 0, 0, 0),
            "shared administrator": ("visible", "POLICY", 0, 0, 0),
            "default": ("visible", "POLICY", 0, 0, 0),
            # Readable once the transaction names it (the Bypass read of migration 0008,
            # test_rls.test_bypass_reads_see_only_what_they_name); this context does not.
            "class of own record": ("hidden", "POLICY", 0, 0, 0),
        },
        columns,
    )


def test_customers_per_command(scene: Scene, settings: Settings) -> None:
    updates = {
        "UPDATE": "name = 'Hijacked'",
        # Making oneself one's own customer, or taking another's customer.
        "UPDATE seize": "tenant_id = :a",
    }

    async def work(engine: AsyncEngine) -> dict[str, dict[str, Outcome]]:
        return await _matrix(engine, scene, "customer", updates)

    columns = ["SELECT", "INSERT", "UPDATE", "UPDATE seize", "DELETE"]
    assert with_engine(settings, work) == _table(
        {
            "own": ("visible", 1, 1, 1, 1),
            "other tenant": ("hidden", "POLICY", 0, 0, 0),
            "other reseller": ("hidden", "POLICY", 0, 0, 0),
            "private administrator": ("hidden", "POLICY", 0, 0, 0),
            # Read-only to A: visible, never changed.
            "own record": ("visible", "POLICY", 0, 0, 0),
        },
        columns,
    )


def test_api_tokens_per_command(scene: Scene, settings: Settings) -> None:
    updates = {
        "UPDATE": "revoked_at = now()",
        "UPDATE seize": "tenant_id = :a",
        # A token row with role ADMINISTRATOR makes its bearer an administrator.
        "UPDATE elevate": "role = 'ADMINISTRATOR'",
    }
    extra = {"as administrator token": {"role": "ADMINISTRATOR"}}

    async def work(engine: AsyncEngine) -> dict[str, dict[str, Outcome]]:
        return await _matrix(engine, scene, "api_token", updates, extra)

    columns = [
        "SELECT",
        "INSERT",
        "INSERT as administrator token",
        "UPDATE",
        "UPDATE seize",
        "UPDATE elevate",
        "DELETE",
    ]
    assert with_engine(settings, work) == _table(
        {
            "own": ("visible", 1, "POLICY", 1, 1, "POLICY", 1),
            "other tenant": ("hidden", "POLICY", "POLICY", 0, 0, 0, 0),
            "private administrator": ("hidden", "POLICY", "POLICY", 0, 0, 0, 0),
        },
        columns,
    )


def test_audit_events_per_command(scene: Scene, settings: Settings) -> None:
    updates = {"UPDATE": "action = 'FORGED'"}
    # An event in A's own tenant that claims the administrator (or B) did it.
    extra: dict[str, dict[str, Any]] = {
        "forged administrator": {"actor_role": "ADMINISTRATOR", "actor_reseller_id": None},
        "forged other actor": {"actor_reseller_id": scene.b},
    }

    async def work(engine: AsyncEngine) -> dict[str, dict[str, Outcome]]:
        return await _matrix(engine, scene, "audit_event", updates, extra)

    columns = [
        "SELECT",
        "INSERT",
        "INSERT forged administrator",
        "INSERT forged other actor",
        "UPDATE",
        "DELETE",
    ]
    # Append-only: the service role may not UPDATE or DELETE events at all.
    assert with_engine(settings, work) == _table(
        {
            "own": ("visible", 1, "POLICY", "POLICY", "PRIVILEGE", "PRIVILEGE"),
            "other tenant": ("hidden", "POLICY", "POLICY", "POLICY", "PRIVILEGE", "PRIVILEGE"),
            "private administrator": (
                "hidden",
                "POLICY",
                "POLICY",
                "POLICY",
                "PRIVILEGE",
                "PRIVILEGE",
            ),
            # Its history, once the transaction names the class (as above).
            "shared administrator class": (
                "hidden",
                "POLICY",
                "POLICY",
                "POLICY",
                "PRIVILEGE",
                "PRIVILEGE",
            ),
        },
        columns,
    )


def test_the_administrator_context_may_change_every_row(scene: Scene, settings: Settings) -> None:
    """Control: the refusals above are the reseller's, not the rows'."""

    async def work(engine: AsyncEngine) -> dict[str, dict[str, Outcome]]:
        found: dict[str, dict[str, Outcome]] = {}
        for table in ("customer_class", "customer", "api_token"):
            for kind, row_id in scene.rows[table].items():
                column = "revoked_at = now()" if table == "api_token" else "name = name"
                statement = sa.text(f"update {table} set {column} where id = :id")
                found[f"{table} {kind}"] = {
                    "INSERT": await _run(engine, ADMIN, await _copy(engine, table, row_id)),
                    "UPDATE": await _run(engine, ADMIN, statement, id=row_id),
                }
        for kind, row_id in scene.rows["audit_event"].items():
            found[f"audit_event {kind}"] = {
                "INSERT": await _run(engine, ADMIN, await _copy(engine, "audit_event", row_id)),
                "UPDATE": await _run(
                    engine,
                    ADMIN,
                    sa.text("update audit_event set action = 'X' where id = :id"),
                    id=row_id,
                ),
            }
        return found

    found = with_engine(settings, work)
    for name, outcomes in found.items():
        expected_update = "PRIVILEGE" if name.startswith("audit_event") else 1
        assert outcomes == {"INSERT": 1, "UPDATE": expected_update}, name


# --------------------------------------------------------------------------- webhooks (issue 12)


@pytest.fixture
def webhook_scene(world: World, api: Api, settings: Settings) -> Scene:
    """A subscription of A, of B and of the administrator; outbox rows of changes by A,
    B and the administrator; the deliveries the dispatcher made of them."""
    add_webhooks(api, settings, world)
    a, b = key(world.a.id), key(world.b.id)
    url = settings.database_url

    def one(query: str, *args: Any) -> int:
        rows = superuser_rows(url, query, *args)
        assert rows, query
        return int(rows[0]["id"])

    return Scene(
        a=a,
        b=b,
        rows={
            table: {
                "own": one(f"select id from {table} where tenant_id = $1", a),
                "other tenant": one(f"select id from {table} where tenant_id = $1", b),
                "private administrator": one(f"select id from {table} where tenant_id = 0"),
            }
            for table in ("webhook_subscription", "webhook_event", "webhook_delivery")
        },
    )


def test_webhook_subscriptions_and_deliveries_per_command(
    webhook_scene: Scene, settings: Settings
) -> None:
    columns = ["SELECT", "INSERT", "UPDATE", "UPDATE seize", "DELETE"]
    expected = _table(
        {
            "own": ("visible", 1, 1, 1, 1),
            "other tenant": ("hidden", "POLICY", 0, 0, 0),
            "private administrator": ("hidden", "POLICY", 0, 0, 0),
        },
        columns,
    )

    async def work(engine: AsyncEngine) -> dict[str, dict[str, dict[str, Outcome]]]:
        return {
            "webhook_subscription": await _matrix(
                engine,
                webhook_scene,
                "webhook_subscription",
                {"UPDATE": "url = 'https://evil.example/'", "UPDATE seize": "tenant_id = :a"},
            ),
            "webhook_delivery": await _matrix(
                engine,
                webhook_scene,
                "webhook_delivery",
                {"UPDATE": "status = 'PENDING'", "UPDATE seize": "tenant_id = :a"},
            ),
        }

    assert with_engine(settings, work) == {
        "webhook_subscription": expected,
        "webhook_delivery": expected,
    }


def test_the_outbox_is_written_by_its_tenant_and_read_by_the_dispatcher(
    webhook_scene: Scene, settings: Settings
) -> None:
    """A reseller's transaction writes outbox rows of its own tenant naming itself (as
    audit events); only the administrator context (the dispatcher) changes them."""
    extra: dict[str, dict[str, Any]] = {
        "forged administrator": {"actor_role": "ADMINISTRATOR", "actor_reseller_id": None},
    }

    async def work(engine: AsyncEngine) -> dict[str, dict[str, Outcome]]:
        return await _matrix(
            engine, webhook_scene, "webhook_event", {"UPDATE": "fanned_out = false"}, extra
        )

    columns = ["SELECT", "INSERT", "INSERT forged administrator", "UPDATE", "DELETE"]
    assert with_engine(settings, work) == _table(
        {
            "own": ("visible", 1, "POLICY", 0, 0),
            "other tenant": ("hidden", "POLICY", "POLICY", 0, 0),
            "private administrator": ("hidden", "POLICY", "POLICY", 0, 0),
        },
        columns,
    )
