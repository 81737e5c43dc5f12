"""Our executor (gql/execution.py) answers exactly as graphql-core's own would.

Its direct completion of plain types must keep graphql-core's semantics: ``is_type_of``,
non-null, list and coercion errors with graphql-core's messages and paths. A small
schema pins each case; the served schema is then compared on hypothesis-generated
queries, as both roles, over the seeded world of tests/api.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult, GraphQLObjectType, parse
from graphql.execution import Executor
from graphql.execution import executor as graphql_executor

from db.settings import Settings
from gql import cli, execution
from gql.app import create_app
from gql.schema import graphql_schema, schema


def _outcome(result: ExecutionResult) -> tuple[Any, list[tuple[str, list[str | int] | None]]]:
    errors = [(error.message, error.path) for error in result.errors or []]
    return result.data, errors


# ----------------------------------------------------------------- a schema of plain types


@strawberry.interface
class Shape:
    id: strawberry.ID


@strawberry.type
class Size:
    width: int
    height: int | None


@strawberry.type
class Square(Shape):
    name: str
    size: Size | None
    tags: list[str]


@strawberry.type
class Circle(Shape):
    name: str


@dataclass
class Stranger:
    """Not a Square, though it has every attribute one has: is_type_of refuses it."""

    id: str = "1"
    name: str = "stranger"
    size: Any = None
    tags: Any = ()


@strawberry.type
class Box:
    size: Size
    sizes: list[Size | None]


@strawberry.type
class SmallQuery:
    @strawberry.field
    def square(self, info: strawberry.Info) -> Square | None:
        return info.root_value["square"]

    @strawberry.field
    def box(self, info: strawberry.Info) -> Box | None:
        return info.root_value["box"]


SMALL = strawberry.Schema(query=SmallQuery, types=[Circle])
SMALL_SCHEMA = SMALL._schema
QUERY = """
{ square { __typename id n: name size { width height } tags ...S }
  box { size { width } sizes { width height } } }
fragment S on Square { name }
"""


def _small(executor_class: Any, root: dict[str, Any]) -> ExecutionResult:
    executor = executor_class.build(SMALL_SCHEMA, parse(QUERY), root)
    assert not isinstance(executor, list), executor
    result = executor.execute_operation()
    assert isinstance(result, ExecutionResult)
    return result


# The served schema's executor, with this schema's plans (no list is counted here).
SMALL_EXECUTOR = type(
    "SmallExecutor",
    (execution.BillclassExecutor,),
    {"plans": execution.plain_type_plans(SMALL_SCHEMA, SMALL.config.name_converter.from_field)},
)


def _square(**changes: Any) -> Any:
    fields: dict[str, Any] = {
        "id": "7",
        "name": "s",
        "size": Size(width=1, height=2),
        "tags": ["a", "b"],
    }
    return Square(**{**fields, **changes})


def _box(**changes: Any) -> Any:
    fields: dict[str, Any] = {
        "size": Size(width=3, height=None),
        "sizes": [Size(width=4, height=5)],
    }
    return Box(**{**fields, **changes})


def test_the_small_schema_is_completed_directly() -> None:
    assert set(SMALL_EXECUTOR.plans) == {"Square", "Circle", "Size", "Box"}
    assert SMALL_SCHEMA.type_map["Square"].is_type_of is not None  # type: ignore[union-attr]


SMALL_CASES = {
    "valid": {"square": _square(), "box": _box()},
    "is_type_of refuses": {"square": Stranger(), "box": _box()},
    "a Circle for a Square": {"square": Circle(id="1", name="c"), "box": _box()},
    "null non-null leaf": {"square": _square(name=None), "box": _box()},
    "null non-null object": {"square": _square(), "box": _box(size=None)},
    "null nullable object": {"square": _square(size=None), "box": _box()},
    "null nullable item": {"square": _square(), "box": _box(sizes=[None, Size(width=1, height=1)])},
    "null non-null item": {"square": _square(tags=["a", None]), "box": _box()},
    "leaf does not coerce": {"square": _square(size=Size(width=1, height="x")), "box": _box()},
    "non-null leaf does not coerce": {
        "square": _square(),
        "box": _box(size=Size(width="x", height=1)),
    },
    "string for a list": {"square": _square(tags="ab"), "box": _box()},
    "exception as a value": {"square": _square(size=ValueError("boom")), "box": _box()},
    "tuple for a list": {"square": _square(tags=("a",)), "box": _box(sizes=())},
}


@pytest.mark.parametrize("root", SMALL_CASES.values(), ids=SMALL_CASES.keys())
def test_small_schema_answers_as_graphql_core(root: dict[str, Any]) -> None:
    ours = _outcome(_small(SMALL_EXECUTOR, root))
    assert ours == _outcome(_small(Executor, root))


def test_is_type_of_refusal_is_graphql_cores_error() -> None:
    data, errors = _outcome(_small(SMALL_EXECUTOR, SMALL_CASES["is_type_of refuses"]))
    assert data is not None and data["square"] is None
    assert errors == [
        (
            "Expected value of type 'Square' but got: <Stranger instance>.",
            ["square"],
        )
    ]


def test_direct_completion_is_taken_when_nothing_is_unusual(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slow: list[str] = []
    original = Executor.complete_object_value

    def spy(self: Any, return_type: GraphQLObjectType, *args: Any) -> Any:
        slow.append(return_type.name)
        return original(self, return_type, *args)

    monkeypatch.setattr(Executor, "complete_object_value", spy)
    _small(SMALL_EXECUTOR, SMALL_CASES["valid"])
    assert slow == []  # every object completed directly
    _small(SMALL_EXECUTOR, SMALL_CASES["null non-null leaf"])
    assert slow == ["Square"]  # handed to graphql-core, which reports the error


def test_node_types_are_never_completed_as_nested_plain_fields() -> None:
    """is_type_of is called with the field's own info: a type that has one is entered
    from graphql-core's completion only."""
    plans = execution.install(graphql_schema, schema.config.name_converter.from_field).plans
    node_types = {
        name
        for name in plans
        if graphql_schema.type_map[name].is_type_of is not None  # type: ignore[union-attr]
    }
    assert node_types == {
        "BusinessModel",
        "InvoiceTemplate",
        "NotificationSet",
        "CustomFieldDefinition",
        "CustomTax",
    }
    nested = {
        field.object_type.name
        for plan in plans.values()
        for field in plan.values()
        if field.object_type is not None
    }
    assert not nested & node_types


