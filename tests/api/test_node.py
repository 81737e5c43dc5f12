"""node(id:), nodes(ids:), customerClass(id:) and customer(id:): hidden = nonexistent
(SPEC §2). Every Node type, as its owner, as the other reseller and as the administrator;
guessed, malformed and wrongly typed IDs; nested references to hidden objects."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.listing_support import create_catalogs, gid, key_of, tenant_of, type_of
from tests.api_client import Api, World, shown

NODE_QUERY = """
query($id: ID!) {
  node(id: $id) {
    __typename id
    ... on CustomerClass { name }
    ... on Customer { name }
    ... on BusinessModel { code }
    ... on InvoiceTemplate { name }
    ... on NotificationSet { name }
    ... on CustomFieldDefinition { name }
    ... on CustomTax { name }
    ... on AuditEvent { action objectId }
    ... on ApiToken { name }
  }
}
"""

NODES_QUERY = "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }"


def node(api: Api, global_id: str, token: str | None = None) -> dict[str, Any] | None:
    found: dict[str, Any] | None = api.data(NODE_QUERY, {"id": global_id}, token)["node"]
    return found


def nodes(api: Api, ids: list[str], token: str | None = None) -> list[dict[str, Any] | None]:
    found: list[dict[str, Any] | None] = api.data(NODES_QUERY, {"ids": ids}, token)["nodes"]
    return found


def class_by_id(api: Api, global_id: str, token: str | None = None) -> dict[str, Any] | None:
    found: dict[str, Any] | None = api.data(
        "query($id: ID!) { customerClass(id: $id) { id name } }", {"id": global_id}, token
    )["customerClass"]
    return found


def customer_by_id(api: Api, global_id: str, token: str | None = None) -> dict[str, Any] | None:
    found: dict[str, Any] | None = api.data(
        "query($id: ID!) { customer(id: $id) { id name } }", {"id": global_id}, token
    )["customer"]
    return found


def token_ids(api: Api, token: str | None = None) -> dict[str, str]:
    rows = api.data("{ apiTokens { id name } }", token=token)["apiTokens"]
    return {row["name"]: row["id"] for row in rows}


def event_ids(api: Api, object_id: str) -> list[str]:
    data = api.data(
        "query($id: ID) { auditEvents(objectId: $id) { nodes { id } } }", {"id": object_id}
    )
    return [n["id"] for n in data["auditEvents"]["nodes"]]


@dataclass
class Objects:
    """One object of every Node type, with who may see it."""

    world: World
    catalogs: dict[str, str]
    a_event: str  # tenant A (A created its class)
    b_event: str
    admin_event: str  # tenant null (the administrator's private class)
    a_token: str
    b_token: str
    admin_token: str


@pytest.fixture
def objects(api: Api, world: World) -> Objects:
    catalogs = create_catalogs(api)
    tokens = token_ids(api)
    return Objects(
        world=world,
        catalogs=catalogs,
        a_event=event_ids(api, world.a.class_id)[0],
        b_event=event_ids(api, world.b.class_id)[0],
        admin_event=event_ids(api, world.admin_class_id)[0],
        a_token=tokens["Reseller A token"],
        b_token=tokens["Reseller B token"],
        admin_token=tokens["root"],
    )


def private_ids(objects: Objects) -> dict[str, dict[str, str]]:
    """Per viewer ("a", "b"), the objects that viewer owns, by type."""
    world = objects.world
    return {
        "a": {
            "CustomerClass": world.a.class_id,
            "Customer": world.a.customer_id,
            "AuditEvent": objects.a_event,
            "ApiToken": objects.a_token,
        },
        "b": {
            "CustomerClass": world.b.class_id,
            "Customer": world.b.customer_id,
            "AuditEvent": objects.b_event,
            "ApiToken": objects.b_token,
        },
    }


# --------------------------------------------------------------------------- every type


@pytest.mark.parametrize("type_name", ["CustomerClass", "Customer", "AuditEvent", "ApiToken"])
@pytest.mark.parametrize(("owner", "other"), [("a", "b"), ("b", "a")])
def test_tenant_objects_visible_to_owner_and_admin_only(
    api: Api, objects: Objects, type_name: str, owner: str, other: str
) -> None:
    world = objects.world
    target = private_ids(objects)[owner][type_name]
    owner_token = getattr(world, owner).token
    other_token = getattr(world, other).token
    seen = node(api, target, owner_token)
    assert seen is not None
    assert seen["__typename"] == type_name
    assert seen["id"] == target
    assert node(api, target) == seen  # the administrator sees everything
    assert node(api, target, other_token) is None
    assert nodes(api, [target], other_token) == [None]
    assert nodes(api, [target], owner_token) == [{"__typename": type_name, "id": target}]


@pytest.mark.parametrize(
    "type_name",
    ["BusinessModel", "InvoiceTemplate", "NotificationSet", "CustomFieldDefinition", "CustomTax"],
)
def test_catalog_entries_are_visible_to_everyone(
    api: Api, objects: Objects, type_name: str
) -> None:
    target = objects.catalogs[type_name]
    for token in (None, objects.world.a.token, objects.world.b.token):
        seen = node(api, target, token)
        assert seen is not None
        assert seen["__typename"] == type_name
        assert seen["id"] == target


def test_node_fields_match_the_object(api: Api, objects: Objects) -> None:
    world = objects.world
    assert shown(node(api, world.a.class_id, world.a.token))["name"] == "Reseller A class"
    assert shown(node(api, world.a.customer_id, world.a.token))["name"] == "Reseller A customer"
    assert shown(node(api, objects.catalogs["BusinessModel"]))["code"].startswith("bm-")
    event = node(api, objects.a_event, world.a.token)
    assert event == {
        "__typename": "AuditEvent",
        "id": objects.a_event,
        "action": "CREATE",
        "objectId": world.a.class_id,
    }
    assert shown(node(api, objects.a_token, world.a.token))["name"] == "Reseller A token"


def test_administrator_objects_hidden_from_resellers(api: Api, objects: Objects) -> None:
    world = objects.world
    direct = api.create_customer(name="Direct customer")
    hidden = [
        world.admin_class_id,  # not shared
        direct,
        world.b.id,  # another reseller's record
        objects.admin_event,  # tenant null
        objects.admin_token,
    ]
    for token in (world.a.token, world.b.token):
        for target in hidden:
            if target == world.b.id and token == world.b.token:
                continue
            assert node(api, target, token) is None, target
    assert [n and n["id"] for n in nodes(api, hidden)] == hidden


def test_shared_and_default_classes_are_visible_to_resellers(api: Api, world: World) -> None:
    for token in (world.a.token, world.b.token):
        assert shown(node(api, world.shared_class_id, token))["name"] == "Admin shared"
        assert shown(node(api, world.default_class_id, token))["name"] == "Default"
        assert class_by_id(api, world.shared_class_id, token) == {
            "id": world.shared_class_id,
            "name": "Admin shared",
        }


def test_reseller_sees_its_own_record(api: Api, world: World) -> None:
    assert node(api, world.a.id, world.a.token) == {
        "__typename": "Customer",
        "id": world.a.id,
        "name": "Reseller A",
    }
    assert customer_by_id(api, world.a.id, world.a.token) == {
        "id": world.a.id,
        "name": "Reseller A",
    }
    assert customer_by_id(api, world.a.id, world.b.token) is None


def test_unsharing_hides_a_class_from_node(api: Api, world: World) -> None:
    assert node(api, world.shared_class_id, world.a.token) is not None
    api.ok("setCustomerClassSharing", {"id": world.shared_class_id, "shared": False})
    assert node(api, world.shared_class_id, world.a.token) is None
    assert class_by_id(api, world.shared_class_id, world.a.token) is None
    assert node(api, world.shared_class_id) is not None


# --------------------------------------------------------------------------- guessed and bad IDs

NODE_TYPES = [
    "CustomerClass",
    "Customer",
    "BusinessModel",
    "InvoiceTemplate",
    "NotificationSet",
    "CustomFieldDefinition",
    "CustomTax",
    "AuditEvent",
    "ApiToken",
]


@pytest.mark.parametrize("type_name", NODE_TYPES)
def test_guessed_ids_are_null(api: Api, world: World, type_name: str) -> None:
    guesses = [gid(type_name, secrets.randbits(63) or 1) for _ in range(3)]
    guesses += [gid(type_name, 1), gid(type_name, 2**63 - 1)]
    for token in (None, world.a.token):
        assert nodes(api, guesses, token) == [None] * len(guesses)
        for guess in guesses[:2]:
            assert node(api, guess, token) is None


def test_guessed_class_and_customer_ids_are_null(api: Api, world: World) -> None:
    for _ in range(3):
        guess = gid("CustomerClass", secrets.randbits(63) or 1)
        assert class_by_id(api, guess) is None
        assert class_by_id(api, guess, world.a.token) is None
        guess = gid("Customer", secrets.randbits(63) or 1)
        assert customer_by_id(api, guess) is None
        assert customer_by_id(api, guess, world.b.token) is None


def malformed_ids(real: str) -> list[str]:
    key = key_of(real)
    type_name = type_of(real)
    candidates = [
        "",
        "garbage",
        "!!!",
        "null",
        "0",
        str(key),  # the raw key is not a global ID
        real.rstrip("="),  # missing padding: not the canonical form
        real + "=",
        real.lower(),
        " " + real,
        base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode() + "?",
        base64.b64encode(f"{type_name}:0{key}".encode()).decode(),  # leading zero
        base64.b64encode(f"{type_name}:+{key}".encode()).decode(),
        base64.b64encode(f"{type_name}:-{key}".encode()).decode(),
        base64.b64encode(f"{type_name}: {key}".encode()).decode(),
        base64.b64encode(f"{type_name}:{key}:1".encode()).decode(),
        # Routed forms (tenancy.ids): the tenant must be a canonical number, and only
        # routed types have one.
        base64.b64encode(f"{type_name}:{key}@".encode()).decode(),
        base64.b64encode(f"{type_name}:{key}@-1".encode()).decode(),
        base64.b64encode(f"{type_name}:{key}@01".encode()).decode(),
        base64.b64encode(f"{type_name}:{key}@{2**63}".encode()).decode(),
        base64.b64encode(f"{type_name}:{key}@1@1".encode()).decode(),
        base64.b64encode(f"{type_name}:@{key}".encode()).decode(),
        base64.b64encode(f"{type_name}:".encode()).decode(),
        base64.b64encode(f":{key}".encode()).decode(),
        base64.b64encode(f"{type_name}{key}".encode()).decode(),
        base64.b64encode(f"{type_name.lower()}:{key}".encode()).decode(),
        base64.b64encode(f"{type_name}:0".encode()).decode(),
        base64.b64encode(f"{type_name}:{2**63}".encode()).decode(),
        base64.b64encode(f"{type_name}:{10**30}".encode()).decode(),
        base64.b64encode(f"{type_name}:١٢٣".encode()).decode(),  # non-ASCII digits
        base64.b64encode(b"\xff\xfe:1").decode(),
        "A" * 5000,
        real * 3,
    ]
    return [candidate for candidate in candidates if candidate != real]


def test_malformed_ids_are_null(api: Api, world: World) -> None:
    for real in (world.a.class_id, world.a.customer_id):
        bad = malformed_ids(real)
        for token in (None, world.a.token):
            assert nodes(api, bad[:100], token) == [None] * len(bad[:100])
            for candidate in bad:
                assert node(api, candidate, token) is None, candidate
        assert all(class_by_id(api, candidate) is None for candidate in bad)
        assert all(customer_by_id(api, candidate) is None for candidate in bad)


@pytest.mark.parametrize(
    "wrong_type",
    [
        "Customer",
        "BusinessModel",
        "AuditEvent",
        "ApiToken",
        "Node",
        "Query",
        "customerclass",
        "CustomerClassX",
    ],
)
def test_ids_of_another_type_are_null(api: Api, world: World, wrong_type: str) -> None:
    # The key of a real class under another type name finds nothing.
    wrong = gid(wrong_type, key_of(world.a.class_id))
    for token in (None, world.a.token):
        assert node(api, wrong, token) is None
        assert class_by_id(api, wrong, token) is None
        assert customer_by_id(api, wrong, token) is None


def test_class_and_customer_lookups_refuse_each_others_ids(api: Api, world: World) -> None:
    assert class_by_id(api, world.a.customer_id) is None
    assert customer_by_id(api, world.a.class_id) is None
    assert class_by_id(api, world.a.id, world.a.token) is None
    # A catalog ID in a customer lookup.
    catalogs = create_catalogs(api)
    assert customer_by_id(api, catalogs["BusinessModel"]) is None


# --------------------------------------------------------------------------- nodes(ids:)


def test_nodes_keeps_order_with_null_entries(api: Api, objects: Objects) -> None:
    world = objects.world
    guess = gid("CustomerClass", secrets.randbits(63) or 1)
    ids = [
        world.b.class_id,  # hidden from A
        world.a.class_id,
        "garbage",
        objects.catalogs["CustomTax"],
        guess,
        world.shared_class_id,
        world.a.id,
        world.b.customer_id,  # hidden from A
        objects.a_event,
        objects.b_event,  # hidden from A
        objects.a_token,
        world.a.class_id,  # duplicates are answered again
    ]
    as_a = nodes(api, ids, world.a.token)
    assert [n and n["id"] for n in as_a] == [
        None,
        world.a.class_id,
        None,
        objects.catalogs["CustomTax"],
        None,
        world.shared_class_id,
        world.a.id,
        None,
        objects.a_event,
        None,
        objects.a_token,
        world.a.class_id,
    ]
    assert [n and n["__typename"] for n in as_a] == [
        None,
        "CustomerClass",
        None,
        "CustomTax",
        None,
        "CustomerClass",
        "Customer",
        None,
        "AuditEvent",
        None,
        "ApiToken",
        "CustomerClass",
    ]
    as_admin = nodes(api, ids)
    expected = [None if i in ("garbage", guess) else i for i in ids]
    assert [n and n["id"] for n in as_admin] == expected


def test_nodes_limits(api: Api, world: World) -> None:
    ok = nodes(api, [world.a.class_id] * 100, world.a.token)
    assert len(ok) == 100 and all(n is not None for n in ok)
    assert api.error_code(NODES_QUERY, {"ids": [world.a.class_id] * 101}) == "PAGE_TOO_LARGE"
    assert api.error_code(NODES_QUERY, {"ids": []}) == "BAD_USER_INPUT"


def test_nodes_with_every_type_at_once(api: Api, objects: Objects) -> None:
    world = objects.world
    ids = [
        world.a.class_id,
        world.a.customer_id,
        *objects.catalogs.values(),
        objects.a_event,
        objects.a_token,
    ]
    as_a = nodes(api, ids, world.a.token)
    assert [shown(n)["__typename"] for n in as_a] == [type_of(i) for i in ids]
    as_b = nodes(api, ids, world.b.token)
    assert [n and n["__typename"] for n in as_b] == [
        None,
        None,
        *[type_of(i) for i in objects.catalogs.values()],
        None,
        None,
    ]


# --------------------------------------------------------------------------- hidden root lookups


def test_customer_class_lookup_hides_other_tenants(api: Api, world: World) -> None:
    assert class_by_id(api, world.b.class_id, world.a.token) is None
    assert class_by_id(api, world.a.class_id, world.b.token) is None
    assert class_by_id(api, world.admin_class_id, world.a.token) is None
    assert shown(class_by_id(api, world.a.class_id, world.a.token))["name"] == "Reseller A class"
    assert shown(class_by_id(api, world.b.class_id))["name"] == "Reseller B class"


def test_customer_lookup_hides_other_tenants(api: Api, world: World) -> None:
    direct = api.create_customer(name="Direct")
    assert customer_by_id(api, world.b.customer_id, world.a.token) is None
    assert customer_by_id(api, world.b.id, world.a.token) is None
    assert customer_by_id(api, direct, world.a.token) is None
    assert (
        shown(customer_by_id(api, world.a.customer_id, world.a.token))["name"]
        == "Reseller A customer"
    )
    assert shown(customer_by_id(api, direct))["name"] == "Direct"


@pytest.fixture
def sub(api: Api, world: World) -> dict[str, str]:
    """A sub-reseller of A with its own token, class and customer."""
    sub_id = api.create_customer(
        world.a.token, name="Sub of A", customerType="RESELLER", currencyCode="USD"
    )
    token = api.reseller_token(sub_id, "Sub token")
    class_id = api.create_class(token, name="Sub class", currencyCode="USD")
    customer_id = api.create_customer(token, name="Sub customer", customerClassId=class_id)
    return {"id": sub_id, "token": token, "class_id": class_id, "customer_id": customer_id}


def test_rights_stop_at_direct_subentities(api: Api, world: World, sub: dict[str, str]) -> None:
    # A sees its sub-reseller's record (a direct customer), not what lies beneath.
    assert shown(customer_by_id(api, sub["id"], world.a.token))["name"] == "Sub of A"
    assert customer_by_id(api, sub["customer_id"], world.a.token) is None
    assert class_by_id(api, sub["class_id"], world.a.token) is None
    assert nodes(api, [sub["class_id"], sub["customer_id"]], world.a.token) == [None, None]
    # The sub-reseller sees its own things, and nothing of A's.
    assert shown(class_by_id(api, sub["class_id"], sub["token"]))["name"] == "Sub class"
    assert customer_by_id(api, world.a.customer_id, sub["token"]) is None
    assert class_by_id(api, world.a.class_id, sub["token"]) is None
    assert customer_by_id(api, world.a.id, sub["token"]) is None


# --------------------------------------------------------------------------- nested references


PARENT_QUERY = "query($id: ID!) { customer(id: $id) { id parent { id name } } }"


def test_parent_is_null_when_hidden(api: Api, world: World, sub: dict[str, str]) -> None:
    # The sub-reseller does not see its own parent (A).
    seen = api.data(PARENT_QUERY, {"id": sub["id"]}, sub["token"])["customer"]
    assert seen == {"id": sub["id"], "parent": None}
    # A sees itself as the parent of its customers, but not its own parent (none anyway).
    seen = api.data(PARENT_QUERY, {"id": sub["id"]}, world.a.token)["customer"]
    assert seen["parent"] == {"id": world.a.id, "name": "Reseller A"}
    assert api.data(PARENT_QUERY, {"id": world.a.id}, world.a.token)["customer"]["parent"] is None
    # The administrator sees the whole chain.
    seen = api.data(PARENT_QUERY, {"id": sub["customer_id"]})["customer"]
    assert seen["parent"] == {"id": sub["id"], "name": "Sub of A"}
    # Through node() as well.
    seen = api.data(
        "query($id: ID!) { node(id: $id) { ... on Customer { parent { id } } } }",
        {"id": sub["id"]},
        sub["token"],
    )["node"]
    assert seen == {"parent": None}


def test_customer_class_is_null_when_hidden(api: Api, world: World) -> None:
    # The administrator puts reseller A itself on its private (unshared) class.
    api.ok(
        "assignCustomerClass", {"customerId": world.a.id, "customerClassId": world.admin_class_id}
    )
    query = """query($id: ID!) { customer(id: $id) {
        customerClass { id } effectiveSettings { generalInfo { generateStatistics } } } }"""
    seen = api.data(query, {"id": world.a.id}, world.a.token)["customer"]
    assert seen["customerClass"] is None
    assert seen["effectiveSettings"]["generalInfo"]["generateStatistics"] is True
    assert api.data(query, {"id": world.a.id})["customer"]["customerClass"] == {
        "id": world.admin_class_id
    }


MANAGER_QUERY = "query($id: ID!) { customerClass(id: $id) { managingReseller { id name } } }"


def test_managing_reseller(api: Api, world: World, sub: dict[str, str]) -> None:
    manager = api.data(MANAGER_QUERY, {"id": world.a.class_id}, world.a.token)["customerClass"]
    assert manager == {"managingReseller": {"id": world.a.id, "name": "Reseller A"}}
    manager = api.data(MANAGER_QUERY, {"id": world.a.class_id})["customerClass"]
    assert manager == {"managingReseller": {"id": world.a.id, "name": "Reseller A"}}
    shared = api.data(MANAGER_QUERY, {"id": world.shared_class_id}, world.a.token)
    assert shared["customerClass"] == {"managingReseller": None}
    manager = api.data(MANAGER_QUERY, {"id": sub["class_id"]}, sub["token"])["customerClass"]
    assert manager == {"managingReseller": {"id": sub["id"], "name": "Sub of A"}}
    # An administrator-made class for A: A sees itself as the manager.
    made = api.create_class(name="Made for A", managingResellerId=world.a.id)
    manager = api.data(MANAGER_QUERY, {"id": made}, world.a.token)["customerClass"]
    assert manager == {"managingReseller": {"id": world.a.id, "name": "Reseller A"}}
    assert api.data(MANAGER_QUERY, {"id": made}, world.b.token)["customerClass"] is None


ACTOR_QUERY = """query($id: ID!) { node(id: $id) { ... on AuditEvent {
    actorRole actorTokenName actorReseller { id } } } }"""


def test_actor_reseller(api: Api, world: World) -> None:
    own = event_ids(api, world.a.class_id)[0]
    assert api.data(ACTOR_QUERY, {"id": own}, world.a.token)["node"] == {
        "actorRole": "RESELLER",
        "actorTokenName": "Reseller A token",
        "actorReseller": {"id": world.a.id},
    }
    assert api.data(ACTOR_QUERY, {"id": own})["node"]["actorReseller"] == {"id": world.a.id}
    # An event in A's tenant caused by the administrator: no reseller, anonymous actor.
    made = api.create_class(name="Made for A", managingResellerId=world.a.id)
    admin_made = event_ids(api, made)[0]
    assert api.data(ACTOR_QUERY, {"id": admin_made}, world.a.token)["node"] == {
        "actorRole": "ADMINISTRATOR",
        "actorTokenName": "administrator",
        "actorReseller": None,
    }
    assert api.data(ACTOR_QUERY, {"id": admin_made})["node"]["actorTokenName"] == "root"


def test_sub_reseller_events_stay_with_the_sub_reseller(
    api: Api, world: World, sub: dict[str, str]
) -> None:
    # The sub-reseller's own event names it; the administrator sees it too. A sees
    # neither the event nor (through a visible event) the sub-reseller's objects.
    event = event_ids(api, sub["class_id"])[0]
    seen = api.data(ACTOR_QUERY, {"id": event}, sub["token"])["node"]
    assert seen["actorReseller"] == {"id": sub["id"]}
    assert api.data(ACTOR_QUERY, {"id": event}, world.a.token)["node"] is None
    assert api.data(ACTOR_QUERY, {"id": event})["node"]["actorReseller"] == {"id": sub["id"]}


def test_token_reseller_reference(api: Api, objects: Objects) -> None:
    query = "query($id: ID!) { node(id: $id) { ... on ApiToken { role reseller { id } } } }"
    world = objects.world
    assert api.data(query, {"id": objects.a_token}, world.a.token)["node"] == {
        "role": "RESELLER",
        "reseller": {"id": world.a.id},
    }
    assert api.data(query, {"id": objects.admin_token})["node"] == {
        "role": "ADMINISTRATOR",
        "reseller": None,
    }


# --------------------------------------------------------------------------- routed IDs


def test_class_ids_name_their_tenant(api: Api, world: World) -> None:
    """Issue 13: a class's ID names its manager (0: the administrator), so a distributed
    database looks it up in one shard; an ID issued before (key only) resolves to the
    same class, whose ID is then given out in the routed form."""
    cases = [
        (world.a.class_id, key_of(world.a.id), world.a.token),
        (world.shared_class_id, 0, world.a.token),
        (world.admin_class_id, 0, None),
    ]
    for class_id, tenant, token in cases:
        assert tenant_of(class_id) == tenant
        key_only = gid("CustomerClass", key_of(class_id))
        for form in (class_id, key_only):
            assert shown(class_by_id(api, form, token))["id"] == class_id
            assert shown(node(api, form, token))["id"] == class_id
        found = nodes(api, [key_only, class_id], token)
        assert [shown(n)["id"] for n in found] == [class_id, class_id]


def test_a_class_id_naming_another_tenant_is_unknown(api: Api, world: World) -> None:
    """The tenant in an ID grants nothing: naming another one, it finds nothing, for the
    administrator too, and in a batch beside the true ID."""
    key = key_of(world.a.class_id)
    for tenant in (0, key_of(world.b.id)):
        wrong = base64.b64encode(f"CustomerClass:{key}@{tenant}".encode()).decode()
        for token in (None, world.a.token):
            assert class_by_id(api, wrong, token) is None
            assert node(api, wrong, token) is None
            found = nodes(api, [wrong, world.a.class_id], token)
            assert found[0] is None and shown(found[1])["id"] == world.a.class_id


def test_key_only_class_ids_work_in_inputs_and_audit_filters(api: Api, world: World) -> None:
    """Mutations take either form; the audit trail gives the routed one out and finds the
    class's events by either."""
    key_only = gid("CustomerClass", key_of(world.a.class_id))
    payload = api.mutate(
        "updateCustomerClass",
        {"id": key_only, "description": "either form"},
        world.a.token,
        "customerClass { id description }",
    )
    assert payload["userErrors"] == []
    assert payload["customerClass"] == {"id": world.a.class_id, "description": "either form"}
    query = "query($id: ID) { auditEvents(objectId: $id) { nodes { objectId action } } }"
    by_routed = api.data(query, {"id": world.a.class_id}, world.a.token)["auditEvents"]["nodes"]
    by_key = api.data(query, {"id": key_only}, world.a.token)["auditEvents"]["nodes"]
    assert by_routed == by_key and by_routed[0] == {
        "objectId": world.a.class_id,
        "action": "UPDATE",
    }
