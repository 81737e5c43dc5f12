"""PostgreSQL row-level security, checked with raw SQL that bypasses every filter of the
application (SPEC §2 "Isolation is enforced twice"; reference A7).

Every test here runs as the role the service connects as (``settings.database_url``,
NOSUPERUSER NOBYPASSRLS). The ground truth (what exists) is read as the superuser.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.clock import utcnow
from db.ids import new_id
from db.models import TENANT_TABLES, class_table, customer_table, event_table, token_table
from db.settings import Settings
from db.transaction_settings import set_local
from tenancy import scoping, tokens
from tenancy.ids import to_global_id
from tenancy.principal import Principal
from tenancy.scoping import Bypass, enter_tenant, open_bypass
from tests.api_client import Api, World
from tests.databases import CITUS, Databases
from tests.integration.rls_support import (
    ADMIN,
    add_webhooks,
    assert_rls_violation,
    attempt,
    attempt_scalar,
    ids_of,
    key,
    nothing,
    reseller,
    superuser_rows,
    with_engine,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(api: Api, settings: Settings) -> World:
    """The usual world, with rows in the webhook tables too (issue 12)."""
    found = api.world()
    add_webhooks(api, settings, found)
    return found


# --------------------------------------------------------------------------- catalog


def test_every_table_with_a_tenant_column_forces_row_level_security(settings: Settings) -> None:
    async def work(engine: AsyncEngine) -> list[Any]:
        async with engine.connect() as conn:
            return list(
                await conn.execute(
                    sa.text(
                        "select c.relname, c.relrowsecurity, c.relforcerowsecurity"
                        " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                        " where c.relkind in ('r', 'p') and n.nspname = current_schema()"
                        " and exists (select 1 from pg_attribute a where a.attrelid = c.oid"
                        "   and a.attname = 'tenant_id' and not a.attisdropped)"
                    )
                )
            )

    rows = with_engine(settings, work)
    assert {row.relname for row in rows} == set(TENANT_TABLES)
    for row in rows:
        assert row.relrowsecurity, f"{row.relname}: row-level security is not enabled"
        assert row.relforcerowsecurity, f"{row.relname}: row-level security is not FORCE'd"


def test_every_tenant_table_has_select_and_with_check_policies(settings: Settings) -> None:
    async def work(engine: AsyncEngine) -> list[Any]:
        async with engine.connect() as conn:
            return list(
                await conn.execute(
                    sa.text(
                        "select tablename, cmd, permissive, qual, with_check from pg_policies"
                        " where schemaname = current_schema()"
                    )
                )
            )

    rows = with_engine(settings, work)
    for table in TENANT_TABLES:
        policies = [row for row in rows if row.tablename == table]
        # Restrictive policies alone grant nothing: every one here must be permissive.
        assert all(row.permissive == "PERMISSIVE" for row in policies), policies
        assert any(row.cmd == "SELECT" and row.qual for row in policies), table
        assert any(row.cmd == "INSERT" and row.with_check for row in policies), table
        # No ALL policy whose USING would silently double as a WITH CHECK.
        assert not any(row.cmd == "ALL" for row in policies), table
        for row in policies:
            if row.cmd == "UPDATE":
                assert row.with_check, f"{table}: UPDATE policy without WITH CHECK"


def test_the_application_role_is_neither_superuser_nor_bypassrls(settings: Settings) -> None:
    async def work(engine: AsyncEngine) -> Any:
        async with engine.connect() as conn:
            return (
                await conn.execute(
                    sa.text(
                        "select current_user as name, rolsuper, rolbypassrls from pg_roles"
                        " where rolname = current_user"
                    )
                )
            ).one()

    role = with_engine(settings, work)
    assert role.name == sa.engine.make_url(settings.database_url).username
    assert not role.rolsuper
    assert not role.rolbypassrls


# --------------------------------------------------------------------------- reading


def test_without_tenant_context_every_tenant_table_is_empty(
    world: World, settings: Settings
) -> None:
    for table in TENANT_TABLES:
        (row,) = superuser_rows(settings.database_url, f"select count(*) as n from {table}")
        assert row["n"] > 0, f"{table} has no rows: the check below would prove nothing"

    async def work(engine: AsyncEngine) -> dict[str, int]:
        counts = {}
        async with engine.connect() as conn:
            for table in TENANT_TABLES:
                async with conn.begin():
                    counts[table] = (
                        await conn.execute(sa.text(f"select count(*) from {table}"))
                    ).scalar_one()
        return counts

    assert with_engine(settings, work) == dict.fromkeys(TENANT_TABLES, 0)


def test_reseller_context_sees_only_its_rows_through_raw_sql(
    world: World, settings: Settings
) -> None:
    a, b = key(world.a.id), key(world.b.id)
    url = settings.database_url
    classes = superuser_rows(url, "select id, tenant_id, shared_with_resellers from customer_class")
    customers = superuser_rows(url, "select id, tenant_id, customer_class_id from customer")
    token_rows = superuser_rows(url, "select id, tenant_id from api_token")
    events = superuser_rows(url, "select id, tenant_id, object_id from audit_event")
    hooks = {
        table: superuser_rows(url, f"select id, tenant_id from {table}")
        for table in ("webhook_subscription", "webhook_event", "webhook_delivery")
    }

    # Raw rows: the administrator's tenant is the sentinel 0 (migration 0008).
    expected = {
        "customer_class": {
            c["id"]
            for c in classes
            if c["tenant_id"] == a or (c["tenant_id"] == 0 and c["shared_with_resellers"])
        },
        "customer": {c["id"] for c in customers if c["id"] == a or c["tenant_id"] == a},
        "api_token": {t["id"] for t in token_rows if t["tenant_id"] == a},
        # The events of shared administrator classes (their history, issue 11) only
        # when the transaction names those classes: test_bypass_reads_see_what_they_name.
        "audit_event": {e["id"] for e in events if e["tenant_id"] == a},
        **{table: {r["id"] for r in rows if r["tenant_id"] == a} for table, rows in hooks.items()},
    }
    assert all(expected[table] for table in hooks)
    assert all(len(rows) > len(expected[table]) for table, rows in hooks.items())
    # The world is what we think it is: A has rows of every kind, and so do others.
    assert expected["customer_class"] == {
        key(world.a.class_id),
        key(world.shared_class_id),
        key(world.default_class_id),
    }
    assert expected["customer"] == {a, key(world.a.customer_id)}
    assert len(expected["api_token"]) == 1
    assert expected["audit_event"]
    assert len(events) > len(expected["audit_event"])

    async def work(engine: AsyncEngine) -> dict[str, set[int]]:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, reseller(a))
            return {table: await ids_of(conn, table) for table in TENANT_TABLES}

    seen = with_engine(settings, work)
    assert seen == expected
    assert key(world.admin_class_id) not in seen["customer_class"]
    assert key(world.b.class_id) not in seen["customer_class"]
    assert not {b, key(world.b.customer_id)} & seen["customer"]


def test_bypass_reads_see_only_what_they_name(world: World, api: Api, settings: Settings) -> None:
    """The two Bypass reads (tenancy.scoping.open_bypass, migration 0008): a reseller's
    transaction reads the class of its own record, and the history of a shared
    administrator class, only once the transaction names them; naming grants nothing
    beyond those rows (another tenant's own rows stay hidden)."""
    a = key(world.a.id)
    api.ok(
        "assignCustomerClass", {"customerId": world.a.id, "customerClassId": world.admin_class_id}
    )
    api.ok(
        "updateCustomerClass",
        {"id": world.shared_class_id, "description": "history of a shared class"},
    )
    url = settings.database_url
    private, shared = key(world.admin_class_id), key(world.shared_class_id)
    shared_events = {
        e["id"]
        for e in superuser_rows(
            url,
            "select id from audit_event where object_id = $1",
            to_global_id("CustomerClass", shared),
        )
    }
    b_events = {
        e["id"]
        for e in superuser_rows(
            url, "select id from audit_event where tenant_id = $1", key(world.b.id)
        )
    }
    assert shared_events and b_events

    async def work(engine: AsyncEngine) -> list[tuple[set[int], set[int]]]:
        seen = []
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, reseller(a))
            seen.append((await ids_of(conn, "customer_class"), await ids_of(conn, "audit_event")))
            await open_bypass(conn, reseller(a), Bypass.CLASS_OF_VISIBLE_CUSTOMER, [private])
            history = [to_global_id("CustomerClass", shared)]
            await open_bypass(conn, reseller(a), Bypass.HISTORY_OF_VISIBLE_CLASS, history)
            seen.append((await ids_of(conn, "customer_class"), await ids_of(conn, "audit_event")))
            # Naming B's events' classes shows none of B's rows: the history clause is
            # for the administrator's tenant (0) only.
            b_history = [to_global_id("CustomerClass", key(world.b.class_id))]
            await open_bypass(conn, reseller(a), Bypass.HISTORY_OF_VISIBLE_CLASS, b_history)
            seen.append((await ids_of(conn, "customer_class"), await ids_of(conn, "audit_event")))
        return seen

    (before_classes, before_events), (classes, events), (_, b_named) = with_engine(settings, work)
    assert private not in before_classes and private in classes
    assert not shared_events & before_events and shared_events <= events
    assert not b_events & (before_events | events | b_named)
    assert classes - before_classes == {private}
    assert events - before_events == shared_events


