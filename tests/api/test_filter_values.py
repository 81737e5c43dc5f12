"""Malformed filter values are refused, never a silent empty page (issue 9): a currency
code that is not an upper-case ISO 4217 code (SPEC §3), an ID that does not decode or
is of another type, in every filter of every list query. The error is a top-level
BAD_USER_INPUT on the list field, with ``extensions.field`` naming the argument. An ID
that decodes to the right type but is unknown or hidden still matches nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.listing_support import create_catalogs, gid, type_of
from tests.api_client import Api, World

CLASSES = """query($filter: CustomerClassFilter) {
  customerClasses(filter: $filter) { totalCount nodes { id } } }"""
CLASS_COUNT = (
    "query($filter: CustomerClassFilter) { customerClasses(filter: $filter) { totalCount } }"
)
CUSTOMERS = """query($filter: CustomerFilter) {
  customers(filter: $filter) { totalCount nodes { id } } }"""
EVENTS = "query($id: ID) { auditEvents(objectId: $id) { totalCount nodes { id } } }"

UNDECODABLE = [
    "garbage",
    "",
    "Q3VzdG9tZXI6YWJj",  # "Customer:abc"
    "Q3VzdG9tZXI6MQ",  # "Customer:1" without its padding: not the canonical ID
    gid("Customer", 0),
    gid("Customer", 2**63),
    "x" * 101,
]


def refusal(api: Api, query: str, variables: dict[str, Any], token: str | None) -> dict[str, Any]:
    body = api.run(query, variables, token)
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return dict(error)


def assert_refused(
    api: Api,
    world: World,
    query: str,
    variables: dict[str, Any],
    field: list[str],
    root: str,
) -> None:
    for token in (None, world.a.token, world.b.token):
        error = refusal(api, query, variables, token)
        assert error["path"] == [root]
        assert error["extensions"]["field"] == field
        assert ".".join(field) in error["message"]


# --------------------------------------------------------------------------- currencyCode


@pytest.mark.parametrize(
    "code", ["usd", "Usd", "US", "EURO", " USD", "USD ", "U5D", "ÜSD", "\uff35\uff33\uff24"]
)
def test_malformed_currency_code_is_bad_user_input(api: Api, world: World, code: str) -> None:
    variables = {"filter": {"currencyCode": code}}
    assert_refused(api, world, CLASSES, variables, ["filter", "currencyCode"], "customerClasses")
    # Also when only the count is asked for (no page is read then).
    assert_refused(
        api, world, CLASS_COUNT, variables, ["filter", "currencyCode"], "customerClasses"
    )


@pytest.mark.parametrize("code", ["XYZ", "ZZZ", "XXX"])
def test_well_formed_unknown_currency_code_matches_nothing(
    api: Api, world: World, code: str
) -> None:
    api.create_class(name="Euro plan", currencyCode="EUR")
    found = api.data(CLASSES, {"filter": {"currencyCode": code}})["customerClasses"]
    assert found == {"totalCount": 0, "nodes": []}


def test_known_and_empty_currency_codes_still_filter(api: Api, world: World) -> None:
    euro = api.create_class(name="Euro plan", currencyCode="EUR")
    found = api.data(CLASSES, {"filter": {"currencyCode": "EUR"}})["customerClasses"]
    assert found == {"totalCount": 1, "nodes": [{"id": euro}]}
    assert api.data(CLASSES, {"filter": {"currencyCode": ""}})["customerClasses"]["totalCount"]


# --------------------------------------------------------------------------- customerClasses IDs


@pytest.mark.parametrize("bad_id", UNDECODABLE)
def test_undecodable_business_model_id_is_bad_user_input(
    api: Api, world: World, bad_id: str
) -> None:
    variables = {"filter": {"businessModelId": bad_id}}
    assert_refused(api, world, CLASSES, variables, ["filter", "businessModelId"], "customerClasses")


def test_business_model_id_of_another_type_is_bad_user_input(api: Api, world: World) -> None:
    refs = create_catalogs(api)
    for other in (refs["InvoiceTemplate"], world.admin_class_id, world.a.id):
        variables = {"filter": {"businessModelId": other}}
        field = ["filter", "businessModelId"]
        assert_refused(api, world, CLASSES, variables, field, "customerClasses")


@pytest.mark.parametrize("bad_id", [*UNDECODABLE, "wrong type"])
@pytest.mark.parametrize("kind", ["RESELLER", "ADMINISTRATOR"])
def test_malformed_managing_reseller_id_is_bad_user_input(
    api: Api, world: World, bad_id: str, kind: str
) -> None:
    reseller_id = world.a.class_id if bad_id == "wrong type" else bad_id
    variables = {"filter": {"managedBy": {"kind": kind, "resellerId": reseller_id}}}
    field = ["filter", "managedBy", "resellerId"]
    assert_refused(api, world, CLASSES, variables, field, "customerClasses")


def test_well_formed_unknown_or_hidden_ids_still_match_nothing_in_class_filters(
    api: Api, world: World
) -> None:
    for filter_ in (
        {"businessModelId": gid("BusinessModel", 123456789)},
        {"managedBy": {"kind": "RESELLER", "resellerId": gid("Customer", 987654321)}},
        {"managedBy": {"kind": "RESELLER", "resellerId": world.a.customer_id}},  # retail
    ):
        found = api.data(CLASSES, {"filter": filter_})["customerClasses"]
        assert found == {"totalCount": 0, "nodes": []}, filter_
    # Another reseller's ID, from reseller A's side: nothing, exactly as an unknown one.
    other = {"managedBy": {"kind": "RESELLER", "resellerId": world.b.id}}
    found = api.data(CLASSES, {"filter": other}, world.a.token)["customerClasses"]
    assert found == {"totalCount": 0, "nodes": []}


# --------------------------------------------------------------------------- customers IDs


@pytest.mark.parametrize("bad_id", UNDECODABLE)
@pytest.mark.parametrize("key", ["parentId", "customerClassId"])
def test_undecodable_customer_filter_ids_are_bad_user_input(
    api: Api, world: World, bad_id: str, key: str
) -> None:
    assert_refused(api, world, CUSTOMERS, {"filter": {key: bad_id}}, ["filter", key], "customers")


@pytest.mark.parametrize("key", ["parentId", "customerClassId"])
def test_customer_filter_ids_of_another_type_are_bad_user_input(
    api: Api, world: World, key: str
) -> None:
    refs = create_catalogs(api)
    right = "Customer" if key == "parentId" else "CustomerClass"
    for other in (world.a.id, world.a.class_id, refs["BusinessModel"]):
        if type_of(other) == right:
            continue
        variables = {"filter": {key: other}}
        assert_refused(api, world, CUSTOMERS, variables, ["filter", key], "customers")


def test_well_formed_unknown_or_hidden_ids_still_match_nothing_in_customer_filters(
    api: Api, world: World
) -> None:
    for filter_ in (
        {"parentId": gid("Customer", 987654321)},
        {"customerClassId": gid("CustomerClass", 987654321)},
    ):
        for token in (None, world.a.token):
            found = api.data(CUSTOMERS, {"filter": filter_}, token)["customers"]
            assert found == {"totalCount": 0, "nodes": []}, filter_
    # B's records, from A's side: hidden, so nothing.
    for filter_ in ({"parentId": world.b.id}, {"customerClassId": world.b.class_id}):
        found = api.data(CUSTOMERS, {"filter": filter_}, world.a.token)["customers"]
        assert found == {"totalCount": 0, "nodes": []}, filter_


# --------------------------------------------------------------------------- auditEvents


@pytest.mark.parametrize("bad_id", UNDECODABLE)
def test_undecodable_audit_object_id_is_bad_user_input(api: Api, world: World, bad_id: str) -> None:
    assert_refused(api, world, EVENTS, {"id": bad_id}, ["objectId"], "auditEvents")


def test_audit_object_id_of_any_type_is_accepted(api: Api, world: World) -> None:
    # Events name objects of every type, deleted ones included: any decodable ID filters.
    assert api.data(EVENTS, {"id": world.a.class_id})["auditEvents"]["totalCount"] == 1
    for unknown in (gid("Customer", 987654321), gid("Anything", 1)):
        found = api.data(EVENTS, {"id": unknown})["auditEvents"]
        assert found == {"totalCount": 0, "nodes": []}
    # Hidden from B: nothing, exactly as an unknown object.
    found = api.data(EVENTS, {"id": world.a.class_id}, world.b.token)["auditEvents"]
    assert found == {"totalCount": 0, "nodes": []}


def test_name_contains_too_long_names_its_field(api: Api, world: World) -> None:
    variables = {"filter": {"nameContains": "x" * 101}}
    error = refusal(api, CLASSES, variables, None)
    assert error["extensions"]["field"] == ["filter", "nameContains"]
    error = refusal(api, CUSTOMERS, variables, world.a.token)
    assert error["extensions"]["field"] == ["filter", "nameContains"]
