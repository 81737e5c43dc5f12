"""POST /graphql: the request pipeline, in the order SPEC §2 and §6 require.

Each step is one function; a step that refuses the request raises :class:`Refusal`
with the answer, so the order below is the order of the code in ``_serve``.

1. JSON POSTs only (GET 405, other content types 415), body at most 64 KiB (413):
   ``check_request``;
2. a valid bearer token, before anything else is looked at (401 UNAUTHENTICATED):
   ``_authenticate``;
3. the tenant's concurrency cap (gql/admission.py): at most 8 requests of one tenant go
   past this point at once, more wait 1 s at most, then 429 THROTTLED: ``_admitted``;
4. the body read (413 beyond the limit) and the JSON envelope (400; arrays are
   BATCHING_NOT_SUPPORTED; "query" or "documentId", not both): ``read_body``,
   ``parse_envelope``;
5. the document: parsed with the token limit, depth/alias/directive limits, validation
   (all cached by document text): ``_prepare``; or a registered (trusted) document by
   its ID, parsed and validated once per worker (gql/trusted.py), unknown:
   PERSISTED_DOCUMENT_NOT_FOUND; an ad-hoc query where BILLCLASS_DOCUMENTS allows only
   registered documents: PERSISTED_DOCUMENT_REQUIRED: ``_document``; a registered query
   then runs by its compiled plan (gql/plans.py, compiled once per worker): ``_plan``;
6. variables coerced (BAD_USER_INPUT), then page sizes and the node budget, which is the
   requested cost (SPEC §7): ``_bind``, ``_requested_cost``;
7. the token's and the tenant's rate-limit buckets (429 THROTTLED with Retry-After,
   nothing executed), before any database work: ``_charge``;
8. one database transaction for the whole operation, with the caller's row-level
   security context, on a connection waited for 1 s at most (503, never blocking the
   loop); committed only when there is no error, else rolled back: ``_run``;
9. errors formatted with codes, unexpected ones masked; 503 when the database is down:
   ``_execute``;
10. the difference between the requested and the actual cost (objects returned, counted
    by the executor) refunded, and ``extensions.cost`` added to the response:
    ``_settled``.

Strawberry defines the schema and its resolvers; this module replaces its HTTP view so
that every status code, limit and cache above is ours to control (and measured).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from graphql import DocumentNode, GraphQLError, OperationType
from sqlalchemy import Connection
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from db.engine import WRITE_TRANSACTION
from gql import execution
from gql.admission import Admission, GatedEngine, GatedInlineEngine, NoConnection, Throttled
from gql.auth import CachedToken, TokenCache, authenticate, bearer_secret
from gql.context import Context
from gql.documents import DEFAULT_MAX_BYTES, DocumentCache, Prepared
from gql.errors import (
    INTERNAL_MESSAGE,
    error_body,
    format_error,
    is_unavailable,
    unavailable_reason,
)
from gql.limits import (
    MAX_BODY_BYTES,
    LimitExceeded,
    RequestedCost,
    check_list_maxima,
    operation_budget,
)
from gql.metrics import observe
from gql.plans import Plan, compile_plan
from gql.rate_limits import Bucket, Charge, RateLimiter, cost_extension
from gql.tracing import NO_TRACING, Tracing
from gql.trusted import Trusted, TrustedDocuments, is_document_id
from tenancy import audit, tokens, trusted_documents
from tenancy.errors import TopLevelCode
from tenancy.policy import document_must_be_registered
from tenancy.principal import Principal
from tenancy.scoping import enter_tenant

log = logging.getLogger("billclass.request")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(supplied: str) -> str:
    """The client's X-Request-ID when it is safe to log and echo, else a fresh one."""
    return supplied if _REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex


JSON_TYPES = ("application/json",)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Refusal(Exception):
    """A step's answer that ends the request before the next step: the response, and
    the code the request log and metrics record (None: they record the HTTP status)."""

    def __init__(self, response: Response, code: TopLevelCode | None = None) -> None:
        super().__init__(code)
        self.response = response
        self.code = code