def test_administrator_context_sees_everything(world: World, settings: Settings) -> None:
    url = settings.database_url
    expected = {
        table: {row["id"] for row in superuser_rows(url, f"select id from {table}")}
        for table in TENANT_TABLES
    }

    async def work(engine: AsyncEngine) -> dict[str, set[int]]:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, ADMIN)
            return {table: await ids_of(conn, table) for table in TENANT_TABLES}

    assert with_engine(settings, work) == expected


def test_a_reseller_does_not_see_a_sub_resellers_rows(
    world: World, api: Api, settings: Settings
) -> None:
    a = key(world.a.id)
    sub = api.create_reseller("Sub of A", parent_id=world.a.id)
    sub_token = api.reseller_token(sub, "sub token")
    sub_class = api.create_class(sub_token, name="Sub class", currencyCode="USD")
    sub_customer = api.create_customer(sub_token, name="Sub customer", customerClassId=sub_class)

    async def work(engine: AsyncEngine) -> dict[str, set[int]]:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, reseller(a))
            return {table: await ids_of(conn, table) for table in TENANT_TABLES}

    seen = with_engine(settings, work)
    assert key(sub) in seen["customer"]  # a direct customer of A
    assert key(sub_customer) not in seen["customer"]
    assert key(sub_class) not in seen["customer_class"]
    sub_tokens = superuser_rows(
        settings.database_url, "select id from api_token where tenant_id = $1", key(sub)
    )
    assert sub_tokens
    assert not {row["id"] for row in sub_tokens} & seen["api_token"]


