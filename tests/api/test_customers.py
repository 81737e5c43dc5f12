"""createCustomer, customer(id:), customers(filter:) and the Customer type's nested fields,
from the administrator's side and from both resellers' sides (SPEC §1, §2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.customer_support import (
    CUSTOMER,
    create_business_model,
    customer,
    customer_class,
    customer_ids,
    customers,
    events,
    gid,
    state,
)
from tests.api_client import Api, World, shown
from tests.support.errors import errors_of

CREATE_SELECTION = f"customer {{ {CUSTOMER} createdAt }}"


def create(api: Api, input_: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    return api.mutate("createCustomer", input_, token, CREATE_SELECTION)


# --------------------------------------------------------------------------- create: admin


def test_admin_creates_direct_customer_with_default_class(api: Api) -> None:
    default_id = api.default_class_id()
    payload = create(api, {"name": "  Acme  ", "currencyCode": "EUR"})
    assert payload["userErrors"] == []
    created = payload["customer"]
    assert created["name"] == "Acme"  # stripped
    assert created["customerType"] == "RETAIL"  # the input's default
    assert created["currency"] == {"code": "EUR"}
    assert created["parent"] is None
    assert created["customerClass"]["id"] == default_id
    assert created["createdAt"].endswith(("Z", "+00:00"))
    assert customer(api, created["id"]) == {k: created[k] for k in created if k != "createdAt"}


def test_admin_creates_direct_reseller_and_customers_under_any_reseller(
    world: World, api: Api
) -> None:
    reseller = create(api, {"name": "Direct R", "customerType": "RESELLER", "currencyCode": "USD"})
    assert reseller["userErrors"] == []
    assert reseller["customer"]["customerType"] == "RESELLER"
    assert reseller["customer"]["parent"] is None
    for parent in (world.a, world.b):
        payload = create(
            api, {"name": f"Under {parent.name}", "currencyCode": "USD", "parentId": parent.id}
        )
        assert payload["userErrors"] == []
        assert payload["customer"]["parent"] == {"id": parent.id, "name": parent.name}
        assert payload["customer"]["customerClass"]["id"] == world.default_class_id
        # The parent reseller sees it.
        seen = shown(customer(api, payload["customer"]["id"], parent.token))
        assert seen["parent"] == {"id": parent.id, "name": parent.name}


def test_admin_creates_with_a_class(world: World, api: Api) -> None:
    payload = create(
        api, {"name": "Classy", "currencyCode": "USD", "customerClassId": world.admin_class_id}
    )
    assert payload["userErrors"] == []
    assert payload["customer"]["customerClass"]["id"] == world.admin_class_id
    # A shared administrator class may go to a reseller's customer.
    payload = create(
        api,
        {
            "name": "Shared",
            "currencyCode": "USD",
            "parentId": world.a.id,
            "customerClassId": world.shared_class_id,
        },
    )
    assert payload["userErrors"] == []
    assert payload["customer"]["customerClass"]["id"] == world.shared_class_id


def test_admin_create_unknown_parent_is_not_found(world: World, api: Api) -> None:
    before = state(api)
    for bad in (gid("Customer", 12345), "garbage", world.admin_class_id):
        payload = create(api, {"name": "X", "currencyCode": "USD", "parentId": bad})
        assert errors_of(payload) == [("NOT_FOUND", ["input", "parentId"])]
        assert payload["customer"] is None
    assert state(api) == before


def test_parent_must_be_a_reseller(world: World, api: Api) -> None:
    retail = api.create_customer(name="Retail parent")
    before = state(api)
    payload = create(api, {"name": "Child", "currencyCode": "USD", "parentId": retail})
    assert errors_of(payload) == [("INVALID", ["input", "parentId"])]
    # A reseller's retail customer is no parent either.
    payload = create(api, {"name": "Child", "currencyCode": "USD", "parentId": world.a.customer_id})
    assert errors_of(payload) == [("INVALID", ["input", "parentId"])]
    assert state(api) == before


def test_at_most_three_reseller_levels(api: Api) -> None:
    level1 = api.create_reseller("Level 1")
    level2 = api.create_reseller("Level 2", level1)
    level3 = api.create_reseller("Level 3", level2)
    before = state(api)
    payload = create(
        api,
        {"name": "Level 4", "customerType": "RESELLER", "currencyCode": "USD", "parentId": level3},
    )
    assert errors_of(payload) == [("INVALID", ["input", "customerType"])]
    assert state(api) == before
    # A retail customer of the third level is fine.
    retail = create(api, {"name": "Leaf", "currencyCode": "USD", "parentId": level3})
    assert retail["userErrors"] == []
    # The third-level reseller itself cannot nest further either.
    token3 = api.reseller_token(level3, "level 3 token")
    payload = create(api, {"name": "L4", "customerType": "RESELLER", "currencyCode": "USD"}, token3)
    assert errors_of(payload) == [("INVALID", ["input", "customerType"])]
    # The second level still can (that makes a third level).
    token2 = api.reseller_token(level2, "level 2 token")
    payload = create(
        api, {"name": "Another L3", "customerType": "RESELLER", "currencyCode": "USD"}, token2
    )
    assert payload["userErrors"] == []
    assert payload["customer"]["parent"]["id"] == level2


@pytest.mark.parametrize("code", ["XXX", "usd", "", "US", "USDD"])
def test_unknown_currency_is_invalid(api: Api, code: str) -> None:
    before = state(api)
    payload = create(api, {"name": "Money", "currencyCode": code})
    assert errors_of(payload) == [("INVALID", ["input", "currencyCode"])]
    assert state(api) == before


def test_currency_with_other_minor_units(api: Api) -> None:
    payload = create(api, {"name": "Yen", "currencyCode": "JPY"})
    assert payload["userErrors"] == []
    assert customer(api, payload["customer"]["id"], selection="currency { code minorUnits }") == {
        "currency": {"code": "JPY", "minorUnits": 0}
    }


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "REQUIRED"),
        ("   ", "REQUIRED"),
        ("\t\n ", "REQUIRED"),
        ("a" * 101, "TOO_LONG"),
        ("bad\x00name", "INVALID"),
        ("bad\x07name", "INVALID"),
        ("line\nbreak", "INVALID"),
    ],
)
def test_name_rules(api: Api, name: str, code: str) -> None:
    before = state(api)
    payload = create(api, {"name": name, "currencyCode": "USD"})
    assert errors_of(payload) == [(code, ["input", "name"])]
    assert state(api) == before


def test_name_normalised_and_not_unique(api: Api) -> None:
    decomposed = "Cafe\u0301"  # NFD
    first = create(api, {"name": decomposed, "currencyCode": "USD"})
    second = create(api, {"name": "  Caf\u00e9 ", "currencyCode": "USD"})
    assert first["userErrors"] == [] and second["userErrors"] == []
    assert first["customer"]["name"] == second["customer"]["name"] == "Caf\u00e9"
    assert first["customer"]["id"] != second["customer"]["id"]
    exactly_100 = create(api, {"name": "b" * 100, "currencyCode": "USD"})
    assert exactly_100["userErrors"] == []


def test_several_validation_errors_together(api: Api) -> None:
    before = state(api)
    payload = create(api, {"name": "", "currencyCode": "ZZZ"})
    assert sorted(errors_of(payload)) == [
        ("INVALID", ["input", "currencyCode"]),
        ("REQUIRED", ["input", "name"]),
    ]
    assert state(api) == before


def test_create_checks_the_class_with_assignment_rules(world: World, api: Api) -> None:
    eur_class = api.create_class(name="Euro class", currencyCode="EUR")
    before = state(api)
    # Currency.
    payload = create(api, {"name": "X", "currencyCode": "USD", "customerClassId": eur_class})
    assert errors_of(payload) == [("CURRENCY_MISMATCH", ["input", "customerClassId"])]
    # Ownership: a private administrator class for a reseller's customer.
    payload = create(
        api,
        {
            "name": "X",
            "currencyCode": "USD",
            "parentId": world.a.id,
            "customerClassId": world.admin_class_id,
        },
    )
    assert errors_of(payload) == [("OWNERSHIP_MISMATCH", ["input", "customerClassId"])]
    # Both at once.
    payload = create(
        api,
        {"name": "X", "currencyCode": "USD", "parentId": world.a.id, "customerClassId": eur_class},
    )
    assert errors_of(payload) == [
        ("CURRENCY_MISMATCH", ["input", "customerClassId"]),
        ("OWNERSHIP_MISMATCH", ["input", "customerClassId"]),
    ]
    # An administrator never assigns a reseller's class, even to that reseller's customer.
    payload = create(
        api,
        {
            "name": "X",
            "currencyCode": "USD",
            "parentId": world.a.id,
            "customerClassId": world.a.class_id,
        },
    )
    assert errors_of(payload) == [("NOT_PERMITTED", ["input", "customerClassId"])]
    # Unknown class.
    for bad in (gid("CustomerClass", 999), "nope", world.a.customer_id):
        payload = create(api, {"name": "X", "currencyCode": "USD", "customerClassId": bad})
        assert errors_of(payload) == [("NOT_FOUND", ["input", "customerClassId"])]
    assert state(api) == before


def test_class_without_currency_accepts_any_currency(api: Api) -> None:
    anything = api.create_class(name="Any currency")
    for code in ("USD", "EUR", "JPY"):
        payload = create(api, {"name": code, "currencyCode": code, "customerClassId": anything})
        assert payload["userErrors"] == []
        assert payload["customer"]["customerClass"]["id"] == anything


# --------------------------------------------------------------------------- create: reseller


def test_reseller_creates_own_customers(world: World, api: Api) -> None:
    for input_ in (
        {"name": "Omitted", "currencyCode": "USD"},
        {"name": "Own id", "currencyCode": "USD", "parentId": world.a.id},
        {"name": "Null", "currencyCode": "EUR", "parentId": None},
    ):
        payload = create(api, input_, world.a.token)
        assert payload["userErrors"] == []
        created = payload["customer"]
        assert created["parent"] == {"id": world.a.id, "name": "Reseller A"}
        assert created["customerClass"]["id"] == world.default_class_id
        assert shown(customer(api, created["id"]))["parent"]["id"] == world.a.id
        assert customer(api, created["id"], world.b.token) is None


def test_reseller_creates_with_own_or_shared_class(world: World, api: Api) -> None:
    for class_id in (world.a.class_id, world.shared_class_id, world.default_class_id):
        payload = create(
            api,
            {"name": "With class", "currencyCode": "USD", "customerClassId": class_id},
            world.a.token,
        )
        assert payload["userErrors"] == []
        assert payload["customer"]["customerClass"]["id"] == class_id


def test_reseller_naming_another_parent_is_not_permitted(world: World, api: Api) -> None:
    sub = api.create_reseller("Sub of A", world.a.id)
    before = state(api)
    for other in (
        world.b.id,
        sub,  # even its own sub-reseller: resellers create their own subentities only
        gid("Customer", 4242),  # nonexistent
        "garbage",
        world.a.customer_id,
        world.a.class_id,
    ):
        payload = create(
            api, {"name": "Sneaky", "currencyCode": "USD", "parentId": other}, world.a.token
        )
        assert errors_of(payload) == [("NOT_PERMITTED", ["input", "parentId"])], other
        assert payload["customer"] is None
    assert state(api) == before


def test_reseller_create_with_hidden_class_is_not_found(world: World, api: Api) -> None:
    before = state(api)
    for hidden in (world.b.class_id, world.admin_class_id, gid("CustomerClass", 77)):
        payload = create(
            api, {"name": "X", "currencyCode": "USD", "customerClassId": hidden}, world.a.token
        )
        assert errors_of(payload) == [("NOT_FOUND", ["input", "customerClassId"])]
    assert state(api) == before


def test_reseller_create_currency_mismatch(world: World, api: Api) -> None:
    before = state(api)
    payload = create(
        api,
        {"name": "Euro", "currencyCode": "EUR", "customerClassId": world.a.class_id},
        world.a.token,
    )
    assert errors_of(payload) == [("CURRENCY_MISMATCH", ["input", "customerClassId"])]
    assert state(api) == before


def test_reseller_creates_sub_reseller_which_creates_its_own(world: World, api: Api) -> None:
    payload = create(
        api, {"name": "Sub", "customerType": "RESELLER", "currencyCode": "USD"}, world.a.token
    )
    assert payload["userErrors"] == []
    sub = payload["customer"]["id"]
    sub_token = api.reseller_token(sub, "sub token")
    grandchild = create(api, {"name": "Grandchild", "currencyCode": "USD"}, sub_token)
    assert grandchild["userErrors"] == []
    grandchild_id = grandchild["customer"]["id"]
    assert grandchild["customer"]["parent"] == {"id": sub, "name": "Sub"}
    # A's rights stop at its direct subentities.
    assert customer(api, grandchild_id, world.a.token) is None
    assert grandchild_id not in customer_ids(api, world.a.token)
    # The sub-reseller does not see its own parent.
    own = shown(customer(api, sub, sub_token))
    assert own["parent"] is None
    assert customer(api, world.a.id, sub_token) is None


# --------------------------------------------------------------------------- create: audit


def test_create_writes_one_create_event_for_the_parent_tenant(world: World, api: Api) -> None:
    payload = create(api, {"name": "Audited", "currencyCode": "USD"}, world.a.token)
    created = payload["customer"]["id"]
    found = events(api, created)
    assert len(found) == 1
    event = found[0]
    assert event["action"] == "CREATE"
    assert event["objectType"] == "Customer"
    assert event["objectId"] == created
    assert event["actorRole"] == "RESELLER"
    assert event["actorTokenName"] == "Reseller A token"
    assert event["actorReseller"] == {"id": world.a.id}
    assert event["changes"] == {
        "name": {"before": None, "after": "Audited"},
        "customerType": {"before": None, "after": "RETAIL"},
        "currency": {"before": None, "after": "USD"},
        "parent": {"before": None, "after": world.a.id},
        "customerClass": {"before": None, "after": world.default_class_id},
    }
    # The tenant of the event is A: A sees it, B does not.
    assert [e["id"] for e in events(api, created, world.a.token)] == [event["id"]]
    assert events(api, created, world.b.token) == []


def test_admin_created_customer_event_visible_to_the_parent_anonymised(
    world: World, api: Api
) -> None:
    created = api.create_customer(name="By admin", parentId=world.b.id)
    seen_by_b = events(api, created, world.b.token)
    assert len(seen_by_b) == 1
    assert seen_by_b[0]["action"] == "CREATE"
    assert seen_by_b[0]["actorRole"] == "ADMINISTRATOR"
    assert seen_by_b[0]["actorTokenName"] == "administrator"
    assert seen_by_b[0]["changes"]["parent"] == {"before": None, "after": world.b.id}
    assert events(api, created, world.a.token) == []
    # A direct customer's event has no tenant: no reseller sees it.
    direct = api.create_customer(name="Direct")
    assert len(events(api, direct)) == 1
    assert events(api, direct, world.a.token) == []
    assert events(api, direct, world.b.token) == []


def test_refused_create_writes_no_event(world: World, api: Api) -> None:
    before = state(api)
    seen_by_a = events(api, token=world.a.token)
    create(api, {"name": "", "currencyCode": "USD"}, world.a.token)
    create(api, {"name": "X", "currencyCode": "USD", "parentId": world.b.id}, world.a.token)
    create(
        api,
        {"name": "X", "currencyCode": "EUR", "customerClassId": world.a.class_id},
        world.a.token,
    )
    assert state(api) == before
    assert events(api, token=world.a.token) == seen_by_a


def test_create_records_a_class_with_a_business_model(api: Api) -> None:
    model = create_business_model(api)
    class_id = api.create_class(name="Modelled", businessModelId=model)
    created = api.create_customer(name="Modelled customer", customerClassId=class_id)
    assert events(api, created)[0]["changes"]["customerClass"] == {
        "before": None,
        "after": class_id,
    }


# --------------------------------------------------------------------------- visibility


def test_admin_sees_every_customer(world: World, api: Api) -> None:
    sub = api.create_reseller("Sub", world.a.id)
    deep = api.create_customer(name="Deep", parentId=sub)
    direct = api.create_customer(name="Direct")
    ids = customer_ids(api)
    for expected in (
        world.a.id,
        world.b.id,
        world.a.customer_id,
        world.b.customer_id,
        sub,
        deep,
        direct,
    ):
        assert expected in ids
        assert shown(customer(api, expected))["id"] == expected
    assert customers(api)["totalCount"] == len(ids) == 7


def test_reseller_sees_itself_and_its_direct_customers_only(world: World, api: Api) -> None:
    sub = api.create_reseller("Sub of A", world.a.id)
    deep = api.create_customer(name="Customer of sub", parentId=sub)
    direct = api.create_customer(name="Direct")
    visible = {world.a.id, world.a.customer_id, sub}
    listing = customers(api, world.a.token)
    assert {n["id"] for n in listing["nodes"]} == visible
    assert listing["totalCount"] == 3
    for hidden in (world.b.id, world.b.customer_id, deep, direct):
        assert customer(api, hidden, world.a.token) is None
    for visible_id in visible:
        assert shown(customer(api, visible_id, world.a.token))["id"] == visible_id


def test_reseller_does_not_see_its_parent(world: World, api: Api) -> None:
    sub = api.create_reseller("Sub of A", world.a.id)
    sub_token = api.reseller_token(sub, "sub token")
    own = customer(api, sub, sub_token)
    assert own == {
        "id": sub,
        "name": "Sub of A",
        "customerType": "RESELLER",
        "currency": {"code": "USD"},
        "parent": None,  # A is hidden from its sub-reseller
        "customerClass": {"id": world.default_class_id, "name": "Default"},
    }
    assert customer(api, world.a.id, sub_token) is None
    assert customer_ids(api, sub_token) == [sub]
    viewer = api.data("{ viewer { reseller { id parent { id } } } }", token=sub_token)
    assert viewer["viewer"]["reseller"] == {"id": sub, "parent": None}
    # The administrator and A both see the relation.
    assert shown(customer(api, sub))["parent"]["id"] == world.a.id
    assert shown(customer(api, sub, world.a.token))["parent"]["id"] == world.a.id


def test_customer_by_bad_ids_is_null(world: World, api: Api) -> None:
    for bad in (
        "",
        "garbage",
        gid("Customer", 1),
        gid("Customer", 0),
        gid("Customer", -3),
        world.a.class_id,
        gid("Customer", "12abc"),
        "Q3VzdG9tZXI6MQ",
    ):
        assert customer(api, bad) is None
        assert customer(api, bad, world.a.token) is None


def test_node_and_nodes_follow_customer_visibility(world: World, api: Api) -> None:
    query = """
      query($ids: [ID!]!, $id: ID!) {
        node(id: $id) { id ... on Customer { name } }
        nodes(ids: $ids) { id }
      }"""
    ids = [world.a.customer_id, world.b.customer_id, world.a.id, world.b.id, "junk"]
    data = api.data(query, {"ids": ids, "id": world.b.customer_id}, world.a.token)
    assert data["node"] is None
    assert data["nodes"] == [{"id": world.a.customer_id}, None, {"id": world.a.id}, None, None]
    data = api.data(query, {"ids": ids, "id": world.b.customer_id})
    assert data["node"] == {"id": world.b.customer_id, "name": "Reseller B customer"}
    assert data["nodes"][:4] == [{"id": i} for i in ids[:4]]


def test_nested_parent_and_class_follow_visibility(world: World, api: Api) -> None:
    # The administrator gives A's own record its private class: A sees the record but not
    # the class.
    api.ok(
        "assignCustomerClass", {"customerId": world.a.id, "customerClassId": world.admin_class_id}
    )
    own = shown(customer(api, world.a.id, world.a.token))
    assert own["customerClass"] is None
    assert own["parent"] is None
    mine = shown(customer(api, world.a.customer_id, world.a.token))
    assert mine["parent"] == {"id": world.a.id, "name": "Reseller A"}
    assert mine["customerClass"] == {"id": world.a.class_id, "name": "Reseller A class"}
    # The administrator sees everything.
    assert shown(customer(api, world.a.id))["customerClass"]["id"] == world.admin_class_id
    # Through a list too.
    listing = api.data(
        "{ customers { nodes { id customerClass { id } parent { id } } } }", token=world.a.token
    )["customers"]["nodes"]
    by_id = {n["id"]: n for n in listing}
    assert by_id[world.a.id] == {"id": world.a.id, "customerClass": None, "parent": None}
    assert by_id[world.a.customer_id]["parent"] == {"id": world.a.id}


def test_own_record_with_a_hidden_class_still_has_effective_settings(
    world: World, api: Api
) -> None:
    private = api.create_class(
        name="Private no stats", currencyCode="USD", generalInfo={"generateStatistics": False}
    )
    api.ok("assignCustomerClass", {"customerId": world.a.id, "customerClassId": private})
    seen = customer(
        api,
        world.a.id,
        world.a.token,
        "customerClass { id } effectiveSettings { generalInfo { generateStatistics }"
        " overriddenFields }",
    )
    assert seen == {
        "customerClass": None,
        "effectiveSettings": {"generalInfo": {"generateStatistics": False}, "overriddenFields": []},
    }


def test_viewer_reseller_is_own_record(world: World, api: Api) -> None:
    data = api.data(f"{{ viewer {{ reseller {{ {CUSTOMER} }} }} }}", token=world.b.token)
    assert data["viewer"]["reseller"]["id"] == world.b.id
    assert data["viewer"]["reseller"]["parent"] is None


# --------------------------------------------------------------------------- filters


def test_name_contains_is_casefolded(api: Api) -> None:
    strasse = api.create_customer(name="Große Straße GmbH")
    other = api.create_customer(name="Grosse Strasse AG")
    api.create_customer(name="Unrelated")
    assert set(customer_ids(api, nameContains="STRASSE")) == {strasse, other}
    assert set(customer_ids(api, nameContains="straße")) == {strasse, other}
    assert customer_ids(api, nameContains="gmbh") == [strasse]
    assert customer_ids(api, nameContains="  ") == []
    assert len(customer_ids(api, nameContains="")) == 3  # empty: no filter


def test_name_contains_treats_wildcards_literally(api: Api) -> None:
    percent = api.create_customer(name="100% Telecom")
    plain = api.create_customer(name="100 Telecom")
    underscore = api.create_customer(name="a_b")
    axb = api.create_customer(name="axb")
    backslash = api.create_customer(name="back\\slash")
    api.create_customer(name="backslash")
    assert customer_ids(api, nameContains="%") == [percent]
    assert customer_ids(api, nameContains="0%") == [percent]
    assert customer_ids(api, nameContains="_") == [underscore]
    assert customer_ids(api, nameContains="a_b") == [underscore]
    assert customer_ids(api, nameContains="\\") == [backslash]
    assert customer_ids(api, nameContains="k\\s") == [backslash]
    assert set(customer_ids(api, nameContains="telecom")) == {percent, plain}
    assert axb not in customer_ids(api, nameContains="a_b")


def test_filter_by_customer_type(world: World, api: Api) -> None:
    assert set(customer_ids(api, customerType="RESELLER")) == {world.a.id, world.b.id}
    assert set(customer_ids(api, customerType="RETAIL")) == {
        world.a.customer_id,
        world.b.customer_id,
    }
    assert customer_ids(api, world.a.token, customerType="RESELLER") == [world.a.id]
    assert customer_ids(api, world.a.token, customerType="RETAIL") == [world.a.customer_id]


def test_filter_by_parent_as_admin(world: World, api: Api) -> None:
    extra = api.create_customer(name="Second of A", parentId=world.a.id)
    assert set(customer_ids(api, parentId=world.a.id)) == {world.a.customer_id, extra}
    assert customer_ids(api, parentId=world.b.id) == [world.b.customer_id]
    # Malformed IDs ("garbage", a class's) are BAD_USER_INPUT: test_filter_values.
    assert customer_ids(api, parentId=gid("Customer", 5)) == []
    # A retail customer has no customers.
    assert customer_ids(api, parentId=world.a.customer_id) == []


def test_filter_by_parent_as_reseller(world: World, api: Api) -> None:
    sub = api.create_reseller("Sub of A", world.a.id)
    api.create_customer(name="Deep", parentId=sub)
    assert set(customer_ids(api, world.a.token, parentId=world.a.id)) == {
        world.a.customer_id,
        sub,
    }
    # Another reseller's id, its own sub-reseller's or an unknown one: nothing.
    for other in (world.b.id, sub, gid("Customer", 5)):
        listing = customers(api, world.a.token, {"parentId": other})
        assert listing["nodes"] == [] and listing["totalCount"] == 0, other


def test_filter_by_class(world: World, api: Api) -> None:
    second = api.create_customer(
        world.a.token, name="Also A class", customerClassId=world.a.class_id
    )
    shared_a = api.create_customer(
        world.a.token, name="Shared A", customerClassId=world.shared_class_id
    )
    shared_b = api.create_customer(
        world.b.token, name="Shared B", customerClassId=world.shared_class_id
    )
    assert set(customer_ids(api, customerClassId=world.a.class_id)) == {world.a.customer_id, second}
    assert set(customer_ids(api, customerClassId=world.shared_class_id)) == {shared_a, shared_b}
    assert customer_ids(api, world.a.token, customerClassId=world.shared_class_id) == [shared_a]
    assert customer_ids(api, world.b.token, customerClassId=world.a.class_id) == []
    assert customer_ids(api, customerClassId=gid("CustomerClass", 5)) == []
    # The Default class: the resellers themselves (created without a class).
    assert set(customer_ids(api, customerClassId=world.default_class_id)) == {
        world.a.id,
        world.b.id,
    }
    assert customer_ids(api, world.a.token, customerClassId=world.default_class_id) == [world.a.id]


def test_filter_by_hidden_class_matches_nothing(world: World, api: Api) -> None:
    """Hidden = nonexistent: even the reseller's own record, which uses a class the
    reseller may not see, is not found through that class's ID."""
    api.ok(
        "assignCustomerClass", {"customerId": world.a.id, "customerClassId": world.admin_class_id}
    )
    listing = customers(api, world.a.token, {"customerClassId": world.admin_class_id})
    assert listing["nodes"] == [] and listing["totalCount"] == 0
    assert customer_ids(api, customerClassId=world.admin_class_id) == [world.a.id]


