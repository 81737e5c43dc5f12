"""auditEvents(first/after/last/before, orderBy): newest first by default, oldest first
on request, paged either way like customerClasses (SPEC §3), with cursors bound to the
listing, order and objectId, and a reseller confined to its own tenant's events."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from tenancy import pagination
from tests.api.connection_support import EVENTS, ids, walk_backward, walk_forward
from tests.api.listing_support import key_of, parse_dt
from tests.api_client import Api, World

DIRECTIONS = ["DESC", "ASC"]


@pytest.fixture
def busy(api: Api, world: World) -> World:
    """More events on every side: classes and customers of A, B and the administrator."""
    for token in (world.a.token, world.b.token, None):
        for index in range(3):
            api.create_customer(token, name=f"Busy {index}")
    api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "x"}, world.a.token)
    return world


def at(direction: str) -> dict[str, str]:
    return {"field": "AT", "direction": direction}


def expected_order(nodes: list[dict[str, Any]], direction: str) -> list[str]:
    keyed = sorted(nodes, key=lambda n: (parse_dt(n["at"]), key_of(n["id"])))
    return [n["id"] for n in (keyed if direction == "ASC" else keyed[::-1])]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_events_sort_by_time_then_id(api: Api, busy: World, direction: str) -> None:
    for token in (None, busy.a.token, busy.b.token):
        everything = EVENTS.page(api, token, first=100, orderBy=at(direction))
        assert everything["totalCount"] == len(everything["nodes"]) > 3
        assert ids(everything) == expected_order(everything["nodes"], direction)


def test_default_order_is_newest_first(api: Api, busy: World) -> None:
    default = api.data("{ auditEvents(first: 100) { nodes { id } } }")["auditEvents"]
    assert ids(default) == ids(EVENTS.page(api, first=100, orderBy=at("DESC")))
    oldest = ids(EVENTS.page(api, first=100, orderBy=at("ASC")))
    assert oldest == ids(default)[::-1]


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("size", [1, 4])
def test_walking_pages_both_ways_gives_every_event_once_in_order(
    api: Api, busy: World, direction: str, size: int
) -> None:
    expected = ids(EVENTS.page(api, first=100, orderBy=at(direction)))
    assert len(set(expected)) == len(expected)
    assert walk_forward(EVENTS, api, None, size, orderBy=at(direction)) == expected
    assert walk_backward(EVENTS, api, None, size, orderBy=at(direction)) == expected


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_reseller_walks_only_its_tenant_events_both_ways(
    api: Api, busy: World, direction: str
) -> None:
    by = at(direction)
    mine = ids(EVENTS.page(api, busy.a.token, first=100, orderBy=by))
    theirs = set(ids(EVENTS.page(api, busy.b.token, first=100, orderBy=by)))
    assert mine and theirs and not theirs & set(mine)
    assert walk_forward(EVENTS, api, busy.a.token, 2, orderBy=by) == mine
    assert walk_backward(EVENTS, api, busy.a.token, 2, orderBy=by) == mine
    own_class = ids(EVENTS.page(api, busy.a.token, orderBy=by, objectId=busy.a.class_id))
    assert len(own_class) == 2
    assert walk_backward(EVENTS, api, busy.a.token, 1, orderBy=by, objectId=busy.a.class_id) == (
        own_class
    )
    # B's class through A's backward pages: nothing.
    hidden = EVENTS.page(api, busy.a.token, last=10, orderBy=by, objectId=busy.b.class_id)
    assert hidden["nodes"] == [] and hidden["totalCount"] == 0


def test_another_tenants_cursor_is_only_a_position(api: Api, busy: World) -> None:
    mine = set(ids(EVENTS.page(api, busy.a.token, first=100)))
    for edge in EVENTS.page(api, busy.b.token, first=100)["edges"]:
        for args in ({"last": 100, "before": edge["cursor"]}, {"after": edge["cursor"]}):
            page = EVENTS.page(api, busy.a.token, **args)
            assert set(ids(page)) <= mine
            assert page["totalCount"] == len(mine)


def test_page_info_backward(api: Api, busy: World) -> None:
    everything = EVENTS.page(api, first=100)
    all_ids = ids(everything)
    total = everything["totalCount"]
    cursors = [e["cursor"] for e in everything["edges"]]
    last = EVENTS.page(api, last=3)
    assert ids(last) == all_ids[-3:] and last["totalCount"] == total
    assert last["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": cursors[-3],
        "endCursor": cursors[-1],
    }
    middle = EVENTS.page(api, last=3, before=cursors[-3])
    assert ids(middle) == all_ids[-6:-3]
    assert middle["pageInfo"]["hasPreviousPage"] is True
    assert middle["pageInfo"]["hasNextPage"] is True
    head = EVENTS.page(api, last=3, before=cursors[3])
    assert ids(head) == all_ids[:3] and head["pageInfo"]["hasPreviousPage"] is False
    nothing = EVENTS.page(api, last=3, before=cursors[0])
    assert nothing["nodes"] == []
    assert nothing["pageInfo"]["hasNextPage"] is True
    assert nothing["pageInfo"]["hasPreviousPage"] is False
    # first is ignored with last or before.
    assert ids(EVENTS.page(api, first=1, last=2)) == all_ids[-2:]
    assert ids(EVENTS.page(api, first=1, before=cursors[5])) == all_ids[:5]


# --------------------------------------------------------------------------- cursors


def decoded(cursor: str) -> list[Any]:
    found: list[Any] = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return found


def assert_bad_cursor(error: dict[str, Any]) -> None:
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["path"] == ["auditEvents"]


def test_cursor_of_another_direction_or_object_is_bad_user_input(api: Api, busy: World) -> None:
    newest = EVENTS.page(api, first=2)["pageInfo"]["endCursor"]
    oldest = EVENTS.page(api, first=2, orderBy=at("ASC"))["pageInfo"]["endCursor"]
    assert_bad_cursor(EVENTS.error(api, after=newest, orderBy=at("ASC")))
    assert_bad_cursor(EVENTS.error(api, last=2, before=newest, orderBy=at("ASC")))
    assert_bad_cursor(EVENTS.error(api, after=oldest))
    assert_bad_cursor(EVENTS.error(api, last=2, before=oldest))
    assert_bad_cursor(EVENTS.error(api, last=2, before=newest, objectId=busy.admin_class_id))
    customers = api.data("{ customers(first: 1) { pageInfo { endCursor } } }")
    assert_bad_cursor(EVENTS.error(api, before=customers["customers"]["pageInfo"]["endCursor"]))
    for garbage in ("garbage", "", "W10"):
        assert_bad_cursor(EVENTS.error(api, busy.a.token, last=1, before=garbage))


@pytest.mark.parametrize(
    "value", ["2020-01-01T00:00:00", "not a date", "0001-01-01T00:00:00+05:00", 5]
)
def test_forged_cursor_values_are_bad_user_input(api: Api, busy: World, value: Any) -> None:
    by = at("ASC")
    mark, _value, key = decoded(EVENTS.page(api, first=1, orderBy=by)["pageInfo"]["endCursor"])
    bad = base64.urlsafe_b64encode(orjson.dumps([mark, value, key])).decode()
    assert_bad_cursor(EVENTS.error(api, after=bad, orderBy=by))
    assert_bad_cursor(EVENTS.error(api, last=1, before=bad, orderBy=by))


def test_cursors_of_earlier_versions_stay_valid(api: Api, busy: World) -> None:
    """Before orderBy existed, an auditEvents cursor was marked "AuditEvent:AT:" and the
    objectId's fingerprint; newest first keeps that mark."""
    page = EVENTS.page(api, first=3)
    mark, value, key = decoded(page["pageInfo"]["endCursor"])
    assert mark == "AuditEvent:AT:" + pagination.fingerprint("auditEvents", {"objectId": None})
    earlier = pagination.encode_cursor(mark, value, key)
    rest = ids(EVENTS.page(api, first=100))[3:]
    assert ids(EVENTS.page(api, first=100, after=earlier)) == rest


# --------------------------------------------------------------------------- limits and cost


@pytest.mark.parametrize(
    ("args", "code"),
    [({"last": 0}, "BAD_USER_INPUT"), ({"last": 101}, "PAGE_TOO_LARGE")],
)
def test_page_size_limits_count_last(api: Api, args: dict[str, Any], code: str) -> None:
    assert EVENTS.error(api, **args)["extensions"]["code"] == code


def test_last_is_charged_like_first(api: Api, busy: World) -> None:
    def requested(document: str) -> int:
        cost: int = api.run(document)["extensions"]["cost"]["requestedQueryCost"]
        return cost

    forward = requested("{ auditEvents(first: 9) { nodes { id actorReseller { id } } } }")
    assert requested("{ auditEvents(last: 9) { nodes { id actorReseller { id } } } }") == forward