# --------------------------------------------------------------------------- writing


def _class_copy(row: Any, **changes: Any) -> dict[str, Any]:
    values = dict(row._mapping)
    values.update(id=new_id(), name="Copy", name_key=f"copy {new_id()}", **changes)
    return values


def _assert_move_refused(error: pytest.ExceptionInfo[DBAPIError]) -> None:
    if CITUS and "modifying the partition value of rows is not allowed" in str(error.value):
        return
    assert_rls_violation(error)


def test_with_check_refuses_rows_of_another_tenant(world: World, settings: Settings) -> None:
    a, b = key(world.a.id), key(world.b.id)
    now = utcnow()

    async def work(engine: AsyncEngine) -> None:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, reseller(a))
            own_class = (
                await conn.execute(
                    sa.select(class_table).where(class_table.c.id == key(world.a.class_id))
                )
            ).one()
        foreign_inserts = {
            "customer_class": class_table.insert().values(_class_copy(own_class, tenant_id=b)),
            "administrator class": class_table.insert().values(
                _class_copy(own_class, tenant_id=None)
            ),
            "customer": customer_table.insert().values(
                id=new_id(),
                tenant_id=b,
                name="Planted",
                name_key=f"planted {new_id()}",
                customer_type="RETAIL",
                reseller_level=0,
                currency_code="USD",
                customer_class_id=key(world.b.class_id),
                override_regular_template=False,
                override_out_of_turn_template=False,
                created_at=now,
            ),
            "api_token": token_table.insert().values(
                id=new_id(),
                tenant_id=b,
                name="Planted",
                name_key=f"planted {new_id()}",
                role="RESELLER",
                token_hash=f"{new_id():064d}",
                created_at=now,
            ),
            "administrator token": token_table.insert().values(
                id=new_id(),
                tenant_id=None,
                name="Planted",
                name_key=f"planted {new_id()}",
                role="ADMINISTRATOR",
                token_hash=f"{new_id():064d}",
                created_at=now,
            ),
            "audit_event": event_table.insert().values(
                id=new_id(),
                tenant_id=b,
                at=now,
                action="UPDATE",
                actor_role="ADMINISTRATOR",
                actor_token_name="forged",
                object_id="x",
                object_type="CustomerClass",
                changes={},
            ),
        }
        for what, statement in foreign_inserts.items():
            with pytest.raises(DBAPIError) as error:
                await attempt(engine, reseller(a), statement)
            assert "row-level security" in str(error.value), what

        # The same insert with A's own tenant passes: the refusals above are the policy's.
        assert (
            await attempt(engine, reseller(a), class_table.insert().values(_class_copy(own_class)))
            == 1
        )

        # Moving one's own rows to another tenant (or to the administrator) is refused.
        # (Raw SQL: the administrator is the sentinel tenant 0.) Citus refuses any change
        # of the distribution column before row-level security is asked.
        moves = [
            ("customer_class", key(world.a.class_id), b),
            ("customer_class", key(world.a.class_id), 0),
            ("customer", key(world.a.customer_id), b),
            ("customer", key(world.a.customer_id), 0),
        ]
        for table, row_id, target in moves:
            with pytest.raises(DBAPIError) as error:
                await attempt(
                    engine,
                    reseller(a),
                    sa.text(f"update {table} set tenant_id = :t where id = :id"),
                    {"t": target, "id": row_id},
                )
            _assert_move_refused(error)
        own_token = await attempt_scalar(engine, reseller(a), "select id from api_token limit 1")
        with pytest.raises(DBAPIError) as error:
            await attempt(
                engine,
                reseller(a),
                sa.text("update api_token set tenant_id = :t where id = :id"),
                {"t": b, "id": own_token},
            )
        _assert_move_refused(error)

        # Without any tenant context nothing can be written at all.
        with pytest.raises(DBAPIError) as error:
            await attempt(engine, None, class_table.insert().values(_class_copy(own_class)))
        assert_rls_violation(error)

    with_engine(settings, work)


