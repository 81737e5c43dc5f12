"""The limits of SPEC §6 and the requested cost of SPEC §7, enforced before any resolver
runs.

Two stages:
- ``document_limits`` (depth, aliases, directives) needs only the parsed document, so
  its verdict is cached with the document; it runs before graphql-core's validation;
- ``operation_budget`` (page sizes, nodes(ids:) length, requested cost = node budget)
  needs the coerced variables, so it runs per request, after coercion and before
  execution; the endpoint caches its verdict per document and budget variables.

The token limit (1,000) acts inside the parser (``gql.documents``), which is what bounds
the cost of everything here and of validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_leaf_type,
)
from graphql.execution.values import VariableValues, get_argument_values

from db.currencies import CURRENCIES
from tenancy import class_rows, maxima
from tenancy.errors import TopLevelCode

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_DIRECTIVES = 10
MAX_TOKENS = 1_000
MAX_BODY_BYTES = 64 * 1024
MAX_PAGE = 100
MAX_NODES = 10_000
# SPEC §7: a response never holds more objects than the node budget allows requesting.
MAX_OBJECTS = MAX_NODES
# SPEC §7: what each root mutation field costs, requested and actual alike.
MUTATION_FIELD_COST = 10
# Arguments the page-size checks and the node budget read.
BUDGET_ARGUMENTS = frozenset({"first", "last", "before", "ids"})


class LimitExceeded(GraphQLError):
    """A request refused by a limit; ``code`` goes to ``extensions.code``."""

    def __init__(self, code: TopLevelCode, message: str, cost: int | None = None) -> None:
        super().__init__(message, extensions={"code": code})
        self.code = code
        # The requested cost, when the refusal is about it (it goes to extensions.cost).
        self.cost = cost


@dataclass
class _Counts:
    depth: int = 0
    aliases: int = 0
    directives: int = 0


def document_limits(document: DocumentNode) -> LimitExceeded | None:
    """Depth (fields with selection sets along the longest chain, fragments inlined,
    introspection fields not counted), aliases and directives (fragment spreads count
    their fragment each time they are spread)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    memo: dict[str, _Counts] = {}
    worst = _Counts()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            counts = _measure(definition.selection_set, fragments, memo, set())
            counts.directives += len(definition.directives or ())
            worst.depth = max(worst.depth, counts.depth)
            worst.aliases = max(worst.aliases, counts.aliases)
            worst.directives = max(worst.directives, counts.directives)
    if worst.depth > MAX_DEPTH:
        return LimitExceeded(
            TopLevelCode.QUERY_TOO_DEEP,
            f"Query depth {worst.depth} exceeds the limit of {MAX_DEPTH}.",
        )
    if worst.aliases > MAX_ALIASES:
        return LimitExceeded(
            TopLevelCode.TOO_MANY_ALIASES,
            f"{worst.aliases} aliases exceed the limit of {MAX_ALIASES}.",
        )
    if worst.directives > MAX_DIRECTIVES:
        return LimitExceeded(
            TopLevelCode.TOO_MANY_DIRECTIVES,
            f"{worst.directives} directives exceed the limit of {MAX_DIRECTIVES}.",
        )
    return None


def _measure(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, _Counts],
    active: set[str],
) -> _Counts:
    total = _Counts()
    if selection_set is None:
        return total
    for selection in selection_set.selections:
        total.directives += len(selection.directives or ())
        if isinstance(selection, FieldNode):
            if selection.alias is not None:
                total.aliases += 1
            # Introspection is bounded by graphql-core's MaxIntrospectionDepthRule. The
            # check is on the field name, so naming an operation or a fragment
            # "__schema" does not escape the limit.
            if selection.name.value.startswith("__"):
                continue
            inner = _measure(selection.selection_set, fragments, memo, active)
            nested = inner.depth + 1 if selection.selection_set is not None else 0
            total.depth = max(total.depth, nested)
        else:
            if isinstance(selection, InlineFragmentNode):
                inner = _measure(selection.selection_set, fragments, memo, active)
            else:
                assert isinstance(selection, FragmentSpreadNode)
                inner = _fragment(selection.name.value, fragments, memo, active)
            total.depth = max(total.depth, inner.depth)
        total.aliases += inner.aliases
        total.directives += inner.directives
    return total


def _fragment(
    name: str,
    fragments: dict[str, FragmentDefinitionNode],
    memo: dict[str, _Counts],
    active: set[str],
) -> _Counts:
    if name in memo:
        return memo[name]
    definition = fragments.get(name)
    if definition is None or name in active:
        # Unknown or circular: validation refuses the document right after this check.
        return _Counts()
    active.add(name)
    counts = _measure(definition.selection_set, fragments, memo, active)
    counts.directives += len(definition.directives or ())
    active.discard(name)
    memo[name] = counts
    return counts


