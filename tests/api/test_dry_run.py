"""Dry runs (issue 11): dryRun runs the real mutation in a savepoint that is always rolled
back. Same checks, errors and tenancy as the real run; nothing persists (no audit event,
no version change); the payload, nested fields included, shows the would-be state."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.customer_support import state
from tests.api_client import Api, World
from tests.support.audit import event_count
from tests.support.errors import errors_of

NET_DAYS = "regularInvoices { paymentTerms { netDays } }"
CLASS = f"customerClass {{ id version description sharedWithResellers {NET_DAYS} }}"
NESTED = (
    "customerClass { id version customerCount"
    f" customers {{ totalCount nodes {{ id effectiveSettings {{ {NET_DAYS} }} }} }} }}"
)
IMPACT = (
    "impact { changes { path before after } affectedCustomerCount"
    f" affectedCustomers {{ totalCount nodes {{ id effectiveSettings {{ {NET_DAYS} }} }} }}"
    " affectedByReseller { reseller { id } customerCount } }"
)
CLASS_QUERY = (
    f"query($id: ID!) {{ customerClass(id: $id) {{ id version description {NET_DAYS} }} }}"
)


def net_days(days: int) -> dict[str, Any]:
    return {"regularInvoices": {"paymentTerms": {"netDays": days}}}


def stored(api: Api, class_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.data(CLASS_QUERY, {"id": class_id})["customerClass"]
    return found


def update(
    api: Api, token: str | None, class_id: str, dry: bool, selection: str = CLASS, **more: Any
) -> dict[str, Any]:
    return api.mutate(
        "updateCustomerClass", {"id": class_id, "dryRun": dry, **more}, token, selection
    )


def unchanged(api: Api, run: Any) -> Any:
    """Run ``run``; nothing of what any mutation could change may differ afterwards."""
    before = state(api)
    result = run()
    assert state(api) == before
    return result


# --------------------------------------------------------------------------- update


def test_dry_run_shows_the_new_values_and_writes_nothing(world: World, api: Api) -> None:
    events = event_count(api)
    payload = unchanged(
        api,
        lambda: update(api, None, world.shared_class_id, True, f"{CLASS} {IMPACT}", **net_days(30)),
    )
    assert payload["userErrors"] == []
    assert payload["customerClass"]["version"] == 2  # as it would be
    assert payload["customerClass"]["regularInvoices"]["paymentTerms"]["netDays"] == 30
    assert payload["impact"]["changes"] == [
        {"path": "regularInvoices.paymentTerms.netDays", "before": 0, "after": 30}
    ]
    # A query right after shows the old values; no audit event, no version change.
    assert stored(api, world.shared_class_id)["version"] == 1
    assert stored(api, world.shared_class_id)["regularInvoices"]["paymentTerms"]["netDays"] == 0
    assert event_count(api) == events


def test_nested_fields_of_a_dry_run_show_the_would_be_state(world: World, api: Api) -> None:
    for tenant in (world.a, world.b):
        api.ok(
            "assignCustomerClass",
            {"customerId": tenant.customer_id, "customerClassId": world.shared_class_id},
            tenant.token,
        )
    payload = update(api, None, world.shared_class_id, True, f"{NESTED} {IMPACT}", **net_days(30))
    assert payload["userErrors"] == []
    nodes = payload["customerClass"]["customers"]["nodes"]
    assert len(nodes) == 2
    assert {
        n["effectiveSettings"]["regularInvoices"]["paymentTerms"]["netDays"] for n in nodes
    } == {30}
    affected = payload["impact"]["affectedCustomers"]["nodes"]
    assert {n["id"] for n in affected} == {world.a.customer_id, world.b.customer_id}
    assert {
        n["effectiveSettings"]["regularInvoices"]["paymentTerms"]["netDays"] for n in affected
    } == {30}
    # The same customers, read after the dry run, still have net 0.
    query = f"query($id: ID!) {{ customer(id: $id) {{ effectiveSettings {{ {NET_DAYS} }} }} }}"
    seen = api.data(query, {"id": world.a.customer_id})["customer"]["effectiveSettings"]
    assert seen["regularInvoices"]["paymentTerms"]["netDays"] == 0


def test_a_real_run_fills_the_same_impact(world: World, api: Api) -> None:
    dry = update(api, None, world.a.class_id, True, f"{CLASS} {IMPACT}", **net_days(30))
    events = event_count(api)
    real = update(api, None, world.a.class_id, False, f"{CLASS} {IMPACT}", **net_days(30))
    assert real["userErrors"] == []
    assert real["impact"] == dry["impact"]
    assert real["customerClass"] == dry["customerClass"]
    assert real["impact"]["affectedCustomerCount"] == 1
    assert stored(api, world.a.class_id)["version"] == 2
    assert event_count(api) == events + 1


def test_dry_run_refusals_are_the_real_ones(world: World, api: Api) -> None:
    cases: list[tuple[str | None, str, dict[str, Any], list[tuple[str, list[str]]]]] = [
        # another reseller's class is hidden: NOT_FOUND, never more
        (world.b.token, world.a.class_id, net_days(30), [("NOT_FOUND", ["input", "id"])]),
        # a shared class is read-only to a reseller
        (world.a.token, world.shared_class_id, net_days(30), [("NOT_PERMITTED", ["input", "id"])]),
        # validation
        (
            world.a.token,
            world.a.class_id,
            net_days(366),
            [("OUT_OF_RANGE", ["input", "regularInvoices", "paymentTerms", "netDays"])],
        ),
        (
            world.a.token,
            world.a.class_id,
            {"expectedVersion": 7},
            [("VERSION_CONFLICT", ["input", "expectedVersion"])],
        ),
    ]
    for token, class_id, patch, expected in cases:
        dry = unchanged(
            api,
            lambda t=token, c=class_id, p=patch: update(api, t, c, True, f"{CLASS} {IMPACT}", **p),
        )
        real = unchanged(
            api,
            lambda t=token, c=class_id, p=patch: update(api, t, c, False, f"{CLASS} {IMPACT}", **p),
        )
        assert errors_of(dry) == errors_of(real) == expected
        assert dry == real
        assert dry["customerClass"] is None and dry["impact"] is None


def test_owning_reseller_dry_runs_its_class(world: World, api: Api) -> None:
    payload = unchanged(
        api,
        lambda: update(
            api, world.a.token, world.a.class_id, True, f"{CLASS} {IMPACT}", **net_days(10)
        ),
    )
    assert payload["userErrors"] == []
    impact = payload["impact"]
    assert impact["affectedCustomerCount"] == 1
    assert [n["id"] for n in impact["affectedCustomers"]["nodes"]] == [world.a.customer_id]
    assert impact["affectedByReseller"] is None  # administrators only


def test_null_dry_run_is_a_real_run(world: World, api: Api) -> None:
    payload = api.mutate(
        "updateCustomerClass",
        {"id": world.a.class_id, "dryRun": None, "description": "Real"},
        world.a.token,
        CLASS,
    )
    assert payload["userErrors"] == []
    assert stored(api, world.a.class_id)["description"] == "Real"


# --------------------------------------------------------------------------- several fields


def test_a_dry_run_beside_real_runs_in_one_request(world: World, api: Api) -> None:
    """Each root field has its own savepoint: the dry one is rolled back, whatever its
    place; the real ones before and after it are kept."""
    query = """mutation($id: ID!) {
      first: updateCustomerClass(input: {id: $id, description: "one"}) { userErrors { code } }
      dry: updateCustomerClass(input: {id: $id, description: "dry", dryRun: true}) {
        customerClass { version description } userErrors { code } }
      last: updateCustomerClass(input: {id: $id, regularInvoices: {paymentTerms: {netDays: 5}}}) {
        customerClass { version description } userErrors { code } }
    }"""
    data = api.data(query, {"id": world.a.class_id})
    assert data["dry"]["customerClass"] == {"version": 3, "description": "dry"}
    # The field after the dry run starts from the state before it.
    assert data["last"]["customerClass"] == {"version": 3, "description": "one"}
    after = stored(api, world.a.class_id)
    assert after["description"] == "one"
    assert after["version"] == 3  # the two real runs
    assert after["regularInvoices"]["paymentTerms"]["netDays"] == 5


def test_a_dry_run_as_the_last_field_is_rolled_back(world: World, api: Api) -> None:
    query = """mutation($id: ID!) {
      real: updateCustomerClass(input: {id: $id, description: "kept"}) { userErrors { code } }
      dry: updateCustomerClass(input: {id: $id, description: "gone", dryRun: true}) {
        customerClass { version description } userErrors { code } }
    }"""
    events = event_count(api)
    data = api.data(query, {"id": world.a.class_id})
    assert data["dry"]["customerClass"] == {"version": 3, "description": "gone"}
    assert stored(api, world.a.class_id)["description"] == "kept"
    assert stored(api, world.a.class_id)["version"] == 2
    assert event_count(api) == events + 1


# --------------------------------------------------------------------------- delete


def test_delete_dry_run_lists_what_would_go(world: World, api: Api) -> None:
    spare = api.create_class(world.a.token, name="Spare", currencyCode="USD")
    ids = [spare, world.a.class_id, world.b.class_id, world.shared_class_id]
    expected = {
        # the owner: its own class in use, B's hidden, the shared one read-only
        world.a.token: [
            ("IN_USE", ["input", "ids", "1"]),
            ("NOT_FOUND", ["input", "ids", "2"]),
            ("NOT_PERMITTED", ["input", "ids", "3"]),
        ],
        # another reseller: A's classes are hidden
        world.b.token: [
            ("NOT_FOUND", ["input", "ids", "0"]),
            ("NOT_FOUND", ["input", "ids", "1"]),
            ("IN_USE", ["input", "ids", "2"]),
            ("NOT_PERMITTED", ["input", "ids", "3"]),
        ],
        None: [("IN_USE", ["input", "ids", "1"]), ("IN_USE", ["input", "ids", "2"])],
    }
    events = event_count(api)
    for token, errors in expected.items():
        payload = unchanged(
            api,
            lambda t=token: api.mutate(
                "deleteCustomerClasses", {"ids": ids, "dryRun": True}, t, "deletedIds"
            ),
        )
        deleted = {world.a.token: [spare], world.b.token: [], None: [spare, world.shared_class_id]}
        assert payload["deletedIds"] == deleted[token]
        assert errors_of(payload) == errors
    assert event_count(api) == events
    # Every class is still there; the real run deletes what the dry run said.
    real = api.mutate("deleteCustomerClasses", {"ids": ids}, world.a.token, "deletedIds")
    assert real["deletedIds"] == [spare]
    assert stored_or_none(api, spare) is None


def stored_or_none(api: Api, class_id: str) -> Any:
    return api.data(CLASS_QUERY, {"id": class_id})["customerClass"]


# --------------------------------------------------------------------------- sharing


def test_sharing_dry_run(world: World, api: Api) -> None:
    selection = f"{CLASS} {IMPACT}"
    payload = unchanged(
        api,
        lambda: api.mutate(
            "setCustomerClassSharing",
            {"id": world.admin_class_id, "shared": True, "dryRun": True},
            None,
            selection,
        ),
    )
    assert payload["userErrors"] == []
    assert payload["customerClass"]["sharedWithResellers"] is True
    assert payload["impact"]["changes"] == [
        {"path": "sharedWithResellers", "before": False, "after": True}
    ]
    assert payload["impact"]["affectedCustomerCount"] == 0
    assert payload["impact"]["affectedByReseller"] == []
    # Still private: reseller A cannot see it.
    seen = api.data(CLASS_QUERY, {"id": world.admin_class_id}, world.a.token)["customerClass"]
    assert seen is None
    # A reseller is refused by its role, dry run or not.
    query = (
        "mutation($id: ID!) { setCustomerClassSharing(input: {id: $id, shared: true,"
        " dryRun: true}) { userErrors { code } } }"
    )
    assert api.error_code(query, {"id": world.a.class_id}, world.a.token) == "FORBIDDEN"
    # Refusals are the real ones (unsharing a class resellers' customers use).
    api.ok(
        "assignCustomerClass",
        {"customerId": world.a.customer_id, "customerClassId": world.shared_class_id},
        world.a.token,
    )
    unshare = {"id": world.shared_class_id, "shared": False}
    dry = api.mutate("setCustomerClassSharing", {**unshare, "dryRun": True}, None, selection)
    assert errors_of(dry) == [("IN_USE", ["input", "id"])]
    assert dry["impact"] is None


# --------------------------------------------------------------------------- assign


CUSTOMER = (
    "customer { id customerClass { id customerCount customers { totalCount nodes { id } } }"
    f" effectiveSettings {{ generalInfo {{ generateStatistics }} {NET_DAYS} }} }}"
)


def test_assign_dry_run_returns_the_customer_as_it_would_be(world: World, api: Api) -> None:
    api.ok("updateCustomerClass", {"id": world.shared_class_id, **net_days(45)})
    assign = {"customerId": world.a.customer_id, "customerClassId": world.shared_class_id}
    events = event_count(api)
    payload = unchanged(
        api,
        lambda: api.mutate(
            "assignCustomerClass", {**assign, "dryRun": True}, world.a.token, CUSTOMER
        ),
    )
    assert payload["userErrors"] == []
    customer = payload["customer"]
    assert customer["customerClass"]["id"] == world.shared_class_id
    assert customer["customerClass"]["customerCount"] == 1  # counted in the would-be state
    assert customer["customerClass"]["customers"]["nodes"] == [{"id": world.a.customer_id}]
    assert customer["effectiveSettings"]["regularInvoices"]["paymentTerms"]["netDays"] == 45
    # After: the old class, and no event.
    query = "query($id: ID!) { customer(id: $id) { customerClass { id } } }"
    seen = api.data(query, {"id": world.a.customer_id}, world.a.token)["customer"]
    assert seen["customerClass"]["id"] == world.a.class_id
    assert event_count(api) == events


def test_assign_dry_run_tenancy_is_the_real_one(world: World, api: Api) -> None:
    cases: list[tuple[str | None, dict[str, Any], list[tuple[str, list[str]]]]] = [
        # another reseller's customer: NOT_FOUND
        (
            world.b.token,
            {"customerId": world.a.customer_id, "customerClassId": world.shared_class_id},
            [("NOT_FOUND", ["input", "customerId"])],
        ),
        # a reseller's own record is read-only
        (
            world.a.token,
            {"customerId": world.a.id, "customerClassId": world.shared_class_id},
            [("NOT_PERMITTED", ["input", "customerId"])],
        ),
        # an administrator cannot assign a reseller's class
        (
            None,
            {"customerId": world.a.customer_id, "customerClassId": world.a.class_id},
            [("NOT_PERMITTED", ["input", "customerClassId"])],
        ),
        # an unshared administrator class does not suit a reseller's customer
        (
            None,
            {"customerId": world.a.customer_id, "customerClassId": world.admin_class_id},
            [("OWNERSHIP_MISMATCH", ["input", "customerClassId"])],
        ),
    ]
    for token, assign, expected in cases:
        dry = unchanged(
            api,
            lambda t=token, a=assign: api.mutate(
                "assignCustomerClass", {**a, "dryRun": True}, t, "customer { id }"
            ),
        )
        real = unchanged(
            api,
            lambda t=token, a=assign: api.mutate("assignCustomerClass", a, t, "customer { id }"),
        )
        assert errors_of(dry) == errors_of(real) == expected
        assert dry == real


# --------------------------------------------------------------------------- overrides rule


def override(api: Api, customer_id: str, token: str | None, **overrides: Any) -> None:
    api.ok("updateCustomerOverrides", {"customerId": customer_id, **overrides}, token)


def test_statistics_off_dry_run_gives_the_overrides_conflict(world: World, api: Api) -> None:
    override(api, world.a.customer_id, world.a.token, regularInvoicesEnabled=True)
    off = {"generalInfo": {"generateStatistics": False}}
    for token in (world.a.token, None):  # owner and administrator
        dry = unchanged(api, lambda t=token: update(api, t, world.a.class_id, True, CLASS, **off))
        real = unchanged(api, lambda t=token: update(api, t, world.a.class_id, False, CLASS, **off))
        assert errors_of(dry) == [("DEPENDENCY", ["input", "generalInfo", "generateStatistics"])]
        assert dry == real
        assert "overrides of 1 customer " in dry["userErrors"][0]["message"]
    # Another reseller: NOT_FOUND, and no word about the conflict.
    other = update(api, world.b.token, world.a.class_id, True, CLASS, **off)
    assert errors_of(other) == [("NOT_FOUND", ["input", "id"])]


def test_assignment_dry_run_gives_the_overrides_conflict(world: World, api: Api) -> None:
    quiet = api.create_class(
        world.a.token, name="Quiet", currencyCode="USD", generalInfo={"generateStatistics": False}
    )
    override(api, world.a.customer_id, world.a.token, sendStatistics="FULL_STATISTICS")
    assign = {"customerId": world.a.customer_id, "customerClassId": quiet}
    dry = unchanged(
        api,
        lambda: api.mutate(
            "assignCustomerClass", {**assign, "dryRun": True}, world.a.token, CUSTOMER
        ),
    )
    real = unchanged(
        api, lambda: api.mutate("assignCustomerClass", assign, world.a.token, CUSTOMER)
    )
    assert errors_of(dry) == [("DEPENDENCY", ["input", "customerClassId"])]
    assert dry == real
    message = dry["userErrors"][0]["message"]
    assert "1 customer" in message and "sendStatistics" in message


def test_effective_settings_are_never_invalid(world: World, api: Api) -> None:
    """Whatever is tried (refused or dry), no customer ends up with overrides that need
    statistics in a class without them."""
    quiet = api.create_class(
        world.a.token, name="Quiet", currencyCode="USD", generalInfo={"generateStatistics": False}
    )
    override(api, world.a.customer_id, world.a.token, regularInvoicesEnabled=True)
    second = api.create_customer(world.a.token, name="Second", customerClassId=world.a.class_id)
    off = {"generalInfo": {"generateStatistics": False}}
    for dry in (True, False):
        update(api, world.a.token, world.a.class_id, dry, CLASS, **off)
        api.mutate(
            "assignCustomerClass",
            {"customerId": world.a.customer_id, "customerClassId": quiet, "dryRun": dry},
            world.a.token,
        )
    api.ok("assignCustomerClass", {"customerId": second, "customerClassId": quiet}, world.a.token)
    query = (
        "{ customers(first: 100) { nodes { id effectiveSettings {"
        " generalInfo { generateStatistics sendStatistics } regularInvoices { enabled } } } } }"
    )
    nodes = api.data(query)["customers"]["nodes"]
    assert len(nodes) >= 4
    for node in nodes:
        settings = node["effectiveSettings"]
        if not settings["generalInfo"]["generateStatistics"]:
            assert settings["regularInvoices"]["enabled"] is False, node
            assert settings["generalInfo"]["sendStatistics"] == "DO_NOT_SEND", node


@pytest.mark.parametrize("dry", [True, False])
def test_overrides_that_stay_valid_do_not_stop_statistics_off(
    world: World, api: Api, dry: bool
) -> None:
    override(api, world.a.customer_id, world.a.token, sendStatistics="DO_NOT_SEND")
    payload = update(
        api,
        world.a.token,
        world.a.class_id,
        dry,
        f"{CLASS} {IMPACT}",
        generalInfo={"generateStatistics": False},
    )
    assert payload["userErrors"] == []
    assert payload["impact"]["affectedCustomerCount"] == 1


def test_administrator_assign_dry_run_of_a_direct_customer(world: World, api: Api) -> None:
    direct = api.create_customer(None, name="Direct")
    api.ok(
        "updateCustomerClass",
        {"id": world.admin_class_id, "generalInfo": {"generateStatistics": False}},
    )
    assign = {"customerId": direct, "customerClassId": world.admin_class_id, "dryRun": True}
    payload = unchanged(api, lambda: api.mutate("assignCustomerClass", assign, None, CUSTOMER))
    assert payload["userErrors"] == []
    customer = payload["customer"]
    assert customer["customerClass"]["id"] == world.admin_class_id
    assert customer["customerClass"]["customers"] == {"totalCount": 1, "nodes": [{"id": direct}]}
    assert customer["effectiveSettings"]["generalInfo"]["generateStatistics"] is False
    query = "query($id: ID!) { customer(id: $id) { customerClass { id } } }"
    seen = api.data(query, {"id": direct})["customer"]["customerClass"]["id"]
    assert seen == world.default_class_id


def test_delete_dry_run_keeps_the_whole_input_limit(world: World, api: Api) -> None:
    ids = [world.a.class_id] * 101
    payload = unchanged(
        api,
        lambda: api.mutate(
            "deleteCustomerClasses", {"ids": ids, "dryRun": True}, world.a.token, "deletedIds"
        ),
    )
    assert errors_of(payload) == [("OUT_OF_RANGE", ["input", "ids"])]
    assert payload["deletedIds"] == []
