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
   The direct path is only taken while nothing unusual happens: a type's ``is_type_of``
   is called as graphql-core calls it (with the field's own ``info``, so a type that has
   one is never completed as a nested field of another plain type), and when it refuses
   the value, or a value is null where the schema says non-null, is not a list where it
   says list, or does not coerce, the object is completed again by graphql-core itself.
   Plain fields have no resolver, so completing again repeats nothing but attribute
   reads, and every error (message, path, nulled parent) is exactly graphql-core's.
   tests/contract/test_executor_differential.py compares both executors on random
   queries.

2. **Sibling fields are not cancelled.** When a field fails, graphql-core cancels its
   still-running siblings. They share the request's one database connection, and a task
   cancelled in the middle of a statement makes SQLAlchemy invalidate that connection,
   turning a client error in one field (a bad cursor, say) into a 503 for the request.
   ``settled_gather`` lets the siblings finish first, then raises. graphql-core 3.3 has
   no extension point for this: ``Executor.execute_fields`` and
   ``complete_iterable_value`` call the module global
   ``graphql.execution.executor.gather_with_cancel``, which ``apply_sibling_fix``
   replaces (process-wide) after checking that graphql-core still has it and still
   calls it there; otherwise the service refuses to start (``ExecutorMismatch``, from
   ``billclass serve`` and ``create_app``), and tests/contract fails on the upgrade.

3. **Returned objects are counted** (SPEC §7 actual cost): the items of every list of
   objects with a maximum (``gql.limits.list_maxima``), each connection's page once
   (whether edges, nodes or both are selected) and the non-null entries of nodes(ids:),
   which is what the requested cost charged for. Counting is one dictionary lookup per
   list completed, before its items are: when the count passes MAX_OBJECTS, the list is
   not completed, every later list fails the same way, and the endpoint answers
   ``QUERY_TOO_COMPLEX`` without data (``overrun``).

4. **A dry run ends with its root field** (issue 11). A dry-run mutation field leaves
   its savepoint open so that the payload's nested fields read the would-be state
   (``gql.mutation``); once graphql-core has completed that root field, selection and
   all, ``Context.end_dry_run`` rolls it back, before the next root field starts
   (root mutation fields run one after another). Doing it here rather than in
   ``mutation.run`` means no later mutation field, however its resolver is written,
   can run inside a dry run's savepoint and be rolled back with it.

5. **A registered query may run by its compiled plan** (gql/plans.py): the endpoint sets
   ``plan`` and ``execute_operation`` hands the executor to it; the plan uses this
   executor's counting (``count_list``), error handling and background settling, so
   points 2 and 3 hold for it as they do here.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sized
from types import CodeType
from typing import Any, NamedTuple

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
    pyutils,
)
from graphql import version as graphql_version
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


def _is_basic(field: Any) -> bool:
    """A strawberry field that reads its attribute (``getattr``) and nothing else: no
    resolver, no field extension (strawberry's own ``is_basic_field``)."""
    return field.base_resolver is None and not field.extensions