def test_filters_combine(world: World, api: Api) -> None:
    match = api.create_customer(world.a.token, name="Blue Retail", customerClassId=world.a.class_id)
    api.create_customer(world.a.token, name="Blue Other")  # Default class
    api.create_reseller("Blue Reseller", world.a.id)
    api.create_customer(world.b.token, name="Blue B", customerClassId=world.b.class_id)
    filter_ = {
        "nameContains": "blue",
        "customerType": "RETAIL",
        "customerClassId": world.a.class_id,
    }
    assert customer_ids(api, world.a.token, **filter_) == [match]
    assert customer_ids(api, **filter_, parentId=world.a.id) == [match]
    assert customer_ids(api, **filter_, parentId=world.b.id) == []
    assert customers(api, world.a.token, {"nameContains": "blue"})["totalCount"] == 3


# --------------------------------------------------------------------------- order, pages


def test_sorted_by_name_key_then_id(api: Api) -> None:
    names = ["b", "A", "a", "Z", "\u00e9cole", "B", "a"]
    for name in names:
        api.create_customer(name=name)
    listing = customers(api)["nodes"]
    keys = [(n["name"].casefold(), n["id"]) for n in listing]
    assert [k for k, _ in keys] == ["a", "a", "a", "b", "b", "z", "\u00e9cole"]
    # Ties break by the id (as the cursors order them: decoded integer keys).
    from base64 import b64decode

    def key(i: str) -> int:
        return int(b64decode(i).decode().partition(":")[2])

    for name in ("a", "b"):
        ids = [i for n, i in keys if n == name]
        assert [key(i) for i in ids] == sorted(key(i) for i in ids)


