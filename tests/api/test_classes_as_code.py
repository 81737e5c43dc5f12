"""Classes as code (issue 11): exportCustomerClasses and applyCustomerClasses, from the
administrator, the owning reseller and another reseller, across two installations."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from db.settings import Settings
from gql.app import create_app
from tenancy import class_rows, maxima
from tests.api.class_support import (
    business_model,
    custom_field,
    custom_tax,
    events,
    invoice_template,
    notification_set,
    read_class,
)
from tests.api_client import Api, World
from tests.conftest import cli_token
from tests.databases import Databases
from tests.support.audit import event_count
from tests.support.errors import errors_of

EXPORT = (
    "query($m: ManagerKind, $r: ID)"
    " { exportCustomerClasses(managedBy: $m, managingResellerId: $r) }"
)
PLAN = "plan { name action customerClass { id name version } changes { path before after } }"
DOC = ["input", "document"]


def export(api: Api, token: str | None = None, **args: Any) -> dict[str, Any]:
    found: dict[str, Any] = api.data(EXPORT, args, token)["exportCustomerClasses"]
    return found


def export_error(api: Api, token: str | None = None, **args: Any) -> dict[str, Any]:
    body = api.run(EXPORT, args, token)
    assert body["data"] is None and len(body["errors"]) == 1, body
    found: dict[str, Any] = body["errors"][0]
    return found


def apply(api: Api, document: Any, token: str | None = None, **options: Any) -> dict[str, Any]:
    return api.mutate("applyCustomerClasses", {"document": document, **options}, token, PLAN)


def applied(api: Api, document: Any, token: str | None = None, **options: Any) -> list[Any]:
    """The plan of an application that must succeed, as (name, action, changes)."""
    payload = apply(api, document, token, **options)
    assert payload["userErrors"] == [], payload["userErrors"]
    return [
        (
            entry["name"],
            entry["action"],
            [(c["path"], c["before"], c["after"]) for c in entry["changes"]],
        )
        for entry in payload["plan"]
    ]


def refused(api: Api, document: Any, token: str | None = None, **options: Any) -> list[Any]:
    payload = apply(api, document, token, **options)
    assert payload["plan"] == [], payload
    assert payload["userErrors"], payload
    return errors_of(payload)


def actions(plan: list[Any]) -> list[tuple[str, str]]:
    return [(name, action) for name, action, _changes in plan]


def document(*classes: Any, **top: Any) -> dict[str, Any]:
    return {"formatVersion": 1, "classes": list(classes), **top}


def named(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(entry for entry in doc["classes"] if entry["name"] == name)
    return found


def keys_sorted(value: Any) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(keys_sorted(v) for v in value.values())
    if isinstance(value, list):
        return all(keys_sorted(v) for v in value)
    return True


def make_catalogs(api: Api, reverse: bool = False) -> None:
    """The catalog entries RICH names, created in either order (so their IDs differ)."""
    steps: list[Callable[[], str]] = [
        lambda: business_model(api, "VOIP"),
        lambda: invoice_template(api, "Standard"),
        lambda: invoice_template(api, "Premium"),
        lambda: notification_set(api, "Mail set"),
        lambda: custom_field(api, "Contract"),
        lambda: custom_field(api, "PIN", "ACCOUNT"),
        lambda: custom_tax(api, "State tax"),
        lambda: custom_tax(api, "City tax", "2.5"),
    ]
    for step in reversed(steps) if reverse else steps:
        step()


# A class written by hand: every tab touched, references by name, the rest left out
# (meaning the defaults).
RICH: dict[str, Any] = {
    "name": "Retail",
    "description": "Everything set",
    "businessModel": "VOIP",
    "currencyCode": "EUR",
    "notificationSender": "billing@example.com",
    "generalInfo": {"roundingMethod": "HALF_EVEN", "roundingPrecision": 3},
    "measuredServices": [
        {"parameter": "CONCURRENT_CALLS", "chargeBasedOn": "MAXIMUM", "pricePerItem": "3.25"}
    ],
    "notifications": {
        "notificationSet": "Mail set",
        "settings": {"INVOICE_ISSUED": {"email": {"send": True, "template": "CUSTOM"}}},
    },
    "regularInvoices": {
        "enabled": True,
        "invoiceTemplate": "Standard",
        "paymentTerms": {"netDays": 30, "dueDateReminderDays": [10, 3]},
    },
    "outOfTurnInvoices": {"enabled": True, "invoiceTemplate": "Premium"},
    "taxation": {
        "method": "CUSTOM_TAXATION",
        "assessTaxes": True,
        "customTaxes": ["State tax", "City tax"],
    },
    "customFields": [
        {"object": "ACCOUNT", "name": "PIN"},
        {"object": "CUSTOMER", "name": "Contract"},
    ],
    "fraudProtection": {"dailySpendingThreshold": "99.99", "checkRemainingFunds": True},
}


@pytest.fixture
def other(databases: Databases) -> Iterator[Api]:
    """A second installation (staging next to production): its own database and app."""
    with databases.fresh() as url:
        settings = Settings(database_url=url)
        with TestClient(create_app(settings)) as client:
            yield Api(client, cli_token(settings))


# =========================================================================== export


def test_the_export_is_complete_sorted_and_stable(api: Api, world: World) -> None:
    make_catalogs(api)
    applied(api, document(RICH))
    first = api.post(EXPORT).json()["data"]
    second = api.post(EXPORT).json()["data"]
    assert json.dumps(first) == json.dumps(second)  # the same text, key order included
    doc = first["exportCustomerClasses"]
    assert keys_sorted(doc)
    assert list(doc) == ["classes", "formatVersion", "managedBy"]
    assert doc["formatVersion"] == 1 and doc["managedBy"] == "ADMINISTRATOR"
    # Every administrator class (shared or not, the Default class too), by name; no
    # reseller's class.
    assert [c["name"] for c in doc["classes"]] == [
        "Admin private",
        "Admin shared",
        "Default",
        "Retail",
    ]
    retail = named(doc, "Retail")
    assert retail["businessModel"] == "VOIP"
    assert retail["regularInvoices"]["invoiceTemplate"] == "Standard"
    assert retail["notifications"]["notificationSet"] == "Mail set"
    assert retail["taxation"]["customTaxes"] == ["State tax", "City tax"]
    assert retail["customFields"] == [
        {"name": "PIN", "object": "ACCOUNT"},
        {"name": "Contract", "object": "CUSTOMER"},
    ]
    # Left out = the default, written out in full.
    assert retail["regularInvoices"]["pastDue"]["collectionThreshold"] == "0.00"
    assert len(retail["notifications"]["settings"]) == 15
    assert named(doc, "Admin shared")["sharedWithResellers"] is True
    assert "Q3" not in json.dumps(doc)  # no global ID anywhere (they all start so)


def test_a_reseller_exports_its_classes_and_references_to_shared_ones(
    api: Api, world: World
) -> None:
    doc = export(api, world.a.token)
    assert list(doc) == ["classes", "formatVersion", "managedBy"]  # no reseller ID
    assert doc["managedBy"] == "RESELLER"
    assert doc["classes"] == [
        {
            "managedBy": "ADMINISTRATOR",
            "name": "Admin shared",
            "readOnly": True,
            "sharedWithResellers": True,
        },
        {
            "managedBy": "ADMINISTRATOR",
            "name": "Default",
            "readOnly": True,
            "sharedWithResellers": True,
        },
        named(doc, "Reseller A class"),
    ]
    assert named(doc, "Reseller A class")["currencyCode"] == "USD"
    # Its own ID names it; the administrator's export of its classes names it too.
    assert export(api, world.a.token, m="RESELLER", r=world.a.id) == doc
    by_admin = export(api, m="RESELLER", r=world.a.id)
    assert by_admin == {**doc, "managingResellerId": world.a.id}
    assert export(api, r=world.b.id)["classes"][-1]["name"] == "Reseller B class"


def test_export_arguments_are_checked(api: Api, world: World) -> None:
    for args, field in (
        ({"m": "RESELLER"}, "managingResellerId"),
        ({"m": "ADMINISTRATOR", "r": world.a.id}, "managingResellerId"),
        ({"r": world.a.customer_id}, "managingResellerId"),  # a RETAIL customer
        ({"r": world.a.class_id}, "managingResellerId"),  # not a customer
        ({"r": "nonsense"}, "managingResellerId"),
    ):
        error = export_error(api, **args)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", args
        assert error["extensions"]["field"] == [field], args
    # A reseller may name only itself: any other reseller (existing or not), or the
    # administrator, is FORBIDDEN without a lookup.
    for args in (
        {"m": "ADMINISTRATOR"},
        {"r": world.b.id},
        {"r": "nonsense"},
        {"m": "RESELLER", "r": world.b.id},
    ):
        error = export_error(api, world.a.token, **args)
        assert error["extensions"]["code"] == "FORBIDDEN", args


# =========================================================================== apply


def test_round_trip_between_installations(api: Api, other: Api) -> None:
    make_catalogs(api)
    default = export(api)["classes"][0]
    default["generalInfo"]["roundingPrecision"] = 4
    wholesale = {"name": "Wholesale", "currencyCode": "USD", "sharedWithResellers": True}
    plan = applied(api, document(RICH, wholesale, default))
    assert actions(plan) == [("Default", "UPDATE"), ("Retail", "CREATE"), ("Wholesale", "CREATE")]
    production = export(api)
    # Another installation: the same catalog names under other IDs.
    make_catalogs(other, reverse=True)
    plan = applied(other, production)
    assert actions(plan) == [("Default", "UPDATE"), ("Retail", "CREATE"), ("Wholesale", "CREATE")]
    assert json.dumps(export(other)) == json.dumps(production)
    # Applying it again changes nothing, anywhere.
    before = event_count(other)
    plan = applied(other, production)
    assert actions(plan) == [
        ("Default", "UNCHANGED"),
        ("Retail", "UNCHANGED"),
        ("Wholesale", "UNCHANGED"),
    ]
    assert all(changes == [] for _name, _action, changes in plan)
    assert event_count(other) == before
    assert applied(api, production) == plan


def test_apply_audits_each_changed_class_once(api: Api) -> None:
    payload = apply(api, document({"name": "A"}, {"name": "B", "currencyCode": "USD"}))
    assert [(e["name"], e["action"]) for e in payload["plan"]] == [("A", "CREATE"), ("B", "CREATE")]
    ids = {e["name"]: e["customerClass"]["id"] for e in payload["plan"]}
    # A new class lists every leaf (fraudProtection is one null leaf without currency).
    assert len(payload["plan"][1]["changes"]) == class_rows.MAX_LEAVES - 1
    assert len(payload["plan"][0]["changes"]) == class_rows.MAX_LEAVES - 4
    assert {"path": "currencyCode", "before": None, "after": "USD"} in payload["plan"][1]["changes"]
    assert [e["action"] for e in events(api, ids["A"])] == ["CREATE"]
    before = event_count(api)
    b = {"name": "B", "currencyCode": "USD", "regularInvoices": {"paymentTerms": {"netDays": 45}}}
    payload = apply(api, document({"name": "A"}, b))
    assert payload["userErrors"] == []
    assert [(e["name"], e["action"], e["changes"]) for e in payload["plan"]] == [
        ("A", "UNCHANGED", []),
        (
            "B",
            "UPDATE",
            [{"path": "regularInvoices.paymentTerms.netDays", "before": 0, "after": 45}],
        ),
    ]
    assert payload["plan"][1]["customerClass"] == {"id": ids["B"], "name": "B", "version": 2}
    assert event_count(api) == before + 1
    # Written otherwise but meaning the same (a decimal, an address with spaces): the
    # update runs and finds nothing to change.
    same = {
        **b,
        "notificationSender": None,
        "regularInvoices": {
            "paymentTerms": {"netDays": 45},
            "pastDue": {"collectionThreshold": "0.0"},
        },
    }
    payload = apply(api, document({"name": " A "}, same))
    assert [(e["name"], e["action"], e["changes"]) for e in payload["plan"]] == [
        ("A", "UNCHANGED", []),
        ("B", "UNCHANGED", []),
    ]
    assert event_count(api) == before + 1
    event = events(api, ids["B"])[0]
    assert event["action"] == "UPDATE"
    assert event["changes"] == {"regularInvoices.paymentTerms.netDays": {"before": 0, "after": 45}}


def test_a_dry_run_plans_exactly_and_writes_nothing(api: Api, world: World) -> None:
    doc = export(api)
    named(doc, "Admin private")["description"] = "Changed"
    doc["classes"].append({"name": "Fresh", "currencyCode": "JPY"})
    doc["classes"] = [c for c in doc["classes"] if c["name"] != "Admin shared"]
    before_export, before_events = export(api), event_count(api)
    # Admin shared is in use by nobody: prune would delete it.
    dry = apply(api, doc, prune=True, dryRun=True)
    assert dry["userErrors"] == []
    assert export(api) == before_export and event_count(api) == before_events
    assert [(e["name"], e["action"]) for e in dry["plan"]] == [
        ("Admin private", "UPDATE"),
        ("Admin shared", "DELETE"),
        ("Default", "UNCHANGED"),
        ("Fresh", "CREATE"),
    ]
    # The classes as they would be, materialised inside the rolled-back savepoint.
    assert dry["plan"][0]["customerClass"]["version"] == 2
    assert dry["plan"][1]["customerClass"]["id"] == world.shared_class_id
    assert read_class(api, dry["plan"][3]["customerClass"]["id"]) is None
    real = apply(api, doc, prune=True)
    assert real["userErrors"] == []

    def comparable(plan: list[dict[str, Any]]) -> list[Any]:
        return [(e["name"], e["action"], e["changes"], e["customerClass"]["version"]) for e in plan]

    assert comparable(real["plan"]) == comparable(dry["plan"])
    assert event_count(api) == before_events + 3
    assert read_class(api, world.shared_class_id) is None


def test_errors_of_every_class_come_at_once_on_document_paths(api: Api, world: World) -> None:
    make_catalogs(api)
    before_export, before_events = export(api), event_count(api)
    doc = document(
        {"name": "Ok"},
        {"name": "Vat", "taxation": {"method": "FIXED_VAT_RATE", "vatRatePercent": "200"}},
        {
            "name": "Missing",
            "regularInvoices": {"invoiceTemplate": "Nope"},
            "businessModel": "NOPE",
        },
        {"name": "Mail", "notifications": {"settings": {"LOW_BALANCE": {"sms": {"send": True}}}}},
        {
            "name": "Taxes",
            "taxation": {"method": "CUSTOM_TAXATION", "customTaxes": ["City tax", "city TAX"]},
        },
        {
            "name": "Measured",
            "measuredServices": [
                {"parameter": "ACTIVE_CALLS", "chargeBasedOn": "AVERAGE", "pricePerItem": "1"},
                {"parameter": "ACTIVE_CALLS", "chargeBasedOn": "AVERAGE", "pricePerItem": "1.5"},
            ],
        },
        {"name": "Admin private", "currencyCode": "EUR"},
        {"name": "Fields", "customFields": [{"object": "CUSTOMER", "name": "PIN"}]},
        {"name": "Long", "taxation": {"customTaxes": ["x" * 401]}},
    )
    assert refused(api, doc) == [
        ("OUT_OF_RANGE", [*DOC, "classes", "1", "taxation", "vatRatePercent"]),
        ("NOT_FOUND", [*DOC, "classes", "2", "businessModel"]),
        ("NOT_FOUND", [*DOC, "classes", "2", "regularInvoices", "invoiceTemplate"]),
        (
            "DEPENDENCY",
            [*DOC, "classes", "3", "notifications", "settings", "LOW_BALANCE", "sms", "send"],
        ),
        ("INVALID", [*DOC, "classes", "4", "taxation", "customTaxes", "1"]),
        ("INVALID", [*DOC, "classes", "5", "measuredServices", "1", "parameter"]),
        ("IMMUTABLE", [*DOC, "classes", "6", "currencyCode"]),
        ("NOT_FOUND", [*DOC, "classes", "7", "customFields", "0"]),
        ("NOT_FOUND", [*DOC, "classes", "8", "taxation", "customTaxes", "0"]),
    ]
    # All or nothing: "Ok" was not created either.
    assert export(api) == before_export and event_count(api) == before_events
    assert refused(api, doc, dryRun=True) == refused(api, doc)


def test_the_rules_of_single_mutations_hold(api: Api, world: World) -> None:
    """Statistics off while customers' overrides need them (SPEC §4), renaming the Default
    class, unsharing it or a class resellers' customers use, a business model added to
    an existing class: each refused on its path in the document, nothing written."""
    api.ok(
        "assignCustomerClass",
        {"customerId": world.a.customer_id, "customerClassId": world.shared_class_id},
        world.a.token,
    )
    api.ok(
        "updateCustomerOverrides",
        {"customerId": world.a.customer_id, "sendStatistics": "FULL_STATISTICS"},
        world.a.token,
    )
    business_model(api, "VOIP")
    doc = export(api)
    before = event_count(api)
    named(doc, "Admin private")["businessModel"] = "VOIP"
    named(doc, "Admin shared")["generalInfo"]["generateStatistics"] = False
    named(doc, "Default")["name"] = "DEFAULT"
    assert refused(api, doc) == [
        ("IMMUTABLE", [*DOC, "classes", "0", "businessModel"]),
        ("DEPENDENCY", [*DOC, "classes", "1", "generalInfo", "generateStatistics"]),
        ("IMMUTABLE", [*DOC, "classes", "2", "name"]),
    ]
    doc = export(api)
    named(doc, "Admin shared")["sharedWithResellers"] = False
    named(doc, "Default")["sharedWithResellers"] = False
    assert refused(api, doc) == [
        ("IN_USE", [*DOC, "classes", "1", "sharedWithResellers"]),
        ("DEFAULT_CLASS", [*DOC, "classes", "2", "sharedWithResellers"]),
    ]
    assert event_count(api) == before


def test_a_short_entry_for_the_default_class_keeps_it_shared(api: Api) -> None:
    """Left out means the default, and the Default class's sharing is always on."""
    plan = applied(api, document({"name": "Default", "generalInfo": {"roundingPrecision": 4}}))
    assert plan == [
        (
            "Default",
            "UPDATE",
            [
                ("description", "Built-in class of every customer without another class.", None),
                ("generalInfo.roundingPrecision", 2, 4),
            ],
        )
    ]


