"""Compiled execution plans for registered (trusted) queries (issue 10).

graphql-core executes a field through a generic chain per field and per request:
``execute_field`` (field definition lookup, resolve info, arguments), ``complete_value``
dispatching on the type's wrappers, ``collect_subfields`` (memoised per executor, so
computed again per request) and a ``Path`` per field. For a registered operation all
of that is known before the request arrives. :func:`compile_plan` turns one operation
into a tree of :class:`CompiledField` (response key, field definition, the
``FieldDetails`` graphql-core itself collected, the resolver or the attribute read,
the literal arguments coerced once, and a completer per return type), and
:meth:`Plan.execute` runs it on an executor built as usual (variables coerced, counts,
hooks), producing what ``execute_operation`` would: same data, same errors (messages,
locations, paths, order), same null propagation. It mirrors graphql-core 3.3's
executor step for step (sync where it is sync, one coroutine where it makes one,
siblings gathered with the same ``gather_with_cancel``, which gql/execution.py
replaces), so data loaders batch exactly as before.

What compiles (else :func:`compile_plan` returns None and graphql-core runs it):
queries (no mutations, no subscriptions) without any directive (``@skip``/``@include``,
``@defer``/``@stream``, ``@experimental_disableErrorPropagation``) in the operation or
its fragments, without fragment arguments and without ``__schema``/``__type``.
Fragments (spreads and inline, on any type condition) are collected by graphql-core's
own ``collect_fields`` at compile time, which is exact since, without directives,
collection does not depend on variables. At run time a value the plan does not
complete itself is handed to graphql-core's ``complete_value`` at that position, with
the same info and path: a field of an interface or union type (whatever is below it),
an ``is_type_of`` that is a coroutine function, a list that is not a Python list or
tuple, awaitable list items. Fields of plain attributes (no resolver, strawberry's
basic fields) are read with ``getattr`` as strawberry's default resolver does, without
building resolve info; leaf values are coerced by their type's ``coerce_output_value``
and, when that gives null, completed by graphql-core's ``complete_leaf_value`` (which
raises its own error). What resolvers return is tested with the executor's
``is_awaitable`` (data loaders return futures); what a completion returns is a coroutine
or a value (the plan's and graphql-core's completions are ``async def``), tested by its
type. tests/contract/test_compiled_plans.py runs every bench and
fixture operation both ways and compares the JSON.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from types import CoroutineType
from typing import Any

from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    VariableNode,
    is_leaf_type,
    is_object_type,
)
from graphql.execution import Executor
from graphql.execution import executor as graphql_executor
from graphql.execution.collect_fields import collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path

_INTROSPECTION = frozenset(("__schema", "__type"))
_MAX_FIELDS = 20_000  # a plan larger than this is not compiled (a registered document
# is within the token limit, so this is never reached in practice)


class NotCompiled(Exception):
    """This operation runs on graphql-core."""


def _below(node: Node) -> Iterator[Any]:
    """``node`` and every AST node below it."""
    stack: list[Any] = [node]
    while stack:
        current = stack.pop()
        yield current
        for key in current.keys:
            value = getattr(current, key, None)
            if isinstance(value, Node):
                stack.append(value)
            elif isinstance(value, tuple | list):
                stack.extend(item for item in value if isinstance(item, Node))


def _has_directive_or_fragment_arguments(node: Node) -> bool:
    """Any directive, or a fragment with variables (experimental fragment arguments),
    anywhere below ``node``."""
    return any(
        isinstance(current, DirectiveNode)
        or (isinstance(current, FragmentSpreadNode) and getattr(current, "arguments", None))
        or (
            getattr(current, "variable_definitions", None)
            and not isinstance(current, OperationDefinitionNode)
        )
        for current in _below(node)
    )


def _uses_variables(node: Node) -> bool:
    return any(isinstance(current, VariableNode) for current in _below(node))


# --------------------------------------------------------------------------- completers
#
# Each completer is complete_value for one return type (and the field details below it):
# ``complete(run, field, parent_type, path, result, info)`` returns the completed value or
# an awaitable of it, and raises where graphql-core's complete_value raises. ``info`` is
# the field's resolve info when it was built (resolver fields), else None: built on
# demand (run.info) only where graphql-core would pass it on.


class _Completer:
    __slots__ = ("may_await", "needs_info")
    may_await: bool  # its completion may be awaitable
    needs_info: bool  # it passes the resolve info on (built on demand)

    def complete(
        self, run: _Run, field: CompiledField, parent: Any, path: Path, result: Any, info: Any
    ) -> Any:
        raise NotImplementedError


class _Leaf(_Completer):
    __slots__ = ("coerce", "type")

    def __init__(self, type_: GraphQLLeafType) -> None:
        self.type = type_
        self.coerce = type_.coerce_output_value
        self.may_await = False
        self.needs_info = False

    def complete(
        self, run: _Run, field: CompiledField, parent: Any, path: Path, result: Any, info: Any
    ) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            return None
        coerced = self.coerce(result)
        if coerced is None or coerced is Undefined:
            return Executor.complete_leaf_value(self.type, result)  # raises its error
        return coerced


class _NonNull(_Completer):
    __slots__ = ("inner", "message")

    def __init__(self, inner: _Completer, parent: GraphQLObjectType, name: str) -> None:
        self.inner = inner
        self.may_await = inner.may_await
        self.needs_info = inner.needs_info
        self.message = f"Cannot return null for non-nullable field {parent}.{name}."

    def complete(
        self, run: _Run, field: CompiledField, parent: Any, path: Path, result: Any, info: Any
    ) -> Any:
        if isinstance(result, Exception):
            raise result
        completed = self.inner.complete(run, field, parent, path, result, info)
        if completed is None:
            raise TypeError(self.message)
        return completed


class _Delegated(_Completer):
    """graphql-core's own complete_value, from here down."""

    __slots__ = ("type",)

    def __init__(self, type_: GraphQLOutputType) -> None:
        self.type = type_
        self.may_await = True
        self.needs_info = True

    def complete(
        self, run: _Run, field: CompiledField, parent: Any, path: Path, result: Any, info: Any
    ) -> Any:
        if info is None:
            info = run.info(field, parent, path)
        return run.executor.complete_value(self.type, field.details, info, path, result, None)