def test_keyset_pagination(world: World, api: Api) -> None:
    for index in range(7):
        api.create_customer(world.a.token, name=f"Page {index}")
    all_ids = customer_ids(api, world.a.token)
    assert len(all_ids) == 9  # A itself, its world customer and 7 pages
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = customers(api, world.a.token, first=4, after=after)
        pages += 1
        assert page["totalCount"] == 9
        assert [e["node"]["id"] for e in page["edges"]] == [n["id"] for n in page["nodes"]]
        info = page["pageInfo"]
        assert info["hasPreviousPage"] == (after is not None)
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]
        seen += [n["id"] for n in page["nodes"]]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert pages == 3
    assert seen == all_ids
    # A page after the last row is empty.
    empty = customers(api, world.a.token, first=4, after=page["pageInfo"]["endCursor"])
    assert empty["nodes"] == [] and empty["pageInfo"]["hasNextPage"] is False
    assert empty["pageInfo"]["startCursor"] is None and empty["pageInfo"]["endCursor"] is None


def test_pagination_is_stable_under_inserts(api: Api) -> None:
    for name in ("b", "d", "f"):
        api.create_customer(name=name)
    first = customers(api, first=2)
    assert [n["name"] for n in first["nodes"]] == ["b", "d"]
    api.create_customer(name="a")  # before the cursor: not repeated
    api.create_customer(name="e")
    rest = customers(api, first=10, after=first["pageInfo"]["endCursor"])
    assert [n["name"] for n in rest["nodes"]] == ["e", "f"]


