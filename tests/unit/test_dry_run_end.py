"""The executor ends a dry run with its root mutation field (gql/execution.py, 4): after
the field's whole selection is complete, before the next root field runs, whatever that
field's resolver does. So no mutation field can run inside an earlier field's dry-run
savepoint and be rolled back with it."""

from __future__ import annotations

import asyncio
from typing import Any

import strawberry
from graphql import parse

from gql import execution
from gql.context import Context
from tenancy.principal import Principal, Role

calls: list[str] = []


class FakeSavepoint:
    is_active = True

    async def rollback(self) -> None:
        calls.append("rollback")
        self.is_active = False


@strawberry.type
class Payload:
    @strawberry.field
    async def nested(self) -> str:
        await asyncio.sleep(0)  # resolved after the root resolver returned
        calls.append("nested")
        return "would-be"


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def dry(self, info: strawberry.Info[Context, Any]) -> Payload:
        calls.append("dry")
        info.context.dry_run = FakeSavepoint()  # type: ignore[assignment]
        return Payload()

    @strawberry.mutation
    async def real(self, info: strawberry.Info[Context, Any]) -> bool:
        # A resolver that does not go through gql.mutation.run.
        calls.append("real, dry run open" if info.context.dry_run else "real")
        return True


def run(document: str) -> Any:
    schema = strawberry.Schema(query=Query, mutation=Mutation)
    graphql_schema = schema._schema
    # No plain-type plans and nothing counted: only the dry-run end is under test.
    executor_class = execution.BillclassExecutor
    context = Context(
        principal=Principal(
            role=Role.ADMINISTRATOR, reseller_id=None, token_id=None, token_name="t"
        ),
        request_id="r",
    )
    context.bind(None)  # type: ignore[arg-type]  # no statement runs here
    executor = executor_class.build(graphql_schema, parse(document), Query(), context)
    assert isinstance(executor, execution.BillclassExecutor)

    async def execute() -> Any:
        result = executor.execute_operation()
        return await result if asyncio.iscoroutine(result) else result

    return asyncio.run(execute()), context


def test_a_dry_run_ends_after_its_payload_and_before_the_next_field() -> None:
    calls.clear()
    result, context = run("mutation { a: dry { nested } b: real c: dry { nested } }")
    assert result.errors is None
    assert result.data == {"a": {"nested": "would-be"}, "b": True, "c": {"nested": "would-be"}}
    assert calls == ["dry", "nested", "rollback", "real", "dry", "nested", "rollback"]
    assert context.dry_run is None


def test_queries_are_untouched() -> None:
    calls.clear()
    result, _context = run("{ ok }")
    assert result.data == {"ok": True}
    assert calls == []
