"""The pure part of class history and revert (tenancy/class_history.py): numbering versions,
rebuilding a version's snapshot backwards, and turning it into an updateCustomerClass
patch (no database)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tenancy import class_history, class_rows, tabs
from tenancy.class_history import Version
from tenancy.ids import to_global_id


def _version(number: int, changes: dict[str, tuple[Any, Any]]) -> Version:
    event = SimpleNamespace(changes={p: {"before": b, "after": a} for p, (b, a) in changes.items()})
    return Version(number, event)


def _snapshot(**header: Any) -> dict[str, Any]:
    row = {
        "name": "Retail",
        "description": None,
        "managingResellerId": None,
        "businessModelId": None,
        "currency": "USD",
        "notificationSender": None,
        "sharedWithResellers": False,
        **header,
    }
    return class_rows.flatten({**row, **tabs.default_settings(2)})


def test_state_at_puts_back_the_before_values_of_newer_versions() -> None:
    current = _snapshot(description="Now")
    current["regularInvoices.paymentTerms.netDays"] = 30
    versions = [
        _version(2, {"regularInvoices.paymentTerms.netDays": (0, 10)}),
        _version(
            3, {"regularInvoices.paymentTerms.netDays": (10, 30), "description": (None, "Now")}
        ),
        _version(4, {"sharedWithResellers": (False, False), "revertedToVersion": (None, 1)}),
    ]
    at_2 = class_history.state_at(current, versions, 2)
    assert at_2["regularInvoices.paymentTerms.netDays"] == 10
    assert at_2["description"] is None
    assert "revertedToVersion" not in at_2  # notes are not fields
    at_1 = class_history.state_at(current, versions, 1)
    assert at_1["regularInvoices.paymentTerms.netDays"] == 0
    assert class_history.state_at(current, versions, 4) == current
    assert current["description"] == "Now"  # the input is not changed


def test_state_at_ignores_paths_the_class_no_longer_has() -> None:
    current = _snapshot()
    versions = [_version(2, {"generalInfo.retiredField": (True, False)})]
    assert "generalInfo.retiredField" not in class_history.state_at(current, versions, 1)


def test_versions_count_from_the_creation() -> None:
    assert [class_history.version_number(n, "CREATE") for n in (1, 2, 3)] == [1, 2, 3]
    assert class_history.version_number(1, "CLONE") == 1
    # The Default class: installed at version 1 without an event.
    assert [class_history.version_number(n, "UPDATE") for n in (1, 2)] == [2, 3]


def test_the_patch_holds_only_what_differs_in_input_form() -> None:
    template = to_global_id("InvoiceTemplate", 7)
    tax = to_global_id("CustomTax", 8)
    field = to_global_id("CustomFieldDefinition", 9)
    current = _snapshot(name="Renamed", sharedWithResellers=True)
    target = dict(current)
    target.update(
        {
            "name": "Original",
            "sharedWithResellers": False,
            "description": "Old",
            "regularInvoices.invoiceTemplate": template,
            "regularInvoices.paymentTerms.netDays": 14,
            "taxation.customTaxes": [tax],
            "customFields": [field],
            "notifications.settings.LOW_BALANCE.sms.send": True,
            "measuredServices": [{"parameter": "PBX_EXTENSIONS"}],
        }
    )
    patch = class_history.revert_patch(current, target)
    assert patch == {
        "description": "Old",
        "regularInvoices": {"invoiceTemplateId": template, "paymentTerms": {"netDays": 14}},
        "taxation": {"customTaxIds": [tax]},
        "customFieldIds": [field],
        "measuredServices": [{"parameter": "PBX_EXTENSIONS"}],
        "notifications": {
            "settings": [
                {
                    "type": "LOW_BALANCE",
                    "sms": {
                        "send": True,
                        "template": current["notifications.settings.LOW_BALANCE.sms.template"],
                    },
                }
            ]
        },
    }
    assert class_history.revert_patch(current, current) == {}


def test_the_patch_never_carries_identity_or_notes() -> None:
    current = _snapshot()
    target = {
        **current,
        "name": "Other",
        "currency": "EUR",
        "businessModel": to_global_id("BusinessModel", 1),
        "managingReseller": to_global_id("Customer", 2),
        "sharedWithResellers": True,
        "clonedFrom": to_global_id("CustomerClass", 3),
        "unknownPath": 1,
    }
    assert class_history.revert_patch(current, target) == {}


def test_cursors_are_bound_to_their_class() -> None:
    assert class_history.history_mark(1) != class_history.history_mark(2)
