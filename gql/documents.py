"""Parsing and validation of GraphQL documents, cached by their text.

The verdict on a document (parsed AST or the error to return) depends only on its text
and the schema, so it is computed once and kept in a bounded LRU cache. Rejections are
cached too, so a client repeating a bad document costs a dictionary lookup.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    ListValueNode,
    ValueNode,
    VariableNode,
    Visitor,
    parse,
    specified_rules,
    validate,
    visit,
)
from graphql.error import GraphQLSyntaxError
from graphql.validation import MaxIntrospectionDepthRule

from gql.limits import BUDGET_ARGUMENTS, MAX_DEPTH, MAX_TOKENS, LimitExceeded, document_limits

RULES = (*specified_rules, MaxIntrospectionDepthRule)


@dataclass(frozen=True, slots=True)
class Prepared:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    code: str | None  # extensions.code of the errors, when refused
    # Variables the node budget depends on (page sizes, cursors, nodes(ids:)): with the
    # same values the budget's verdict is the same, so it can be cached.
    budget_variables: tuple[str, ...] = ()


class _BudgetVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_argument(self, node: ArgumentNode, *_args: object) -> None:
        if node.name.value in BUDGET_ARGUMENTS:
            for value in _variables(node.value):
                self.names.add(value)


def _variables(value: ValueNode) -> list[str]:
    if isinstance(value, VariableNode):
        return [value.name.value]
    if isinstance(value, ListValueNode):
        return [name for item in value.values for name in _variables(item)]
    return []


def prepare(schema: GraphQLSchema, query: str) -> Prepared:
    try:
        # The token limit acts inside the parser, before validation (whose cost grows
        # quadratically with duplicated fields) ever sees the document.
        document = parse(query, max_lexical_tokens=MAX_TOKENS, max_comments=MAX_TOKENS)
    except GraphQLSyntaxError as error:
        # "Parsing aborted": a size limit of the parser, not a syntax error.
        if "nested too deeply" in error.message and "Parsing aborted" in error.message:
            message = f"The document is nested too deeply; the depth limit is {MAX_DEPTH}."
            return Prepared(None, (LimitExceeded("QUERY_TOO_DEEP", message),), "QUERY_TOO_DEEP")
        if "Parsing aborted" in error.message:
            what = "comments" if "comments" in error.message else "tokens"
            message = f"The document has more than {MAX_TOKENS} {what}, the limit."
            return Prepared(None, (LimitExceeded("QUERY_TOO_LARGE", message),), "QUERY_TOO_LARGE")
        return Prepared(None, (error,), "GRAPHQL_PARSE_FAILED")
    except GraphQLError as error:  # e.g. nesting too deep for the parser's recursion
        return Prepared(None, (error,), "GRAPHQL_PARSE_FAILED")
    limit = document_limits(document)
    if limit is not None:
        return Prepared(None, (limit,), limit.code)
    errors = validate(schema, document, RULES, hide_suggestions=True)
    if errors:
        return Prepared(None, tuple(errors), "GRAPHQL_VALIDATION_FAILED")
    collector = _BudgetVariables()
    visit(document, collector)
    return Prepared(document, (), None, tuple(sorted(collector.names)))


class DocumentCache:
    def __init__(self, schema: GraphQLSchema, maxsize: int = 1024) -> None:
        self.schema = schema
        self.maxsize = maxsize
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, query: str) -> Prepared:
        entry = self._entries.get(query)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(query)
            return entry
        self.misses += 1
        entry = prepare(self.schema, query)
        self._entries[query] = entry
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return entry
