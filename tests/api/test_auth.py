"""Authentication (SPEC §2): 401 UNAUTHENTICATED before anything runs, revocation within
the cache bound, expiry, introspection behind a token, lastUsedAt."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
import pydantic
import pytest

from db.settings import Settings
from tests.api.protection_support import (
    app_with,
    audit_rows,
    post_raw,
    set_token_expiry,
    token_rows,
)
from tests.api_client import Api
from tests.conftest import cli_token
from tests.support.sql import recording, touching, writes

VIEWER = "{ viewer { role tokenName } }"
CLASSES = "{ customerClasses { totalCount nodes { id name } } }"
CREATE_CLASS = (
    'mutation { createCustomerClass(input: {name: "Sneaky"}) {'
    " customerClass { id } userErrors { code } } }"
)


def _post(api: Api, query: str, authorization: str | bytes | None) -> httpx.Response:
    headers: dict[str, str] | dict[bytes, bytes] = {}
    if isinstance(authorization, bytes):
        headers = {b"Authorization": authorization}
    elif authorization is not None:
        headers = {"Authorization": authorization}
    return api.client.post("/graphql", json={"query": query}, headers=headers)


def _assert_401(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert "data" not in body
    assert len(body["errors"]) == 1
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    found: dict[str, Any] = body
    return found


def _future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def _reseller(api: Api, name: str = "Reseller A") -> str:
    return api.create_reseller(name)


def _token_named(api: Api, name: str, include_revoked: bool = True) -> dict[str, Any]:
    tokens = api.data(
        "query($r: Boolean!) { apiTokens(includeRevoked: $r) {"
        " id name lastUsedAt revokedAt expiresAt } }",
        {"r": include_revoked},
    )["apiTokens"]
    return next(t for t in tokens if t["name"] == name)


BAD_AUTHORIZATIONS = (
    None,
    "",
    "Bearer",
    "Bearer    ",
    "Basic dXNlcjpwYXNz",
    "Token bc_abc",
    "bc_abc",
    "Bearer bc_" + secrets.token_urlsafe(32),  # well-formed, unknown
    "Bearer " + secrets.token_urlsafe(32),  # no prefix
    "Bearer bc_",
    "Bearer bc_" + "x" * 5000,  # absurdly long
    "Bearer bc_\u00ff\u00fe".encode("latin-1"),  # not ASCII
    "Bearer ' or 1=1 --",
)


# --------------------------------------------------------------------------- 401


def test_missing_and_malformed_tokens_are_401(api: Api) -> None:
    for authorization in BAD_AUTHORIZATIONS:
        response = _post(api, VIEWER, authorization)
        assert response.status_code == 401, authorization
        _assert_401(response)


def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    response = _post(api, VIEWER, f"bearer {api.admin_token}")
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["role"] == "ADMINISTRATOR"


def test_unauthenticated_requests_run_nothing(api: Api, sql_statements: list[str]) -> None:
    sql_statements.clear()
    for authorization in BAD_AUTHORIZATIONS:
        _assert_401(_post(api, CLASSES, authorization))
        _assert_401(_post(api, CREATE_CLASS, authorization))
    assert touching(sql_statements, "customer_class") == []
    assert touching(sql_statements, "customer") == []
    assert touching(sql_statements, "audit_event") == []
    assert writes(sql_statements) == []
    # And indeed nothing was created.
    assert api.data('{ customerClasses(filter: {nameContains: "sneaky"}) { totalCount } }') == {
        "customerClasses": {"totalCount": 0}
    }


def test_authentication_comes_before_the_body_is_looked_at(api: Api) -> None:
    """Without a token, nothing about the request itself is reported."""
    bodies = (
        b"{not json",
        b'[{"query": "{ viewer { role } }"}]',
        b'{"variables": {}}',
        b'{"query": "{ viewer { "}',
        b'{"query": "{ nope }"}',
        b'{"query": "{ customerClasses(first: 1000) { totalCount } }"}',
    )
    for body in bodies:
        for token in ("", "bc_" + secrets.token_urlsafe(32)):
            response = post_raw(api, body, token=token)
            _assert_401(response)


def test_refusals_look_alike(api: Api, settings: Settings) -> None:
    """Unknown, revoked and expired tokens get the same answer: no oracle."""
    reseller = _reseller(api)
    revoked = api.reseller_token(reseller, "revoked")
    expired = api.reseller_token(reseller, "expired")
    token_id = _token_named(api, "revoked")["id"]
    api.ok("revokeApiToken", {"id": token_id})
    set_token_expiry(settings, "expired", datetime.now(UTC) - timedelta(seconds=1))
    unknown = "bc_" + secrets.token_urlsafe(32)
    with app_with(settings, api.admin_token, token_cache_seconds=0) as fresh:
        bodies = [
            _assert_401(_post(fresh, VIEWER, f"Bearer {t}")) for t in (unknown, revoked, expired)
        ]
    assert bodies[0] == bodies[1] == bodies[2]


# --------------------------------------------------------------------------- introspection


def test_introspection_needs_a_token(api: Api) -> None:
    for query in (
        "{ __schema { queryType { name } } }",
        '{ __type(name: "CustomerClass") { name fields { name } } }',
        "{ __typename }",
    ):
        _assert_401(_post(api, query, None))
        _assert_401(_post(api, query, "Bearer bc_" + secrets.token_urlsafe(32)))
        response = _post(api, query, f"Bearer {api.admin_token}")
        assert response.status_code == 200
        assert "errors" not in response.json()


def test_reseller_token_may_introspect(api: Api) -> None:
    token = api.reseller_token(_reseller(api), "portal")
    data = api.data("{ __schema { mutationType { name } } }", token=token)
    assert data == {"__schema": {"mutationType": {"name": "Mutation"}}}


# --------------------------------------------------------------------------- revocation


def test_revocation_takes_effect(api: Api, settings: Settings) -> None:
    reseller = _reseller(api)
    with app_with(settings, api.admin_token, token_cache_seconds=0) as fresh:
        token = fresh.reseller_token(reseller, "portal")
        assert fresh.data(VIEWER, token=token)["viewer"]["tokenName"] == "portal"
        token_id = _token_named(fresh, "portal")["id"]
        revoked = fresh.ok("revokeApiToken", {"id": token_id}, selection="apiToken { revokedAt }")
        assert revoked["apiToken"]["revokedAt"] is not None
        _assert_401(fresh.post(VIEWER, token=token))
        # A mutation with the revoked token writes nothing.
        before = len(audit_rows(settings))
        _assert_401(fresh.post(CREATE_CLASS, token=token))
        assert len(audit_rows(settings)) == before


def test_revoking_the_token_in_use(api: Api, settings: Settings) -> None:
    reseller = _reseller(api)
    with app_with(settings, api.admin_token, token_cache_seconds=0) as fresh:
        token = fresh.reseller_token(reseller, "self")
        own_id = fresh.data("{ apiTokens { id name } }", token=token)["apiTokens"][0]["id"]
        fresh.ok("revokeApiToken", {"id": own_id}, token=token)
        _assert_401(fresh.post(VIEWER, token=token))


def test_revocation_within_the_cache_bound(api: Api, settings: Settings) -> None:
    """A cached token is trusted at most token_cache_seconds; the setting cannot exceed the
    5 seconds of SPEC §2."""
    reseller = _reseller(api)
    token = api.reseller_token(reseller, "cached")
    token_id = _token_named(api, "cached")["id"]
    with app_with(settings, api.admin_token, token_cache_seconds=0.4) as fresh:
        assert fresh.data(VIEWER, token=token)["viewer"]["tokenName"] == "cached"  # cached now
        fresh.ok("revokeApiToken", {"id": token_id})
        time.sleep(0.5)
        _assert_401(fresh.post(VIEWER, token=token))
    assert Settings(database_url=settings.database_url).token_cache_seconds <= 5
    with pytest.raises(pydantic.ValidationError):
        Settings(database_url=settings.database_url, token_cache_seconds=6)


def test_revoked_administrator_token(api: Api, settings: Settings) -> None:
    other = cli_token(settings, name="ops")
    with app_with(settings, api.admin_token, token_cache_seconds=0) as fresh:
        assert fresh.data(VIEWER, token=other)["viewer"] == {
            "role": "ADMINISTRATOR",
            "tokenName": "ops",
        }
        fresh.ok("revokeApiToken", {"id": _token_named(fresh, "ops")["id"]})
        _assert_401(fresh.post(VIEWER, token=other))
        # The root token still works.
        assert fresh.data(VIEWER)["viewer"]["tokenName"] == "root"


# --------------------------------------------------------------------------- expiry


def test_expired_token_is_401(api: Api, settings: Settings) -> None:
    reseller = _reseller(api)
    token = api.create_token(
        name="short", role="RESELLER", resellerId=reseller, expiresAt=_future(hours=1)
    )
    admin = cli_token(settings, name="temp admin", expiresAt=_future(hours=1))
    set_token_expiry(settings, "short", datetime.now(UTC) - timedelta(seconds=1))
    set_token_expiry(settings, "temp admin", datetime.now(UTC) - timedelta(days=1))
    with app_with(settings, api.admin_token, token_cache_seconds=0) as fresh:
        _assert_401(fresh.post(VIEWER, token=token))
        _assert_401(fresh.post(VIEWER, token=admin))
        _assert_401(fresh.post(CREATE_CLASS, token=admin))
    assert api.data(CLASSES)["customerClasses"]["totalCount"] == 1  # Default only


def test_expiry_is_checked_on_cached_tokens(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    reseller = _reseller(api)
    token = api.create_token(
        name="short", role="RESELLER", resellerId=reseller, expiresAt=_future(minutes=10)
    )
    assert api.data(VIEWER, token=token)["viewer"]["tokenName"] == "short"  # now cached
    later = datetime.now(UTC) + timedelta(minutes=11)
    monkeypatch.setattr("gql.auth.utcnow", lambda: later)
    _assert_401(api.post(VIEWER, token=token))


# --------------------------------------------------------------------------- lastUsedAt


def test_last_used_at_is_set_after_use(api: Api) -> None:
    reseller = _reseller(api)
    token = api.reseller_token(reseller, "portal")
    assert _token_named(api, "portal")["lastUsedAt"] is None
    before = datetime.now(UTC) - timedelta(seconds=1)
    api.data(VIEWER, token=token)
    used = _token_named(api, "portal")["lastUsedAt"]
    assert used is not None
    assert used.endswith("Z")
    assert before <= datetime.fromisoformat(used) <= datetime.now(UTC) + timedelta(seconds=1)
    # The reseller sees it too, on its own token.
    mine = api.data("{ apiTokens { name lastUsedAt } }", token=token)["apiTokens"]
    assert mine == [{"name": "portal", "lastUsedAt": used}]


def test_last_used_at_is_recorded_at_most_once_a_minute(api: Api, settings: Settings) -> None:
    reseller = _reseller(api)
    token = api.reseller_token(reseller, "busy")
    with app_with(settings, api.admin_token, token_cache_seconds=0) as fresh:
        with recording(fresh.app) as statements:
            for _ in range(5):
                fresh.data(VIEWER, token=token)
        updates = [s for s in writes(statements) if "api_token" in s.lower()]
        assert len(updates) == 1, updates
    first = _token_named(api, "busy")["lastUsedAt"]
    assert first is not None
    api.data(VIEWER, token=token)
    assert _token_named(api, "busy")["lastUsedAt"] == first


def test_read_with_a_warm_token_writes_nothing(api: Api, sql_statements: list[str]) -> None:
    api.data(VIEWER)  # authenticates (cache miss) and records lastUsedAt once
    sql_statements.clear()
    for _ in range(3):
        api.data(CLASSES)
    assert writes(sql_statements) == []
    assert touching(sql_statements, "api_token") == []


def test_the_secret_is_not_what_is_stored(api: Api, settings: Settings) -> None:
    rows = token_rows(settings)
    assert len(rows) == 1
    assert api.admin_token not in repr(rows)
