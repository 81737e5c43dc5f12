"""assignCustomerClass: every rule of SPEC §4 with its exact code and field, from the
administrator's side and from both resellers' sides, and what the class side shows after."""

from __future__ import annotations

from typing import Any

import pytest

from tenancy import policy
from tenancy.principal import Principal, Role
from tests.api.customer_support import (
    create_business_model,
    customer,
    customer_class,
    customer_ids,
    events,
    gid,
    state,
)
from tests.api_client import Api, World, shown
from tests.support.errors import errors_of

SELECTION = "customer { id customerClass { id } }"
CUSTOMER_FIELD = ["input", "customerId"]
CLASS_FIELD = ["input", "customerClassId"]


def assign(
    api: Api, customer_id: str, class_id: str | None, token: str | None = None
) -> dict[str, Any]:
    return api.mutate(
        "assignCustomerClass",
        {"customerId": customer_id, "customerClassId": class_id},
        token,
        SELECTION,
    )


def class_of(api: Api, customer_id: str) -> str:
    found: str = shown(customer(api, customer_id, selection="customerClass { id }"))[
        "customerClass"
    ]["id"]
    return found


def refused(
    api: Api,
    customer_id: str,
    class_id: str | None,
    token: str | None,
    expected: list[tuple[str, list[str]]],
) -> None:
    """The assignment is refused with exactly these errors and changes nothing."""
    before = state(api)
    payload = assign(api, customer_id, class_id, token)
    assert errors_of(payload) == expected
    assert payload["customer"] is None
    assert state(api) == before


# --------------------------------------------------------------------------- success


def test_admin_assigns_admin_class_to_direct_customer(world: World, api: Api) -> None:
    direct = api.create_customer(name="Direct")
    payload = assign(api, direct, world.admin_class_id)
    assert payload["userErrors"] == []
    assert payload["customer"] == {"id": direct, "customerClass": {"id": world.admin_class_id}}
    assert class_of(api, direct) == world.admin_class_id


def test_admin_assigns_admin_class_to_direct_reseller(world: World, api: Api) -> None:
    payload = assign(api, world.a.id, world.admin_class_id)
    assert payload["userErrors"] == []
    assert class_of(api, world.a.id) == world.admin_class_id


def test_admin_assigns_shared_class_to_reseller_customer(world: World, api: Api) -> None:
    payload = assign(api, world.a.customer_id, world.shared_class_id)
    assert payload["userErrors"] == []
    assert class_of(api, world.a.customer_id) == world.shared_class_id
    # and to a customer of a sub-reseller
    sub = api.create_reseller("Sub", world.a.id)
    deep = api.create_customer(name="Deep", parentId=sub)
    assert assign(api, deep, world.shared_class_id)["userErrors"] == []


def test_reseller_assigns_own_and_shared_classes(world: World, api: Api) -> None:
    other = api.create_class(world.a.token, name="A second class", currencyCode="USD")
    for class_id in (other, world.shared_class_id, world.default_class_id, world.a.class_id):
        payload = assign(api, world.a.customer_id, class_id, world.a.token)
        assert payload["userErrors"] == []
        assert payload["customer"]["customerClass"] == {"id": class_id}
        assert class_of(api, world.a.customer_id) == class_id


def test_null_class_assigns_default(world: World, api: Api) -> None:
    payload = assign(api, world.a.customer_id, None, world.a.token)
    assert payload["userErrors"] == []
    assert payload["customer"]["customerClass"] == {"id": world.default_class_id}
    # The administrator too, for a direct customer.
    direct = api.create_customer(name="Direct", customerClassId=world.admin_class_id)
    assert assign(api, direct, None)["customer"]["customerClass"] == {"id": world.default_class_id}


def test_omitted_class_assigns_default(world: World, api: Api) -> None:
    """The code's choice: an omitted customerClassId reads like null (the Default class)."""
    payload = api.mutate(
        "assignCustomerClass", {"customerId": world.b.customer_id}, world.b.token, SELECTION
    )
    assert payload["userErrors"] == []
    assert payload["customer"]["customerClass"] == {"id": world.default_class_id}


