"""Compiled plans (gql/plans.py) answer exactly as graphql-core does.

Each operation runs twice on the same data, by its compiled plan and by graphql-core
(our executor without a plan), and the two answers must be equal: data, and every error
with its message, locations, path and code, in the same order. First a small schema
that pins each error case (a resolver raising, sync and async; null in non-null fields
propagating to the nearest nullable parent; list items; coercion; ``is_type_of``
refusing; interfaces handed to graphql-core), then the served schema over the seeded
world of tests/api (the bench's and the fixture's documents, chosen error cases and
hypothesis-generated queries, both roles), then registered documents over HTTP, the
path that uses plans in production.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult, parse
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_

from bench.run import PAGE_QUERY, POINT_QUERY
from db.settings import Settings
from gql import execution, plans
from gql.plans import Plan, compile_plan
from tests.api.test_trusted_documents import by_id, register, unregister
from tests.api_client import Api, World
from tests.contract.test_executor_differential import _documents, _scalars

# ----------------------------------------------------------------- a small schema


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    name: str
    size: int | None
    tags: list[str | None]
    codes: list[int]


@strawberry.type
class Other(Named):
    name: str


async def _later(value: Any) -> Any:
    await asyncio.sleep(0)
    if isinstance(value, Exception):
        raise value
    return value


@strawberry.type
class Branch:
    label: str

    @strawberry.field
    def leaf(self, info: strawberry.Info) -> Leaf | None:
        return info.root_value.get("leaf")  # type: ignore[no-any-return]

    @strawberry.field
    def strict_leaf(self, info: strawberry.Info) -> Leaf:
        return info.root_value.get("leaf")  # type: ignore[no-any-return]

    @strawberry.field
    async def later(self, info: strawberry.Info, value: int = 1) -> int:
        return await _later(info.root_value.get("later", value))  # type: ignore[no-any-return]

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError("this field fails")

    @strawberry.field
    def leaves(self, info: strawberry.Info) -> list[Leaf | None] | None:
        return info.root_value.get("leaves")  # type: ignore[no-any-return]

    @strawberry.field
    def later_leaves(self, info: strawberry.Info) -> list[Leaf]:
        return [_later(leaf) for leaf in info.root_value.get("leaves") or []]  # type: ignore[misc]


@strawberry.type
class SmallQuery:
    @strawberry.field
    def branch(self) -> Branch | None:
        return Branch(label="b")

    @strawberry.field
    def strict_branch(self) -> Branch:
        return Branch(label="s")

    @strawberry.field
    def named(self, info: strawberry.Info) -> Named | None:
        return info.root_value.get("named")  # type: ignore[no-any-return]

    @strawberry.field
    def echo(self, text: str, times: int = 1) -> str:
        return text * times


SMALL = strawberry.Schema(query=SmallQuery, types=[Leaf, Other])
SMALL_SCHEMA = SMALL._schema
NAME_OF = SMALL.config.name_converter.from_field
# This schema's executor: its own plain types, no counted lists (install() reads the
# served schema's list maxima).
EXECUTOR: type[execution.BillclassExecutor] = type(
    "SmallExecutor",
    (execution.BillclassExecutor,),
    {"plans": execution.plain_type_plans(SMALL_SCHEMA, NAME_OF), "counted": {}},
)


def _leaf(**changes: Any) -> Leaf:
    fields: dict[str, Any] = {"name": "l", "size": 3, "tags": ["a", None], "codes": [1, 2]}
    return Leaf(**{**fields, **changes})


QUERIES = {
    "fields": '{ branch { label leaf { name size tags codes } } echo(text: "x", times: 2) }',
    "aliases and typename": "{ b: branch { __typename l: label x: leaf { n: name } } "
    "c: branch { label } }",
    "fragments": "query Q { branch { ...B leaf { ...L ... on Leaf { codes } } } } "
    "fragment B on Branch { label leaf { size } } fragment L on Named { name }",
    "async and errors": "{ branch { later fails label } strictBranch { label later } }",
    "null propagates": "{ branch { label strictLeaf { name } } strictBranch { strictLeaf { "
    "name } label } }",
    "lists": "{ branch { leaves { name size tags } laterLeaves { name codes } } }",
    "interface": "{ named { name ... on Leaf { size } ... on Other { __typename } } }",
    "variables": "query V($t: String!, $n: Int) { echo(text: $t, times: $n) "
    "branch { later(value: $n) } }",
    "directives fall back": "query D($s: Boolean!) { branch { label @skip(if: $s) } }",
}
BAD: Any = "x"  # not an Int
ROOTS: dict[str, dict[str, Any]] = {
    "valid": {"leaf": _leaf(), "leaves": [_leaf(), None], "named": _leaf()},
    "other": {"named": Other(name="o"), "leaves": []},
    "null leaf": {"leaf": None, "leaves": [None]},
    "null non-null field": {"leaf": _leaf(name=None), "leaves": [_leaf(name=None)]},
    "does not coerce": {"leaf": _leaf(size=BAD, codes=[1, BAD]), "leaves": [_leaf(size=BAD)]},
    "null item": {"leaf": _leaf(codes=[None]), "leaves": [_leaf(tags=None)]},
    "not a list": {"leaf": _leaf(tags="ab"), "leaves": [_leaf(codes=5)]},
    "exception as value": {"leaf": _leaf(size=ValueError("value")), "later": ValueError("no")},
    "async fails": {"later": RuntimeError("later"), "leaves": [_leaf(), ValueError("item")]},
    "wrong type": {"leaf": Other(name="o"), "leaves": [Other(name="x")]},
}
VARIABLES = {"t": "y", "n": 3, "s": True}


def _outcome(result: ExecutionResult) -> tuple[Any, list[Any]]:
    return result.data, [error.formatted for error in result.errors or []]


def _small(query: str, root: dict[str, Any], compiled: bool) -> tuple[Any, list[Any]]:
    async def run() -> Any:
        executor = EXECUTOR.build(SMALL_SCHEMA, parse(query), root, None, VARIABLES)
        assert not isinstance(executor, list), executor
        assert isinstance(executor, execution.BillclassExecutor)
        if compiled:
            executor.plan = compile_plan(executor, EXECUTOR.counted, NAME_OF)
        result = executor.execute_operation()
        if asyncio.iscoroutine(result):
            result = await result
        while executor.background_futures:
            await asyncio.wait(list(executor.background_futures))
        return result

    return _outcome(asyncio.run(run()))


def test_what_compiles() -> None:
    for name, query in QUERIES.items():
        executor = EXECUTOR.build(SMALL_SCHEMA, parse(query), {}, None, VARIABLES)
        assert not isinstance(executor, list)
        plan = compile_plan(executor, EXECUTOR.counted, NAME_OF)
        assert (plan is None) == (name == "directives fall back"), name
    for query in ("{ __schema { queryType { name } } }", '{ __type(name: "Leaf") { name } }'):
        executor = EXECUTOR.build(SMALL_SCHEMA, parse(query), {})
        assert not isinstance(executor, list)
        assert compile_plan(executor, EXECUTOR.counted, NAME_OF) is None


@pytest.mark.parametrize("query", QUERIES.values(), ids=QUERIES.keys())
@pytest.mark.parametrize("root", ROOTS.values(), ids=ROOTS.keys())
def test_small_schema_answers_as_graphql_core(query: str, root: dict[str, Any]) -> None:
    assert _small(query, root, True) == _small(query, root, False)


def test_the_cases_have_errors() -> None:
    """The comparison above covers errors, not only data: null propagation to the root
    and to a nullable parent, failing async fields and list items, a wrong object."""
    data, errors = _small(QUERIES["null propagates"], ROOTS["null non-null field"], True)
    assert data is None  # strictBranch: String! in Leaf! in Branch! in the root
    assert [e["path"] for e in errors] == [
        ["branch", "strictLeaf", "name"],
        ["strictBranch", "strictLeaf", "name"],
    ]
    data, errors = _small(QUERIES["lists"], ROOTS["async fails"], True)
    assert data == {"branch": None}  # an item of [Leaf!]! failed: its branch is null
    assert [e["path"] for e in errors] == [["branch", "leaves", 1], ["branch", "laterLeaves", 1]]
    _, errors = _small(QUERIES["async and errors"], ROOTS["async fails"], True)
    assert [e["message"] for e in errors] == ["this field fails", "later", "later"]
    data, errors = _small(QUERIES["fields"], ROOTS["wrong type"], True)
    assert data["branch"]["leaf"] is None
    assert errors[0]["path"] == ["branch", "leaf", "size"]


# ------------------------------------------------------------- the served schema


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Rate limits and admission pacing off: both runs must see the same requests."""
    return Settings(
        database_url=database_url, rate_token_bucket=0, rate_tenant_bucket=0, tenant_concurrency=0
    )