def plain_type_plans(
    schema: GraphQLSchema, name_of: Any, counted: frozenset[tuple[str, str]] = frozenset()
) -> dict[str, Plan]:
    """Object types whose every field is a plain attribute of a leaf or plain type;
    ``counted`` names the lists of objects whose items count as returned objects (each
    item counted: connection pages and nodes(ids:) are never fields of a plain type).

    A type with ``is_type_of`` (a Node type) is plain only where graphql-core completes
    it, never as a nested field of another plain type: ``is_type_of`` is called with the
    field's resolve info, which only graphql-core's path builds. A coroutine
    ``is_type_of`` keeps its type out altogether."""
    candidates = {
        name: type_
        for name, type_ in schema.type_map.items()
        if isinstance(type_, GraphQLObjectType)
        and "strawberry-definition" in (type_.extensions or {})
        and type_ not in (schema.query_type, schema.mutation_type)
        and not inspect.iscoroutinefunction(type_.is_type_of)
    }
    plans: dict[str, Plan] = {}
    for name, type_ in candidates.items():
        definition = type_.extensions["strawberry-definition"]
        if all(_is_basic(field) for field in definition.fields):
            plans[name] = {
                name_of(field): _field_plan(
                    field.python_name, type_.fields[name_of(field)].type
                )._replace(counted=(name, name_of(field)) in counted)
                for field in definition.fields
            }
    # Keep only types whose object-typed fields are plain too, and of types without
    # is_type_of (a fixed point).
    changed = True
    while changed:
        changed = False
        for name, plan in list(plans.items()):
            if any(
                f.object_type is not None
                and (f.object_type.name not in plans or f.object_type.is_type_of is not None)
                for f in plan.values()
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
        # A registered operation's compiled plan (gql/plans.py), set by the endpoint.
        self.plan: Any = None
        # What resolvers return outside counted lists is counted by them (Context).
        if hasattr(self.context_value, "count_objects"):
            self.context_value.count_objects = self._count

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        result = super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
        if parent_type is not self.schema.mutation_type or result is Undefined:
            return result
        return self._ending_dry_run(result)

    async def _ending_dry_run(self, result: Any) -> Any:
        """A root mutation field's completed value, its dry run (if any) rolled back."""
        try:
            return await result if self.is_awaitable(result) else result
        finally:
            end_dry_run = getattr(self.context_value, "end_dry_run", None)
            if end_dry_run is not None:
                await end_dry_run()

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
            self.count_list(how, path, result)
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def count_list(self, how: int, path: Any, result: Sized) -> None:
        """Count a list's returned objects, as ``how`` says (gql/plans.py too)."""
        if how == _ITEMS:
            self._count(len(result))
        elif how == _PAGE:
            connection = path.prev
            if id(connection) not in self._pages:
                self._pages[id(connection)] = connection
                self._count(len(result))
        else:
            self._count(sum(item is not None for item in result))  # type: ignore[attr-defined]

    def execute_operation(self, serially: bool | None = None) -> Any:
        """The operation, by its compiled plan when it has one (gql/plans.py)."""
        if self.plan is not None and serially is None:
            return self.plan.execute(self)
        return super().execute_operation(serially)

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
        if plan is not None:
            objects = self.objects
            try:
                # graphql-core's own check, with the same arguments; a refusal (or an
                # awaitable answer) is graphql-core's to report, below.
                is_type_of = return_type.is_type_of
                if is_type_of is None or is_type_of(result, info) is True:
                    return self._plain_object(return_type, plan, field_details_list, result)
            except _NotPlain:
                self.objects = objects  # graphql-core counts the same lists again
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def _plain_object(
        self, type_: GraphQLObjectType, plan: Plan, field_details_list: Any, source: Any
    ) -> dict[str, Any]:
        """The completed object, or _NotPlain where graphql-core would report an error or
        do more than read and coerce (an awaitable, an exception as a value)."""
        grouped = self.collect_subfields(type_, field_details_list).grouped_field_set
        completed: dict[str, Any] = {}
        for key, group in grouped.items():
            name = group[0].node.name.value
            if name == "__typename":
                completed[key] = type_.name
                continue
            field = plan[name]
            try:
                value = getattr(source, field.attribute)
            except Exception:  # graphql-core reports it at the field's own path
                raise _NotPlain from None
            if value is None or value is Undefined:
                if field.non_null:
                    raise _NotPlain
                completed[key] = None
            elif not field.is_list:
                completed[key] = self._plain_item(field, group, value)
            else:
                if not isinstance(value, list | tuple):
                    raise _NotPlain
                if field.counted:
                    self._count(len(value))
                completed[key] = [self._plain_list_item(field, group, item) for item in value]
        return completed

    def _plain_list_item(self, field: _Field, group: Any, item: Any) -> Any:
        if item is None or item is Undefined:
            if field.item_non_null:
                raise _NotPlain
            return None
        return self._plain_item(field, group, item)

    def _plain_item(self, field: _Field, group: Any, value: Any) -> Any:
        if field.coerce is not None:
            try:
                coerced = field.coerce(value)
            except Exception:
                raise _NotPlain from None
            if coerced is None or coerced is Undefined:
                raise _NotPlain
            return coerced
        if isinstance(value, Exception) or self.is_awaitable(value):
            raise _NotPlain
        object_type = field.object_type
        assert object_type is not None
        return self._plain_object(object_type, self.plans[object_type.name], group, value)


class _NotPlain(Exception):
    """This object needs graphql-core's own completion."""


async def settled_gather(*awaitables: Any) -> list[Any]:
    """Await sibling resolvers together; when one fails, let the others finish, then raise."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


# The module global of graphql.execution.executor that awaits sibling fields and list
# items, and the Executor methods that must call it (checked at start-up).
_GATHER = "gather_with_cancel"
_GATHERING_METHODS = ("execute_fields", "complete_iterable_value")


class ExecutorMismatch(RuntimeError):
    """graphql-core no longer awaits sibling fields where billclass replaces it."""


def _names_used(code: CodeType) -> set[str]:
    """The global and attribute names a function's code uses, nested functions included."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _names_used(constant)
    return names


def apply_sibling_fix() -> None:
    """Make graphql-core await sibling fields with ``settled_gather`` (idempotent), or
    raise ExecutorMismatch, in one line, saying what changed in graphql-core."""
    where = f"graphql-core {graphql_version}: graphql.execution.executor"
    current = getattr(graphql_executor, _GATHER, None)
    if current is not settled_gather and current is not pyutils.gather_with_cancel:
        raise ExecutorMismatch(
            f"{where}.{_GATHER} is {'gone' if current is None else 'replaced by another'};"
            " billclass cannot keep a failing field from cancelling its siblings"
            " (gql/execution.py)"
        )
    for method in _GATHERING_METHODS:
        function = getattr(Executor, method, None)
        if function is None or _GATHER not in _names_used(function.__code__):
            raise ExecutorMismatch(
                f"{where}.Executor.{method} no longer calls {_GATHER};"
                " billclass cannot keep a failing field from cancelling its siblings"
                " (gql/execution.py)"
            )
    # Not a typed attribute of that module (it imports the name): set by name, checked above.
    setattr(graphql_executor, _GATHER, settled_gather)


def install(schema: GraphQLSchema, name_of: Any) -> type[BillclassExecutor]:
    """The executor class for ``schema`` (its own subclass: plans are per schema)."""
    counted = counted_lists(schema)
    items = frozenset(key for key, how in counted.items() if how == _ITEMS)
    executor_class = type(
        "BillclassExecutor",
        (BillclassExecutor,),
        {"counted": counted, "plans": plain_type_plans(schema, name_of, items)},
    )
    apply_sibling_fix()
    return executor_class