def test_sharing_follows_the_document(api: Api, world: World) -> None:
    doc = export(api)
    named(doc, "Admin private")["sharedWithResellers"] = True
    plan = applied(api, doc)
    assert ("Admin private", "UPDATE", [("sharedWithResellers", False, True)]) in plan
    assert [e["action"] for e in events(api, world.admin_class_id)][:1] == ["SHARE"]
    assert {
        "managedBy": "ADMINISTRATOR",
        "name": "Admin private",
        "readOnly": True,
        "sharedWithResellers": True,
    } in export(api, world.a.token)["classes"]


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ([], [("INVALID", DOC)]),
        ("{}", [("INVALID", DOC)]),
        ({}, [("REQUIRED", [*DOC, "formatVersion"]), ("REQUIRED", [*DOC, "classes"])]),
        ({"formatVersion": 2, "classes": []}, [("INVALID", [*DOC, "formatVersion"])]),
        ({"formatVersion": "1", "classes": []}, [("INVALID", [*DOC, "formatVersion"])]),
        ({"formatVersion": True, "classes": []}, [("INVALID", [*DOC, "formatVersion"])]),
        ({"formatVersion": 1, "classes": {}}, [("INVALID", [*DOC, "classes"])]),
        ({"formatVersion": 1, "classes": [], "extra": 1}, [("INVALID", [*DOC, "extra"])]),
        (
            {"formatVersion": 1, "classes": [], "managedBy": "NOBODY"},
            [("INVALID", [*DOC, "managedBy"])],
        ),
        (
            {"formatVersion": 1, "classes": [], "managingResellerId": 5},
            [("INVALID", [*DOC, "managingResellerId"])],
        ),
        (document(7), [("INVALID", [*DOC, "classes", "0"])]),
        (document({}), [("REQUIRED", [*DOC, "classes", "0", "name"])]),
        (document({"name": 5}), [("INVALID", [*DOC, "classes", "0", "name"])]),
        (document({"name": " "}), [("REQUIRED", [*DOC, "classes", "0", "name"])]),
        (document({"name": "x" * 101}), [("TOO_LONG", [*DOC, "classes", "0", "name"])]),
        (document({"name": "A"}, {"name": "a"}), [("INVALID", [*DOC, "classes", "1", "name"])]),
        (document({"name": "A", "colour": "red"}), [("INVALID", [*DOC, "classes", "0", "colour"])]),
        (
            document(
                {"name": "A", "generalInfo": {"roundingPrecision": "2", "billedExternally": 1}}
            ),
            [
                ("INVALID", [*DOC, "classes", "0", "generalInfo", "roundingPrecision"]),
                ("INVALID", [*DOC, "classes", "0", "generalInfo", "billedExternally"]),
            ],
        ),
        (
            document({"name": "A", "generalInfo": {"roundingPrecision": True}}),
            [("INVALID", [*DOC, "classes", "0", "generalInfo", "roundingPrecision"])],
        ),
        (
            document({"name": "A", "generalInfo": {"sendStatistics": "LOUDLY"}}),
            [("INVALID", [*DOC, "classes", "0", "generalInfo", "sendStatistics"])],
        ),
        (
            document({"name": "A", "generalInfo": None}),
            [("INVALID", [*DOC, "classes", "0", "generalInfo"])],
        ),
        (
            document({"name": "A", "generalInfo": []}),
            [("INVALID", [*DOC, "classes", "0", "generalInfo"])],
        ),
        (
            document({"name": "A", "notifications": {"settings": {"SOMETHING": {}}}}),
            [("INVALID", [*DOC, "classes", "0", "notifications", "settings", "SOMETHING"])],
        ),
        (
            document(
                {
                    "name": "A",
                    "regularInvoices": {"paymentTerms": {"dueDateReminderDays": [1, "2"]}},
                }
            ),
            [
                (
                    "INVALID",
                    [
                        *DOC,
                        "classes",
                        "0",
                        "regularInvoices",
                        "paymentTerms",
                        "dueDateReminderDays",
                        "1",
                    ],
                )
            ],
        ),
        (
            document({"name": "A", "customFields": ["PIN"]}),
            [("INVALID", [*DOC, "classes", "0", "customFields", "0"])],
        ),
        (
            document({"name": "A", "taxation": {"vatRatePercent": 20}}),
            [("INVALID", [*DOC, "classes", "0", "taxation", "vatRatePercent"])],
        ),
        (
            document({"name": "A", "measuredServices": [{"parameter": "ACTIVE_CALLS"}]}),
            [
                ("REQUIRED", [*DOC, "classes", "0", "measuredServices", "0", "chargeBasedOn"]),
                ("REQUIRED", [*DOC, "classes", "0", "measuredServices", "0", "pricePerItem"]),
            ],
        ),
        (
            document({"name": "A", "customFields": [{"name": "PIN"}]}),
            [("REQUIRED", [*DOC, "classes", "0", "customFields", "0", "object"])],
        ),
        (
            document({"name": "A", "readOnly": True}),
            [("INVALID", [*DOC, "classes", "0", "readOnly"])],
        ),
        (
            document({"name": "A", "managedBy": "RESELLER"}),
            [("INVALID", [*DOC, "classes", "0", "managedBy"])],
        ),
        (
            document({"name": "A", "regularInvoices": {"paymentTerms": {"netDays": 366}}}),
            [
                (
                    "OUT_OF_RANGE",
                    [*DOC, "classes", "0", "regularInvoices", "paymentTerms", "netDays"],
                )
            ],
        ),
        (
            # Beyond 64 bits the request's JSON reads the number as a float: no integer.
            document({"name": "A", "regularInvoices": {"paymentTerms": {"netDays": 10**30}}}),
            [("INVALID", [*DOC, "classes", "0", "regularInvoices", "paymentTerms", "netDays"])],
        ),
    ],
)
def test_malformed_documents_are_user_errors(api: Api, doc: Any, expected: list[Any]) -> None:
    before = event_count(api)
    assert refused(api, doc) == expected
    assert event_count(api) == before