def test_class_without_currency_fits_any_customer(world: World, api: Api) -> None:
    anything = api.create_class(world.a.token, name="A any currency")
    euro = api.create_customer(world.a.token, name="Euro", currencyCode="EUR")
    assert assign(api, euro, anything, world.a.token)["userErrors"] == []
    assert assign(api, world.a.customer_id, anything, world.a.token)["userErrors"] == []


def test_assign_writes_assign_event_on_the_customer(world: World, api: Api) -> None:
    payload = assign(api, world.a.customer_id, world.shared_class_id, world.a.token)
    assert payload["userErrors"] == []
    found = events(api, world.a.customer_id)
    assert [e["action"] for e in found] == ["ASSIGN", "CREATE"]
    event = found[0]
    assert event["objectId"] == world.a.customer_id
    assert event["objectType"] == "Customer"
    assert event["actorRole"] == "RESELLER"
    assert event["actorTokenName"] == "Reseller A token"
    assert event["changes"] == {
        "customerClass": {"before": world.a.class_id, "after": world.shared_class_id}
    }
    # Tenant: the customer's parent.
    assert [e["action"] for e in events(api, world.a.customer_id, world.a.token)] == [
        "ASSIGN",
        "CREATE",
    ]
    assert events(api, world.a.customer_id, world.b.token) == []


def test_admin_assignment_event_is_anonymous_to_the_reseller(world: World, api: Api) -> None:
    assert assign(api, world.b.customer_id, world.shared_class_id)["userErrors"] == []
    seen = events(api, world.b.customer_id, world.b.token)[0]
    assert seen["action"] == "ASSIGN"
    assert seen["actorRole"] == "ADMINISTRATOR"
    assert seen["actorTokenName"] == "administrator"
    assert seen["actorReseller"] is None
    # Assigning the reseller's own record: tenant null, so the reseller does not see it.
    assert assign(api, world.b.id, world.admin_class_id)["userErrors"] == []
    assert [e["action"] for e in events(api, world.b.id)] == ["ASSIGN", "CREATE"]
    assert events(api, world.b.id, world.b.token) == []


def test_business_model_change_is_audited(api: Api) -> None:
    first_model, second_model = create_business_model(api), create_business_model(api)
    first = api.create_class(name="Model one", businessModelId=first_model)
    second = api.create_class(name="Model two", businessModelId=second_model)
    plain = api.create_class(name="No model")
    direct = api.create_customer(name="Direct", customerClassId=first)
    assert assign(api, direct, second)["userErrors"] == []
    assert events(api, direct)[0]["changes"] == {
        "customerClass": {"before": first, "after": second},
        "businessModel": {"before": first_model, "after": second_model},
    }
    assert assign(api, direct, plain)["userErrors"] == []
    assert events(api, direct)[0]["changes"]["businessModel"] == {
        "before": second_model,
        "after": None,
    }


def test_assigning_the_same_class_again_writes_nothing(world: World, api: Api) -> None:
    before = state(api)
    payload = assign(api, world.a.customer_id, world.a.class_id, world.a.token)
    assert payload["userErrors"] == []
    assert payload["customer"]["customerClass"] == {"id": world.a.class_id}
    assert state(api) == before
    # Null when the customer already has the Default class.
    direct = api.create_customer(name="Direct")
    before = state(api)
    assert assign(api, direct, None)["userErrors"] == []
    assert state(api) == before


def test_assignment_does_not_touch_the_class(world: World, api: Api) -> None:
    query = "query($id: ID!) { customerClass(id: $id) { version updatedAt } }"
    before = api.data(query, {"id": world.shared_class_id})
    assert (
        assign(api, world.a.customer_id, world.shared_class_id, world.a.token)["userErrors"] == []
    )
    assert api.data(query, {"id": world.shared_class_id}) == before


# --------------------------------------------------------------------------- refusals


