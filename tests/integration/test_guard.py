"""The unscoped-statement guard (tenancy.scoping.install_guard): the safety net that
refuses, before the database sees it, any SELECT/UPDATE/DELETE on a tenant-owned table
that was not built by visible(), changeable() or unscoped(), or whose mark does not cover
what it reads. On SQLite it is the only net besides the filters those helpers add."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import visitors

from db.clock import utcnow
from db.engine import make_engine
from db.ids import new_id
from db.models import (
    class_table,
    currency_table,
    customer_table,
    event_table,
    token_table,
)
from db.settings import Settings
from tenancy import scoping
from tenancy.principal import CLI, Principal, Role
from tenancy.scoping import (
    SCOPE,
    Bypass,
    UnknownBypass,
    UnscopedStatement,
    changeable,
    enter_tenant,
    install_guard,
    unscoped,
    visible,
)
from tests.api_client import Api, World

T = TypeVar("T")


def guarded(settings: Settings, work: Callable[[AsyncConnection, list[str]], Awaitable[T]]) -> T:
    """Run ``work(conn, sql)`` as the administrator on a guarded engine; ``sql`` collects
    every statement that reached the database."""

    async def main() -> T:
        engine: AsyncEngine = make_engine(settings=settings)
        install_guard(engine.sync_engine)
        sent: list[str] = []

        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            sent.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            async with engine.connect() as conn, conn.begin():
                await enter_tenant(conn, CLI)
                sent.clear()
                return await work(conn, sent)
        finally:
            await engine.dispose()

    return asyncio.run(main())


UNSCOPED: dict[str, Callable[[], sa.Executable]] = {
    "select": lambda: sa.select(class_table),
    "select of one column": lambda: sa.select(class_table.c.id),
    "count": lambda: sa.select(sa.func.count()).select_from(customer_table),
    "join from a catalog": lambda: sa.select(currency_table.c.code).join(
        class_table, class_table.c.currency_code == currency_table.c.code
    ),
    "subquery in WHERE": lambda: sa.select(currency_table).where(
        currency_table.c.code.in_(sa.select(customer_table.c.currency_code))
    ),
    "exists": lambda: sa.select(currency_table).where(
        sa.exists().where(class_table.c.currency_code == currency_table.c.code)
    ),
    "scalar subquery in columns": lambda: sa.select(
        currency_table.c.code,
        sa.select(sa.func.count()).select_from(event_table).scalar_subquery(),
    ),
    "CTE": lambda: sa.select(sa.select(token_table.c.id).cte("tokens").c.id),
    "union": lambda: sa.union(
        sa.select(currency_table.c.code), sa.select(class_table.c.currency_code)
    ),
    "update": lambda: class_table.update().values(description="x"),
    # (Not audit events: the service role may not delete them on PostgreSQL, SPEC §7.)
    "delete": lambda: customer_table.delete(),
    "delete of one row": lambda: token_table.delete().where(token_table.c.id == 1),
    "update from a catalog": lambda: (
        customer_table.update()
        .where(customer_table.c.currency_code == currency_table.c.code)
        .values(name="x")
    ),
}


@pytest.mark.parametrize("kind", list(UNSCOPED))
def test_unscoped_statements_on_tenant_tables_are_refused_before_the_database(
    kind: str, settings: Settings
) -> None:
    async def work(conn: AsyncConnection, sent: list[str]) -> None:
        with pytest.raises(UnscopedStatement):
            await conn.execute(UNSCOPED[kind]())
        assert sent == [], "the statement reached the database"

    guarded(settings, work)


# The same statements built with the helpers (as the administrator: nothing filtered
# away). Every SELECT that reads a tenant table needs its own helper, nested ones too.
def _select(statement: Any) -> Any:
    return visible(statement, CLI)


SCOPED: dict[str, Callable[[], sa.Executable]] = {
    "select": lambda: _select(sa.select(class_table)),
    "select of one column": lambda: _select(sa.select(class_table.c.id)),
    "count": lambda: _select(sa.select(sa.func.count()).select_from(customer_table)),
    "join from a catalog": lambda: _select(
        sa.select(currency_table.c.code).join(
            class_table, class_table.c.currency_code == currency_table.c.code
        )
    ),
    "subquery in WHERE": lambda: sa.select(currency_table).where(
        currency_table.c.code.in_(_select(sa.select(customer_table.c.currency_code)))
    ),
    "exists": lambda: sa.select(currency_table).where(
        _select(
            sa.select(class_table.c.id).where(class_table.c.currency_code == currency_table.c.code)
        ).exists()
    ),
    "scalar subquery in columns": lambda: sa.select(
        currency_table.c.code,
        _select(sa.select(sa.func.count()).select_from(event_table)).scalar_subquery(),
    ),
    "CTE": lambda: sa.select(_select(sa.select(token_table.c.id)).cte("tokens").c.id),
    "union": lambda: sa.union(
        sa.select(currency_table.c.code), _select(sa.select(class_table.c.currency_code))
    ),
    "update": lambda: changeable(class_table.update().values(description="x"), CLI),
    "delete": lambda: changeable(customer_table.delete(), CLI),
    "delete of one row": lambda: changeable(token_table.delete().where(token_table.c.id == 1), CLI),
    "update from a catalog": lambda: changeable(
        customer_table.update()
        .where(customer_table.c.currency_code == currency_table.c.code)
        .values(name="x"),
        CLI,
    ),
}


def test_every_refused_statement_has_a_scoped_twin() -> None:
    assert list(SCOPED) == list(UNSCOPED)


# A correlated subquery from a reference table (currency) into a distributed one, which
# Citus refuses to plan; the application runs none (the guard's check is the same).
_SCOPED_KINDS = [
    pytest.param(
        kind,
        marks=pytest.mark.not_on_citus(
            "a subquery correlated with a reference table, which Citus refuses to plan"
        ),
    )
    if kind == "exists"
    else kind
    for kind in SCOPED
]


@pytest.mark.parametrize("kind", _SCOPED_KINDS)
def test_the_same_statements_run_once_built_with_the_helpers(kind: str, settings: Settings) -> None:
    async def work(conn: AsyncConnection, sent: list[str]) -> None:
        await conn.execute(SCOPED[kind]())
        assert len(sent) == 1

    guarded(settings, work)


def test_a_mark_does_not_leak_to_the_next_statement(settings: Settings) -> None:
    async def work(conn: AsyncConnection, _sent: list[str]) -> None:
        statement = sa.select(class_table.c.id)
        await conn.execute(visible(statement, CLI))
        with pytest.raises(UnscopedStatement):
            await conn.execute(statement)  # the helper returned a copy

    guarded(settings, work)


# --------------------------------------------------------------------------- forged marks


def _refused(settings: Settings, statement: Any, message: str) -> None:
    async def work(conn: AsyncConnection, sent: list[str]) -> None:
        with pytest.raises(UnscopedStatement, match=message):
            await conn.execute(statement)
        assert sent == [], "the statement reached the database"

    guarded(settings, work)


A = Principal(Role.RESELLER, 1234, token_id=None, token_name="guard test")


def test_a_hand_made_mark_is_refused(settings: Settings) -> None:
    statement = sa.select(class_table).execution_options(**{SCOPE: "principal"})
    _refused(settings, statement, "not built by visible")


def test_a_mark_object_the_helpers_did_not_issue_is_refused(settings: Settings) -> None:
    forged = scoping._Scope([(class_table, None)], "forged")
    statement = sa.select(class_table).execution_options(**{SCOPE: forged})
    _refused(settings, statement, "not built by visible")


def test_a_mark_is_not_accepted_with_the_execution(settings: Settings) -> None:
    """Only the statement's own mark counts: one passed to execute() proves nothing."""
    mark = visible(sa.select(class_table), CLI).get_execution_options()[SCOPE]

    async def work(conn: AsyncConnection, _sent: list[str]) -> None:
        with pytest.raises(UnscopedStatement):
            await conn.execute(sa.select(class_table), execution_options={SCOPE: mark})

    guarded(settings, work)


