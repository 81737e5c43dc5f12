"""API tokens (SPEC §1 and §2 "Tokens"): createApiToken, revokeApiToken, apiTokens."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from db.models import token_table
from db.settings import Settings
from tenancy.ids import decode, to_global_id
from tenancy.principal import CLI
from tenancy.scoping import changeable
from tests.api.protection_support import app_with, audit_rows, token_rows
from tests.api_client import Api
from tests.support.audit import event_count
from tests.support.cli import run_as_cli
from tests.support.errors import UserError, errors_of

TOKEN = "id name role reseller { id } createdAt expiresAt revokedAt lastUsedAt"
CREATED = f"secret apiToken {{ {TOKEN} }}"
EXPIRY = "2099-01-01T00:00:00Z"  # the expiry of the reseller tokens api.reseller_token makes
LIST = "query($r: Boolean!) { apiTokens(includeRevoked: $r) { id name revokedAt } }"
EVENTS = (
    "query($id: ID) { auditEvents(objectId: $id) { totalCount nodes {"
    " action actorRole actorTokenName objectId objectType changes } } }"
)


def create(api: Api, token: str | None = None, **input_: Any) -> dict[str, Any]:
    return api.mutate("createApiToken", input_, token, CREATED)


def created(api: Api, token: str | None = None, **input_: Any) -> dict[str, Any]:
    payload = create(api, token, **input_)
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def refused(payload: dict[str, Any]) -> list[UserError]:
    assert payload["apiToken"] is None
    assert payload["secret"] is None
    return errors_of(payload)


def revoke(api: Api, token_id: str, token: str | None = None) -> dict[str, Any]:
    return api.mutate("revokeApiToken", {"id": token_id}, token, f"apiToken {{ {TOKEN} }}")


def names(api: Api, token: str | None = None, include_revoked: bool = False) -> list[str]:
    tokens = api.data(LIST, {"r": include_revoked}, token)["apiTokens"]
    return [t["name"] for t in tokens]


def token_id(api: Api, name: str, token: str | None = None) -> str:
    tokens = api.data(LIST, {"r": True}, token)["apiTokens"]
    found: str = next(t["id"] for t in tokens if t["name"] == name)
    return found


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def reseller(api: Api, name: str = "Reseller A", label: str = "portal") -> tuple[str, str]:
    reseller_id = api.create_reseller(name)
    return reseller_id, api.reseller_token(reseller_id, label)


# --------------------------------------------------------------------------- creation


def test_administrator_token(api: Api) -> None:
    payload = created(api, name="  Deploy bot  ", role="ADMINISTRATOR")
    secret = payload["secret"]
    assert secret.startswith("bc_")
    assert len(secret) - 3 >= 22  # at least 128 random bits in base64url
    token = payload["apiToken"]
    assert token["name"] == "Deploy bot"
    assert token["role"] == "ADMINISTRATOR"
    assert token["reseller"] is None
    assert token["expiresAt"] is None
    assert token["revokedAt"] is None
    assert token["lastUsedAt"] is None
    assert token["createdAt"].endswith("Z")
    assert api.data("{ viewer { role tokenName reseller { id } } }", token=secret) == {
        "viewer": {"role": "ADMINISTRATOR", "tokenName": "Deploy bot", "reseller": None}
    }


def test_administrator_token_with_expiry_in_utc(api: Api) -> None:
    payload = created(api, name="temp", role="ADMINISTRATOR", expiresAt="2098-06-30T23:30:00-02:00")
    assert payload["apiToken"]["expiresAt"] == "2098-07-01T01:30:00Z"


def test_reseller_token_by_the_administrator(api: Api) -> None:
    reseller_id = api.create_reseller("Reseller A")
    payload = created(api, name="portal", role="RESELLER", resellerId=reseller_id)
    token = payload["apiToken"]
    assert token["role"] == "RESELLER"
    assert token["reseller"] == {"id": reseller_id}
    assert token["expiresAt"] is None  # administrators may omit it
    viewer = api.data("{ viewer { role reseller { id } } }", token=payload["secret"])
    assert viewer == {"viewer": {"role": "RESELLER", "reseller": {"id": reseller_id}}}


def test_secrets_are_shown_once_and_differ(api: Api) -> None:
    first = created(api, name="one", role="ADMINISTRATOR")["secret"]
    second = created(api, name="two", role="ADMINISTRATOR")["secret"]
    assert first != second
    # No field ever shows a secret again.
    response = api.post("{ apiTokens { secret } }")
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    listed = json.dumps(api.data(f"{{ apiTokens(includeRevoked: true) {{ {TOKEN} }} }}"))
    assert first not in listed and second not in listed


def test_reseller_id_rules_for_the_administrator(api: Api) -> None:
    reseller_id = api.create_reseller("Reseller A")
    retail_id = api.create_customer(name="Retail", customerType="RETAIL")
    class_id = api.create_class(name="A class")
    before = event_count(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"role": "RESELLER"}, "REQUIRED"),
        ({"role": "RESELLER", "resellerId": None}, "REQUIRED"),
        ({"role": "RESELLER", "resellerId": retail_id}, "INVALID"),
        ({"role": "RESELLER", "resellerId": to_global_id("Customer", 123456789)}, "NOT_FOUND"),
        ({"role": "RESELLER", "resellerId": "not an id"}, "NOT_FOUND"),
        ({"role": "RESELLER", "resellerId": class_id}, "NOT_FOUND"),
        ({"role": "ADMINISTRATOR", "resellerId": reseller_id}, "INVALID"),
        ({"role": "ADMINISTRATOR", "resellerId": retail_id}, "INVALID"),
        ({"role": "ADMINISTRATOR", "resellerId": "not an id"}, "NOT_FOUND"),
    ]
    for input_, code in cases:
        payload = create(api, name="t", **input_)
        assert refused(payload) == [(code, ["input", "resellerId"])], input_
    assert event_count(api) == before
    assert names(api, include_revoked=True) == ["root"]


def test_expiry_must_be_a_future_date_time_with_offset(api: Api) -> None:
    reseller_id = api.create_reseller("Reseller A")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for expires_at in (
        past,
        "2000-01-01T00:00:00Z",
        "2099-01-01T00:00:00",  # no offset
        "2099-01-01",
        "tomorrow",
        "",
        42,
        "2099-13-01T00:00:00Z",
    ):
        for role in ("ADMINISTRATOR", "RESELLER"):
            extra = {"resellerId": reseller_id} if role == "RESELLER" else {}
            payload = create(api, name="t", role=role, expiresAt=expires_at, **extra)
            assert refused(payload) == [("INVALID", ["input", "expiresAt"])], (expires_at, role)


def test_validation_errors_are_reported_together(api: Api) -> None:
    payload = create(api, name=" ", role="ADMINISTRATOR", resellerId=None, expiresAt="2000-01-01Z")
    assert sorted(refused(payload)) == [
        ("INVALID", ["input", "expiresAt"]),
        ("REQUIRED", ["input", "name"]),
    ]
    assert refused(create(api, name="x" * 101, role="ADMINISTRATOR")) == [
        ("TOO_LONG", ["input", "name"])
    ]
    assert created(api, name="x" * 100, role="ADMINISTRATOR")["apiToken"]["name"] == "x" * 100


# --------------------------------------------------------------------------- reseller rules


def test_reseller_creates_its_own_tokens(api: Api) -> None:
    reseller_id, token = reseller(api)
    for extra in ({}, {"resellerId": reseller_id}):
        name = f"portal {len(extra)}"
        payload = created(api, token, name=name, role="RESELLER", expiresAt=in_days(30), **extra)
        assert payload["apiToken"]["reseller"] == {"id": reseller_id}
        assert payload["apiToken"]["role"] == "RESELLER"
        viewer = api.data("{ viewer { tokenName reseller { id } } }", token=payload["secret"])
        assert viewer == {"viewer": {"tokenName": name, "reseller": {"id": reseller_id}}}


def test_reseller_may_not_create_administrator_tokens(api: Api) -> None:
    _id, token = reseller(api)
    payload = create(api, token, name="escalate", role="ADMINISTRATOR", expiresAt=in_days(1))
    assert refused(payload) == [("NOT_PERMITTED", ["input", "role"])]


def test_reseller_may_not_name_another_reseller(api: Api) -> None:
    _a, token = reseller(api)
    b_id = api.create_reseller("Reseller B")
    retail_id = api.create_customer(name="Retail", customerType="RETAIL")
    for other in (
        b_id,
        retail_id,
        to_global_id("Customer", 123456789),  # does not exist: same answer
        "not an id",
        "",
    ):
        payload = create(
            api, token, name="t", role="RESELLER", resellerId=other, expiresAt=in_days(1)
        )
        assert refused(payload) == [("NOT_PERMITTED", ["input", "resellerId"])], other
    assert names(api, token) == ["portal"]


def test_reseller_tokens_must_expire(api: Api) -> None:
    _id, token = reseller(api)
    for extra in ({}, {"expiresAt": None}):
        payload = create(api, token, name="forever", role="RESELLER", **extra)
        assert refused(payload) == [("REQUIRED", ["input", "expiresAt"])]


def test_reseller_tokens_expire_no_later_than_their_creator(api: Api) -> None:
    _id, token = reseller(api)  # expires at EXPIRY
    payload = create(api, token, name="later", role="RESELLER", expiresAt="2099-01-01T00:00:01Z")
    assert refused(payload) == [("OUT_OF_RANGE", ["input", "expiresAt"])]
    payload = create(api, token, name="later", role="RESELLER", expiresAt="2100-01-01T00:00:00Z")
    assert refused(payload) == [("OUT_OF_RANGE", ["input", "expiresAt"])]
    # The same instant, written with another offset, is fine.
    payload = created(
        api, token, name="same", role="RESELLER", expiresAt="2099-01-01T01:00:00+01:00"
    )
    assert payload["apiToken"]["expiresAt"] == EXPIRY
    # And a token it made bounds the next generation the same way.
    child = created(api, token, name="child", role="RESELLER", expiresAt=in_days(10))["secret"]
    payload = create(api, child, name="grandchild", role="RESELLER", expiresAt=in_days(11))
    assert refused(payload) == [("OUT_OF_RANGE", ["input", "expiresAt"])]
    created(api, child, name="grandchild", role="RESELLER", expiresAt=in_days(9))


def test_token_without_expiry_counts_as_90_days(api: Api) -> None:
    reseller_id = api.create_reseller("Reseller A")
    token = created(api, name="open", role="RESELLER", resellerId=reseller_id)["secret"]
    payload = create(api, token, name="too long", role="RESELLER", expiresAt=in_days(91))
    assert refused(payload) == [("OUT_OF_RANGE", ["input", "expiresAt"])]
    created(api, token, name="fine", role="RESELLER", expiresAt=in_days(89))


def test_at_most_20_unrevoked_reseller_tokens(api: Api) -> None:
    _id, token = reseller(api)  # the first of 20
    for i in range(19):
        created(api, token, name=f"t{i}", role="RESELLER", expiresAt=in_days(30))
    assert len(names(api, token)) == 20
    before = event_count(api)
    payload = create(api, token, name="t20", role="RESELLER", expiresAt=in_days(30))
    assert refused(payload) == [("OUT_OF_RANGE", ["input"])]
    assert "20" in payload["userErrors"][0]["message"]
    assert event_count(api) == before
    # Another reseller is not affected.
    _b, b_token = reseller(api, "Reseller B", "b portal")
    created(api, b_token, name="b extra", role="RESELLER", expiresAt=in_days(30))
    # Revoking one makes room for one.
    assert revoke(api, token_id(api, "t0", token), token)["userErrors"] == []
    created(api, token, name="t20", role="RESELLER", expiresAt=in_days(30))
    payload = create(api, token, name="t21", role="RESELLER", expiresAt=in_days(30))
    assert refused(payload) == [("OUT_OF_RANGE", ["input"])]


# --------------------------------------------------------------------------- names


def test_names_are_unique_per_owner(api: Api) -> None:
    a_id, a_token = reseller(api, "Reseller A", "portal")
    b_id, b_token = reseller(api, "Reseller B", "other")
    # Administrator tokens: "root" (from the CLI) is taken, ignoring case and spaces.
    for name in ("root", "ROOT", "  Root "):
        assert refused(create(api, name=name, role="ADMINISTRATOR")) == [
            ("TAKEN", ["input", "name"])
        ]
    # A's namespace: taken whoever creates the token.
    payload = create(api, a_token, name="Portal", role="RESELLER", expiresAt=in_days(1))
    assert refused(payload) == [("TAKEN", ["input", "name"])]
    payload = create(api, name="portal", role="RESELLER", resellerId=a_id)
    assert refused(payload) == [("TAKEN", ["input", "name"])]
    # The same name for another owner is fine: B, and the administrator.
    created(api, b_token, name="portal", role="RESELLER", expiresAt=in_days(1))
    created(api, name="Portal", role="ADMINISTRATOR")
    created(api, name="root", role="RESELLER", resellerId=b_id, expiresAt=in_days(1))
    assert sorted(names(api, b_token)) == ["other", "portal", "root"]


# --------------------------------------------------------------------------- listing


def test_api_tokens_newest_first_and_include_revoked(api: Api) -> None:
    for name in ("first", "second", "third"):
        created(api, name=name, role="ADMINISTRATOR")
    assert names(api) == ["third", "second", "first", "root"]
    assert revoke(api, token_id(api, "second"))["userErrors"] == []
    assert names(api) == ["third", "first", "root"]
    assert names(api, include_revoked=True) == ["third", "second", "first", "root"]
    listed = api.data(LIST, {"r": True})["apiTokens"]
    assert [t["revokedAt"] is not None for t in listed] == [False, True, False, False]
    # The argument defaults to false.
    assert [t["name"] for t in api.data("{ apiTokens { name } }")["apiTokens"]] == [
        "third",
        "first",
        "root",
    ]


def test_resellers_see_only_their_own_tokens(api: Api) -> None:
    a_id, a_token = reseller(api, "Reseller A", "a portal")
    _b_id, b_token = reseller(api, "Reseller B", "b portal")
    created(api, a_token, name="a second", role="RESELLER", expiresAt=in_days(5))
    created(api, name="a third", role="RESELLER", resellerId=a_id)
    created(api, name="ops", role="ADMINISTRATOR")
    assert names(api, a_token, include_revoked=True) == ["a third", "a second", "a portal"]
    assert names(api, b_token, include_revoked=True) == ["b portal"]
    assert set(names(api)) == {"root", "a portal", "b portal", "a second", "a third", "ops"}
    tokens = api.data("{ apiTokens { reseller { id } } }", token=a_token)["apiTokens"]
    assert tokens == [{"reseller": {"id": a_id}}] * 3
    # Through node(id:) too: another tenant's token is hidden.
    b_token_id = token_id(api, "b portal")
    query = "query($id: ID!) { node(id: $id) { id } }"
    assert api.data(query, {"id": b_token_id}, a_token) == {"node": None}


# --------------------------------------------------------------------------- revocation


def test_revocation(api: Api) -> None:
    a_id, a_token = reseller(api)
    victim = created(api, name="victim", role="RESELLER", resellerId=a_id)["apiToken"]
    payload = revoke(api, victim["id"])
    assert payload["userErrors"] == []
    revoked = payload["apiToken"]
    assert revoked["id"] == victim["id"]
    revoked_at = revoked["revokedAt"]
    assert revoked_at is not None and revoked_at.endswith("Z")
    events = api.data(EVENTS, {"id": victim["id"]})["auditEvents"]["nodes"]
    assert [e["action"] for e in events] == ["REVOKE", "CREATE"]
    event = events[0]
    assert event["objectType"] == "ApiToken"
    assert event["objectId"] == victim["id"]
    assert event["actorRole"] == "ADMINISTRATOR"
    assert event["actorTokenName"] == "root"
    assert set(event["changes"]) == {"revokedAt"}
    assert event["changes"]["revokedAt"]["before"] is None
    # The reseller sees the event on its token, with the administrator unnamed.
    seen = api.data(EVENTS, {"id": victim["id"]}, a_token)["auditEvents"]["nodes"]
    assert [(e["action"], e["actorTokenName"]) for e in seen] == [
        ("REVOKE", "administrator"),
        ("CREATE", "administrator"),
    ]
    # Revoking again changes nothing and writes no event.
    again = revoke(api, victim["id"])
    assert again["userErrors"] == []
    assert again["apiToken"]["revokedAt"] == revoked_at
    events = api.data(EVENTS, {"id": victim["id"]})["auditEvents"]["nodes"]
    assert [e["action"] for e in events] == ["REVOKE", "CREATE"]


def test_reseller_revokes_its_own_tokens(api: Api, settings: Settings) -> None:
    _a, a_token = reseller(api)
    spare = created(api, a_token, name="spare", role="RESELLER", expiresAt=in_days(3))
    with app_with(settings, api.admin_token, token_cache_seconds=0) as fresh:
        payload = revoke(fresh, spare["apiToken"]["id"], a_token)
        assert payload["userErrors"] == []
        assert payload["apiToken"]["revokedAt"] is not None
        response = fresh.post("{ viewer { role } }", token=spare["secret"])
        assert response.status_code == 401
    events = api.data(EVENTS, {"id": spare["apiToken"]["id"]}, a_token)["auditEvents"]["nodes"]
    assert [(e["action"], e["actorRole"], e["actorTokenName"]) for e in events] == [
        ("REVOKE", "RESELLER", "portal"),
        ("CREATE", "RESELLER", "portal"),
    ]


def test_revoking_what_is_not_yours_is_not_found(api: Api, settings: Settings) -> None:
    _a, a_token = reseller(api, "Reseller A", "a portal")
    _b, b_token = reseller(api, "Reseller B", "b portal")
    ops = created(api, name="ops", role="ADMINISTRATOR")["apiToken"]["id"]
    class_id = api.create_class(name="Some class")
    before = event_count(api)
    for target in (
        token_id(api, "b portal"),
        ops,
        token_id(api, "root"),
        to_global_id("ApiToken", 123456789),
        class_id,
        "garbage",
        "",
    ):
        payload = revoke(api, target, a_token)
        assert payload["apiToken"] is None
        assert errors_of(payload) == [("NOT_FOUND", ["input", "id"])], target
    assert event_count(api) == before
    assert names(api, include_revoked=False) == ["ops", "b portal", "a portal", "root"]
    with app_with(settings, api.admin_token, token_cache_seconds=0) as fresh:
        assert fresh.data("{ viewer { tokenName } }", token=b_token) == {
            "viewer": {"tokenName": "b portal"}
        }


def test_refused_creation_writes_no_event(api: Api) -> None:
    _a, a_token = reseller(api)
    before = event_count(api)
    create(api, a_token, name="x", role="ADMINISTRATOR", expiresAt=in_days(1))
    create(api, a_token, name="portal", role="RESELLER", expiresAt=in_days(1))
    create(api, name="root", role="ADMINISTRATOR")
    assert event_count(api) == before


def test_creation_is_audited_without_the_secret(api: Api, settings: Settings) -> None:
    a_id, a_token = reseller(api)
    payload = created(api, a_token, name="audited", role="RESELLER", expiresAt=in_days(7))
    events = api.data(EVENTS, {"id": payload["apiToken"]["id"]}, a_token)["auditEvents"]["nodes"]
    assert len(events) == 1
    event = events[0]
    assert event["action"] == "CREATE"
    assert event["changes"]["name"] == {"before": None, "after": "audited"}
    assert event["changes"]["role"] == {"before": None, "after": "RESELLER"}
    assert event["changes"]["reseller"] == {"before": None, "after": a_id}
    secret = payload["secret"]
    digest = hashlib.sha256(secret.encode()).hexdigest()
    text = json.dumps(audit_rows(settings), default=str)
    assert secret not in text and digest not in text
    assert secret[3:] not in text


# --------------------------------------------------------------------------- storage


def test_only_the_hash_is_stored(api: Api, settings: Settings) -> None:
    _a_id, a_token = reseller(api)
    secrets_ = {
        "admin made": created(api, name="admin made", role="ADMINISTRATOR")["secret"],
        "reseller made": created(
            api, a_token, name="reseller made", role="RESELLER", expiresAt=in_days(1)
        )["secret"],
        "portal": a_token,
        "root": api.admin_token,
    }
    rows = {row["name"]: row for row in token_rows(settings)}
    assert set(rows) == set(secrets_)
    dump = json.dumps(list(rows.values()), default=str)
    for name, secret in secrets_.items():
        assert rows[name]["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in dump
        assert secret[3:] not in dump


# --------------------------------------------------------------------------- routing (issue 13)


def _authentication_statements(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM api_token" in s and "token_hash" in s]


def test_secrets_name_their_tenant(api: Api, sql_statements: list[str]) -> None:
    """A secret carries its tenant (0: the administrator), and authentication looks the
    token up by tenant and hash: one shard of a distributed database."""
    reseller_id, reseller_secret = reseller(api)
    reseller_key = decode(reseller_id, "Customer")
    admin_secret = created(api, name="second", role="ADMINISTRATOR")["secret"]
    assert re.fullmatch(rf"bc_{reseller_key}\.[A-Za-z0-9_-]{{43}}", reseller_secret)
    assert re.fullmatch(r"bc_0\.[A-Za-z0-9_-]{43}", admin_secret)
    for secret in (reseller_secret, admin_secret):
        sql_statements.clear()
        assert api.data("{ viewer { role } }", token=secret)["viewer"]["role"]
        (lookup,) = _authentication_statements(sql_statements)
        assert "api_token.tenant_id =" in lookup, lookup


def test_a_secret_naming_another_tenant_is_refused(api: Api) -> None:
    """The tenant in a secret grants nothing: changed, the secret hashes to no row."""
    _a_id, a_secret = reseller(api)
    b_id, _b_secret = reseller(api, "Reseller B")
    b_key = decode(b_id, "Customer")
    random_part = a_secret.partition(".")[2]
    for forged in (f"bc_{b_key}.{random_part}", f"bc_0.{random_part}", f"bc_{random_part}"):
        response = api.post("{ viewer { role } }", token=forged)
        assert response.status_code == 401, response.text


def test_secrets_issued_before_they_named_a_tenant_still_work(
    api: Api, settings: Settings, sql_statements: list[str]
) -> None:
    """A secret of the earlier form (``bc_`` and the random part) authenticates by its
    hash alone."""
    reseller_id, _secret = reseller(api)
    legacy = "bc_" + secrets.token_urlsafe(32)

    async def work(conn: Any) -> None:
        statement = (
            token_table.update()
            .where(token_table.c.name == "portal")
            .values(token_hash=hashlib.sha256(legacy.encode()).hexdigest())
        )
        assert (await conn.execute(changeable(statement, CLI))).rowcount == 1

    run_as_cli(settings, work)
    sql_statements.clear()
    viewer = api.data("{ viewer { role reseller { id } } }", token=legacy)["viewer"]
    assert viewer == {"role": "RESELLER", "reseller": {"id": reseller_id}}
    (lookup,) = _authentication_statements(sql_statements)
    assert "api_token.tenant_id" not in lookup.partition("WHERE")[2], lookup