def test_a_reseller_changes_nothing_it_does_not_manage(world: World, settings: Settings) -> None:
    a = key(world.a.id)
    hidden = [
        ("customer_class", key(world.admin_class_id)),
        ("customer_class", key(world.b.class_id)),
        ("customer", key(world.b.id)),
        ("customer", key(world.b.customer_id)),
    ]

    async def work(engine: AsyncEngine) -> None:
        for table, row_id in hidden:
            for statement in (
                f"update {table} set name = 'Hijacked' where id = :id",
                f"delete from {table} where id = :id",
            ):
                assert await attempt(engine, reseller(a), sa.text(statement), {"id": row_id}) == 0
        # The shared class is visible to A but read-only: neither the update nor the
        # delete reaches it (SPEC §7: the UPDATE and DELETE policies are the change rule).
        for class_id in (key(world.shared_class_id), key(world.default_class_id)):
            updated = await attempt(
                engine,
                reseller(a),
                sa.text("update customer_class set description = 'Hijacked' where id = :id"),
                {"id": class_id},
            )
            assert updated == 0
            deleted = await attempt(
                engine,
                reseller(a),
                sa.text("delete from customer_class where id = :id"),
                {"id": class_id},
            )
            assert deleted == 0
        # A's own record is visible but read-only.
        renamed = await attempt(
            engine,
            reseller(a),
            sa.text("update customer set name = 'Renamed' where id = :id"),
            {"id": a},
        )
        assert renamed == 0
        assert (
            await attempt(
                engine, reseller(a), sa.text("delete from customer where id = :id"), {"id": a}
            )
            == 0
        )
        # Its own class it may change (the policy is not simply read-only).
        assert (
            await attempt(
                engine,
                reseller(a),
                sa.text("update customer_class set description = 'Mine' where id = :id"),
                {"id": key(world.a.class_id)},
            )
            == 1
        )

    with_engine(settings, work)
    names = superuser_rows(
        settings.database_url,
        "select name, description from customer_class where id = any($1::bigint[])",
        [key(world.shared_class_id), key(world.default_class_id), key(world.admin_class_id)],
    )
    assert all(row["name"] != "Hijacked" and row["description"] != "Hijacked" for row in names)