def test_a_mark_copied_from_another_statement_is_refused(settings: Settings) -> None:
    """A genuine mark names the clause it added; a statement without that clause in its
    WHERE does not get the mark's protection."""
    mark = visible(sa.select(class_table.c.id), A).get_execution_options()[SCOPE]
    statement = sa.select(class_table).execution_options(**{SCOPE: mark})
    _refused(settings, statement, "comes from another statement")


OTHER_CLASS = class_table.alias("other")
ADDED_AFTER = {
    "join": lambda s: s.join(
        customer_table, customer_table.c.customer_class_id == class_table.c.id
    ),
    "implicit FROM": lambda s: s.where(class_table.c.tenant_id == customer_table.c.id),
    "alias of the same table": lambda s: s.join(OTHER_CLASS, OTHER_CLASS.c.id == class_table.c.id),
}


@pytest.mark.parametrize("kind", list(ADDED_AFTER))
def test_a_tenant_table_added_after_the_helper_is_refused(kind: str, settings: Settings) -> None:
    statement = ADDED_AFTER[kind](visible(sa.select(class_table.c.id), A))
    _refused(settings, statement, "read without its clause")


def test_an_aliased_join_of_tenant_tables_cannot_be_scoped() -> None:
    """Policy clauses would name the tables inside the alias: refused, not half-filtered."""
    joined = sa.alias(
        class_table.join(customer_table, customer_table.c.customer_class_id == class_table.c.id)
    )
    with pytest.raises(UnscopedStatement, match="aliased JOIN"):
        visible(sa.select(joined), A)


