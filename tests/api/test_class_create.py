"""createCustomerClass over HTTP: managers, sharing, defaults of every tab, header rules,
precedence, all-errors-at-once, audit and tenant isolation (SPEC §1-§3, §5)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.class_support import (
    MALFORMED_ID,
    NOTIFICATION_TYPES,
    business_model,
    class_count,
    create,
    events,
    global_id,
    one_event,
    read_class,
    refused,
    tabs_of,
)
from tests.api_client import Api, World, shown
from tests.support.audit import event_count
from tests.support.errors import errors_of


def _payment_terms() -> dict[str, Any]:
    return {
        "netDays": 0,
        "dueDateReminderDays": [],
        "autoCharge": False,
        "autoChargeTiming": "UPON_INVOICE_GENERATION",
    }


def _past_due(zero: str) -> dict[str, Any]:
    return {
        "collectionThreshold": zero,
        "resendInvoiceDays": [],
        "lateFee": None,
        "limitServiceAfterDays": None,
        "limitationNoticeDays": [],
        "suspendAfterDays": None,
        "suspensionNoticeDays": [],
        "reactivationFee": None,
        "terminateAfterDays": None,
        "terminationNoticeDays": [],
        "terminateCommitments": False,
        "restoreAfterPartialPayment": False,
    }


def expected_default_tabs(zero: str, fraud: bool) -> dict[str, Any]:
    """SPEC §5 defaults, in the output shape; ``zero`` is money 0 in the class currency."""
    return {
        "generalInfo": {
            "generateStatistics": True,
            "sendStatistics": "DO_NOT_SEND",
            "billingPeriodClosure": "AFTER_GLOBAL_DELAY",
            "closeDelayHours": None,
            "roundingMethod": "AWAY_FROM_ZERO",
            "roundingPrecision": 2,
            "suspendOnInsufficientFunds": False,
            "billedExternally": False,
            "resetBalanceEveryPeriod": False,
            "hideBalanceResetXdr": False,
        },
        "measuredServices": [],
        "notifications": {
            "notificationSet": None,
            "settings": [
                {
                    "type": t,
                    "email": {"send": False, "template": "SYSTEM"},
                    "sms": {"send": False, "template": "SYSTEM"},
                }
                for t in NOTIFICATION_TYPES
            ],
        },
        "regularInvoices": {
            "enabled": False,
            "invoiceTemplate": None,
            "pdfGeneration": "AT_END_OF_BILLING_PERIOD",
            "delivery": "AUTOMATICALLY",
            "holdForReviewDays": None,
            "paymentTerms": _payment_terms(),
            "pastDue": _past_due(zero),
        },
        "outOfTurnInvoices": {
            "enabled": False,
            "invoiceTemplate": None,
            "delivery": "NEVER",
            "separateInvoiceForRecurringFees": False,
            "paymentTerms": _payment_terms(),
            "pastDue": _past_due(zero),
        },
        "taxation": {
            "method": "NO_TAXATION",
            "assessTaxes": False,
            "taxesIncludedInRates": False,
            "assessment": "AT_END_OF_BILLING_PERIOD",
            "vatRatePercent": None,
            "taxName": None,
            "customTaxes": [],
        },
        "customFields": [],
        "fraudProtection": (
            {
                "dailySpendingThreshold": None,
                "checkRemainingFunds": False,
                "sendWarning": False,
                "warningThresholdPercent": None,
            }
            if fraud
            else None
        ),
    }


def _create_refused(api: Api, input_: dict[str, Any], token: str | None = None) -> list[Any]:
    before_classes, before_events = class_count(api), event_count(api)
    found = refused(api, "createCustomerClass", input_, token, "customerClass { id }")
    assert class_count(api) == before_classes
    assert event_count(api) == before_events
    return found


# --------------------------------------------------------------------------- managers


def test_administrator_creates_administrator_managed_class(api: Api) -> None:
    created = create(api, {"name": "Retail", "currencyCode": "USD"})
    assert created["managedBy"] == "ADMINISTRATOR"
    assert created["managingReseller"] is None
    assert created["isDefault"] is False
    assert created["sharedWithResellers"] is False
    assert created["version"] == 1
    assert created["currency"] == {"code": "USD"}
    assert created["businessModel"] is None
    assert created["description"] is None
    assert created["notificationSender"] is None
    assert created["customerCount"] == 0
    assert created["createdAt"] == created["updatedAt"]
    assert read_class(api, created["id"]) == created

    event = one_event(api, created["id"])
    assert event["action"] == "CREATE"
    assert event["objectType"] == "CustomerClass"
    assert event["objectId"] == created["id"]
    assert event["actorRole"] == "ADMINISTRATOR"
    assert event["actorTokenName"] == "root"
    changes = event["changes"]
    assert changes["name"] == {"before": None, "after": "Retail"}
    assert changes["currency"] == {"before": None, "after": "USD"}
    assert changes["sharedWithResellers"] == {"before": None, "after": False}
    assert changes["regularInvoices.paymentTerms.netDays"] == {"before": None, "after": 0}
    assert changes["generalInfo.generateStatistics"] == {"before": None, "after": True}
    assert all(change["before"] is None for change in changes.values())


def test_administrator_creates_class_for_a_reseller(api: Api, world: World) -> None:
    created = create(api, {"name": "Made for A", "managingResellerId": world.a.id})
    assert created["managedBy"] == "RESELLER"
    assert created["managingReseller"] == {"id": world.a.id}
    assert created["sharedWithResellers"] is False
    # A sees and owns it; B does not see it at all.
    assert read_class(api, created["id"], world.a.token) == created
    assert read_class(api, created["id"], world.b.token) is None
    # The event's tenant is A: A sees it, B does not.
    event = one_event(api, created["id"], world.a.token)
    assert event["action"] == "CREATE"
    assert event["actorTokenName"] == "administrator"  # an event A did not cause
    assert event["changes"]["managingReseller"] == {"before": None, "after": world.a.id}
    assert events(api, created["id"], world.b.token) == []


def test_administrator_creates_class_for_a_sub_reseller(api: Api, world: World) -> None:
    sub = api.create_reseller("Sub of A", token=world.a.token)
    created = create(api, {"name": "For the sub-reseller", "managingResellerId": sub})
    assert created["managingReseller"] == {"id": sub}
    # A reseller's rights stop at its direct subentities: A does not see its sub's class.
    assert read_class(api, created["id"], world.a.token) is None
    assert events(api, created["id"], world.a.token) == []
    sub_token = api.reseller_token(sub, "Sub token")
    assert shown(read_class(api, created["id"], sub_token))["id"] == created["id"]
    assert one_event(api, created["id"], sub_token)["action"] == "CREATE"


@pytest.mark.parametrize("which", ["guessed", "malformed", "class id", "empty"])
def test_administrator_managing_reseller_must_exist(api: Api, world: World, which: str) -> None:
    given = {
        "guessed": global_id("Customer", 987654321),
        "malformed": MALFORMED_ID,
        "class id": world.admin_class_id,
        "empty": "",
    }[which]
    found = _create_refused(api, {"name": "Orphan", "managingResellerId": given})
    assert found == [("NOT_FOUND", ["input", "managingResellerId"])]


def test_administrator_managing_reseller_must_be_a_reseller(api: Api, world: World) -> None:
    # Code's choice: a RETAIL customer named as manager is INVALID (it exists, but a class
    # is managed by a RESELLER customer).
    found = _create_refused(
        api, {"name": "Retail-managed", "managingResellerId": world.a.customer_id}
    )
    assert found == [("INVALID", ["input", "managingResellerId"])]


def test_administrator_null_manager_means_administrator(api: Api) -> None:
    created = create(api, {"name": "Explicit null", "managingResellerId": None})
    assert created["managedBy"] == "ADMINISTRATOR"


def test_reseller_creates_class_managed_by_itself(api: Api, world: World) -> None:
    created = create(api, {"name": "A's own", "description": "mine"}, world.a.token)
    assert created["managedBy"] == "RESELLER"
    assert created["managingReseller"] == {"id": world.a.id}
    assert created["sharedWithResellers"] is False
    assert created["version"] == 1
    assert read_class(api, created["id"]) == {**created, "customerCount": 0}
    assert read_class(api, created["id"], world.b.token) is None
    event = one_event(api, created["id"], world.a.token)
    assert event["action"] == "CREATE"
    assert event["actorRole"] == "RESELLER"
    assert event["actorTokenName"] == "Reseller A token"
    assert events(api, created["id"], world.b.token) == []


def test_reseller_may_name_itself_as_manager(api: Api, world: World) -> None:
    created = create(api, {"name": "Named myself", "managingResellerId": world.a.id}, world.a.token)
    assert created["managingReseller"] == {"id": world.a.id}
    created = create(api, {"name": "Null manager", "managingResellerId": None}, world.a.token)
    assert created["managingReseller"] == {"id": world.a.id}


@pytest.mark.parametrize("which", ["other reseller", "guessed", "malformed", "retail customer"])
def test_reseller_naming_another_manager_is_not_permitted(
    api: Api, world: World, which: str
) -> None:
    given = {
        "other reseller": world.b.id,
        "guessed": global_id("Customer", 123456789),
        "malformed": MALFORMED_ID,
        "retail customer": world.a.customer_id,
    }[which]
    found = _create_refused(api, {"name": "Stolen", "managingResellerId": given}, world.a.token)
    assert found == [("NOT_PERMITTED", ["input", "managingResellerId"])]


def test_reseller_not_permitted_comes_before_validation(api: Api, world: World) -> None:
    found = _create_refused(
        api,
        {
            "name": "x" * 101,
            "managingResellerId": world.b.id,
            "sharedWithResellers": True,
            "description": "d" * 501,
            "currencyCode": "ZZZ",
        },
        world.a.token,
    )
    assert found == [
        ("NOT_PERMITTED", ["input", "managingResellerId"]),
        ("NOT_PERMITTED", ["input", "sharedWithResellers"]),
    ]


def test_not_found_comes_before_not_permitted_on_create(api: Api, world: World) -> None:
    found = _create_refused(
        api,
        {
            "name": "x" * 101,
            "managingResellerId": world.b.id,
            "businessModelId": global_id("BusinessModel", 42),
        },
        world.a.token,
    )
    assert found == [("NOT_FOUND", ["input", "businessModelId"])]


def test_reseller_cannot_share(api: Api, world: World) -> None:
    found = _create_refused(
        api, {"name": "Shared by A", "sharedWithResellers": True}, world.a.token
    )
    assert found == [("NOT_PERMITTED", ["input", "sharedWithResellers"])]
    created = create(api, {"name": "Unshared by A", "sharedWithResellers": False}, world.a.token)
    assert created["sharedWithResellers"] is False


def test_administrator_shares_administrator_class(api: Api, world: World) -> None:
    created = create(api, {"name": "Everyone's", "sharedWithResellers": True})
    assert created["sharedWithResellers"] is True
    assert shown(read_class(api, created["id"], world.a.token))["id"] == created["id"]
    assert shown(read_class(api, created["id"], world.b.token))["id"] == created["id"]


def test_shared_reseller_managed_class_is_a_dependency(api: Api, world: World) -> None:
    found = _create_refused(
        api, {"name": "Shared A", "managingResellerId": world.a.id, "sharedWithResellers": True}
    )
    assert found == [("DEPENDENCY", ["input", "sharedWithResellers"])]


# --------------------------------------------------------------------------- defaults


def test_defaults_of_every_tab_with_currency(api: Api) -> None:
    created = create(api, {"name": "Defaults USD", "currencyCode": "USD"})
    assert tabs_of(created) == expected_default_tabs("0.00", fraud=True)
    assert created["archiveXdrs"] is True
    assert created["invoicing"] == "DISABLED"
    assert created["taxationMethod"] == "NO_TAXATION"
    assert tabs_of(shown(read_class(api, created["id"]))) == tabs_of(created)


def test_defaults_of_every_tab_without_currency(api: Api) -> None:
    created = create(api, {"name": "Defaults any"})
    assert created["currency"] is None
    assert tabs_of(created) == expected_default_tabs("0.000000", fraud=False)


def test_defaults_money_follow_minor_units(api: Api) -> None:
    created = create(api, {"name": "Yen", "currencyCode": "JPY"})
    assert created["regularInvoices"]["pastDue"]["collectionThreshold"] == "0"
    assert created["outOfTurnInvoices"]["pastDue"]["collectionThreshold"] == "0"


def test_default_class_has_default_tabs(api: Api, world: World) -> None:
    default = shown(read_class(api, world.default_class_id))
    assert default["isDefault"] is True
    assert default["sharedWithResellers"] is True
    assert default["managedBy"] == "ADMINISTRATOR"
    assert default["currency"] is None
    assert tabs_of(default) == expected_default_tabs("0.000000", fraud=False)


def test_given_tab_values_override_defaults_only_where_given(api: Api) -> None:
    created = create(
        api,
        {
            "name": "Partial tabs",
            "currencyCode": "EUR",
            "generalInfo": {"roundingPrecision": 4, "sendStatistics": "SUMMARY_ONLY"},
            "regularInvoices": {"enabled": True, "paymentTerms": {"netDays": 30}},
            "fraudProtection": {"dailySpendingThreshold": "100"},
        },
    )
    expected = expected_default_tabs("0.00", fraud=True)
    expected["generalInfo"].update(roundingPrecision=4, sendStatistics="SUMMARY_ONLY")
    expected["regularInvoices"]["enabled"] = True
    expected["regularInvoices"]["paymentTerms"]["netDays"] = 30
    expected["fraudProtection"]["dailySpendingThreshold"] = "100.00"
    assert tabs_of(created) == expected
    assert created["invoicing"] == "REGULAR_ONLY"


# --------------------------------------------------------------------------- header rules


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "REQUIRED"),
        ("   ", "REQUIRED"),
        ("\u00a0\t ", "REQUIRED"),
        ("x" * 101, "TOO_LONG"),
        ("bad\x07name", "INVALID"),
        ("tab\tinside", "INVALID"),
        ("new\nline", "INVALID"),
        ("del\x7fchar", "INVALID"),
    ],
)
def test_name_rules(api: Api, name: str, code: str) -> None:
    assert _create_refused(api, {"name": name}) == [(code, ["input", "name"])]


def test_name_is_stripped_and_nfc_normalised(api: Api) -> None:
    assert create(api, {"name": "  Spaced  "})["name"] == "Spaced"
    assert create(api, {"name": "\tTabbed\n"})["name"] == "Tabbed"
    decomposed = "Cafe\u0301"
    created = create(api, {"name": decomposed})
    assert created["name"] == "Caf\u00e9"
    assert create(api, {"name": "y" * 100})["name"] == "y" * 100
    # 100 characters after stripping.
    assert create(api, {"name": "  " + "z" * 100 + "  "})["name"] == "z" * 100
    # The NFC form counts: 100 composed characters written decomposed are fine.
    assert create(api, {"name": "e\u0301" * 100})["name"] == "\u00e9" * 100


def test_name_taken_per_manager_ignoring_case(api: Api, world: World) -> None:
    create(api, {"name": "Retail"})
    assert _create_refused(api, {"name": "RETAIL"}) == [("TAKEN", ["input", "name"])]
    assert _create_refused(api, {"name": "  retail "}) == [("TAKEN", ["input", "name"])]
    # NFC + casefold: composed and decomposed, upper and lower are one name.
    create(api, {"name": "Caf\u00e9"})
    assert _create_refused(api, {"name": "CAFE\u0301"}) == [("TAKEN", ["input", "name"])]
    create(api, {"name": "Stra\u00dfe"})
    assert _create_refused(api, {"name": "STRASSE"}) == [("TAKEN", ["input", "name"])]
    # The same name under other managers is fine.
    create(api, {"name": "Retail"}, world.a.token)
    create(api, {"name": "retail"}, world.b.token)
    assert _create_refused(api, {"name": "Retail"}, world.a.token) == [("TAKEN", ["input", "name"])]
    # The administrator creating for A writes into A's namespace.
    assert _create_refused(api, {"name": "rEtAiL", "managingResellerId": world.a.id}) == [
        ("TAKEN", ["input", "name"])
    ]
    create(api, {"name": "Only in admin", "managingResellerId": world.a.id})


def test_reseller_never_gets_taken_for_another_tenants_name(api: Api, world: World) -> None:
    # B's class, the shared and the private administrator classes, the Default class.
    for name in ("Reseller B class", "admin shared", "ADMIN PRIVATE", "Default"):
        created = create(api, {"name": name}, world.a.token)
        assert created["managingReseller"] == {"id": world.a.id}


def test_administrator_class_name_may_repeat_a_reseller_class_name(api: Api, world: World) -> None:
    created = create(api, {"name": "reseller a class"})
    assert created["managedBy"] == "ADMINISTRATOR"


def test_description_rules(api: Api) -> None:
    assert _create_refused(api, {"name": "D1", "description": "d" * 501}) == [
        ("TOO_LONG", ["input", "description"])
    ]
    assert create(api, {"name": "D2", "description": "d" * 500})["description"] == "d" * 500
    assert create(api, {"name": "D3", "description": ""})["description"] is None
    assert create(api, {"name": "D4", "description": None})["description"] is None
    assert create(api, {"name": "D5", "description": "Line 1\nLine 2"})["description"] == (
        "Line 1\nLine 2"
    )


@pytest.mark.parametrize(
    "sender",
    [
        "not-an-email",
        "Billing <billing@example.com>",
        "billing@",
        "@example.com",
        "billing@example",
        "two@at@example.com",
        "spaces in@example.com",
    ],
)
def test_notification_sender_must_be_a_bare_email(api: Api, sender: str) -> None:
    assert _create_refused(api, {"name": "Mailer", "notificationSender": sender}) == [
        ("INVALID", ["input", "notificationSender"])
    ]


def test_notification_sender_accepted_values(api: Api) -> None:
    created = create(api, {"name": "S1", "notificationSender": " billing@example.com "})
    assert created["notificationSender"] == "billing@example.com"
    assert create(api, {"name": "S2", "notificationSender": ""})["notificationSender"] is None
    too_long = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + ".example.com"
    assert len(too_long) > 254
    assert _create_refused(api, {"name": "S3", "notificationSender": too_long}) == [
        ("TOO_LONG", ["input", "notificationSender"])
    ]


@pytest.mark.parametrize("code", ["ZZZ", "US", "USDX", "", "usd"])
def test_unknown_currency_is_invalid(api: Api, code: str) -> None:
    # Code's choice: the code is matched exactly (upper case), so "usd" and "" are INVALID.
    assert _create_refused(api, {"name": "Money", "currencyCode": code}) == [
        ("INVALID", ["input", "currencyCode"])
    ]


def test_known_currency_and_null_currency(api: Api) -> None:
    assert create(api, {"name": "C1", "currencyCode": "EUR"})["currency"] == {"code": "EUR"}
    assert create(api, {"name": "C2", "currencyCode": None})["currency"] is None


@pytest.mark.parametrize("which", ["guessed", "malformed", "wrong type"])
def test_unknown_business_model_is_not_found(api: Api, world: World, which: str) -> None:
    given = {
        "guessed": global_id("BusinessModel", 55555),
        "malformed": MALFORMED_ID,
        "wrong type": world.admin_class_id,
    }[which]
    assert _create_refused(api, {"name": "BM", "businessModelId": given}) == [
        ("NOT_FOUND", ["input", "businessModelId"])
    ]


def test_business_model_is_set(api: Api, world: World) -> None:
    model = business_model(api, "SIP")
    created = create(api, {"name": "With model", "businessModelId": model})
    assert created["businessModel"] == {"id": model}
    # Catalogs are public: a reseller may use the model too.
    created = create(api, {"name": "A with model", "businessModelId": model}, world.a.token)
    assert created["businessModel"] == {"id": model}
    event = one_event(api, created["id"])
    assert event["changes"]["businessModel"] == {"before": None, "after": model}


def test_fraud_protection_needs_a_currency(api: Api) -> None:
    assert _create_refused(
        api, {"name": "No cur", "fraudProtection": {"dailySpendingThreshold": "10"}}
    ) == [("DEPENDENCY", ["input", "fraudProtection"])]
    assert _create_refused(api, {"name": "No cur", "fraudProtection": {}}) == [
        ("DEPENDENCY", ["input", "fraudProtection"])
    ]
    created = create(
        api,
        {
            "name": "With cur",
            "currencyCode": "USD",
            "fraudProtection": {
                "dailySpendingThreshold": "10.5",
                "sendWarning": True,
                "warningThresholdPercent": 80,
            },
        },
    )
    assert created["fraudProtection"] == {
        "dailySpendingThreshold": "10.50",
        "checkRemainingFunds": False,
        "sendWarning": True,
        "warningThresholdPercent": 80,
    }


def test_fraud_protection_dependency_with_unknown_currency(api: Api) -> None:
    # An unknown currency leaves the class without one: fraud protection is then refused
    # too, and both errors come back together.
    found = _create_refused(
        api,
        {"name": "Bad", "currencyCode": "ZZZ", "fraudProtection": {"dailySpendingThreshold": "1"}},
    )
    assert sorted(found) == sorted(
        [("INVALID", ["input", "currencyCode"]), ("DEPENDENCY", ["input", "fraudProtection"])]
    )


def test_all_validation_errors_at_once_and_nothing_written(api: Api, world: World) -> None:
    create(api, {"name": "Existing"})
    found = _create_refused(
        api,
        {
            "name": "EXISTING",
            "description": "d" * 501,
            "notificationSender": "nobody",
            "currencyCode": "ZZZ",
            "generalInfo": {"roundingPrecision": 7, "closeDelayHours": 5},
            "regularInvoices": {"paymentTerms": {"netDays": 400}},
            "taxation": {"taxName": "t" * 51},
        },
    )
    assert sorted(found) == sorted(
        [
            ("TAKEN", ["input", "name"]),
            ("TOO_LONG", ["input", "description"]),
            ("INVALID", ["input", "notificationSender"]),
            ("INVALID", ["input", "currencyCode"]),
            ("OUT_OF_RANGE", ["input", "generalInfo", "roundingPrecision"]),
            ("DEPENDENCY", ["input", "generalInfo", "closeDelayHours"]),
            ("OUT_OF_RANGE", ["input", "regularInvoices", "paymentTerms", "netDays"]),
            ("TOO_LONG", ["input", "taxation", "taxName"]),
        ]
    )
    names = api.data('{ customerClasses(filter: {nameContains: "existing"}) { totalCount } }')
    assert names["customerClasses"]["totalCount"] == 1


def test_reseller_validation_errors_at_once(api: Api, world: World) -> None:
    found = _create_refused(
        api,
        {
            "name": "Reseller A class",
            "notificationSender": "x@",
            "fraudProtection": {"sendWarning": True},
        },
        world.a.token,
    )
    assert sorted(found) == sorted(
        [
            ("TAKEN", ["input", "name"]),
            ("INVALID", ["input", "notificationSender"]),
            ("DEPENDENCY", ["input", "fraudProtection"]),
        ]
    )


def test_tab_errors_on_create_use_full_paths(api: Api) -> None:
    found = _create_refused(
        api,
        {
            "name": "Tabs",
            "currencyCode": "USD",
            "generalInfo": {"billingPeriodClosure": "WITH_EXTRA_DELAY"},
            "measuredServices": [
                {"parameter": "ACTIVE_CALLS", "chargeBasedOn": "AVERAGE", "pricePerItem": "1"},
                {"parameter": "ACTIVE_CALLS", "chargeBasedOn": "MAXIMUM", "pricePerItem": "1.234"},
            ],
            "regularInvoices": {"enabled": True},
            "fraudProtection": {"checkRemainingFunds": True},
        },
    )
    assert sorted(found) == sorted(
        [
            ("REQUIRED", ["input", "generalInfo", "closeDelayHours"]),
            ("INVALID", ["input", "measuredServices", "1", "parameter"]),
            ("INVALID", ["input", "measuredServices", "1", "pricePerItem"]),
            ("DEPENDENCY", ["input", "fraudProtection", "checkRemainingFunds"]),
        ]
    )


def test_regular_invoices_with_statistics_off_on_create(api: Api) -> None:
    # Both settings are in the input: code reports the dependent one (regular invoices).
    found = _create_refused(
        api,
        {
            "name": "Stats off",
            "generalInfo": {"generateStatistics": False},
            "regularInvoices": {"enabled": True},
        },
    )
    assert found == [("DEPENDENCY", ["input", "regularInvoices", "enabled"])]


def test_create_writes_exactly_one_event(api: Api, world: World) -> None:
    before = event_count(api)
    created = create(api, {"name": "One event", "currencyCode": "USD"}, world.a.token)
    assert event_count(api) == before + 1
    changes = one_event(api, created["id"])["changes"]
    assert changes["name"] == {"before": None, "after": "One event"}
    assert changes["managingReseller"] == {"before": None, "after": world.a.id}
    assert changes["fraudProtection.dailySpendingThreshold"] == {"before": None, "after": None}


def test_blank_description_is_null_and_control_characters_are_refused(api: Api) -> None:
    payload = api.ok(
        "createCustomerClass",
        {"name": "Blank description", "description": "   "},
        selection="customerClass { description }",
    )
    assert payload["customerClass"]["description"] is None
    # Line breaks are text; NUL and other control characters are not (both databases).
    kept = api.ok(
        "createCustomerClass",
        {"name": "Two lines", "description": "first\nsecond"},
        selection="customerClass { description }",
    )
    assert kept["customerClass"]["description"] == "first\nsecond"
    refused = api.mutate("createCustomerClass", {"name": "Nul", "description": "a\x00b"})
    assert errors_of(refused) == [("INVALID", ["input", "description"])]
