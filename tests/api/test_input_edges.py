"""No INTERNAL from input (SPEC §7, issue 7 item 7): dates at the edges of the calendar,
integers at the edges of GraphQL's Int, decimals with too many digits, forged cursors and
IDs get a userError or BAD_USER_INPUT; and an unexpected database error is logged
without the statement's parameters."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from db.engine import make_engine, make_inline_read_engine
from db.settings import Settings
from tests.api_client import Api, World, without_cost
from tests.support.errors import errors_of

TOKEN = "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {"
TOKEN += " apiToken { expiresAt } userErrors { field code } } }"
INT32_MAX = 2**31 - 1


def top_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "expires_at",
    [
        "9999-12-31T23:59:59-14:00",  # after the last representable instant in UTC
        "9999-12-31T10:00:01-14:00",
        "0001-01-01T00:00:00+14:00",  # before the first one
        "0001-01-01T00:00:00+00:01",
    ],
)
def test_expiry_beyond_the_calendar_is_out_of_range(
    api: Api, world: World, expires_at: str
) -> None:
    cases = [
        ({"name": "edge", "role": "ADMINISTRATOR"}, None),
        ({"name": "edge", "role": "RESELLER", "resellerId": world.a.id}, None),
        ({"name": "edge", "role": "RESELLER"}, world.a.token),
    ]
    for data, token in cases:
        body = api.run(TOKEN, {"input": {**data, "expiresAt": expires_at}}, token)
        assert top_codes(body) == [], body
        payload = body["data"]["createApiToken"]
        assert errors_of(payload) == [("OUT_OF_RANGE", ["input", "expiresAt"])], (data, payload)


def test_the_last_instant_of_the_calendar_is_a_valid_expiry(api: Api, world: World) -> None:
    for expires_at in ("9999-12-31T23:59:59.999999Z", "9999-12-31T09:59:59-14:00"):
        payload = api.data(
            TOKEN, {"input": {"name": expires_at, "role": "ADMINISTRATOR", "expiresAt": expires_at}}
        )["createApiToken"]
        assert payload["userErrors"] == []
        assert payload["apiToken"]["expiresAt"].startswith("9999-12-31T")
    # A reseller's token may not outlive the token creating it: a userError, not INTERNAL.
    body = api.run(
        TOKEN,
        {"input": {"name": "far", "role": "RESELLER", "expiresAt": "9999-12-31T23:59:59Z"}},
        world.a.token,
    )
    assert errors_of(body["data"]["createApiToken"]) == [("OUT_OF_RANGE", ["input", "expiresAt"])]
    listed = api.data("{ apiTokens { name expiresAt } }")["apiTokens"]
    assert {t["name"] for t in listed} >= {"9999-12-31T23:59:59.999999Z"}


@pytest.mark.parametrize(
    "default",
    ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2027-01-01T00:00:00" + "0" * 80],
)
def test_date_time_custom_field_default_beyond_the_calendar_is_invalid(
    api: Api, default: str
) -> None:
    payload = api.mutate(
        "createCustomFieldDefinition",
        {"object": "CUSTOMER", "type": "DATE_TIME", "name": "Since", "defaultValue": default},
    )
    assert errors_of(payload) == [("INVALID", ["input", "defaultValue"])]


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("999999999999.999999", None),  # 12 integer digits, 6 decimals: the largest
        ("999999999999." + "9" * 30, "INVALID"),
        ("1" + "0" * 12, "INVALID"),  # 13 integer digits
        ("0" * 12 + "1", "INVALID"),  # leading zeros count as written
        ("1." + "0" * 40, "INVALID"),
        ("9" * 5_000, "INVALID"),
        ("1e999999", "INVALID"),
    ],
)
def test_decimals_with_many_digits(api: Api, value: str, code: str | None) -> None:
    payload = api.mutate(
        "createCustomerClass",
        {
            "name": "Money edge",
            "regularInvoices": {"pastDue": {"collectionThreshold": value}},
        },
    )
    path = ["input", "regularInvoices", "pastDue", "collectionThreshold"]
    assert errors_of(payload) == ([] if code is None else [(code, path)])


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"netDays": INT32_MAX + 1}, "BAD_USER_INPUT"),  # not a GraphQL Int
        ({"netDays": -(2**63)}, "BAD_USER_INPUT"),
        ({"netDays": 10**40}, "BAD_USER_INPUT"),
        ({"netDays": 1.5}, "BAD_USER_INPUT"),
        ({"netDays": INT32_MAX}, None),
        ({"netDays": -(2**31)}, None),
    ],
)
def test_integers_at_the_edges_of_int(
    api: Api, world: World, variables: dict[str, Any], code: str | None
) -> None:
    document = (
        "mutation($netDays: Int) { updateCustomerClass(input: {id: "
        f'"{world.admin_class_id}", regularInvoices: {{paymentTerms: {{netDays: $netDays}}}}}})'
        " { userErrors { field code } } }"
    )
    body = api.run(document, variables)
    if code is not None:
        assert top_codes(body) == [code], body
        return
    assert top_codes(body) == [], body
    path = ["input", "regularInvoices", "paymentTerms", "netDays"]
    assert errors_of(body["data"]["updateCustomerClass"]) == [("OUT_OF_RANGE", path)]


def test_integer_literals_beyond_int_are_refused_before_execution(api: Api, world: World) -> None:
    document = (
        f'mutation {{ updateCustomerClass(input: {{id: "{world.admin_class_id}",'
        f" expectedVersion: {INT32_MAX + 1}}}) {{ userErrors {{ code }} }} }}"
    )
    assert top_codes(api.run(document)) == ["GRAPHQL_VALIDATION_FAILED"]
    payload = api.mutate(
        "updateCustomerClass", {"id": world.admin_class_id, "expectedVersion": INT32_MAX}
    )
    assert errors_of(payload) == [("VERSION_CONFLICT", ["input", "expectedVersion"])]
    body = api.run(
        "query($n: Int!) { customerClasses(first: $n) { totalCount } }", {"n": INT32_MAX}
    )
    assert top_codes(body) == ["PAGE_TOO_LARGE"]


# --------------------------------------------------------------------------- cursors and IDs


def forged(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


def real_mark(api: Api, order: str) -> tuple[str, Any, int]:
    cursor = api.data(
        f"{{ customerClasses(first: 1, orderBy: {{field: {order}, direction: ASC}})"
        " { pageInfo { endCursor } } }"
    )["customerClasses"]["pageInfo"]["endCursor"]
    mark, value, key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return mark, value, key


def test_cursors_that_decode_to_odd_values_are_bad_user_input(api: Api, world: World) -> None:
    name_mark, _, key = real_mark(api, "NAME")
    created_mark, created, _ = real_mark(api, "CREATED_AT")
    count_mark, _, _ = real_mark(api, "CUSTOMER_COUNT")
    odd = [
        forged(name_mark, "a", 2**64),
        forged(name_mark, "a", -(2**63) - 1),
        forged(name_mark, "a", 1.5),
        forged(name_mark, ["a"], key),
        forged(name_mark, {"a": 1}, key),
        forged(name_mark, "a\u0000b", key),
        forged(created_mark, "9999-12-31T23:59:59-14:00", key),
        forged(created_mark, "0001-01-01T00:00:00+14:00", key),
        forged(created_mark, created[:19], key),  # naive
        forged(created_mark, "not a date", key),
        forged(count_mark, 2**40, key),
        forged(count_mark, -1, key),
        forged(count_mark, True, key),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
        forged(name_mark, "x" * 5_000, key),  # longer than any cursor the server writes
    ]
    for cursor in odd:
        for order in ("NAME", "CREATED_AT", "CUSTOMER_COUNT"):
            body = api.run(
                "query($c: String, $o: CustomerClassSortField!) { customerClasses("
                "after: $c, orderBy: {field: $o, direction: ASC}) { totalCount } }",
                {"c": cursor, "o": order},
            )
            assert top_codes(body) == ["BAD_USER_INPUT"], (cursor[:80], order, body)
    # A forged cursor with a plausible long name is just a position.
    page = api.data(
        "query($c: String) { customerClasses(after: $c) { totalCount } }",
        {"c": forged(name_mark, "\u00df" * 400, key)},
    )
    assert page["customerClasses"]["totalCount"] >= 1


@pytest.mark.parametrize(
    "raw",
    [
        base64.b64encode(b"CustomerClass:" + b"9" * 30).decode(),
        base64.b64encode(b"CustomerClass:-1").decode(),
        base64.b64encode(b"CustomerClass:0").decode(),
        base64.b64encode(b"CustomerClass:9223372036854775808").decode(),
        base64.b64encode(b"CustomerClass:\xd9\xa1").decode(),  # an Arabic-Indic digit
        base64.b64encode(b"Customer:1" * 40).decode(),
        "\u0345" * 100,
        "Q3VzdG9tZXJDbGFzczox" + "=" * 5_000,
    ],
)
def test_odd_ids_are_unknown_ids(api: Api, world: World, raw: str) -> None:
    body = api.run(
        "query($id: ID!) { node(id: $id) { id } customerClass(id: $id) { id }"
        " nodes(ids: [$id]) { id } }",
        {"id": raw},
    )
    assert without_cost(body) == {"data": {"node": None, "customerClass": None, "nodes": [None]}}
    # As a filter value it is malformed, not unknown: refused (issue 9).
    error = api.run("query($id: ID!) { auditEvents(objectId: $id) { totalCount } }", {"id": raw})
    assert error["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": ["objectId"]}
    payload = api.mutate("assignCustomerClass", {"customerId": raw, "customerClassId": None})
    assert errors_of(payload) == [("NOT_FOUND", ["input", "customerId"])]


def test_malformed_filter_values_are_refused_without_echo(api: Api, world: World) -> None:
    for currency in ("usd", "USDX", "\u0345" * 3, "U" * 30_000):
        body = api.run(
            "query($c: String) { customerClasses(filter: {currencyCode: $c}) { totalCount } }",
            {"c": currency},
            world.a.token,
        )
        [error] = body["errors"]
        assert error["extensions"] == {
            "code": "BAD_USER_INPUT",
            "field": ["filter", "currencyCode"],
        }
        assert currency not in error["message"]


# --------------------------------------------------------------------------- logs


SECRET = "s3cret-parameter-value"


def test_engines_hide_parameters_in_errors(settings: Settings) -> None:
    statement = sa.text("select * from no_such_table where name = :name")

    async def run_async() -> str:
        engine = make_engine(settings=settings)
        try:
            async with engine.connect() as conn:
                await conn.execute(statement, {"name": SECRET})
        except sa.exc.DBAPIError as error:
            return str(error)
        finally:
            await engine.dispose()
        raise AssertionError("the statement should fail")

    messages = [asyncio.run(run_async())]
    inline = make_inline_read_engine(settings)
    if inline is not None:
        with pytest.raises(sa.exc.DBAPIError) as raised, inline.connect() as conn:
            conn.execute(statement, {"name": SECRET})
        messages.append(str(raised.value))
        inline.dispose()
    for message in messages:
        assert "no_such_table" in message  # the statement is kept...
        assert SECRET not in message  # ...its values are not


def test_an_unexpected_database_error_logs_no_parameters(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing(conn: Any, *_args: Any, **_kwargs: Any) -> Any:
        # A unique violation: an unexpected error (INTERNAL) on both databases.
        return await conn.execute(
            sa.text("insert into currency (code, name, minor_units) values ('USD', :name, 2)"),
            {"name": SECRET},
        )

    monkeypatch.setattr("tenancy.tokens.list_tokens", failing)
    caplog.set_level(logging.INFO)
    body = api.run("{ apiTokens { id } }")
    assert top_codes(body) == ["INTERNAL"], body
    assert "insert into currency" in caplog.text  # the failure is logged...
    assert SECRET not in caplog.text  # ...without the client's values
