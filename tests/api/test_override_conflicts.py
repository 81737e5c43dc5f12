"""Effective settings stay valid (SPEC §4): a class change that would make an existing
override invalid is refused with DEPENDENCY on the touched field, its message giving how
many customers' overrides conflict; so is assigning a customer whose overrides conflict
with the target class (DEPENDENCY on ["input","customerClassId"]). Nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.api.customer_support import state
from tests.api_client import Api, World
from tests.support.errors import errors_of

STATISTICS = ["input", "generalInfo", "generateStatistics"]
CLASS = "customerClass { id version generalInfo { generateStatistics } }"


def override(api: Api, customer_id: str, token: str | None, **overrides: Any) -> None:
    api.ok("updateCustomerOverrides", {"customerId": customer_id, **overrides}, token)


def statistics_off(api: Api, class_id: str, token: str | None = None) -> dict[str, Any]:
    return api.mutate(
        "updateCustomerClass",
        {"id": class_id, "generalInfo": {"generateStatistics": False}},
        token,
        CLASS,
    )


def refused_whole(
    api: Api, payload_of: Callable[[], dict[str, Any]], expected: list[tuple[str, list[str]]]
) -> str:
    """Run the mutation; it must be refused with ``expected`` and change nothing. Returns
    the first error's message."""
    before = state(api)
    payload = payload_of()
    assert errors_of(payload) == expected
    assert state(api) == before
    return str(payload["userErrors"][0]["message"])


def test_turning_statistics_off_under_a_regular_invoices_override(world: World, api: Api) -> None:
    override(api, world.a.customer_id, world.a.token, regularInvoicesEnabled=True)
    message = refused_whole(
        api,
        lambda: statistics_off(api, world.a.class_id, world.a.token),
        [("DEPENDENCY", STATISTICS)],
    )
    assert "1 customer" in message and "1 customers" not in message
    # The class is unchanged and the customer keeps a valid effective setting.
    query = (
        "query($id: ID!) { customerClass(id: $id) { version generalInfo { generateStatistics } } }"
    )
    seen = api.data(query, {"id": world.a.class_id}, world.a.token)["customerClass"]
    assert seen == {"version": 1, "generalInfo": {"generateStatistics": True}}


def test_turning_statistics_off_under_a_send_statistics_override(world: World, api: Api) -> None:
    second = api.create_customer(world.a.token, name="Second", customerClassId=world.a.class_id)
    override(api, world.a.customer_id, world.a.token, sendStatistics="FULL_STATISTICS")
    override(api, second, world.a.token, sendStatistics="SUMMARY_ONLY", regularInvoicesEnabled=True)
    message = refused_whole(
        api,
        lambda: statistics_off(api, world.a.class_id, world.a.token),
        [("DEPENDENCY", STATISTICS)],
    )
    assert "2 customers" in message  # each customer counted once


def test_overrides_that_need_no_statistics_do_not_stop_the_change(world: World, api: Api) -> None:
    override(
        api,
        world.a.customer_id,
        world.a.token,
        regularInvoicesEnabled=False,
        sendStatistics="DO_NOT_SEND",
        outOfTurnInvoicesEnabled=True,
        suspendOnInsufficientFunds=True,
    )
    payload = statistics_off(api, world.a.class_id, world.a.token)
    assert payload["userErrors"] == []
    assert payload["customerClass"]["generalInfo"] == {"generateStatistics": False}


def test_clearing_the_override_lets_the_change_through(world: World, api: Api) -> None:
    override(api, world.a.customer_id, world.a.token, regularInvoicesEnabled=True)
    assert errors_of(statistics_off(api, world.a.class_id, world.a.token)) == [
        ("DEPENDENCY", STATISTICS)
    ]
    override(api, world.a.customer_id, world.a.token, regularInvoicesEnabled=None)
    assert statistics_off(api, world.a.class_id, world.a.token)["userErrors"] == []


def test_other_changes_of_the_class_are_not_stopped(world: World, api: Api) -> None:
    override(api, world.a.customer_id, world.a.token, regularInvoicesEnabled=True)
    payload = api.mutate(
        "updateCustomerClass",
        {"id": world.a.class_id, "generalInfo": {"suspendOnInsufficientFunds": True}},
        world.a.token,
        CLASS,
    )
    assert payload["userErrors"] == []


def test_administrator_change_of_a_shared_class_counts_every_tenants_customers(
    world: World, api: Api
) -> None:
    for tenant in (world.a, world.b):
        api.ok(
            "assignCustomerClass",
            {"customerId": tenant.customer_id, "customerClassId": world.shared_class_id},
            tenant.token,
        )
        override(api, tenant.customer_id, tenant.token, regularInvoicesEnabled=True)
    message = refused_whole(
        api, lambda: statistics_off(api, world.shared_class_id), [("DEPENDENCY", STATISTICS)]
    )
    assert "2 customers" in message


def test_validation_errors_come_together(world: World, api: Api) -> None:
    """The conflict is one more validation error: reported with the class's own ones."""
    override(api, world.a.customer_id, world.a.token, regularInvoicesEnabled=True)
    payload = api.mutate(
        "updateCustomerClass",
        {
            "id": world.a.class_id,
            "generalInfo": {"generateStatistics": False, "closeDelayHours": 5},
        },
        world.a.token,
        CLASS,
    )
    assert sorted(errors_of(payload)) == sorted(
        [
            ("DEPENDENCY", ["input", "generalInfo", "closeDelayHours"]),
            ("DEPENDENCY", STATISTICS),
        ]
    )


def test_assigning_a_customer_whose_overrides_conflict(world: World, api: Api) -> None:
    quiet = api.create_class(
        world.a.token, name="Quiet", currencyCode="USD", generalInfo={"generateStatistics": False}
    )
    override(api, world.a.customer_id, world.a.token, sendStatistics="FULL_STATISTICS")
    assign = {"customerId": world.a.customer_id, "customerClassId": quiet}
    message = refused_whole(
        api,
        lambda: api.mutate("assignCustomerClass", assign, world.a.token, "customer { id }"),
        [("DEPENDENCY", ["input", "customerClassId"])],
    )
    assert "sendStatistics" in message
    assert "1 customer " in message  # SPEC §4: how many customers' overrides conflict
    # Without the conflicting override the same assignment goes through.
    override(api, world.a.customer_id, world.a.token, sendStatistics=None)
    api.ok("assignCustomerClass", assign, world.a.token)


def test_assignment_conflict_comes_after_tenancy_errors(world: World, api: Api) -> None:
    """Another tenant's customer stays NOT_FOUND: the conflict is never reported on it."""
    quiet = api.create_class(
        world.a.token, name="Quiet", currencyCode="USD", generalInfo={"generateStatistics": False}
    )
    override(api, world.b.customer_id, world.b.token, regularInvoicesEnabled=True)
    payload = api.mutate(
        "assignCustomerClass",
        {"customerId": world.b.customer_id, "customerClassId": quiet},
        world.a.token,
        "customer { id }",
    )
    assert errors_of(payload) == [("NOT_FOUND", ["input", "customerId"])]
