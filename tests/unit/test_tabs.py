"""Every rule of SPEC §5, table-driven per tab, on the pure tab logic (no database).

Each case applies ``patch`` (after an optional valid ``stored`` patch, which plays the
class as it is in the database) to the defaults with ``tabs.apply_patch`` and checks
the result with ``tabs.validate``; it asserts the exact list of (code, full input
path) errors, and optionally values of the patched document.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pytest
from _pytest.mark import ParameterSet

from tenancy import fields, tabs
from tenancy.errors import ErrorList

Path = tuple[str, ...]
Error = tuple[str, Path]

DEPENDENCY = "DEPENDENCY"
INVALID = "INVALID"
OUT_OF_RANGE = "OUT_OF_RANGE"
REQUIRED = "REQUIRED"
TOO_LONG = "TOO_LONG"


@dataclass
class Case:
    patch: dict[str, Any]
    errors: list[Error] = field(default_factory=list)
    stored: dict[str, Any] | None = None
    decimals: int | None = 2  # money decimals of the class currency; None: no currency
    resolved: Mapping[Path, int] = field(default_factory=dict)
    applied_to: Mapping[int, str] = field(default_factory=dict)
    expect: Mapping[Path, Any] = field(default_factory=dict)  # values after the patch


def run(
    patch: Mapping[str, Any],
    current: tabs.Settings,
    decimals: int | None,
    resolved: Mapping[Path, int] = {},
    applied_to: Mapping[int, str] = {},
) -> tuple[tabs.Settings, list[Error]]:
    errors = ErrorList()
    state = tabs.Patching(
        errors=errors,
        money_decimals=fields.DEFAULT_MONEY_DECIMALS if decimals is None else decimals,
        has_currency=decimals is not None,
        resolved=resolved,
    )
    settings = tabs.apply_patch(current, patch, state)
    tabs.validate(settings, state, lambda key: applied_to.get(key))
    found = []
    for error in errors.errors:
        assert error.field is not None and error.field[0] == "input", error
        assert error.message, error
        found.append((error.code.value, error.field[1:]))
    return settings, found


def at(document: Any, path: Path) -> Any:
    for key in path:
        document = document[int(key)] if isinstance(document, list) else document[key]
    return document


def check(case: Case) -> None:
    current = tabs.default_settings(case.decimals)
    if case.stored is not None:
        current, stored_errors = run(
            case.stored, current, case.decimals, case.resolved, case.applied_to
        )
        assert stored_errors == [], f"the stored state of the case is invalid: {stored_errors}"
    before = copy.deepcopy(current)
    settings, found = run(case.patch, current, case.decimals, case.resolved, case.applied_to)
    assert sorted(found) == sorted(case.errors)
    assert current == before, "apply_patch must not modify the document it is given"
    for path, value in case.expect.items():
        assert at(settings, path) == value, path


def cases(*items: ParameterSet) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", list(items))


def c(
    name: str, patch: dict[str, Any], errors: list[Error] | None = None, **kw: Any
) -> ParameterSet:
    return pytest.param(Case(patch, errors or [], **kw), id=name)


def merge(*patches: Mapping[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for patch in patches:
        for key, value in patch.items():
            if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
                result[key] = merge(result[key], value)
            else:
                result[key] = value
    return result


# --------------------------------------------------------------------------- builders


def gi(**kw: Any) -> dict[str, Any]:
    return {"generalInfo": kw}


def G(key: str) -> Path:
    return ("generalInfo", key)


def ri(**kw: Any) -> dict[str, Any]:
    return {"regularInvoices": kw}


def oot(**kw: Any) -> dict[str, Any]:
    return {"outOfTurnInvoices": kw}


def terms(tab: str, **kw: Any) -> dict[str, Any]:
    return {tab: {"paymentTerms": kw}}


def past(tab: str, **kw: Any) -> dict[str, Any]:
    return {tab: {"pastDue": kw}}


def tax(**kw: Any) -> dict[str, Any]:
    return {"taxation": kw}


def X(*key: str) -> Path:
    return ("taxation", *key)


def fraud(**kw: Any) -> dict[str, Any]:
    return {"fraudProtection": kw}


def F(key: str) -> Path:
    return ("fraudProtection", key)


# --------------------------------------------------------------------------- defaults


def test_defaults_of_a_new_class() -> None:
    settings = tabs.default_settings(2)
    general = settings["generalInfo"]
    assert general == {
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
    assert settings["measuredServices"] == []
    assert settings["notifications"]["notificationSetId"] is None
    assert list(settings["notifications"]["settings"]) == list(tabs.NOTIFICATION_TYPES)
    for entry in settings["notifications"]["settings"].values():
        assert entry == {
            "email": {"send": False, "template": "SYSTEM"},
            "sms": {"send": False, "template": "SYSTEM"},
        }
    regular, out = settings["regularInvoices"], settings["outOfTurnInvoices"]
    assert (regular["enabled"], regular["invoiceTemplateId"]) == (False, None)
    assert regular["pdfGeneration"] == "AT_END_OF_BILLING_PERIOD"
    assert (regular["delivery"], regular["holdForReviewDays"]) == ("AUTOMATICALLY", None)
    assert (out["enabled"], out["delivery"], out["invoiceTemplateId"]) == (False, "NEVER", None)
    assert out["separateInvoiceForRecurringFees"] is False
    for tab in (regular, out):
        assert tab["paymentTerms"] == {
            "netDays": 0,
            "dueDateReminderDays": [],
            "autoCharge": False,
            "autoChargeTiming": "UPON_INVOICE_GENERATION",
        }
        assert tab["pastDue"] == {
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
    assert settings["taxation"] == {
        "method": "NO_TAXATION",
        "assessTaxes": False,
        "taxesIncludedInRates": False,
        "assessment": "AT_END_OF_BILLING_PERIOD",
        "vatRatePercent": None,
        "taxName": None,
        "customTaxIds": [],
    }
    assert settings["customFieldIds"] == []
    assert settings["fraudProtection"] == {
        "dailySpendingThreshold": None,
        "checkRemainingFunds": False,
        "sendWarning": False,
        "warningThresholdPercent": None,
    }


@pytest.mark.parametrize(("decimals", "zero"), [(0, "0"), (2, "0.00"), (3, "0.000")])
def test_default_money_has_the_currency_decimals(decimals: int, zero: str) -> None:
    settings = tabs.default_settings(decimals)
    assert settings["regularInvoices"]["pastDue"]["collectionThreshold"] == zero
    assert settings["outOfTurnInvoices"]["pastDue"]["collectionThreshold"] == zero


def test_class_without_currency_has_no_fraud_protection() -> None:
    settings = tabs.default_settings(None)
    assert settings["fraudProtection"] is None
    assert settings["regularInvoices"]["pastDue"]["collectionThreshold"] == "0.000000"


def test_defaults_are_valid_and_an_empty_patch_changes_nothing() -> None:
    for decimals in (None, 0, 2, 3):
        current = tabs.default_settings(decimals)
        settings, errors = run({}, current, decimals)
        assert errors == []
        assert settings == current


def test_references_lists_every_id_with_its_path() -> None:
    patch = {
        "name": "ignored",
        "notifications": {"notificationSetId": "ns", "settings": []},
        "regularInvoices": {"invoiceTemplateId": "t1", "enabled": True},
        "outOfTurnInvoices": {"invoiceTemplateId": None},
        "taxation": {"customTaxIds": ["a", "b"]},
        "customFieldIds": ["f"],
    }
    found = {(r.path, r.node_type, r.raw) for r in tabs.references(patch)}
    assert found == {
        (("notifications", "notificationSetId"), "NotificationSet", "ns"),
        (("regularInvoices", "invoiceTemplateId"), "InvoiceTemplate", "t1"),
        (("taxation", "customTaxIds", "0"), "CustomTax", "a"),
        (("taxation", "customTaxIds", "1"), "CustomTax", "b"),
        (("customFieldIds", "0"), "CustomFieldDefinition", "f"),
    }


# --------------------------------------------------------------------------- general info

EXTRA_5 = gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=5)
BILLED = gi(billedExternally=True)
RESET = gi(billedExternally=True, resetBalanceEveryPeriod=True)
HIDE = gi(billedExternally=True, resetBalanceEveryPeriod=True, hideBalanceResetXdr=True)


@cases(
    c("defaults", gi()),
    c("send statistics while on", gi(sendStatistics="FULL_STATISTICS")),
    c(
        "send statistics while off (both in input)",
        gi(generateStatistics=False, sendStatistics="SUMMARY_ONLY"),
        [(DEPENDENCY, G("sendStatistics"))],
    ),
    c("statistics off, DO_NOT_SEND", gi(generateStatistics=False, sendStatistics="DO_NOT_SEND")),
    c(
        "send statistics while stored off",
        gi(sendStatistics="FULL_STATISTICS"),
        [(DEPENDENCY, G("sendStatistics"))],
        stored=gi(generateStatistics=False),
    ),
    c(
        "statistics off while stored sending",
        gi(generateStatistics=False),
        [(DEPENDENCY, G("generateStatistics"))],
        stored=gi(sendStatistics="FULL_STATISTICS"),
    ),
    c(
        "statistics off together with DO_NOT_SEND",
        gi(generateStatistics=False, sendStatistics="DO_NOT_SEND"),
        stored=gi(sendStatistics="SUMMARY_ONLY"),
        expect={G("generateStatistics"): False},
    ),
    c("extra delay 1", gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=1)),
    c(
        "extra delay 72",
        gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=72),
        expect={G("closeDelayHours"): 72},
    ),
    c(
        "extra delay 0",
        gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=0),
        [(OUT_OF_RANGE, G("closeDelayHours"))],
    ),
    c(
        "extra delay 73",
        gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=73),
        [(OUT_OF_RANGE, G("closeDelayHours"))],
    ),
    c(
        "extra delay without hours",
        gi(billingPeriodClosure="WITH_EXTRA_DELAY"),
        [(REQUIRED, G("closeDelayHours"))],
    ),
    c(
        "extra delay with hours null",
        gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=None),
        [(REQUIRED, G("closeDelayHours"))],
    ),
    c(
        "stored extra delay, hours cleared",
        gi(closeDelayHours=None),
        [(REQUIRED, G("closeDelayHours"))],
        stored=EXTRA_5,
    ),
    c(
        "stored extra delay, hours changed",
        gi(closeDelayHours=10),
        stored=EXTRA_5,
        expect={G("closeDelayHours"): 10},
    ),
    c("hours without extra delay", gi(closeDelayHours=5), [(DEPENDENCY, G("closeDelayHours"))]),
    c(
        "hours with administrator approval",
        gi(billingPeriodClosure="UPON_ADMINISTRATOR_APPROVAL", closeDelayHours=5),
        [(DEPENDENCY, G("closeDelayHours"))],
    ),
    c(
        "switch to global delay without clearing hours",
        gi(billingPeriodClosure="AFTER_GLOBAL_DELAY"),
        [(DEPENDENCY, G("billingPeriodClosure"))],
        stored=EXTRA_5,
    ),
    c(
        "switch to global delay clearing hours",
        gi(billingPeriodClosure="AFTER_GLOBAL_DELAY", closeDelayHours=None),
        stored=EXTRA_5,
        expect={G("closeDelayHours"): None, G("billingPeriodClosure"): "AFTER_GLOBAL_DELAY"},
    ),
    c("hours null when absent", gi(closeDelayHours=None)),
    c("billed externally", BILLED, expect={G("billedExternally"): True}),
    c(
        "billed externally with extra delay",
        merge(BILLED, gi(billingPeriodClosure="WITH_EXTRA_DELAY", closeDelayHours=3)),
    ),
    c(
        "billed externally with approval (both in input)",
        gi(billedExternally=True, billingPeriodClosure="UPON_ADMINISTRATOR_APPROVAL"),
        [(DEPENDENCY, G("billedExternally"))],
    ),
    c(
        "approval while stored billed externally",
        gi(billingPeriodClosure="UPON_ADMINISTRATOR_APPROVAL"),
        [(DEPENDENCY, G("billingPeriodClosure"))],
        stored=BILLED,
    ),
    c(
        "billed externally while stored approval",
        gi(billedExternally=True),
        [(DEPENDENCY, G("billedExternally"))],
        stored=gi(billingPeriodClosure="UPON_ADMINISTRATOR_APPROVAL"),
    ),
    c(
        "reset without billed externally",
        gi(resetBalanceEveryPeriod=True),
        [(DEPENDENCY, G("resetBalanceEveryPeriod"))],
    ),
    c("reset with billed externally", RESET),
    c(
        "billed externally off under reset",
        gi(billedExternally=False),
        [(DEPENDENCY, G("billedExternally"))],
        stored=RESET,
    ),
    c(
        "billed externally off with reset off",
        gi(billedExternally=False, resetBalanceEveryPeriod=False),
        stored=RESET,
    ),
    c(
        "hide without reset",
        gi(billedExternally=True, hideBalanceResetXdr=True),
        [(DEPENDENCY, G("hideBalanceResetXdr"))],
    ),
    c("hide with reset", HIDE),
    c(
        "reset off under hide",
        gi(resetBalanceEveryPeriod=False),
        [(DEPENDENCY, G("resetBalanceEveryPeriod"))],
        stored=HIDE,
    ),
    c(
        "whole chain off under hide",
        gi(billedExternally=False, resetBalanceEveryPeriod=False, hideBalanceResetXdr=False),
        stored=HIDE,
    ),
    c("rounding precision 0", gi(roundingPrecision=0), expect={G("roundingPrecision"): 0}),
    c("rounding precision 6", gi(roundingPrecision=6)),
    c("rounding precision 7", gi(roundingPrecision=7), [(OUT_OF_RANGE, G("roundingPrecision"))]),
    c("rounding precision -1", gi(roundingPrecision=-1), [(OUT_OF_RANGE, G("roundingPrecision"))]),
    c(
        "other settings",
        gi(roundingMethod="HALF_EVEN", suspendOnInsufficientFunds=True),
        expect={G("roundingMethod"): "HALF_EVEN", G("suspendOnInsufficientFunds"): True},
    ),
    c("null statistics", gi(generateStatistics=None), [(INVALID, G("generateStatistics"))]),
    c("null send statistics", gi(sendStatistics=None), [(INVALID, G("sendStatistics"))]),
    c("null closure", gi(billingPeriodClosure=None), [(INVALID, G("billingPeriodClosure"))]),
    c("null rounding precision", gi(roundingPrecision=None), [(INVALID, G("roundingPrecision"))]),
    c("null billed externally", gi(billedExternally=None), [(INVALID, G("billedExternally"))]),
    c("null tab", {"generalInfo": None}, [(INVALID, ("generalInfo",))]),
)
def test_general_info(case: Case) -> None:
    check(case)


# --------------------------------------------------------------------------- measured services

M = "measuredServices"


def svc(parameter: str, price: Any = "1", **kw: Any) -> dict[str, Any]:
    return {"parameter": parameter, "chargeBasedOn": "MAXIMUM", "pricePerItem": price, **kw}


def MS(index: int, key: str) -> Path:
    return (M, str(index), key)


STORED_SERVICES = {M: [svc("ACTIVE_CALLS"), svc("PBX_EXTENSIONS", "2")]}


@cases(
    c(
        "distinct parameters in input order",
        {
            M: [
                svc("PBX_EXTENSIONS", "2.5", itemsFreeOfCharge=3, rateCode="R1", service="S"),
                svc("ACTIVE_CALLS", "0"),
                svc("CONCURRENT_CALLS", "10"),
            ]
        },
        expect={
            (M,): [
                {
                    "parameter": "PBX_EXTENSIONS",
                    "chargeBasedOn": "MAXIMUM",
                    "pricePerItem": "2.50",
                    "itemsFreeOfCharge": 3,
                    "rateCode": "R1",
                    "service": "S",
                },
                {
                    "parameter": "ACTIVE_CALLS",
                    "chargeBasedOn": "MAXIMUM",
                    "pricePerItem": "0.00",
                    "itemsFreeOfCharge": 0,
                    "rateCode": None,
                    "service": None,
                },
                {
                    "parameter": "CONCURRENT_CALLS",
                    "chargeBasedOn": "MAXIMUM",
                    "pricePerItem": "10.00",
                    "itemsFreeOfCharge": 0,
                    "rateCode": None,
                    "service": None,
                },
            ]
        },
    ),
    c(
        "duplicate parameter",
        {M: [svc("ACTIVE_CALLS"), svc("ACTIVE_CALLS")]},
        [(INVALID, MS(1, "parameter"))],
    ),
    c(
        "duplicate parameter later in the list",
        {M: [svc("ACTIVE_CALLS"), svc("CONCURRENT_CALLS"), svc("ACTIVE_CALLS")]},
        [(INVALID, MS(2, "parameter"))],
        stored=STORED_SERVICES,
        expect={(M, "0", "parameter"): "ACTIVE_CALLS", (M, "1", "parameter"): "PBX_EXTENSIONS"},
    ),
    c("price in USD", {M: [svc("ACTIVE_CALLS", "12.5")]}, expect={MS(0, "pricePerItem"): "12.50"}),
    c(
        "price with too many decimals",
        {M: [svc("ACTIVE_CALLS", "12.505")]},
        [(INVALID, MS(0, "pricePerItem"))],
    ),
    c(
        "price in JPY",
        {M: [svc("ACTIVE_CALLS", "15")]},
        decimals=0,
        expect={MS(0, "pricePerItem"): "15"},
    ),
    c(
        "decimals in JPY",
        {M: [svc("ACTIVE_CALLS", "1.5")]},
        [(INVALID, MS(0, "pricePerItem"))],
        decimals=0,
    ),
    c(
        "price without currency",
        {M: [svc("ACTIVE_CALLS", "0.123456")]},
        decimals=None,
        expect={MS(0, "pricePerItem"): "0.123456"},
    ),
    c("negative price", {M: [svc("ACTIVE_CALLS", "-1")]}, [(OUT_OF_RANGE, MS(0, "pricePerItem"))]),
    c(
        "price as a JSON number",
        {M: [svc("ACTIVE_CALLS", 1.5)]},
        [(INVALID, MS(0, "pricePerItem"))],
    ),
    c("price with exponent", {M: [svc("ACTIVE_CALLS", "1e3")]}, [(INVALID, MS(0, "pricePerItem"))]),
    c("free items 0", {M: [svc("ACTIVE_CALLS", itemsFreeOfCharge=0)]}),
    c("free items 100", {M: [svc("ACTIVE_CALLS", itemsFreeOfCharge=100)]}),
    c(
        "negative free items",
        {M: [svc("ACTIVE_CALLS"), svc("PBX_EXTENSIONS", itemsFreeOfCharge=-1)]},
        [(OUT_OF_RANGE, MS(1, "itemsFreeOfCharge"))],
    ),
    c("rate code of 64", {M: [svc("ACTIVE_CALLS", rateCode="r" * 64)]}),
    c(
        "rate code trimmed",
        {M: [svc("ACTIVE_CALLS", rateCode="  " + "r" * 64 + " ", service="  Voice ")]},
        expect={MS(0, "rateCode"): "r" * 64, MS(0, "service"): "Voice"},
    ),
    c(
        "blank rate code is null",
        {M: [svc("ACTIVE_CALLS", rateCode="   ", service="")]},
        expect={MS(0, "rateCode"): None, MS(0, "service"): None},
    ),
    c(
        "rate code of 65",
        {M: [svc("ACTIVE_CALLS", rateCode="r" * 65)]},
        [(TOO_LONG, MS(0, "rateCode"))],
    ),
    c("service of 64", {M: [svc("ACTIVE_CALLS", service="s" * 64)]}),
    c(
        "service of 65",
        {M: [svc("ACTIVE_CALLS", service="s" * 65)]},
        [(TOO_LONG, MS(0, "service"))],
    ),
    c(
        "input replaces the list",
        {M: [svc("CONCURRENT_CALLS")]},
        stored=STORED_SERVICES,
        expect={
            (M, "0", "parameter"): "CONCURRENT_CALLS",
            (M,): [
                {
                    "parameter": "CONCURRENT_CALLS",
                    "chargeBasedOn": "MAXIMUM",
                    "pricePerItem": "1.00",
                    "itemsFreeOfCharge": 0,
                    "rateCode": None,
                    "service": None,
                }
            ],
        },
    ),
    c("empty list clears", {M: []}, stored=STORED_SERVICES, expect={(M,): []}),
    c("null list", {M: None}, [(INVALID, (M,))]),
    c(
        "several bad entries",
        {M: [svc("ACTIVE_CALLS", "x"), svc("ACTIVE_CALLS", rateCode="r" * 65)]},
        [
            (INVALID, MS(0, "pricePerItem")),
            (INVALID, MS(1, "parameter")),
            (TOO_LONG, MS(1, "rateCode")),
        ],
    ),
)
def test_measured_services(case: Case) -> None:
    check(case)


# --------------------------------------------------------------------------- notifications

N: Final = "notifications"
SET_PATH: Path = (N, "notificationSetId")
WITH_SET = {SET_PATH: 7}


def notif(*entries: dict[str, Any], **kw: Any) -> dict[str, Any]:
    body = dict(kw)
    if entries:
        body["settings"] = list(entries)
    return {N: body}


def send(kind: str, channel: str = "email", on: bool = True, **kw: Any) -> dict[str, Any]:
    return {"type": kind, channel: {"send": on, **kw}}


def NP(index: int, *rest: str) -> Path:
    return (N, "settings", str(index), *rest)


def channel(kind: str, which: str = "email") -> Path:
    return (N, "settings", kind, which)


SENDING = notif(send("INVOICE_ISSUED"), notificationSetId="set")
SENDING_TWO = notif(
    send("INVOICE_ISSUED", template="CUSTOM"),
    send("LOW_BALANCE", "sms"),
    notificationSetId="set",
)


@cases(
    c(
        "send with a set",
        SENDING,
        resolved=WITH_SET,
        expect={SET_PATH: 7, channel("INVOICE_ISSUED"): {"send": True, "template": "SYSTEM"}},
    ),
    c(
        "send e-mail without a set",
        notif(send("INVOICE_ISSUED")),
        [(DEPENDENCY, NP(0, "email", "send"))],
    ),
    c(
        "send SMS without a set",
        notif(send("INVOICE_ISSUED", on=False), send("LOW_BALANCE", "sms")),
        [(DEPENDENCY, NP(1, "sms", "send"))],
    ),
    c(
        "template without sending needs no set",
        notif(send("PAYMENT_RECEIVED", on=False, template="CUSTOM")),
        expect={channel("PAYMENT_RECEIVED"): {"send": False, "template": "CUSTOM"}},
    ),
    c(
        "detach the set while a type is sent",
        notif(notificationSetId=None),
        [(DEPENDENCY, SET_PATH)],
        stored=SENDING,
        resolved=WITH_SET,
    ),
    c(
        "detach the set and stop sending",
        notif(send("INVOICE_ISSUED", on=False), notificationSetId=None),
        stored=SENDING,
        resolved=WITH_SET,
        expect={SET_PATH: None, channel("INVOICE_ISSUED"): {"send": False, "template": "SYSTEM"}},
    ),
    c(
        "detach the set, another type still sent",
        notif(send("INVOICE_ISSUED", on=False), notificationSetId=None),
        [(DEPENDENCY, SET_PATH)],
        stored=SENDING_TWO,
        resolved=WITH_SET,
    ),
    c(
        "detach the set and start sending",
        notif(send("PAYMENT_RECEIVED", "sms"), notificationSetId=None),
        [(DEPENDENCY, NP(0, "sms", "send"))],
        stored=notif(notificationSetId="set"),
        resolved=WITH_SET,
    ),
    c(
        "start sending on a class with a set",
        notif(send("PAYMENT_RECEIVED", "sms")),
        stored=notif(notificationSetId="set"),
        resolved=WITH_SET,
    ),
    c(
        "start sending while stored without set",
        notif(send("PAYMENT_RECEIVED", "sms")),
        [(DEPENDENCY, NP(0, "sms", "send"))],
        stored=notif(send("PAYMENT_RECEIVED", "email", on=False, template="CUSTOM")),
    ),
    c(
        "detach an unused set",
        notif(notificationSetId=None),
        stored=notif(notificationSetId="s"),
        resolved=WITH_SET,
        expect={SET_PATH: None},
    ),
    c(
        "replace the set while sending",
        notif(notificationSetId="other"),
        stored=SENDING,
        resolved=WITH_SET,
    ),
    c(
        "duplicate type",
        notif(
            send("INVOICE_ISSUED"),
            send("LOW_BALANCE"),
            send("INVOICE_ISSUED", on=False),
            notificationSetId="set",
        ),
        [(INVALID, NP(2, "type"))],
        resolved=WITH_SET,
    ),
    c(
        "a patch changes only the listed types",
        notif(send("LOW_BALANCE", "email")),
        stored=SENDING_TWO,
        resolved=WITH_SET,
        expect={
            channel("INVOICE_ISSUED"): {"send": True, "template": "CUSTOM"},
            channel("INVOICE_ISSUED", "sms"): {"send": False, "template": "SYSTEM"},
            channel("LOW_BALANCE", "sms"): {"send": True, "template": "SYSTEM"},
            channel("LOW_BALANCE", "email"): {"send": True, "template": "SYSTEM"},
            channel("STATISTICS_READY"): {"send": False, "template": "SYSTEM"},
            (N, "notificationSetId"): 7,
        },
    ),
    c(
        "send alone keeps the template",
        notif(send("INVOICE_ISSUED", on=False)),
        stored=SENDING_TWO,
        resolved=WITH_SET,
        expect={channel("INVOICE_ISSUED"): {"send": False, "template": "CUSTOM"}},
    ),
    c(
        "null channel",
        notif({"type": "INVOICE_ISSUED", "email": None}),
        [(INVALID, NP(0, "email"))],
    ),
    c(
        "null template",
        notif(send("INVOICE_ISSUED", on=False, template=None)),
        [(INVALID, NP(0, "email", "template"))],
    ),
    c("null settings", {N: {"settings": None}}, [(INVALID, (N, "settings"))]),
    c("null tab", {N: None}, [(INVALID, (N,))]),
    c("empty settings", {N: {"settings": []}}),
)
def test_notifications(case: Case) -> None:
    check(case)


def test_notification_output_always_lists_every_type_in_enum_order() -> None:
    current = tabs.default_settings(2)
    patch = notif(
        send("FRAUD_SPENDING_WARNING", "sms"), send("INVOICE_ISSUED"), notificationSetId="s"
    )
    settings, errors = run(patch, current, 2, WITH_SET)
    assert errors == []
    assert list(settings[N]["settings"]) == list(tabs.NOTIFICATION_TYPES)
    assert len(tabs.NOTIFICATION_TYPES) == 15


# --------------------------------------------------------------------------- regular invoices

R = "regularInvoices"
REVIEW_7 = ri(delivery="AFTER_ADMINISTRATOR_REVIEW", holdForReviewDays=7)


@cases(
    c("enabled", ri(enabled=True), expect={(R, "enabled"): True}),
    c(
        "enabled with statistics off (both in input)",
        merge(ri(enabled=True), gi(generateStatistics=False)),
        [(DEPENDENCY, (R, "enabled"))],
    ),
    c(
        "enabled while stored statistics off",
        ri(enabled=True),
        [(DEPENDENCY, (R, "enabled"))],
        stored=gi(generateStatistics=False),
    ),
    c(
        "statistics off under regular invoices",
        gi(generateStatistics=False),
        [(DEPENDENCY, G("generateStatistics"))],
        stored=ri(enabled=True),
    ),
    c(
        "statistics and regular invoices off together",
        merge(ri(enabled=False), gi(generateStatistics=False)),
        stored=ri(enabled=True),
    ),
    c("review for 1 day", ri(delivery="AFTER_ADMINISTRATOR_REVIEW", holdForReviewDays=1)),
    c("review for 30 days", ri(delivery="AFTER_ADMINISTRATOR_REVIEW", holdForReviewDays=30)),
    c(
        "review for 0 days",
        ri(delivery="AFTER_ADMINISTRATOR_REVIEW", holdForReviewDays=0),
        [(OUT_OF_RANGE, (R, "holdForReviewDays"))],
    ),
    c(
        "review for 31 days",
        ri(delivery="AFTER_ADMINISTRATOR_REVIEW", holdForReviewDays=31),
        [(OUT_OF_RANGE, (R, "holdForReviewDays"))],
    ),
    c(
        "review without days",
        ri(delivery="AFTER_ADMINISTRATOR_REVIEW"),
        [(REQUIRED, (R, "holdForReviewDays"))],
    ),
    c("days without review", ri(holdForReviewDays=5), [(DEPENDENCY, (R, "holdForReviewDays"))]),
    c(
        "automatic delivery without clearing days",
        ri(delivery="AUTOMATICALLY"),
        [(DEPENDENCY, (R, "delivery"))],
        stored=REVIEW_7,
    ),
    c(
        "automatic delivery clearing days",
        ri(delivery="AUTOMATICALLY", holdForReviewDays=None),
        stored=REVIEW_7,
        expect={(R, "holdForReviewDays"): None},
    ),
    c(
        "clearing days under review",
        ri(holdForReviewDays=None),
        [(REQUIRED, (R, "holdForReviewDays"))],
        stored=REVIEW_7,
    ),
    c(
        "template",
        ri(invoiceTemplateId="t"),
        resolved={(R, "invoiceTemplateId"): 11},
        expect={(R, "invoiceTemplateId"): 11},
    ),
    c(
        "template cleared",
        ri(invoiceTemplateId=None),
        stored=ri(invoiceTemplateId="t"),
        resolved={(R, "invoiceTemplateId"): 11},
        expect={(R, "invoiceTemplateId"): None},
    ),
    c("PDF generation without template", ri(pdfGeneration="ON_DEMAND")),
    c("null enabled", ri(enabled=None), [(INVALID, (R, "enabled"))]),
    c("null delivery", ri(delivery=None), [(INVALID, (R, "delivery"))]),
    c("null PDF generation", ri(pdfGeneration=None), [(INVALID, (R, "pdfGeneration"))]),
    c("null payment terms", ri(paymentTerms=None), [(INVALID, (R, "paymentTerms"))]),
    c("null past-due policy", ri(pastDue=None), [(INVALID, (R, "pastDue"))]),
    c("null tab", {R: None}, [(INVALID, (R,))]),
)
def test_regular_invoices(case: Case) -> None:
    check(case)


# --------------------------------------------------------------------------- out-of-turn invoices

O = "outOfTurnInvoices"  # noqa: E741
SEPARATE = merge(oot(separateInvoiceForRecurringFees=True), terms(O, autoCharge=True))


@cases(
    c("enabled, delivered", oot(enabled=True, delivery="AUTOMATICALLY")),
    c(
        "separate invoices without auto-charge",
        oot(separateInvoiceForRecurringFees=True),
        [(DEPENDENCY, (O, "separateInvoiceForRecurringFees"))],
    ),
    c("separate invoices with auto-charge", SEPARATE),
    c(
        "regular auto-charge does not count",
        merge(oot(separateInvoiceForRecurringFees=True), terms(R, autoCharge=True)),
        [(DEPENDENCY, (O, "separateInvoiceForRecurringFees"))],
    ),
    c(
        "auto-charge off under separate invoices",
        terms(O, autoCharge=False),
        [(DEPENDENCY, (O, "paymentTerms", "autoCharge"))],
        stored=SEPARATE,
    ),
    c(
        "both off together",
        merge(oot(separateInvoiceForRecurringFees=False), terms(O, autoCharge=False)),
        stored=SEPARATE,
    ),
    c(
        "template",
        oot(invoiceTemplateId="t"),
        resolved={(O, "invoiceTemplateId"): 12},
        expect={(O, "invoiceTemplateId"): 12},
    ),
    c("null delivery", oot(delivery=None), [(INVALID, (O, "delivery"))]),
    c(
        "null separate invoices",
        oot(separateInvoiceForRecurringFees=None),
        [(INVALID, (O, "separateInvoiceForRecurringFees"))],
    ),
)
def test_out_of_turn_invoices(case: Case) -> None:
    check(case)


# --------------------------------------------------------------------------- payment terms


def payment_terms_cases(tab: str) -> list[Any]:
    def T(*key: str) -> Path:
        return (tab, "paymentTerms", *key)

    def t(**kw: Any) -> dict[str, Any]:
        return terms(tab, **kw)

    rem = "dueDateReminderDays"
    n10 = t(netDays=10, dueDateReminderDays=[5])

    def p(name: str, *args: Any, **kw: Any) -> Any:
        return c(f"{tab}: {name}", *args, **kw)

    return [
        p("net 0", t(netDays=0)),
        p("net 365", t(netDays=365), expect={T("netDays"): 365}),
        p("net 366", t(netDays=366), [(OUT_OF_RANGE, T("netDays"))]),
        p("net -1", t(netDays=-1), [(OUT_OF_RANGE, T("netDays"))]),
        p("reminders", t(netDays=10, dueDateReminderDays=[9, 5, 1]), expect={T(rem): [9, 5, 1]}),
        p("reminder = net", t(netDays=10, dueDateReminderDays=[10]), [(OUT_OF_RANGE, T(rem, "0"))]),
        p("reminder 0", t(netDays=10, dueDateReminderDays=[5, 0]), [(OUT_OF_RANGE, T(rem, "1"))]),
        p(
            "reminders increasing",
            t(netDays=10, dueDateReminderDays=[1, 5]),
            [(INVALID, T(rem, "1"))],
        ),
        p(
            "reminders repeated",
            t(netDays=10, dueDateReminderDays=[5, 5]),
            [(INVALID, T(rem, "1"))],
        ),
        p("ten reminders", t(netDays=30, dueDateReminderDays=list(range(20, 10, -1)))),
        p(
            "eleven reminders",
            t(netDays=30, dueDateReminderDays=list(range(21, 10, -1))),
            [(OUT_OF_RANGE, T(rem))],
        ),
        p(
            "net 1 leaves no room",
            t(netDays=1, dueDateReminderDays=[1]),
            [(OUT_OF_RANGE, T(rem, "0"))],
        ),
        p(
            "reminders with net 0 (both in input)",
            t(netDays=0, dueDateReminderDays=[1]),
            [(DEPENDENCY, T(rem))],
        ),
        p("reminders with default net 0", t(dueDateReminderDays=[1]), [(DEPENDENCY, T(rem))]),
        p("net 0 under stored reminders", t(netDays=0), [(DEPENDENCY, T("netDays"))], stored=n10),
        p("net below a stored reminder", t(netDays=5), [(OUT_OF_RANGE, T("netDays"))], stored=n10),
        p("net just above a stored reminder", t(netDays=6), stored=n10),
        p(
            "net 0 clearing reminders",
            t(netDays=0, dueDateReminderDays=[]),
            stored=n10,
            expect={T(rem): []},
        ),
        p("new reminders under stored net", t(dueDateReminderDays=[9, 8]), stored=n10),
        p(
            "new reminder out of stored net",
            t(dueDateReminderDays=[10]),
            [(OUT_OF_RANGE, T(rem, "0"))],
            stored=n10,
        ),
        p(
            "refused list is not judged on the stored days",
            t(netDays=3, dueDateReminderDays=list(range(11, 0, -1))),
            [(OUT_OF_RANGE, T(rem))],
            stored=t(netDays=10, dueDateReminderDays=[5, 2]),
        ),
        p(
            "bad net alone is reported once",
            t(netDays=400, dueDateReminderDays=[5]),
            [(OUT_OF_RANGE, T("netDays"))],
        ),
        p("auto-charge timing without auto-charge", t(autoChargeTiming="UPON_DUE_DATE")),
        p("auto-charge", t(autoCharge=True), expect={T("autoCharge"): True}),
        p("null reminders", t(dueDateReminderDays=None), [(INVALID, T(rem))]),
        p("null net", t(netDays=None), [(INVALID, T("netDays"))]),
        p("null auto-charge", t(autoCharge=None), [(INVALID, T("autoCharge"))]),
        p("null timing", t(autoChargeTiming=None), [(INVALID, T("autoChargeTiming"))]),
    ]


@cases(*payment_terms_cases(R), *payment_terms_cases(O))
def test_payment_terms(case: Case) -> None:
    check(case)


# --------------------------------------------------------------------------- past-due policy

STEP_LISTS = (
    ("limitServiceAfterDays", "limitationNoticeDays"),
    ("suspendAfterDays", "suspensionNoticeDays"),
    ("terminateAfterDays", "terminationNoticeDays"),
)


def past_due_cases(tab: str, decimals: int = 2) -> list[Any]:
    def P(*key: str) -> Path:
        return (tab, "pastDue", *key)

    def d(**kw: Any) -> dict[str, Any]:
        return past(tab, **kw)

    def p(name: str, *args: Any, **kw: Any) -> Any:
        return c(f"{tab}: {name}", *args, **kw)

    limit, suspend, terminate = (s for s, _ in STEP_LISTS)
    items: list[Any] = [
        p("threshold", d(collectionThreshold="10.5"), expect={P("collectionThreshold"): "10.50"}),
        p("threshold 0", d(collectionThreshold="0")),
        p(
            "negative threshold",
            d(collectionThreshold="-1"),
            [(OUT_OF_RANGE, P("collectionThreshold"))],
        ),
        p(
            "threshold with 3 decimals",
            d(collectionThreshold="1.001"),
            [(INVALID, P("collectionThreshold"))],
        ),
        p(
            "threshold as a JSON number",
            d(collectionThreshold=10),
            [(INVALID, P("collectionThreshold"))],
        ),
        p("null threshold", d(collectionThreshold=None), [(INVALID, P("collectionThreshold"))]),
        p(
            "resend days",
            d(resendInvoiceDays=[0, 7, 365]),
            expect={P("resendInvoiceDays"): [0, 7, 365]},
        ),
        p(
            "resend day 366",
            d(resendInvoiceDays=[3, 366]),
            [(OUT_OF_RANGE, P("resendInvoiceDays", "1"))],
        ),
        p(
            "resend day -1",
            d(resendInvoiceDays=[-1, 3]),
            [(OUT_OF_RANGE, P("resendInvoiceDays", "0"))],
        ),
        p(
            "resend days repeated",
            d(resendInvoiceDays=[3, 3]),
            [(INVALID, P("resendInvoiceDays", "1"))],
        ),
        p(
            "resend days decreasing",
            d(resendInvoiceDays=[5, 3]),
            [(INVALID, P("resendInvoiceDays", "1"))],
        ),
        p("ten resend days", d(resendInvoiceDays=list(range(10)))),
        p(
            "eleven resend days",
            d(resendInvoiceDays=list(range(11))),
            [(OUT_OF_RANGE, P("resendInvoiceDays"))],
        ),
        p("null resend days", d(resendInvoiceDays=None), [(INVALID, P("resendInvoiceDays"))]),
        p("late fee", d(lateFee="0.01"), expect={P("lateFee"): "0.01"}),
        p("late fee 0", d(lateFee="0"), [(OUT_OF_RANGE, P("lateFee"))]),
        p("negative late fee", d(lateFee="-5"), [(OUT_OF_RANGE, P("lateFee"))]),
        p("late fee with 3 decimals", d(lateFee="0.001"), [(INVALID, P("lateFee"))]),
        p("late fee cleared", d(lateFee=None), stored=d(lateFee="5"), expect={P("lateFee"): None}),
        p("steps in order", d(**{limit: 10, suspend: 20, terminate: 30})),
        p("steps from 0", d(**{limit: 0, suspend: 1})),
        p("suspend = limit", d(**{limit: 10, suspend: 10}), [(INVALID, P(suspend))]),
        p(
            "terminate before suspend",
            d(**{limit: 10, suspend: 20, terminate: 15}),
            [(INVALID, P(terminate))],
        ),
        p("terminate = limit", d(**{limit: 10, terminate: 10}), [(INVALID, P(terminate))]),
        p(
            "terminate before suspend alone",
            d(**{suspend: 5, terminate: 3}),
            [(INVALID, P(terminate))],
        ),
        p(
            "suspend before stored limit",
            d(**{suspend: 5}),
            [(INVALID, P(suspend))],
            stored=d(**{limit: 10}),
        ),
        p("suspend after stored limit", d(**{suspend: 11}), stored=d(**{limit: 10})),
        p(
            "limit after stored suspension",
            d(**{limit: 10}),
            [(INVALID, P(limit))],
            stored=d(**{suspend: 10}),
        ),
        p(
            "limit cleared, suspend earlier",
            d(**{limit: None, suspend: 5}),
            stored=d(**{limit: 10, suspend: 20}),
            expect={P(limit): None, P(suspend): 5},
        ),
        p(
            "reactivation fee with suspension",
            d(**{suspend: 10}, reactivationFee="5"),
            expect={P("reactivationFee"): "5.00"},
        ),
        p(
            "reactivation fee without suspension",
            d(reactivationFee="5"),
            [(DEPENDENCY, P("reactivationFee"))],
        ),
        p(
            "reactivation fee with limitation only",
            d(**{limit: 10}, reactivationFee="5"),
            [(DEPENDENCY, P("reactivationFee"))],
        ),
        p(
            "reactivation fee 0",
            d(**{suspend: 10}, reactivationFee="0"),
            [(OUT_OF_RANGE, P("reactivationFee"))],
        ),
        p(
            "suspension cleared under reactivation fee",
            d(**{suspend: None}),
            [(DEPENDENCY, P(suspend))],
            stored=d(**{suspend: 10}, reactivationFee="5"),
        ),
        p(
            "suspension and fee cleared",
            d(**{suspend: None}, reactivationFee=None),
            stored=d(**{suspend: 10}, reactivationFee="5"),
        ),
        p("terminate commitments", d(**{terminate: 30}, terminateCommitments=True)),
        p(
            "terminate commitments without termination",
            d(terminateCommitments=True),
            [(DEPENDENCY, P("terminateCommitments"))],
        ),
        p(
            "termination cleared under commitments",
            d(**{terminate: None}),
            [(DEPENDENCY, P(terminate))],
            stored=d(**{terminate: 30}, terminateCommitments=True),
        ),
        p(
            "restore with limitation",
            d(collectionThreshold="1", restoreAfterPartialPayment=True, **{limit: 5}),
        ),
        p(
            "restore with suspension",
            d(collectionThreshold="1", restoreAfterPartialPayment=True, **{suspend: 5}),
        ),
        p(
            "restore with threshold 0",
            d(restoreAfterPartialPayment=True, **{limit: 5}),
            [(DEPENDENCY, P("restoreAfterPartialPayment"))],
        ),
        p(
            "restore without a step",
            d(collectionThreshold="1", restoreAfterPartialPayment=True),
            [(DEPENDENCY, P("restoreAfterPartialPayment"))],
        ),
        p(
            "restore with termination only",
            d(collectionThreshold="1", restoreAfterPartialPayment=True, **{terminate: 5}),
            [(DEPENDENCY, P("restoreAfterPartialPayment"))],
        ),
        p(
            "threshold 0 under restore",
            d(collectionThreshold="0"),
            [(DEPENDENCY, P("collectionThreshold"))],
            stored=d(collectionThreshold="1", restoreAfterPartialPayment=True, **{limit: 5}),
        ),
        p(
            "limitation cleared under restore",
            d(**{limit: None}),
            [(DEPENDENCY, P(limit))],
            stored=d(collectionThreshold="1", restoreAfterPartialPayment=True, **{limit: 5}),
        ),
        p(
            "limitation cleared, suspension remains",
            d(**{limit: None}),
            stored=d(
                collectionThreshold="1", restoreAfterPartialPayment=True, **{limit: 5, suspend: 6}
            ),
        ),
        p(
            "null terminate commitments",
            d(terminateCommitments=None),
            [(INVALID, P("terminateCommitments"))],
        ),
        p(
            "null restore",
            d(restoreAfterPartialPayment=None),
            [(INVALID, P("restoreAfterPartialPayment"))],
        ),
    ]
    for step, notices in STEP_LISTS:
        items += [
            p(f"{step} 0", d(**{step: 0}), expect={P(step): 0}),
            p(f"{step} 3650", d(**{step: 3650})),
            p(f"{step} 3651", d(**{step: 3651}), [(OUT_OF_RANGE, P(step))]),
            p(f"{step} -1", d(**{step: -1}), [(OUT_OF_RANGE, P(step))]),
            p(f"{step} cleared", d(**{step: None}), stored=d(**{step: 7}), expect={P(step): None}),
            p(f"{notices}", d(**{step: 10, notices: [10, 5, 1]})),
            p(
                f"{notices} beyond the step",
                d(**{step: 10, notices: [11]}),
                [(OUT_OF_RANGE, P(notices, "0"))],
            ),
            p(
                f"{notices} day 0",
                d(**{step: 10, notices: [5, 0]}),
                [(OUT_OF_RANGE, P(notices, "1"))],
            ),
            p(
                f"{notices} increasing",
                d(**{step: 10, notices: [1, 2]}),
                [(INVALID, P(notices, "1"))],
            ),
            p(
                f"{notices} repeated",
                d(**{step: 10, notices: [2, 2]}),
                [(INVALID, P(notices, "1"))],
            ),
            p(f"ten {notices}", d(**{step: 100, notices: list(range(10, 0, -1))})),
            p(
                f"eleven {notices}",
                d(**{step: 100, notices: list(range(11, 0, -1))}),
                [(OUT_OF_RANGE, P(notices))],
            ),
            p(f"{notices} without the step", d(**{notices: [3]}), [(DEPENDENCY, P(notices))]),
            p(
                f"{notices} with the step 0",
                d(**{step: 0, notices: [3]}),
                [(DEPENDENCY, P(notices))],
            ),
            p(
                f"{step} cleared under {notices}",
                d(**{step: None}),
                [(DEPENDENCY, P(step))],
                stored=d(**{step: 10, notices: [5]}),
            ),
            p(
                f"{step} 0 under {notices}",
                d(**{step: 0}),
                [(DEPENDENCY, P(step))],
                stored=d(**{step: 10, notices: [5]}),
            ),
            p(
                f"{step} below {notices}",
                d(**{step: 4}),
                [(OUT_OF_RANGE, P(step))],
                stored=d(**{step: 10, notices: [5]}),
            ),
            p(f"{step} at {notices}", d(**{step: 5}), stored=d(**{step: 10, notices: [5]})),
            p(
                f"{step} and {notices} cleared",
                d(**{step: None, notices: []}),
                stored=d(**{step: 10, notices: [5]}),
            ),
            p(
                f"bad {step} reported once",
                d(**{step: 3651, notices: [3]}),
                [(OUT_OF_RANGE, P(step))],
            ),
            p(f"null {notices}", d(**{notices: None}), [(INVALID, P(notices))]),
        ]
    return items


@cases(*past_due_cases(R), *past_due_cases(O))
def test_past_due_policy(case: Case) -> None:
    check(case)


@pytest.mark.parametrize(
    ("decimals", "raw", "stored", "error"),
    [
        (0, "1500", "1500", None),
        (0, "1.5", None, INVALID),
        (3, "1.5", "1.500", None),
        (3, "1.2345", None, INVALID),
        (None, "0.000001", "0.000001", None),
    ],
)
def test_past_due_money_follows_the_currency(
    decimals: int | None, raw: str, stored: str | None, error: str | None
) -> None:
    for key in ("collectionThreshold", "lateFee", "reactivationFee"):
        patch = past(R, **{key: raw, "suspendAfterDays": 1})
        expected: list[Error] = [] if error is None else [(error, (R, "pastDue", key))]
        check(
            Case(
                patch,
                expected,
                decimals=decimals,
                expect={(R, "pastDue", key): stored} if stored else {},
            )
        )


# --------------------------------------------------------------------------- taxation

ALL, SUBS, USAGE = 501, 502, 503
APPLIED = {ALL: "ALL_CHARGES", SUBS: "SUBSCRIPTIONS", USAGE: "USAGE"}


def taxes(*keys: int) -> dict[Path, int]:
    return {X("customTaxIds", str(i)): key for i, key in enumerate(keys)}


def tc(
    name: str,
    patch: dict[str, Any],
    errors: list[Error] | None = None,
    *,
    keys: tuple[int, ...] = (),
    **kw: Any,
) -> Any:
    return c(name, patch, errors, resolved=taxes(*keys), applied_to=APPLIED, **kw)


VAT = tax(method="FIXED_VAT_RATE", assessTaxes=True, vatRatePercent="20", taxName="VAT")
CUSTOM = tax(method="CUSTOM_TAXATION", assessTaxes=True, customTaxIds=["a"])


@cases(
    c("assess without a method", tax(assessTaxes=True), [(DEPENDENCY, X("assessTaxes"))]),
    *[
        c(f"assess with {method}", tax(method=method, assessTaxes=True))
        for method in ("GST", "EZTAX", "SURETAX", "AVALARA")
    ],
    c(
        "method NO_TAXATION while assessed",
        tax(method="NO_TAXATION"),
        [(DEPENDENCY, X("method"))],
        stored=tax(method="GST", assessTaxes=True),
    ),
    c(
        "method NO_TAXATION and assessment off",
        tax(method="NO_TAXATION", assessTaxes=False),
        stored=tax(method="GST", assessTaxes=True),
    ),
    *[
        c(f"at payment with {method}", tax(method=method, assessment="AT_TIME_OF_PAYMENT"))
        for method in ("GST", "FIXED_VAT_RATE", "CUSTOM_TAXATION")
    ],
    *[
        c(
            f"at payment with {method}",
            tax(method=method, assessment="AT_TIME_OF_PAYMENT"),
            [(DEPENDENCY, X("assessment"))],
        )
        for method in ("NO_TAXATION", "EZTAX", "SURETAX", "AVALARA")
    ],
    c(
        "method without payment-time support under at-payment",
        tax(method="EZTAX"),
        [(DEPENDENCY, X("method"))],
        stored=tax(method="GST", assessment="AT_TIME_OF_PAYMENT"),
    ),
    c(
        "fixed VAT",
        VAT,
        expect={X("vatRatePercent"): "20", X("taxName"): "VAT", X("method"): "FIXED_VAT_RATE"},
    ),
    c("VAT rate without fixed VAT", tax(vatRatePercent="20"), [(DEPENDENCY, X("vatRatePercent"))]),
    c(
        "VAT rate with GST",
        tax(method="GST", vatRatePercent="20"),
        [(DEPENDENCY, X("vatRatePercent"))],
    ),
    c("tax name without fixed VAT", tax(taxName="VAT"), [(DEPENDENCY, X("taxName"))]),
    c(
        "method changed under rate and name",
        tax(method="GST"),
        [(DEPENDENCY, X("method")), (DEPENDENCY, X("method"))],
        stored=VAT,
    ),
    c(
        "method changed clearing rate and name",
        tax(method="GST", vatRatePercent=None, taxName=None),
        stored=VAT,
    ),
    c("VAT rate 0", tax(method="FIXED_VAT_RATE", vatRatePercent="0")),
    c("VAT rate 100", tax(method="FIXED_VAT_RATE", vatRatePercent="100")),
    c(
        "VAT rate with 4 decimals",
        tax(method="FIXED_VAT_RATE", vatRatePercent="7.1234"),
        expect={X("vatRatePercent"): "7.1234"},
    ),
    c(
        "VAT rate with 5 decimals",
        tax(method="FIXED_VAT_RATE", vatRatePercent="7.12345"),
        [(INVALID, X("vatRatePercent"))],
    ),
    c(
        "VAT rate above 100",
        tax(method="FIXED_VAT_RATE", vatRatePercent="100.5"),
        [(OUT_OF_RANGE, X("vatRatePercent"))],
    ),
    c(
        "negative VAT rate",
        tax(method="FIXED_VAT_RATE", vatRatePercent="-1"),
        [(OUT_OF_RANGE, X("vatRatePercent"))],
    ),
    c(
        "VAT rate as a JSON number",
        tax(method="FIXED_VAT_RATE", vatRatePercent=20),
        [(INVALID, X("vatRatePercent"))],
    ),
    c(
        "assessed fixed VAT without rate",
        tax(method="FIXED_VAT_RATE", assessTaxes=True),
        [(REQUIRED, X("vatRatePercent"))],
    ),
    c("fixed VAT not assessed without rate", tax(method="FIXED_VAT_RATE")),
    c(
        "rate cleared while assessed",
        tax(vatRatePercent=None),
        [(REQUIRED, X("vatRatePercent"))],
        stored=VAT,
    ),
    c(
        "assessment switched on without rate",
        tax(assessTaxes=True),
        [(REQUIRED, X("vatRatePercent"))],
        stored=tax(method="FIXED_VAT_RATE"),
    ),
    c(
        "bad rate while assessed is reported once",
        tax(method="FIXED_VAT_RATE", assessTaxes=True, vatRatePercent="abc"),
        [(INVALID, X("vatRatePercent"))],
    ),
    c("tax name of 50", tax(method="FIXED_VAT_RATE", taxName="n" * 50)),
    c(
        "tax name of 51",
        tax(method="FIXED_VAT_RATE", taxName="n" * 51),
        [(TOO_LONG, X("taxName"))],
    ),
    c(
        "tax name trimmed",
        tax(method="FIXED_VAT_RATE", taxName="  VAT "),
        expect={X("taxName"): "VAT"},
    ),
    tc(
        "custom taxes",
        tax(method="CUSTOM_TAXATION", assessTaxes=True, customTaxIds=["a", "b"]),
        keys=(SUBS, ALL),
        expect={X("customTaxIds"): [SUBS, ALL]},
    ),
    tc(
        "custom taxes without custom taxation",
        tax(method="GST", customTaxIds=["a"]),
        [(DEPENDENCY, X("customTaxIds"))],
        keys=(ALL,),
    ),
    tc(
        "assessed custom taxation with no taxes",
        tax(method="CUSTOM_TAXATION", assessTaxes=True, customTaxIds=[]),
        [(REQUIRED, X("customTaxIds"))],
    ),
    tc(
        "assessed custom taxation without the list",
        tax(method="CUSTOM_TAXATION", assessTaxes=True),
        [(REQUIRED, X("customTaxIds"))],
    ),
    tc("custom taxation not assessed, no taxes", tax(method="CUSTOM_TAXATION")),
    tc(
        "taxes emptied while assessed",
        tax(customTaxIds=[]),
        [(REQUIRED, X("customTaxIds"))],
        keys=(ALL,),
        stored=CUSTOM,
    ),
    tc(
        "method changed under custom taxes",
        tax(method="GST"),
        [(DEPENDENCY, X("method"))],
        keys=(ALL,),
        stored=CUSTOM,
    ),
    tc(
        "method changed clearing custom taxes",
        tax(method="GST", customTaxIds=[]),
        keys=(ALL,),
        stored=CUSTOM,
    ),
    tc(
        "duplicate custom tax",
        tax(method="CUSTOM_TAXATION", customTaxIds=["a", "b", "a"]),
        [(INVALID, X("customTaxIds", "2"))],
        keys=(ALL, SUBS, ALL),
    ),
    tc(
        "at payment with all-charges taxes",
        tax(method="CUSTOM_TAXATION", assessment="AT_TIME_OF_PAYMENT", customTaxIds=["a"]),
        keys=(ALL,),
    ),
    tc(
        "at payment with a subscription tax",
        tax(method="CUSTOM_TAXATION", assessment="AT_TIME_OF_PAYMENT", customTaxIds=["a", "b"]),
        [(DEPENDENCY, X("customTaxIds", "1"))],
        keys=(ALL, SUBS),
    ),
    tc(
        "at payment with usage taxes",
        tax(method="CUSTOM_TAXATION", assessment="AT_TIME_OF_PAYMENT", customTaxIds=["a", "b"]),
        [(DEPENDENCY, X("customTaxIds", "0")), (DEPENDENCY, X("customTaxIds", "1"))],
        keys=(USAGE, SUBS),
    ),
    tc(
        "at payment under stored non-all-charges taxes",
        tax(assessment="AT_TIME_OF_PAYMENT"),
        [(DEPENDENCY, X("assessment"))],  # once, however many taxes break the rule
        keys=(SUBS, USAGE),
        stored=tax(method="CUSTOM_TAXATION", customTaxIds=["a", "b"]),
    ),
    tc(
        "usage tax under at payment",
        tax(customTaxIds=["b"]),
        [(DEPENDENCY, X("customTaxIds", "0"))],
        keys=(USAGE,),
        stored=tax(method="CUSTOM_TAXATION", assessment="AT_TIME_OF_PAYMENT"),
    ),
    c("taxes included in rates", tax(taxesIncludedInRates=True)),
    c("null method", tax(method=None), [(INVALID, X("method"))]),
    c("null assess", tax(assessTaxes=None), [(INVALID, X("assessTaxes"))]),
    c("null assessment", tax(assessment=None), [(INVALID, X("assessment"))]),
    c("null custom taxes", tax(customTaxIds=None), [(INVALID, X("customTaxIds"))]),
    c(
        "null VAT rate when not assessed",
        tax(vatRatePercent=None),
        stored=tax(method="FIXED_VAT_RATE", vatRatePercent="5"),
        expect={X("vatRatePercent"): None},
    ),
)
def test_taxation(case: Case) -> None:
    check(case)


# --------------------------------------------------------------------------- custom fields

CF = "customFieldIds"


def fields_resolved(*keys: int) -> dict[Path, int]:
    return {(CF, str(i)): key for i, key in enumerate(keys)}


@cases(
    c(
        "a set of fields",
        {CF: ["b", "a"]},
        resolved=fields_resolved(30, 20),
        expect={(CF,): [20, 30]},
    ),
    c(
        "duplicate field",
        {CF: ["b", "a", "b"]},
        [(INVALID, (CF, "2"))],
        resolved=fields_resolved(30, 20, 30),
    ),
    c(
        "input replaces the set",
        {CF: ["c"]},
        stored={CF: ["b", "a"]},
        resolved=fields_resolved(10, 20),
        expect={(CF,): [10]},
    ),
    c(
        "empty set clears",
        {CF: []},
        stored={CF: ["a"]},
        resolved=fields_resolved(10),
        expect={(CF,): []},
    ),
    c("null set", {CF: None}, [(INVALID, (CF,))]),
)
def test_custom_fields(case: Case) -> None:
    check(case)


# --------------------------------------------------------------------------- fraud protection

THRESHOLD = fraud(dailySpendingThreshold="100")
WARNING = fraud(dailySpendingThreshold="100", sendWarning=True, warningThresholdPercent=80)


@cases(
    c("no input without currency", {}, decimals=None, expect={("fraudProtection",): None}),
    c("empty input without currency", fraud(), [(DEPENDENCY, ("fraudProtection",))], decimals=None),
    c(
        "threshold without currency",
        fraud(dailySpendingThreshold="5", checkRemainingFunds=True),
        [(DEPENDENCY, ("fraudProtection",))],
        decimals=None,
        expect={("fraudProtection",): None},
    ),
    c(
        "null without currency",
        {"fraudProtection": None},
        [(DEPENDENCY, ("fraudProtection",))],
        decimals=None,
    ),
    c("threshold", THRESHOLD, expect={F("dailySpendingThreshold"): "100.00"}),
    c(
        "threshold in JPY",
        fraud(dailySpendingThreshold="1500"),
        decimals=0,
        expect={F("dailySpendingThreshold"): "1500"},
    ),
    c(
        "decimals in JPY",
        fraud(dailySpendingThreshold="1.5"),
        [(INVALID, F("dailySpendingThreshold"))],
        decimals=0,
    ),
    c("threshold 0.01", fraud(dailySpendingThreshold="0.01")),
    c(
        "threshold 0",
        fraud(dailySpendingThreshold="0"),
        [(OUT_OF_RANGE, F("dailySpendingThreshold"))],
    ),
    c(
        "negative threshold",
        fraud(dailySpendingThreshold="-1"),
        [(OUT_OF_RANGE, F("dailySpendingThreshold"))],
    ),
    c(
        "threshold with 3 decimals",
        fraud(dailySpendingThreshold="1.001"),
        [(INVALID, F("dailySpendingThreshold"))],
    ),
    c(
        "threshold cleared",
        fraud(dailySpendingThreshold=None),
        stored=THRESHOLD,
        expect={F("dailySpendingThreshold"): None},
    ),
    c(
        "check funds without threshold",
        fraud(checkRemainingFunds=True),
        [(DEPENDENCY, F("checkRemainingFunds"))],
    ),
    c("check funds with threshold", fraud(dailySpendingThreshold="5", checkRemainingFunds=True)),
    c(
        "threshold cleared under check funds",
        fraud(dailySpendingThreshold=None),
        [(DEPENDENCY, F("dailySpendingThreshold"))],
        stored=fraud(dailySpendingThreshold="5", checkRemainingFunds=True),
    ),
    c(
        "threshold and check cleared",
        fraud(dailySpendingThreshold=None, checkRemainingFunds=False),
        stored=fraud(dailySpendingThreshold="5", checkRemainingFunds=True),
    ),
    c("warning", WARNING, expect={F("warningThresholdPercent"): 80}),
    c("warning at 1%", merge(WARNING, fraud(warningThresholdPercent=1))),
    c("warning at 100%", merge(WARNING, fraud(warningThresholdPercent=100))),
    c(
        "warning at 0%",
        merge(WARNING, fraud(warningThresholdPercent=0)),
        [(OUT_OF_RANGE, F("warningThresholdPercent"))],
    ),
    c(
        "warning at 101%",
        merge(WARNING, fraud(warningThresholdPercent=101)),
        [(OUT_OF_RANGE, F("warningThresholdPercent"))],
    ),
    c(
        "warning without percent",
        fraud(dailySpendingThreshold="5", sendWarning=True),
        [(REQUIRED, F("warningThresholdPercent"))],
    ),
    c(
        "warning without threshold",
        fraud(sendWarning=True, warningThresholdPercent=50),
        [(DEPENDENCY, F("sendWarning"))],
    ),
    c(
        "warning alone",
        fraud(sendWarning=True),
        [(DEPENDENCY, F("sendWarning")), (REQUIRED, F("warningThresholdPercent"))],
    ),
    c(
        "percent cleared under warning",
        fraud(warningThresholdPercent=None),
        [(REQUIRED, F("warningThresholdPercent"))],
        stored=WARNING,
    ),
    c(
        "threshold cleared under warning",
        fraud(dailySpendingThreshold=None),
        [(DEPENDENCY, F("dailySpendingThreshold"))],
        stored=WARNING,
    ),
    c("percent without warning", fraud(warningThresholdPercent=50)),
    c(
        "null switches it off",
        {"fraudProtection": None},
        stored=merge(WARNING, fraud(checkRemainingFunds=True)),
        expect={("fraudProtection",): tabs.default_fraud_protection()},
    ),
    c("null check funds", fraud(checkRemainingFunds=None), [(INVALID, F("checkRemainingFunds"))]),
    c("null warning", fraud(sendWarning=None), [(INVALID, F("sendWarning"))]),
)
def test_fraud_protection(case: Case) -> None:
    check(case)


# --------------------------------------------------------------------------- whole inputs


def test_errors_of_every_tab_are_collected_together() -> None:
    patch = merge(
        gi(roundingPrecision=9),
        {M: [svc("ACTIVE_CALLS", "-1")]},
        notif(send("INVOICE_ISSUED")),
        ri(holdForReviewDays=3),
        terms(O, netDays=0, dueDateReminderDays=[2]),
        past(R, lateFee="0"),
        tax(assessTaxes=True),
        {CF: None},
        fraud(checkRemainingFunds=True),
    )
    _settings, errors = run(patch, tabs.default_settings(2), 2)
    assert sorted(errors) == sorted(
        [
            (OUT_OF_RANGE, G("roundingPrecision")),
            (OUT_OF_RANGE, MS(0, "pricePerItem")),
            (DEPENDENCY, NP(0, "email", "send")),
            (DEPENDENCY, (R, "holdForReviewDays")),
            (DEPENDENCY, (O, "paymentTerms", "dueDateReminderDays")),
            (OUT_OF_RANGE, (R, "pastDue", "lateFee")),
            (DEPENDENCY, X("assessTaxes")),
            (INVALID, (CF,)),
            (DEPENDENCY, F("checkRemainingFunds")),
        ]
    )


def test_error_paths_get_the_error_list_prefix() -> None:
    errors = ErrorList(("input",))
    state = tabs.Patching(errors=errors, money_decimals=2, has_currency=True)
    settings = tabs.apply_patch(tabs.default_settings(2), gi(roundingPrecision=7), state)
    tabs.validate(settings, state, lambda key: None)
    assert [e.field for e in errors.errors] == [("input", "generalInfo", "roundingPrecision")]
    assert settings["generalInfo"]["roundingPrecision"] == 2  # refused values are not applied