# ------------------------------------------------------ siblings of a failing field settle

SETTLED: list[str] = []


async def _slow(name: str) -> str:
    for _ in range(5):
        await asyncio.sleep(0)
    SETTLED.append(name)
    return name


async def _fail() -> str:
    await asyncio.sleep(0)
    raise ValueError("bad cursor")


@strawberry.type
class Pair:
    @strawberry.field
    async def fails(self) -> str:
        return await _fail()

    @strawberry.field
    async def slow(self) -> str | None:
        return await _slow("field")


@strawberry.type
class SiblingQuery:
    @strawberry.field
    def pair(self) -> Pair | None:
        return Pair()

    @strawberry.field
    def items(self) -> list[str] | None:
        return [_fail(), _slow("item")]  # type: ignore[list-item]


SIBLINGS = strawberry.Schema(query=SiblingQuery)._schema


@pytest.mark.parametrize(
    ("query", "settled"), [("{ pair { fails slow } }", "field"), ("{ items }", "item")]
)
def test_a_failing_field_lets_its_siblings_finish(query: str, settled: str) -> None:
    """graphql-core would cancel the sibling mid-statement (and SQLAlchemy drop the
    request's connection); this fails if graphql-core stops awaiting siblings through
    the global that gql/execution.py replaces."""
    execution.apply_sibling_fix()
    SETTLED.clear()

    async def run() -> ExecutionResult:
        executor = Executor.build(SIBLINGS, parse(query))
        assert not isinstance(executor, list)
        result = executor.execute_operation()
        assert isinstance(result, Awaitable)
        return await result

    result = asyncio.run(run())
    assert [error.message for error in result.errors or []] == ["bad cursor"]
    assert [settled] == SETTLED  # finished before the error was raised, not cancelled


def test_graphql_core_still_has_the_global_that_is_replaced() -> None:
    execution.apply_sibling_fix()
    assert graphql_executor.gather_with_cancel is execution.settled_gather  # type: ignore[attr-defined]


def test_a_renamed_global_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delattr(graphql_executor, "gather_with_cancel")
    with pytest.raises(execution.ExecutorMismatch, match="gather_with_cancel is gone"):
        execution.apply_sibling_fix()
    with pytest.raises(execution.ExecutorMismatch):
        create_app(Settings(database_url="sqlite+aiosqlite:///unused.db"))
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("billclass: error: graphql-core ")
    assert err.count("\n") == 1, err


def test_a_method_that_no_longer_calls_it_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def execute_fields(self: Any, *args: Any) -> Any:
        return asyncio.gather(*args)

    monkeypatch.setattr(Executor, "execute_fields", execute_fields)
    with pytest.raises(execution.ExecutorMismatch, match=r"execute_fields no longer calls"):
        execution.apply_sibling_fix()
