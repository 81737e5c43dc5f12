"""Prometheus metrics of the GraphQL endpoint: request counts and latency by operation,
operation type and outcome.

Not public (SPEC §7 "Metrics are not public"): ``/metrics`` answers an administrator
token only (gql/app.py), or a separate listener bound to 127.0.0.1 that
``billclass serve --metrics-port N`` starts (:func:`serve_metrics`, no token).

Labels never carry client-chosen text, so the number of series is bounded: the
operation label is an operation's name only when the request ran it from a registered
trusted document (gql/trusted.py; the operator chose those names), else ``other``;
the type is one of query / mutation / subscription / none (refused before an operation
was chosen); the outcome is ``ok``, one of our error
codes or ``http_<status>``.

With several workers, ``billclass serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before they
start: each worker writes its samples there and a scrape (of any worker, or of the
metrics listener in the supervisor) aggregates all of them, so no count lives in one
process only.
"""

from __future__ import annotations

import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

LABELS = ["operation", "type", "outcome"]
REQUESTS = Counter("billclass_requests_total", "GraphQL requests", LABELS)
LATENCY = Histogram(
    "billclass_request_seconds",
    "GraphQL request latency",
    LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

OTHER_OPERATIONS = "other"
OPERATION_TYPES = frozenset({"query", "mutation", "subscription"})
METRICS_HOST = "127.0.0.1"


def operation_label(name: str | None, registered: frozenset[str] = frozenset()) -> str:
    """The label of an operation: its name when the request ran it from a registered
    trusted document (``registered``: that document's operation names), else ``other``."""
    return name if name is not None and name in registered else OTHER_OPERATIONS


def observe(
    operation: str | None,
    operation_type: str | None,
    outcome: str,
    seconds: float,
    registered: frozenset[str] = frozenset(),
) -> None:
    kind = operation_type if operation_type in OPERATION_TYPES else "none"
    labels = (operation_label(operation, registered), kind, outcome)
    REQUESTS.labels(*labels).inc()
    LATENCY.labels(*labels).observe(seconds)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def render_metrics() -> bytes:
    return generate_latest(_registry())


def serve_metrics(port: int) -> None:
    """Serve the metrics on 127.0.0.1:``port`` from a daemon thread of this process (the
    supervisor of the workers, or the one worker). Raises OSError if the port is taken."""
    start_http_server(port, addr=METRICS_HOST, registry=_registry())