class _Object(_Completer):
    __slots__ = ("fields", "is_type_of", "type")

    def __init__(self, type_: GraphQLObjectType) -> None:
        self.type = type_
        self.is_type_of = type_.is_type_of
        self.fields: list[CompiledField] = []  # filled in by the compiler
        self.may_await = True  # until the compiler knows better
        self.needs_info = type_.is_type_of is not None

    def complete(
        self, run: _Run, field: CompiledField, parent: Any, path: Path, result: Any, info: Any
    ) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            return None
        if self.is_type_of is not None:
            if info is None:
                info = run.info(field, parent, path)
            if not self.is_type_of(result, info):
                raise graphql_executor.invalid_return_type_error(self.type, result, field.details)
        return run.execute_fields(self.type, result, path, self.fields)


class _List(_Completer):
    __slots__ = ("counted", "item", "item_type", "type")

    def __init__(self, type_: GraphQLList[Any], item: _Completer, counted: int | None) -> None:
        self.type = type_
        self.item_type = type_.of_type
        self.item = item
        self.counted = counted
        self.may_await = True  # awaitable items are always possible
        self.needs_info = True  # for graphql-core's path, when the value is no list

    def complete(
        self, run: _Run, field: CompiledField, parent: Any, path: Path, result: Any, info: Any
    ) -> Any:
        if isinstance(result, Exception):
            raise result
        if result is None or result is Undefined:
            return None
        executor = run.executor
        if not isinstance(result, list | tuple):
            # Iterables, async iterables and non-lists: graphql-core's path (which counts).
            if info is None:
                info = run.info(field, parent, path)
            return executor.complete_list_value(self.type, field.details, info, path, result, None)
        if self.counted is not None:
            executor.count_list(self.counted, path, result)
        if info is None and self.item.needs_info:
            # graphql-core passes the list field's info to its items.
            info = run.info(field, parent, path)
        item = self.item
        item_type = self.item_type
        is_awaitable = executor.is_awaitable
        completed: list[Any] = []
        append = completed.append
        awaitable_indices: list[int] = []
        try:
            for index, value in enumerate(result):
                item_path = path.add_key(index, None)
                if is_awaitable(value):
                    if info is None:
                        info = run.info(field, parent, path)
                    append(
                        executor.complete_awaitable_list_item_value(
                            value, item_type, field.details, info, item_path, None
                        )
                    )
                    awaitable_indices.append(index)
                    continue
                try:
                    done = item.complete(run, field, parent, item_path, value, info)
                    if item.may_await and type(done) is CoroutineType:
                        append(run.await_item(done, item_type, field, item_path))
                        awaitable_indices.append(index)
                    else:
                        append(done)
                except Exception as raw_error:
                    executor.handle_field_error(raw_error, item_type, field.details, item_path)
                    append(None)
        except Exception:
            pending = [completed[index] for index in awaitable_indices]
            if pending:
                executor.settle_in_background(pending)
            raise
        if not awaitable_indices:
            return completed
        return _gathered_list(completed, awaitable_indices)


