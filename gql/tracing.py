"""Tracing, off unless asked for (README "Tracing").

With ``BILLCLASS_OTEL=console`` or an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``),
:func:`tracing_for` returns gql.otel's OpenTelemetry tracing: a span per request (the
official ASGI instrumentation, which honours a W3C ``traceparent``), one per GraphQL
operation, one per SQL statement (the official SQLAlchemy instrumentation). Otherwise it
returns :data:`NO_TRACING`, and nothing of OpenTelemetry is imported.

The endpoint sees only the small interface below, so the request path reads the same
either way.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from db.settings import Settings


class OperationSpan:
    """The span of one GraphQL operation, as the endpoint sees it; this one records
    nothing."""

    def outcome(self, code: str | None) -> None:
        """The operation's result: None when it succeeded, else the code of its first
        error (the request log's ``outcome``)."""


# The untraced operation: one shared, reusable context manager, nothing made per request.
_NO_OPERATION = nullcontext(OperationSpan())


class Tracing:
    """No tracing: every method does nothing (the default)."""

    enabled = False

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """The app with a span per HTTP request around it."""
        return app

    def instrument(self, engine: Engine) -> None:
        """A span per SQL statement that ``engine`` (a sync engine, or an async engine's
        ``sync_engine``) runs."""

    def operation(self, kind: str, name: str | None) -> AbstractContextManager[OperationSpan]:
        """A span for the GraphQL operation ``kind`` (query, mutation) named ``name``,
        current while the body runs (SQL spans become its children)."""
        return _NO_OPERATION

    def trace_id(self) -> str | None:
        """The current trace's ID (32 hex digits) for the request log; None when off."""
        return None

    def close(self) -> None:
        """Flush and stop what this object started (an exporter)."""


NO_TRACING = Tracing()


def tracing_for(settings: Settings, tracer_provider: Any = None) -> Tracing:
    """The tracing that ``settings`` ask for, or that of ``tracer_provider`` (an
    OpenTelemetry SDK TracerProvider, e.g. one with an in-memory exporter in tests)."""
    if tracer_provider is None and settings.tracing is None:
        return NO_TRACING
    from gql import otel  # only now: needs the extra billclass[otel]

    if tracer_provider is None:
        return otel.OpenTelemetryTracing(otel.provider_for(settings), owned=True)
    return otel.OpenTelemetryTracing(tracer_provider, owned=False)