def test_currency_mismatch(world: World, api: Api) -> None:
    euro_class = api.create_class(name="Euro", currencyCode="EUR")
    direct = api.create_customer(name="Direct")
    refused(api, direct, euro_class, None, [("CURRENCY_MISMATCH", CLASS_FIELD)])
    a_euro = api.create_class(world.a.token, name="A euro", currencyCode="EUR")
    refused(api, world.a.customer_id, a_euro, world.a.token, [("CURRENCY_MISMATCH", CLASS_FIELD)])
    euro_shared = api.create_class(name="Euro shared", currencyCode="EUR", sharedWithResellers=True)
    refused(
        api, world.a.customer_id, euro_shared, world.a.token, [("CURRENCY_MISMATCH", CLASS_FIELD)]
    )


def test_admin_private_class_to_reseller_customer_is_ownership_mismatch(
    world: World, api: Api
) -> None:
    refused(
        api, world.a.customer_id, world.admin_class_id, None, [("OWNERSHIP_MISMATCH", CLASS_FIELD)]
    )
    sub = api.create_reseller("Sub", world.a.id)
    refused(api, sub, world.admin_class_id, None, [("OWNERSHIP_MISMATCH", CLASS_FIELD)])


def test_currency_and_ownership_reported_together(world: World, api: Api) -> None:
    euro_private = api.create_class(name="Euro private", currencyCode="EUR")
    refused(
        api,
        world.a.customer_id,
        euro_private,
        None,
        [("CURRENCY_MISMATCH", CLASS_FIELD), ("OWNERSHIP_MISMATCH", CLASS_FIELD)],
    )


def test_admin_cannot_assign_reseller_class(world: World, api: Api) -> None:
    # Not even to that reseller's own customer, and whatever else would be wrong.
    refused(api, world.a.customer_id, world.a.class_id, None, [("NOT_PERMITTED", CLASS_FIELD)])
    refused(api, world.b.customer_id, world.a.class_id, None, [("NOT_PERMITTED", CLASS_FIELD)])
    direct = api.create_customer(name="Direct", currencyCode="EUR")
    refused(api, direct, world.a.class_id, None, [("NOT_PERMITTED", CLASS_FIELD)])


def test_reseller_cannot_assign_its_own_record(world: World, api: Api) -> None:
    for class_id in (world.a.class_id, world.shared_class_id, None):
        refused(api, world.a.id, class_id, world.a.token, [("NOT_PERMITTED", CUSTOMER_FIELD)])


def test_reseller_class_to_another_parent_is_ownership_mismatch() -> None:
    """Rule 3, reseller-managed class: unreachable through the API (a customer of another
    parent is hidden from R, and administrators never assign R's classes), so checked on
    the policy function that the API uses."""
    reseller_r, other = 101, 202

    class Row:
        tenant_id = reseller_r
        currency_code = "USD"
        shared_with_resellers = False

    principal = Principal(role=Role.RESELLER, reseller_id=reseller_r, token_id=1, token_name="t")
    assert policy.assignment_problems(principal, Row, other, "USD") == ["OWNERSHIP_MISMATCH"]
    assert policy.assignment_problems(principal, Row, None, "EUR") == [
        "CURRENCY_MISMATCH",
        "OWNERSHIP_MISMATCH",
    ]
    assert policy.assignment_problems(principal, Row, reseller_r, "USD") == []


def test_hidden_customer_is_not_found(world: World, api: Api) -> None:
    sub = api.create_reseller("Sub of A", world.a.id)
    deep = api.create_customer(name="Deep", parentId=sub)
    direct = api.create_customer(name="Direct")
    for hidden in (
        world.b.customer_id,
        world.b.id,
        deep,
        direct,
        gid("Customer", 9),
        "junk",
        world.a.class_id,
    ):
        refused(api, hidden, world.shared_class_id, world.a.token, [("NOT_FOUND", CUSTOMER_FIELD)])
    # Also for the administrator, with unknown ids.
    for unknown in (gid("Customer", 9), "junk", world.shared_class_id):
        refused(api, unknown, world.shared_class_id, None, [("NOT_FOUND", CUSTOMER_FIELD)])


