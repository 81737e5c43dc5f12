"""CustomerClass.history (issue 11): a class's versions from the audit trail, newest first,
keyset-paginated, seen by whoever sees the class (resellers: their own and shared ones),
with the audit trail's masking; cursors bound to the class; cost and SQL statements."""

from __future__ import annotations

from typing import Any

import pytest

from db.settings import Settings
from tenancy import class_history
from tenancy.principal import Principal, Role
from tests.api.class_support import create, read_class, update
from tests.api.listing_support import create_catalogs, referenced_class_input
from tests.api.test_query_counts import statements
from tests.api_client import Api, World
from tests.integration.rls_support import key
from tests.support.cli import run_as_cli

VERSION = "version at action actorTokenName changes { path before after }"
HISTORY = (
    "query($id: ID!, $first: Int!, $after: String) { customerClass(id: $id) { version"
    " history(first: $first, after: $after) { totalCount"
    " pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
    " nodes { " + VERSION + " } } } }"
)


def history(
    api: Api, class_id: str, token: str | None = None, first: int = 50, after: str | None = None
) -> dict[str, Any] | None:
    """The class's history page as the caller reads it (None: the class is hidden)."""
    found = api.data(HISTORY, {"id": class_id, "first": first, "after": after}, token)
    node: dict[str, Any] | None = found["customerClass"]
    return None if node is None else node["history"]


def versions(api: Api, class_id: str, token: str | None = None) -> list[dict[str, Any]]:
    page = history(api, class_id, token)
    assert page is not None
    nodes: list[dict[str, Any]] = page["nodes"]
    assert page["totalCount"] == len(nodes)
    return nodes


def changes(node: dict[str, Any]) -> dict[str, Any]:
    return {c["path"]: (c["before"], c["after"]) for c in node["changes"]}


def _net_days(api: Api, class_id: str, days: int, token: str | None = None) -> None:
    update(api, {"id": class_id, "regularInvoices": {"paymentTerms": {"netDays": days}}}, token)


# --------------------------------------------------------------------------- administrator


def test_versions_newest_first_with_their_changes(api: Api) -> None:
    created = create(api, {"name": "Retail", "currencyCode": "USD"})
    class_id = created["id"]
    _net_days(api, class_id, 30)
    update(api, {"id": class_id, "description": "Shops"})
    api.ok("setCustomerClassSharing", {"id": class_id, "shared": True})

    nodes = versions(api, class_id)
    assert [n["version"] for n in nodes] == [4, 3, 2, 1]
    assert [n["action"] for n in nodes] == ["SHARE", "UPDATE", "UPDATE", "CREATE"]
    assert {n["actorTokenName"] for n in nodes} == {"root"}
    assert [n["at"] for n in nodes] == sorted((n["at"] for n in nodes), reverse=True)
    assert changes(nodes[0]) == {"sharedWithResellers": (False, True)}
    assert changes(nodes[1]) == {"description": (None, "Shops")}
    assert changes(nodes[2]) == {"regularInvoices.paymentTerms.netDays": (0, 30)}
    creation = changes(nodes[3])
    assert creation["name"] == (None, "Retail")
    assert creation["regularInvoices.paymentTerms.netDays"] == (None, 0)
    assert all(before is None for before, _ in creation.values())
    # Paths are sorted, and every tab leaf is listed on creation.
    assert [c["path"] for c in nodes[3]["changes"]] == sorted(creation)
    assert len(creation) > 100
    assert read_class(api, class_id)["version"] == 4  # type: ignore[index]


def test_a_class_without_changes_has_its_creation_only(api: Api) -> None:
    class_id = api.create_class(name="Quiet")
    page = history(api, class_id)
    assert page is not None and page["totalCount"] == 1
    assert [n["action"] for n in page["nodes"]] == ["CREATE"]
    assert page["pageInfo"]["hasNextPage"] is False


def test_clone_is_version_1_with_its_source(api: Api) -> None:
    source = api.create_class(name="Source", currencyCode="USD")
    payload = api.ok(
        "cloneCustomerClass", {"id": source, "name": "Copy"}, selection="customerClass { id }"
    )
    (node,) = versions(api, payload["customerClass"]["id"])
    assert (node["version"], node["action"]) == (1, "CLONE")
    assert changes(node)["clonedFrom"] == (None, source)
    assert changes(node)["name"] == (None, "Copy")


def test_the_default_class_starts_at_version_2(api: Api) -> None:
    """Version 1 of the Default class was installed by the migration, without an event:
    its history numbers its changes from 2, as its version does."""
    default = api.default_class_id()
    assert versions(api, default) == []
    update(api, {"id": default, "generalInfo": {"roundingPrecision": 3}})
    update(api, {"id": default, "generalInfo": {"roundingPrecision": 4}})
    nodes = versions(api, default)
    assert [n["version"] for n in nodes] == [3, 2]
    assert changes(nodes[1]) == {"generalInfo.roundingPrecision": (2, 3)}