async def _gathered_list(completed: list[Any], awaitable_indices: list[int]) -> list[Any]:
    if len(awaitable_indices) == 1:
        index = awaitable_indices[0]
        completed[index] = await completed[index]
    else:
        awaited = await _gather()(*(completed[index] for index in awaitable_indices))
        for index, value in zip(awaitable_indices, awaited, strict=True):
            completed[index] = value
    return completed


# --------------------------------------------------------------------------- fields

# How a field's value is obtained.
_TYPENAME = 0  # __typename: the parent type's name
_ATTRIBUTE = 1  # a strawberry basic field: getattr(source, attribute)
_RESOLVER = 2  # a resolver, called with resolve info and the arguments


class CompiledField:
    __slots__ = (
        "args",
        "attribute",
        "complete",
        "details",
        "field_def",
        "first",
        "how",
        "key",
        "leaf",
        "nodes",
        "resolve",
        "return_type",
    )

    def __init__(self, key: str, details: list[Any]) -> None:
        self.key = key
        self.details = details
        self.nodes: list[FieldNode] = [d.node for d in details]
        self.first = details[0]
        self.field_def: Any = None
        self.return_type: Any = None
        self.how = _RESOLVER
        self.attribute = ""
        self.resolve: Any = None
        self.args: dict[str, Any] | None = None  # coerced once; None: per request
        self.complete: _Completer = _Delegated(None)  # type: ignore[arg-type]
        # A nullable or non-null leaf read from an attribute: completed inline.
        self.leaf: _Leaf | None = None


