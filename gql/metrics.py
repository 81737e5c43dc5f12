"""Prometheus metrics of the GraphQL endpoint: request counts and latency by operation and
outcome.

With several workers, ``billclass serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before they
start: each worker writes its samples there and /metrics (whichever worker answers)
aggregates all of them, so no count lives in one process only.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REQUESTS = Counter("billclass_requests_total", "GraphQL requests", ["operation", "outcome"])
LATENCY = Histogram(
    "billclass_request_seconds",
    "GraphQL request latency",
    ["operation", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


# Operation names are chosen by clients: the first MAX_OPERATION_LABELS distinct names get
# their own series and any further one is counted as OTHER_OPERATIONS, so that a caller
# inventing a name per request cannot grow the metrics (and memory) without bound.
MAX_OPERATION_LABELS = 200
OTHER_OPERATIONS = "other"
_operations: set[str] = set()


def observe(operation: str | None, outcome: str, seconds: float) -> None:
    name = (operation or "anonymous")[:64]
    if name not in _operations:
        if len(_operations) >= MAX_OPERATION_LABELS:
            name = OTHER_OPERATIONS
        else:
            _operations.add(name)
    REQUESTS.labels(name, outcome).inc()
    LATENCY.labels(name, outcome).observe(seconds)


def render_metrics() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
