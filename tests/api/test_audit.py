"""auditEvents: newest first, keyset pages, objectId filter, totalCount, and tenancy
(SPEC §1 "Audit event", §2: resellers see the events whose tenant is themselves)."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from tests.api.listing_support import gid, key_of, parse_dt
from tests.api_client import Api, World

EVENTS = """
query($first: Int! = 50, $after: String, $objectId: ID) {
  auditEvents(first: $first, after: $after, objectId: $objectId) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
    nodes { id at action actorRole actorTokenName actorReseller { id }
            objectId objectType changes }
  }
}
"""


def events(api: Api, token: str | None = None, **args: Any) -> dict[str, Any]:
    variables = {key: value for key, value in args.items() if value is not None}
    found: dict[str, Any] = api.data(EVENTS, variables, token)["auditEvents"]
    return found


def error(api: Api, token: str | None = None, **args: Any) -> dict[str, Any]:
    body = api.run(EVENTS, {k: v for k, v in args.items() if v is not None}, token)
    assert body.get("errors"), body
    found: dict[str, Any] = body["errors"][0]
    return found


def newest_first(nodes: list[dict[str, Any]]) -> bool:
    keys = [(parse_dt(n["at"]), key_of(n["id"])) for n in nodes]
    return keys == sorted(keys, reverse=True)


def walk(api: Api, token: str | None, size: int, object_id: str | None = None) -> list[str]:
    seen: list[str] = []
    after = None
    for _ in range(100):
        page = events(api, token, first=size, after=after, objectId=object_id)
        info = page["pageInfo"]
        assert info["hasPreviousPage"] is (after is not None)
        if page["edges"]:
            assert info["startCursor"] == page["edges"][0]["cursor"]
            assert info["endCursor"] == page["edges"][-1]["cursor"]
        seen.extend(n["id"] for n in page["nodes"])
        if not info["hasNextPage"]:
            return seen
        assert len(page["nodes"]) == size
        after = info["endCursor"]
    raise AssertionError("too many pages")


# --------------------------------------------------------------------------- order and pages


def test_events_are_newest_first(api: Api, world: World) -> None:
    target = api.create_class(name="Audited")
    api.ok("updateCustomerClass", {"id": target, "description": "first change"})
    api.ok("setCustomerClassSharing", {"id": target, "shared": True})
    result = events(api)
    nodes = result["nodes"]
    assert newest_first(nodes)
    assert [(n["action"], n["objectId"]) for n in nodes[:3]] == [
        ("SHARE", target),
        ("UPDATE", target),
        ("CREATE", target),
    ]
    assert result["totalCount"] == len(nodes)


def test_administrator_sees_every_event(api: Api, world: World) -> None:
    nodes = events(api, first=100)["nodes"]
    objects = {n["objectId"] for n in nodes}
    for object_id in (
        world.a.id,
        world.b.id,
        world.a.class_id,
        world.b.class_id,
        world.a.customer_id,
        world.b.customer_id,
        world.admin_class_id,
        world.shared_class_id,
    ):
        assert object_id in objects
    # Administrators read the real token names, of every actor.
    names = {n["actorTokenName"] for n in nodes}
    assert {"root", "Reseller A token", "Reseller B token"} <= names
    assert "administrator" not in names


@pytest.mark.parametrize("size", [1, 2, 5])
def test_pages_walk_every_event_once_in_order(api: Api, world: World, size: int) -> None:
    for index in range(4):
        api.create_class(name=f"paged {index}")
    everything = events(api, first=100)
    expected = [n["id"] for n in everything["nodes"]]
    assert len(expected) == everything["totalCount"] > 10
    assert len(set(expected)) == len(expected)
    assert walk(api, None, size) == expected


def test_pages_as_reseller(api: Api, world: World) -> None:
    for index in range(5):
        api.create_class(world.a.token, name=f"A paged {index}")
    everything = events(api, world.a.token, first=100)
    expected = [n["id"] for n in everything["nodes"]]
    assert len(expected) == everything["totalCount"]
    assert walk(api, world.a.token, 2) == expected
    assert walk(api, world.a.token, 3) == expected


def test_page_info_and_total_count(api: Api, world: World) -> None:
    total = events(api, first=100)["totalCount"]
    first = events(api, first=3)
    assert len(first["nodes"]) == 3
    assert first["totalCount"] == total
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    rest = events(api, first=100, after=first["pageInfo"]["endCursor"])
    assert len(rest["nodes"]) == total - 3
    assert rest["totalCount"] == total
    assert rest["pageInfo"]["hasNextPage"] is False
    assert rest["pageInfo"]["hasPreviousPage"] is True
    after_last = events(api, first=5, after=rest["pageInfo"]["endCursor"])
    assert after_last["nodes"] == []
    assert after_last["pageInfo"]["startCursor"] is None
    assert after_last["pageInfo"]["endCursor"] is None


def test_new_events_do_not_shift_later_pages(api: Api, world: World) -> None:
    first = events(api, first=4)
    expected_next = [n["id"] for n in events(api, first=100)["nodes"]][4:8]
    api.create_class(name="Written meanwhile")
    following = events(api, first=4, after=first["pageInfo"]["endCursor"])
    assert [n["id"] for n in following["nodes"]] == expected_next


def test_default_page_is_fifty(api: Api) -> None:
    for index in range(55):
        api.ok(
            "createInvoiceTemplate",
            {"name": f"t{index}"},
            selection="invoiceTemplate { id }",
            input_type="CreateNamedCatalogEntryInput",
        )
    result = api.data("{ auditEvents { totalCount nodes { id } pageInfo { hasNextPage } } }")
    assert len(result["auditEvents"]["nodes"]) == 50
    assert result["auditEvents"]["totalCount"] == 56  # and the CLI's token
    assert result["auditEvents"]["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(("first", "code"), [(0, "BAD_USER_INPUT"), (101, "PAGE_TOO_LARGE")])
def test_page_size_limits(api: Api, first: int, code: str) -> None:
    assert error(api, first=first)["extensions"]["code"] == code


# --------------------------------------------------------------------------- objectId


def test_object_id_filter(api: Api, world: World) -> None:
    target = api.create_class(name="Watched")
    other = api.create_class(name="Unwatched")
    api.ok("updateCustomerClass", {"id": target, "description": "one"})
    api.ok("updateCustomerClass", {"id": other, "description": "x"})
    api.ok("updateCustomerClass", {"id": target, "description": "two"})
    result = events(api, objectId=target)
    assert [n["action"] for n in result["nodes"]] == ["UPDATE", "UPDATE", "CREATE"]
    assert {n["objectId"] for n in result["nodes"]} == {target}
    assert {n["objectType"] for n in result["nodes"]} == {"CustomerClass"}
    assert result["totalCount"] == 3
    assert newest_first(result["nodes"])
    assert result["nodes"][0]["changes"] == {"description": {"before": "one", "after": "two"}}
    assert walk(api, None, 1, target) == [n["id"] for n in result["nodes"]]


def test_object_id_filter_keeps_events_of_deleted_objects(api: Api, world: World) -> None:
    target = api.create_class(name="Short lived")
    api.ok("deleteCustomerClasses", {"ids": [target]}, selection="deletedIds")
    result = events(api, objectId=target)
    assert [n["action"] for n in result["nodes"]] == ["DELETE", "CREATE"]
    assert result["nodes"][0]["changes"]["name"] == {"before": "Short lived", "after": None}


@pytest.mark.parametrize(
    "object_id",
    # IDs that do not decode are BAD_USER_INPUT: test_filter_values.
    [gid("CustomerClass", 12345), gid("Customer", 1)],
)
def test_object_id_filter_without_events_is_empty(api: Api, world: World, object_id: str) -> None:
    result = events(api, objectId=object_id)
    assert result["nodes"] == [] and result["totalCount"] == 0
    assert result["pageInfo"]["hasNextPage"] is False


def test_object_id_filter_respects_tenancy(api: Api, world: World) -> None:
    assert events(api, world.b.token, objectId=world.a.class_id)["totalCount"] == 0
    assert events(api, world.a.token, objectId=world.a.class_id)["totalCount"] == 1
    # The administrator's own class: tenant null, hidden from resellers.
    assert events(api, world.a.token, objectId=world.admin_class_id)["nodes"] == []
    assert events(api, objectId=world.admin_class_id)["totalCount"] == 1


# --------------------------------------------------------------------------- cursors


def test_cursor_of_another_object_filter_is_bad_user_input(api: Api, world: World) -> None:
    api.ok("updateCustomerClass", {"id": world.admin_class_id, "description": "x"})
    cursor = events(api, first=1, objectId=world.admin_class_id)["pageInfo"]["endCursor"]
    for other in (None, world.shared_class_id):
        failure = error(api, first=1, after=cursor, objectId=other)
        assert failure["extensions"]["code"] == "BAD_USER_INPUT"
        assert failure["path"] == ["auditEvents"]
    unfiltered = events(api, first=1)["pageInfo"]["endCursor"]
    failure = error(api, after=unfiltered, objectId=world.admin_class_id)
    assert failure["extensions"]["code"] == "BAD_USER_INPUT"
    # Same filter: accepted.
    again = events(api, first=1, after=cursor, objectId=world.admin_class_id)
    assert [n["action"] for n in again["nodes"]] == ["CREATE"]


def forged(*parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


def test_garbage_cursors_are_bad_user_input(api: Api, world: World) -> None:
    real = events(api, first=1)["pageInfo"]["endCursor"]
    mark, at, key = orjson.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
    class_cursor = api.data("{ customerClasses(first: 1) { pageInfo { endCursor } } }")[
        "customerClasses"
    ]["pageInfo"]["endCursor"]
    for cursor in (
        "garbage",
        "",
        class_cursor,
        forged(mark, "not a date", key),
        forged(mark, at.replace("+00:00", ""), key),  # naive
        forged(mark, "0001-01-01T00:00:00+01:00", key),
        forged(mark, at, 2**64 - 1),
        forged(mark, at, "1"),
        forged(mark, 5, key),
        forged("AuditEvent:AT:0000000000000000", at, key),
    ):
        for token in (None, world.a.token):
            failure = error(api, token, after=cursor)
            assert failure["extensions"]["code"] == "BAD_USER_INPUT", cursor


# --------------------------------------------------------------------------- tenancy


def test_reseller_sees_only_its_tenant_events(api: Api, world: World) -> None:
    nodes = events(api, world.a.token, first=100)["nodes"]
    assert {n["objectId"] for n in nodes} == {
        api.data("{ apiTokens { id } }", token=world.a.token)["apiTokens"][0]["id"],
        world.a.class_id,
        world.a.customer_id,
    }
    for hidden in (
        world.b.class_id,
        world.b.customer_id,
        world.a.id,  # A's own record belongs to the administrator's tenant
        world.admin_class_id,
        world.shared_class_id,
    ):
        assert hidden not in {n["objectId"] for n in nodes}
    assert events(api, world.a.token)["totalCount"] == len(nodes) == 3
    b_nodes = events(api, world.b.token, first=100)["nodes"]
    assert not {n["id"] for n in nodes} & {n["id"] for n in b_nodes}
    assert len(b_nodes) == 3


def test_actor_token_name_is_anonymous_for_events_the_reseller_did_not_cause(
    api: Api, world: World
) -> None:
    # The administrator changes A's class and makes a class for A.
    api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "by admin"})
    made = api.create_class(name="Made for A", managingResellerId=world.a.id)
    nodes = events(api, world.a.token, first=100)["nodes"]
    by_object_action = {(n["objectId"], n["action"]): n for n in nodes}
    for key in ((world.a.class_id, "UPDATE"), (made, "CREATE")):
        event = by_object_action[key]
        assert event["actorTokenName"] == "administrator"
        assert event["actorRole"] == "ADMINISTRATOR"
        assert event["actorReseller"] is None
    # The token the administrator created for A: A's tenant, the administrator's act.
    token_events = [n for n in nodes if n["objectType"] == "ApiToken"]
    assert [n["actorTokenName"] for n in token_events] == ["administrator"]
    own = by_object_action[(world.a.class_id, "CREATE")]
    assert own["actorTokenName"] == "Reseller A token"
    assert own["actorRole"] == "RESELLER"
    assert own["actorReseller"] == {"id": world.a.id}
    # The administrator reads the real names.
    admin_view = {(n["objectId"], n["action"]): n for n in events(api, first=100)["nodes"]}
    assert admin_view[(made, "CREATE")]["actorTokenName"] == "root"
    assert admin_view[(world.a.class_id, "CREATE")]["actorTokenName"] == "Reseller A token"


def test_reseller_reads_names_of_its_own_other_tokens(api: Api, world: World) -> None:
    second = api.reseller_token(world.a.id, "A second token")
    made = api.create_class(second, name="By second token")
    event = events(api, world.a.token, objectId=made)["nodes"][0]
    assert event["actorTokenName"] == "A second token"
    assert event["actorReseller"] == {"id": world.a.id}


def test_reseller_event_kinds(api: Api, world: World) -> None:
    api.create_customer(world.a.token, name="On shared", customerClassId=world.shared_class_id)
    api.ok(
        "assignCustomerClass",
        {"customerId": world.a.customer_id, "customerClassId": world.shared_class_id},
        world.a.token,
    )
    api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "d"}, world.a.token)
    clone = api.ok(
        "cloneCustomerClass",
        {"id": world.shared_class_id, "name": "My copy"},
        world.a.token,
        selection="customerClass { id }",
    )["customerClass"]["id"]
    actions = [(n["action"], n["objectType"]) for n in events(api, world.a.token)["nodes"]]
    assert actions[:4] == [
        ("CLONE", "CustomerClass"),
        ("UPDATE", "CustomerClass"),
        ("ASSIGN", "Customer"),
        ("CREATE", "Customer"),
    ]
    clone_event = events(api, world.a.token, objectId=clone)["nodes"][0]
    assert clone_event["changes"]["clonedFrom"]["after"] == world.shared_class_id
    # Sharing changes are administrator-tenant events: invisible to A.
    before = events(api, world.a.token)["totalCount"]
    api.ok("setCustomerClassSharing", {"id": world.admin_class_id, "shared": True})
    assert events(api, world.a.token)["totalCount"] == before


def test_refused_mutations_write_no_event(api: Api, world: World) -> None:
    before = events(api)["totalCount"]
    before_a = events(api, world.a.token)["totalCount"]
    payload = api.mutate("createCustomerClass", {"name": "Reseller A class"}, world.a.token)
    assert [e["code"] for e in payload["userErrors"]] == ["TAKEN"]
    payload = api.mutate(
        "updateCustomerClass", {"id": world.shared_class_id, "description": "x"}, world.a.token
    )
    assert [e["code"] for e in payload["userErrors"]] == ["NOT_PERMITTED"]
    assert events(api)["totalCount"] == before
    assert events(api, world.a.token)["totalCount"] == before_a


def test_events_are_hidden_through_node_as_well(api: Api, world: World) -> None:
    b_event = events(api, world.b.token)["nodes"][0]["id"]
    query = "query($id: ID!) { node(id: $id) { id } }"
    assert api.data(query, {"id": b_event}, world.a.token)["node"] is None
    assert api.data(query, {"id": b_event}, world.b.token)["node"] == {"id": b_event}
    assert api.data(query, {"id": b_event})["node"] == {"id": b_event}
