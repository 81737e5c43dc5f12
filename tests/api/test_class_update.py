"""updateCustomerClass over HTTP: patches, versions, precedence (SPEC §5), the Default
class, explicit nulls, cross-field rules against the stored class, audit and isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.class_support import (
    MALFORMED_ID,
    create,
    custom_field,
    events,
    global_id,
    guessed_class_id,
    invoice_template,
    notification_set,
    read_class,
    refused,
    update,
)
from tests.api_client import Api, World, shown
from tests.support.audit import event_count


def _refused_unchanged(
    api: Api, class_id: str, input_: dict[str, Any], token: str | None = None
) -> list[Any]:
    """A refused update: returns its (code, field) pairs after checking that the class,
    as the administrator reads it, and the audit log are exactly as before."""
    before, before_events = read_class(api, class_id), event_count(api)
    found = refused(api, "updateCustomerClass", input_, token, "customerClass { id }")
    assert read_class(api, class_id) == before
    assert event_count(api) == before_events
    return found


def _rich_class(api: Api, token: str | None = None, name: str = "Rich") -> dict[str, Any]:
    return create(
        api,
        {
            "name": name,
            "description": "Original description",
            "notificationSender": "billing@example.com",
            "currencyCode": "USD",
            "generalInfo": {
                "roundingPrecision": 4,
                "billingPeriodClosure": "WITH_EXTRA_DELAY",
                "closeDelayHours": 24,
            },
            "measuredServices": [
                {
                    "parameter": "PBX_EXTENSIONS",
                    "chargeBasedOn": "MAXIMUM",
                    "pricePerItem": "2.5",
                    "itemsFreeOfCharge": 3,
                    "rateCode": "PBX",
                    "service": "Extensions",
                }
            ],
            "regularInvoices": {
                "enabled": True,
                "paymentTerms": {"netDays": 30, "dueDateReminderDays": [7, 2]},
                "pastDue": {"limitServiceAfterDays": 10, "suspendAfterDays": 20},
            },
            "taxation": {"method": "FIXED_VAT_RATE", "vatRatePercent": "20", "taxName": "VAT"},
            "fraudProtection": {"dailySpendingThreshold": "50"},
        },
        token,
    )


def _without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in keys}


# --------------------------------------------------------------------------- patches


def test_partial_patch_keeps_omitted_fields(api: Api) -> None:
    rich = _rich_class(api)
    updated = update(api, {"id": rich["id"], "name": "Renamed"})
    assert updated["name"] == "Renamed"
    assert updated["version"] == 2
    assert _without(updated, "name", "version", "updatedAt") == _without(
        rich, "name", "version", "updatedAt"
    )
    assert updated["updatedAt"] >= rich["updatedAt"]
    # A nested patch keeps the siblings at every level.
    updated = update(
        api, {"id": rich["id"], "regularInvoices": {"paymentTerms": {"autoCharge": True}}}
    )
    assert updated["regularInvoices"]["paymentTerms"] == {
        "netDays": 30,
        "dueDateReminderDays": [7, 2],
        "autoCharge": True,
        "autoChargeTiming": "UPON_INVOICE_GENERATION",
    }
    assert updated["regularInvoices"]["pastDue"] == rich["regularInvoices"]["pastDue"]
    assert updated["generalInfo"] == rich["generalInfo"]
    assert updated["measuredServices"] == rich["measuredServices"]
    assert read_class(api, rich["id"]) == updated


def test_version_grows_by_one_per_change(api: Api) -> None:
    class_id = create(api, {"name": "Versioned"})["id"]
    for step, description in enumerate(["one", "two", "three"], start=2):
        updated = update(api, {"id": class_id, "description": description})
        assert updated["version"] == step
    # Several fields in one patch are still one change.
    updated = update(
        api,
        {
            "id": class_id,
            "name": "Versioned 2",
            "description": "four",
            "generalInfo": {"roundingPrecision": 3},
            "taxation": {"taxesIncludedInRates": True},
        },
    )
    assert updated["version"] == 5
    assert len(events(api, class_id)) == 5  # CREATE + 4 UPDATE


def test_patch_that_changes_nothing_is_a_silent_success(api: Api) -> None:
    rich = _rich_class(api)
    before_events = event_count(api)
    for patch in (
        {},
        {"name": "Rich"},
        {"name": "  Rich  "},
        {"description": "Original description"},
        {"generalInfo": {"generateStatistics": True, "roundingPrecision": 4}},
        {"regularInvoices": {"paymentTerms": {"dueDateReminderDays": [7, 2]}}},
        {
            "measuredServices": [
                {
                    "parameter": "PBX_EXTENSIONS",
                    "chargeBasedOn": "MAXIMUM",
                    "pricePerItem": "2.50",
                    "itemsFreeOfCharge": 3,
                    "rateCode": "PBX",
                    "service": "Extensions",
                }
            ]
        },
        {"fraudProtection": {"dailySpendingThreshold": "50.00"}},
        {"expectedVersion": 1},
    ):
        updated = update(api, {"id": rich["id"], **patch})
        assert updated == rich, patch
    assert event_count(api) == before_events
    assert read_class(api, rich["id"]) == rich


def test_update_event_lists_exactly_the_changed_paths(api: Api) -> None:
    rich = _rich_class(api)
    update(
        api,
        {
            "id": rich["id"],
            "name": "Richer",
            "generalInfo": {"roundingPrecision": 4, "roundingMethod": "HALF_EVEN"},
            "regularInvoices": {"paymentTerms": {"netDays": 45}},
        },
    )
    found = events(api, rich["id"])
    assert [e["action"] for e in found] == ["UPDATE", "CREATE"]
    assert found[0]["objectType"] == "CustomerClass"
    assert found[0]["objectId"] == rich["id"]
    assert found[0]["changes"] == {
        "name": {"before": "Rich", "after": "Richer"},
        "generalInfo.roundingMethod": {"before": "AWAY_FROM_ZERO", "after": "HALF_EVEN"},
        "regularInvoices.paymentTerms.netDays": {"before": 30, "after": 45},
    }


def test_update_event_shows_references_as_global_ids(api: Api) -> None:
    template = invoice_template(api, "Invoice A4")
    field_a, field_b = custom_field(api, "VAT number"), custom_field(api, "PO number")
    notif = notification_set(api, "Standard")
    class_id = create(api, {"name": "Refs"})["id"]
    updated = update(
        api,
        {
            "id": class_id,
            "regularInvoices": {"invoiceTemplateId": template},
            "customFieldIds": [field_b, field_a],
            "notifications": {
                "notificationSetId": notif,
                "settings": [{"type": "INVOICE_ISSUED", "email": {"send": True}}],
            },
        },
    )
    assert updated["regularInvoices"]["invoiceTemplate"] == {"id": template}
    assert {f["id"] for f in updated["customFields"]} == {field_a, field_b}
    assert updated["notifications"]["notificationSet"]["id"] == notif
    changes = events(api, class_id)[0]["changes"]
    assert changes["regularInvoices.invoiceTemplate"] == {"before": None, "after": template}
    assert changes["notifications.notificationSet"] == {"before": None, "after": notif}
    assert changes["notifications.settings.INVOICE_ISSUED.email.send"] == {
        "before": False,
        "after": True,
    }
    assert changes["customFields"]["before"] == []
    assert sorted(changes["customFields"]["after"]) == sorted([field_a, field_b])
    assert set(changes) == {
        "regularInvoices.invoiceTemplate",
        "notifications.notificationSet",
        "notifications.settings.INVOICE_ISSUED.email.send",
        "customFields",
    }


def test_rename_rules(api: Api, world: World) -> None:
    class_id = create(api, {"name": "Retail"})["id"]
    create(api, {"name": "Business"})
    # Another class of the same manager, ignoring case: TAKEN.
    assert _refused_unchanged(api, class_id, {"id": class_id, "name": "BUSINESS"}) == [
        ("TAKEN", ["input", "name"])
    ]
    # Only the case of its own name: fine.
    assert update(api, {"id": class_id, "name": "RETAIL"})["name"] == "RETAIL"
    # Names of other managers' classes are free.
    assert update(api, {"id": class_id, "name": "Reseller A class"})["name"] == "Reseller A class"
    assert (
        update(api, {"id": world.a.class_id, "name": "Admin private"}, world.a.token)["name"]
        == "Admin private"
    )
    assert (
        update(api, {"id": world.a.class_id, "name": "Reseller B class"}, world.a.token)["name"]
        == "Reseller B class"
    )
    for name, code in (
        ("", "REQUIRED"),
        ("  ", "REQUIRED"),
        ("x" * 101, "TOO_LONG"),
        ("a\x00b", "INVALID"),
    ):
        assert _refused_unchanged(api, class_id, {"id": class_id, "name": name}) == [
            (code, ["input", "name"])
        ]


def test_header_rules_on_update(api: Api) -> None:
    rich = _rich_class(api)
    class_id = rich["id"]
    assert _refused_unchanged(api, class_id, {"id": class_id, "description": "d" * 501}) == [
        ("TOO_LONG", ["input", "description"])
    ]
    assert _refused_unchanged(api, class_id, {"id": class_id, "notificationSender": "a@b"}) == [
        ("INVALID", ["input", "notificationSender"])
    ]
    assert update(api, {"id": class_id, "description": ""})["description"] is None
    updated = update(api, {"id": class_id, "description": None, "notificationSender": ""})
    assert updated["notificationSender"] is None
    assert updated["version"] == 3


def test_fixed_fields_are_not_in_the_update_input(api: Api, world: World) -> None:
    for field, value in (
        ("currencyCode", "EUR"),
        ("businessModelId", world.admin_class_id),
        ("managingResellerId", world.a.id),
        ("sharedWithResellers", True),
    ):
        code = api.error_code(
            "mutation($input: UpdateCustomerClassInput!) {"
            " updateCustomerClass(input: $input) { userErrors { code } } }",
            {"input": {"id": world.admin_class_id, field: value}},
        )
        assert code == "BAD_USER_INPUT", field


# --------------------------------------------------------------------------- versions


def test_expected_version(api: Api) -> None:
    class_id = create(api, {"name": "Optimistic"})["id"]
    assert update(api, {"id": class_id, "expectedVersion": 1, "description": "v2"})["version"] == 2
    for stale in (1, 3, 0, -1):
        assert _refused_unchanged(
            api, class_id, {"id": class_id, "expectedVersion": stale, "description": "lost"}
        ) == [("VERSION_CONFLICT", ["input", "expectedVersion"])]
    assert update(api, {"id": class_id, "expectedVersion": 2, "description": "v3"})["version"] == 3
    # An explicit null means "no check".
    assert (
        update(api, {"id": class_id, "expectedVersion": None, "description": "v4"})["version"] == 4
    )


def test_version_conflict_comes_alone_before_validation(api: Api) -> None:
    class_id = create(api, {"name": "Conflicted", "currencyCode": "USD"})["id"]
    assert _refused_unchanged(
        api,
        class_id,
        {
            "id": class_id,
            "expectedVersion": 7,
            "name": "",
            "description": "d" * 501,
            "generalInfo": {"roundingPrecision": 99, "generateStatistics": None},
        },
    ) == [("VERSION_CONFLICT", ["input", "expectedVersion"])]


def test_validation_errors_all_at_once_when_version_matches(api: Api) -> None:
    class_id = create(api, {"name": "Validated", "currencyCode": "USD"})["id"]
    found = _refused_unchanged(
        api,
        class_id,
        {
            "id": class_id,
            "expectedVersion": 1,
            "name": "",
            "description": "d" * 501,
            "generalInfo": {"roundingPrecision": 99, "generateStatistics": None},
            "fraudProtection": {"warningThresholdPercent": 0},
        },
    )
    assert sorted(found) == sorted(
        [
            ("REQUIRED", ["input", "name"]),
            ("TOO_LONG", ["input", "description"]),
            ("OUT_OF_RANGE", ["input", "generalInfo", "roundingPrecision"]),
            ("INVALID", ["input", "generalInfo", "generateStatistics"]),
            ("OUT_OF_RANGE", ["input", "fraudProtection", "warningThresholdPercent"]),
        ]
    )


# --------------------------------------------------------------------------- precedence


def test_not_found_comes_alone_first(api: Api, world: World) -> None:
    found = refused(
        api,
        "updateCustomerClass",
        {
            "id": guessed_class_id(),
            "expectedVersion": 99,
            "name": "",
            "generalInfo": {"roundingPrecision": 99},
        },
        selection="customerClass { id }",
    )
    assert found == [("NOT_FOUND", ["input", "id"])]


def test_unknown_reference_is_not_found_before_version_and_validation(
    api: Api, world: World
) -> None:
    class_id = world.admin_class_id
    found = _refused_unchanged(
        api,
        class_id,
        {
            "id": class_id,
            "expectedVersion": 99,
            "name": "",
            "regularInvoices": {"invoiceTemplateId": global_id("InvoiceTemplate", 4242)},
            "customFieldIds": [MALFORMED_ID],
        },
    )
    assert sorted(found) == sorted(
        [
            ("NOT_FOUND", ["input", "regularInvoices", "invoiceTemplateId"]),
            ("NOT_FOUND", ["input", "customFieldIds", "0"]),
        ]
    )


def test_not_permitted_comes_alone_before_version_and_validation(api: Api, world: World) -> None:
    found = _refused_unchanged(
        api,
        world.shared_class_id,
        {
            "id": world.shared_class_id,
            "expectedVersion": 99,
            "name": "",
            "generalInfo": {"roundingPrecision": 99},
        },
        world.a.token,
    )
    assert found == [("NOT_PERMITTED", ["input", "id"])]


def test_not_found_reference_before_not_permitted(api: Api, world: World) -> None:
    found = _refused_unchanged(
        api,
        world.shared_class_id,
        {
            "id": world.shared_class_id,
            "regularInvoices": {"invoiceTemplateId": global_id("InvoiceTemplate", 4242)},
        },
        world.a.token,
    )
    assert found == [("NOT_FOUND", ["input", "regularInvoices", "invoiceTemplateId"])]


@pytest.mark.parametrize("target", ["shared", "default"])
def test_reseller_cannot_update_shared_classes(api: Api, world: World, target: str) -> None:
    class_id = world.shared_class_id if target == "shared" else world.default_class_id
    for patch in ({"description": "mine now"}, {}, {"generalInfo": {"roundingPrecision": 3}}):
        assert _refused_unchanged(api, class_id, {"id": class_id, **patch}, world.a.token) == [
            ("NOT_PERMITTED", ["input", "id"])
        ]


@pytest.mark.parametrize(
    "which", ["other reseller", "admin private", "guessed", "malformed", "wrong type", "empty"]
)
def test_hidden_or_unknown_ids_are_not_found(api: Api, world: World, which: str) -> None:
    given = {
        "other reseller": world.b.class_id,
        "admin private": world.admin_class_id,
        "guessed": guessed_class_id(),
        "malformed": MALFORMED_ID,
        "wrong type": world.a.customer_id,
        "empty": "",
    }[which]
    before_b = read_class(api, world.b.class_id)
    before_admin = read_class(api, world.admin_class_id)
    found = refused(
        api,
        "updateCustomerClass",
        {"id": given, "description": "hijacked", "expectedVersion": 99},
        world.a.token,
        "customerClass { id }",
    )
    assert found == [("NOT_FOUND", ["input", "id"])]
    assert read_class(api, world.b.class_id) == before_b
    assert read_class(api, world.admin_class_id) == before_admin


def test_tenant_isolation_on_update(api: Api, world: World) -> None:
    before = read_class(api, world.a.class_id)
    before_events = events(api, world.a.class_id)
    # B gets exactly what a nonexistent ID gets, whatever else the input holds.
    for patch in ({}, {"name": "Reseller B class"}, {"name": ""}, {"expectedVersion": 1}):
        assert refused(
            api,
            "updateCustomerClass",
            {"id": world.a.class_id, **patch},
            world.b.token,
            "customerClass { id }",
        ) == [("NOT_FOUND", ["input", "id"])]
    assert read_class(api, world.a.class_id) == before
    assert events(api, world.a.class_id) == before_events


def test_reseller_updates_its_own_class(api: Api, world: World) -> None:
    updated = update(api, {"id": world.a.class_id, "description": "By A"}, world.a.token)
    assert updated["version"] == 2
    assert updated["managingReseller"] == {"id": world.a.id}
    found = events(api, world.a.class_id, world.a.token)
    assert found[0]["action"] == "UPDATE"
    assert found[0]["actorTokenName"] == "Reseller A token"
    assert found[0]["changes"] == {"description": {"before": None, "after": "By A"}}
    assert events(api, world.a.class_id, world.b.token) == []


def test_administrator_updates_a_reseller_class(api: Api, world: World) -> None:
    updated = update(api, {"id": world.a.class_id, "name": "Renamed by admin"})
    assert updated["managingReseller"] == {"id": world.a.id}
    # The event's tenant is A; A reads the actor as "administrator".
    found = events(api, world.a.class_id, world.a.token)
    assert found[0]["action"] == "UPDATE"
    assert found[0]["actorTokenName"] == "administrator"
    assert found[0]["changes"] == {
        "name": {"before": "Reseller A class", "after": "Renamed by admin"}
    }
    # The administrator writes into A's namespace.
    create(api, {"name": "Second A"}, world.a.token)
    assert _refused_unchanged(
        api, world.a.class_id, {"id": world.a.class_id, "name": "second a"}
    ) == [("TAKEN", ["input", "name"])]


# --------------------------------------------------------------------------- Default class


def test_default_class_name_is_immutable(api: Api, world: World) -> None:
    class_id = world.default_class_id
    for name in ("Standard", "DEFAULT", "default"):
        assert _refused_unchanged(api, class_id, {"id": class_id, "name": name}) == [
            ("IMMUTABLE", ["input", "name"])
        ]
    # Passing the current name changes nothing.
    assert update(api, {"id": class_id, "name": "Default"})["version"] == 1


def test_default_class_description_and_tabs_are_editable(api: Api, world: World) -> None:
    class_id = world.default_class_id
    before = shown(read_class(api, class_id))
    updated = update(
        api,
        {
            "id": class_id,
            "description": "Everyone starts here",
            "generalInfo": {"roundingPrecision": 3},
        },
    )
    assert updated["description"] == "Everyone starts here"
    assert updated["generalInfo"]["roundingPrecision"] == 3
    assert updated["isDefault"] is True
    assert updated["sharedWithResellers"] is True
    assert updated["version"] == 2
    assert events(api, class_id)[0]["changes"] == {
        "description": {"before": before["description"], "after": "Everyone starts here"},
        "generalInfo.roundingPrecision": {"before": 2, "after": 3},
    }


def test_default_class_rename_with_other_errors(api: Api, world: World) -> None:
    class_id = world.default_class_id
    found = _refused_unchanged(
        api, class_id, {"id": class_id, "name": "Renamed", "description": "d" * 501}
    )
    assert sorted(found) == sorted(
        [("IMMUTABLE", ["input", "name"]), ("TOO_LONG", ["input", "description"])]
    )


# --------------------------------------------------------------------------- explicit nulls


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"name": None}, ["name"]),
        ({"generalInfo": None}, ["generalInfo"]),
        ({"generalInfo": {"generateStatistics": None}}, ["generalInfo", "generateStatistics"]),
        ({"generalInfo": {"roundingPrecision": None}}, ["generalInfo", "roundingPrecision"]),
        ({"generalInfo": {"sendStatistics": None}}, ["generalInfo", "sendStatistics"]),
        ({"measuredServices": None}, ["measuredServices"]),
        ({"customFieldIds": None}, ["customFieldIds"]),
        ({"regularInvoices": {"enabled": None}}, ["regularInvoices", "enabled"]),
        ({"regularInvoices": {"paymentTerms": None}}, ["regularInvoices", "paymentTerms"]),
        (
            {"regularInvoices": {"paymentTerms": {"netDays": None}}},
            ["regularInvoices", "paymentTerms", "netDays"],
        ),
        (
            {"outOfTurnInvoices": {"pastDue": {"collectionThreshold": None}}},
            ["outOfTurnInvoices", "pastDue", "collectionThreshold"],
        ),
        (
            {"outOfTurnInvoices": {"pastDue": {"resendInvoiceDays": None}}},
            ["outOfTurnInvoices", "pastDue", "resendInvoiceDays"],
        ),
        ({"taxation": {"method": None}}, ["taxation", "method"]),
        ({"taxation": {"customTaxIds": None}}, ["taxation", "customTaxIds"]),
        ({"notifications": {"settings": None}}, ["notifications", "settings"]),
        ({"fraudProtection": {"sendWarning": None}}, ["fraudProtection", "sendWarning"]),
    ],
)
def test_explicit_null_on_non_null_field_is_invalid(
    api: Api, patch: dict[str, Any], path: list[str]
) -> None:
    class_id = _rich_class(api)["id"]
    assert _refused_unchanged(api, class_id, {"id": class_id, **patch}) == [
        ("INVALID", ["input", *path])
    ]


def test_explicit_null_clears_nullable_fields(api: Api) -> None:
    template = invoice_template(api, "Nullable template")
    rich = _rich_class(api)
    class_id = rich["id"]
    update(
        api,
        {
            "id": class_id,
            "regularInvoices": {
                "invoiceTemplateId": template,
                "pastDue": {"lateFee": "5", "reactivationFee": "7.5"},
            },
        },
    )
    updated = update(
        api,
        {
            "id": class_id,
            "description": None,
            "notificationSender": None,
            "generalInfo": {"billingPeriodClosure": "AFTER_GLOBAL_DELAY", "closeDelayHours": None},
            "regularInvoices": {
                "invoiceTemplateId": None,
                "pastDue": {"lateFee": None, "reactivationFee": None, "suspendAfterDays": None},
            },
            "taxation": {"method": "NO_TAXATION", "vatRatePercent": None, "taxName": None},
            "fraudProtection": {"dailySpendingThreshold": None},
        },
    )
    assert updated["description"] is None
    assert updated["notificationSender"] is None
    assert updated["generalInfo"]["closeDelayHours"] is None
    assert updated["generalInfo"]["billingPeriodClosure"] == "AFTER_GLOBAL_DELAY"
    assert updated["regularInvoices"]["invoiceTemplate"] is None
    past_due = updated["regularInvoices"]["pastDue"]
    assert past_due["lateFee"] is None
    assert past_due["reactivationFee"] is None
    assert past_due["suspendAfterDays"] is None
    assert past_due["limitServiceAfterDays"] == 10  # untouched
    assert updated["taxation"]["vatRatePercent"] is None
    assert updated["taxation"]["taxName"] is None
    assert updated["fraudProtection"]["dailySpendingThreshold"] is None
    assert updated["version"] == 3
    assert read_class(api, class_id) == updated


def test_fraud_protection_null_switches_it_off(api: Api) -> None:
    # Code's choice: fraudProtection: null on a class with currency resets the object to
    # its defaults (the output stays non-null with a currency).
    rich = _rich_class(api)
    updated = update(api, {"id": rich["id"], "fraudProtection": None})
    assert updated["fraudProtection"] == {
        "dailySpendingThreshold": None,
        "checkRemainingFunds": False,
        "sendWarning": False,
        "warningThresholdPercent": None,
    }


def test_fraud_protection_on_class_without_currency(api: Api, world: World) -> None:
    class_id = create(api, {"name": "Any currency"})["id"]
    for fraud in ({"dailySpendingThreshold": "5"}, {}, None):
        assert _refused_unchanged(api, class_id, {"id": class_id, "fraudProtection": fraud}) == [
            ("DEPENDENCY", ["input", "fraudProtection"])
        ]
    # The Default class has no currency either.
    assert _refused_unchanged(
        api,
        world.default_class_id,
        {"id": world.default_class_id, "fraudProtection": {"sendWarning": False}},
    ) == [("DEPENDENCY", ["input", "fraudProtection"])]


# --------------------------------------------------------------------------- cross-field rules


def test_statistics_off_under_regular_invoices(api: Api) -> None:
    class_id = create(api, {"name": "Invoiced", "regularInvoices": {"enabled": True}})["id"]
    assert _refused_unchanged(
        api, class_id, {"id": class_id, "generalInfo": {"generateStatistics": False}}
    ) == [("DEPENDENCY", ["input", "generalInfo", "generateStatistics"])]
    # Turning both off in one patch is fine.
    updated = update(
        api,
        {
            "id": class_id,
            "generalInfo": {"generateStatistics": False},
            "regularInvoices": {"enabled": False},
        },
    )
    assert updated["archiveXdrs"] is False
    assert updated["invoicing"] == "DISABLED"
    # And now regular invoices alone are refused on their own field.
    assert _refused_unchanged(
        api, class_id, {"id": class_id, "regularInvoices": {"enabled": True}}
    ) == [("DEPENDENCY", ["input", "regularInvoices", "enabled"])]


def test_send_statistics_needs_statistics(api: Api) -> None:
    class_id = create(
        api, {"name": "Sender", "generalInfo": {"sendStatistics": "FULL_STATISTICS"}}
    )["id"]
    assert _refused_unchanged(
        api, class_id, {"id": class_id, "generalInfo": {"generateStatistics": False}}
    ) == [("DEPENDENCY", ["input", "generalInfo", "generateStatistics"])]
    updated = update(
        api,
        {
            "id": class_id,
            "generalInfo": {"generateStatistics": False, "sendStatistics": "DO_NOT_SEND"},
        },
    )
    assert updated["generalInfo"]["generateStatistics"] is False


def test_past_due_step_checked_against_stored_steps(api: Api) -> None:
    class_id = create(
        api,
        {"name": "Steps", "regularInvoices": {"pastDue": {"limitServiceAfterDays": 10}}},
    )["id"]
    suspend = ["input", "regularInvoices", "pastDue", "suspendAfterDays"]
    for days in (5, 10):
        assert _refused_unchanged(
            api,
            class_id,
            {"id": class_id, "regularInvoices": {"pastDue": {"suspendAfterDays": days}}},
        ) == [("INVALID", suspend)]
    updated = update(
        api, {"id": class_id, "regularInvoices": {"pastDue": {"suspendAfterDays": 11}}}
    )
    assert updated["regularInvoices"]["pastDue"]["limitServiceAfterDays"] == 10
    assert updated["regularInvoices"]["pastDue"]["suspendAfterDays"] == 11
    # Moving the earlier step past the stored later one is reported on the touched field.
    assert _refused_unchanged(
        api,
        class_id,
        {"id": class_id, "regularInvoices": {"pastDue": {"limitServiceAfterDays": 11}}},
    ) == [("INVALID", ["input", "regularInvoices", "pastDue", "limitServiceAfterDays"])]
    # Termination must come after the stored suspension, on the out-of-turn tab too.
    assert _refused_unchanged(
        api,
        class_id,
        {"id": class_id, "regularInvoices": {"pastDue": {"terminateAfterDays": 11}}},
    ) == [("INVALID", ["input", "regularInvoices", "pastDue", "terminateAfterDays"])]
    # Both in the input: the later one carries the error.
    assert _refused_unchanged(
        api,
        class_id,
        {
            "id": class_id,
            "outOfTurnInvoices": {"pastDue": {"limitServiceAfterDays": 30, "suspendAfterDays": 20}},
        },
    ) == [("INVALID", ["input", "outOfTurnInvoices", "pastDue", "suspendAfterDays"])]


def test_notices_need_their_stored_step(api: Api) -> None:
    class_id = create(
        api,
        {"name": "Notices", "regularInvoices": {"pastDue": {"suspendAfterDays": 5}}},
    )["id"]
    notices = ["input", "regularInvoices", "pastDue", "suspensionNoticeDays"]
    assert update(
        api,
        {"id": class_id, "regularInvoices": {"pastDue": {"suspensionNoticeDays": [5, 2]}}},
    )["regularInvoices"]["pastDue"]["suspensionNoticeDays"] == [5, 2]
    # Nulling the step without clearing its notices: the touched step gets the error.
    assert _refused_unchanged(
        api,
        class_id,
        {"id": class_id, "regularInvoices": {"pastDue": {"suspendAfterDays": None}}},
    ) == [("DEPENDENCY", ["input", "regularInvoices", "pastDue", "suspendAfterDays"])]
    # Notices beyond the stored step.
    assert _refused_unchanged(
        api,
        class_id,
        {"id": class_id, "regularInvoices": {"pastDue": {"suspensionNoticeDays": [6]}}},
    ) == [("OUT_OF_RANGE", [*notices, "0"])]


def test_closure_switch_must_null_close_delay(api: Api) -> None:
    class_id = create(
        api,
        {
            "name": "Delayed",
            "generalInfo": {"billingPeriodClosure": "WITH_EXTRA_DELAY", "closeDelayHours": 12},
        },
    )["id"]
    for closure in ("AFTER_GLOBAL_DELAY", "UPON_ADMINISTRATOR_APPROVAL"):
        assert _refused_unchanged(
            api, class_id, {"id": class_id, "generalInfo": {"billingPeriodClosure": closure}}
        ) == [("DEPENDENCY", ["input", "generalInfo", "billingPeriodClosure"])]
    updated = update(
        api,
        {
            "id": class_id,
            "generalInfo": {
                "billingPeriodClosure": "UPON_ADMINISTRATOR_APPROVAL",
                "closeDelayHours": None,
            },
        },
    )
    assert updated["generalInfo"]["closeDelayHours"] is None
    assert updated["generalInfo"]["billingPeriodClosure"] == "UPON_ADMINISTRATOR_APPROVAL"
    # Back to WITH_EXTRA_DELAY without hours: the missing value is REQUIRED.
    assert _refused_unchanged(
        api,
        class_id,
        {"id": class_id, "generalInfo": {"billingPeriodClosure": "WITH_EXTRA_DELAY"}},
    ) == [("REQUIRED", ["input", "generalInfo", "closeDelayHours"])]
    # Hours without WITH_EXTRA_DELAY.
    assert _refused_unchanged(
        api, class_id, {"id": class_id, "generalInfo": {"closeDelayHours": 5}}
    ) == [("DEPENDENCY", ["input", "generalInfo", "closeDelayHours"])]


def test_billed_externally_chain_against_stored_state(api: Api) -> None:
    class_id = create(
        api,
        {
            "name": "External",
            "generalInfo": {
                "billedExternally": True,
                "resetBalanceEveryPeriod": True,
                "hideBalanceResetXdr": True,
            },
        },
    )["id"]
    assert _refused_unchanged(
        api,
        class_id,
        {"id": class_id, "generalInfo": {"billingPeriodClosure": "UPON_ADMINISTRATOR_APPROVAL"}},
    ) == [("DEPENDENCY", ["input", "generalInfo", "billingPeriodClosure"])]
    assert _refused_unchanged(
        api, class_id, {"id": class_id, "generalInfo": {"billedExternally": False}}
    ) == [("DEPENDENCY", ["input", "generalInfo", "billedExternally"])]


def test_separate_invoices_need_stored_auto_charge(api: Api) -> None:
    class_id = create(
        api,
        {
            "name": "Recurring",
            "outOfTurnInvoices": {
                "separateInvoiceForRecurringFees": True,
                "paymentTerms": {"autoCharge": True},
            },
        },
    )["id"]
    assert _refused_unchanged(
        api,
        class_id,
        {"id": class_id, "outOfTurnInvoices": {"paymentTerms": {"autoCharge": False}}},
    ) == [("DEPENDENCY", ["input", "outOfTurnInvoices", "paymentTerms", "autoCharge"])]


def test_notification_set_detach_while_sending(api: Api) -> None:
    notif = notification_set(api, "Detachable")
    class_id = create(
        api,
        {
            "name": "Notified",
            "notifications": {
                "notificationSetId": notif,
                "settings": [{"type": "LOW_BALANCE", "sms": {"send": True, "template": "CUSTOM"}}],
            },
        },
    )["id"]
    assert _refused_unchanged(
        api, class_id, {"id": class_id, "notifications": {"notificationSetId": None}}
    ) == [("DEPENDENCY", ["input", "notifications", "notificationSetId"])]
    updated = update(
        api,
        {
            "id": class_id,
            "notifications": {
                "notificationSetId": None,
                "settings": [{"type": "LOW_BALANCE", "sms": {"send": False}}],
            },
        },
    )
    assert updated["notifications"]["notificationSet"] is None
    low = next(s for s in updated["notifications"]["settings"] if s["type"] == "LOW_BALANCE")
    # The template of a patched channel is kept when omitted.
    assert low["sms"] == {"send": False, "template": "CUSTOM"}


def test_measured_services_replace_the_whole_list(api: Api) -> None:
    rich = _rich_class(api)
    updated = update(
        api,
        {
            "id": rich["id"],
            "measuredServices": [
                {"parameter": "ACTIVE_CALLS", "chargeBasedOn": "AVERAGE", "pricePerItem": "1"}
            ],
        },
    )
    assert updated["measuredServices"] == [
        {
            "parameter": "ACTIVE_CALLS",
            "chargeBasedOn": "AVERAGE",
            "pricePerItem": "1.00",
            "itemsFreeOfCharge": 0,
            "rateCode": None,
            "service": None,
        }
    ]
    assert update(api, {"id": rich["id"], "measuredServices": []})["measuredServices"] == []


def test_each_root_field_is_its_own_transaction(api: Api, world: World) -> None:
    query = """mutation($u1: UpdateCustomerClassInput!, $u2: UpdateCustomerClassInput!) {
      a: updateCustomerClass(input: $u1) {
        customerClass { version description } userErrors { code } }
      b: updateCustomerClass(input: $u2) {
        customerClass { version } userErrors { code field } } }"""
    data = api.data(
        query,
        {
            "u1": {"id": world.a.class_id, "description": "first"},
            "u2": {"id": world.a.class_id, "description": "x" * 501, "name": "Lost"},
        },
        world.a.token,
    )
    assert data["a"] == {
        "customerClass": {"version": 2, "description": "first"},
        "userErrors": [],
    }
    assert data["b"] == {
        "customerClass": None,
        "userErrors": [{"code": "TOO_LONG", "field": ["input", "description"]}],
    }
    stored = shown(read_class(api, world.a.class_id))
    assert (stored["name"], stored["description"], stored["version"]) == (
        "Reseller A class",
        "first",
        2,
    )
    assert [e["action"] for e in events(api, world.a.class_id)] == ["UPDATE", "CREATE"]