def test_cursor_of_another_filter_is_refused(world: World, api: Api) -> None:
    for index in range(3):
        api.create_customer(name=f"Cursor {index}")
    page = customers(api, first=1)
    cursor = page["pageInfo"]["endCursor"]
    query = """query($after: String, $filter: CustomerFilter) {
      customers(first: 1, after: $after, filter: $filter) { nodes { id } } }"""
    assert api.error_code(query, {"after": cursor, "filter": {"nameContains": "c"}}) == (
        "BAD_USER_INPUT"
    )
    assert api.error_code(query, {"after": "not-a-cursor"}) == "BAD_USER_INPUT"
    # A class listing's cursor does not page customers.
    classes = api.data("{ customerClasses(first: 1) { pageInfo { endCursor } } }")
    assert (
        api.error_code(query, {"after": classes["customerClasses"]["pageInfo"]["endCursor"]})
        == "BAD_USER_INPUT"
    )


def test_page_size_limits(api: Api) -> None:
    query = "query($first: Int!) { customers(first: $first) { nodes { id } } }"
    assert api.error_code(query, {"first": 101}) == "PAGE_TOO_LARGE"
    assert api.error_code(query, {"first": 0}) == "BAD_USER_INPUT"
    assert api.data(query, {"first": 100})["customers"]["nodes"] == []