def _answer(response: Any) -> tuple[int, Any]:
    body = response.json()
    body.pop("extensions", None)  # the cost: the same, but the buckets move
    return response.status_code, body


class Compiling:
    """Attach a freshly compiled plan to every executor the endpoint builds (ad-hoc
    documents included) while ``on``; count the operations a plan ran."""

    def __init__(self, endpoint: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on = False
        self.ran = 0
        original = endpoint._bind

        def bind(*args: Any) -> Any:
            executor = original(*args)
            if self.on:
                executor.plan = compile_plan(
                    executor, endpoint.executor_class.counted, endpoint.name_of
                )
                if executor.plan is not None:
                    self.ran += 1
            return executor

        monkeypatch.setattr(endpoint, "_bind", bind)

    def both(self, post: Any, *args: Any, **kwargs: Any) -> list[tuple[int, Any]]:
        answers = []
        for on in (True, False):
            self.on = on
            answers.append(_answer(post(*args, **kwargs)))
        self.on = False
        return answers


FIXTURE = Path(__file__).parents[1] / "fixtures" / "persisted-documents.json"
REVOKE = (
    "mutation Revoke($id: ID!) { revokeApiToken(input: {id: $id}) {"
    " apiToken { id } userErrors { field message code } } }"
)
ERROR_CASES = [
    # A field error (a malformed cursor) and its siblings.
    'query { viewer { role } customerClasses(first: 2, after: "nope") { totalCount } }',
    # Null where an ID is unknown, an interface (node) handed to graphql-core.
    'query { customerClass(id: "Q3VzdG9tZXJDbGFzczo5OTk5OTk=") { id } '
    'node(id: "Q3VzdG9tZXJDbGFzczo5OTk5OTk=") { id } }',
    # A page size beyond the limit: refused with its code before execution.
    "query { customerClasses(first: 1000) { nodes { id } } }",
]


def _world_documents(world: World) -> list[tuple[str, dict[str, Any] | None]]:
    documents: list[tuple[str, dict[str, Any] | None]] = [
        (POINT_QUERY, {"id": world.a.class_id}),
        (POINT_QUERY, {"id": world.shared_class_id}),
        (POINT_QUERY, {"id": world.b.class_id}),
        (PAGE_QUERY, {"first": 50}),
        (PAGE_QUERY, {"first": 1, "after": None}),
        (PAGE_QUERY, {"first": "fifty"}),  # variables that do not coerce: BAD_USER_INPUT
        (PAGE_QUERY, {"first": 5, "after": "not a cursor"}),
        (
            "query N($a: ID!, $b: ID!) { node(id: $a) { id ... on CustomerClass { name"
            " generalInfo { roundingMethod } } } nodes(ids: [$a, $b]) { __typename id } }",
            {"a": world.a.class_id, "b": world.b.id},
        ),
        *((text, {"id": world.a.class_id}) for text in json.loads(FIXTURE.read_text()).values()),
        *((text, None) for text in ERROR_CASES),
    ]
    return documents


@pytest.mark.parametrize("role", ["administrator", "reseller"])
def test_served_documents_answer_as_graphql_core(
    app: Any, api: Api, world: World, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiling = Compiling(app.state.endpoint, monkeypatch)
    token = world.admin_token if role == "administrator" else world.a.token
    errors = 0
    for text, variables in _world_documents(world):
        compiled, stock = compiling.both(api.post, text, variables, token=token)
        assert compiled == stock, (text, variables)
        errors += bool(compiled[1].get("errors"))
    assert compiling.ran >= 10  # the plans ran, not graphql-core for every document
    assert errors >= 4  # error cases were compared, not only successes


def test_generated_queries_answer_as_graphql_core(
    app: Any, api: Api, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiling = Compiling(app.state.endpoint, monkeypatch)
    answered = []

    @settings_(
        max_examples=30,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )
    @given(document=_documents(_scalars(world)))
    def compare(document: str) -> None:
        for token in (world.admin_token, world.a.token):
            compiled, stock = compiling.both(api.post, document, token=token)
            assert compiled == stock, document
            answered.append(compiled[1].get("data") is not None)

    compare()
    assert sum(answered) >= 20, answered
    assert compiling.ran >= 10, compiling.ran


def test_statements_are_the_same_with_a_plan(
    app: Any, api: Api, world: World, sql_statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    compiling = Compiling(app.state.endpoint, monkeypatch)
    counts = []
    for on in (True, False):
        compiling.on = on
        api.post(PAGE_QUERY, {"first": 50}, token=world.a.token)  # token cache warm
        sql_statements.clear()
        response = api.post(PAGE_QUERY, {"first": 50}, token=world.a.token)
        assert not response.json().get("errors")
        counts.append(list(sql_statements))
    assert compiling.ran == 2
    assert counts[0] == counts[1]


# ------------------------------------------------------------- registered documents


def test_registered_documents_run_their_plans(
    app: Any, api: Api, world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The production path: a document sent by ID runs its plan (compiled once per
    worker and operation); the same without plans answers the same."""
    endpoint = app.state.endpoint
    point, page, revoke, fixture_ids = (
        *register(database_url, POINT_QUERY, PAGE_QUERY, REVOKE),
        register(database_url, *json.loads(FIXTURE.read_text()).values()),
    )
    ran: list[Plan] = []
    original_execute, original_plan = Plan.execute, endpoint._plan
    enabled = True

    def spy(self: Plan, executor: Any) -> Any:
        ran.append(self)
        return original_execute(self, executor)

    def plan(trusted: Any, executor: Any) -> Any:
        return original_plan(trusted, executor) if enabled else None

    monkeypatch.setattr(Plan, "execute", spy)
    monkeypatch.setattr(endpoint, "_plan", plan)
    client: Any = api.client
    requests: list[tuple[str, str | None, dict[str, Any]]] = [
        (point, "ClassHeader", {"id": world.a.class_id}),
        (point, "ClassHeader", {"id": world.b.class_id}),
        (point, "ClassHeader", {"id": 5}),  # an ID variable that does not coerce
        (page, "ClassPage", {"first": 3}),
        (page, "ClassPage", {"first": 3, "after": "nope"}),
        # A mutation (never compiled): its userErrors, the same by graphql-core.
        (revoke, "Revoke", {"id": "QXBpVG9rZW46OTk5OTk5"}),
        *((i, None, {"id": world.a.class_id}) for i in fixture_ids),
    ]
    for doc_id, operation, variables in requests:
        extra = {"operationName": operation} if operation else {}
        answers = []
        for enabled in (True, False):  # noqa: B007 (read by plan())
            answers.append(_answer(by_id(client, world.a.token, doc_id, variables, **extra)))
        enabled = True
        assert answers[0] == answers[1], (operation, variables)
        if doc_id == revoke:
            assert answers[0][1]["data"]["revokeApiToken"]["userErrors"][0]["code"]
    assert len(ran) >= 6
    compiled = {id(plan) for plan in ran}
    assert len(compiled) == 2 + len(fixture_ids)  # one plan per document, reused
    mutation = next(t for t in endpoint.trusted._entries.values() if t[0].id == revoke)[0]
    assert list(mutation.plans.values()) == [None]  # graphql-core ran it

    # BILLCLASS_COMPILED_PLANS=0: graphql-core runs every registered document.
    endpoint.compiled_plans = False
    before = len(ran)
    response = by_id(client, world.a.token, point, {"id": world.a.class_id})
    assert response.json()["data"]["customerClass"]["id"] == world.a.class_id
    assert len(ran) == before
    endpoint.compiled_plans = True

    # A removed document stops working (its plan goes with its cache entry).
    unregister(database_url, point)
    endpoint.trusted.recheck_seconds = 0
    response = by_id(client, world.a.token, point, {"id": world.a.class_id})
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_DOCUMENT_NOT_FOUND"


def test_mutations_are_not_compiled(app: Any, api: Api, world: World) -> None:
    mutation = 'mutation { createApiToken(input: {name: "x", role: ADMINISTRATOR}) { token } }'
    executor = app.state.endpoint.executor_class.build(
        app.state.endpoint.schema, parse(mutation), None, None, None
    )
    assert compile_plan(executor, {}, app.state.endpoint.name_of) is None
    assert plans.compile_plan is compile_plan
