"""Tracing (issue 9 item 6, README "Tracing"): with OpenTelemetry on, a span per request
(the ASGI instrumentation, honouring W3C ``traceparent``), a child span per GraphQL
operation and, under it, a span per SQL statement; the trace ID in the request log line;
nothing of a token, a document's variables or a query string in any span. Off by
default, and then nothing of OpenTelemetry is even imported.

Spans are collected with the SDK's in-memory exporter, through ``create_app``'s
``tracer_provider``; the OTLP and console modes are tested as an operator sets them up.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.testclient import TestClient

from db.settings import ConfigurationError, Settings, load_settings
from gql.app import create_app
from tenancy.ids import decode
from tests.api_client import Api
from tests.conftest import cli_token
from tests.reliability.faults import holding_class_lock

REPOSITORY = Path(__file__).resolve().parents[2]
LIST = "query ListClasses { customerClasses { totalCount nodes { name } } }"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
MARKER = "zq-tracing-marker-9"
UPDATE = (
    "mutation Update($input: UpdateCustomerClassInput!) {"
    " updateCustomerClass(input: $input) { userErrors { code } } }"
)


class Traced:
    """The app with every span it finishes kept in memory."""

    def __init__(self, client: TestClient, exporter: InMemorySpanExporter, token: str) -> None:
        self.client = client
        self.exporter = exporter
        self.api = Api(client, token)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def one(self, name: str) -> ReadableSpan:
        found = [span for span in self.spans() if span.name == name]
        assert len(found) == 1, [span.name for span in self.spans()]
        return found[0]


@pytest.fixture
def traced(settings: Settings, admin_token: str) -> Iterator[Traced]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with TestClient(create_app(settings, tracer_provider=provider)) as client:
        yield Traced(client, exporter, admin_token)


def _parent(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _request_log(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = [r.getMessage() for r in caplog.records if r.name == "billclass.request"]
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_the_operation_span_is_a_child_of_the_request_span_and_sql_spans_of_it(
    traced: Traced,
) -> None:
    traced.api.create_class(name="Traced", currencyCode="EUR")
    traced.exporter.clear()
    assert traced.api.data(LIST)["customerClasses"]["totalCount"] == 2

    request = traced.one("POST /graphql")
    operation = traced.one("query ListClasses")
    assert request.kind is SpanKind.SERVER
    assert request.parent is None
    assert (request.attributes or {})["http.status_code"] == 200
    assert operation.kind is SpanKind.INTERNAL
    assert _parent(operation) == request.context.span_id
    assert operation.context.trace_id == request.context.trace_id
    assert dict(operation.attributes or {}) == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "ListClasses",
    }
    sql = [span for span in traced.spans() if span.kind is SpanKind.CLIENT]
    under_operation = [s for s in sql if _parent(s) == operation.context.span_id]
    statements = [str((s.attributes or {}).get("db.statement", "")) for s in under_operation]
    assert any("FROM customer_class" in statement for statement in statements), statements
    # Every SQL span of the request is in its trace: the token lookup under the request,
    # the operation's statements under the operation.
    assert {s.context.trace_id for s in sql} == {request.context.trace_id}
    assert {_parent(s) for s in sql} <= {request.context.span_id, operation.context.span_id}


def test_mutations_and_anonymous_operations_are_named_by_their_type(traced: Traced) -> None:
    traced.api.create_class(name="Named", currencyCode="EUR")
    traced.api.data("{ viewer { role } }")
    names = [span.name for span in traced.spans() if span.kind is SpanKind.INTERNAL]
    assert names == ["mutation", "query"], names
    anonymous = next(s for s in traced.spans() if s.name == "query")
    assert dict(anonymous.attributes or {}) == {"graphql.operation.type": "query"}


def test_a_traceparent_header_makes_the_trace_the_callers(traced: Traced) -> None:
    traced.exporter.clear()  # start-up's own statements (PostgreSQL: the role check)
    response = traced.client.post(
        "/graphql",
        json={"query": LIST},
        headers={
            "Authorization": f"Bearer {traced.api.admin_token}",
            "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
        },
    )
    assert response.status_code == 200, response.text
    request = traced.one("POST /graphql")
    assert f"{request.context.trace_id:032x}" == CALLER_TRACE
    assert request.parent is not None and f"{request.parent.span_id:016x}" == CALLER_SPAN
    assert {f"{span.context.trace_id:032x}" for span in traced.spans()} == {CALLER_TRACE}


def test_the_request_log_line_carries_the_trace_id(
    traced: Traced, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="billclass.request")
    traced.api.data(LIST)
    traced.client.post(
        "/graphql",
        json={"query": LIST},
        headers={
            "Authorization": f"Bearer {traced.api.admin_token}",
            "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
        },
    )
    own, callers = _request_log(caplog)
    first = next(s for s in traced.spans() if s.name == "POST /graphql")
    assert own["trace_id"] == f"{first.context.trace_id:032x}"
    assert callers["trace_id"] == CALLER_TRACE


def test_the_request_log_line_has_no_trace_id_when_tracing_is_off(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="billclass.request")
    api.data(LIST)
    [line] = _request_log(caplog)
    assert line["operation"] == "ListClasses"
    assert "trace_id" not in line


def test_spans_hold_no_token_variables_document_or_query_string(traced: Traced) -> None:
    token = traced.api.admin_token
    mutation = (
        "mutation Create($input: CreateCustomerClassInput!) {"
        " createCustomerClass(input: $input) { userErrors { code } } }"
    )
    variables = {"input": {"name": MARKER, "currencyCode": "EUR", "description": MARKER}}
    assert traced.api.post(mutation, variables).status_code == 200
    filtered = "query Find($f: CustomerClassFilter) { customerClasses(filter: $f) { totalCount } }"
    assert traced.api.post(filtered, {"f": {"nameContains": MARKER}}).status_code == 200
    traced.client.get(
        f"/graphql?query={{viewer{{role}}}}&variables={MARKER}",
        headers={"Authorization": f"Bearer {token}"},
    )
    spans = traced.spans()
    assert {"mutation Create", "query Find", "GET /graphql"} <= {s.name for s in spans}
    for span in spans:
        text = json.dumps({"name": span.name, "attributes": dict(span.attributes or {})})
        assert MARKER not in text, text
        assert token not in text and token[3:] not in text, text
        assert "createCustomerClass" not in text and "viewer" not in text, text


def test_a_refused_operation_records_its_outcome_on_its_span(traced: Traced) -> None:
    response = traced.api.post("query Big { customerClasses(first: 100000) { totalCount } }")
    assert response.json()["errors"][0]["extensions"]["code"] == "PAGE_TOO_LARGE"
    refused = traced.one("query Big")
    assert (refused.attributes or {})["billclass.outcome"] == "PAGE_TOO_LARGE"
    assert refused.status.status_code is StatusCode.UNSET  # the client's doing, not ours
    assert not refused.events  # no exception text, which could quote the client's input


def test_excluded_urls_get_no_span(
    settings: Settings, admin_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_PYTHON_ASGI_EXCLUDED_URLS", "healthz,readyz")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with TestClient(create_app(settings, tracer_provider=provider)) as client:
        assert client.get("/healthz").status_code == 200
        Api(client, admin_token).data("{ viewer { role } }")
    names = {span.name for span in exporter.get_finished_spans()}
    assert "POST /graphql" in names
    assert "GET /healthz" not in names


# --------------------------------------------------------------------------- how it is turned on


def _clean_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BILLCLASS_", "OTEL_"))}
    env["PYTHONPATH"] = str(REPOSITORY)
    return env


def test_tracing_is_off_by_default_and_then_imports_nothing_of_opentelemetry(
    database_url: str,
) -> None:
    program = f"""
