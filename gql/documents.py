"""Parsing and validation of GraphQL documents, cached by their text.

The verdict on a document (parsed AST or the error to return) depends only on its text
and the schema, so it is computed once and kept in an LRU cache bounded in bytes (SPEC
§7: 32 MiB per worker by default, ``BILLCLASS_DOCUMENT_CACHE_BYTES``), not in entries:
one cached document costs anything from a few KiB to about 2 MiB, so a count would bound
nothing. Rejections are cached too, so a client repeating a bad document costs a
dictionary lookup. The node budget's verdicts on a document (which depend on variable
values too) live in its entry, so they are bounded and evicted with it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    specified_rules,
    validate,
    visit,
)
from graphql.error import GraphQLSyntaxError
from graphql.language import Token
from graphql.validation import MaxIntrospectionDepthRule

from gql.limits import (
    BUDGET_ARGUMENTS,
    MAX_DEPTH,
    MAX_TOKENS,
    LimitExceeded,
    RequestedCost,
    document_limits,
)
from tenancy.errors import TopLevelCode

RULES = (*specified_rules, MaxIntrospectionDepthRule)

DEFAULT_MAX_BYTES = 32 * 1024 * 1024

# What one cache entry costs, estimated from what drives it: the text, the tokens and the
# errors (the AST is about one node per token; graphql-core keeps every token, comments
# included, in a linked list that the AST's locations hold on to).
#
# Measured with tracemalloc (Python 3.11, graphql-core 3.3, 2026-11): the memory freed
# when a cache holding 4 distinct documents of one shape is cleared, divided by 4, for 21
# shapes at 10 % and 100 % of the 1,000-token limit (tests/unit/test_document_cache.py:
# dense selections, aliases, fragments, lists of ints, strings and floats, short and long
# comments, unknown fields and arguments with 100 errors, unused variables,
# introspection, 60 KB of padding, 60 KB string literals in ASCII and 4-byte characters,
# syntax errors and limit refusals). Per token, from the slope between sizes: 630 B at
# most (repeated __typename or scalar fields), 300-420 B typically; text: the text plus
# at most one copy (string values and comments are sliced out of it); per error beyond
# its tokens: about 1,050 B (once their tracebacks are dropped, see _drop_tracebacks); a
# point lookup: 7.3 KB in all. Each constant is 10-15 % above the largest figure; the
# test keeps the estimate an upper bound for each shape (today at most 0.91 of it).
#
# Text length alone would not do: 2 KB of text can hold 1,000 tokens (400 KB of AST),
# while 60 KB of padding holds a handful; a factor high enough for the first would
# count the second 200 times over.
BYTES_PER_TOKEN = 720
BYTES_PER_ERROR = 1200
TEXT_COPIES = 2
ENTRY_BYTES = 4 * 1024  # the entry and the cache's bookkeeping
# The node budget's verdicts kept per document (see BudgetVerdicts); each is a 16-byte
# key and None or one LimitExceeded without traceback: measured about 780 B.
MAX_BUDGET_VERDICTS = 16
BYTES_PER_VERDICT = 1024


class BudgetVerdicts:
    """The node budget's verdicts on one document, by operation name and the values of
    the variables the budget reads: at most MAX_BUDGET_VERDICTS (the oldest is dropped),
    each keyed by a 16-byte digest, so that their memory is fixed whatever the values
    (a cursor may be 60 KB long)."""

    __slots__ = ("_verdicts",)

    def __init__(self) -> None:
        self._verdicts: dict[bytes, LimitExceeded | RequestedCost] = {}

    @staticmethod
    def key(operation_name: Any, values: list[Any]) -> bytes:
        raw = orjson.dumps([operation_name, *values])
        return hashlib.blake2b(raw, digest_size=16).digest()

    def __contains__(self, key: bytes) -> bool:
        return key in self._verdicts

    def __len__(self) -> int:
        return len(self._verdicts)

    def get(self, key: bytes) -> LimitExceeded | RequestedCost:
        return self._verdicts[key]

    def remember(self, key: bytes, verdict: LimitExceeded | RequestedCost) -> None:
        if isinstance(verdict, LimitExceeded):
            # A cached exception must not keep the frames (and the request) that raised it.
            verdict = verdict.with_traceback(None)
        if len(self._verdicts) >= MAX_BUDGET_VERDICTS:
            self._verdicts.pop(next(iter(self._verdicts)))
        self._verdicts[key] = verdict


@dataclass(frozen=True, slots=True)
class Prepared:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    code: TopLevelCode | None  # extensions.code of the errors, when refused
    # Variables the node budget depends on (page sizes, cursors, nodes(ids:)): with the
    # same values the budget's verdict is the same, so it can be cached.
    budget_variables: tuple[str, ...] = ()
    # The estimated bytes this entry holds in the cache (text included), see ENTRY_BYTES.
    size: int = 0
    budget_verdicts: BudgetVerdicts = field(default_factory=BudgetVerdicts, compare=False)


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
    """The verdict on a document: its AST, or the errors to answer with; sized for the
    cache."""
    try:
        # The token limit acts inside the parser, before validation (whose cost grows
        # quadratically with duplicated fields) ever sees the document.
        document = parse(query, max_lexical_tokens=MAX_TOKENS, max_comments=MAX_TOKENS)
    except GraphQLSyntaxError as error:
        # "Parsing aborted": a size limit of the parser, not a syntax error.
        if "nested too deeply" in error.message and "Parsing aborted" in error.message:
            message = f"The document is nested too deeply; the depth limit is {MAX_DEPTH}."
            return _refused(query, None, [LimitExceeded(TopLevelCode.QUERY_TOO_DEEP, message)])
        if "Parsing aborted" in error.message:
            what = "comments" if "comments" in error.message else "tokens"
            message = f"The document has more than {MAX_TOKENS} {what}, the limit."
            return _refused(query, None, [LimitExceeded(TopLevelCode.QUERY_TOO_LARGE, message)])
        return _refused(query, None, [error], TopLevelCode.GRAPHQL_PARSE_FAILED)
    except GraphQLError as error:  # e.g. nesting too deep for the parser's recursion
        return _refused(query, None, [error], TopLevelCode.GRAPHQL_PARSE_FAILED)
    limit = document_limits(document)
    if limit is not None:
        return _refused(query, None, [limit])
    errors = validate(schema, distinct_selections(document), RULES, hide_suggestions=True)
    if errors:
        # The errors point into the document: it stays alive with them.
        return _refused(query, document, errors, TopLevelCode.GRAPHQL_VALIDATION_FAILED)
    collector = _BudgetVariables()
    visit(document, collector)
    budget_variables = tuple(sorted(collector.names))
    operations = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
    # Verdicts are keyed by operation name (each operation's, or none) and the values of
    # the budget variables: without such variables there are at most operations + 1.
    verdicts = MAX_BUDGET_VERDICTS if budget_variables else min(operations + 1, MAX_BUDGET_VERDICTS)
    size = estimated_bytes(query, document, 0) + verdicts * BYTES_PER_VERDICT
    return Prepared(document, (), None, budget_variables, size)


def distinct_selections(document: DocumentNode) -> DocumentNode:
    """The document with every selection that repeats an identical sibling left out: what
    validation reads (execution keeps the document as sent).

    graphql-core's OverlappingFieldsCanBeMergedRule compares every pair of fields that
    share a response name, so ``{ viewer { role } viewer { role } ... }`` repeated to the
    1,000-token limit cost 360-720 ms of CPU per distinct document: a stream of them from
    one tenant would hold the worker (SPEC §7 "No input may cost time super-linear in its
    length"). An identical repeat can neither conflict nor be invalid on its own, so
    leaving it out changes no verdict; only a repeated mistake is reported once. Printing
    each selection to compare it costs the document's size times its depth (at most
    1,000 tokens x 10), a few milliseconds at worst.
    """
    definitions = [_without_repeats(definition) for definition in document.definitions]
    if all(new is old for new, old in zip(definitions, document.definitions, strict=True)):
        return document
    return dataclasses.replace(document, definitions=tuple(definitions))


def _without_repeats(node: Any) -> Any:
    selection_set: SelectionSetNode | None = getattr(node, "selection_set", None)
    if selection_set is None:
        return node
    seen: set[str] = set()
    kept = []
    for selection in selection_set.selections:
        printed = print_ast(selection)
        if printed not in seen:
            seen.add(printed)
            kept.append(_without_repeats(selection))
    if len(kept) == len(selection_set.selections) and all(
        new is old for new, old in zip(kept, selection_set.selections, strict=True)
    ):
        return node
    return dataclasses.replace(
        node, selection_set=dataclasses.replace(selection_set, selections=tuple(kept))
    )


def _refused(
    query: str,
    retained: DocumentNode | None,
    errors: list[GraphQLError],
    code: TopLevelCode | None = None,
) -> Prepared:
    for error in errors:
        _drop_tracebacks(error)
    code = code or TopLevelCode((errors[0].extensions or {})["code"])
    size = estimated_bytes(query, retained, len(errors))
    return Prepared(None, tuple(errors), code, (), size)


def estimated_bytes(query: str, document: DocumentNode | None, errors: int) -> int:
    """What caching the verdict on ``query`` costs (see BYTES_PER_TOKEN); ``document``
    is the AST the entry keeps alive, if any."""
    return (
        ENTRY_BYTES
        + TEXT_COPIES * sys.getsizeof(query)
        + BYTES_PER_TOKEN * _tokens(document)
        + BYTES_PER_ERROR * errors
    )


def _tokens(document: DocumentNode | None) -> int:
    """The tokens an AST keeps alive: its locations hold the lexer's linked list of every
    token, comments included (at most 2 x MAX_TOKENS, so this walk is cheap)."""
    if document is None or document.loc is None:
        return 0
    count = 0
    token: Token | None = document.loc.start_token
    while token is not None:
        count += 1
        token = token.next
    return count


def _drop_tracebacks(error: BaseException) -> None:
    """A cached error must not keep alive the frames that raised it (the parser with
    its lexer, a scalar's coercion): only its message, locations and nodes are used."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        item = pending.pop()
        if item is None or any(item is s for s in seen) or len(seen) > 10:
            continue
        seen.append(item)
        item.__traceback__ = None
        pending += [getattr(item, "original_error", None), item.__cause__, item.__context__]


class DocumentCache:
    """Verdicts on documents by their text, least recently used first out, holding at
    most ``max_bytes`` (estimated, see BYTES_PER_TOKEN). A verdict larger than the whole
    cache is computed and returned, not kept."""

    def __init__(self, schema: GraphQLSchema, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.schema = schema
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Prepared] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, query: str) -> bool:
        return query in self._entries

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def get(self, query: str) -> Prepared:
        entry = self._entries.get(query)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(query)
            return entry
        self.misses += 1
        entry = prepare(self.schema, query)
        if entry.size > self.max_bytes:
            return entry
        while self._entries and self.bytes + entry.size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size
        self._entries[query] = entry
        self.bytes += entry.size
        return entry
