"""customers(first/after/last/before, orderBy): the connection behaves exactly like
customerClasses (SPEC §3): sorted by the chosen field then id, paged forwards or
backwards (with last or before, first is ignored), cursors bound to their listing,
order and filter, and a reseller never reaches another tenant's customers."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from tenancy import pagination
from tests.api.connection_support import CUSTOMERS, ids, walk_backward, walk_forward
from tests.api.listing_support import key_of, parse_dt
from tests.api_client import Api, World

ORDERS = [("NAME", "ASC"), ("NAME", "DESC"), ("CREATED_AT", "ASC"), ("CREATED_AT", "DESC")]


@pytest.fixture
def crowd(api: Api, world: World) -> World:
    """Customers with name ties on every side: 15 for the administrator, 7 for A."""
    for name in ("Same", "same", "Alpha", "zulu", "SAME"):
        api.create_customer(world.a.token, name=name)
    for name in ("Same", "beta", "Omega"):
        api.create_customer(world.b.token, name=name)
    for name in ("same", "Delta", "Echo"):
        api.create_customer(name=name)
    return world


def order(field: str, direction: str) -> dict[str, str]:
    return {"field": field, "direction": direction}


def expected_order(nodes: list[dict[str, Any]], field: str, direction: str) -> list[str]:
    def sort_key(node: dict[str, Any]) -> tuple[Any, int]:
        value = node["name"].casefold() if field == "NAME" else parse_dt(node["createdAt"])
        return value, key_of(node["id"])

    return [n["id"] for n in sorted(nodes, key=sort_key, reverse=direction == "DESC")]


# --------------------------------------------------------------------------- order and walks


@pytest.mark.parametrize(("field", "direction"), ORDERS)
def test_each_order_sorts_by_its_field_then_id(
    api: Api, crowd: World, field: str, direction: str
) -> None:
    for token, count in ((None, 15), (crowd.a.token, 7), (crowd.b.token, 5)):
        everything = CUSTOMERS.page(api, token, first=100, orderBy=order(field, direction))
        assert everything["totalCount"] == len(everything["nodes"]) == count
        assert ids(everything) == expected_order(everything["nodes"], field, direction)


def test_default_order_is_name_ascending(api: Api, crowd: World) -> None:
    explicit = CUSTOMERS.page(api, first=100, orderBy=order("NAME", "ASC"))
    default = api.data("{ customers(first: 100) { nodes { id } } }")["customers"]
    assert ids(default) == ids(explicit)


@pytest.mark.parametrize(("field", "direction"), ORDERS)
@pytest.mark.parametrize("size", [1, 4])
def test_walking_pages_both_ways_gives_every_row_once_in_order(
    api: Api, crowd: World, field: str, direction: str, size: int
) -> None:
    by = order(field, direction)
    expected = ids(CUSTOMERS.page(api, first=100, orderBy=by))
    assert len(set(expected)) == 15
    assert walk_forward(CUSTOMERS, api, None, size, orderBy=by) == expected
    assert walk_backward(CUSTOMERS, api, None, size, orderBy=by) == expected


@pytest.mark.parametrize(("field", "direction"), ORDERS)
def test_reseller_walks_only_its_own_customers_both_ways(
    api: Api, crowd: World, field: str, direction: str
) -> None:
    by = order(field, direction)
    mine = ids(CUSTOMERS.page(api, crowd.a.token, first=100, orderBy=by))
    theirs = set(ids(CUSTOMERS.page(api, crowd.b.token, first=100, orderBy=by)))
    assert len(mine) == 7 and not theirs & set(mine)
    assert walk_forward(CUSTOMERS, api, crowd.a.token, 2, orderBy=by) == mine
    assert walk_backward(CUSTOMERS, api, crowd.a.token, 2, orderBy=by) == mine
    same = {"nameContains": "same"}
    filtered = ids(CUSTOMERS.page(api, crowd.a.token, first=100, orderBy=by, filter=same))
    assert len(filtered) == 3
    assert walk_backward(CUSTOMERS, api, crowd.a.token, 2, orderBy=by, filter=same) == filtered


def test_another_tenants_cursor_is_only_a_position(api: Api, crowd: World) -> None:
    """B's cursor, used by A with last/before or first/after, shows A's rows only."""
    mine = set(ids(CUSTOMERS.page(api, crowd.a.token, first=100)))
    b_edges = CUSTOMERS.page(api, crowd.b.token, first=100)["edges"]
    for edge in b_edges:
        for args in ({"last": 100, "before": edge["cursor"]}, {"after": edge["cursor"]}):
            page = CUSTOMERS.page(api, crowd.a.token, **args)
            assert set(ids(page)) <= mine
            assert page["totalCount"] == 7


# --------------------------------------------------------------------------- pageInfo


def test_page_info_backward(api: Api, crowd: World) -> None:
    everything = CUSTOMERS.page(api, first=100)
    all_ids = ids(everything)
    cursors = [e["cursor"] for e in everything["edges"]]
    last = CUSTOMERS.page(api, last=4)
    assert ids(last) == all_ids[-4:]
    assert last["totalCount"] == 15
    assert last["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": cursors[-4],
        "endCursor": cursors[-1],
    }
    before = CUSTOMERS.page(api, last=4, before=cursors[-4])
    assert ids(before) == all_ids[-8:-4]
    assert before["pageInfo"]["hasPreviousPage"] is True
    assert before["pageInfo"]["hasNextPage"] is True
    head = CUSTOMERS.page(api, last=4, before=cursors[4])
    assert ids(head) == all_ids[:4]
    assert head["pageInfo"]["hasPreviousPage"] is False
    assert head["pageInfo"]["hasNextPage"] is True
    nothing = CUSTOMERS.page(api, last=4, before=cursors[0])
    assert nothing["nodes"] == [] and nothing["totalCount"] == 15
    assert nothing["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }
    # Exactly the whole listing backwards: no page before it.
    whole = CUSTOMERS.page(api, last=15)
    assert ids(whole) == all_ids and whole["pageInfo"]["hasPreviousPage"] is False


def test_last_or_before_ignores_first(api: Api, crowd: World) -> None:
    everything = CUSTOMERS.page(api, first=100)
    all_ids = ids(everything)
    cursors = [e["cursor"] for e in everything["edges"]]
    assert ids(CUSTOMERS.page(api, first=2, last=3)) == all_ids[-3:]
    # before without last: a backward page of the default size (50).
    assert ids(CUSTOMERS.page(api, first=1, before=cursors[6])) == all_ids[:6]


def test_empty_listing_backwards(api: Api, world: World) -> None:
    page = CUSTOMERS.page(api, world.a.token, last=5, filter={"nameContains": "nobody"})
    assert page["nodes"] == [] and page["totalCount"] == 0
    assert page["pageInfo"]["hasPreviousPage"] is False
    assert page["pageInfo"]["hasNextPage"] is False


# --------------------------------------------------------------------------- cursors


def decoded(cursor: str) -> list[Any]:
    found: list[Any] = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return found


def assert_bad_cursor(error: dict[str, Any]) -> None:
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["path"] == ["customers"]


@pytest.mark.parametrize(("field", "direction"), ORDERS[1:])
def test_cursor_of_another_order_is_bad_user_input(
    api: Api, crowd: World, field: str, direction: str
) -> None:
    cursor = CUSTOMERS.page(api, first=2)["pageInfo"]["endCursor"]
    other = order(field, direction)
    assert_bad_cursor(CUSTOMERS.error(api, after=cursor, orderBy=other))
    assert_bad_cursor(CUSTOMERS.error(api, last=2, before=cursor, orderBy=other))
    # And the other way round.
    theirs = CUSTOMERS.page(api, first=2, orderBy=other)["pageInfo"]["endCursor"]
    assert_bad_cursor(CUSTOMERS.error(api, after=theirs))
    assert_bad_cursor(CUSTOMERS.error(api, last=2, before=theirs))


def test_cursor_of_another_filter_or_listing_is_bad_user_input(api: Api, crowd: World) -> None:
    cursor = CUSTOMERS.page(api, first=2)["pageInfo"]["endCursor"]
    filtered = {"nameContains": "same"}
    assert_bad_cursor(CUSTOMERS.error(api, last=2, before=cursor, filter=filtered))
    events = api.data("{ auditEvents(first: 1) { pageInfo { endCursor } } }")
    assert_bad_cursor(CUSTOMERS.error(api, before=events["auditEvents"]["pageInfo"]["endCursor"]))
    classes = api.data("{ customerClasses(first: 1) { pageInfo { endCursor } } }")
    class_cursor = classes["customerClasses"]["pageInfo"]["endCursor"]
    assert_bad_cursor(CUSTOMERS.error(api, last=1, before=class_cursor))
    for garbage in ("garbage", "", "W10"):
        assert_bad_cursor(CUSTOMERS.error(api, crowd.a.token, last=1, before=garbage))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("NAME", "a\x00b"),
        ("NAME", 12),
        ("CREATED_AT", "2020-01-01T00:00:00"),
        ("CREATED_AT", "not a date"),
        ("CREATED_AT", "0001-01-01T00:00:00+05:00"),
    ],
)
def test_forged_cursor_values_are_bad_user_input(
    api: Api, crowd: World, field: str, value: Any
) -> None:
    by = order(field, "ASC")
    mark, _value, key = decoded(CUSTOMERS.page(api, first=1, orderBy=by)["pageInfo"]["endCursor"])
    bad = base64.urlsafe_b64encode(orjson.dumps([mark, value, key])).decode()
    assert_bad_cursor(CUSTOMERS.error(api, after=bad, orderBy=by))
    assert_bad_cursor(CUSTOMERS.error(api, last=1, before=bad, orderBy=by))


def test_cursors_of_earlier_versions_stay_valid(api: Api, crowd: World) -> None:
    """Before orderBy existed, a customers cursor was marked "Customer:NAME:" and the
    filter's fingerprint; the default order keeps that mark."""
    page = CUSTOMERS.page(api, first=3)
    mark, value, key = decoded(page["pageInfo"]["endCursor"])
    assert mark == "Customer:NAME:" + pagination.fingerprint("customers", {})
    earlier = pagination.encode_cursor(mark, value, key)
    rest = ids(CUSTOMERS.page(api, first=100))[3:]
    assert ids(CUSTOMERS.page(api, first=100, after=earlier)) == rest
    assert api.data(
        "query($a: String) { customers(first: 100, after: $a) { nodes { id } } }", {"a": earlier}
    )["customers"]["nodes"] == [{"id": i} for i in rest]


# --------------------------------------------------------------------------- limits and cost


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"last": 0}, "BAD_USER_INPUT"),
        ({"last": -1}, "BAD_USER_INPUT"),
        ({"last": 101}, "PAGE_TOO_LARGE"),
    ],
)
def test_page_size_limits_count_last(api: Api, args: dict[str, Any], code: str) -> None:
    assert CUSTOMERS.error(api, **args)["extensions"]["code"] == code


def test_last_is_charged_like_first(api: Api, crowd: World) -> None:
    def requested(document: str) -> int:
        cost: int = api.run(document)["extensions"]["cost"]["requestedQueryCost"]
        return cost

    forward = requested("{ customers(first: 7) { nodes { id parent { id } } } }")
    assert requested("{ customers(last: 7) { nodes { id parent { id } } } }") == forward
    assert requested('{ customers(before: "x", first: 7) { totalCount } }') == requested(
        "{ customers(first: 50) { totalCount } }"
    )
