"""The ASGI application: routes, start-up checks and the engine's lifetime."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db import migrate
from db.engine import make_engine, make_inline_read_engine
from db.settings import Settings, get_settings
from gql.endpoint import GraphQLEndpoint, JSONResponse, _error, request_id_of
from gql.metrics import render_metrics
from gql.rate_limits import Bucket, make_rate_limiter
from gql.schema import graphql_schema, schema
from tenancy.scoping import install_guard

log = logging.getLogger("billclass")
GRAPHIQL = (Path(__file__).parent / "graphiql.html").read_text()


async def warn_if_rls_is_void(engine: AsyncEngine) -> None:
    """Row-level security does not apply to superusers and BYPASSRLS roles: say so loudly."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text(
                    "select current_user, rolsuper, rolbypassrls from pg_roles"
                    " where rolname = current_user"
                )
            )
        ).one()
    if row.rolsuper or row.rolbypassrls:
        log.warning(
            "!!! SECURITY: connected to PostgreSQL as %r, a %s role: row-level security is"
            " VOID and tenant isolation rests on the application alone. Connect as a role"
            " with NOSUPERUSER NOBYPASSRLS (see README).",
            row.current_user,
            "superuser" if row.rolsuper else "BYPASSRLS",
        )


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
    """Measured (bench/README.md): the cyclic collector took about a third of the time of
    a large response and most of the p99. Objects alive after start-up (schema, modules,
    caches) are frozen out of collections, and young collections run less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def configure_request_log() -> None:
    """The request log line (INFO, logger "billclass") reaches stderr even where only
    uvicorn configured logging (its worker processes)."""
    logger = logging.getLogger("billclass")
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    configure_request_log()
    engine = make_engine(settings=settings)
    install_guard(engine.sync_engine)
    read_engine = make_inline_read_engine(settings)
    if read_engine is not None:
        install_guard(read_engine)
    rate_limits = make_rate_limiter(
        token=Bucket(settings.rate_token_bucket, settings.rate_token_restore),
        tenant=Bucket(settings.rate_tenant_bucket, settings.rate_tenant_restore),
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_key_prefix,
        redis_timeout=settings.redis_timeout_seconds,
    )
    endpoint = GraphQLEndpoint(
        engine,
        graphql_schema,
        schema.config.name_converter.from_field,
        settings.token_cache_seconds,
        read_engine,
        rate_limits,
    )

    async def graphql_get(request: Request) -> Response:
        accepts_html = "text/html" in request.headers.get("accept", "")
        if accepts_html and not request.query_params:
            return HTMLResponse(GRAPHIQL)
        response = _error(405, "GraphQL operations are JSON POSTs.", "METHOD_NOT_ALLOWED")
        response.headers["Allow"] = "POST"
        return response

    async def graphql(request: Request) -> Response:
        if request.method == "GET":
            return await graphql_get(request)
        if request.method != "POST":
            response = _error(405, "GraphQL operations are JSON POSTs.", "METHOD_NOT_ALLOWED")
            response.headers["Allow"] = "POST"
            return response
        return await endpoint(request)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        try:
            async with engine.connect() as conn:
                current = (
                    await conn.execute(sa.text("select version_num from alembic_version"))
                ).scalar()
        except Exception as error:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "reason": f"database unreachable: {type(error).__name__}",
                },
                status_code=503,
            )
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

    async def metrics(_request: Request) -> Response:
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        tune_garbage_collection()
        try:
            await warn_if_rls_is_void(engine)
        except Exception as error:
            log.warning("could not check the database role at start-up: %r", error)
        yield
        await rate_limits.close()
        await engine.dispose()
        if read_engine is not None:
            read_engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ],
        middleware=[Middleware(RequestIdHeader)],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.read_engine = read_engine
    # Every engine requests run on (for instrumentation: statement counts in tests/bench).
    app.state.engines = [engine.sync_engine, *([read_engine] if read_engine else [])]
    app.state.endpoint = endpoint
    return app