@dataclass(slots=True)
class Outcome:
    """What the request log line and the metrics say of one request, filled in as the
    pipeline learns it."""

    role: str | None = None
    operation: str | None = None
    type: str | None = None  # query or mutation
    code: str | None = None  # extensions.code of the first error, if any
    # The operation names of the registered document run, if any (they label metrics).
    registered: frozenset[str] = frozenset()


class Envelope(NamedTuple):
    """The JSON body of a GraphQL request, checked for shape: a ``query`` or the
    ``documentId`` of a registered document, never both."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    document_id: str | None = None


def check_request(request: Request) -> None:
    """Step 1: a JSON POST whose declared length is within the limit (the method is
    checked by the route, gql/app.py)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in JSON_TYPES:
        raise Refusal(
            _error(
                415,
                "GraphQL requests are JSON POSTs (Content-Type: application/json).",
                TopLevelCode.UNSUPPORTED_MEDIA_TYPE,
            )
        )
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise Refusal(_too_large())


async def read_body(request: Request) -> bytearray:
    """Step 4, first half: the body, refused as soon as it exceeds the limit (whatever
    Content-Length said, or without one)."""
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise Refusal(_too_large())
    except ClientDisconnect:
        # The client left before sending its whole body: nobody reads the answer,
        # but the request log gets its line, and no traceback reaches the log.
        raise Refusal(
            _error(
                400,
                "The client disconnected before the body was read.",
                TopLevelCode.BAD_REQUEST,
            )
        ) from None
    return body


def parse_envelope(body: bytes | bytearray) -> Envelope:
    """Step 4, second half: one JSON object with a "query" string or a "documentId"
    (``sha256:<hex>``, GraphQL over HTTP's persisted documents), and optional
    "variables" (an object) and "operationName" (a string)."""
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Refusal(_bad_request("The request body is not valid JSON.")) from None
    if isinstance(envelope, list):
        raise Refusal(
            _error(
                400,
                "Batched requests (JSON arrays) are not supported; send one operation per request.",
                TopLevelCode.BATCHING_NOT_SUPPORTED,
            )
        )
    if not isinstance(envelope, dict):
        raise Refusal(_bad_request('The body must be a JSON object with a "query" string.'))
    query, document_id = envelope.get("query"), envelope.get("documentId")
    if query is not None and document_id is not None:
        raise Refusal(_bad_request('Send either "query" or "documentId", not both.'))
    if document_id is not None:
        if not isinstance(document_id, str) or not is_document_id(document_id):
            raise Refusal(
                _bad_request('"documentId" must be "sha256:" and 64 lowercase hex digits.')
            )
    elif not isinstance(query, str):
        raise Refusal(
            _bad_request('The body must be a JSON object with a "query" or "documentId" string.')
        )
    variables = envelope.get("variables")
    operation_name = envelope.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        raise Refusal(_bad_request('"variables" must be a JSON object.'))
    if operation_name is not None and not isinstance(operation_name, str):
        raise Refusal(_bad_request('"operationName" must be a string.'))
    return Envelope(query, variables, operation_name, document_id)