# --------------------------------------------------------------------------- budget


def _page_size(field: str, args: dict[str, Any]) -> tuple[str, int]:
    """The page size a connection field asks for (SPEC §3: with last/before, first is
    ignored)."""
    if args.get("last") is not None:
        return "last", args["last"]
    if args.get("before") is not None:
        return "last", 50
    return "first", args.get("first", 50)


def _check_size(what: str, size: int) -> None:
    if size > MAX_PAGE:
        raise LimitExceeded(
            TopLevelCode.PAGE_TOO_LARGE, f"{what} is {size}; the page size limit is {MAX_PAGE}."
        )
    if size < 1:
        raise LimitExceeded(TopLevelCode.BAD_USER_INPUT, f"{what} must be at least 1.")


def operation_budget(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: VariableValues,
) -> RequestedCost:
    """The requested cost of the operation (SPEC §7); LimitExceeded for a bad page size
    or a cost over MAX_NODES (``QUERY_TOO_COMPLEX``, carrying the cost).

    The node budget of §6 with the list maxima of §7: each connection costs its page size
    times its parent's multiplier (once, whether edges, nodes or both are selected);
    nodes(ids:) costs its length; any other list of objects costs its maximum length
    (``list_maxima``); lists of scalars cost nothing; each root mutation field costs
    MUTATION_FIELD_COST; the whole request at least 1. A list's items multiply what is
    selected inside them. The cost is linear in the multiplier, so each fragment is
    costed once, however often it is spread. @skip/@include are not evaluated: the cost
    is an upper bound of what execution may return.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    assert root is not None
    budget = _Budget(schema, fragments, variables)
    cost = max(1, budget.cost(root, operation.selection_set))
    if cost > MAX_NODES:
        raise LimitExceeded(
            TopLevelCode.QUERY_TOO_COMPLEX,
            f"The requested cost of the query is {cost}; the limit (node budget) is {MAX_NODES}.",
            cost,
        )
    fixed = MUTATION_FIELD_COST * _mutation_fields(operation, fragments)
    return RequestedCost(cost, fixed)


@dataclass(frozen=True, slots=True)
class RequestedCost:
    """A request's requested cost, and the part of it that is charged whatever execution
    returns (the root mutation fields): the actual cost is that part plus the objects
    returned, and at least 1 like any request."""

    requested: int
    fixed: int

    def actual(self, objects: int) -> int:
        return max(1, self.fixed + objects)


def _mutation_fields(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> int:
    """Root fields of a mutation (fragments spread at the root count with their fields)."""
    if operation.operation.value != "mutation":
        return 0

    def count(selection_set: SelectionSetNode, active: frozenset[str]) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += 0 if selection.name.value.startswith("__") else 1
            elif isinstance(selection, InlineFragmentNode):
                total += count(selection.selection_set, active)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in active:
                    total += count(fragments[name].selection_set, active | {name})
        return total

    return count(operation.selection_set, frozenset())


def _unwrap(type_: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


# --------------------------------------------------------------------------- list maxima


def is_connection(type_: Any) -> bool:
    """Relay connections: their edges and nodes are one page, costed by page size."""
    return isinstance(type_, GraphQLObjectType) and type_.name.endswith("Connection")


def _enum_size(schema: GraphQLSchema, name: str) -> int:
    enum = schema.get_type(name)
    assert isinstance(enum, GraphQLEnumType), name
    return len(enum.values)


@lru_cache(maxsize=4)
def list_maxima(schema: GraphQLSchema) -> dict[tuple[str, str], int]:
    """The most items each list of objects of the schema can hold, by (type, field):
    the cost a query is charged per item multiplier, and what execution counts.

    Derived from the maxima enforced on write (``tenancy.maxima``) and from enum sizes
    (each measured-service parameter and notification type at most once); payloads'
    ``userErrors`` are 0: answering the mutation is what its root field's flat cost pays
    for. Connections (page size) and ``Query.nodes`` (its length) are not listed here:
    their size comes from arguments. ``check_list_maxima`` proves every list is covered.
    """
    maxima_of: dict[tuple[str, str], int] = {
        ("Query", "currencies"): len(CURRENCIES),  # the seeded ISO 4217 list
        ("Query", "businessModels"): maxima.CATALOG_ENTRIES,
        ("Query", "invoiceTemplates"): maxima.CATALOG_ENTRIES,
        ("Query", "notificationSets"): maxima.CATALOG_ENTRIES,
        ("Query", "customFieldDefinitions"): maxima.CATALOG_ENTRIES,
        ("Query", "customTaxes"): maxima.CATALOG_ENTRIES,
        ("Query", "apiTokens"): maxima.API_TOKENS_PER_OWNER,
        ("Query", "webhookSubscriptions"): maxima.WEBHOOK_SUBSCRIPTIONS_PER_TENANT,
        ("CustomerClass", "customFields"): maxima.CUSTOM_FIELDS_PER_CLASS,
        ("EffectiveSettings", "customFields"): maxima.CUSTOM_FIELDS_PER_CLASS,
        ("Taxation", "customTaxes"): maxima.CUSTOM_TAXES_PER_CLASS,
        ("CustomerClass", "measuredServices"): _enum_size(schema, "MeasuredParameter"),
        ("EffectiveSettings", "measuredServices"): _enum_size(schema, "MeasuredParameter"),
        ("NotificationSettings", "settings"): _enum_size(schema, "NotificationType"),
        # A change lists each leaf of a class at most once.
        ("ClassChangeImpact", "changes"): class_rows.MAX_LEAVES,
        ("ClassChangeImpact", "affectedByReseller"): maxima.RESELLER_IMPACTS,
        ("ApplyCustomerClassesPayload", "plan"): maxima.CLASSES_PER_APPLY,
        ("ClassPlanEntry", "changes"): class_rows.MAX_LEAVES,
        # A version: each leaf at most once, plus one note (clonedFrom, revertedToVersion).
        ("CustomerClassVersion", "changes"): class_rows.MAX_CHANGES,
    }
    for name, type_ in schema.type_map.items():
        if not (isinstance(type_, GraphQLObjectType) and name.endswith("Payload")):
            continue
        if "userErrors" in type_.fields:
            maxima_of[(name, "userErrors")] = 0
    return maxima_of


def lists_of_objects(schema: GraphQLSchema) -> list[tuple[str, str]]:
    """Every (type, field) of the schema returning a list of objects, except the pages
    of connections (edges, nodes) and introspection."""
    found = []
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        if is_connection(type_):
            continue
        for field_name, field in type_.fields.items():
            named, is_list = _unwrap(field.type)
            if is_list and not is_leaf_type(named):
                found.append((name, field_name))
    return found


def check_list_maxima(schema: GraphQLSchema) -> None:
    """Refuse to serve a schema with a list of objects of unknown maximum length: its
    cost could not be requested, so a response could hold more than was charged."""
    known = list_maxima(schema)
    missing = [
        f"{type_name}.{field}"
        for type_name, field in lists_of_objects(schema)
        if (type_name, field) not in known and (type_name, field) != ("Query", "nodes")
    ]
    if missing:
        raise RuntimeError(
            "lists of objects without a maximum length (add them to gql.limits.list_maxima): "
            + ", ".join(sorted(missing))
        )


class _Budget:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.maxima = list_maxima(schema)
        self.memo: dict[str, int] = {}
        self.active: set[str] = set()

    def cost(self, parent: Any, selection_set: SelectionSetNode | None) -> int:
        """Nodes a selection set may return under a parent multiplier of 1."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(parent, selection)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    target = self.schema.get_type(selection.type_condition.name.value) or parent
                total += self.cost(target, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._spread(selection.name.value, parent)
        return total

    def _field(self, parent: Any, node: FieldNode) -> int:
        name = node.name.value
        field = getattr(parent, "fields", {}).get(name)
        if name.startswith("__") or field is None:
            return 0
        named, is_list = _unwrap(field.type)
        inner = self.cost(named, node.selection_set)
        if is_connection(named):
            argument, size = _page_size(name, get_argument_values(field, node, self.variables))
            _check_size(f"{name}({argument}:)", size)
            return size + size * inner
        if name == "nodes" and parent is self.schema.query_type:
            ids = get_argument_values(field, node, self.variables).get("ids") or []
            _check_size("nodes(ids:) length", len(ids))
            return len(ids) + len(ids) * inner
        if parent is self.schema.mutation_type:
            return MUTATION_FIELD_COST + inner
        if is_list and not is_connection(parent):
            if is_leaf_type(named):
                return 0
            maximum = self.maxima[(parent.name, name)]
            return maximum + maximum * inner
        return inner

    def _spread(self, name: str, parent: Any) -> int:
        if name in self.memo:
            return self.memo[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            return 0  # validation has refused such documents already
        target = self.schema.get_type(definition.type_condition.name.value) or parent
        self.active.add(name)
        self.memo[name] = self.cost(target, definition.selection_set)
        self.active.discard(name)
        return self.memo[name]
