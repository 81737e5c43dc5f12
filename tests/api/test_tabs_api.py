"""The rules of SPEC §5 through the GraphQL API, on createCustomerClass and on partial
updateCustomerClass of a stored class: exact codes and input paths, all errors of a
mutation together, nothing written on refusal, and the output form of every tab."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from tests.api_client import Api
from tests.support.errors import errors_of

Error = tuple[str, tuple[str, ...]]

DEPENDENCY = "DEPENDENCY"
INVALID = "INVALID"
OUT_OF_RANGE = "OUT_OF_RANGE"
REQUIRED = "REQUIRED"
TOO_LONG = "TOO_LONG"
NOT_FOUND = "NOT_FOUND"

CHANNEL = "{ send template }"
TERMS = "paymentTerms { netDays dueDateReminderDays autoCharge autoChargeTiming }"
PAST_DUE = (
    "pastDue { collectionThreshold resendInvoiceDays lateFee limitServiceAfterDays"
    " limitationNoticeDays suspendAfterDays suspensionNoticeDays reactivationFee"
    " terminateAfterDays terminationNoticeDays terminateCommitments"
    " restoreAfterPartialPayment }"
)
TABS = f"""
  generalInfo {{
    generateStatistics sendStatistics billingPeriodClosure closeDelayHours roundingMethod
    roundingPrecision suspendOnInsufficientFunds billedExternally resetBalanceEveryPeriod
    hideBalanceResetXdr
  }}
  measuredServices {{
    parameter chargeBasedOn pricePerItem itemsFreeOfCharge rateCode service
  }}
  notifications {{
    notificationSet {{ id }}
    settings {{ type email {CHANNEL} sms {CHANNEL} }}
  }}
  regularInvoices {{
    enabled invoiceTemplate {{ id }} pdfGeneration delivery holdForReviewDays
    {TERMS} {PAST_DUE}
  }}
  outOfTurnInvoices {{
    enabled invoiceTemplate {{ id }} delivery separateInvoiceForRecurringFees
    {TERMS} {PAST_DUE}
  }}
  taxation {{
    method assessTaxes taxesIncludedInRates assessment vatRatePercent taxName
    customTaxes {{ id }}
  }}
  customFields {{ id name }}
  fraudProtection {{
    dailySpendingThreshold checkRemainingFunds sendWarning warningThresholdPercent
  }}
