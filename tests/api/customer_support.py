"""Helpers for the customer, assignment and override tests: queries, audit look-ups,
catalog entries and a before/after snapshot of everything a mutation could change."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from tests.api_client import Api

_counter = itertools.count(1)

CUSTOMER = """
  id name customerType currency { code }
  parent { id name }
  customerClass { id name }
"""

OVERRIDES = """
  overrides {
    regularInvoiceTemplate { template { id name } }
    outOfTurnInvoiceTemplate { template { id name } }
    regularInvoicesEnabled outOfTurnInvoicesEnabled sendStatistics suspendOnInsufficientFunds
  }
"""

EFFECTIVE = """
  effectiveSettings {
    overriddenFields
    generalInfo { generateStatistics sendStatistics suspendOnInsufficientFunds }
    regularInvoices { enabled invoiceTemplate { id } }
    outOfTurnInvoices { enabled invoiceTemplate { id } }
  }
"""

NO_OVERRIDES = {
    "regularInvoiceTemplate": None,
    "outOfTurnInvoiceTemplate": None,
    "regularInvoicesEnabled": None,
    "outOfTurnInvoicesEnabled": None,
    "sendStatistics": None,
    "suspendOnInsufficientFunds": None,
}


def gid(type_name: str, key: int | str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def unique(prefix: str) -> str:
    return f"{prefix} {next(_counter)}"


def customer(
    api: Api, customer_id: str, token: str | None = None, selection: str = CUSTOMER
) -> dict[str, Any] | None:
    """The customer as the caller sees it (None when hidden)."""
    query = f"query($id: ID!) {{ customer(id: $id) {{ {selection} }} }}"
    found: dict[str, Any] | None = api.data(query, {"id": customer_id}, token)["customer"]
    return found


def customers(
    api: Api,
    token: str | None = None,
    filter_: dict[str, Any] | None = None,
    first: int | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    query = """
      query($filter: CustomerFilter, $first: Int!, $after: String) {
        customers(filter: $filter, first: $first, after: $after) {
          totalCount
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { cursor node { id name } }
          nodes { id name }
        }
      }"""
    variables = {"filter": filter_, "first": first or 50, "after": after}
    found: dict[str, Any] = api.data(query, variables, token)["customers"]
    return found


def customer_ids(api: Api, token: str | None = None, **filter_: Any) -> list[str]:
    return [n["id"] for n in customers(api, token, filter_ or None, first=100)["nodes"]]


def customer_class(
    api: Api, class_id: str, token: str | None = None, selection: str = ""
) -> dict[str, Any] | None:
    """The class as the caller sees it (None when hidden)."""
    selection = selection or "id name customerCount customers { totalCount nodes { id } }"
    query = f"query($id: ID!) {{ customerClass(id: $id) {{ {selection} }} }}"
    found: dict[str, Any] | None = api.data(query, {"id": class_id}, token)["customerClass"]
    return found


def events(
    api: Api, object_id: str | None = None, token: str | None = None
) -> list[dict[str, Any]]:
    query = """
      query($objectId: ID) {
        auditEvents(first: 100, objectId: $objectId) {
          totalCount
          nodes { id action actorRole actorTokenName objectId objectType changes
                  actorReseller { id } }
        }
      }"""
    found: list[dict[str, Any]] = api.data(query, {"objectId": object_id}, token)["auditEvents"][
        "nodes"
    ]
    return found


def create_template(api: Api, name: str | None = None) -> str:
    payload = api.ok(
        "createInvoiceTemplate",
        {"name": name or unique("Template")},
        selection="invoiceTemplate { id }",
        input_type="CreateNamedCatalogEntryInput",
    )
    found: str = payload["invoiceTemplate"]["id"]
    return found


def create_business_model(api: Api) -> str:
    code = unique("BM").replace(" ", "")
    payload = api.ok(
        "createBusinessModel", {"code": code, "name": code}, selection="businessModel { id }"
    )
    found: str = payload["businessModel"]["id"]
    return found


def state(api: Api) -> dict[str, Any]:
    """Everything a customer mutation could change, as the administrator sees it."""
    query = f"""
      {{
        customers(first: 100) {{
          totalCount
          nodes {{ {CUSTOMER} {OVERRIDES} createdAt }}
        }}
        customerClasses(first: 100) {{
          nodes {{ id version customerCount updatedAt }}
        }}
        auditEvents(first: 100) {{ totalCount nodes {{ id }} }}
      }}"""
    return api.data(query)


PAYMENT_TERMS = "netDays dueDateReminderDays autoCharge autoChargeTiming"
PAST_DUE = (
    "collectionThreshold resendInvoiceDays lateFee limitServiceAfterDays limitationNoticeDays"
    " suspendAfterDays suspensionNoticeDays reactivationFee terminateAfterDays"
    " terminationNoticeDays terminateCommitments restoreAfterPartialPayment"
)
ALL_TABS = f"""
  generalInfo {{ generateStatistics sendStatistics billingPeriodClosure closeDelayHours
    roundingMethod roundingPrecision suspendOnInsufficientFunds billedExternally
    resetBalanceEveryPeriod hideBalanceResetXdr }}
  measuredServices {{ parameter chargeBasedOn pricePerItem itemsFreeOfCharge rateCode service }}
  notifications {{ notificationSet {{ id }}
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
