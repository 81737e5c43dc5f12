"""Trusted (persisted) documents (issue 10): registration and the per-worker cache.

A client tool chain (GraphQL Code Generator's client preset, Relay's persist output)
emits a manifest, a JSON object ``{hash: document}``; ``billclass documents push``
registers it with :func:`registrations`, which checks each entry as a request would be
checked, once: the hash is the SHA-256 of the exact text (bare hex or ``sha256:<hex>``),
the text is at most a request body's size, it parses within the token limit, passes the
depth, alias and directive limits and validation against the served schema, and, for
each operation whose cost does not depend on variables, its page sizes and requested
cost (the node budget) are computed and must be within the limits. One bad entry
refuses the whole manifest.

A request names a registered document by ``documentId`` (gql/endpoint.py).
:class:`TrustedDocuments` keeps, per worker, the parsed and validated document of each
ID it has served, with the requested costs computed at registration already in its
budget verdicts: a registered document is parsed and validated once per worker, never
per request, and is not a new document for the parse pacing (gql/admission.py). Each
entry is checked against the table again after ``BILLCLASS_TOKEN_CACHE_SECONDS`` (the
bound a token revocation has too): a removed document stops working within that bound.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode
from graphql.execution.values import VariableValues

from gql.documents import BudgetVerdicts, Prepared, prepare
from gql.limits import MAX_BODY_BYTES, LimitExceeded, RequestedCost, operation_budget
from tenancy.trusted_documents import Registration

PREFIX = "sha256:"
DOCUMENT_ID = re.compile(r"sha256:[0-9a-f]{64}")
_MANIFEST_KEY = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")
ANONYMOUS = ""  # the key of an anonymous operation in requested_costs
NO_VARIABLES = VariableValues({}, {})  # a cost that reads no variable


def document_id(text: str) -> str:
    """The ID of a document: ``sha256:`` and the hex SHA-256 of its exact UTF-8 text."""
    return PREFIX + hashlib.sha256(text.encode()).hexdigest()


def is_document_id(value: str) -> bool:
    return DOCUMENT_ID.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class Checked:
    """A document as registration sees it: its operation names and requested costs, or
    why it may not be registered."""

    operation_names: list[str | None]
    requested_costs: dict[str, Any]
    problem: str | None


def check(schema: GraphQLSchema, text: str) -> Checked:
    """Check one document for registration (see the module)."""
    if len(text.encode()) > MAX_BODY_BYTES:
        return Checked(
            [], {}, f"QUERY_TOO_LARGE: longer than a request body may be ({MAX_BODY_BYTES} bytes)"
        )
    prepared = prepare(schema, text)
    if prepared.document is None:
        error = prepared.errors[0]
        more = f" (and {len(prepared.errors) - 1} more)" if len(prepared.errors) > 1 else ""
        return Checked([], {}, f"{prepared.code}: {error.message}{more}")
    operations = [
        d for d in prepared.document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    names = [op.name.value if op.name else None for op in operations]
    costs: dict[str, Any] = {}
    for operation in operations:
        key = operation.name.value if operation.name else ANONYMOUS
        if prepared.budget_variables:
            costs[key] = None  # depends on the variables' values: computed per request
            continue
        try:
            cost = operation_budget(schema, prepared.document, operation, NO_VARIABLES)
        except LimitExceeded as limit:
            return Checked(names, {}, f"{limit.code}: {limit.message}")
        except GraphQLError:
            costs[key] = None  # an argument that needs the variables: per request
            continue
        costs[key] = [cost.requested, cost.fixed]
    return Checked(names, costs, None)


def registrations(schema: GraphQLSchema, manifest: Any) -> tuple[list[Registration], list[str]]:
    """The registrations of a manifest ``{hash: document}``, or one line per bad entry
    (then nothing may be registered)."""
    if not isinstance(manifest, dict) or not manifest:
        return [], ['the manifest must be a non-empty JSON object {"<sha256>": "<document>"}']
    found: list[Registration] = []
    problems: list[str] = []
    for key, text in manifest.items():
        match = _MANIFEST_KEY.fullmatch(key)
        if match is None:
            problems.append(f"{key[:80]}: not a SHA-256 (64 hex digits, optionally sha256:)")
            continue
        if not isinstance(text, str):
            problems.append(f"{key}: the document must be a string")
            continue
        expected = PREFIX + match.group(1).lower()
        actual = document_id(text)
        if actual != expected:
            problems.append(f"{key}: hash mismatch, the document's SHA-256 is {actual}")
            continue
        checked = check(schema, text)
        if checked.problem is not None:
            problems.append(f"{expected}: {checked.problem}")
            continue
        found.append(Registration(expected, text, checked.operation_names, checked.requested_costs))
    return ([], problems) if problems else (found, [])


def verdict(schema: GraphQLSchema, text: str) -> str:
    """``valid``, or ``INVALID: reason`` against the current schema (``documents list``)."""
    problem = check(schema, text).problem
    return "valid" if problem is None else f"INVALID: {problem}"


@dataclass(frozen=True, slots=True)
class Trusted:
    """A registered document, ready to run: parsed and validated (or its errors, should
    the schema have changed since registration), with its operation names."""

    id: str
    prepared: Prepared
    operation_names: frozenset[str]
    # Compiled execution plans by operation (id of its node in prepared.document), each
    # compiled at the operation's first request in this worker; None: not compilable,
    # graphql-core runs it (gql/plans.py).
    plans: dict[int, Any] = field(default_factory=dict)


def _with_registered_costs(prepared: Prepared, row: Any) -> None:
    """Put the requested costs computed at registration into the document's budget
    verdicts, so that no request computes them again."""
    if prepared.document is None or prepared.budget_variables:
        return
    costs: dict[str, Any] = row.requested_costs or {}
    verdicts: BudgetVerdicts = prepared.budget_verdicts
    for name, cost in costs.items():
        if cost is None:
            continue
        requested = RequestedCost(int(cost[0]), int(cost[1]))
        verdicts.remember(verdicts.key(name or None, []), requested)
        if len(costs) == 1:  # the one operation may be run without operationName
            verdicts.remember(verdicts.key(None, []), requested)


# Unknown IDs remembered per worker (an ID and a time each: about 200 bytes). Kept apart
# from the registered documents, so that a caller sending made-up IDs can never push
# everyone's registered documents out of the cache (they would be parsed again).
MAX_MISSING = 10_000


class TrustedDocuments:
    """The registered documents this worker has served, by ID, least recently used
    first out, at most ``max_bytes`` (estimated as for the document cache); and, apart,
    up to ``MAX_MISSING`` IDs found missing. Each is checked against the table again
    after ``recheck_seconds``."""

    def __init__(
        self,
        schema: GraphQLSchema,
        load: Callable[[str], Awaitable[Any]],
        recheck_seconds: float,
        max_bytes: int,
    ) -> None:
        self.schema = schema
        self._load = load
        self.recheck_seconds = recheck_seconds
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[Trusted, float, int]] = OrderedDict()
        self._missing: OrderedDict[str, float] = OrderedDict()  # ID: when found missing
        self.bytes = 0
        self.parses = 0  # documents this worker parsed and validated (loaded)

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, document_id: str) -> Trusted | None:
        """The registered document with this ID, or None when there is none."""
        now = time.monotonic()
        entry = self._entries.get(document_id)
        if entry is not None and now - entry[1] < self.recheck_seconds:
            self._entries.move_to_end(document_id)
            return entry[0]
        missing_since = self._missing.get(document_id)
        if missing_since is not None and now - missing_since < self.recheck_seconds:
            return None
        row = await self._load(document_id)
        if row is None:
            self._forget(document_id)
            self._missing[document_id] = now
            while len(self._missing) > MAX_MISSING:
                self._missing.popitem(last=False)
            return None
        self._missing.pop(document_id, None)
        if entry is not None:
            trusted, size = entry[0], entry[2]  # the same ID is the same text: no new parse
        else:
            trusted = self._prepared(row)
            size = trusted.prepared.size
        self._put(document_id, trusted, now, size)
        return trusted

    def _prepared(self, row: Any) -> Trusted:
        self.parses += 1
        prepared = prepare(self.schema, row.document)
        _with_registered_costs(prepared, row)
        names = frozenset(name for name in row.operation_names or () if name)
        return Trusted(row.id, prepared, names)

    def _forget(self, key: str) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2]

    def _put(self, key: str, trusted: Trusted, now: float, size: int) -> None:
        self._forget(key)
        if size > self.max_bytes:
            return
        while self._entries and self.bytes + size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted[2]
        self._entries[key] = (trusted, now, size)
        self.bytes += size
