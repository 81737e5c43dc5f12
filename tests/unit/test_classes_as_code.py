"""The pure parts of classes as code (tenancy/classes_as_code.py): the document's shape,
derived from the typed tabs document, and the moves between document and input paths."""

from __future__ import annotations

from typing import Any

import pytest

from gql.common import patch_of
from gql.customer_classes.as_code import ApplyCustomerClassesInput
from gql.schema import schema  # noqa: F401 (resolves the inputs' types)
from tenancy import class_rows, classes_as_code, maxima, tabs
from tenancy.errors import ErrorList


def test_every_tab_field_is_in_the_document_shape() -> None:
    """A field added to tenancy.documents is exported and applied without more code."""
    entry = classes_as_code._defaults("USD")
    entry["name"] = "A"
    errors = ErrorList()
    assert classes_as_code.check_shape(classes_as_code.CLASS_SHAPE, entry, (), errors)
    assert not errors
    shape_keys = set(classes_as_code.CLASS_SHAPE.fields) - {"managedBy", "readOnly"}
    assert set(entry) == shape_keys


def test_a_class_has_as_many_leaves_as_a_plan_entry_may_list() -> None:
    entry = {**classes_as_code._defaults("EUR"), "name": "A"}
    assert len(classes_as_code.flatten(entry)) == class_rows.MAX_LEAVES - 1
    # The node budget holds a plan of every change of the most classes one request applies.
    assert maxima.CLASSES_PER_APPLY * (1 + class_rows.MAX_LEAVES) + 10 < 10_000


@pytest.mark.parametrize(
    ("given", "moved"),
    [
        (("taxation", "vatRatePercent"), ("taxation", "vatRatePercent")),
        (("businessModelId",), ("businessModel",)),
        (("regularInvoices", "invoiceTemplateId"), ("regularInvoices", "invoiceTemplate")),
        (("taxation", "customTaxIds", "2"), ("taxation", "customTaxes", "2")),
        (("customFieldIds", "0"), ("customFields", "0")),
        (("notifications", "notificationSetId"), ("notifications", "notificationSet")),
        (
            ("notifications", "settings", "13", "email", "send"),
            ("notifications", "settings", tabs.NOTIFICATION_TYPES[13], "email", "send"),
        ),
        (("notifications", "settings"), ("notifications", "settings")),
        (("id",), ("name",)),
    ],
)
def test_input_paths_move_to_document_paths(given: tuple[str, ...], moved: tuple[str, ...]) -> None:
    assert classes_as_code._Paths.of(given) == moved


def test_merging_lays_objects_over_defaults_and_replaces_the_rest() -> None:
    base: dict[str, Any] = {"a": {"b": 1, "c": [1]}, "d": None}
    assert classes_as_code.merged(base, {"a": {"c": []}, "d": {"e": 2}}) == {
        "a": {"b": 1, "c": []},
        "d": {"e": 2},
    }
    assert base == {"a": {"b": 1, "c": [1]}, "d": None}


def test_patch_of_passes_a_json_value_on_as_it_came() -> None:
    """Walking a JSON input would recurse as deep as the client nests it."""
    nested: Any = 1
    for _ in range(5000):
        nested = [nested]
    value = ApplyCustomerClassesInput(document=nested, prune=None)
    data = patch_of(value)
    assert data["document"] is nested
    assert data == {"document": nested, "prune": None, "dryRun": False}