def test_audit_events_are_append_only(world: World, settings: Settings) -> None:
    """Twice over (SPEC §7): the service role holds no UPDATE or DELETE privilege on
    audit events, and no policy lets any context, the administrator's included, update
    or delete one (shown as the table owner, who holds the privileges)."""
    a = key(world.a.id)

    async def as_service(engine: AsyncEngine) -> None:
        for principal in (reseller(a), ADMIN):
            async with engine.connect() as conn, conn.begin():
                await enter_tenant(conn, principal)
                visible = (
                    await conn.execute(sa.text("select count(*) from audit_event"))
                ).scalar_one()
            assert visible > 0
            for statement in ("update audit_event set action = 'X'", "delete from audit_event"):
                with pytest.raises(DBAPIError, match="permission denied for table audit_event"):
                    await attempt(engine, principal, sa.text(statement))

    async def as_owner(engine: AsyncEngine) -> None:
        for principal in (reseller(a), ADMIN):
            assert (
                await attempt(engine, principal, sa.text("update audit_event set action = 'X'"))
                == 0
            )
            assert await attempt(engine, principal, sa.text("delete from audit_event")) == 0

    with_engine(settings, as_service)
    with_engine(Settings(database_url=Databases.owner_url(settings.database_url)), as_owner)
    (row,) = superuser_rows(
        settings.database_url, "select count(*) as n from audit_event where action = 'X'"
    )
    assert row["n"] == 0


# --------------------------------------------------------------------------- authentication


async def _set_token_hash(conn: AsyncConnection, token_hash: str) -> None:
    """The hash as authentication sets it (SET LOCAL, which reaches Citus's workers);
    text that SET LOCAL refuses to inline (quotes, %) through set_config, to show that
    even such a value reads nothing."""
    try:
        await set_local(conn, {"billclass.token_hash": token_hash})
    except ValueError:
        await conn.execute(
            sa.text("select set_config('billclass.token_hash', :h, true)"), {"h": token_hash}
        )


def test_token_table_is_readable_before_the_tenant_only_by_its_hash(
    world: World, settings: Settings
) -> None:
    a = key(world.a.id)
    a_hash = tokens.hash_secret(world.a.token)
    (a_token,) = superuser_rows(
        settings.database_url, "select id from api_token where token_hash = $1", a_hash
    )

    async def read_with_hash(engine: AsyncEngine, token_hash: str | None) -> dict[str, set[int]]:
        async with engine.connect() as conn, conn.begin():
            if token_hash is not None:
                await _set_token_hash(conn, token_hash)
            return {table: await ids_of(conn, table) for table in TENANT_TABLES}

    async def work(engine: AsyncEngine) -> None:
        seen = await read_with_hash(engine, a_hash)
        assert seen == {**nothing(), "api_token": {a_token["id"]}}
        for token_hash in (None, "", tokens.hash_secret("bc_unknown"), "%", "' or true --"):
            assert await read_with_hash(engine, token_hash) == nothing()
        # The narrow path reads; it does not write.
        async with engine.connect() as conn:
            async with conn.begin() as transaction:
                await _set_token_hash(conn, a_hash)
                deleted = await conn.execute(sa.text("delete from api_token"))
                assert deleted.rowcount == 0
                await transaction.rollback()
            async with conn.begin() as transaction:
                await conn.execute(
                    sa.text("select set_config('billclass.token_hash', :h, true)"), {"h": a_hash}
                )
                updated = await conn.execute(sa.text("update api_token set revoked_at = null"))
                assert updated.rowcount == 0
                await transaction.rollback()
        # What authentication itself does.
        async with engine.connect() as conn, conn.begin():
            row = await tokens.find_by_secret(conn, world.a.token)
            assert row is not None
            assert (row.id, row.tenant_id, row.role) == (a_token["id"], a, "RESELLER")
            # Only that row, even through the same transaction.
            assert await ids_of(conn, "api_token") == {a_token["id"]}
        async with engine.connect() as conn, conn.begin():
            assert await tokens.find_by_secret(conn, "bc_not-a-token") is None
            assert await tokens.find_by_secret(conn, "not even the prefix") is None

    with_engine(settings, work)