def test_a_bypass_covers_only_its_own_statement(settings: Settings) -> None:
    """``unscoped`` marks the statement it is given, not the subqueries in it."""
    inner = sa.select(customer_table.c.customer_class_id)
    statement = sa.select(class_table.c.id).where(class_table.c.id.in_(inner))
    _refused(settings, unscoped(statement, Bypass.AUTHENTICATION), "table customer not built")


# --------------------------------------------------------------------------- the bypasses


def test_the_deliberate_bypasses_are_exactly_these() -> None:
    """Adding a bypass is a review decision: it must change this list (and say, in
    tenancy/scoping.py, why it is safe)."""
    assert {reason.name: reason.value for reason in Bypass} == {
        "AUTHENTICATION": "authentication by token hash",
        "CLASS_OF_VISIBLE_CUSTOMER": "class of a visible customer",
        "HISTORY_OF_VISIBLE_CLASS": "history of a visible class",
    }


@pytest.mark.parametrize("reason", ["test", "authentication by token hash", None])
def test_unscoped_refuses_a_reason_that_is_not_listed(reason: Any) -> None:
    with pytest.raises(UnknownBypass):
        unscoped(sa.select(class_table), reason)


def test_the_scoping_helpers_are_the_only_marks() -> None:
    """``scoped()``, which marked without filtering, is gone."""
    assert not hasattr(scoping, "scoped")


def test_statements_on_catalogs_only_are_not_guarded(settings: Settings) -> None:
    async def work(conn: AsyncConnection, _sent: list[str]) -> list[str]:
        return list((await conn.execute(sa.select(currency_table.c.code))).scalars())

    assert "USD" in guarded(settings, work)


