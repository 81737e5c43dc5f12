"""Helpers shared by the list, node, catalog, audit and query-count tests: global IDs,
catalog entries, fully referenced classes and the customerClasses query."""

from __future__ import annotations

import base64
import itertools
from datetime import datetime
from typing import Any

from tests.api_client import Api

_counter = itertools.count(1)


def gid(type_name: str, key: int | str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def key_of(global_id: str) -> int:
    """The integer key inside a global ID (tests only: clients treat IDs as opaque); a
    routed ID (``tenancy.ids``) has its tenant after an ``@``."""
    _type, _sep, rest = base64.b64decode(global_id).decode().partition(":")
    return int(rest.partition("@")[0])


def tenant_of(global_id: str) -> int | None:
    """The tenant a routed global ID names (0: the administrator), None if none."""
    _type, _sep, rest = base64.b64decode(global_id).decode().partition(":")
    _key, at, tenant = rest.partition("@")
    return int(tenant) if at else None


def type_of(global_id: str) -> str:
    return base64.b64decode(global_id).decode().partition(":")[0]


def parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def unique(prefix: str) -> str:
    return f"{prefix} {next(_counter)}"


# --------------------------------------------------------------------------- catalogs


def create_catalogs(api: Api, suffix: str = "") -> dict[str, str]:
    """One entry of every catalog (as the administrator); their global IDs by type."""
    suffix = suffix or str(next(_counter))
    bm = api.ok(
        "createBusinessModel",
        {"code": f"bm-{suffix}", "name": f"Business model {suffix}"},
        selection="businessModel { id }",
    )["businessModel"]["id"]
    template = api.ok(
        "createInvoiceTemplate",
        {"name": f"Template {suffix}"},
        selection="invoiceTemplate { id }",
        input_type="CreateNamedCatalogEntryInput",
    )["invoiceTemplate"]["id"]
    notification_set = api.ok(
        "createNotificationSet",
        {"name": f"Notification set {suffix}"},
        selection="notificationSet { id }",
        input_type="CreateNamedCatalogEntryInput",
    )["notificationSet"]["id"]
    field = api.ok(
        "createCustomFieldDefinition",
        {"object": "CUSTOMER", "name": f"Field {suffix}", "type": "TEXT"},
        selection="customFieldDefinition { id }",
    )["customFieldDefinition"]["id"]
    tax = api.ok(
        "createCustomTax",
        {"name": f"Tax {suffix}", "ratePercent": "7.5", "appliedTo": "ALL_CHARGES"},
        selection="customTax { id }",
    )["customTax"]["id"]
    return {
        "BusinessModel": bm,
        "InvoiceTemplate": template,
        "NotificationSet": notification_set,
        "CustomFieldDefinition": field,
        "CustomTax": tax,
    }


def referenced_class_input(refs: dict[str, str], name: str, **extra: Any) -> dict[str, Any]:
    """A class input that sets every catalog reference a class can hold."""
    data: dict[str, Any] = {
        "name": name,
        "businessModelId": refs["BusinessModel"],
        "currencyCode": "USD",
        "notifications": {
            "notificationSetId": refs["NotificationSet"],
            "settings": [{"type": "INVOICE_ISSUED", "email": {"send": True}}],
        },
        "regularInvoices": {"enabled": True, "invoiceTemplateId": refs["InvoiceTemplate"]},
        "outOfTurnInvoices": {"invoiceTemplateId": refs["InvoiceTemplate"]},
        "taxation": {
            "method": "CUSTOM_TAXATION",
            "assessTaxes": True,
            "customTaxIds": [refs["CustomTax"]],
        },
        "customFieldIds": [refs["CustomFieldDefinition"]],
    }
    data.update(extra)
    return data


# --------------------------------------------------------------------------- listing

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"

LIST_QUERY = """
query List($first: Int! = 50, $after: String, $last: Int, $before: String,
           $filter: CustomerClassFilter,
           $orderBy: CustomerClassOrder! = {field: NAME, direction: ASC}) {
  customerClasses(first: $first, after: $after, last: $last, before: $before,
                  filter: $filter, orderBy: $orderBy) {
    totalCount
    %s
    edges { cursor node { id } }
    nodes { %s }
  }
}
"""

NODE_FIELDS = (
    "id name managedBy sharedWithResellers isDefault createdAt updatedAt customerCount"
    " archiveXdrs invoicing taxationMethod currency { code }"
)


def list_query(node_fields: str = NODE_FIELDS) -> str:
    return LIST_QUERY % (PAGE_INFO, node_fields)


def list_variables(**args: Any) -> dict[str, Any]:
    return {key: value for key, value in args.items() if value is not None}


def classes(api: Api, token: str | None = None, **args: Any) -> dict[str, Any]:
    """The customerClasses connection (must succeed)."""
    found: dict[str, Any] = api.data(list_query(), list_variables(**args), token)["customerClasses"]
    return found


def class_names(api: Api, token: str | None = None, **args: Any) -> list[str]:
    return [n["name"] for n in classes(api, token, **args)["nodes"]]


def list_error(api: Api, token: str | None = None, **args: Any) -> dict[str, Any]:
    """The first top-level error of a customerClasses request that must fail."""
    body = api.run(list_query(), list_variables(**args), token)
    assert body.get("errors"), body
    found: dict[str, Any] = body["errors"][0]
    return found
