"""The HTTP surface of /graphql (SPEC §6): methods, content types, envelopes, body size,
top-level error codes, request IDs and the health endpoints."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, NoReturn

import orjson
import pytest
from starlette.testclient import TestClient
from starlette.types import Message, Scope

from db import migrate
from gql.limits import MAX_BODY_BYTES
from tests.api.protection_support import post_raw, top_error
from tests.api_client import Api
from tests.api_client import without_cost as body_without_cost

VIEWER = "{ viewer { role } }"


# --------------------------------------------------------------------------- GET / methods


def without_cost(response: Any) -> dict[str, Any]:
    """The body without extensions.cost (SPEC §7), which every such response carries."""
    return body_without_cost(response.json())


def test_browser_get_serves_graphiql_without_a_token(api: Api) -> None:
    response = api.client.get(
        "/graphql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "GraphiQL" in response.text
    # The page holds no token of its own: the user enters one.
    assert "bc_" not in response.text.replace("bc_paste_your_token_here", "")


def test_get_with_a_query_is_405(api: Api) -> None:
    for accept in ("application/json", "text/html"):
        response = api.client.get(
            "/graphql",
            params={"query": VIEWER},
            headers={"Accept": accept, "Authorization": f"Bearer {api.admin_token}"},
        )
        assert response.status_code == 405, accept
        assert response.headers["allow"] == "POST"
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_get_without_html_is_405(api: Api) -> None:
    response = api.client.get(
        "/graphql",
        headers={"Accept": "application/json", "Authorization": f"Bearer {api.admin_token}"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_other_methods_are_405(api: Api) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = api.client.request(
            method,
            "/graphql",
            content=orjson.dumps({"query": VIEWER}),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {api.admin_token}",
            },
        )
        assert response.status_code == 405, method
        assert response.headers["allow"] == "POST"
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


# --------------------------------------------------------------------------- content types


NON_JSON = (
    ("application/x-www-form-urlencoded", "query=%7B+viewer+%7B+role+%7D+%7D"),
    ("text/plain", json.dumps({"query": VIEWER})),
    ("application/graphql", VIEWER),
    ("multipart/form-data; boundary=x", "--x\r\n\r\n{}\r\n--x--"),
    ("", json.dumps({"query": VIEWER})),
)


def test_non_json_posts_are_415(api: Api) -> None:
    for content_type, content in NON_JSON:
        response = post_raw(api, content, content_type)
        assert response.status_code == 415, (content_type, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_json_with_charset_parameter_is_accepted(api: Api) -> None:
    response = post_raw(api, json.dumps({"query": VIEWER}), "application/json; charset=utf-8")
    assert response.status_code == 200
    assert without_cost(response) == {"data": {"viewer": {"role": "ADMINISTRATOR"}}}


# --------------------------------------------------------------------------- envelopes


def test_batch_is_refused(api: Api) -> None:
    response = post_raw(api, json.dumps([{"query": VIEWER}, {"query": VIEWER}]))
    error = top_error(response, 400)
    assert error["extensions"]["code"] == "BATCHING_NOT_SUPPORTED"
    # Even a batch of one.
    error = top_error(post_raw(api, json.dumps([{"query": VIEWER}])), 400)
    assert error["extensions"]["code"] == "BATCHING_NOT_SUPPORTED"


MALFORMED = (
    b"{",
    b'{"query": }',
    b"",
    b"   ",
    b"{'query': '{ viewer { role } }'}",
    b'{"query": "{ viewer { role } }"',
    b"\xff\xfe\x00garbage",
    b'{"query": "\xff"}',
    b"null",
    b"42",
    b'"{ viewer { role } }"',
    b"true",
    b"[" * 5000 + b"]" * 5000,
    b'{"query": "{ viewer { role } }", "variables": ' + b"[" * 5000 + b"]" * 5000 + b"}",
)


def test_malformed_json_is_400(api: Api) -> None:
    for content in MALFORMED:
        response = post_raw(api, content)
        assert response.status_code == 400, (content[:40], response.text)
        code = response.json()["errors"][0]["extensions"]["code"]
        assert code == "BAD_REQUEST", (content[:40], code)
        assert "Traceback" not in response.text


MISSING_QUERY: tuple[dict[str, Any], ...] = (
    {},
    {"variables": {}},
    {"query": None},
    {"query": 42},
    {"query": ["{ viewer { role } }"]},
    {"query": {"text": "{ viewer { role } }"}},
    {"Query": VIEWER},
)


def test_missing_or_non_string_query_is_400(api: Api) -> None:
    for envelope in MISSING_QUERY:
        error = top_error(post_raw(api, json.dumps(envelope)), 400)
        assert error["extensions"]["code"] == "BAD_REQUEST", envelope
        assert '"query"' in error["message"]


def test_variables_must_be_an_object(api: Api) -> None:
    for variables in ([], "x", 42, [{"a": 1}]):
        body = json.dumps({"query": VIEWER, "variables": variables})
        error = top_error(post_raw(api, body), 400)
        assert error["extensions"]["code"] == "BAD_REQUEST", variables
        assert "variables" in error["message"]


def test_null_variables_and_operation_name_are_accepted(api: Api) -> None:
    body = {"query": VIEWER, "variables": None, "operationName": None}
    response = post_raw(api, json.dumps(body))
    assert response.status_code == 200
    assert without_cost(response) == {"data": {"viewer": {"role": "ADMINISTRATOR"}}}


def test_operation_name_must_be_a_string(api: Api) -> None:
    error = top_error(post_raw(api, json.dumps({"query": VIEWER, "operationName": 1})), 400)
    assert error["extensions"]["code"] == "BAD_REQUEST"


def test_operation_name_selects_the_operation(api: Api) -> None:
    query = "query A { viewer { role } } query B { viewer { tokenName } }"
    response = api.post(query, operation_name="B")
    assert without_cost(response) == {"data": {"viewer": {"tokenName": "root"}}}
    # Several operations and no name; an unknown name: client errors, not 500.
    for name in (None, "C"):
        response = api.post(query, operation_name=name)
        assert response.status_code == 200
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --------------------------------------------------------------------------- body size


def _padded(size: int) -> bytes:
    """A valid JSON envelope of exactly ``size`` bytes (whitespace is not a token)."""
    head = b'{"query": "{ viewer { role } }'
    tail = b'"}'
    return head + b" " * (size - len(head) - len(tail)) + tail


def test_body_of_exactly_64_kib_is_accepted(api: Api) -> None:
    content = _padded(MAX_BODY_BYTES)
    assert len(content) == 64 * 1024
    response = post_raw(api, content)
    assert response.status_code == 200, response.text
    assert without_cost(response) == {"data": {"viewer": {"role": "ADMINISTRATOR"}}}


def test_body_over_64_kib_is_413(api: Api) -> None:
    response = post_raw(api, _padded(MAX_BODY_BYTES + 1))
    error = top_error(response, 413)
    assert error["extensions"]["code"] == "QUERY_TOO_LARGE"
    assert str(MAX_BODY_BYTES) in error["message"]


def test_huge_body_is_413(api: Api) -> None:
    response = post_raw(api, _padded(5 * 1024 * 1024))
    error = top_error(response, 413)
    assert error["extensions"]["code"] == "QUERY_TOO_LARGE"


def test_chunked_body_over_64_kib_is_413(api: Api) -> None:
    """Without Content-Length the body is counted while it is read."""
    content = _padded(MAX_BODY_BYTES + 10)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 8192):
            yield content[start : start + 8192]

    response = api.client.post(
        "/graphql",
        content=chunks(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api.admin_token}"},
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    error = top_error(response, 413)
    assert error["extensions"]["code"] == "QUERY_TOO_LARGE"


def test_lying_content_length_is_not_a_500(api: Api) -> None:
    response = api.client.post(
        "/graphql",
        content=b'{"query": "{ viewer { role } }"}',
        headers={
            "Content-Type": "application/json",
            "Content-Length": "not-a-number",
            "Authorization": f"Bearer {api.admin_token}",
        },
    )
    assert response.status_code in (400, 413)


def test_huge_string_variable_inside_the_limit_is_a_clear_error(api: Api) -> None:
    query = "query($id: ID!) { customerClass(id: $id) { id } }"
    response = api.post(query, {"id": "x" * 60_000})
    assert response.status_code == 200
    assert without_cost(response) == {"data": {"customerClass": None}}


# --------------------------------------------------------------------------- GraphQL errors


def test_syntax_error_is_graphql_parse_failed(api: Api) -> None:
    for query in (
        "{ viewer { role }",
        "{ viewer { role } } }",
        "query {",
        "{ viewer(: 1) { role } }",
        "#",
        "",
        '{ customerClass(id: "unterminated) { id } }',
    ):
        error = top_error(api.post(query))
        assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED", query
        assert "Syntax Error" in error["message"]


MISSPELT = (
    "{ viewr { role } }",
    "{ viewer { rol } }",
    "{ customerClasses(frist: 1) { totalCount } }",
    "{ customerClasses(orderBy: {field: NAM}) { totalCount } }",
    "query($f: CustomerClassFiltr) { customerClasses(filter: $f) { totalCount } }",
    '{ node(id: "x") { ... on CustomerClas { id } } }',
)


def test_validation_error_has_no_suggestions(api: Api) -> None:
    for query in MISSPELT:
        response = api.post(query)
        assert response.status_code == 200
        body = response.json()
        assert "data" not in body
        assert body["errors"], query
        for error in body["errors"]:
            assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", query
        assert "did you mean" not in response.text.lower(), response.text


def test_mutation_with_a_validation_error_writes_nothing(api: Api) -> None:
    query = (
        'mutation { createBusinessModel(input: {code: "BM1", name: "One"}) { userErrors { code } }'
        " nope }"
    )
    error = top_error(api.post(query))
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert api.data("{ businessModels { code } }")["businessModels"] == []


BAD_VARIABLES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("query($n: Int!) { customerClasses(first: $n) { totalCount } }", {"n": "ten"}),
    ("query($n: Int!) { customerClasses(first: $n) { totalCount } }", {}),
    ("query($n: Int!) { customerClasses(first: $n) { totalCount } }", {"n": None}),
    ("query($n: Int!) { customerClasses(first: $n) { totalCount } }", {"n": 1.5}),
    ("query($n: Int!) { customerClasses(first: $n) { totalCount } }", {"n": 2**40}),
    (
        "query($o: CustomerClassOrder!) { customerClasses(orderBy: $o) { totalCount } }",
        {"o": {"field": "NAM"}},
    ),
    (
        "query($f: CustomerClassFilter) { customerClasses(filter: $f) { totalCount } }",
        {"f": {"nameContain": "x"}},
    ),
    ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [["a"]]}),
    ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [None]}),
    ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": {"a": 1}}),
    ("query($b: Boolean!) { apiTokens(includeRevoked: $b) { id } }", {"b": "yes"}),
)


def test_bad_variables_are_bad_user_input(api: Api) -> None:
    for query, variables in BAD_VARIABLES:
        response = api.post(query, variables)
        error = top_error(response)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", (variables, error)
        assert "did you mean" not in response.text.lower(), response.text


def test_graphql_errors_use_http_200_and_no_stack_traces(api: Api) -> None:
    response = api.post("{ viewer { role } ")
    assert response.status_code == 200
    assert "Traceback" not in response.text
    assert "stacktrace" not in response.text.lower()


# --------------------------------------------------------------------------- request IDs


def test_request_id_is_echoed(api: Api) -> None:
    response = api.client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"Authorization": f"Bearer {api.admin_token}", "X-Request-ID": "abc-123.DEF_4"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123.DEF_4"


def test_request_id_is_generated_when_absent_or_unsafe(api: Api) -> None:
    seen = set()
    for supplied in (None, "has spaces", "x" * 65, "a\u00e9", "<script>"):
        headers = {b"Authorization": f"Bearer {api.admin_token}".encode()}
        if supplied is not None:
            headers[b"X-Request-ID"] = supplied.encode("utf-8")
        response = api.client.post("/graphql", json={"query": VIEWER}, headers=headers)
        assert response.status_code == 200
        generated = response.headers["x-request-id"]
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", generated), generated
        assert generated != supplied
        seen.add(generated)
    assert len(seen) == 5


def test_request_id_on_refused_requests(api: Api) -> None:
    responses = {
        "r1": api.client.post("/graphql", json={"query": VIEWER}, headers={"X-Request-ID": "r1"}),
        "r2": post_raw(api, "[]", **{"X-Request-ID": "r2"}),
        "r3": post_raw(api, "x", "text/plain", **{"X-Request-ID": "r3"}),
        "r4": post_raw(api, _padded(MAX_BODY_BYTES + 1), **{"X-Request-ID": "r4"}),
    }
    assert {k: r.status_code for k, r in responses.items()} == {
        "r1": 401,
        "r2": 400,
        "r3": 415,
        "r4": 413,
    }
    for request_id, response in responses.items():
        assert response.headers["x-request-id"] == request_id


# --------------------------------------------------------------------------- health


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_the_current_migration(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["migration"] == migrate.head_revision()
    assert body["migration"]


def test_health_endpoints_need_no_token_and_leak_nothing(client: TestClient) -> None:
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        assert "postgresql" not in response.text.lower()
        assert "sqlite" not in response.text.lower()


# --------------------------------------------------------------------------- masking and logs


def test_unexpected_errors_are_masked(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(*_args: Any, **_kwargs: Any) -> NoReturn:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr("tenancy.tokens.list_tokens", boom)
    response = api.client.post(
        "/graphql",
        json={"query": "{ apiTokens { id } }"},
        headers={"Authorization": f"Bearer {api.admin_token}", "X-Request-ID": "boom-1"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL"}
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    logged = [r for r in caplog.records if "boom-1" in r.getMessage()]
    assert logged, "the failure is logged with the request ID"


def test_rejected_documents_are_logged_truncated(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "endOfTheDocumentMarker"
    query = "{ " + " ".join(f"unknown{i}" for i in range(300)) + f" {marker} }}"
    error = top_error(api.post(query))
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert marker not in text
    assert query not in text


def test_a_client_leaving_mid_body_gets_no_traceback(
    api: Api, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The body is read after authentication; a client that disconnects first is
    answered (to nobody) without an exception escaping to the server's log."""
    sent: list[Message] = []
    messages: Iterator[Message] = iter(
        [
            {"type": "http.request", "body": b'{"query": "{ viewer', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {api.admin_token}".encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    assert client is api.client and client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.exc_info]
