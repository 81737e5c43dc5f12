"""Helpers for the customer-class mutation tests: a full read of a class, audit events,
catalog entries and error shorthands (built on tests.api_client.Api)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from tests.api_client import Api
from tests.support.errors import UserError, errors_of

NOTIFICATION_TYPES = [
    "INVOICE_ISSUED",
    "DUE_DATE_APPROACHING",
    "INVOICE_OVERDUE",
    "LATE_FEE_APPLIED",
    "SERVICE_LIMITATION_APPROACHING",
    "SERVICE_LIMITED",
    "SUSPENSION_APPROACHING",
    "SERVICE_SUSPENDED",
    "TERMINATION_APPROACHING",
    "CUSTOMER_TERMINATED",
    "PAYMENT_RECEIVED",
    "AUTO_CHARGE_FAILED",
    "LOW_BALANCE",
    "STATISTICS_READY",
    "FRAUD_SPENDING_WARNING",
]

PAYMENT_TERMS = "netDays dueDateReminderDays autoCharge autoChargeTiming"
PAST_DUE = (
    "collectionThreshold resendInvoiceDays lateFee limitServiceAfterDays limitationNoticeDays"
    " suspendAfterDays suspensionNoticeDays reactivationFee terminateAfterDays"
    " terminationNoticeDays terminateCommitments restoreAfterPartialPayment"
)
TABS = f"""
  generalInfo {{ generateStatistics sendStatistics billingPeriodClosure closeDelayHours
    roundingMethod roundingPrecision suspendOnInsufficientFunds billedExternally
    resetBalanceEveryPeriod hideBalanceResetXdr }}
  measuredServices {{ parameter chargeBasedOn pricePerItem itemsFreeOfCharge rateCode service }}
  notifications {{ notificationSet {{ id name }}
    settings {{ type email {{ send template }} sms {{ send template }} }} }}
  regularInvoices {{ enabled invoiceTemplate {{ id }} pdfGeneration delivery holdForReviewDays
    paymentTerms {{ {PAYMENT_TERMS} }} pastDue {{ {PAST_DUE} }} }}
  outOfTurnInvoices {{ enabled invoiceTemplate {{ id }} delivery separateInvoiceForRecurringFees
    paymentTerms {{ {PAYMENT_TERMS} }} pastDue {{ {PAST_DUE} }} }}
  taxation {{ method assessTaxes taxesIncludedInRates assessment vatRatePercent taxName
    customTaxes {{ id }} }}
  customFields {{ id }}
  fraudProtection {{ dailySpendingThreshold checkRemainingFunds sendWarning
    warningThresholdPercent }}
"""
HEADER = """
  id name description managedBy managingReseller { id } businessModel { id }
  currency { code } notificationSender isDefault sharedWithResellers version
  createdAt updatedAt archiveXdrs invoicing taxationMethod customerCount
"""
FULL_CLASS = HEADER + TABS
TAB_KEYS = (
    "generalInfo",
    "measuredServices",
    "notifications",
    "regularInvoices",
    "outOfTurnInvoices",
    "taxation",
    "customFields",
    "fraudProtection",
)


# --------------------------------------------------------------------------- reads


def read_class(api: Api, class_id: str, token: str | None = None) -> dict[str, Any] | None:
    """Every field of a class as the caller sees it (None when hidden)."""
    query = f"query($id: ID!) {{ customerClass(id: $id) {{ {FULL_CLASS} }} }}"
    found: dict[str, Any] | None = api.data(query, {"id": class_id}, token)["customerClass"]
    return found


def tabs_of(document: dict[str, Any]) -> dict[str, Any]:
    return {key: document[key] for key in TAB_KEYS}


def events(api: Api, object_id: str, token: str | None = None) -> list[dict[str, Any]]:
    """Audit events of one object, newest first (as the administrator by default)."""
    query = """query($id: ID) { auditEvents(objectId: $id, first: 100) { totalCount nodes {
        action objectType objectId actorRole actorTokenName changes } } }"""
    page = api.data(query, {"id": object_id}, token)["auditEvents"]
    assert page["totalCount"] == len(page["nodes"])
    found: list[dict[str, Any]] = page["nodes"]
    return found


def class_count(api: Api) -> int:
    found: int = api.data("{ customerClasses { totalCount } }")["customerClasses"]["totalCount"]
    return found


def one_event(api: Api, object_id: str, token: str | None = None) -> dict[str, Any]:
    found = events(api, object_id, token)
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------- writes


def refused(
    api: Api, name: str, input_: dict[str, Any], token: str | None = None, selection: str = ""
) -> list[UserError]:
    """Run a mutation that must be refused; returns its (code, field) pairs."""
    payload = api.mutate(name, input_, token, selection)
    assert payload["userErrors"], payload
    for key, value in payload.items():
        if key == "userErrors":
            continue
        assert value in (None, []), payload
    return errors_of(payload)


def update(api: Api, input_: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    """A successful updateCustomerClass; returns the class fully read from the payload."""
    payload = api.ok("updateCustomerClass", input_, token, f"customerClass {{ {FULL_CLASS} }}")
    found: dict[str, Any] = payload["customerClass"]
    return found


def create(api: Api, input_: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    payload = api.ok("createCustomerClass", input_, token, f"customerClass {{ {FULL_CLASS} }}")
    found: dict[str, Any] = payload["customerClass"]
    return found


def clone(api: Api, input_: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    payload = api.ok("cloneCustomerClass", input_, token, f"customerClass {{ {FULL_CLASS} }}")
    found: dict[str, Any] = payload["customerClass"]
    return found


# --------------------------------------------------------------------------- catalogs


def business_model(api: Api, code: str = "VOIP") -> str:
    payload = api.ok(
        "createBusinessModel",
        {"code": code, "name": f"{code} model"},
        selection="businessModel { id }",
    )
    found: str = payload["businessModel"]["id"]
    return found


def invoice_template(api: Api, name: str) -> str:
    payload = api.ok(
        "createInvoiceTemplate",
        {"name": name},
        selection="invoiceTemplate { id }",
        input_type="CreateNamedCatalogEntryInput",
    )
    found: str = payload["invoiceTemplate"]["id"]
    return found


def notification_set(api: Api, name: str) -> str:
    payload = api.ok(
        "createNotificationSet",
        {"name": name},
        selection="notificationSet { id }",
        input_type="CreateNamedCatalogEntryInput",
    )
    found: str = payload["notificationSet"]["id"]
    return found


def custom_field(api: Api, name: str, object_: str = "CUSTOMER") -> str:
    payload = api.ok(
        "createCustomFieldDefinition",
        {"object": object_, "name": name, "type": "TEXT"},
        selection="customFieldDefinition { id }",
    )
    found: str = payload["customFieldDefinition"]["id"]
    return found


def custom_tax(api: Api, name: str, rate: str = "5", applied_to: str = "ALL_CHARGES") -> str:
    payload = api.ok(
        "createCustomTax",
        {"name": name, "ratePercent": rate, "appliedTo": applied_to},
        selection="customTax { id }",
    )
    found: str = payload["customTax"]["id"]
    return found


# --------------------------------------------------------------------------- IDs


def global_id(type_name: str, key: int) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def guessed_class_id() -> str:
    """A well-formed CustomerClass ID that names no class."""
    return global_id("CustomerClass", secrets.randbelow(2**62) + 1)


MALFORMED_ID = "not-a-global-id"