import sys
from starlette.testclient import TestClient
from db.settings import Settings
from gql.app import create_app
settings = Settings(database_url={database_url!r})
assert settings.tracing is None, settings.tracing
with TestClient(create_app(settings)) as client:
    assert client.get("/readyz").status_code == 200
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", program],
        env=_clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("variable", "value", "mode"),
    [
        ("BILLCLASS_OTEL", "console", "console"),
        ("BILLCLASS_OTEL", "otlp", "otlp"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318", "otlp"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces", "otlp"),
    ],
)
def test_tracing_is_on_when_asked_for(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, mode: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert load_settings().tracing == mode
    monkeypatch.setenv("BILLCLASS_OTEL", "off")
    assert load_settings().tracing is None


def test_a_bad_billclass_otel_value_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLCLASS_OTEL", "loud")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert "BILLCLASS_OTEL" in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("missing", ["opentelemetry", "opentelemetry.instrumentation.asgi"])
def test_tracing_requested_without_the_extra_stops_the_cli_in_one_line(
    tmp_path: Path, missing: str
) -> None:
    """As if billclass[otel] were not installed: the module cannot be imported."""
    program = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "from gql.cli import main\n"
        "main(['migrate'])\n"
    )
    env = {
        **_clean_environment(),
        "BILLCLASS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'billclass.db'}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        "billclass: error: invalid configuration: BILLCLASS_OTEL tracing is"
        " requested (OTEL_EXPORTER_OTLP_ENDPOINT is set) but OpenTelemetry is not installed"
        f" ({missing if '.' in missing else 'opentelemetry.sdk.trace'} is missing):"
        " pip install 'billclass[otel]', or set BILLCLASS_OTEL=off"
    ]
    assert not (tmp_path / "billclass.db").exists()  # stopped before touching anything


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        self.received.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """An OTLP/HTTP receiver on 127.0.0.1 that keeps what it is sent."""
    received: list[tuple[str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_spans_are_exported_to_the_otlp_endpoint(
    database_url: str,
    admin_token: str,
    collector: tuple[str, list[tuple[str, bytes]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billclass-under-test")
    settings = Settings(database_url=database_url)
    assert settings.tracing == "otlp"
    with TestClient(create_app(settings)) as client:
        Api(client, admin_token).data(LIST)
    # Leaving the app flushed the batch to the collector.
    assert [path for path, _ in received] == ["/v1/traces"]
    body = received[0][1]
    for expected in (b"query ListClasses", b"POST /graphql", b"billclass-under-test"):
        assert expected in body


def test_console_mode_prints_each_span(
    database_url: str, admin_token: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("BILLCLASS_OTEL", "console")
    settings = Settings(database_url=database_url)
    with TestClient(create_app(settings)) as client:
        Api(client, admin_token).data(LIST)
    printed = capsys.readouterr().out
    assert '"name": "query ListClasses"' in printed
    assert '"name": "POST /graphql"' in printed
    assert '"service.name": "billclass"' in printed


def test_an_unavailable_database_marks_the_operation_span_as_an_error(
    database_url: str,
) -> None:
    """The service's failure, not the client's: status ERROR, with the code alone."""
    settings = Settings(database_url=database_url, lock_timeout_seconds=1)
    token = cli_token(settings)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with TestClient(create_app(settings, tracer_provider=provider)) as client:
        api = Api(client, token)
        class_id = api.create_class(name="Locked", currencyCode="EUR")
        key = decode(class_id, "CustomerClass")
        assert key is not None
        with holding_class_lock(database_url, key):
            response = api.post(UPDATE, {"input": {"id": class_id, "description": "waits"}})
    assert response.status_code == 503, response.text
    [operation] = [s for s in exporter.get_finished_spans() if s.name == "mutation Update"]
    assert operation.status.status_code is StatusCode.ERROR
    assert operation.status.description == "SERVICE_UNAVAILABLE"
    assert (operation.attributes or {})["billclass.outcome"] == "SERVICE_UNAVAILABLE"
