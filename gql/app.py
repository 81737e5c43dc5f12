"""The ASGI application: routes, start-up checks and the engine's lifetime."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db import migrate, roles
from db.engine import make_engine, make_inline_read_engine, pool_capacity
from db.settings import MaskingFormatter, Settings, get_settings
from gql import execution, graphiql
from gql.admission import Admission, GatedEngine, GatedInlineEngine, NoConnection
from gql.auth import authenticate, bearer_secret
from gql.endpoint import (
    GraphQLEndpoint,
    JSONResponse,
    _error,
    _unauthenticated,
    _unavailable,
    request_id_of,
)
from gql.errors import is_unavailable, unavailable_reason
from gql.metrics import render_metrics
from gql.rate_limits import Bucket, make_rate_limiter
from gql.schema import graphql_schema, schema
from gql.tracing import tracing_for
from gql.webhooks.dispatcher import Dispatcher, announce
from tenancy import policy, webhooks
from tenancy.errors import TopLevelCode
from tenancy.scoping import install_guard

log = logging.getLogger("billclass")


async def check_database_role(engine: AsyncEngine, settings: Settings) -> None:
    """SPEC §7: refuse to serve as a PostgreSQL role that row-level security cannot hold
    (superuser, BYPASSRLS, table owner) unless BILLCLASS_ALLOW_UNSAFE_ROLE=1, which turns
    the refusal into a loud warning. Raises roles.UnsafeRole (the app does not start)."""
    warning = await roles.check_service_role(engine, allow_unsafe=settings.allow_unsafe_role)
    if warning:
        log.warning("%s", warning)


class RequestIdHeader:
    """X-Request-ID on every response. The GraphQL endpoint sets its own (the one in its
    log line); any other response (probes, /metrics, GET /graphql) gets the client's valid
    ID or a fresh one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(key.lower() == b"x-request-id" for key, _ in headers):
                    request_id = request_id_of(Headers(scope=scope).get("x-request-id", ""))
                    headers.append((b"x-request-id", request_id.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def tune_garbage_collection() -> None:
    """Measured (README "Performance"): the cyclic collector took about a third of the time
    of a large response and most of the p99. Objects alive after start-up (schema, modules,
    caches) are frozen out of collections, and the older generations are collected less
    often than by default (700, 10, 10). The youngest stays small: a collection's pause
    grows faster than its size (about 66 ms at 50,000 objects during point lookups, 1.9 ms
    at 5,000), and at 50,000 those pauses were the point lookup's p99 (README
    "Performance", garbage collection)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 40, 100)


def configure_request_log() -> None:
    """The request log line (INFO, logger "billclass") reaches stderr even where only
    uvicorn configured logging (its worker processes)."""
    logger = logging.getLogger("billclass")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(MaskingFormatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def refuse_without_sibling_fix() -> None:
    """gql/execution.py keeps a failing field from cancelling its siblings, or the app
    does not start (ExecutorMismatch, one line in the log)."""
    try:
        execution.apply_sibling_fix()
    except execution.ExecutorMismatch as error:
        log.critical("%s", error)
        raise


def create_app(settings: Settings | None = None, *, tracer_provider: Any = None) -> Starlette:
    """The service; ``tracer_provider``: trace through this OpenTelemetry provider
    whatever the settings say (tests), see gql/tracing.py."""
    settings = settings or get_settings()
    configure_request_log()
    webhooks.configure(
        allow_insecure=settings.webhook_allow_insecure, secret_key=settings.webhook_secret_key
    )
    refuse_without_sibling_fix()
    tracing = tracing_for(settings, tracer_provider)
    engine = make_engine(settings=settings)
    install_guard(engine.sync_engine)
    tracing.instrument(engine.sync_engine)
    read_engine = make_inline_read_engine(settings)
    if read_engine is not None:
        install_guard(read_engine)
        tracing.instrument(read_engine)
    # Every checkout that serves a request waits for its connection asynchronously.
    gated = GatedEngine(engine, pool_capacity(settings))
    rate_limits = make_rate_limiter(
        token=Bucket(settings.rate_token_bucket, settings.rate_token_restore),
        tenant=Bucket(settings.rate_tenant_bucket, settings.rate_tenant_restore),
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_key_prefix,
        redis_timeout=settings.redis_timeout_seconds,
    )
    endpoint = GraphQLEndpoint(
        gated,
        graphql_schema,
        schema.config.name_converter.from_field,
        settings.token_cache_seconds,
        GatedInlineEngine(read_engine, pool_capacity(settings)) if read_engine else None,
        Admission(settings.tenant_concurrency, parse_share=settings.parse_share),
        settings.document_cache_bytes,
        rate_limits,
        tracing,
        documents_mode=settings.documents,
        compiled_plans=settings.compiled_plans,
    )

    async def graphql_get(request: Request) -> Response:
        accepts_html = "text/html" in request.headers.get("accept", "")
        if accepts_html and not request.query_params:
            return graphiql.page_response()
        response = _error(
            405, "GraphQL operations are JSON POSTs.", TopLevelCode.METHOD_NOT_ALLOWED
        )
        response.headers["Allow"] = "POST"
        return response

    async def graphql(request: Request) -> Response:
        if request.method == "GET":
            return await graphql_get(request)
        if request.method != "POST":
            response = _error(
                405, "GraphQL operations are JSON POSTs.", TopLevelCode.METHOD_NOT_ALLOWED
            )
            response.headers["Allow"] = "POST"
            return response
        return await endpoint(request)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        try:
            async with gated.connect() as conn:
                current = (
                    await conn.execute(sa.text("select version_num from alembic_version"))
                ).scalar()
        except Exception as error:
            # A saturated worker is not ready for more either (it would answer 503).
            reason = (
                "every database connection of this worker is busy"
                if isinstance(error, NoConnection)
                else f"database unreachable: {type(error).__name__}"
            )
            return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
        head = migrate.head_revision()
        if current != head:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "reason": f"migrations not current ({current} != {head})",
                },
                status_code=503,
            )
        return JSONResponse({"status": "ready", "migration": current})

    async def metrics(request: Request) -> Response:
        """Administrators only (SPEC §7): the counts of every tenant are in there. The
        listener of ``billclass serve --metrics-port`` serves them on localhost instead."""
        secret = bearer_secret(request.headers.get("authorization"))
        if secret is None:
            return _unauthenticated("/metrics needs an administrator bearer token.")
        try:
            token, _fresh = await authenticate(gated, endpoint.tokens, secret)
        except Exception as error:
            if not is_unavailable(error):
                raise
            return _unavailable(error)
        if token is None:
            return _unauthenticated("The token is unknown, expired or revoked.")
        refused = policy.metrics_refusal(token.principal)
        if refused is not None:
            return _error(403, str(refused), refused.code)
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        tune_garbage_collection()
        try:
            await check_database_role(engine, settings)
        except roles.UnsafeRole as error:
            log.critical("%s", error)
            raise
        except Exception as error:
            # The database may be down at start-up: the service starts and recovers when it
            # returns (SPEC §6). `billclass serve` has checked the role before starting.
            log.warning(
                "could not check the database role at start-up: %s", unavailable_reason(error)
            )
        dispatcher = None
        if settings.webhook_dispatch:
            # Its own small engine: its checkouts never take a request's connection.
            dispatch_engine = make_engine(settings=settings.model_copy(update={"pool_size": 2}))
            install_guard(dispatch_engine.sync_engine)
            announce(settings)
            dispatcher = Dispatcher.from_settings(dispatch_engine, settings)
            dispatcher.start()
        yield
        if dispatcher is not None:
            await dispatcher.stop()
            await dispatcher.engine.dispose()
        await rate_limits.close()
        await engine.dispose()
        if read_engine is not None:
            read_engine.dispose()
        tracing.close()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route(graphiql.PREFIX + "{name:path}", graphiql.asset, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        # Outermost: the request's span covers everything, and is current in the endpoint.
        middleware=[
            *([Middleware(tracing.wrap)] if tracing.enabled else []),
            Middleware(RequestIdHeader),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.read_engine = read_engine
    # Every engine requests run on (for instrumentation: statement counts in tests/bench).
    app.state.engines = [engine.sync_engine, *([read_engine] if read_engine else [])]
    app.state.endpoint = endpoint
    return app
