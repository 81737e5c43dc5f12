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

3. **Returned objects are counted** (SPEC §7 actual cost): the items of every list of
   objects with a maximum (``gql.limits.list_maxima``), each connection's page once
   (whether edges, nodes or both are selected) and the non-null entries of nodes(ids:),
   which is what the requested cost charged for. Counting is one dictionary lookup per
   list completed, before its items are: when the count passes MAX_OBJECTS, the list is
   not completed, every later list fails the same way, and the endpoint answers
   ``QUERY_TOO_COMPLEX`` without data (``overrun``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sized
from typing import Any, NamedTuple

from graphql import (
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    is_leaf_type,
)
from graphql.execution import Executor
from graphql.execution import executor as graphql_executor

from gql.limits import MAX_OBJECTS, LimitExceeded, is_connection, list_maxima
from tenancy.errors import TopLevelCode

# How the items of a list field are counted as returned objects.
_ITEMS = 1  # a list of objects: every item
_PAGE = 2  # a connection's edges or nodes: the page once per connection
_ENTRIES = 3  # nodes(ids:): the entries that resolved to an object


# How one field of a plain type is completed: its attribute, whether it is non-null,
# whether it is a list, and either the leaf's output coercion or the nested plain type.
class _Field(NamedTuple):
    attribute: str
    non_null: bool
    is_list: bool
    item_non_null: bool
    coerce: Any  # leaf: its coerce_output_value; object: None
    object_type: GraphQLObjectType | None
    counted: bool = False  # a list whose items count as returned objects


Plan = dict[str, _Field]


def _field_plan(python_name: str, type_: Any) -> _Field:
    non_null = isinstance(type_, GraphQLNonNull)
    if non_null:
        type_ = type_.of_type
    is_list = isinstance(type_, GraphQLList)
    item_non_null = False
    if is_list:
        type_ = type_.of_type
        item_non_null = isinstance(type_, GraphQLNonNull)
        if item_non_null:
            type_ = type_.of_type
    if is_leaf_type(type_):
        return _Field(
            python_name, non_null, is_list, item_non_null, type_.coerce_output_value, None
        )
    return _Field(python_name, non_null, is_list, item_non_null, None, type_)


def plain_type_plans(
    schema: GraphQLSchema, name_of: Any, counted: frozenset[tuple[str, str]] = frozenset()
) -> dict[str, Plan]:
    """Object types whose every field is a plain attribute of a leaf or plain type;
    ``counted`` names the lists of objects whose items count as returned objects."""
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
                name_of(field): _field_plan(
                    field.python_name, type_.fields[name_of(field)].type
                )._replace(counted=(name, name_of(field)) in counted)
                for field in definition.fields
            }
    # Keep only types whose object-typed fields are plain too (a fixed point).
    changed = True
    while changed:
        changed = False
        for name, plan in list(plans.items()):
            if any(
                f.object_type is not None and f.object_type.name not in plans for f in plan.values()
            ):
                del plans[name]
                changed = True
    return plans


def counted_lists(schema: GraphQLSchema) -> dict[tuple[str, str], int]:
    """(type, field) of every list whose items count as returned objects, and how."""
    counted = {key: _ITEMS for key, maximum in list_maxima(schema).items() if maximum > 0}
    counted[("Query", "nodes")] = _ENTRIES
    for name, type_ in schema.type_map.items():
        if is_connection(type_):
            counted[(name, "edges")] = _PAGE
            counted[(name, "nodes")] = _PAGE
    return counted


class BillclassExecutor(Executor[Any]):
    plans: dict[str, Plan] = {}
    counted: dict[tuple[str, str], int] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Objects returned so far (SPEC §7 actual cost, without the mutation fields).
        self.objects = 0
        # The refusal, once the count passed MAX_OBJECTS: the response holds no data.
        self.overrun: LimitExceeded | None = None
        # Connections whose page was counted, by id of their path (kept alive here, so
        # that an id is never reused while execution runs).
        self._pages: dict[int, Any] = {}

    def _count(self, objects: int) -> None:
        if self.overrun is not None:  # refused already: no more lists are completed
            raise self.overrun
        self.objects += objects
        if self.objects > MAX_OBJECTS:
            self.overrun = LimitExceeded(
                TopLevelCode.QUERY_TOO_COMPLEX,
                f"The response would hold more than {MAX_OBJECTS} objects, the limit;"
                " ask for smaller pages or fewer nested lists.",
            )
            raise self.overrun

    def complete_list_value(
        self,
        return_type: Any,
        field_details_list: Any,
        info: Any,
        path: Any,
        result: Any,
        position_context: Any,
    ) -> Any:
        how = self.counted.get((info.parent_type.name, info.field_name))
        if how is not None:
            if not isinstance(result, Sized):
                result = list(result)
            if how == _ITEMS:
                self._count(len(result))
            elif how == _PAGE:
                connection = path.prev
                if id(connection) not in self._pages:
                    self._pages[id(connection)] = connection
                    self._count(len(result))
            else:
                self._count(sum(item is not None for item in result))
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

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
            field = plan[name]
            value = getattr(source, field.attribute)
            if value is None:
                if field.non_null:
                    raise GraphQLError(f"Cannot return null for non-nullable field {name}.")
                completed[key] = None
            elif not field.is_list:
                completed[key] = self._plain_item(field, group, value)
            else:
                if field.item_non_null and any(item is None for item in value):
                    raise GraphQLError(f"Cannot return null for an item of {name}.")
                if field.counted:
                    self._count(len(value))
                completed[key] = [
                    None if item is None else self._plain_item(field, group, item) for item in value
                ]
        return completed

    def _plain_item(self, field: _Field, group: Any, value: Any) -> Any:
        if field.coerce is not None:
            return field.coerce(value)
        object_type = field.object_type
        assert object_type is not None
        return self._plain_object(object_type, self.plans[object_type.name], group, value)


async def settled_gather(*awaitables: Any) -> list[Any]:
    """Await sibling resolvers together; when one fails, let the others finish, then raise."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def install(schema: GraphQLSchema, name_of: Any) -> type[BillclassExecutor]:
    counted = counted_lists(schema)
    BillclassExecutor.counted = counted
    BillclassExecutor.plans = plain_type_plans(schema, name_of, frozenset(counted))
    graphql_executor.gather_with_cancel = settled_gather  # type: ignore[attr-defined]
    return BillclassExecutor