class _Run:
    """One execution of a plan: the executor and its helpers."""

    __slots__ = ("executor", "is_awaitable")

    def __init__(self, executor: Any) -> None:
        self.executor = executor
        self.is_awaitable = executor.is_awaitable

    def info(self, field: CompiledField, parent: GraphQLObjectType, path: Path) -> Any:
        return self.executor.build_resolve_info(field.field_def, field.nodes, parent, path)

    def execute_fields(
        self,
        parent: GraphQLObjectType,
        source: Any,
        path: Path | None,
        fields: list[CompiledField],
    ) -> Any:
        results: dict[str, Any] = {}
        awaitable_keys: list[str] = []
        executor = self.executor
        try:
            for field in fields:
                key = field.key
                how = field.how
                if how == _ATTRIBUTE:
                    leaf = field.leaf
                    if leaf is not None:
                        # Inline: the leaf completion of an attribute, its Path built
                        # only for an error.
                        try:
                            value = getattr(source, field.attribute)
                            if value is None or value is Undefined or isinstance(value, Exception):
                                results[key] = field.complete.complete(
                                    self, field, parent, _path(path, key, parent), value, None
                                )
                            else:
                                coerced = leaf.coerce(value)
                                if coerced is None or coerced is Undefined:
                                    coerced = Executor.complete_leaf_value(leaf.type, value)
                                results[key] = coerced
                        except Exception as raw_error:
                            executor.handle_field_error(
                                raw_error,
                                field.return_type,
                                field.details,
                                _path(path, key, parent),
                            )
                            results[key] = None
                        continue
                    result = self._attribute_field(
                        field, parent, source, Path(path, key, parent.name)
                    )
                elif how == _TYPENAME:
                    results[key] = parent.name
                    continue
                else:
                    result = self._resolver_field(
                        field, parent, source, Path(path, key, parent.name)
                    )
                results[key] = result
                if type(result) is CoroutineType:
                    awaitable_keys.append(key)
        except Exception:
            if awaitable_keys:
                executor.settle_in_background([results[key] for key in awaitable_keys])
            raise
        if not awaitable_keys:
            return results
        return _gathered_fields(results, awaitable_keys)

    def _attribute_field(
        self, field: CompiledField, parent: GraphQLObjectType, source: Any, path: Path
    ) -> Any:
        try:
            result = getattr(source, field.attribute)
            completed = field.complete.complete(self, field, parent, path, result, None)
            if field.complete.may_await and type(completed) is CoroutineType:
                return self._await_completed(completed, field, path)
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, field.return_type, field.details, path)
            return None
        return completed

    def _resolver_field(
        self, field: CompiledField, parent: GraphQLObjectType, source: Any, path: Path
    ) -> Any:
        executor = self.executor
        field_def = field.field_def
        info = executor.build_resolve_info(field_def, field.nodes, parent, path)
        try:
            args = field.args
            if args is None:
                first = field.first
                args = get_argument_values(
                    field_def,
                    first.node,
                    executor.variable_values,
                    first.fragment_variable_values,
                    executor.hide_suggestions,
                )
            result = field.resolve(source, info, **args)
            if self.is_awaitable(result):
                return self._complete_awaitable(result, field, parent, path, info)
            completed = field.complete.complete(self, field, parent, path, result, info)
            if field.complete.may_await and type(completed) is CoroutineType:
                return self._await_completed(completed, field, path)
        except Exception as raw_error:
            executor.handle_field_error(raw_error, field.return_type, field.details, path)
            return None
        return completed

    async def _complete_awaitable(
        self, result: Any, field: CompiledField, parent: Any, path: Path, info: Any
    ) -> Any:
        try:
            resolved = await result
            completed = field.complete.complete(self, field, parent, path, resolved, info)
            if type(completed) is CoroutineType:
                completed = await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, field.return_type, field.details, path)
            completed = None
        return completed

    async def _await_completed(self, completed: Any, field: CompiledField, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, field.return_type, field.details, path)
            return None

    async def await_item(
        self, completed: Any, item_type: Any, field: CompiledField, item_path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.executor.handle_field_error(raw_error, item_type, field.details, item_path)
            return None


def _gather() -> Any:
    """graphql-core's gatherer of siblings, as installed (gql.execution replaces it)."""
    return getattr(graphql_executor, "gather_with_cancel")  # noqa: B009 (not exported)


def _path(prev: Path | None, key: str, parent: GraphQLObjectType) -> Path:
    return Path(prev, key, parent.name)


async def _gathered_fields(results: dict[str, Any], awaitable_keys: list[str]) -> dict[str, Any]:
    if len(awaitable_keys) == 1:
        key = awaitable_keys[0]
        results[key] = await results[key]
    else:
        awaited = await _gather()(*(results[key] for key in awaitable_keys))
        results.update(zip(awaitable_keys, awaited, strict=True))
    return results


# --------------------------------------------------------------------------- plans


class Plan:
    """A compiled query operation: its root fields."""

    __slots__ = ("fields", "root_type", "size")

    def __init__(self, root_type: GraphQLObjectType, fields: list[CompiledField], size: int):
        self.root_type = root_type
        self.fields = fields
        self.size = size  # compiled fields, in all

    def execute(self, executor: Any) -> Any:
        """What ``executor.execute_operation()`` returns, computed by the plan."""
        run = _Run(executor)
        try:
            result = run.execute_fields(self.root_type, executor.root_value, None, self.fields)
            if type(result) is CoroutineType:
                return _await_operation(executor, result)
            data = result
        except GraphQLError as error:
            executor.collected_errors.add(error, None)
            return executor.finish(executor.build_response(None))
        return executor.finish(executor.build_response(data))


async def _await_operation(executor: Any, result: Any) -> Any:
    try:
        data = await result
    except GraphQLError as error:
        executor.collected_errors.add(error, None)
        return executor.build_response(None)
    except Exception:
        await executor.cancel_incremental_work()
        executor.run_async_work_finished_hook()
        raise
    return executor.build_response(data)


class _Compiler:
    def __init__(self, executor: Any, counted: dict[tuple[str, str], int], name_of: Any):
        self.executor = executor
        self.schema: GraphQLSchema = executor.schema
        self.counted = counted
        self.attributes = _attributes(self.schema, name_of)
        self.size = 0

    def fields(
        self, parent: GraphQLObjectType, grouped: dict[str, list[Any]]
    ) -> list[CompiledField]:
        compiled = []
        for key, details in grouped.items():
            self.size += 1
            if self.size > _MAX_FIELDS:
                raise NotCompiled("too many fields")
            compiled.append(self.field(parent, key, details))
        return compiled

    def field(self, parent: GraphQLObjectType, key: str, details: list[Any]) -> CompiledField:
        field = CompiledField(key, details)
        node = field.first.node
        name = node.name.value
        if name in _INTROSPECTION:
            raise NotCompiled("introspection")
        field_def = self.schema.get_field(parent, name)
        if field_def is None:
            raise NotCompiled(f"unknown field {parent.name}.{name}")
        field.field_def = field_def
        field.return_type = field_def.type
        if name == "__typename":
            field.how = _TYPENAME
            return field
        attribute = self.attributes.get((parent.name, name))
        arguments = node.arguments or ()
        if attribute is not None and not arguments:
            field.how = _ATTRIBUTE
            field.attribute = attribute
        else:
            field.how = _RESOLVER
            field.resolve = field_def.resolve or self.executor.field_resolver
            if not (field_def.args or arguments):
                field.args = {}
            elif not any(_uses_variables(argument) for argument in arguments):
                try:
                    field.args = get_argument_values(
                        field_def, node, self.executor.variable_values, None, True
                    )
                except Exception:
                    field.args = None  # its error is the field's, per request
        field.complete = self.completer(parent, name, field_def.type, details)
        complete = field.complete
        inner = complete.inner if isinstance(complete, _NonNull) else complete
        if field.how == _ATTRIBUTE and isinstance(inner, _Leaf):
            field.leaf = inner
        return field

    def completer(
        self, parent: GraphQLObjectType, name: str, type_: Any, details: list[Any]
    ) -> _Completer:
        if isinstance(type_, GraphQLNonNull):
            return _NonNull(self.completer(parent, name, type_.of_type, details), parent, name)
        if isinstance(type_, GraphQLList):
            item = self.completer(parent, name, type_.of_type, details)
            return _List(type_, item, self.counted.get((parent.name, name)))
        if is_leaf_type(type_):
            return _Leaf(type_)
        if is_object_type(type_):
            if inspect.iscoroutinefunction(type_.is_type_of):
                return _Delegated(type_)
            completer = _Object(type_)
            collected = collect_subfields(
                self.schema,
                self.executor.fragments,
                self.executor.variable_values,
                self.executor.operation,
                type_,
                details,
                True,
            )
            completer.fields = self.fields(type_, collected.grouped_field_set)
            completer.may_await = any(
                f.how == _RESOLVER or (f.how == _ATTRIBUTE and f.complete.may_await)
                for f in completer.fields
            )
            return completer
        return _Delegated(type_)  # interfaces and unions


def _attributes(schema: GraphQLSchema, name_of: Any) -> dict[tuple[str, str], str]:
    """(type, field) of every strawberry basic field read by getattr, and its attribute."""
    found: dict[tuple[str, str], str] = {}
    for type_name, type_ in schema.type_map.items():
        if not isinstance(type_, GraphQLObjectType):
            continue
        definition = (type_.extensions or {}).get("strawberry-definition")
        if definition is None:
            continue
        for field in definition.fields:
            graphql_field = type_.fields.get(name_of(field))
            resolve = getattr(graphql_field, "resolve", None)
            if (
                getattr(resolve, "__name__", "") == "_get_basic_result"
                and field.base_resolver is None
                and field.default_resolver is getattr
            ):
                found[(type_name, name_of(field))] = field.python_name
    return found


def compile_plan(executor: Any, counted: dict[tuple[str, str], int], name_of: Any) -> Plan | None:
    """The plan of ``executor``'s operation, or None when graphql-core must run it (see
    the module). ``executor`` is a freshly built executor of the operation (its
    fragments and operation are what the plan is compiled from)."""
    operation: OperationDefinitionNode = executor.operation
    if operation.operation is not OperationType.QUERY:
        return None
    if not executor.error_propagation or executor.abort_signal is not None:
        return None
    if _has_directive_or_fragment_arguments(operation) or any(
        _has_directive_or_fragment_arguments(details.definition)
        for details in executor.fragments.values()
    ):
        return None
    root_type = executor.schema.query_type
    try:
        collected = collect_fields(
            executor.schema,
            executor.fragments,
            executor.variable_values,
            root_type,
            operation,
            True,
        )
        if collected.new_defer_usages:
            return None
        compiler = _Compiler(executor, counted, name_of)
        fields = compiler.fields(root_type, collected.grouped_field_set)
    except NotCompiled:
        return None
    return Plan(root_type, fields, compiler.size)