def test_the_rls_context_is_transaction_local(world: World, settings: Settings) -> None:
    a = key(world.a.id)

    async def work(engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            pid = (await conn.execute(sa.text("select pg_backend_pid()"))).scalar_one()
            await conn.rollback()
            async with conn.begin():
                await enter_tenant(conn, reseller(a))
                await conn.execute(
                    sa.text("select set_config('billclass.token_hash', :h, true)"),
                    {"h": tokens.hash_secret(world.b.token)},
                )
                inside = {table: await ids_of(conn, table) for table in TENANT_TABLES}
            assert all(inside.values()), inside
            # Committed; the next transaction on the same connection sees nothing.
            async with conn.begin():
                after = {table: await ids_of(conn, table) for table in TENANT_TABLES}
                settings_now = (
                    await conn.execute(
                        sa.text(
                            "select current_setting('billclass.role', true) as role,"
                            " current_setting('billclass.reseller_id', true) as reseller,"
                            " current_setting('billclass.token_hash', true) as token_hash"
                        )
                    )
                ).one()
            assert after == nothing()
            assert not any(settings_now), settings_now
        # Returned to the pool and handed out again: still nothing.
        async with engine.connect() as conn, conn.begin():
            again = (await conn.execute(sa.text("select pg_backend_pid()"))).scalar_one()
            assert again == pid, "the pool handed out another connection"
            assert {table: await ids_of(conn, table) for table in TENANT_TABLES} == nothing()
        # A rolled-back transaction does not leave its context behind either.
        async with engine.connect() as conn:
            async with conn.begin() as transaction:
                await enter_tenant(conn, ADMIN)
                assert await ids_of(conn, "customer")
                await transaction.rollback()
            async with conn.begin():
                assert await ids_of(conn, "customer") == set()

    with_engine(settings, work)


# --------------------------------------------------------------------------- RLS alone


RESELLER_VIEW = """
query($ids: [ID!]!) {
  customerClasses(first: 100) {
    totalCount
    nodes { id name customerCount customers { totalCount nodes { id } } managingReseller { id } }
  }
  shared: customerClasses(first: 100, orderBy: {field: CUSTOMER_COUNT, direction: DESC}) {
    nodes { id customerCount }
  }
  customers(first: 100) { totalCount nodes { id name parent { id } customerClass { id } } }
  apiTokens(includeRevoked: true) { id name reseller { id } }
  auditEvents(first: 100) { totalCount nodes { id objectId actorReseller { id } } }
  nodes(ids: $ids) { id }
}
"""


def test_rls_alone_isolates_when_the_application_filters_are_removed(
    world: World, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A7 (d): with every visibility filter of the tenancy layer switched off, a
    reseller's answers are unchanged, because PostgreSQL filters the same rows (since
    migration 0008 the events of shared administrator classes too: a transaction reads
    them only once it names those classes, as a class's history does)."""
    from gql import endpoint
    from tenancy import policy

    everything = [
        world.a.id,
        world.b.id,
        world.a.class_id,
        world.b.class_id,
        world.a.customer_id,
        world.b.customer_id,
        world.admin_class_id,
        world.shared_class_id,
        world.default_class_id,
    ]
    variables = {"ids": everything}
    with_filters = api.data(RESELLER_VIEW, variables, token=world.a.token)
    assert with_filters["nodes"] == [
        {"id": world.a.id},
        None,
        {"id": world.a.class_id},
        None,
        {"id": world.a.customer_id},
        None,
        None,
        {"id": world.shared_class_id},
        {"id": world.default_class_id},
    ]

    for rules in (policy.VISIBLE, policy.CHANGEABLE):
        for table in rules:
            monkeypatch.setitem(rules, table, lambda *_args, **_kw: sa.true())
    # Statements scoped earlier with the real filters are kept for reuse: start afresh.
    monkeypatch.setattr(scoping, "_REUSED", {})
    without_filters = api.data(RESELLER_VIEW, variables, token=world.a.token)
    assert without_filters == with_filters
    for hidden in (world.b.class_id, world.admin_class_id):
        assert api.data(
            "query($id: ID!) { customerClass(id: $id) { id } }", {"id": hidden}, world.a.token
        ) == {"customerClass": None}
    payload = api.mutate(
        "updateCustomerClass",
        {"id": world.b.class_id, "expectedVersion": 1, "description": "Hijacked"},
        world.a.token,
    )
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_FOUND"]

    # Control: the switch really removes the filters. With the RLS context of an
    # administrator instead of A's, the same request now leaks B's rows.
    async def as_administrator(conn: AsyncConnection, _principal: Principal) -> None:
        await enter_tenant(conn, ADMIN)  # the real one, which the endpoint imported

    monkeypatch.setattr(endpoint, "enter_tenant", as_administrator)
    leaked = api.data(RESELLER_VIEW, variables, token=world.a.token)
    assert {"id": world.b.class_id} in leaked["nodes"]