def test_hidden_class_is_not_found(world: World, api: Api) -> None:
    sub = api.create_reseller("Sub of A", world.a.id)
    sub_token = api.reseller_token(sub, "sub token")
    sub_class = api.create_class(sub_token, name="Sub class", currencyCode="USD")
    for hidden in (
        world.b.class_id,
        world.admin_class_id,
        sub_class,
        gid("CustomerClass", 3),
        "junk",
        world.a.customer_id,
    ):
        refused(api, world.a.customer_id, hidden, world.a.token, [("NOT_FOUND", CLASS_FIELD)])
    refused(api, world.a.customer_id, gid("CustomerClass", 3), None, [("NOT_FOUND", CLASS_FIELD)])


def test_hidden_customer_and_class_both_reported(world: World, api: Api) -> None:
    refused(
        api,
        world.b.customer_id,
        world.b.class_id,
        world.a.token,
        [("NOT_FOUND", CUSTOMER_FIELD), ("NOT_FOUND", CLASS_FIELD)],
    )


def test_not_found_comes_before_not_permitted(world: World, api: Api) -> None:
    # Own record (NOT_PERMITTED) with a hidden class: only NOT_FOUND.
    refused(api, world.a.id, world.b.class_id, world.a.token, [("NOT_FOUND", CLASS_FIELD)])
    # Own record with a class of the wrong currency: only NOT_PERMITTED.
    euro = api.create_class(world.a.token, name="A euro", currencyCode="EUR")
    refused(api, world.a.id, euro, world.a.token, [("NOT_PERMITTED", CUSTOMER_FIELD)])


def test_refusal_writes_no_event(world: World, api: Api) -> None:
    before = events(api)
    assign(api, world.a.customer_id, world.admin_class_id)
    assign(api, world.a.customer_id, world.b.class_id, world.a.token)
    assign(api, world.a.id, None, world.a.token)
    assert events(api) == before


def test_failed_field_does_not_undo_another_field(world: World, api: Api) -> None:
    """Each root field runs in its own savepoint: the refused one changes nothing, the
    accepted one is kept."""
    query = """
      mutation($good: AssignCustomerClassInput!, $bad: AssignCustomerClassInput!) {
        good: assignCustomerClass(input: $good) { customer { id } userErrors { code } }
        bad: assignCustomerClass(input: $bad) { customer { id } userErrors { code field } }
      }"""
    direct = api.create_customer(name="Direct")
    data = api.data(
        query,
        {
            "good": {"customerId": direct, "customerClassId": world.admin_class_id},
            "bad": {"customerId": world.a.customer_id, "customerClassId": world.admin_class_id},
        },
    )
    assert data["good"]["userErrors"] == []
    assert data["bad"]["userErrors"] == [{"code": "OWNERSHIP_MISMATCH", "field": CLASS_FIELD}]
    assert class_of(api, direct) == world.admin_class_id
    assert class_of(api, world.a.customer_id) == world.a.class_id


# --------------------------------------------------------------------------- class side


