"""Observability (issue 4 "Reliability"): Prometheus /metrics, X-Request-ID on every
response, and one structured log line per request that never holds a secret or a document.
/metrics is not public and its labels hold no client-chosen text (SPEC §7, issue 7
item 9).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx2 as httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from gql import metrics
from tests.api_client import Api, World

MARKER = "zq-observability-marker-7"
LONG_QUERY = (
    "query LongProbe { viewer { role } "
    + " ".join(f"f{i}: viewer {{ role }}" for i in range(5))
    + f' customerClasses(filter: {{nameContains: "{MARKER}"}}) {{ totalCount }} }}'
)


def _samples(
    client: TestClient, admin_token: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _post(client: TestClient, query: str, token: str | None, **extra: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/graphql", json={"query": query, **extra}, headers=headers)


# --------------------------------------------------------------------------- metrics


def test_metrics_count_requests_and_latency_by_type_and_outcome(
    client: TestClient, api: Api
) -> None:
    before = _samples(client, api.admin_token)
    for _ in range(3):
        assert _post(client, "query MetricsProbe { viewer { role } }", api.admin_token).is_success
    refused = _post(client, "query MetricsRefused { nope }", api.admin_token)
    assert refused.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert _post(client, "{ viewer { role } }", None).status_code == 401
    after = _samples(client, api.admin_token)

    ok = {"operation": "other", "type": "query", "outcome": "ok"}
    assert (
        _value(after, "billclass_requests_total", **ok)
        - _value(before, "billclass_requests_total", **ok)
        == 3
    )
    assert (
        _value(after, "billclass_request_seconds_count", **ok)
        - _value(before, "billclass_request_seconds_count", **ok)
        == 3
    )
    assert _value(after, "billclass_request_seconds_sum", **ok) > 0
    buckets = [
        labels
        for (name, labels) in after
        if name == "billclass_request_seconds_bucket" and ("type", "query") in labels
    ]
    assert {dict(b)["le"] for b in buckets} >= {"0.005", "0.1", "1.0", "+Inf"}
    inf = _value(after, "billclass_request_seconds_bucket", le="+Inf", **ok)
    assert inf == _value(after, "billclass_requests_total", **ok)

    # Refusals are counted too, with their outcome (before any operation was chosen).
    refused_labels = {"operation": "other", "type": "none", "outcome": "GRAPHQL_VALIDATION_FAILED"}
    unauthenticated = {"operation": "other", "type": "none", "outcome": "http_401"}
    for labels in (refused_labels, unauthenticated):
        assert (
            _value(after, "billclass_requests_total", **labels)
            - _value(before, "billclass_requests_total", **labels)
            == 1
        ), labels


def test_metrics_labels_hold_no_client_chosen_text(client: TestClient, world: World) -> None:
    """Operation names are chosen by clients: they are neither shown to whoever reads the
    metrics nor allowed to grow the number of series (and the process's memory)."""

    def series() -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        return set(_samples(client, world.admin_token))

    mutation = (
        "mutation {0}($input: UpdateCustomerClassInput!) {{ updateCustomerClass(input: $input)"
        " {{ userErrors {{ code }} }} }}"
    )
    for token in (world.admin_token, world.a.token):  # every series these requests use
        assert _post(client, "query Warm { viewer { role } }", token).is_success
    variables = {"input": {"id": world.a.class_id, "description": "metrics"}}
    assert _post(client, mutation.format("Warm"), world.a.token, variables=variables).is_success
    before = series()
    for i in range(50):
        name = f"{MARKER.replace('-', '_')}_{i}"
        assert _post(client, f"query {name} {{ viewer {{ role }} }}", world.b.token).is_success
        description = {"input": {"id": world.a.class_id, "description": f"metrics {i}"}}
        assert _post(client, mutation.format(name), world.a.token, variables=description).json()[
            "data"
        ]["updateCustomerClass"] == {"userErrors": []}
    scrape = client.get("/metrics", headers={"Authorization": f"Bearer {world.admin_token}"})
    assert series() == before
    assert MARKER.replace("-", "_") not in scrape.text
    labels = {
        dict(labels).get("operation") for (name, labels) in before if "operation" in dict(labels)
    }
    # Ad-hoc requests label "other"; only registered trusted documents' operation names
    # may appear (other tests in this process run some, tests/api/test_trusted_documents.py).
    assert metrics.OTHER_OPERATIONS in labels
    assert "Warm" not in labels


@pytest.mark.parametrize("who", ["anonymous", "basic auth", "unknown token", "reseller"])
def test_metrics_answer_administrator_tokens_only(
    client: TestClient, world: World, who: str
) -> None:
    headers = {
        "anonymous": {},
        "basic auth": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "unknown token": {"Authorization": "Bearer bc_" + "M" * 43},
        "reseller": {"Authorization": f"Bearer {world.a.token}"},
    }[who]
    response = client.get("/metrics", headers=headers)
    if who == "reseller":
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    else:
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"] == 'Bearer realm="billclass"'
    assert "billclass_requests_total" not in response.text
    allowed = client.get("/metrics", headers={"Authorization": f"Bearer {world.admin_token}"})
    assert allowed.status_code == 200
    assert "billclass_requests_total" in allowed.text


# --------------------------------------------------------------------------- request IDs


def test_every_response_carries_a_request_id(client: TestClient, api: Api) -> None:
    token = {"Authorization": f"Bearer {api.admin_token}"}
    responses = {
        "ok": _post(client, "{ viewer { role } }", api.admin_token),
        "graphql error": _post(client, "{ nope }", api.admin_token),
        "no token": _post(client, "{ viewer { role } }", None),
        "unknown token": _post(client, "{ viewer { role } }", "bc_" + "x" * 43),
        "batch": client.post(
            "/graphql", content=b"[]", headers={**token, "content-type": "application/json"}
        ),
        "bad json": client.post(
            "/graphql", content=b"{", headers={**token, "content-type": "application/json"}
        ),
        "form": client.post("/graphql", data={"query": "{ viewer { role } }"}, headers=token),
        "too large": client.post(
            "/graphql",
            content=b"{" + b" " * 70_000 + b"}",
            headers={**token, "content-type": "application/json"},
        ),
        "GET": client.get("/graphql?query={viewer{role}}", headers=token),
        "GraphiQL": client.get("/graphql", headers={"accept": "text/html"}),
        "PUT": client.put("/graphql", json={"query": "{ viewer { role } }"}, headers=token),
        "healthz": client.get("/healthz"),
        "readyz": client.get("/readyz"),
        "metrics": client.get("/metrics"),
    }
    missing = [what for what, r in responses.items() if not r.headers.get("x-request-id")]
    assert not missing, missing
    ids = [r.headers["x-request-id"] for r in responses.values()]
    assert len(set(ids)) == len(ids), "request IDs must be unique per request"


def test_a_valid_client_request_id_is_kept_and_an_invalid_one_replaced(
    client: TestClient, api: Api
) -> None:
    headers = {"Authorization": f"Bearer {api.admin_token}"}
    kept = client.post(
        "/graphql",
        json={"query": "{ viewer { role } }"},
        headers={**headers, "X-Request-ID": "trace-42.a_b"},
    )
    assert kept.headers["x-request-id"] == "trace-42.a_b"
    bad = client.post(
        "/graphql",
        json={"query": "{ viewer { role } }"},
        headers={**headers, "X-Request-ID": "evil\tvalue; " + "x" * 100},
    )
    assert bad.headers["x-request-id"] != "" and "evil" not in bad.headers["x-request-id"]


# --------------------------------------------------------------------------- request log


def _structured(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        if record.name != "billclass.request":
            continue
        try:
            line = json.loads(record.getMessage())
        except ValueError:
            continue
        if isinstance(line, dict) and "request_id" in line:
            lines.append(line)
    return lines


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records
    )


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("admin query", {"role": "ADMINISTRATOR", "operation": "Probe", "outcome": "ok"}),
        ("reseller query", {"role": "RESELLER", "operation": "Probe", "outcome": "ok"}),
        ("mutation", {"role": "RESELLER", "operation": "Rename", "outcome": "ok"}),
        (
            "validation",
            {"role": "ADMINISTRATOR", "operation": None, "outcome": "GRAPHQL_VALIDATION_FAILED"},
        ),
        (
            "long rejected",
            {"role": "ADMINISTRATOR", "operation": None, "outcome": "GRAPHQL_VALIDATION_FAILED"},
        ),
        (
            "resolver error",
            {"role": "RESELLER", "operation": "BadCursor", "outcome": "BAD_USER_INPUT"},
        ),
        ("unknown token", {"role": None, "operation": None, "outcome": "http_401"}),
    ],
)
def test_one_structured_log_line_per_request_without_secrets_or_documents(
    client: TestClient,
    world: World,
    caplog: pytest.LogCaptureFixture,
    case: str,
    expected: dict[str, Any],
) -> None:
    unknown = "bc_" + "Q" * 43
    a_token = world.a.token
    requests = {
        "admin query": (
            "query Probe { customerClasses(filter: {nameContains: "
            f'"{MARKER}"}}) {{ totalCount }} }}',
            world.admin_token,
            None,
        ),
        "reseller query": (
            "query Probe($f: CustomerClassFilter) { customerClasses(filter: $f) { totalCount } }",
            a_token,
            {"f": {"nameContains": MARKER}},
        ),
        "mutation": (
            "mutation Rename($input: UpdateCustomerClassInput!) {"
            " updateCustomerClass(input: $input) { userErrors { code } } }",
            a_token,
            {"input": {"id": world.a.class_id, "description": MARKER}},
        ),
        "validation": (f'{{ nope(x: "{MARKER}") }}', world.admin_token, None),
        "long rejected": (LONG_QUERY.replace("totalCount", "nope"), world.admin_token, None),
        "resolver error": (
            f'query BadCursor {{ customerClasses(after: "{MARKER}") {{ totalCount }} }}',
            a_token,
            None,
        ),
        "unknown token": ("{ viewer { role } }", unknown, None),
    }
    query, token, variables = requests[case]
    caplog.set_level(logging.INFO)
    caplog.clear()
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    response = client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})

    lines = _structured(caplog)
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    line = lines[0]
    assert line["request_id"] == response.headers["x-request-id"]
    assert {k: line[k] for k in expected} == expected, line
    assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
    assert line["status"] == response.status_code

    structured = json.dumps(line)
    everything = _everything_logged(caplog)
    for secret in (world.admin_token, a_token, world.b.token, unknown):
        assert secret not in everything
        assert secret[3:] not in everything
    assert MARKER not in structured
    assert query not in structured
    if len(query) > 120:
        assert query not in everything  # a long document is never logged whole
    if case in ("admin query", "reseller query", "mutation", "long rejected"):
        # Nothing of the document or the variables for a document that ran (or a long
        # rejected one: logged truncated, and the marker is past the cut).
        assert MARKER not in everything, everything


def test_refused_mutations_are_logged_with_codes_not_values(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="billclass.refusals"):
        payload = api.mutate("createCustomerClass", {"name": "   secret-looking   " + "x" * 200})
    assert payload["userErrors"][0]["code"] == "TOO_LONG"
    lines = [r.getMessage() for r in caplog.records if r.name == "billclass.refusals"]
    assert len(lines) == 1
    assert "createCustomerClass refused: TOO_LONG input.name" in lines[0]
    assert "secret-looking" not in lines[0]
