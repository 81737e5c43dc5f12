"""OpenTelemetry tracing (the optional extra ``billclass[otel]``); imported by
gql.tracing only when tracing is on.

- the request: opentelemetry-instrumentation-asgi around the whole app (span
  ``POST /graphql``, kind SERVER); it continues the caller's trace from a W3C
  ``traceparent`` header. Headers are not recorded, and a query string is replaced by
  ``REDACTED`` (a GET could carry a document or variables there);
- the GraphQL operation: a span named by its type and name (``query ListClasses``), with
  ``graphql.operation.type`` and ``graphql.operation.name`` (semantic conventions),
  never the document or its variables;
- each SQL statement: opentelemetry-instrumentation-sqlalchemy on our engines (spans
  hold the statement with its placeholders, never the values: client input and token
  hashes).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.http import get_excluded_urls
from sqlalchemy import Engine
from starlette.types import ASGIApp

from db.settings import Settings
from gql import tracing
from tenancy.errors import TopLevelCode

TRACER_NAME = "billclass"
# Outcomes that are the service's failure rather than the client's (span status ERROR).
_FAILURES = {TopLevelCode.INTERNAL.value, TopLevelCode.SERVICE_UNAVAILABLE.value}
# Attributes in which the ASGI instrumentation records the URL with its query string.
_URL_WITH_QUERY = ("http.url", "url.full")
_QUERY = ("url.query",)
_TARGET = ("http.target",)
REDACTED = "REDACTED"


def provider_for(settings: Settings) -> TracerProvider:
    """A provider exporting as ``settings.tracing`` says: OTLP over HTTP/protobuf (its
    endpoint, headers, timeouts... from the standard OTEL_EXPORTER_OTLP_* variables), or
    each span printed to stdout as it ends (console). The sampler and the resource follow
    the standard variables too (OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME,
    OTEL_RESOURCE_ATTRIBUTES); the service name defaults to billclass."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("billclass")
    except PackageNotFoundError:  # a checkout run without being installed
        release = "unknown"
    resource = Resource.create({SERVICE_VERSION: release})
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "billclass"}))
    provider = TracerProvider(resource=resource)
    if settings.tracing == "console":
        # Today's stdout (the exporter's default is the one at its import).
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout)))
    else:
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
    return provider


def _otlp_exporter() -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class _OperationSpan(tracing.OperationSpan):
    def __init__(self, span: Span) -> None:
        self.span = span

    def outcome(self, code: str | None) -> None:
        if code is None:
            return
        self.span.set_attribute("billclass.outcome", code)
        if code in _FAILURES:
            self.span.set_status(Status(StatusCode.ERROR, code))


def _redact_query(span: Span, scope: dict[str, Any]) -> None:
    """server_request_hook of the ASGI instrumentation: no query string in any span."""
    query = scope.get("query_string")
    if not query or not span.is_recording():
        return
    recorded = getattr(span, "attributes", None) or {}
    for key in _URL_WITH_QUERY:
        value = recorded.get(key)
        if isinstance(value, str):
            span.set_attribute(key, value.split("?", 1)[0] + "?" + REDACTED)
    for key in _QUERY:
        if key in recorded:
            span.set_attribute(key, REDACTED)
    for key in _TARGET:
        value = recorded.get(key)
        if isinstance(value, str):
            span.set_attribute(key, value.split("?", 1)[0])


class OpenTelemetryTracing(tracing.Tracing):
    """Spans through ``provider``; ``owned``: shut it down (flushing the exporter) on
    :meth:`close`."""

    enabled = True

    def __init__(self, provider: Any, *, owned: bool) -> None:
        self.provider = provider
        self.owned = owned
        self.tracer = trace.get_tracer(TRACER_NAME, tracer_provider=provider)
        # EngineTracer reports connection-pool usage to a meter: ours is Prometheus's.
        meter = NoOpMeterProvider().get_meter(TRACER_NAME)
        self._connections = meter.create_up_down_counter("db.client.connections.usage")

    def wrap(self, app: ASGIApp) -> ASGIApp:
        return OpenTelemetryMiddleware(
            app,
            tracer_provider=self.provider,
            meter_provider=NoOpMeterProvider(),
            server_request_hook=_redact_query,
            # OTEL_PYTHON_ASGI_EXCLUDED_URLS (or OTEL_PYTHON_EXCLUDED_URLS), e.g. probes.
            excluded_urls=get_excluded_urls("ASGI"),
            # One span per request, not one more per ASGI message.
            exclude_spans=["receive", "send"],
        )

    def instrument(self, engine: Engine) -> None:
        EngineTracer(self.tracer, engine, self._connections)  # type: ignore[no-untyped-call]

    def operation(
        self, kind: str, name: str | None
    ) -> AbstractContextManager[tracing.OperationSpan]:
        return self._operation(kind, name)

    @contextmanager
    def _operation(self, kind: str, name: str | None) -> Iterator[tracing.OperationSpan]:
        attributes = {"graphql.operation.type": kind}
        if name:
            attributes["graphql.operation.name"] = name
        with self.tracer.start_as_current_span(
            f"{kind} {name}" if name else kind,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            # Refusals travel as exceptions (gql.endpoint.Refusal): the outcome says what
            # happened, never an exception's text (it may quote the client's input).
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield _OperationSpan(span)

    def trace_id(self) -> str | None:
        context = trace.get_current_span().get_span_context()
        return trace.format_trace_id(context.trace_id) if context.is_valid else None

    def close(self) -> None:
        if self.owned:
            self.provider.shutdown()