def test_total_count_counts_only_visible_rows(world: World, api: Api) -> None:
    sub = api.create_reseller("Sub", world.a.id)
    for index in range(3):
        api.create_customer(name=f"Deep {index}", parentId=sub)
    api.create_customer(name="Direct")
    assert customers(api)["totalCount"] == 9
    assert customers(api, world.a.token)["totalCount"] == 3  # A, its customer, sub
    assert customers(api, world.b.token)["totalCount"] == 2
    sub_token = api.reseller_token(sub, "sub token")
    assert customers(api, sub_token)["totalCount"] == 4
    assert customers(api, world.a.token, first=1)["totalCount"] == 3


# --------------------------------------------------------------------------- nested class side


def test_class_customers_seen_per_tenant(world: World, api: Api) -> None:
    api.create_customer(world.a.token, name="A shared 1", customerClassId=world.shared_class_id)
    api.create_customer(world.a.token, name="A shared 2", customerClassId=world.shared_class_id)
    b_shared = api.create_customer(
        world.b.token, name="B shared", customerClassId=world.shared_class_id
    )
    direct = api.create_customer(name="Direct shared", customerClassId=world.shared_class_id)
    as_admin = shown(customer_class(api, world.shared_class_id))
    assert as_admin["customerCount"] == 4
    assert as_admin["customers"]["totalCount"] == 4
    as_b = shown(customer_class(api, world.shared_class_id, world.b.token))
    assert as_b["customerCount"] == 1
    assert as_b["customers"] == {"totalCount": 1, "nodes": [{"id": b_shared}]}
    as_a = shown(customer_class(api, world.shared_class_id, world.a.token))
    assert as_a["customerCount"] == 2
    assert direct not in [n["id"] for n in as_a["customers"]["nodes"]]
    # B cannot read A's class at all.
    assert customer_class(api, world.a.class_id, world.b.token) is None
    assert shown(customer_class(api, world.a.class_id))["customerCount"] == 1