def test_a_deeply_nested_document_is_a_user_error(api: Api) -> None:
    """A JSON value nested near the parser's limit reaches the mutation whole (the input
    conversion does not walk it) and is refused on its path, never a 500."""
    query = (
        "mutation($d: JSON!) { applyCustomerClasses(input: {document: $d})"
        " { plan { name } userErrors { field code } } }"
    )
    deep = "[" * 980 + "1" + "]" * 980
    for document_text, field in (
        (deep, DOC),
        (
            f'{{"formatVersion": 1, "classes": [{{"name": "A", "taxation": {deep}}}]}}',
            [*DOC, "classes", "0", "taxation"],
        ),
    ):
        body = (
            json.dumps({"query": query}).removesuffix("}")
            + f', "variables": {{"d": {document_text}}}}}'
        )
        response = api.client.post(
            "/graphql",
            content=body,
            headers={
                "Authorization": f"Bearer {api.admin_token}",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["applyCustomerClasses"] == {
            "plan": [],
            "userErrors": [{"field": field, "code": "INVALID"}],
        }


# =========================================================================== resellers


def test_a_reseller_applies_its_own_document(api: Api, world: World) -> None:
    doc = export(api, world.a.token)
    before_events = event_count(api)
    plan = applied(api, doc, world.a.token)
    assert actions(plan) == [
        ("Admin shared", "UNCHANGED"),
        ("Default", "UNCHANGED"),
        ("Reseller A class", "UNCHANGED"),
    ]
    assert event_count(api) == before_events
    # A name another reseller uses is a class of A's own: created in A's scope, B's
    # class untouched (a hidden class cannot be named, so it cannot be changed).
    b_before = export(api, world.b.token)
    a_events = event_count(api, world.a.token)
    named(doc, "Reseller A class")["description"] = "Mine"
    doc["classes"].append({"name": "Reseller B class", "currencyCode": "USD"})
    payload = apply(api, doc, world.a.token)
    assert [(e["name"], e["action"]) for e in payload["plan"]] == [
        ("Admin shared", "UNCHANGED"),
        ("Default", "UNCHANGED"),
        ("Reseller A class", "UPDATE"),
        ("Reseller B class", "CREATE"),
    ]
    created = read_class(api, payload["plan"][3]["customerClass"]["id"])
    assert created is not None and created["managingReseller"] == {"id": world.a.id}
    assert export(api, world.b.token) == b_before
    assert read_class(api, world.b.class_id, world.b.token)["version"] == 1  # type: ignore[index]
    # The two changes are audited as A's (A sees them, with its token's name).
    assert event_count(api, world.a.token) == a_events + 2
    assert [e["actorTokenName"] for e in events(api, world.a.class_id, world.a.token)][:1] == [
        "Reseller A token"
    ]
    assert export(api, world.a.token)["classes"][2]["description"] == "Mine"


def test_a_reseller_cannot_change_what_is_not_its_own(api: Api, world: World) -> None:
    doc = export(api, world.a.token)
    before = event_count(api)
    shared = copy.deepcopy(doc)
    shared["classes"][0]["description"] = "Hijacked"
    assert refused(api, shared, world.a.token) == [
        ("NOT_PERMITTED", [*DOC, "classes", "0", "description"])
    ]
    claimed = document({"name": "Admin shared", "managedBy": "ADMINISTRATOR", "description": "x"})
    assert refused(api, claimed, world.a.token) == [
        ("NOT_PERMITTED", [*DOC, "classes", "0", "managedBy"])
    ]
    for top in (
        {"managedBy": "ADMINISTRATOR"},
        {"managingResellerId": world.b.id},
        {"managingResellerId": "nonsense"},
    ):
        field = "managedBy" if "managedBy" in top else "managingResellerId"
        assert refused(api, {**doc, **top}, world.a.token) == [("NOT_PERMITTED", [*DOC, field])], (
            top
        )
    assert applied(api, {**doc, "managingResellerId": world.a.id}, world.a.token)
    # A reference to anything but a shared class reads as nothing at all.
    for name in ("Admin private", "Reseller B class", "Nothing"):
        reference = document({"name": name, "readOnly": True})
        assert refused(api, reference, world.a.token) == [
            ("NOT_FOUND", [*DOC, "classes", "0", "name"])
        ], name
    sharing = document(
        {"name": "Reseller A class", "currencyCode": "USD", "sharedWithResellers": True},
        {"name": "New", "sharedWithResellers": True},
    )
    assert refused(api, sharing, world.a.token) == [
        ("NOT_PERMITTED", [*DOC, "classes", "0", "sharedWithResellers"]),
        ("NOT_PERMITTED", [*DOC, "classes", "1", "sharedWithResellers"]),
    ]
    assert event_count(api) == before


def test_prune_deletes_only_the_callers_unused_classes(api: Api, world: World) -> None:
    extra = api.create_class(world.a.token, name="Extra")
    doc = export(api, world.a.token)
    doc["classes"] = [c for c in doc["classes"] if c["name"] != "Extra"]
    admin_before, b_before = export(api), export(api, world.b.token)
    # Without prune, a class the document leaves out is kept.
    assert ("Extra", "DELETE") not in actions(applied(api, doc, world.a.token))
    # Left out with its customer: IN_USE, and nothing deleted.
    in_use = {**doc, "classes": [c for c in doc["classes"] if c["name"] != "Reseller A class"]}
    assert refused(api, in_use, world.a.token, prune=True) == [
        ("IN_USE", ["input", "prune"]),
    ]
    assert read_class(api, extra) is not None
    plan = applied(api, doc, world.a.token, prune=True)
    assert ("Extra", "DELETE") in actions(plan)
    assert read_class(api, extra) is None
    assert events(api, extra)[0]["action"] == "DELETE"
    # Shared classes are not the reseller's to prune, even left out of its document.
    only_own = {**doc, "classes": [c for c in doc["classes"] if not c.get("readOnly")]}
    assert actions(applied(api, only_own, world.a.token, prune=True)) == [
        ("Reseller A class", "UNCHANGED")
    ]
    assert export(api) == admin_before and export(api, world.b.token) == b_before


def test_prune_keeps_the_default_class_and_refuses_classes_in_use(api: Api, world: World) -> None:
    used = api.create_class(name="Used")
    api.create_customer(name="Direct", customerClassId=used)
    doc = document({"name": "Admin private", "currencyCode": "USD"})
    before = event_count(api)
    errors = apply(api, doc, prune=True)["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [("IN_USE", ["input", "prune"])]
    assert "'Used'" in errors[0]["message"]
    assert event_count(api) == before
    doc["classes"].append({"name": "used"})  # names compare ignoring case
    plan = applied(api, doc, prune=True)
    assert actions(plan) == [
        ("Admin private", "UNCHANGED"),
        ("Admin shared", "DELETE"),
        ("used", "UPDATE"),
    ]
    assert ("name", "Used", "used") in plan[2][2]
    assert read_class(api, world.default_class_id) is not None


# =========================================================================== administrators


def test_the_administrator_applies_a_resellers_document(api: Api, world: World) -> None:
    doc = export(api, r=world.a.id)
    named(doc, "Reseller A class")["description"] = "By the administrator"
    doc["classes"].append({"name": "Made for A"})
    payload = apply(api, doc)
    assert payload["userErrors"] == []
    assert [(e["name"], e["action"]) for e in payload["plan"]] == [
        ("Admin shared", "UNCHANGED"),
        ("Default", "UNCHANGED"),
        ("Made for A", "CREATE"),
        ("Reseller A class", "UPDATE"),
    ]
    made = read_class(api, payload["plan"][2]["customerClass"]["id"], world.a.token)
    assert made is not None and made["managedBy"] == "RESELLER"
    assert made["managingReseller"] == {"id": world.a.id}
    assert export(api, world.a.token) == {
        k: v for k, v in export(api, r=world.a.id).items() if k != "managingResellerId"
    }
    # A reseller's class in use is IN_USE for the administrator too (it sees every customer).
    assert refused(api, {**doc, "classes": []}, prune=True) == [
        ("IN_USE", ["input", "prune"]),
    ]


@pytest.mark.parametrize(
    ("top", "code"),
    [
        ({"managedBy": "RESELLER"}, "REQUIRED"),
        ({"managedBy": "ADMINISTRATOR", "managingResellerId": "A"}, "DEPENDENCY"),
        ({"managingResellerId": "customer"}, "INVALID"),
        ({"managingResellerId": "class"}, "NOT_FOUND"),
        ({"managingResellerId": "nonsense"}, "NOT_FOUND"),
    ],
)
def test_the_scope_of_an_administrators_document(
    api: Api, world: World, top: dict[str, Any], code: str
) -> None:
    ids = {"A": world.a.id, "customer": world.a.customer_id, "class": world.a.class_id}
    if "managingResellerId" in top:
        top = {**top, "managingResellerId": ids.get(top["managingResellerId"], "nonsense")}
    assert refused(api, document({"name": "X"}, **top)) == [(code, [*DOC, "managingResellerId"])]


def test_references_are_only_for_a_resellers_scope(api: Api, world: World) -> None:
    reference = {"name": "Admin shared", "readOnly": True}
    assert refused(api, document(reference)) == [("INVALID", [*DOC, "classes", "0", "readOnly"])]
    doc = document(
        {**reference, "description": "x", "managedBy": "RESELLER"}, managingResellerId=world.a.id
    )
    assert refused(api, doc) == [
        ("INVALID", [*DOC, "classes", "0", "description"]),
        ("INVALID", [*DOC, "classes", "0", "managedBy"]),
    ]
    doc = document(reference, {**reference, "name": "admin SHARED"}, managingResellerId=world.a.id)
    assert refused(api, doc) == [("INVALID", [*DOC, "classes", "1", "name"])]
    doc = document({**reference, "sharedWithResellers": False}, managingResellerId=world.a.id)
    assert refused(api, doc) == [("INVALID", [*DOC, "classes", "0", "sharedWithResellers"])]


# =========================================================================== size


def test_a_request_applies_at_most_50_classes(api: Api, world: World) -> None:
    limit = maxima.CLASSES_PER_APPLY
    many = document(*({"name": f"Class {i:04}"} for i in range(limit + 1)))
    assert refused(api, many) == [("OUT_OF_RANGE", [*DOC, "classes"])]
    # A thousand minimal classes still fit in the body (about 20 KiB): refused the same.
    thousand = document(*({"name": f"Class {i:04}"} for i in range(1000)))
    assert refused(api, thousand) == [("OUT_OF_RANGE", [*DOC, "classes"])]
    # A thousand exported (complete) classes do not: the body limit refuses them first.
    full = export(api)["classes"][0]
    response = api.post(
        "mutation($input: ApplyCustomerClassesInput!) { applyCustomerClasses(input: $input)"
        " { userErrors { code } } }",
        {"input": {"document": document(*({**full, "name": f"C{i}"} for i in range(1000)))}},
    )
    assert response.status_code == 413
    # 48 created; 3 more and prune (the world's 2 unshared administrator classes): 53.
    # (Plans without their changes: 48 new classes list 6,000 changes, which the rate
    # limit charges.)
    created = api.mutate(
        "applyCustomerClasses",
        {"document": document(*({"name": f"Class {i:04}"} for i in range(48)))},
        selection="plan { action }",
    )
    assert created["userErrors"] == [] and len(created["plan"]) == 48
    more = document(*({"name": f"Other {i}"} for i in range(3)))
    assert refused(api, more, prune=True) == [("OUT_OF_RANGE", ["input", "prune"])]
    # Every change of 50 classes can be asked for within the node budget.
    plan = applied(
        api, document(*({"name": f"Class {i:04}", "description": "d"} for i in range(50)))
    )
    assert [action for _name, action, _changes in plan] == ["UPDATE"] * 48 + ["CREATE"] * 2


def test_an_export_is_charged_one_object_per_class(
    api: Api, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One JSON value, but each class is an object of the response (SPEC §7): the actual
    cost counts them, charged beyond the requested 1, and 10,000 at most are returned."""
    body = api.run(EXPORT)
    assert len(body["data"]["exportCustomerClasses"]["classes"]) == 3
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1
    assert body["extensions"]["cost"]["actualQueryCost"] == 3
    reseller = api.run(EXPORT, token=world.a.token)["extensions"]["cost"]
    assert reseller["actualQueryCost"] == 3  # its class and two references
    monkeypatch.setattr("gql.execution.MAX_OBJECTS", 2)
    body = api.run(EXPORT)
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
