"""updateCustomerOverrides, Customer.overrides and Customer.effectiveSettings (SPEC §4):
inheritance from the class, validation against the class, tenancy from both sides, audit."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.api.customer_support import (
    ALL_TABS,
    EFFECTIVE,
    NO_OVERRIDES,
    OVERRIDES,
    create_template,
    customer,
    events,
    gid,
    state,
)
from tests.api_client import Api, World, shown
from tests.support.errors import errors_of

SELECTION = f"customer {{ id {OVERRIDES} {EFFECTIVE} }}"


def update(api: Api, input_: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    return api.mutate("updateCustomerOverrides", input_, token, SELECTION)


def ok(api: Api, input_: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    payload = update(api, input_, token)
    assert payload["userErrors"] == [], payload["userErrors"]
    found: dict[str, Any] = payload["customer"]
    return found


def read(api: Api, customer_id: str, token: str | None = None) -> dict[str, Any] | None:
    found: dict[str, Any] | None = customer(api, customer_id, token, f"id {OVERRIDES} {EFFECTIVE}")
    return found


def effective_all(api: Api, customer_id: str, token: str | None = None) -> dict[str, Any]:
    selection = f"effectiveSettings {{ overriddenFields {ALL_TABS} }}"
    found: dict[str, Any] = shown(customer(api, customer_id, token, selection))["effectiveSettings"]
    return found


def class_tabs(api: Api, class_id: str) -> dict[str, Any]:
    query = f"query($id: ID!) {{ customerClass(id: $id) {{ {ALL_TABS} }} }}"
    found: dict[str, Any] = api.data(query, {"id": class_id})["customerClass"]
    return found


def update_class(api: Api, input_: dict[str, Any], token: str | None = None) -> None:
    api.ok("updateCustomerClass", input_, token, "customerClass { id version }")


def refused(
    api: Api, input_: dict[str, Any], token: str | None, expected: list[tuple[str, list[str]]]
) -> None:
    before = state(api)
    payload = update(api, input_, token)
    assert errors_of(payload) == expected
    assert payload["customer"] is None
    assert state(api) == before


# --------------------------------------------------------------------------- inheritance


def test_new_customer_follows_its_class(world: World, api: Api) -> None:
    seen = shown(read(api, world.a.customer_id, world.a.token))
    assert seen["overrides"] == NO_OVERRIDES
    assert seen["effectiveSettings"]["overriddenFields"] == []
    effective = effective_all(api, world.a.customer_id, world.a.token)
    assert effective.pop("overriddenFields") == []
    assert effective == class_tabs(api, world.a.class_id)


def test_effective_settings_of_a_rich_class(world: World, api: Api) -> None:
    template = create_template(api)
    class_id = api.create_class(
        world.a.token,
        name="Rich",
        currencyCode="USD",
        generalInfo={"sendStatistics": "SUMMARY_ONLY", "suspendOnInsufficientFunds": True},
        regularInvoices={
            "enabled": True,
            "invoiceTemplateId": template,
            "paymentTerms": {"netDays": 30, "dueDateReminderDays": [7, 2]},
        },
        outOfTurnInvoices={"enabled": True, "delivery": "AUTOMATICALLY"},
        measuredServices=[
            {"parameter": "ACTIVE_CALLS", "chargeBasedOn": "MAXIMUM", "pricePerItem": "1.5"}
        ],
        fraudProtection={"dailySpendingThreshold": "100"},
    )
    customer_id = api.create_customer(world.a.token, name="Rich customer", customerClassId=class_id)
    effective = effective_all(api, customer_id, world.a.token)
    assert effective.pop("overriddenFields") == []
    tabs = class_tabs(api, class_id)
    assert effective == tabs
    assert tabs["regularInvoices"]["invoiceTemplate"] == {"id": template}
    assert tabs["measuredServices"][0]["pricePerItem"] == "1.50"


def test_override_each_field(world: World, api: Api) -> None:
    template = create_template(api)
    other_template = create_template(api)
    done = ok(
        api,
        {
            "customerId": world.a.customer_id,
            "regularInvoiceTemplate": {"templateId": template},
            "outOfTurnInvoiceTemplate": {"templateId": other_template},
            "regularInvoicesEnabled": True,
            "outOfTurnInvoicesEnabled": True,
            "sendStatistics": "FULL_STATISTICS",
            "suspendOnInsufficientFunds": True,
        },
        world.a.token,
    )
    overrides = done["overrides"]
    assert overrides["regularInvoiceTemplate"]["template"]["id"] == template
    assert overrides["outOfTurnInvoiceTemplate"]["template"]["id"] == other_template
    assert overrides["regularInvoicesEnabled"] is True
    assert overrides["outOfTurnInvoicesEnabled"] is True
    assert overrides["sendStatistics"] == "FULL_STATISTICS"
    assert overrides["suspendOnInsufficientFunds"] is True
    assert done["effectiveSettings"] == {
        "overriddenFields": [
            "generalInfo.sendStatistics",
            "generalInfo.suspendOnInsufficientFunds",
            "outOfTurnInvoices.enabled",
            "outOfTurnInvoices.invoiceTemplate",
            "regularInvoices.enabled",
            "regularInvoices.invoiceTemplate",
        ],
        "generalInfo": {
            "generateStatistics": True,
            "sendStatistics": "FULL_STATISTICS",
            "suspendOnInsufficientFunds": True,
        },
        "regularInvoices": {"enabled": True, "invoiceTemplate": {"id": template}},
        "outOfTurnInvoices": {"enabled": True, "invoiceTemplate": {"id": other_template}},
    }
    # The rest of the settings still come from the class.
    effective = effective_all(api, world.a.customer_id, world.a.token)
    tabs = class_tabs(api, world.a.class_id)
    for tab in ("measuredServices", "notifications", "taxation", "customFields", "fraudProtection"):
        assert effective[tab] == tabs[tab]
    assert effective["regularInvoices"]["paymentTerms"] == tabs["regularInvoices"]["paymentTerms"]
    # And the class itself is untouched.
    assert tabs["regularInvoices"]["enabled"] is False
    assert tabs["generalInfo"]["sendStatistics"] == "DO_NOT_SEND"
    # The stored state reads back the same.
    assert read(api, world.a.customer_id, world.a.token) == done


@pytest.mark.parametrize(
    ("input_", "path", "overridden"),
    [
        ({"regularInvoicesEnabled": True}, ("regularInvoices", "enabled"), True),
        ({"regularInvoicesEnabled": False}, ("regularInvoices", "enabled"), False),
        ({"outOfTurnInvoicesEnabled": True}, ("outOfTurnInvoices", "enabled"), True),
        ({"sendStatistics": "SUMMARY_ONLY"}, ("generalInfo", "sendStatistics"), "SUMMARY_ONLY"),
        ({"sendStatistics": "DO_NOT_SEND"}, ("generalInfo", "sendStatistics"), "DO_NOT_SEND"),
        ({"suspendOnInsufficientFunds": True}, ("generalInfo", "suspendOnInsufficientFunds"), True),
    ],
)
def test_overridden_fields_paths(
    world: World, api: Api, input_: dict[str, Any], path: tuple[str, ...], overridden: Any
) -> None:
    """An override equal to the class value is still an override (it no longer follows)."""
    done = ok(api, {"customerId": world.b.customer_id, **input_}, world.b.token)
    assert done["effectiveSettings"]["overriddenFields"] == [".".join(path)]
    assert done["effectiveSettings"][path[0]][path[1]] == overridden


def test_template_override_none_and_inherit(world: World, api: Api) -> None:
    class_template = create_template(api, "Class template")
    own_template = create_template(api, "Own template")
    update_class(
        api,
        {"id": world.a.class_id, "regularInvoices": {"invoiceTemplateId": class_template}},
        world.a.token,
    )
    customer_id = world.a.customer_id
    inherited = shown(read(api, customer_id, world.a.token))
    assert inherited["overrides"]["regularInvoiceTemplate"] is None
    assert inherited["effectiveSettings"]["regularInvoices"]["invoiceTemplate"] == {
        "id": class_template
    }
    # 1. A template of its own.
    done = ok(
        api,
        {"customerId": customer_id, "regularInvoiceTemplate": {"templateId": own_template}},
        world.a.token,
    )
    assert done["overrides"]["regularInvoiceTemplate"] == {
        "template": {"id": own_template, "name": "Own template"}
    }
    assert done["effectiveSettings"]["regularInvoices"]["invoiceTemplate"] == {"id": own_template}
    assert done["effectiveSettings"]["overriddenFields"] == ["regularInvoices.invoiceTemplate"]
    # 2. Override with no template: no invoice documents, although the class has one.
    done = ok(
        api,
        {"customerId": customer_id, "regularInvoiceTemplate": {"templateId": None}},
        world.a.token,
    )
    assert done["overrides"]["regularInvoiceTemplate"] == {"template": None}
    assert done["effectiveSettings"]["regularInvoices"]["invoiceTemplate"] is None
    assert done["effectiveSettings"]["overriddenFields"] == ["regularInvoices.invoiceTemplate"]
    # An empty TemplateOverrideInput means the same (templateId omitted = null).
    before = state(api)
    assert ok(api, {"customerId": customer_id, "regularInvoiceTemplate": {}}, world.a.token)[
        "overrides"
    ]["regularInvoiceTemplate"] == {"template": None}
    assert state(api) == before
    # 3. Back to the class's template.
    done = ok(api, {"customerId": customer_id, "regularInvoiceTemplate": None}, world.a.token)
    assert done["overrides"]["regularInvoiceTemplate"] is None
    assert done["effectiveSettings"]["regularInvoices"]["invoiceTemplate"] == {"id": class_template}
    assert done["effectiveSettings"]["overriddenFields"] == []


def test_out_of_turn_template_override(world: World, api: Api) -> None:
    template = create_template(api)
    done = ok(
        api,
        {"customerId": world.a.customer_id, "outOfTurnInvoiceTemplate": {"templateId": template}},
        world.a.token,
    )
    assert done["effectiveSettings"]["outOfTurnInvoices"]["invoiceTemplate"] == {"id": template}
    assert done["effectiveSettings"]["regularInvoices"]["invoiceTemplate"] is None
    assert done["effectiveSettings"]["overriddenFields"] == ["outOfTurnInvoices.invoiceTemplate"]
    done = ok(
        api,
        {"customerId": world.a.customer_id, "outOfTurnInvoiceTemplate": {"templateId": None}},
        world.a.token,
    )
    assert done["overrides"]["outOfTurnInvoiceTemplate"] == {"template": None}
    assert done["effectiveSettings"]["overriddenFields"] == ["outOfTurnInvoices.invoiceTemplate"]


def test_omitted_fields_keep_their_value_and_null_clears(world: World, api: Api) -> None:
    customer_id = world.a.customer_id
    ok(
        api,
        {
            "customerId": customer_id,
            "regularInvoicesEnabled": True,
            "suspendOnInsufficientFunds": True,
        },
        world.a.token,
    )
    done = ok(api, {"customerId": customer_id, "sendStatistics": "SUMMARY_ONLY"}, world.a.token)
    assert done["overrides"] == {
        **NO_OVERRIDES,
        "regularInvoicesEnabled": True,
        "suspendOnInsufficientFunds": True,
        "sendStatistics": "SUMMARY_ONLY",
    }
    done = ok(api, {"customerId": customer_id, "regularInvoicesEnabled": None}, world.a.token)
    assert done["overrides"]["regularInvoicesEnabled"] is None
    assert done["overrides"]["suspendOnInsufficientFunds"] is True
    assert done["effectiveSettings"]["regularInvoices"]["enabled"] is False  # the class's
    assert done["effectiveSettings"]["overriddenFields"] == [
        "generalInfo.sendStatistics",
        "generalInfo.suspendOnInsufficientFunds",
    ]
    done = ok(
        api,
        {"customerId": customer_id, "sendStatistics": None, "suspendOnInsufficientFunds": None},
        world.a.token,
    )
    assert done["overrides"] == NO_OVERRIDES
    assert done["effectiveSettings"]["overriddenFields"] == []


def test_class_change_reaches_customers_without_override(world: World, api: Api) -> None:
    follower = api.create_customer(world.a.token, name="Follower", customerClassId=world.a.class_id)
    overridden = world.a.customer_id
    ok(
        api,
        {
            "customerId": overridden,
            "suspendOnInsufficientFunds": False,
            "regularInvoiceTemplate": {"templateId": None},
        },
        world.a.token,
    )
    template = create_template(api)
    update_class(
        api,
        {
            "id": world.a.class_id,
            "generalInfo": {
                "suspendOnInsufficientFunds": True,
                "sendStatistics": "FULL_STATISTICS",
            },
            "regularInvoices": {"invoiceTemplateId": template, "enabled": True},
        },
        world.a.token,
    )
    follows = shown(read(api, follower, world.a.token))["effectiveSettings"]
    assert follows["generalInfo"]["suspendOnInsufficientFunds"] is True
    assert follows["generalInfo"]["sendStatistics"] == "FULL_STATISTICS"
    assert follows["regularInvoices"] == {"enabled": True, "invoiceTemplate": {"id": template}}
    assert follows["overriddenFields"] == []
    kept = shown(read(api, overridden, world.a.token))["effectiveSettings"]
    assert kept["generalInfo"]["suspendOnInsufficientFunds"] is False  # its override
    assert kept["generalInfo"]["sendStatistics"] == "FULL_STATISTICS"  # follows the class
    assert kept["regularInvoices"] == {"enabled": True, "invoiceTemplate": None}
    # No per-customer write: no event on either customer.
    assert [e["action"] for e in events(api, follower)] == ["CREATE"]
    # Clearing the overrides restores inheritance of the current class values.
    done = ok(
        api,
        {
            "customerId": overridden,
            "suspendOnInsufficientFunds": None,
            "regularInvoiceTemplate": None,
        },
        world.a.token,
    )
    assert done["effectiveSettings"]["generalInfo"]["suspendOnInsufficientFunds"] is True
    assert done["effectiveSettings"]["regularInvoices"]["invoiceTemplate"] == {"id": template}
    assert done["effectiveSettings"]["overriddenFields"] == []


def test_overrides_survive_a_class_assignment(world: World, api: Api) -> None:
    ok(api, {"customerId": world.a.customer_id, "suspendOnInsufficientFunds": True}, world.a.token)
    update_class(
        api, {"id": world.shared_class_id, "generalInfo": {"sendStatistics": "SUMMARY_ONLY"}}
    )
    api.ok(
        "assignCustomerClass",
        {"customerId": world.a.customer_id, "customerClassId": world.shared_class_id},
        world.a.token,
    )
    seen = shown(read(api, world.a.customer_id, world.a.token))
    assert seen["overrides"]["suspendOnInsufficientFunds"] is True
    assert seen["effectiveSettings"]["generalInfo"] == {
        "generateStatistics": True,
        "sendStatistics": "SUMMARY_ONLY",
        "suspendOnInsufficientFunds": True,
    }
    assert seen["effectiveSettings"]["overriddenFields"] == [
        "generalInfo.suspendOnInsufficientFunds"
    ]


# --------------------------------------------------------------------------- validation


def no_statistics_customer(api: Api, world: World) -> str:
    class_id = api.create_class(
        world.a.token,
        name="No statistics",
        currencyCode="USD",
        generalInfo={"generateStatistics": False},
    )
    return api.create_customer(world.a.token, name="Quiet", customerClassId=class_id)


def test_regular_invoices_need_class_statistics(world: World, api: Api) -> None:
    quiet = no_statistics_customer(api, world)
    refused(
        api,
        {"customerId": quiet, "regularInvoicesEnabled": True},
        world.a.token,
        [("DEPENDENCY", ["input", "regularInvoicesEnabled"])],
    )
    # The administrator gets the same answer.
    refused(
        api,
        {"customerId": quiet, "regularInvoicesEnabled": True},
        None,
        [("DEPENDENCY", ["input", "regularInvoicesEnabled"])],
    )
    # Off is fine, and so are the fields that do not depend on statistics.
    done = ok(
        api,
        {
            "customerId": quiet,
            "regularInvoicesEnabled": False,
            "outOfTurnInvoicesEnabled": True,
            "sendStatistics": "DO_NOT_SEND",
        },
        world.a.token,
    )
    assert done["effectiveSettings"]["regularInvoices"]["enabled"] is False


def test_send_statistics_needs_class_statistics(world: World, api: Api) -> None:
    quiet = no_statistics_customer(api, world)
    for value in ("FULL_STATISTICS", "SUMMARY_ONLY"):
        refused(
            api,
            {"customerId": quiet, "sendStatistics": value},
            world.a.token,
            [("DEPENDENCY", ["input", "sendStatistics"])],
        )


def test_validation_errors_together_and_nothing_written(world: World, api: Api) -> None:
    quiet = no_statistics_customer(api, world)
    template = create_template(api)
    refused(
        api,
        {
            "customerId": quiet,
            "regularInvoicesEnabled": True,
            "sendStatistics": "SUMMARY_ONLY",
            "suspendOnInsufficientFunds": True,
            "regularInvoiceTemplate": {"templateId": template},
        },
        world.a.token,
        [
            ("DEPENDENCY", ["input", "regularInvoicesEnabled"]),
            ("DEPENDENCY", ["input", "sendStatistics"]),
        ],
    )


def test_unknown_template_is_not_found(world: World, api: Api) -> None:
    for bad in (gid("InvoiceTemplate", 5), "junk", world.a.class_id):
        refused(
            api,
            {
                "customerId": world.a.customer_id,
                "regularInvoiceTemplate": {"templateId": bad},
                "suspendOnInsufficientFunds": True,
            },
            world.a.token,
            [("NOT_FOUND", ["input", "regularInvoiceTemplate", "templateId"])],
        )
        refused(
            api,
            {"customerId": world.a.customer_id, "outOfTurnInvoiceTemplate": {"templateId": bad}},
            world.a.token,
            [("NOT_FOUND", ["input", "outOfTurnInvoiceTemplate", "templateId"])],
        )


def test_not_found_before_validation(world: World, api: Api) -> None:
    quiet = no_statistics_customer(api, world)
    refused(
        api,
        {
            "customerId": quiet,
            "regularInvoicesEnabled": True,
            "regularInvoiceTemplate": {"templateId": "junk"},
        },
        world.a.token,
        [("NOT_FOUND", ["input", "regularInvoiceTemplate", "templateId"])],
    )


# --------------------------------------------------------------------------- tenancy


def test_other_reseller_cannot_read_or_write(world: World, api: Api) -> None:
    ok(api, {"customerId": world.a.customer_id, "suspendOnInsufficientFunds": True}, world.a.token)
    assert read(api, world.a.customer_id, world.b.token) is None
    refused(
        api,
        {"customerId": world.a.customer_id, "suspendOnInsufficientFunds": False},
        world.b.token,
        [("NOT_FOUND", ["input", "customerId"])],
    )
    refused(
        api,
        {"customerId": world.a.customer_id, "regularInvoicesEnabled": None},
        world.b.token,
        [("NOT_FOUND", ["input", "customerId"])],
    )
    # A hidden customer and a bad template: both NOT_FOUND.
    refused(
        api,
        {"customerId": world.a.customer_id, "regularInvoiceTemplate": {"templateId": "junk"}},
        world.b.token,
        [
            ("NOT_FOUND", ["input", "customerId"]),
            ("NOT_FOUND", ["input", "regularInvoiceTemplate", "templateId"]),
        ],
    )
    assert shown(read(api, world.a.customer_id))["overrides"]["suspendOnInsufficientFunds"] is True


def test_reseller_cannot_touch_sub_reseller_customers_or_direct_customers(
    world: World, api: Api
) -> None:
    sub = api.create_reseller("Sub", world.a.id)
    deep = api.create_customer(name="Deep", parentId=sub)
    direct = api.create_customer(name="Direct")
    for hidden in (deep, direct, world.b.id, gid("Customer", 1), "junk"):
        refused(
            api,
            {"customerId": hidden, "suspendOnInsufficientFunds": True},
            world.a.token,
            [("NOT_FOUND", ["input", "customerId"])],
        )
    # Its own sub-reseller is its direct customer: allowed.
    assert (
        ok(api, {"customerId": sub, "suspendOnInsufficientFunds": True}, world.a.token)[
            "overrides"
        ]["suspendOnInsufficientFunds"]
        is True
    )


def test_reseller_cannot_change_its_own_record(world: World, api: Api) -> None:
    for input_ in (
        {"suspendOnInsufficientFunds": True},
        {"regularInvoicesEnabled": None},
        {"regularInvoiceTemplate": None},
    ):
        refused(
            api,
            {"customerId": world.a.id, **input_},
            world.a.token,
            [("NOT_PERMITTED", ["input", "customerId"])],
        )
    # The administrator may, and the reseller then reads it (read-only).
    ok(api, {"customerId": world.a.id, "suspendOnInsufficientFunds": True})
    own = shown(read(api, world.a.id, world.a.token))
    assert own["overrides"]["suspendOnInsufficientFunds"] is True
    assert own["effectiveSettings"]["overriddenFields"] == [
        "generalInfo.suspendOnInsufficientFunds"
    ]


def test_own_record_not_permitted_after_not_found(world: World, api: Api) -> None:
    refused(
        api,
        {"customerId": world.a.id, "regularInvoiceTemplate": {"templateId": "junk"}},
        world.a.token,
        [("NOT_FOUND", ["input", "regularInvoiceTemplate", "templateId"])],
    )


def test_admin_edits_any_customer(world: World, api: Api) -> None:
    sub = api.create_reseller("Sub", world.a.id)
    deep = api.create_customer(name="Deep", parentId=sub)
    for customer_id in (world.a.customer_id, world.b.customer_id, deep, world.b.id):
        done = ok(api, {"customerId": customer_id, "outOfTurnInvoicesEnabled": True})
        assert done["overrides"]["outOfTurnInvoicesEnabled"] is True


def test_effective_settings_of_hidden_customer_are_unreachable(world: World, api: Api) -> None:
    query = f"""query($ids: [ID!]!) {{
      nodes(ids: $ids) {{ ... on Customer {{ id {OVERRIDES} {EFFECTIVE} }} }}
      customers {{ nodes {{ id }} }}
    }}"""
    data = api.data(query, {"ids": [world.a.customer_id, world.b.customer_id]}, world.b.token)
    assert data["nodes"][0] is None
    assert data["nodes"][1]["id"] == world.b.customer_id
    assert world.a.customer_id not in [n["id"] for n in data["customers"]["nodes"]]


# --------------------------------------------------------------------------- audit


def test_update_event_with_override_paths(world: World, api: Api) -> None:
    template = create_template(api)
    ok(
        api,
        {
            "customerId": world.a.customer_id,
            "regularInvoicesEnabled": True,
            "regularInvoiceTemplate": {"templateId": template},
        },
        world.a.token,
    )
    event = events(api, world.a.customer_id)[0]
    assert event["action"] == "UPDATE"
    assert event["objectType"] == "Customer"
    assert event["objectId"] == world.a.customer_id
    assert event["actorTokenName"] == "Reseller A token"
    assert event["changes"] == {
        "overrides.regularInvoicesEnabled": {"before": None, "after": True},
        "overrides.regularInvoiceTemplate": {"before": None, "after": {"template": template}},
    }
    ok(
        api,
        {
            "customerId": world.a.customer_id,
            "regularInvoiceTemplate": {"templateId": None},
            "regularInvoicesEnabled": True,
            "sendStatistics": "SUMMARY_ONLY",
        },
        world.a.token,
    )
    assert events(api, world.a.customer_id)[0]["changes"] == {
        "overrides.regularInvoiceTemplate": {
            "before": {"template": template},
            "after": {"template": None},
        },
        "overrides.sendStatistics": {"before": None, "after": "SUMMARY_ONLY"},
    }
    ok(
        api,
        {
            "customerId": world.a.customer_id,
            "regularInvoiceTemplate": None,
            "regularInvoicesEnabled": None,
        },
        world.a.token,
    )
    assert events(api, world.a.customer_id)[0]["changes"] == {
        "overrides.regularInvoiceTemplate": {"before": {"template": None}, "after": None},
        "overrides.regularInvoicesEnabled": {"before": True, "after": None},
    }
    # Tenant: the customer's parent.
    assert [e["action"] for e in events(api, world.a.customer_id, world.a.token)] == [
        "UPDATE",
        "UPDATE",
        "UPDATE",
        "CREATE",
    ]
    assert events(api, world.a.customer_id, world.b.token) == []


def test_admin_override_event_seen_by_reseller(world: World, api: Api) -> None:
    ok(api, {"customerId": world.b.customer_id, "suspendOnInsufficientFunds": True})
    event = events(api, world.b.customer_id, world.b.token)[0]
    assert event["action"] == "UPDATE"
    assert event["actorRole"] == "ADMINISTRATOR"
    assert event["actorTokenName"] == "administrator"
    assert event["changes"] == {
        "overrides.suspendOnInsufficientFunds": {"before": None, "after": True}
    }


def test_no_change_no_event(world: World, api: Api) -> None:
    ok(api, {"customerId": world.a.customer_id, "suspendOnInsufficientFunds": True}, world.a.token)
    before = state(api)
    for input_ in (
        {"suspendOnInsufficientFunds": True},
        {},
        {"regularInvoicesEnabled": None},
        {"regularInvoiceTemplate": None},
    ):
        done = ok(api, {"customerId": world.a.customer_id, **input_}, world.a.token)
        assert done["overrides"]["suspendOnInsufficientFunds"] is True
    assert state(api) == before


def test_refusals_write_nothing(world: World, api: Api) -> None:
    quiet = no_statistics_customer(api, world)
    before = state(api)
    snapshot = copy.deepcopy(events(api))
    update(api, {"customerId": quiet, "regularInvoicesEnabled": True}, world.a.token)
    update(api, {"customerId": world.a.id, "suspendOnInsufficientFunds": True}, world.a.token)
    update(
        api, {"customerId": world.a.customer_id, "suspendOnInsufficientFunds": True}, world.b.token
    )
    assert state(api) == before
    assert events(api) == snapshot
