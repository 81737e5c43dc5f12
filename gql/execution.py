"""How graphql-core executes our schema: two adjustments to its executor.

1. **Plain types are completed directly.** Most of a customer class's output (its tabs:
   general info, payment terms, past-due policy, notification settings, ...) is made of
   types whose fields are plain attributes of leaf types. graphql-core resolves and
   completes each such field on its own (about 6 µs a field; a page of 50 classes with
   every tab has ~9,000 of them). For those types, and only those, the executor below
   builds the result dictionary straight from the source object, after graphql-core's
   own ``collect_subfields`` (so aliases, fragments, ``@skip``/``@include`` and
   ``__typename`` behave exactly as before) and with each leaf coerced by its GraphQL
   type. Types with any resolver (data loaders, arguments) go through the normal path.

2. **Sibling fields are not cancelled.** When a field fails, graphql-core cancels its
   still-running siblings. They share the request's one database connection, and a task
   cancelled in the middle of a statement makes SQLAlchemy invalidate that connection,
   turning a client error in one field (a bad cursor, say) into a 503 for the request.
   ``settled_gather`` lets the siblings finish first, then raises.
"""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
)
from graphql.execution import Executor
from graphql.execution import executor as graphql_executor

# type name -> {field name: (python attribute, GraphQL field type)}
Plan = dict[str, tuple[str, Any]]


def plain_type_plans(schema: GraphQLSchema, name_of: Any) -> dict[str, Plan]:
    """Object types whose every field is a plain attribute of a leaf or plain type."""
    candidates = {
        name: type_
        for name, type_ in schema.type_map.items()
        if isinstance(type_, GraphQLObjectType)
        and "strawberry-definition" in (type_.extensions or {})
        and type_ not in (schema.query_type, schema.mutation_type)
    }
    plans: dict[str, Plan] = {}
    for name, type_ in candidates.items():
        definition = type_.extensions["strawberry-definition"]
        if all(field.base_resolver is None for field in definition.fields):
            plans[name] = {
                name_of(field): (field.python_name, type_.fields[name_of(field)].type)
                for field in definition.fields
            }
    # Keep only types whose object-typed fields are plain too (a fixed point).
    changed = True
    while changed:
        changed = False
        for name, plan in list(plans.items()):
            for _python_name, field_type in plan.values():
                named = get_named_type(field_type)
                if not is_leaf_type(named) and named.name not in plans:
                    del plans[name]
                    changed = True
                    break
    return plans


class BillclassExecutor(Executor[Any]):
    plans: dict[str, Plan] = {}

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        plan = self.plans.get(return_type.name)
        if plan is None:
            return super().complete_object_value(
                return_type, field_details_list, info, path, result, position_context
            )
        return self._plain_object(return_type, plan, field_details_list, result)

    def _plain_object(
        self, type_: GraphQLObjectType, plan: Plan, field_details_list: Any, source: Any
    ) -> dict[str, Any]:
        grouped = self.collect_subfields(type_, field_details_list).grouped_field_set
        completed: dict[str, Any] = {}
        for key, group in grouped.items():
            name = group[0].node.name.value
            if name == "__typename":
                completed[key] = type_.name
                continue
            python_name, field_type = plan[name]
            completed[key] = self._plain_value(field_type, group, getattr(source, python_name))
        return completed

    def _plain_value(self, type_: Any, group: Any, value: Any) -> Any:
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                raise GraphQLError("Cannot return null for a non-nullable field.")
            type_ = type_.of_type
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            return [self._plain_value(type_.of_type, group, item) for item in value]
        if is_leaf_type(type_):
            return type_.coerce_output_value(value)
        return self._plain_object(type_, self.plans[type_.name], group, value)


async def settled_gather(*awaitables: Any) -> list[Any]:
    """Await sibling resolvers together; when one fails, let the others finish, then raise."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def install(schema: GraphQLSchema, name_of: Any) -> type[BillclassExecutor]:
    BillclassExecutor.plans = plain_type_plans(schema, name_of)
    graphql_executor.gather_with_cancel = settled_gather
    return BillclassExecutor