"""
CLASS_QUERY = (
    "query($id: ID!) { customerClass(id: $id) { id version archiveXdrs invoicing"
    " taxationMethod currency { code } " + TABS + " } }"
)
COUNT_QUERY = "{ customerClasses { totalCount } }"


# --------------------------------------------------------------------------- helpers


def sorted_errors(payload: Mapping[str, Any]) -> list[Error]:
    """The payload's (code, path) pairs sorted, as the rule tables list them; every error
    has a field and a message."""
    found: list[Error] = []
    for error, (code, path) in zip(payload["userErrors"], errors_of(payload), strict=True):
        assert error["message"], error
        assert path is not None, error
        found.append((code, tuple(path)))
    return sorted(found)


def read(api: Api, class_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.data(CLASS_QUERY, {"id": class_id})["customerClass"]
    return found


def create(api: Api, name: str = "Tabs", currency: str | None = "USD", **tabs: Any) -> Any:
    data: dict[str, Any] = {"name": name, **tabs}
    if currency is not None:
        data["currencyCode"] = currency
    return api.mutate("createCustomerClass", data, selection=f"customerClass {{ id {TABS} }}")


def create_ok(api: Api, name: str = "Tabs", currency: str | None = "USD", **tabs: Any) -> str:
    payload = create(api, name, currency, **tabs)
    assert payload["userErrors"] == [], payload["userErrors"]
    found: str = payload["customerClass"]["id"]
    return found


def update(api: Api, class_id: str, **patch: Any) -> Any:
    return api.mutate(
        "updateCustomerClass",
        {"id": class_id, **patch},
        selection=f"customerClass {{ id version {TABS} }}",
    )


def I(*path: str) -> tuple[str, ...]:  # noqa: E743 - reads as "input path"
    return ("input", *path)


def merge(*patches: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for patch in patches:
        for key, value in patch.items():
            if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
                result[key] = merge(result[key], value)
            else:
                result[key] = value
    return result


def key_of(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


@dataclass
class Catalogs:
    notification_set: str
    other_set: str
    template: str
    all_charges_tax: str
    subscription_tax: str
    fields: list[str] = field(default_factory=list)


def make_catalogs(api: Api) -> Catalogs:
    def named(mutation: str, name: str, result: str) -> str:
        payload = api.ok(
            mutation,
            {"name": name},
            selection=f"{result} {{ id }}",
            input_type="CreateNamedCatalogEntryInput",
        )
        found: str = payload[result]["id"]
        return found

    def custom_tax(name: str, applied_to: str) -> str:
        payload = api.ok(
            "createCustomTax",
            {"name": name, "ratePercent": "7.5", "appliedTo": applied_to},
            selection="customTax { id }",
        )
        found: str = payload["customTax"]["id"]
        return found

    return Catalogs(
        notification_set=named("createNotificationSet", "Standard set", "notificationSet"),
        other_set=named("createNotificationSet", "Other set", "notificationSet"),
        template=named("createInvoiceTemplate", "Standard template", "invoiceTemplate"),
        all_charges_tax=custom_tax("State tax", "ALL_CHARGES"),
        subscription_tax=custom_tax("Subscription tax", "SUBSCRIPTIONS"),
    )


def custom_field(api: Api, name: str, obj: str = "CUSTOMER") -> str:
    payload = api.ok(
        "createCustomFieldDefinition",
        {"object": obj, "name": name, "type": "TEXT"},
        selection="customFieldDefinition { id }",
    )
    found: str = payload["customFieldDefinition"]["id"]
    return found


# --------------------------------------------------------------------------- rule matrix


@dataclass
class Rule:
    name: str
    patch: dict[str, Any]
    errors: list[Error] = field(default_factory=list)
    stored: dict[str, Any] | None = None  # update only: the class as stored before


def gi(**kw: Any) -> dict[str, Any]:
    return {"generalInfo": kw}


def ri(**kw: Any) -> dict[str, Any]:
    return {"regularInvoices": kw}


def oot(**kw: Any) -> dict[str, Any]:
    return {"outOfTurnInvoices": kw}


def pd(tab: str = "regularInvoices", **kw: Any) -> dict[str, Any]:
    return {tab: {"pastDue": kw}}


def pt(tab: str = "regularInvoices", **kw: Any) -> dict[str, Any]:
    return {tab: {"paymentTerms": kw}}


def tax(**kw: Any) -> dict[str, Any]:
    return {"taxation": kw}


def fraud(**kw: Any) -> dict[str, Any]:
    return {"fraudProtection": kw}


def svc(parameter: str, price: Any = "1", **kw: Any) -> dict[str, Any]:
    return {"parameter": parameter, "chargeBasedOn": "AVERAGE", "pricePerItem": price, **kw}


GI = ("generalInfo",)
RP = ("regularInvoices", "pastDue")
RT = ("regularInvoices", "paymentTerms")
OP = ("outOfTurnInvoices", "pastDue")
OT = ("outOfTurnInvoices", "paymentTerms")

RULES = [
    # general info
    Rule("statistics on, sending", gi(sendStatistics="FULL_STATISTICS")),
    Rule(
        "sending while statistics off",
        gi(generateStatistics=False, sendStatistics="SUMMARY_ONLY"),
        [(DEPENDENCY, I(*GI, "sendStatistics"))],
    ),
    Rule(
        "statistics off while sending (stored)",
        gi(generateStatistics=False),
        [(DEPENDENCY, I(*GI, "generateStatistics"))],
        stored=gi(sendStatistics="FULL_STATISTICS"),
    ),
    Rule("extra delay", gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=72)),
    Rule(
        "extra delay 73 hours",
        gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=73),
        [(OUT_OF_RANGE, I(*GI, "closeDelayHours"))],
    ),
    Rule(
        "extra delay without hours",
        gi(billingPeriodClosure="WITH_EXTRA_DELAY"),
        [(REQUIRED, I(*GI, "closeDelayHours"))],
    ),
    Rule(
        "hours without extra delay",
        gi(closeDelayHours=4),
        [(DEPENDENCY, I(*GI, "closeDelayHours"))],
    ),
    Rule(
        "closure switched without clearing hours",
        gi(billingPeriodClosure="AFTER_GLOBAL_DELAY"),
        [(DEPENDENCY, I(*GI, "billingPeriodClosure"))],
        stored=gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=5),
    ),
    Rule(
        "closure switched clearing hours",
        gi(billingPeriodClosure="AFTER_GLOBAL_DELAY", closeDelayHours=None),
        stored=gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=5),
    ),
    Rule(
        "billed externally with approval",
        gi(billedExternally=True, billingPeriodClosure="UPON_ADMINISTRATOR_APPROVAL"),
        [(DEPENDENCY, I(*GI, "billedExternally"))],
    ),
    Rule(
        "approval under billed externally (stored)",
        gi(billingPeriodClosure="UPON_ADMINISTRATOR_APPROVAL"),
        [(DEPENDENCY, I(*GI, "billingPeriodClosure"))],
        stored=gi(billedExternally=True),
    ),
    Rule(
        "reset without billed externally",
        gi(resetBalanceEveryPeriod=True),
        [(DEPENDENCY, I(*GI, "resetBalanceEveryPeriod"))],
    ),
    Rule(
        "hide without reset",
        gi(billedExternally=True, hideBalanceResetXdr=True),
        [(DEPENDENCY, I(*GI, "hideBalanceResetXdr"))],
    ),
    Rule(
        "whole balance chain",
        gi(billedExternally=True, resetBalanceEveryPeriod=True, hideBalanceResetXdr=True),
    ),
    Rule(
        "billed externally off under reset (stored)",
        gi(billedExternally=False),
        [(DEPENDENCY, I(*GI, "billedExternally"))],
        stored=gi(billedExternally=True, resetBalanceEveryPeriod=True),
    ),
    Rule("rounding precision 6", gi(roundingPrecision=6)),
    Rule(
        "rounding precision 7",
        gi(roundingPrecision=7),
        [(OUT_OF_RANGE, I(*GI, "roundingPrecision"))],
    ),
    Rule("null statistics", gi(generateStatistics=None), [(INVALID, I(*GI, "generateStatistics"))]),
    # regular and out-of-turn invoices
    Rule("regular invoices on", ri(enabled=True)),
    Rule(
        "regular invoices with statistics off",
        merge(ri(enabled=True), gi(generateStatistics=False)),
        [(DEPENDENCY, I("regularInvoices", "enabled"))],
    ),
    Rule(
        "statistics off under regular invoices (stored)",
        gi(generateStatistics=False),
        [(DEPENDENCY, I("generalInfo", "generateStatistics"))],
        stored=ri(enabled=True),
    ),
    Rule(
        "review without days",
        ri(delivery="AFTER_ADMINISTRATOR_REVIEW"),
        [(REQUIRED, I("regularInvoices", "holdForReviewDays"))],
    ),
    Rule(
        "review for 31 days",
        ri(delivery="AFTER_ADMINISTRATOR_REVIEW", holdForReviewDays=31),
        [(OUT_OF_RANGE, I("regularInvoices", "holdForReviewDays"))],
    ),
    Rule(
        "days without review",
        ri(holdForReviewDays=3),
        [(DEPENDENCY, I("regularInvoices", "holdForReviewDays"))],
    ),
    Rule(
        "automatic delivery without clearing days (stored)",
        ri(delivery="AUTOMATICALLY"),
        [(DEPENDENCY, I("regularInvoices", "delivery"))],
        stored=ri(delivery="AFTER_ADMINISTRATOR_REVIEW", holdForReviewDays=30),
    ),
    Rule(
        "separate invoices without auto-charge",
        oot(separateInvoiceForRecurringFees=True),
        [(DEPENDENCY, I("outOfTurnInvoices", "separateInvoiceForRecurringFees"))],
    ),
    Rule(
        "separate invoices with auto-charge",
        merge(oot(separateInvoiceForRecurringFees=True), pt("outOfTurnInvoices", autoCharge=True)),
    ),
    Rule(
        "auto-charge off under separate invoices (stored)",
        pt("outOfTurnInvoices", autoCharge=False),
        [(DEPENDENCY, I(*OT, "autoCharge"))],
        stored=merge(
            oot(separateInvoiceForRecurringFees=True), pt("outOfTurnInvoices", autoCharge=True)
        ),
    ),
    # payment terms
    Rule("reminders", pt(netDays=30, dueDateReminderDays=[10, 3, 1])),
    Rule(
        "reminders with net 0",
        pt(dueDateReminderDays=[3]),
        [(DEPENDENCY, I(*RT, "dueDateReminderDays"))],
    ),
    Rule(
        "reminder at net",
        pt("outOfTurnInvoices", netDays=10, dueDateReminderDays=[12, 10]),
        [
            (OUT_OF_RANGE, I(*OT, "dueDateReminderDays", "0")),
            (OUT_OF_RANGE, I(*OT, "dueDateReminderDays", "1")),
        ],
    ),
    Rule(
        "reminders increasing",
        pt(netDays=10, dueDateReminderDays=[2, 5]),
        [(INVALID, I(*RT, "dueDateReminderDays", "1"))],
    ),
    Rule(
        "eleven reminders",
        pt(netDays=30, dueDateReminderDays=list(range(11, 0, -1))),
        [(OUT_OF_RANGE, I(*RT, "dueDateReminderDays"))],
    ),
    Rule("net 366", pt(netDays=366), [(OUT_OF_RANGE, I(*RT, "netDays"))]),
    Rule(
        "net 0 under stored reminders",
        pt(netDays=0),
        [(DEPENDENCY, I(*RT, "netDays"))],
        stored=pt(netDays=10, dueDateReminderDays=[5]),
    ),
    Rule(
        "net below a stored reminder",
        pt(netDays=5),
        [(OUT_OF_RANGE, I(*RT, "netDays"))],
        stored=pt(netDays=10, dueDateReminderDays=[5]),
    ),
    # past-due policy
    Rule("steps in order", pd(limitServiceAfterDays=5, suspendAfterDays=10, terminateAfterDays=60)),
    Rule(
        "suspend not after limit",
        pd(limitServiceAfterDays=10, suspendAfterDays=10),
        [(INVALID, I(*RP, "suspendAfterDays"))],
    ),
    Rule(
        "suspend before stored limit",
        pd(suspendAfterDays=5),
        [(INVALID, I(*RP, "suspendAfterDays"))],
        stored=pd(limitServiceAfterDays=10),
    ),
    Rule(
        "limit after stored suspend",
        pd(limitServiceAfterDays=12),
        [(INVALID, I(*RP, "limitServiceAfterDays"))],
        stored=pd(suspendAfterDays=10),
    ),
    Rule(
        "terminate before suspend",
        pd("outOfTurnInvoices", suspendAfterDays=10, terminateAfterDays=9),
        [(INVALID, I(*OP, "terminateAfterDays"))],
    ),
    Rule("step 3651", pd(terminateAfterDays=3651), [(OUT_OF_RANGE, I(*RP, "terminateAfterDays"))]),
    Rule("resend days", pd(resendInvoiceDays=[0, 5, 365])),
    Rule(
        "resend days decreasing",
        pd(resendInvoiceDays=[5, 1]),
        [(INVALID, I(*RP, "resendInvoiceDays", "1"))],
    ),
    Rule(
        "resend day 366",
        pd(resendInvoiceDays=[366]),
        [(OUT_OF_RANGE, I(*RP, "resendInvoiceDays", "0"))],
    ),
    Rule("notices", pd(suspendAfterDays=10, suspensionNoticeDays=[10, 3, 1])),
    Rule(
        "notices without step",
        pd(suspensionNoticeDays=[3]),
        [(DEPENDENCY, I(*RP, "suspensionNoticeDays"))],
    ),
    Rule(
        "notices with step 0",
        pd(limitServiceAfterDays=0, limitationNoticeDays=[1]),
        [(DEPENDENCY, I(*RP, "limitationNoticeDays"))],
    ),
    Rule(
        "notice beyond step",
        pd(terminateAfterDays=5, terminationNoticeDays=[6]),
        [(OUT_OF_RANGE, I(*RP, "terminationNoticeDays", "0"))],
    ),
    Rule(
        "notices increasing",
        pd(terminateAfterDays=5, terminationNoticeDays=[1, 2]),
        [(INVALID, I(*RP, "terminationNoticeDays", "1"))],
    ),
    Rule(
        "step cleared under notices (stored)",
        pd(suspendAfterDays=None),
        [(DEPENDENCY, I(*RP, "suspendAfterDays"))],
        stored=pd(suspendAfterDays=10, suspensionNoticeDays=[2]),
    ),
    Rule("late fee 0", pd(lateFee="0"), [(OUT_OF_RANGE, I(*RP, "lateFee"))]),
    Rule("late fee", pd(lateFee="2.5")),
    Rule(
        "reactivation fee without suspension",
        pd(reactivationFee="5"),
        [(DEPENDENCY, I(*RP, "reactivationFee"))],
    ),
    Rule(
        "reactivation fee 0",
        pd(suspendAfterDays=1, reactivationFee="0"),
        [(OUT_OF_RANGE, I(*RP, "reactivationFee"))],
    ),
    Rule("reactivation fee", pd(suspendAfterDays=1, reactivationFee="5")),
    Rule(
        "terminate commitments without termination",
        pd(terminateCommitments=True),
        [(DEPENDENCY, I(*RP, "terminateCommitments"))],
    ),
    Rule(
        "termination cleared under commitments (stored)",
        pd(terminateAfterDays=None),
        [(DEPENDENCY, I(*RP, "terminateAfterDays"))],
        stored=pd(terminateAfterDays=30, terminateCommitments=True),
    ),
    Rule(
        "restore without threshold",
        pd(restoreAfterPartialPayment=True, limitServiceAfterDays=3),
        [(DEPENDENCY, I(*RP, "restoreAfterPartialPayment"))],
    ),
    Rule(
        "restore without step",
        pd(restoreAfterPartialPayment=True, collectionThreshold="1"),
        [(DEPENDENCY, I(*RP, "restoreAfterPartialPayment"))],
    ),
    Rule(
        "restore",
        pd(restoreAfterPartialPayment=True, collectionThreshold="1", suspendAfterDays=3),
    ),
    Rule(
        "threshold 0 under restore (stored)",
        pd(collectionThreshold="0"),
        [(DEPENDENCY, I(*RP, "collectionThreshold"))],
        stored=pd(restoreAfterPartialPayment=True, collectionThreshold="1", suspendAfterDays=3),
    ),
    Rule(
        "negative threshold",
        pd(collectionThreshold="-1"),
        [(OUT_OF_RANGE, I(*RP, "collectionThreshold"))],
    ),
    Rule(
        "null notices", pd(limitationNoticeDays=None), [(INVALID, I(*RP, "limitationNoticeDays"))]
    ),
    # taxation
    Rule(
        "assess without method", tax(assessTaxes=True), [(DEPENDENCY, I("taxation", "assessTaxes"))]
    ),
    Rule("assess with GST", tax(method="GST", assessTaxes=True, assessment="AT_TIME_OF_PAYMENT")),
    Rule(
        "at payment with AVALARA",
        tax(method="AVALARA", assessment="AT_TIME_OF_PAYMENT"),
        [(DEPENDENCY, I("taxation", "assessment"))],
    ),
    Rule(
        "method without payment-time support (stored at payment)",
        tax(method="SURETAX"),
        [(DEPENDENCY, I("taxation", "method"))],
        stored=tax(method="GST", assessment="AT_TIME_OF_PAYMENT"),
    ),
    Rule(
        "fixed VAT",
        tax(method="FIXED_VAT_RATE", assessTaxes=True, vatRatePercent="20.5", taxName="VAT"),
    ),
    Rule(
        "fixed VAT assessed without rate",
        tax(method="FIXED_VAT_RATE", assessTaxes=True),
        [(REQUIRED, I("taxation", "vatRatePercent"))],
    ),
    Rule(
        "rate without fixed VAT",
        tax(method="GST", vatRatePercent="5"),
        [(DEPENDENCY, I("taxation", "vatRatePercent"))],
    ),
    Rule(
        "tax name without fixed VAT", tax(taxName="VAT"), [(DEPENDENCY, I("taxation", "taxName"))]
    ),
    Rule(
        "rate with 5 decimals",
        tax(method="FIXED_VAT_RATE", vatRatePercent="1.00001"),
        [(INVALID, I("taxation", "vatRatePercent"))],
    ),
    Rule(
        "rate above 100",
        tax(method="FIXED_VAT_RATE", vatRatePercent="100.01"),
        [(OUT_OF_RANGE, I("taxation", "vatRatePercent"))],
    ),
    Rule(
        "tax name of 51",
        tax(method="FIXED_VAT_RATE", taxName="T" * 51),
        [(TOO_LONG, I("taxation", "taxName"))],
    ),
    Rule(
        "assessed custom taxation without taxes",
        tax(method="CUSTOM_TAXATION", assessTaxes=True),
        [(REQUIRED, I("taxation", "customTaxIds"))],
    ),
    # fraud protection (USD class)
    Rule(
        "threshold 0",
        fraud(dailySpendingThreshold="0"),
        [(OUT_OF_RANGE, I("fraudProtection", "dailySpendingThreshold"))],
    ),
    Rule(
        "check funds without threshold",
        fraud(checkRemainingFunds=True),
        [(DEPENDENCY, I("fraudProtection", "checkRemainingFunds"))],
    ),
    Rule(
        "warning without percent",
        fraud(dailySpendingThreshold="100", sendWarning=True),
        [(REQUIRED, I("fraudProtection", "warningThresholdPercent"))],
    ),
    Rule(
        "warning at 101%",
        fraud(dailySpendingThreshold="100", sendWarning=True, warningThresholdPercent=101),
        [(OUT_OF_RANGE, I("fraudProtection", "warningThresholdPercent"))],
    ),
    Rule(
        "warning",
        fraud(
            dailySpendingThreshold="100",
            checkRemainingFunds=True,
            sendWarning=True,
            warningThresholdPercent=90,
        ),
    ),
    Rule(
        "threshold cleared under warning (stored)",
        fraud(dailySpendingThreshold=None),
        [(DEPENDENCY, I("fraudProtection", "dailySpendingThreshold"))],
        stored=fraud(dailySpendingThreshold="100", sendWarning=True, warningThresholdPercent=90),
    ),
    # measured services
    Rule("measured services", {"measuredServices": [svc("ACTIVE_CALLS"), svc("PBX_EXTENSIONS")]}),
    Rule(
        "measured parameter twice",
        {"measuredServices": [svc("ACTIVE_CALLS"), svc("PBX_EXTENSIONS"), svc("ACTIVE_CALLS")]},
        [(INVALID, I("measuredServices", "2", "parameter"))],
    ),
    Rule(
        "measured service limits",
        {
            "measuredServices": [
                svc("ACTIVE_CALLS", "-1", itemsFreeOfCharge=-1, rateCode="r" * 65),
                svc("PBX_EXTENSIONS", "0.001", service="s" * 65),
            ]
        },
        [
            (OUT_OF_RANGE, I("measuredServices", "0", "pricePerItem")),
            (OUT_OF_RANGE, I("measuredServices", "0", "itemsFreeOfCharge")),
            (TOO_LONG, I("measuredServices", "0", "rateCode")),
            (INVALID, I("measuredServices", "1", "pricePerItem")),
            (TOO_LONG, I("measuredServices", "1", "service")),
        ],
    ),
    Rule("null measured services", {"measuredServices": None}, [(INVALID, I("measuredServices"))]),
    # notifications without a set
    Rule(
        "sending without a set",
        {"notifications": {"settings": [{"type": "LOW_BALANCE", "sms": {"send": True}}]}},
        [(DEPENDENCY, I("notifications", "settings", "0", "sms", "send"))],
    ),
    Rule(
        "duplicate notification type",
        {
            "notifications": {
                "settings": [
                    {"type": "LOW_BALANCE", "sms": {"send": False}},
                    {"type": "LOW_BALANCE", "email": {"send": False}},
                ]
            }
        },
        [(INVALID, I("notifications", "settings", "1", "type"))],
    ),
    Rule("null tab", {"taxation": None}, [(INVALID, I("taxation"))]),
]


def rule_id(rule: Rule) -> str:
    return rule.name


@pytest.mark.parametrize("mode", ["create", "update"])
def test_rule_matrix(api: Api, mode: str) -> None:
    """Every rule on create (fresh defaults) and as a partial update of a stored class;
    a refused mutation writes nothing."""
    mismatches = []
    stored_ids: dict[str, str] = {}
    for number, rule in enumerate(RULES):
        if mode == "create":
            if rule.stored is not None:
                continue
            before = api.data(COUNT_QUERY)["customerClasses"]["totalCount"]
            payload = create(api, f"Class {number}", **rule.patch)
            after = api.data(COUNT_QUERY)["customerClasses"]["totalCount"]
            if rule.errors:
                assert payload["customerClass"] is None, rule.name
                assert after == before, rule.name
            else:
                assert after == before + 1, rule.name
        else:
            stored = rule.stored or {}
            key = repr(sorted(stored.items()))
            if key not in stored_ids or rule.stored is not None:
                stored_ids[key] = create_ok(api, f"Stored {number}", **stored)
            class_id = stored_ids[key]
            before_state = read(api, class_id)
            payload = update(api, class_id, **rule.patch)
            after_state = read(api, class_id)
            if rule.errors:
                assert payload["customerClass"] is None, rule.name
                assert after_state == before_state, f"{rule.name}: a refused update wrote"
            else:
                # Successful cases are undone by re-creating; never reuse a changed class.
                stored_ids.pop(key, None)
        found = sorted_errors(payload)
        if found != sorted(rule.errors):
            mismatches.append((rule.name, found, sorted(rule.errors)))
    assert mismatches == []


# --------------------------------------------------------------------------- the brief's cases


def test_statistics_off_under_regular_invoices_is_refused_on_the_statistics_field(
    api: Api,
) -> None:
    class_id = create_ok(api, regularInvoices={"enabled": True})
    payload = update(api, class_id, generalInfo={"generateStatistics": False})
    assert sorted_errors(payload) == [(DEPENDENCY, I("generalInfo", "generateStatistics"))]
    payload = update(
        api,
        class_id,
        generalInfo={"generateStatistics": False},
        regularInvoices={"enabled": False},
    )
    assert payload["userErrors"] == []
    state = read(api, class_id)
    assert state["archiveXdrs"] is False
    assert state["invoicing"] == "DISABLED"


def test_past_due_patch_is_checked_against_the_stored_policy(api: Api) -> None:
    class_id = create_ok(
        api,
        regularInvoices={"pastDue": {"limitServiceAfterDays": 10, "terminateAfterDays": 40}},
    )
    for days in (3, 10):
        payload = update(api, class_id, regularInvoices={"pastDue": {"suspendAfterDays": days}})
        assert sorted_errors(payload) == [(INVALID, I(*RP, "suspendAfterDays"))], days
    # Reported on the field of the input, even when the stored later step is the one
    # that no longer comes after it.
    payload = update(api, class_id, regularInvoices={"pastDue": {"suspendAfterDays": 40}})
    assert sorted_errors(payload) == [(INVALID, I(*RP, "suspendAfterDays"))]
    payload = update(api, class_id, regularInvoices={"pastDue": {"suspendAfterDays": 11}})
    assert payload["userErrors"] == []
    policy = payload["customerClass"]["regularInvoices"]["pastDue"]
    assert (
        policy["limitServiceAfterDays"],
        policy["suspendAfterDays"],
        policy["terminateAfterDays"],
    ) == (10, 11, 40)
    # The out-of-turn policy is independent of the regular one.
    payload = update(api, class_id, outOfTurnInvoices={"pastDue": {"suspendAfterDays": 3}})
    assert payload["userErrors"] == []


def test_five_bad_fields_give_five_errors_and_write_nothing(api: Api) -> None:
    class_id = create_ok(api, generalInfo={"roundingPrecision": 3})
    before = read(api, class_id)
    events = "query($id: ID!) { auditEvents(objectId: $id) { totalCount } }"
    events_before = api.data(events, {"id": class_id})["auditEvents"]["totalCount"]
    payload = update(
        api,
        class_id,
        description="a valid change that must not be written either",
        generalInfo={"roundingPrecision": 9, "closeDelayHours": 5},
        regularInvoices={"paymentTerms": {"netDays": 400}, "pastDue": {"lateFee": "0"}},
        taxation={"assessTaxes": True},
    )
    assert payload["customerClass"] is None
    assert sorted_errors(payload) == sorted(
        [
            (OUT_OF_RANGE, I("generalInfo", "roundingPrecision")),
            (DEPENDENCY, I("generalInfo", "closeDelayHours")),
            (OUT_OF_RANGE, I("regularInvoices", "paymentTerms", "netDays")),
            (OUT_OF_RANGE, I("regularInvoices", "pastDue", "lateFee")),
            (DEPENDENCY, I("taxation", "assessTaxes")),
        ]
    )
    after = read(api, class_id)
    assert after == before
    description = api.data(
        "query($id: ID!) { customerClass(id: $id) { description } }", {"id": class_id}
    )
    assert description["customerClass"]["description"] is None
    assert api.data(events, {"id": class_id})["auditEvents"]["totalCount"] == events_before


# --------------------------------------------------------------------------- money and numbers


@pytest.mark.parametrize(
    ("currency", "raw", "out"),
    [
        ("USD", "12.5", "12.50"),
        ("USD", "12", "12.00"),
        ("USD", "0.01", "0.01"),
        ("JPY", "2", "2"),
        ("JPY", "1500", "1500"),
        ("BHD", "1.5", "1.500"),
        ("BHD", "0.125", "0.125"),
        (None, "1.5", "1.500000"),
        ("USD", "999999999999.99", "999999999999.99"),
    ],
)
def test_money_in_and_out_as_exact_strings(
    api: Api, currency: str | None, raw: str, out: str
) -> None:
    tabs_input = {
        "measuredServices": [svc("ACTIVE_CALLS", raw)],
        "regularInvoices": {
            "pastDue": {
                "collectionThreshold": raw,
                "lateFee": raw,
                "suspendAfterDays": 3,
                "reactivationFee": raw,
            }
        },
        "outOfTurnInvoices": {"pastDue": {"collectionThreshold": raw}},
    }
    if currency is not None:
        tabs_input["fraudProtection"] = {"dailySpendingThreshold": raw}
    payload = create(api, "Money", currency, **tabs_input)
    assert payload["userErrors"] == []
    for state in (payload["customerClass"], read(api, payload["customerClass"]["id"])):
        assert state["measuredServices"][0]["pricePerItem"] == out
        policy = state["regularInvoices"]["pastDue"]
        assert (policy["collectionThreshold"], policy["lateFee"], policy["reactivationFee"]) == (
            out,
            out,
            out,
        )
        assert state["outOfTurnInvoices"]["pastDue"]["collectionThreshold"] == out
        if currency is not None:
            assert state["fraudProtection"]["dailySpendingThreshold"] == out
        else:
            assert state["fraudProtection"] is None
        assert Decimal(out) == Decimal(raw)


@pytest.mark.parametrize(
    ("currency", "raw", "code"),
    [
        ("JPY", "1.5", INVALID),
        ("JPY", "1.0", INVALID),
        ("USD", "1.505", INVALID),
        ("BHD", "1.5005", INVALID),
        (None, "1.0000001", INVALID),
        ("USD", "-1", OUT_OF_RANGE),
        ("USD", "1e3", INVALID),
        ("USD", "NaN", INVALID),
        ("USD", "Infinity", INVALID),
        ("USD", "", INVALID),
        ("USD", " 1", INVALID),
        ("USD", "1000000000000", INVALID),
    ],
)
def test_bad_money_is_a_user_error_on_create_and_update(
    api: Api, currency: str | None, raw: str, code: str
) -> None:
    payload = create(
        api, "Money", currency, regularInvoices={"pastDue": {"collectionThreshold": raw}}
    )
    assert sorted_errors(payload) == [(code, I(*RP, "collectionThreshold"))]
    class_id = create_ok(api, "Money", currency)
    payload = update(api, class_id, measuredServices=[svc("CONCURRENT_CALLS", raw)])
    assert sorted_errors(payload) == [(code, I("measuredServices", "0", "pricePerItem"))]
    assert read(api, class_id)["measuredServices"] == []


MONEY_MUTATION = """
mutation($id: ID!, $price: Decimal!, $rate: Decimal, $threshold: Decimal) {
  updateCustomerClass(input: {
    id: $id
    measuredServices: [{parameter: ACTIVE_CALLS, chargeBasedOn: MAXIMUM, pricePerItem: $price}]
    taxation: {method: FIXED_VAT_RATE, vatRatePercent: $rate}
    fraudProtection: {dailySpendingThreshold: $threshold}
  }) {
    customerClass { id }
    userErrors { field code message }
  }
}
"""


@pytest.mark.parametrize("number", [12.5, 12, 0, -1, 1e30, True])
def test_json_number_for_a_decimal_is_a_user_error(api: Api, number: Any) -> None:
    class_id = create_ok(api)
    response = api.post(
        MONEY_MUTATION, {"id": class_id, "price": number, "rate": number, "threshold": number}
    )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    payload = body["data"]["updateCustomerClass"]
    assert sorted_errors(payload) == sorted(
        [
            (INVALID, I("measuredServices", "0", "pricePerItem")),
            (INVALID, I("taxation", "vatRatePercent")),
            (INVALID, I("fraudProtection", "dailySpendingThreshold")),
        ]
    )
    assert payload["customerClass"] is None


def test_decimal_literals_in_the_document_are_user_errors(api: Api) -> None:
    class_id = create_ok(api)
    query = """
    mutation($id: ID!) {
      updateCustomerClass(input: {
        id: $id
        regularInvoices: {pastDue: {collectionThreshold: 10, lateFee: 2.5}}
        taxation: {method: FIXED_VAT_RATE, vatRatePercent: "20"}
      }) { customerClass { id } userErrors { field code message } }
    }
    """
    body = api.run(query, {"id": class_id})
    assert "errors" not in body, body
    assert sorted_errors(body["data"]["updateCustomerClass"]) == sorted(
        [
            (INVALID, I(*RP, "collectionThreshold")),
            (INVALID, I(*RP, "lateFee")),
        ]
    )


def test_percentages_keep_at_most_four_decimals(api: Api) -> None:
    class_id = create_ok(api)
    payload = update(
        api, class_id, taxation={"method": "FIXED_VAT_RATE", "vatRatePercent": "7.1234"}
    )
    assert payload["userErrors"] == []
    assert Decimal(payload["customerClass"]["taxation"]["vatRatePercent"]) == Decimal("7.1234")
    payload = update(api, class_id, taxation={"vatRatePercent": "7.12345"})
    assert sorted_errors(payload) == [(INVALID, I("taxation", "vatRatePercent"))]
    payload = update(api, class_id, taxation={"vatRatePercent": "100.0001"})
    assert sorted_errors(payload) == [(OUT_OF_RANGE, I("taxation", "vatRatePercent"))]


# --------------------------------------------------------------------------- defaults


def test_a_new_class_has_the_documented_defaults(api: Api) -> None:
    state = read(api, create_ok(api, "Defaults", "USD"))
    assert state["generalInfo"] == {
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
    }
    assert state["measuredServices"] == []
    assert state["notifications"]["notificationSet"] is None
    assert all(
        entry["email"] == entry["sms"] == {"send": False, "template": "SYSTEM"}
        for entry in state["notifications"]["settings"]
    )
    terms: dict[str, Any] = {
        "netDays": 0,
        "dueDateReminderDays": [],
        "autoCharge": False,
        "autoChargeTiming": "UPON_INVOICE_GENERATION",
    }
    policy: dict[str, Any] = {
        "collectionThreshold": "0.00",
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
    assert state["regularInvoices"] == {
        "enabled": False,
        "invoiceTemplate": None,
        "pdfGeneration": "AT_END_OF_BILLING_PERIOD",
        "delivery": "AUTOMATICALLY",
        "holdForReviewDays": None,
        "paymentTerms": terms,
        "pastDue": policy,
    }
    assert state["outOfTurnInvoices"] == {
        "enabled": False,
        "invoiceTemplate": None,
        "delivery": "NEVER",
        "separateInvoiceForRecurringFees": False,
        "paymentTerms": terms,
        "pastDue": policy,
    }
    assert state["taxation"] == {
        "method": "NO_TAXATION",
        "assessTaxes": False,
        "taxesIncludedInRates": False,
        "assessment": "AT_END_OF_BILLING_PERIOD",
        "vatRatePercent": None,
        "taxName": None,
        "customTaxes": [],
    }
    assert state["customFields"] == []
    assert state["fraudProtection"] == {
        "dailySpendingThreshold": None,
        "checkRemainingFunds": False,
        "sendWarning": False,
        "warningThresholdPercent": None,
    }
    assert (state["archiveXdrs"], state["invoicing"], state["taxationMethod"]) == (
        True,
        "DISABLED",
        "NO_TAXATION",
    )


def test_null_clears_nullable_fields_and_is_invalid_on_non_null_ones(api: Api) -> None:
    catalogs = make_catalogs(api)
    class_id = create_ok(
        api,
        generalInfo={"billingPeriodClosure": "WITH_EXTRA_DELAY", "closeDelayHours": 8},
        regularInvoices={
            "invoiceTemplateId": catalogs.template,
            "pastDue": {"lateFee": "3", "limitServiceAfterDays": 4},
        },
        notifications={"notificationSetId": catalogs.notification_set},
    )
    payload = update(
        api,
        class_id,
        generalInfo={"billingPeriodClosure": "AFTER_GLOBAL_DELAY", "closeDelayHours": None},
        regularInvoices={
            "invoiceTemplateId": None,
            "pastDue": {"lateFee": None, "limitServiceAfterDays": None},
        },
        notifications={"notificationSetId": None},
    )
    assert payload["userErrors"] == []
    state = payload["customerClass"]
    assert state["generalInfo"]["closeDelayHours"] is None
    assert state["regularInvoices"]["invoiceTemplate"] is None
    assert state["regularInvoices"]["pastDue"]["lateFee"] is None
    assert state["regularInvoices"]["pastDue"]["limitServiceAfterDays"] is None
    assert state["notifications"]["notificationSet"] is None
    payload = update(
        api,
        class_id,
        generalInfo={"roundingMethod": None, "billedExternally": None},
        regularInvoices={"paymentTerms": None, "pastDue": {"collectionThreshold": None}},
        taxation={"customTaxIds": None},
        customFieldIds=None,
        measuredServices=None,
        notifications={"settings": None},
    )
    assert sorted_errors(payload) == sorted(
        [
            (INVALID, I("generalInfo", "roundingMethod")),
            (INVALID, I("generalInfo", "billedExternally")),
            (INVALID, I("regularInvoices", "paymentTerms")),
            (INVALID, I(*RP, "collectionThreshold")),
            (INVALID, I("taxation", "customTaxIds")),
            (INVALID, I("customFieldIds")),
            (INVALID, I("measuredServices")),
            (INVALID, I("notifications", "settings")),
        ]
    )


def test_unknown_references_are_not_found_before_any_validation(api: Api) -> None:
    catalogs = make_catalogs(api)
    class_id = create_ok(api)
    payload = update(
        api,
        class_id,
        regularInvoices={"invoiceTemplateId": catalogs.notification_set, "holdForReviewDays": 3},
        notifications={"notificationSetId": "bm90OjE="},
        taxation={"customTaxIds": [catalogs.all_charges_tax, "garbage"]},
        customFieldIds=[class_id],
    )
    assert sorted_errors(payload) == sorted(
        [
            (NOT_FOUND, I("regularInvoices", "invoiceTemplateId")),
            (NOT_FOUND, I("notifications", "notificationSetId")),
            (NOT_FOUND, I("taxation", "customTaxIds", "1")),
            (NOT_FOUND, I("customFieldIds", "0")),
        ]
    )


# --------------------------------------------------------------------------- notifications


def notification_types(api: Api) -> list[str]:
    data = api.data('{ __type(name: "NotificationType") { enumValues { name } } }')
    return [value["name"] for value in data["__type"]["enumValues"]]


def test_notifications_are_complete_in_enum_order_and_patched_per_type(api: Api) -> None:
    catalogs = make_catalogs(api)
    types = notification_types(api)
    assert len(types) == 15
    payload = create(
        api,
        notifications={
            "notificationSetId": catalogs.notification_set,
            "settings": [
                {"type": "FRAUD_SPENDING_WARNING", "sms": {"send": True, "template": "CUSTOM"}},
                {"type": "INVOICE_ISSUED", "email": {"send": True}},
            ],
        },
    )
    assert payload["userErrors"] == []
    class_id = payload["customerClass"]["id"]
    state = read(api, class_id)["notifications"]
    assert state["notificationSet"] == {"id": catalogs.notification_set}
    assert [entry["type"] for entry in state["settings"]] == types
    by_type = {entry["type"]: entry for entry in state["settings"]}
    assert by_type["FRAUD_SPENDING_WARNING"]["sms"] == {"send": True, "template": "CUSTOM"}
    assert by_type["FRAUD_SPENDING_WARNING"]["email"] == {"send": False, "template": "SYSTEM"}
    assert by_type["INVOICE_ISSUED"]["email"] == {"send": True, "template": "SYSTEM"}
    # A patch changes only the types it lists, and within a type only the channels given.
    payload = update(
        api,
        class_id,
        notifications={"settings": [{"type": "INVOICE_ISSUED", "sms": {"send": True}}]},
    )
    assert payload["userErrors"] == []
    after = {e["type"]: e for e in payload["customerClass"]["notifications"]["settings"]}
    assert [e["type"] for e in payload["customerClass"]["notifications"]["settings"]] == types
    assert after["INVOICE_ISSUED"]["email"] == {"send": True, "template": "SYSTEM"}
    assert after["INVOICE_ISSUED"]["sms"] == {"send": True, "template": "SYSTEM"}
    assert after["FRAUD_SPENDING_WARNING"] == by_type["FRAUD_SPENDING_WARNING"]
    assert {t: e for t, e in after.items() if t != "INVOICE_ISSUED"} == {
        t: e for t, e in by_type.items() if t != "INVOICE_ISSUED"
    }


def test_notification_set_rules(api: Api) -> None:
    catalogs = make_catalogs(api)
    class_id = create_ok(
        api,
        notifications={
            "notificationSetId": catalogs.notification_set,
            "settings": [{"type": "LOW_BALANCE", "email": {"send": True}}],
        },
    )
    # Detaching the set while a type is still sent.
    payload = update(api, class_id, notifications={"notificationSetId": None})
    assert sorted_errors(payload) == [(DEPENDENCY, I("notifications", "notificationSetId"))]
    # Detaching and starting to send another type: reported on that send flag.
    payload = update(
        api,
        class_id,
        notifications={
            "notificationSetId": None,
            "settings": [
                {"type": "LOW_BALANCE", "email": {"send": False}},
                {"type": "PAYMENT_RECEIVED", "sms": {"send": True}},
            ],
        },
    )
    assert sorted_errors(payload) == [
        (DEPENDENCY, I("notifications", "settings", "1", "sms", "send"))
    ]
    # Another set is fine; duplicates of a type are refused.
    payload = update(
        api,
        class_id,
        notifications={
            "notificationSetId": catalogs.other_set,
            "settings": [
                {"type": "LOW_BALANCE", "email": {"send": True}},
                {"type": "PAYMENT_RECEIVED", "sms": {"send": True}},
                {"type": "LOW_BALANCE", "email": {"send": False}},
            ],
        },
    )
    assert sorted_errors(payload) == [(INVALID, I("notifications", "settings", "2", "type"))]
    # Switching everything off and detaching together is accepted.
    payload = update(
        api,
        class_id,
        notifications={
            "notificationSetId": None,
            "settings": [{"type": "LOW_BALANCE", "email": {"send": False}}],
        },
    )
    assert payload["userErrors"] == []
    assert payload["customerClass"]["notifications"]["notificationSet"] is None
    # Without a set, sending is refused on create too.
    payload = create(
        api,
        "No set",
        notifications={"settings": [{"type": "DUE_DATE_APPROACHING", "email": {"send": True}}]},
    )
    assert sorted_errors(payload) == [
        (DEPENDENCY, I("notifications", "settings", "0", "email", "send"))
    ]


# --------------------------------------------------------------------------- lists and sets


def test_measured_services_input_replaces_the_list(api: Api) -> None:
    class_id = create_ok(
        api,
        measuredServices=[
            svc("PBX_EXTENSIONS", "0.5", itemsFreeOfCharge=10, rateCode=" PBX-1 ", service="PBX"),
            svc("ACTIVE_CALLS", "1"),
        ],
    )
    state = read(api, class_id)["measuredServices"]
    assert state == [
        {
            "parameter": "PBX_EXTENSIONS",
            "chargeBasedOn": "AVERAGE",
            "pricePerItem": "0.50",
            "itemsFreeOfCharge": 10,
            "rateCode": "PBX-1",
            "service": "PBX",
        },
        {
            "parameter": "ACTIVE_CALLS",
            "chargeBasedOn": "AVERAGE",
            "pricePerItem": "1.00",
            "itemsFreeOfCharge": 0,
            "rateCode": None,
            "service": None,
        },
    ]
    payload = update(api, class_id, measuredServices=[svc("CONCURRENT_CALLS", "2")])
    assert payload["userErrors"] == []
    assert [s["parameter"] for s in payload["customerClass"]["measuredServices"]] == [
        "CONCURRENT_CALLS"
    ]
    payload = update(
        api,
        class_id,
        measuredServices=[svc("ACTIVE_CALLS"), svc("CONCURRENT_CALLS"), svc("CONCURRENT_CALLS")],
    )
    assert sorted_errors(payload) == [(INVALID, I("measuredServices", "2", "parameter"))]
    assert [s["parameter"] for s in read(api, class_id)["measuredServices"]] == ["CONCURRENT_CALLS"]
    payload = update(api, class_id, measuredServices=[])
    assert payload["userErrors"] == []
    assert payload["customerClass"]["measuredServices"] == []


def test_custom_fields_replace_the_set_and_are_listed_by_name_then_id(api: Api) -> None:
    beta = custom_field(api, "beta")
    alpha = custom_field(api, "Alpha")
    region_customer = custom_field(api, "Region", "CUSTOMER")
    region_account = custom_field(api, "Region", "ACCOUNT")
    gamma = custom_field(api, "gamma")
    payload = create(api, customFieldIds=[gamma, region_account, beta, region_customer, alpha])
    assert payload["userErrors"] == []
    regions = sorted([region_customer, region_account], key=key_of)
    expected = [alpha, beta, gamma, *regions]
    assert [f["id"] for f in payload["customerClass"]["customFields"]] == expected
    class_id = payload["customerClass"]["id"]
    assert [f["id"] for f in read(api, class_id)["customFields"]] == expected
    assert [f["name"] for f in read(api, class_id)["customFields"]] == [
        "Alpha",
        "beta",
        "gamma",
        "Region",
        "Region",
    ]
    # The input replaces the whole set.
    payload = update(api, class_id, customFieldIds=[beta])
    assert payload["userErrors"] == []
    assert [f["id"] for f in payload["customerClass"]["customFields"]] == [beta]
    # Duplicates are refused with the index of the duplicate.
    payload = update(api, class_id, customFieldIds=[alpha, beta, gamma, beta])
    assert sorted_errors(payload) == [(INVALID, I("customFieldIds", "3"))]
    assert [f["id"] for f in read(api, class_id)["customFields"]] == [beta]
    payload = update(api, class_id, customFieldIds=[])
    assert payload["userErrors"] == []
    assert payload["customerClass"]["customFields"] == []


def test_custom_taxes(api: Api) -> None:
    catalogs = make_catalogs(api)
    all_charges, subscriptions = catalogs.all_charges_tax, catalogs.subscription_tax
    payload = create(api, "Wrong method", taxation={"method": "GST", "customTaxIds": [all_charges]})
    assert sorted_errors(payload) == [(DEPENDENCY, I("taxation", "customTaxIds"))]
    payload = create(
        api,
        "Duplicate",
        taxation={
            "method": "CUSTOM_TAXATION",
            "customTaxIds": [all_charges, subscriptions, all_charges],
        },
    )
    assert sorted_errors(payload) == [(INVALID, I("taxation", "customTaxIds", "2"))]
    payload = create(
        api,
        "At payment",
        taxation={
            "method": "CUSTOM_TAXATION",
            "assessment": "AT_TIME_OF_PAYMENT",
            "customTaxIds": [all_charges, subscriptions],
        },
    )
    assert sorted_errors(payload) == [(DEPENDENCY, I("taxation", "customTaxIds", "1"))]
    class_id = create_ok(
        api,
        taxation={
            "method": "CUSTOM_TAXATION",
            "assessTaxes": True,
            "customTaxIds": [subscriptions, all_charges],
        },
    )
    state = read(api, class_id)
    assert [t["id"] for t in state["taxation"]["customTaxes"]] == [subscriptions, all_charges]
    assert state["taxationMethod"] == "CUSTOM_TAXATION"
    # Partial updates checked against the stored taxes and method.
    payload = update(api, class_id, taxation={"assessment": "AT_TIME_OF_PAYMENT"})
    assert sorted_errors(payload) == [(DEPENDENCY, I("taxation", "assessment"))]
    payload = update(api, class_id, taxation={"customTaxIds": []})
    assert sorted_errors(payload) == [(REQUIRED, I("taxation", "customTaxIds"))]
    payload = update(api, class_id, taxation={"method": "FIXED_VAT_RATE"})
    assert sorted_errors(payload) == sorted(
        [
            (DEPENDENCY, I("taxation", "method")),  # the custom taxes remain
            (REQUIRED, I("taxation", "vatRatePercent")),
        ]
    )
    payload = update(
        api,
        class_id,
        taxation={"assessment": "AT_TIME_OF_PAYMENT", "customTaxIds": [all_charges]},
    )
    assert payload["userErrors"] == []
    payload = update(
        api,
        class_id,
        taxation={
            "method": "FIXED_VAT_RATE",
            "customTaxIds": [],
            "vatRatePercent": "19",
            "taxName": "MwSt",
        },
    )
    assert payload["userErrors"] == []
    assert payload["customerClass"]["taxation"]["customTaxes"] == []
    assert payload["customerClass"]["taxation"]["taxName"] == "MwSt"


# --------------------------------------------------------------------------- fraud protection


def test_fraud_protection_needs_a_currency(api: Api) -> None:
    payload = create(api, "Any currency", None, fraudProtection={})
    assert sorted_errors(payload) == [(DEPENDENCY, I("fraudProtection"))]
    payload = create(api, "Any currency", None, fraudProtection={"dailySpendingThreshold": "0"})
    assert sorted_errors(payload) == [(DEPENDENCY, I("fraudProtection"))]
    class_id = create_ok(api, "Any currency", None)
    assert read(api, class_id)["fraudProtection"] is None
    for patch in ({}, {"checkRemainingFunds": False}, None):
        payload = update(api, class_id, fraudProtection=patch)
        assert sorted_errors(payload) == [(DEPENDENCY, I("fraudProtection"))], patch
    default_id = api.default_class_id()
    payload = update(api, default_id, fraudProtection={"dailySpendingThreshold": "10"})
    assert sorted_errors(payload) == [(DEPENDENCY, I("fraudProtection"))]


def test_fraud_protection_with_a_currency(api: Api) -> None:
    class_id = create_ok(api, "Yen", "JPY")
    assert read(api, class_id)["fraudProtection"]["dailySpendingThreshold"] is None
    payload = update(api, class_id, fraudProtection={"dailySpendingThreshold": "1.5"})
    assert sorted_errors(payload) == [(INVALID, I("fraudProtection", "dailySpendingThreshold"))]
    payload = update(
        api,
        class_id,
        fraudProtection={
            "dailySpendingThreshold": "5000",
            "sendWarning": True,
            "warningThresholdPercent": 1,
        },
    )
    assert payload["userErrors"] == []
    assert payload["customerClass"]["fraudProtection"] == {
        "dailySpendingThreshold": "5000",
        "checkRemainingFunds": False,
        "sendWarning": True,
        "warningThresholdPercent": 1,
    }
    payload = update(api, class_id, fraudProtection={"warningThresholdPercent": None})
    assert sorted_errors(payload) == [(REQUIRED, I("fraudProtection", "warningThresholdPercent"))]
    payload = update(api, class_id, fraudProtection={"sendWarning": False})
    assert payload["userErrors"] == []