def test_inserts_and_text_are_not_guarded(settings: Settings) -> None:
    async def work(conn: AsyncConnection, sent: list[str]) -> int:
        await conn.execute(
            event_table.insert().values(
                id=new_id(),
                tenant_id=None,
                at=utcnow(),
                action="CREATE",
                actor_role="ADMINISTRATOR",
                actor_token_name="guard test",
                object_id="x",
                object_type="Test",
                changes={},
            )
        )
        count = (
            await conn.execute(
                sa.text("select count(*) from audit_event where actor_token_name = 'guard test'")
            )
        ).scalar_one()
        # Raw text touching a tenant table is the caller's responsibility (RLS still
        # applies on PostgreSQL); the guard looks at SQLAlchemy constructs only.
        await conn.execute(sa.text("update customer_class set version = version where 1 = 0"))
        assert len(sent) == 3
        found: int = count
        return found

    assert guarded(settings, work) == 1


def test_the_application_engine_has_the_guard(app: Any) -> None:
    async def work() -> None:
        async with app.state.engine.connect() as conn:
            with pytest.raises(UnscopedStatement):
                await conn.execute(sa.select(class_table))

    asyncio.run(work())


# --------------------------------------------------------------------------- the API


ADMIN_QUERIES = [
    "{ viewer { role tokenName reseller { id name } } }",
    """{ customerClasses(first: 100) { totalCount pageInfo { hasNextPage endCursor }
         nodes { id name description managedBy isDefault sharedWithResellers version
                 archiveXdrs invoicing taxationMethod customerCount
                 managingReseller { id name } businessModel { id } currency { code }
                 customers(first: 5) { totalCount nodes { id name } }
                 generalInfo { generateStatistics } customFields { id } } } }""",
    """{ a: customerClasses(orderBy: {field: CUSTOMER_COUNT, direction: DESC},
                            filter: {nameContains: "a", includeShared: false}) { nodes { id } }
         b: customerClasses(orderBy: {field: UPDATED_AT}, last: 2) { nodes { id } }
         c: customerClasses(orderBy: {field: CREATED_AT},
                            filter: {currencyCode: "USD", invoicing: DISABLED}) {
           nodes { id } } }""",
    """{ customers(first: 100) { totalCount nodes { id name customerType createdAt
         currency { code } parent { id name } customerClass { id name }
         overrides { __typename }
         effectiveSettings { overriddenFields generalInfo { sendStatistics } } } } }""",
    """{ r: customers(filter: {customerType: RESELLER}) { nodes { id } }
         n: customers(filter: {nameContains: "customer"}) { nodes { id } } }""",
    "{ apiTokens(includeRevoked: true) { id name role expiresAt lastUsedAt reseller { id } } }",
    """{ auditEvents(first: 100) { totalCount nodes { id at action actorRole actorTokenName
         objectId objectType changes actorReseller { id } } } }""",
    """{ currencies { code } businessModels { id } invoiceTemplates { id }
         notificationSets { id } customFieldDefinitions { id } customTaxes { id } }""",
]


def _lookups(world: World) -> list[tuple[str, dict[str, Any]]]:
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
        "garbage",
    ]
    return [
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }", {"ids": everything}),
        (
            "query($id: ID!) { node(id: $id) { id ... on CustomerClass { name customerCount } } }",
            {"id": world.shared_class_id},
        ),
        (
            "query($id: ID!) { customerClass(id: $id) { id customers { nodes { id } } } }",
            {"id": world.a.class_id},
        ),
        (
            "query($id: ID!) { customer(id: $id) { id parent { id } customerClass { id } } }",
            {"id": world.a.customer_id},
        ),
        (
            "query($id: ID!) { customers(filter: {parentId: $id}) { nodes { id } } }",
            {"id": world.a.id},
        ),
        (
            "query($id: ID!) { customers(filter: {customerClassId: $id}) { nodes { id } } }",
            {"id": world.default_class_id},
        ),
        (
            "query($id: ID!) { auditEvents(objectId: $id) { nodes { id } } }",
            {"id": world.a.class_id},
        ),
    ]


def test_representative_api_requests_pass_the_guard(world: World, api: Api) -> None:
    """The app's engine has the guard: any unscoped statement would surface as an
    INTERNAL error here. Every request runs as the administrator and as reseller A."""
    requests: list[tuple[str, dict[str, Any]]] = [(query, {}) for query in ADMIN_QUERIES]
    requests += _lookups(world)
    for token in (world.admin_token, world.a.token):
        for query, variables in requests:
            api.data(query, variables, token)