# --------------------------------------------------------------------------- precedence


def test_create_precedence_not_found_then_not_permitted_then_validation(
    world: World, api: Api
) -> None:
    before = state(api)
    # Reseller: a hidden class and another parent: only NOT_FOUND.
    payload = create(
        api,
        {
            "name": "",
            "currencyCode": "ZZZ",
            "parentId": world.b.id,
            "customerClassId": world.b.class_id,
        },
        world.a.token,
    )
    assert errors_of(payload) == [("NOT_FOUND", ["input", "customerClassId"])]
    # Another parent and invalid fields: only NOT_PERMITTED.
    payload = create(
        api, {"name": "", "currencyCode": "ZZZ", "parentId": world.b.id}, world.a.token
    )
    assert errors_of(payload) == [("NOT_PERMITTED", ["input", "parentId"])]
    # Administrator: an unknown parent and an unknown class are both reported.
    payload = create(
        api, {"name": "", "currencyCode": "ZZZ", "parentId": "junk", "customerClassId": "junk"}
    )
    assert errors_of(payload) == [
        ("NOT_FOUND", ["input", "parentId"]),
        ("NOT_FOUND", ["input", "customerClassId"]),
    ]
    # A reseller's class from the administrator: only NOT_PERMITTED, before validation.
    payload = create(
        api,
        {
            "name": "",
            "currencyCode": "EUR",
            "parentId": world.a.id,
            "customerClassId": world.a.class_id,
        },
    )
    assert errors_of(payload) == [("NOT_PERMITTED", ["input", "customerClassId"])]
    assert state(api) == before
