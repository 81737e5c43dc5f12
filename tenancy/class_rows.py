"""Customer-class rows: tabs document <-> columns, list-page columns, audit snapshots."""

from __future__ import annotations

from typing import Any, cast

from db.models import class_table
from tenancy import tabs
from tenancy.documents import TabKey
from tenancy.ids import to_global_id

TYPE = "CustomerClass"

# Tab key in the settings document -> column of customer_class.
TAB_COLUMNS: dict[TabKey, str] = {
    "generalInfo": "general_info",
    "measuredServices": "measured_services",
    "notifications": "notifications",
    "regularInvoices": "regular_invoices",
    "outOfTurnInvoices": "out_of_turn_invoices",
    "taxation": "taxation",
    "customFieldIds": "custom_field_ids",
    "fraudProtection": "fraud_protection",
}
HEADER_COLUMNS = tuple(
    column for column in class_table.c if column.name not in TAB_COLUMNS.values()
)
ALL_COLUMNS = tuple(class_table.c)


def invoicing(regular: bool, out_of_turn: bool) -> str:
    """The "Invoices" list-page column (InvoicingPreference)."""
    if regular and out_of_turn:
        return "INVOICING_ENABLED"
    if regular:
        return "REGULAR_ONLY"
    if out_of_turn:
        return "OUT_OF_TURN_ONLY"
    return "DISABLED"


INVOICING_FLAGS = {
    "INVOICING_ENABLED": (True, True),
    "REGULAR_ONLY": (True, False),
    "OUT_OF_TURN_ONLY": (False, True),
    "DISABLED": (False, False),
}


def settings_of(row: Any) -> tabs.Settings:
    """The tabs document of a row that was read with ALL_COLUMNS."""
    mapping = row._mapping
    # The columns hold what ``tab_values`` wrote (or a migration seeded): one tab each.
    return cast(tabs.Settings, {key: mapping[column] for key, column in TAB_COLUMNS.items()})


def tab_values(settings: tabs.Settings) -> dict[str, Any]:
    """Column values for a tabs document, with the list-page columns derived from it.

    This is the only place that writes the list-page columns, so they cannot drift
    from the tabs they summarise.
    """
    values: dict[str, Any] = {column: settings[key] for key, column in TAB_COLUMNS.items()}
    values["archive_xdrs"] = settings["generalInfo"]["generateStatistics"]
    values["regular_invoices_enabled"] = settings["regularInvoices"]["enabled"]
    values["out_of_turn_invoices_enabled"] = settings["outOfTurnInvoices"]["enabled"]
    values["taxation_method"] = settings["taxation"]["method"]
    return values


# --------------------------------------------------------------------------- audit form

# Keys holding catalog references, shown in audit changes under their output name and
# as global IDs.
_REFERENCE_KEYS = {
    "invoiceTemplateId": ("invoiceTemplate", "InvoiceTemplate"),
    "notificationSetId": ("notificationSet", "NotificationSet"),
    "customTaxIds": ("customTaxes", "CustomTax"),
    "customFieldIds": ("customFields", "CustomFieldDefinition"),
    "businessModelId": ("businessModel", "BusinessModel"),
    "managingResellerId": ("managingReseller", "Customer"),
}


def flatten(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted leaf paths of a document (lists are leaves), references as global IDs."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        name = key
        if key in _REFERENCE_KEYS:
            name, type_name = _REFERENCE_KEYS[key]
            if isinstance(value, list):
                value = [to_global_id(type_name, v) for v in value]
            elif value is not None:
                value = to_global_id(type_name, value)
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


# Header key of a snapshot -> its column.
_HEADER = {
    "name": "name",
    "description": "description",
    "managingResellerId": "tenant_id",
    "businessModelId": "business_model_id",
    "currency": "currency_code",
    "notificationSender": "notification_sender",
    "sharedWithResellers": "shared_with_resellers",
}


def snapshot(row: Any) -> dict[str, Any]:
    """Everything a class holds, flattened for the audit log."""
    m = row._mapping
    header = {key: m[column] for key, column in _HEADER.items()}
    return flatten({**header, **settings_of(row)})


# The most leaves a snapshot has, so the most paths a diff of two can hold: the header
# and every tab leaf of a class with a currency (one without has a single
# ``fraudProtection`` leaf instead of that tab's leaves; the currency never changes).
MAX_LEAVES = len(flatten({**dict.fromkeys(_HEADER), **tabs.default_settings(2)}))

# The first segment of the dotted paths of the tabs, the part of a class that a
# customer's effective settings are made of (the header is not).
TAB_ROOTS = frozenset(_REFERENCE_KEYS.get(key, (key, ""))[0] for key in TAB_COLUMNS)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{path: {before, after}}`` for the leaves that differ between two snapshots."""
    return {
        path: {"before": before.get(path), "after": after.get(path)}
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    }


def created(after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {path: {"before": None, "after": value} for path, value in after.items()}


def deleted(before: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {path: {"before": value, "after": None} for path, value in before.items()}


# The length bound of a version's changes (CustomerClassVersion.changes, the requested
# cost of gql.limits): each leaf at most once, plus one note (clonedFrom or
# revertedToVersion).
MAX_CHANGES = MAX_LEAVES + 1