def test_counts_and_customers_follow_assignment(world: World, api: Api) -> None:
    a_second = api.create_customer(world.a.token, name="A second")
    b_second = api.create_customer(world.b.token, name="B second")
    direct = api.create_customer(name="Direct")
    for customer_id, token in (
        (a_second, world.a.token),
        (b_second, world.b.token),
        (direct, None),
        (world.a.customer_id, world.a.token),
    ):
        assert assign(api, customer_id, world.shared_class_id, token)["userErrors"] == []
    as_admin = shown(customer_class(api, world.shared_class_id))
    assert as_admin["customerCount"] == 4
    assert as_admin["customers"]["totalCount"] == 4
    assert {n["id"] for n in as_admin["customers"]["nodes"]} == {
        a_second,
        b_second,
        direct,
        world.a.customer_id,
    }
    as_a = shown(customer_class(api, world.shared_class_id, world.a.token))
    assert as_a["customerCount"] == 2
    assert as_a["customers"]["totalCount"] == 2
    assert {n["id"] for n in as_a["customers"]["nodes"]} == {a_second, world.a.customer_id}
    as_b = shown(customer_class(api, world.shared_class_id, world.b.token))
    assert as_b["customerCount"] == 1
    assert as_b["customers"]["nodes"] == [{"id": b_second}]
    # A's class lost its only customer.
    assert shown(customer_class(api, world.a.class_id, world.a.token))["customerCount"] == 0
    assert shown(customer_class(api, world.a.class_id))["customers"] == {
        "totalCount": 0,
        "nodes": [],
    }
    # The customers filter agrees.
    assert set(customer_ids(api, world.a.token, customerClassId=world.shared_class_id)) == {
        a_second,
        world.a.customer_id,
    }


def test_counts_in_the_class_list_are_per_caller(world: World, api: Api) -> None:
    api.create_customer(world.b.token, name="B shared", customerClassId=world.shared_class_id)
    api.create_customer(world.b.token, name="B shared 2", customerClassId=world.shared_class_id)
    query = "{ customerClasses(first: 100) { nodes { id customerCount } } }"

    def counts(token: str | None) -> dict[str, int]:
        nodes = api.data(query, token=token)["customerClasses"]["nodes"]
        return {n["id"]: n["customerCount"] for n in nodes}

    assert counts(None)[world.shared_class_id] == 2
    assert counts(world.b.token)[world.shared_class_id] == 2
    assert counts(world.a.token)[world.shared_class_id] == 0
    # The Default class counts the reseller's own record for that reseller only.
    assert counts(world.a.token)[world.default_class_id] == 1
    assert counts(None)[world.default_class_id] == 2


def test_class_customers_pagination(world: World, api: Api) -> None:
    ids = [
        api.create_customer(
            world.a.token, name=f"Member {i}", customerClassId=world.shared_class_id
        )
        for i in range(5)
    ]
    api.create_customer(world.b.token, name="Member B", customerClassId=world.shared_class_id)
    query = """query($id: ID!, $after: String) { customerClass(id: $id) {
      customers(first: 2, after: $after) {
        totalCount nodes { id name } pageInfo { hasNextPage hasPreviousPage endCursor } } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = api.data(query, {"id": world.shared_class_id, "after": after}, world.a.token)[
            "customerClass"
        ]["customers"]
        assert page["totalCount"] == 5
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ids  # names Member 0..4 in order


def test_other_reseller_sees_nothing_of_the_assignment(world: World, api: Api) -> None:
    assert (
        assign(api, world.a.customer_id, world.shared_class_id, world.a.token)["userErrors"] == []
    )
    assert customer(api, world.a.customer_id, world.b.token) is None
    as_b = shown(customer_class(api, world.shared_class_id, world.b.token))
    assert as_b["customerCount"] == 0
    assert as_b["customers"] == {"totalCount": 0, "nodes": []}
    assert events(api, world.a.customer_id, world.b.token) == []


@pytest.mark.parametrize("side", ["admin", "reseller"])
def test_moving_between_classes_updates_both_counts(world: World, api: Api, side: str) -> None:
    token = None if side == "admin" else world.a.token
    other = (
        api.create_class(name="Other shared", currencyCode="USD", sharedWithResellers=True)
        if side == "admin"
        else api.create_class(world.a.token, name="A other", currencyCode="USD")
    )
    start = world.shared_class_id
    assert assign(api, world.a.customer_id, start, token)["userErrors"] == []
    assert shown(customer_class(api, start, token))["customerCount"] == 1
    assert assign(api, world.a.customer_id, other, token)["userErrors"] == []
    assert shown(customer_class(api, start, token))["customerCount"] == 0
    assert shown(customer_class(api, other, token))["customerCount"] == 1