def test_pages_follow_their_cursors(api: Api) -> None:
    class_id = api.create_class(name="Paged", currencyCode="USD")
    for days in range(1, 7):
        _net_days(api, class_id, days)
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = history(api, class_id, first=3, after=after)
        assert page is not None
        assert page["totalCount"] == 7
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [n["version"] for n in page["nodes"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [7, 6, 5, 4, 3, 2, 1]
    assert pages == 3
    # Past the end: an empty page, still counted.
    last = history(api, class_id, first=3, after=page["pageInfo"]["endCursor"])
    assert last is not None
    assert last["nodes"] == [] and last["totalCount"] == 7
    assert last["pageInfo"]["hasNextPage"] is False and last["pageInfo"]["endCursor"] is None


def test_a_cursor_belongs_to_its_class(api: Api) -> None:
    one = api.create_class(name="One")
    other = api.create_class(name="Other")
    _net_days(api, one, 5)
    page = history(api, one, first=1)
    assert page is not None
    cursor = page["pageInfo"]["endCursor"]
    variables = {"id": other, "first": 1, "after": cursor}
    assert api.error_code(HISTORY, variables) == "BAD_USER_INPUT"
    variables = {"id": one, "first": 1, "after": "not a cursor"}
    assert api.error_code(HISTORY, variables) == "BAD_USER_INPUT"
    auditor = "{ auditEvents(first: 1) { pageInfo { endCursor } } }"
    foreign = api.data(auditor)["auditEvents"]["pageInfo"]["endCursor"]
    assert api.error_code(HISTORY, {"id": one, "first": 1, "after": foreign}) == "BAD_USER_INPUT"


@pytest.mark.parametrize(("first", "code"), [(101, "PAGE_TOO_LARGE"), (0, "BAD_USER_INPUT")])
def test_page_size_limits(api: Api, first: int, code: str) -> None:
    class_id = api.create_class(name="Sized")
    assert api.error_code(HISTORY, {"id": class_id, "first": first}) == code


def test_history_is_costed_as_a_connection(api: Api) -> None:
    """A page of versions costs its size, and each version its changes' maximum (every
    leaf of a class plus one note: 133), like any list of objects."""
    class_id = api.create_class(name="Costed")
    query = (
        "query($id: ID!) { customerClass(id: $id) { history(first: 2) {"
        " nodes { version changes { path } } } } }"
    )
    body = api.run(query, {"id": class_id})
    assert "errors" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 2 * 133
    # 50 classes x 20 versions x 134 objects is over the node budget.
    query = "{ customerClasses(first: 50) { nodes { history { nodes { changes { path } } } } } }"
    assert api.error_code(query) == "QUERY_TOO_COMPLEX"


# --------------------------------------------------------------------------- isolation


def test_the_owning_reseller_sees_its_class_history_masked(api: Api, world: World) -> None:
    """The owning reseller reads its class's history; a change the administrator made
    shows the actor as "administrator", as auditEvents does."""
    class_id = world.a.class_id
    _net_days(api, class_id, 10, world.a.token)
    _net_days(api, class_id, 20)
    own = versions(api, class_id, world.a.token)
    admin = versions(api, class_id)
    assert [n["version"] for n in own] == [n["version"] for n in admin] == [3, 2, 1]
    assert [n["actorTokenName"] for n in own] == [
        "administrator",
        "Reseller A token",
        "Reseller A token",
    ]
    assert [n["actorTokenName"] for n in admin] == ["root", "Reseller A token", "Reseller A token"]
    assert [n["changes"] for n in own] == [n["changes"] for n in admin]


def test_a_reseller_sees_the_history_of_shared_classes(api: Api, world: World) -> None:
    shared = world.shared_class_id
    _net_days(api, shared, 15)
    for tenant in (world.a, world.b):
        nodes = versions(api, shared, tenant.token)
        assert [(n["version"], n["action"]) for n in nodes] == [(2, "UPDATE"), (1, "CREATE")]
        assert {n["actorTokenName"] for n in nodes} == {"administrator"}
        assert nodes == [{**n, "actorTokenName": "administrator"} for n in versions(api, shared)]
    # auditEvents still shows a reseller only its own tenant's events.
    query = "query($id: ID) { auditEvents(objectId: $id) { totalCount } }"
    assert api.data(query, {"id": shared}, world.a.token)["auditEvents"]["totalCount"] == 0


def test_a_shared_clone_does_not_name_a_hidden_source(api: Api, world: World) -> None:
    """A shared class cloned from a private administrator class: resellers read the
    clone's history without the hidden source's ID."""
    payload = api.ok(
        "cloneCustomerClass",
        {"id": world.admin_class_id, "name": "Shared copy"},
        selection="customerClass { id }",
    )
    copy = payload["customerClass"]["id"]
    api.ok("setCustomerClassSharing", {"id": copy, "shared": True})
    (share, clone) = versions(api, copy, world.a.token)
    assert changes(clone)["clonedFrom"] == (None, None)
    assert world.admin_class_id not in str(clone)
    assert changes(versions(api, copy)[1])["clonedFrom"] == (None, world.admin_class_id)
    assert share["action"] == "SHARE"


def test_hidden_classes_have_no_reachable_history(api: Api, world: World) -> None:
    _net_days(api, world.admin_class_id, 9)
    assert history(api, world.admin_class_id, world.a.token) is None
    assert history(api, world.b.class_id, world.a.token) is None
    assert history(api, world.a.class_id, world.b.token) is None
    # Not through nodes(ids:) or a list either.
    query = (
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on CustomerClass { history {"
        " totalCount } } } }"
    )
    found = api.data(query, {"ids": [world.b.class_id, world.admin_class_id]}, world.a.token)
    assert found["nodes"] == [None, None]
    listed = "{ customerClasses(first: 100) { nodes { id history { totalCount } } } }"
    ids = {n["id"] for n in api.data(listed, token=world.a.token)["customerClasses"]["nodes"]}
    assert world.b.class_id not in ids and world.admin_class_id not in ids
    # A cursor of a class the reseller cannot see is refused like any foreign cursor.
    page = history(api, world.b.class_id, world.b.token, first=1)
    assert page is not None
    variables = {"id": world.a.class_id, "first": 1, "after": page["pageInfo"]["endCursor"]}
    assert api.error_code(HISTORY, variables, world.a.token) == "BAD_USER_INPUT"


def test_a_deleted_class_leaves_no_history_to_read(api: Api) -> None:
    class_id = api.create_class(name="Gone")
    api.ok("deleteCustomerClasses", {"ids": [class_id]}, selection="deletedIds")
    assert history(api, class_id) is None


# --------------------------------------------------------------------------- statements


HISTORY_PAGE = (
    "{ customerClasses(first: 20) { nodes { id isDefault version history(first: 3) { totalCount"
    " pageInfo { hasNextPage endCursor } nodes { version at action actorTokenName } } } } }"
)  # (changes come from the same rows: no statement of their own)


@pytest.mark.parametrize("who", ["administrator", "reseller"])
def test_history_on_a_page_of_classes_costs_fixed_statements(
    api: Api, world: World, sql_statements: list[str], who: str
) -> None:
    token = world.a.token if who == "reseller" else None
    refs = create_catalogs(api)

    def grow(start: int, count: int) -> None:
        for index in range(start, start + count):
            owner = world.a.token if index % 2 else None
            extra = {} if index % 2 else {"sharedWithResellers": True}
            class_id = api.create_class(
                owner, **referenced_class_input(refs, f"Zone {index:03d}", **extra)
            )
            for days in range(index % 4):
                _net_days(api, class_id, days + 1, owner)

    # Named after "Default", so that both pages hold the Default class, whose empty
    # history is counted by a statement of its own.
    grow(0, 4)
    small, data = statements(api, sql_statements, HISTORY_PAGE, token=token)
    nodes = data["customerClasses"]["nodes"]
    with_history = [n for n in nodes if n["history"]["totalCount"]]
    assert len(with_history) >= 4
    for node in nodes:
        page, version = node["history"], node["version"]
        assert page["totalCount"] == version - (1 if node["isDefault"] else 0)
        expected = range(version, max(version - 3, version - page["totalCount"]), -1)
        assert [v["version"] for v in page["nodes"]] == list(expected)
        assert page["pageInfo"]["hasNextPage"] is (page["totalCount"] > 3)
    grow(4, 36)
    large, data = statements(api, sql_statements, HISTORY_PAGE, token=token)
    assert len(data["customerClasses"]["nodes"]) == 20
    assert large == small, (small, large)
    # Every class's history page in one statement on the audit trail (the Default class,
    # with no event, is counted by a second one).
    events = [s for s in sql_statements if "audit_event" in s.lower()]
    assert 1 <= len(events) <= 2, events


def test_hidden_class_keys_give_no_page_and_no_count(
    api: Api, world: World, settings: Settings
) -> None:
    """The use-cases behind the loaders answer nothing for keys the caller cannot see
    (the class itself decides, read with visible(), before any event is read)."""
    a = Principal(Role.RESELLER, key(world.a.id), token_id=None, token_name="test")
    hidden = [key(world.b.class_id), key(world.admin_class_id)]

    async def work(conn: Any) -> tuple[Any, Any, Any]:
        return (
            await class_history.history_pages(conn, a, hidden, first=5, after=None),
            await class_history.history_counts(conn, a, hidden),
            await class_history.history_counts(conn, a, []),
        )

    assert run_as_cli(settings, work) == ({}, {}, {})