class GraphQLEndpoint:
    def __init__(
        self,
        engine: GatedEngine,
        schema: Any,
        name_of: Any,
        token_cache_seconds: float,
        read_engine: GatedInlineEngine | None = None,
        admission: Admission | None = None,
        document_cache_bytes: int = DEFAULT_MAX_BYTES,
        rate_limits: RateLimiter | None = None,
        tracing: Tracing = NO_TRACING,
        *,
        documents_mode: str = "open",
        compiled_plans: bool = True,
    ) -> None:
        self.engine = engine
        self.tracing = tracing
        self.read_engine = read_engine
        self.admission = admission or Admission(0)
        self.schema = schema
        check_list_maxima(schema)  # every list's cost is known, or the service does not start
        self.executor_class = execution.install(schema, name_of)
        self.name_of = name_of
        self.compiled_plans = compiled_plans
        self.documents = DocumentCache(schema, document_cache_bytes)
        self.documents_mode = documents_mode
        # Registered documents, re-checked against the table within the bound a token
        # revocation has.
        self.trusted = TrustedDocuments(
            schema, self._load_document, token_cache_seconds, document_cache_bytes
        )
        self.tokens = TokenCache(token_cache_seconds)
        self.rate_limits = rate_limits or RateLimiter(Bucket(0, 0), Bucket(0, 0), None)
        # When this process last recorded use of each token (lastUsedAt, SPEC §2).
        self._touched: dict[int, float] = {}

    async def __call__(self, request: Request) -> Response:
        """Answer one request through the pipeline; then the X-Request-ID header, the
        metrics and the request log line (one JSON object)."""
        started = time.perf_counter()
        request_id = request_id_of(request.headers.get("x-request-id", ""))
        outcome = Outcome()
        response = await self._handle(request, request_id, outcome)
        response.headers["X-Request-ID"] = request_id
        elapsed = time.perf_counter() - started
        status = response.status_code
        result = outcome.code or ("ok" if status == 200 else f"http_{status}")
        observe(outcome.operation, outcome.type, result, elapsed, outcome.registered)
        line = {
            "request_id": request_id,
            "role": outcome.role,
            "operation": outcome.operation,
            "status": status,
            "outcome": result,
            "duration_ms": round(elapsed * 1000, 2),
        }
        if self.tracing.enabled:
            # The request's trace (the caller's, given a traceparent header).
            line["trace_id"] = self.tracing.trace_id()
        log.info("%s", orjson.dumps(line).decode())
        return response

    async def _handle(self, request: Request, request_id: str, outcome: Outcome) -> Response:
        """The pipeline of the module docstring, one step each; a step that refuses the
        request raises :class:`Refusal` with the answer."""
        try:
            check_request(request)
            token, fresh = await self._authenticate(request, request_id)
            outcome.role = token.principal.role.value
            return await self._admitted(request, request_id, outcome, token, fresh)
        except Refusal as refusal:
            if refusal.code is not None:
                outcome.code = refusal.code
            return refusal.response

    async def _authenticate(self, request: Request, request_id: str) -> tuple[CachedToken, bool]:
        """Step 2: the caller's token (from the cache or the database), and whether it
        was looked up afresh (then its lastUsedAt is due)."""
        secret = bearer_secret(request.headers.get("authorization"))
        if secret is None:
            raise Refusal(
                _unauthenticated("A bearer token is required (Authorization: Bearer bc_...).")
            )
        with _database_refusal(request_id):
            token, fresh = await authenticate(self.engine, self.tokens, secret)
        if token is None:
            raise Refusal(_unauthenticated("The token is unknown, expired or revoked."))
        return token, fresh

    async def _admitted(
        self,
        request: Request,
        request_id: str,
        outcome: Outcome,
        token: CachedToken,
        fresh: bool,
    ) -> Response:
        """Step 3: the rest of the pipeline as one of the tenant's concurrent requests.

        The tenant's concurrency cap (SPEC §7) covers everything from here: reading the
        body, parsing and validating a new document and executing it. A flood of
        distinct documents (each parsed in pure Python, ~20 ms per 60 KB) or of requests
        refused late would otherwise take the worker from every other tenant."""
        principal = token.principal
        try:
            async with self.admission.admit(principal):
                return await self._serve(request, request_id, outcome, token, fresh)
        except Throttled as throttled:
            raise Refusal(await self._throttled(throttled, principal), throttled.code) from None

    async def _throttled(self, throttled: Throttled, principal: Principal) -> Response:
        """429 for a request refused before its document was parsed (the concurrency
        cap, or the pace of new documents): nothing requested, nothing charged; the
        buckets as they stand, so a client can always read ``extensions.cost``."""
        status = await self.rate_limits.status(principal)
        response = JSONResponse(
            {
                "errors": [error_body(str(throttled), throttled.code)],
                "extensions": {"cost": cost_extension(0, 0, status)},
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response

    async def _serve(
        self,
        request: Request,
        request_id: str,
        outcome: Outcome,
        token: CachedToken,
        fresh: bool,
    ) -> Response:
        """Steps 4 to 10, for an authenticated caller within its tenant's concurrency
        cap."""
        principal = token.principal
        envelope = parse_envelope(await read_body(request))
        prepared, document, trusted = await self._document(envelope, principal, request_id, outcome)
        context = Context(principal=principal, request_id=request_id)
        executor = self._bind(document, envelope, context, request_id)
        if trusted is not None and self.compiled_plans:
            executor.plan = self._plan(trusted, executor)
        operation = executor.operation
        outcome.operation = operation.name.value if operation.name else None
        outcome.type = operation.operation.value
        with self.tracing.operation(outcome.type, outcome.operation) as span:
            try:
                cost = await self._requested_cost(
                    prepared, envelope, executor, principal, request_id
                )
                charge = await self._charge(principal, cost)
                touch = token if fresh else None
                response = await self._execute(executor, context, cost, charge, outcome, touch)
            except Refusal as refusal:
                span.outcome(refusal.code)
                raise
            span.outcome(outcome.code)
            return response

    async def _document(
        self, envelope: Envelope, principal: Principal, request_id: str, outcome: Outcome
    ) -> tuple[Prepared, DocumentNode, Trusted | None]:
        """Step 5: the registered document named by ``documentId`` (never parsed or
        validated again here, nor paced as a new parse), or the ad-hoc query when
        BILLCLASS_DOCUMENTS allows the caller one."""
        if envelope.document_id is None:
            assert envelope.query is not None
            if document_must_be_registered(principal, self.documents_mode):
                code = TopLevelCode.PERSISTED_DOCUMENT_REQUIRED
                message = (
                    "This service runs only registered (trusted) documents for this token:"
                    ' send {"documentId": "sha256:<hex>"} instead of a query.'
                )
                raise Refusal(_error(200, message, code), code)
            return (*await self._prepare(envelope.query, principal, request_id), None)
        with _database_refusal(request_id):
            trusted = await self.trusted.get(envelope.document_id)
        if trusted is None:
            code = TopLevelCode.PERSISTED_DOCUMENT_NOT_FOUND
            message = f"No registered document has the ID {envelope.document_id}."
            raise Refusal(_error(200, message, code), code)
        prepared = trusted.prepared
        if prepared.document is None:  # the schema changed since its registration
            errors = [format_error(e, request_id, prepared.code)[0] for e in prepared.errors]
            raise Refusal(JSONResponse({"errors": errors}), prepared.code)
        outcome.registered = trusted.operation_names
        return prepared, prepared.document, trusted

    def _plan(self, trusted: Trusted, executor: execution.BillclassExecutor) -> Plan | None:
        """The compiled plan of a registered document's operation (gql/plans.py),
        compiled at its first use in this worker; None: graphql-core executes it."""
        key = id(executor.operation)  # a node of the document the entry keeps alive
        plans: dict[int, Plan | None] = trusted.plans
        if key in plans:
            return plans[key]
        try:
            plan = compile_plan(executor, self.executor_class.counted, self.name_of)
        except Exception:  # our bug: graphql-core runs it, as for any uncompiled one
            log.exception("could not compile the plan of document %s", trusted.id)
            plan = None
        plans[key] = plan
        return plan

    async def _load_document(self, document_id: str) -> Any:
        """The registry's row of a document (gql/trusted.py fills its cache with it)."""
        async with self.engine.connect() as conn, conn.begin():
            return await trusted_documents.find(conn, document_id)

    async def _prepare(
        self, query: str, principal: Principal, request_id: str
    ) -> tuple[Prepared, DocumentNode]:
        """Step 5: the document parsed, limited and validated, from the cache when this
        worker has seen its text; refused, the errors (HTTP 200, SPEC §6)."""
        if query in self.documents:
            prepared = self.documents.get(query)
        else:
            # A document this worker has not seen: one at a time per tenant (see
            # gql/admission.py), since parsing it is the one step no cost bounds.
            async with self.admission.parsing(principal):
                prepared = self.documents.get(query)
        if prepared.document is not None:
            return prepared, prepared.document
        if prepared.code == TopLevelCode.GRAPHQL_VALIDATION_FAILED:
            # Rejected documents are logged truncated, never whole (SPEC §6).
            digest = hashlib.sha256(query.encode(errors="replace")).hexdigest()[:16]
            log.info(
                "request %s: rejected document sha256:%s, %d characters",
                request_id,
                digest,
                len(query),
            )
        errors = [format_error(e, request_id, prepared.code)[0] for e in prepared.errors]
        raise Refusal(JSONResponse({"errors": errors}), prepared.code)

    def _bind(
        self, document: DocumentNode, envelope: Envelope, context: Context, request_id: str
    ) -> execution.BillclassExecutor:
        """Step 6, first half: the operation chosen and its variables coerced (refused:
        BAD_USER_INPUT)."""
        executor = self.executor_class.build(
            self.schema,
            document,
            None,
            context,
            envelope.variables,
            envelope.operation_name,
            hide_suggestions=True,
        )
        if isinstance(executor, list):
            code = TopLevelCode.BAD_USER_INPUT
            errors = [format_error(e, request_id, code)[0] for e in executor]
            raise Refusal(JSONResponse({"errors": errors}), code)
        assert isinstance(executor, execution.BillclassExecutor)
        return executor

    async def _requested_cost(
        self,
        prepared: Prepared,
        envelope: Envelope,
        executor: execution.BillclassExecutor,
        principal: Principal,
        request_id: str,
    ) -> RequestedCost:
        """Step 6, second half: page sizes and the node budget give the requested cost
        (SPEC §7), which no rate-limit bucket may be too small to ever hold."""
        try:
            cost = self._check_budget(
                prepared, envelope, executor.operation, executor.variable_values
            )
            beyond = self.rate_limits.beyond_buckets(cost.requested)
            if beyond is not None:
                raise beyond
        except LimitExceeded as limit:
            refusal: dict[str, Any] = {"errors": [format_error(limit, request_id)[0]]}
            if limit.cost is not None:  # refused for its cost, which the caller may see
                status = await self.rate_limits.status(principal)
                refusal["extensions"] = {"cost": cost_extension(limit.cost, 0, status)}
            raise Refusal(JSONResponse(refusal), limit.code) from None
        except GraphQLError as error:  # an argument that does not coerce
            code = TopLevelCode.BAD_USER_INPUT
            body = {"errors": [format_error(error, request_id, code)[0]]}
            raise Refusal(JSONResponse(body), code) from None
        return cost

    async def _charge(self, principal: Principal, cost: RequestedCost) -> Charge:
        """Step 7: both rate-limit buckets must hold the requested cost (SPEC §7);
        refused, the request has touched no database (the token came from the cache or
        its lookup)."""
        charge = await self.rate_limits.admit(principal, cost.requested)
        if charge.admitted:
            return charge
        response = JSONResponse(
            {
                "errors": [
                    error_body(
                        f"Rate limit exceeded: the query costs {cost.requested} points;"
                        f" retry in {charge.retry_after} s.",
                        TopLevelCode.THROTTLED,
                    )
                ],
                "extensions": {"cost": cost_extension(cost.requested, 0, charge.status)},
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(charge.retry_after)
        raise Refusal(response, TopLevelCode.THROTTLED)

    async def _execute(
        self,
        executor: execution.BillclassExecutor,
        context: Context,
        cost: RequestedCost,
        charge: Charge,
        outcome: Outcome,
        touch: CachedToken | None,
    ) -> Response:
        """Steps 8 to 10: the operation in its transaction, its errors formatted, the
        response settled; ``touch``: the token whose lastUsedAt is due, recorded after
        the response."""
        request_id = context.request_id
        try:
            payload, unavailable = await self._run(executor, context)
        except Exception as error:
            body, status_code, retry_after = _failure(error, request_id)
            outcome.code = body["errors"][0]["extensions"]["code"]
            return await self._settled(
                body, status_code, charge, cost, executor, retry_after=retry_after
            )
        if executor.overrun is not None:
            # More objects than any response may hold: no partial data (SPEC §7); the
            # transaction was rolled back, as for any error.
            payload = {"errors": [format_error(executor.overrun, request_id)[0]]}
            unavailable = False
        if payload.get("errors"):
            outcome.code = payload["errors"][0]["extensions"]["code"]
        background = self._touch_later(touch) if touch is not None else None
        return await self._settled(
            payload, 503 if unavailable else 200, charge, cost, executor, background
        )

    async def _run(
        self, executor: execution.BillclassExecutor, context: Context
    ) -> tuple[dict[str, Any], bool]:
        """Step 8: the operation in one transaction, with the request ID that its audit
        events record; its payload, and whether an error means the database is down."""
        is_mutation = executor.operation.operation is OperationType.MUTATION
        token_ref = audit.request_id.set(context.request_id)
        try:
            return await self._transaction(executor, context, is_mutation)
        finally:
            audit.request_id.reset(token_ref)

    async def _settled(
        self,
        body: dict[str, Any],
        status_code: int,
        charge: Charge,
        cost: RequestedCost,
        executor: execution.BillclassExecutor,
        background: BackgroundTask | None = None,
        *,
        retry_after: int | None = None,
    ) -> Response:
        """The response of a request the buckets admitted: the difference between its
        requested and its actual cost refunded, and ``extensions.cost`` reporting both."""
        actual = cost.actual(executor.objects)
        status = await self.rate_limits.settle(charge, actual)
        body["extensions"] = {"cost": cost_extension(cost.requested, actual, status)}
        response = JSONResponse(body, status_code=status_code, background=background)
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    def _check_budget(
        self, prepared: Prepared, envelope: Envelope, operation: Any, variables: Any
    ) -> RequestedCost:
        """Page sizes and node budget: the requested cost, or the refusal. The verdict is
        cached per document, operation and the values of the variables it depends on."""
        given = envelope.variables or {}
        verdicts = prepared.budget_verdicts
        key = verdicts.key(
            envelope.operation_name, [given.get(name) for name in prepared.budget_variables]
        )
        if key not in verdicts:
            assert prepared.document is not None
            verdict: LimitExceeded | RequestedCost
            try:
                verdict = operation_budget(self.schema, prepared.document, operation, variables)
            except LimitExceeded as limit:
                verdict = limit
            verdicts.remember(key, verdict)
        verdict = verdicts.get(key)
        if isinstance(verdict, LimitExceeded):
            # A fresh exception: re-raising the cached one would grow its traceback by
            # this request's frames, every time.
            raise LimitExceeded(verdict.code, verdict.message, verdict.cost)
        return verdict

    async def _transaction(
        self, executor: execution.BillclassExecutor, context: Context, is_mutation: bool
    ) -> tuple[dict[str, Any], bool]:
        """One transaction for the whole operation, with the caller's row-level security
        context; committed only when there is no error, else rolled back."""
        if not is_mutation and self.read_engine is not None:
            return await self._inline_transaction(executor, context)
        async with self.engine.connect() as conn:
            if is_mutation:
                # SQLite: BEGIN IMMEDIATE, so concurrent writers queue instead of racing.
                conn = await conn.execution_options(**{WRITE_TRANSACTION: True})
            transaction = await conn.begin()
            try:
                await enter_tenant(conn, context.principal)
                context.bind(conn)
                result, formatted = await _operation_result(executor, context.request_id)
                # A dry run is never committed: the executor ended it with its root field;
                # this holds even for an executor that did not.
                await context.end_dry_run()
                if formatted:
                    await transaction.rollback()
                else:
                    await transaction.commit()
            except BaseException:
                if transaction.is_active:
                    await transaction.rollback()
                raise
        return _payload(result, formatted)

    async def _inline_transaction(
        self, executor: execution.BillclassExecutor, context: Context
    ) -> tuple[dict[str, Any], bool]:
        """A read-only operation on SQLite, on a synchronous connection (see
        db.engine.make_inline_read_engine): same transaction, same outcome rules."""
        assert self.read_engine is not None
        async with self.read_engine.connect() as sync_conn:
            transaction = sync_conn.begin()
            try:
                context.bind(InlineConnection(sync_conn))  # type: ignore[arg-type]
                result, formatted = await _operation_result(executor, context.request_id)
                if formatted:
                    transaction.rollback()
                else:
                    transaction.commit()
            except BaseException:
                if transaction.is_active:
                    transaction.rollback()
                raise
        return _payload(result, formatted)

    def _touch_later(self, token: CachedToken) -> BackgroundTask | None:
        """Record lastUsedAt after the response, in its own transaction, at most once a
        minute per token and process; the UPDATE's own condition covers other workers."""
        principal = token.principal
        now = time.monotonic()
        last = self._touched.get(principal.token_id or 0)
        if last is not None and now - last < tokens.LAST_USED_RESOLUTION.total_seconds():
            return None
        self._touched[principal.token_id or 0] = now

        async def touch() -> None:
            try:
                async with self.engine.connect() as conn, conn.begin():
                    await enter_tenant(conn, principal)
                    await tokens.touch(conn, principal)
            except Exception as error:
                log.warning(
                    "could not record lastUsedAt of token %s: %s",
                    principal.token_id,
                    unavailable_reason(error),
                )

        return BackgroundTask(touch)


async def _operation_result(
    executor: Any, request_id: str
) -> tuple[Any, list[tuple[dict[str, Any], bool]]]:
    """Execute the operation; its result and its errors as the client will see them."""
    result = executor.execute_operation()
    if inspect.isawaitable(result):
        result = await result
    # Resolvers that a synchronous error left running in the background use the request's
    # connection: they must finish before the transaction ends.
    while executor.background_futures:
        await asyncio.wait(list(executor.background_futures))
    return result, [format_error(e, request_id) for e in result.errors or []]


class InlineConnection:
    """The part of AsyncConnection that read-only requests use (``execute``, ``dialect``),
    over a synchronous connection: ``execute`` runs at once and returns the same buffered
    result the async connection returns."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.execute(statement, parameters)


def _payload(
    result: Any, formatted: list[tuple[dict[str, Any], bool]]
) -> tuple[dict[str, Any], bool]:
    """The body of an executed operation, and whether one of its errors means the
    database is unavailable (then the status is 503)."""
    payload: dict[str, Any] = {"data": result.data}
    if formatted:
        payload["errors"] = [body for body, _ in formatted]
    return payload, any(unavailable for _, unavailable in formatted)


def _error(status: int, message: str, code: TopLevelCode) -> Response:
    """A refusal at the HTTP level: one top-level error, with its HTTP status."""
    return JSONResponse({"errors": [error_body(message, code)]}, status_code=status)


def _unavailable_body(error: BaseException) -> dict[str, Any]:
    """SERVICE_UNAVAILABLE, saying whether the worker's connections are all busy or the
    database is down."""
    if isinstance(error, NoConnection):
        message = "Every database connection of this worker is busy; retry shortly."
    else:
        message = "The database is unavailable; retry shortly."
    return {"errors": [error_body(message, TopLevelCode.SERVICE_UNAVAILABLE)]}


@contextmanager
def _database_refusal(request_id: str) -> Iterator[None]:
    """A database read before execution (the token, a registered document): when the
    database is unavailable, log what stalled and refuse with 503; other errors pass."""
    try:
        yield
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.warning("request %s: database unavailable: %s", request_id, unavailable_reason(error))
        raise Refusal(_unavailable(error)) from error


def _unavailable(error: BaseException) -> Response:
    """503 SERVICE_UNAVAILABLE; the database may be back, or a connection free, at once."""
    response = JSONResponse(_unavailable_body(error), status_code=503)
    response.headers["Retry-After"] = "1"
    return response


def _unauthenticated(message: str) -> Response:
    """401 UNAUTHENTICATED, with the bearer challenge (RFC 6750)."""
    response = _error(401, message, TopLevelCode.UNAUTHENTICATED)
    response.headers["WWW-Authenticate"] = 'Bearer realm="billclass"'
    return response


def _bad_request(message: str) -> Response:
    return _error(400, message, TopLevelCode.BAD_REQUEST)


def _too_large() -> Response:
    """413 QUERY_TOO_LARGE: the body (declared or read) exceeds MAX_BODY_BYTES."""
    return _error(
        413,
        f"The request body exceeds the limit of {MAX_BODY_BYTES} bytes.",
        TopLevelCode.QUERY_TOO_LARGE,
    )


def _failure(error: Exception, request_id: str) -> tuple[dict[str, Any], int, int | None]:
    """The body, status and Retry-After of an operation that raised instead of
    answering (a transaction that could not begin or commit, or our bug): 503 when the
    database is unavailable, else INTERNAL, logged with its traceback."""
    if not is_unavailable(error):
        log.exception("request %s failed outside execution", request_id)
        return {"errors": [error_body(INTERNAL_MESSAGE, TopLevelCode.INTERNAL)]}, 200, None
    log.warning("request %s: database unavailable: %s", request_id, unavailable_reason(error))
    return _unavailable_body(error), 503, 1