def test_representative_mutations_pass_the_guard(world: World, api: Api) -> None:
    """Writes run reads, locks, updates and audit inserts through the guard too."""
    for token in (world.admin_token, world.a.token):
        class_id = api.create_class(token, name="Guarded", currencyCode="USD")
        api.ok(
            "updateCustomerClass",
            {
                "id": class_id,
                "expectedVersion": 1,
                "description": "d",
                "generalInfo": {"roundingPrecision": 3},
            },
            token,
        )
        api.ok(
            "copyRegularInvoiceSettingsToOutOfTurn",
            {"id": class_id},
            token,
            input_type="CopyRegularInvoiceSettingsInput",
        )
        clone = api.ok(
            "cloneCustomerClass",
            {"id": world.shared_class_id, "name": "Guarded clone"},
            token,
            "customerClass { id }",
        )["customerClass"]["id"]
        customer = api.create_customer(token, name="Guarded customer")
        api.ok("assignCustomerClass", {"customerId": customer, "customerClassId": class_id}, token)
        api.ok("updateCustomerOverrides", {"customerId": customer, "sendStatistics": None}, token)
        api.ok("assignCustomerClass", {"customerId": customer, "customerClassId": None}, token)
        deleted = api.ok("deleteCustomerClasses", {"ids": [clone]}, token, "deletedIds")
        assert deleted["deletedIds"] == [clone]
        secret_payload = api.ok(
            "createApiToken",
            {
                "name": f"guarded {len(token)}{token[-4:]}",
                "role": "RESELLER",
                "resellerId": world.a.id,
                "expiresAt": "2098-01-01T00:00:00Z",
            },
            token,
            "apiToken { id }",
        )
        api.ok("revokeApiToken", {"id": secret_payload["apiToken"]["id"]}, token)
        if token == world.admin_token:
            api.ok("setCustomerClassSharing", {"id": class_id, "shared": True}, token)
            api.ok(
                "createInvoiceTemplate",
                {"name": "Guarded template"},
                token,
                input_type="CreateNamedCatalogEntryInput",
            )
            api.ok("createBusinessModel", {"code": "guarded", "name": "Guarded"}, token)


def test_the_guard_reads_the_from_list_sqlalchemy_would_compile(app: Any, api: Api) -> None:
    """The guard reads a statement's FROM list off SQLAlchemy's private attributes
    (``get_final_froms()`` compiles the statement: milliseconds per call). Every SELECT the
    API runs for a day's work must name the same tenant tables both ways, so an upgrade of
    SQLAlchemy that renames or repurposes those attributes fails here, not in production."""
    seen: list[sa.Select[Any]] = []

    def record(_conn: Any, clauseelement: Any, *_args: Any) -> None:
        if isinstance(clauseelement, sa.Select):
            seen.append(clauseelement)

    for engine in app.state.engines:
        event.listen(engine, "before_execute", record)
    try:
        world = api.world()
        api.run(
            '{ customerClasses(first: 5, filter: {nameContains: "a"}) { totalCount'
            " nodes { name customers { totalCount } } } customers { nodes { name parent { name }"
            " customerClass { name } } } auditEvents(first: 5) { nodes { action } }"
            " apiTokens { name } }",
            token=world.a.token,
        )
    finally:
        for engine in app.state.engines:
            event.remove(engine, "before_execute", record)
    assert len(seen) > 20
    for statement in seen:
        for node in [statement, *visitors.iterate(statement)]:
            if not isinstance(node, sa.Select):
                continue
            ours = {name for _from, name in scoping._reads(node)}
            compiled = {
                name
                for from_ in scoping._flatten(node.get_final_froms())
                if (name := scoping._tenant_table(from_)) is not None
            }
            assert ours == compiled, str(node)
