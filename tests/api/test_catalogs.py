"""Catalogs: readable by every caller, created by administrators only (SPEC §1, §2)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api_client import Api, World
from tests.support.audit import event_count
from tests.support.errors import UserError, errors_of

CATALOG_QUERY = """{
  currencies { code name minorUnits }
  businessModels { id code name }
  invoiceTemplates { id name }
  notificationSets { id name }
  customFieldDefinitions { id object name type listValues defaultValue mandatory
                           visibleToEndUser containsPersonalData }
  customTaxes { id name ratePercent appliedTo }
}"""

FIELD_SELECTION = (
    "customFieldDefinition { id object name type listValues defaultValue mandatory"
    " visibleToEndUser containsPersonalData }"
)

CREATES: dict[str, tuple[str, str, dict[str, Any]]] = {
    # mutation: (input type, selection, a valid input)
    "createBusinessModel": (
        "CreateBusinessModelInput",
        "businessModel { id code name }",
        {"code": "hosted-pbx", "name": "Hosted PBX"},
    ),
    "createInvoiceTemplate": (
        "CreateNamedCatalogEntryInput",
        "invoiceTemplate { id name }",
        {"name": "Standard invoice"},
    ),
    "createNotificationSet": (
        "CreateNamedCatalogEntryInput",
        "notificationSet { id name }",
        {"name": "Default notifications"},
    ),
    "createCustomFieldDefinition": (
        "CreateCustomFieldDefinitionInput",
        FIELD_SELECTION,
        {"object": "CUSTOMER", "name": "VAT number", "type": "TEXT"},
    ),
    "createCustomTax": (
        "CreateCustomTaxInput",
        "customTax { id name ratePercent appliedTo }",
        {"name": "City tax", "ratePercent": "2.5", "appliedTo": "USAGE"},
    ),
}
PAYLOAD_FIELD = {
    "createBusinessModel": "businessModel",
    "createInvoiceTemplate": "invoiceTemplate",
    "createNotificationSet": "notificationSet",
    "createCustomFieldDefinition": "customFieldDefinition",
    "createCustomTax": "customTax",
}


def create(api: Api, mutation: str, input_: dict[str, Any], token: str | None = None) -> Any:
    input_type, selection, _valid = CREATES[mutation]
    return api.mutate(mutation, input_, token, selection, input_type)


def created(api: Api, mutation: str, input_: dict[str, Any]) -> dict[str, Any]:
    payload = create(api, mutation, input_)
    assert payload["userErrors"] == [], payload["userErrors"]
    found: dict[str, Any] = payload[PAYLOAD_FIELD[mutation]]
    return found


def refused(api: Api, mutation: str, input_: dict[str, Any]) -> list[UserError]:
    payload = create(api, mutation, input_)
    assert payload[PAYLOAD_FIELD[mutation]] is None
    return errors_of(payload)


def catalogs(api: Api, token: str | None = None) -> dict[str, Any]:
    return api.data(CATALOG_QUERY, token=token)


# --------------------------------------------------------------------------- reading


def test_currencies_are_seeded_with_minor_units(api: Api, world: World) -> None:
    for token in (None, world.a.token, world.b.token):
        currencies = {c["code"]: c for c in catalogs(api, token)["currencies"]}
        assert currencies["USD"] == {"code": "USD", "name": "US Dollar", "minorUnits": 2}
        assert currencies["JPY"] == {"code": "JPY", "name": "Yen", "minorUnits": 0}
        assert currencies["BHD"] == {"code": "BHD", "name": "Bahraini Dinar", "minorUnits": 3}
        assert currencies["EUR"]["minorUnits"] == 2
        codes = [c["code"] for c in catalogs(api, token)["currencies"]]
        assert codes == sorted(codes)
        assert len(codes) == len(set(codes)) > 100
        assert all(len(code) == 3 and code.isupper() for code in codes)


def test_catalogs_start_empty(api: Api) -> None:
    data = catalogs(api)
    for key in ("businessModels", "invoiceTemplates", "notificationSets"):
        assert data[key] == []
    assert data["customFieldDefinitions"] == [] and data["customTaxes"] == []


def test_every_catalog_is_readable_by_resellers(api: Api, world: World) -> None:
    for mutation, (_type, _selection, valid) in CREATES.items():
        created(api, mutation, valid)
    admin_view = catalogs(api)
    for key in (
        "businessModels",
        "invoiceTemplates",
        "notificationSets",
        "customFieldDefinitions",
        "customTaxes",
    ):
        assert len(admin_view[key]) == 1, key
    assert catalogs(api, world.a.token) == admin_view
    assert catalogs(api, world.b.token) == admin_view
    assert admin_view["customTaxes"][0] == {
        "id": admin_view["customTaxes"][0]["id"],
        "name": "City tax",
        "ratePercent": "2.5",
        "appliedTo": "USAGE",
    }


def test_catalog_order(api: Api, world: World) -> None:
    for code, name in [("zz", "First"), ("Aa", "Second"), ("mm", "Third"), ("1x", "Fourth")]:
        created(api, "createBusinessModel", {"code": code, "name": name})
    for name in ["beta", "Alpha", "gamma", "Émile", "_under"]:
        created(api, "createInvoiceTemplate", {"name": name})
        created(api, "createNotificationSet", {"name": name})
        created(api, "createCustomTax", {"name": name, "ratePercent": "1", "appliedTo": "USAGE"})
        created(
            api, "createCustomFieldDefinition", {"object": "ACCOUNT", "name": name, "type": "TEXT"}
        )
    data = catalogs(api, world.a.token)
    assert [bm["code"] for bm in data["businessModels"]] == ["1x", "Aa", "mm", "zz"]
    expected = ["_under", "Alpha", "beta", "gamma", "Émile"]  # name_key byte order
    assert [t["name"] for t in data["invoiceTemplates"]] == expected
    assert [t["name"] for t in data["notificationSets"]] == expected
    assert [t["name"] for t in data["customTaxes"]] == expected
    assert [t["name"] for t in data["customFieldDefinitions"]] == expected


def test_custom_field_definitions_object_filter(api: Api, world: World) -> None:
    customer = created(
        api, "createCustomFieldDefinition", {"object": "CUSTOMER", "name": "Tax ID", "type": "TEXT"}
    )
    account = created(
        api, "createCustomFieldDefinition", {"object": "ACCOUNT", "name": "PIN", "type": "NUMBER"}
    )
    same_name = created(
        api, "createCustomFieldDefinition", {"object": "ACCOUNT", "name": "Tax ID", "type": "TEXT"}
    )
    query = "query($o: CustomFieldObject) { customFieldDefinitions(object: $o) { id } }"
    for token in (None, world.a.token):

        def ids(o: str | None, token: str | None = token) -> list[str]:
            rows = api.data(query, {"o": o}, token)["customFieldDefinitions"]
            return [row["id"] for row in rows]

        assert ids("CUSTOMER") == [customer["id"]]
        assert ids("ACCOUNT") == [account["id"], same_name["id"]]
        assert sorted(ids(None)) == sorted([customer["id"], account["id"], same_name["id"]])


# --------------------------------------------------------------------------- creating


def test_create_business_model(api: Api) -> None:
    model = created(api, "createBusinessModel", {"code": "  sip-trunk ", "name": "  SIP trunk "})
    assert model["code"] == "sip-trunk" and model["name"] == "SIP trunk"
    assert model["id"]


@pytest.mark.parametrize("duplicate", ["sip-trunk", "SIP-TRUNK", "Sip-Trunk", " sip-trunk "])
def test_business_model_code_taken_ignoring_case(api: Api, duplicate: str) -> None:
    created(api, "createBusinessModel", {"code": "sip-trunk", "name": "SIP trunk"})
    before = event_count(api)
    assert refused(api, "createBusinessModel", {"code": duplicate, "name": "Other"}) == [
        ("TAKEN", ["input", "code"])
    ]
    assert event_count(api) == before
    assert len(catalogs(api)["businessModels"]) == 1


def test_business_model_names_need_not_be_unique(api: Api) -> None:
    created(api, "createBusinessModel", {"code": "a", "name": "Same"})
    created(api, "createBusinessModel", {"code": "b", "name": "Same"})
    assert [bm["name"] for bm in catalogs(api)["businessModels"]] == ["Same", "Same"]


@pytest.mark.parametrize(
    ("input_", "expected"),
    [
        ({"code": "", "name": "x"}, [("REQUIRED", ["input", "code"])]),
        ({"code": "   ", "name": "x"}, [("REQUIRED", ["input", "code"])]),
        ({"code": "c" * 51, "name": "x"}, [("TOO_LONG", ["input", "code"])]),
        ({"code": "has space", "name": "x"}, [("INVALID", ["input", "code"])]),
        ({"code": "ok", "name": ""}, [("REQUIRED", ["input", "name"])]),
        ({"code": "ok", "name": " \t "}, [("REQUIRED", ["input", "name"])]),
        ({"code": "ok", "name": "n" * 101}, [("TOO_LONG", ["input", "name"])]),
        ({"code": "ok", "name": "bad\x07name"}, [("INVALID", ["input", "name"])]),
        (
            {"code": "", "name": "n" * 101},
            [("REQUIRED", ["input", "code"]), ("TOO_LONG", ["input", "name"])],
        ),
    ],
)
def test_business_model_validation(
    api: Api, input_: dict[str, str], expected: list[UserError]
) -> None:
    before = event_count(api)
    assert refused(api, "createBusinessModel", input_) == expected
    assert catalogs(api)["businessModels"] == []
    assert event_count(api) == before


def test_business_model_limits_are_inclusive(api: Api) -> None:
    model = created(api, "createBusinessModel", {"code": "c" * 50, "name": "n" * 100})
    assert model["code"] == "c" * 50 and model["name"] == "n" * 100


@pytest.mark.parametrize("mutation", ["createInvoiceTemplate", "createNotificationSet"])
def test_named_entries(api: Api, mutation: str) -> None:
    entry = created(api, mutation, {"name": "  Monthly  "})
    assert entry["name"] == "Monthly"
    before = event_count(api)
    for duplicate in ["Monthly", "MONTHLY", " monthly"]:
        assert refused(api, mutation, {"name": duplicate}) == [("TAKEN", ["input", "name"])]
    assert refused(api, mutation, {"name": ""}) == [("REQUIRED", ["input", "name"])]
    assert refused(api, mutation, {"name": "   "}) == [("REQUIRED", ["input", "name"])]
    assert refused(api, mutation, {"name": "x" * 101}) == [("TOO_LONG", ["input", "name"])]
    assert event_count(api) == before
    assert created(api, mutation, {"name": "x" * 100})["name"] == "x" * 100


def test_template_and_set_namespaces_are_separate(api: Api) -> None:
    created(api, "createInvoiceTemplate", {"name": "Shared name"})
    created(api, "createNotificationSet", {"name": "Shared name"})
    created(
        api, "createCustomTax", {"name": "Shared name", "ratePercent": "1", "appliedTo": "USAGE"}
    )


def test_name_uniqueness_is_nfc_and_casefold(api: Api) -> None:
    created(api, "createInvoiceTemplate", {"name": "Straße"})
    assert refused(api, "createInvoiceTemplate", {"name": "STRASSE"}) == [
        ("TAKEN", ["input", "name"])
    ]
    created(api, "createInvoiceTemplate", {"name": "Café"})
    assert refused(api, "createInvoiceTemplate", {"name": "cafe\u0301"}) == [
        ("TAKEN", ["input", "name"])
    ]


# ---- custom field definitions


def test_create_custom_field_definition(api: Api) -> None:
    field = created(
        api,
        "createCustomFieldDefinition",
        {
            "object": "ACCOUNT",
            "name": "Plan",
            "type": "LIST",
            "listValues": ["Gold", "Silver"],
            "defaultValue": "Silver",
            "mandatory": True,
            "visibleToEndUser": True,
            "containsPersonalData": False,
        },
    )
    assert field == {
        "id": field["id"],
        "object": "ACCOUNT",
        "name": "Plan",
        "type": "LIST",
        "listValues": ["Gold", "Silver"],
        "defaultValue": "Silver",
        "mandatory": True,
        "visibleToEndUser": True,
        "containsPersonalData": False,
    }
    text = created(
        api, "createCustomFieldDefinition", {"object": "CUSTOMER", "name": "Note", "type": "TEXT"}
    )
    assert text["listValues"] == [] and text["defaultValue"] is None
    assert (text["mandatory"], text["visibleToEndUser"], text["containsPersonalData"]) == (
        False,
        False,
        False,
    )


def test_custom_field_name_taken_per_object(api: Api) -> None:
    base = {"object": "CUSTOMER", "name": "Region", "type": "TEXT"}
    created(api, "createCustomFieldDefinition", base)
    for duplicate in ["Region", "REGION", " region "]:
        assert refused(api, "createCustomFieldDefinition", {**base, "name": duplicate}) == [
            ("TAKEN", ["input", "name"])
        ]
    # Another type does not make it another name.
    assert refused(api, "createCustomFieldDefinition", {**base, "type": "NUMBER"}) == [
        ("TAKEN", ["input", "name"])
    ]
    created(api, "createCustomFieldDefinition", {**base, "object": "ACCOUNT"})


@pytest.mark.parametrize(
    ("input_", "expected"),
    [
        ({"type": "LIST"}, [("REQUIRED", ["input", "listValues"])]),
        ({"type": "LIST", "listValues": []}, [("REQUIRED", ["input", "listValues"])]),
        ({"type": "TEXT", "listValues": ["a"]}, [("DEPENDENCY", ["input", "listValues"])]),
        ({"type": "NUMBER", "listValues": ["1"]}, [("DEPENDENCY", ["input", "listValues"])]),
        (
            {"type": "LIST", "listValues": ["a", "b", "a"]},
            [("INVALID", ["input", "listValues", "2"])],
        ),
        (
            {"type": "LIST", "listValues": ["a", " "]},
            [("REQUIRED", ["input", "listValues", "1"])],
        ),
        (
            {"type": "LIST", "listValues": ["a", "v" * 101]},
            [("TOO_LONG", ["input", "listValues", "1"])],
        ),
        (
            {"type": "LIST", "listValues": ["a", "b"], "defaultValue": "c"},
            [("INVALID", ["input", "defaultValue"])],
        ),
        ({"type": "NUMBER", "defaultValue": "abc"}, [("INVALID", ["input", "defaultValue"])]),
        ({"type": "NUMBER", "defaultValue": "1e3"}, [("INVALID", ["input", "defaultValue"])]),
        ({"type": "DATE", "defaultValue": "2023-02-29"}, [("INVALID", ["input", "defaultValue"])]),
        ({"type": "DATE", "defaultValue": "tomorrow"}, [("INVALID", ["input", "defaultValue"])]),
        (
            {"type": "DATE_TIME", "defaultValue": "2024-01-01T10:00:00"},
            [("INVALID", ["input", "defaultValue"])],
        ),
        ({"type": "TEXT", "defaultValue": "d" * 501}, [("TOO_LONG", ["input", "defaultValue"])]),
        ({"type": "TEXT", "name": ""}, [("REQUIRED", ["input", "name"])]),
        ({"type": "TEXT", "name": "n" * 101}, [("TOO_LONG", ["input", "name"])]),
    ],
)
def test_custom_field_validation(
    api: Api, input_: dict[str, Any], expected: list[UserError]
) -> None:
    data = {"object": "CUSTOMER", "name": "Field", **input_}
    before = event_count(api)
    assert refused(api, "createCustomFieldDefinition", data) == expected
    assert catalogs(api)["customFieldDefinitions"] == []
    assert event_count(api) == before


@pytest.mark.parametrize(
    ("type_", "default"),
    [
        ("NUMBER", "12.50"),
        ("NUMBER", "-3"),
        ("DATE", "2024-02-29"),
        ("DATE_TIME", "2024-01-01T10:00:00Z"),
        ("DATE_TIME", "2024-01-01T10:00:00+02:00"),
        ("TEXT", "anything at all"),
    ],
)
def test_custom_field_defaults_that_fit(api: Api, type_: str, default: str) -> None:
    field = created(
        api,
        "createCustomFieldDefinition",
        {"object": "CUSTOMER", "name": "F", "type": type_, "defaultValue": default},
    )
    assert field["defaultValue"] == default
    assert field["type"] == type_


def test_custom_field_list_values_are_trimmed(api: Api) -> None:
    field = created(
        api,
        "createCustomFieldDefinition",
        {
            "object": "CUSTOMER",
            "name": "Tier",
            "type": "LIST",
            "listValues": [" Gold ", "Silver"],
            "defaultValue": "Gold",
        },
    )
    assert field["listValues"] == ["Gold", "Silver"]


# ---- custom taxes


@pytest.mark.parametrize(
    ("rate", "stored"),
    [("7.5", "7.5"), ("0", "0"), ("100", "100"), ("12.3456", "12.3456"), ("007.50", "7.50")],
)
def test_custom_tax_rate_is_a_decimal_string(api: Api, rate: str, stored: str) -> None:
    tax = created(
        api, "createCustomTax", {"name": "T", "ratePercent": rate, "appliedTo": "ALL_CHARGES"}
    )
    assert tax["ratePercent"] == stored
    assert catalogs(api)["customTaxes"][0]["ratePercent"] == stored


@pytest.mark.parametrize(
    ("rate", "code"),
    [
        ("abc", "INVALID"),
        ("", "INVALID"),
        ("1e2", "INVALID"),
        ("NaN", "INVALID"),
        ("Infinity", "INVALID"),
        ("1.", "INVALID"),
        (".5", "INVALID"),
        ("1,5", "INVALID"),
        ("12.34567", "INVALID"),  # more than 4 decimals
        ("1234567890123", "INVALID"),  # more than 12 integer digits
        ("100.0001", "OUT_OF_RANGE"),
        ("101", "OUT_OF_RANGE"),
        ("-1", "OUT_OF_RANGE"),
        (7.5, "INVALID"),  # a JSON number is not a Decimal string
        (7, "INVALID"),
    ],
)
def test_custom_tax_rate_validation(api: Api, rate: Any, code: str) -> None:
    assert refused(
        api, "createCustomTax", {"name": "T", "ratePercent": rate, "appliedTo": "USAGE"}
    ) == [(code, ["input", "ratePercent"])]
    assert catalogs(api)["customTaxes"] == []


def test_custom_tax_name_rules(api: Api) -> None:
    created(api, "createCustomTax", {"name": "VAT", "ratePercent": "20", "appliedTo": "USAGE"})
    assert refused(
        api, "createCustomTax", {"name": "vat", "ratePercent": "10", "appliedTo": "SUBSCRIPTIONS"}
    ) == [("TAKEN", ["input", "name"])]
    assert refused(
        api, "createCustomTax", {"name": "", "ratePercent": "x", "appliedTo": "USAGE"}
    ) == [("REQUIRED", ["input", "name"]), ("INVALID", ["input", "ratePercent"])]


# ---- refusals for resellers


@pytest.mark.parametrize("mutation", list(CREATES))
def test_resellers_may_not_create_catalog_entries(api: Api, world: World, mutation: str) -> None:
    input_type, selection, valid = CREATES[mutation]
    before_catalogs = catalogs(api)
    before_events = event_count(api)
    query = (
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{"
        f" {selection} userErrors {{ code }} }} }}"
    )
    for token in (world.a.token, world.b.token):
        body = api.run(query, {"input": valid}, token)
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
        assert body["errors"][0]["path"] == [mutation]
    assert catalogs(api) == before_catalogs
    assert event_count(api) == before_events


@pytest.mark.parametrize("mutation", list(CREATES))
def test_forbidden_is_decided_before_validation(api: Api, world: World, mutation: str) -> None:
    input_type, selection, valid = CREATES[mutation]
    invalid = {**valid, "name": " "}
    query = (
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{"
        f" {selection} userErrors {{ code }} }} }}"
    )
    # Even a duplicate or blank input from a reseller is refused for the role alone.
    created(api, mutation, valid)
    for input_ in (valid, invalid):
        assert api.error_code(query, {"input": input_}, world.a.token) == "FORBIDDEN"


def test_forbidden_mutation_undoes_the_whole_request(api: Api, world: World) -> None:
    """A top-level error undoes every field of the request, even those before it."""
    before = event_count(api)
    query = """mutation {
      a: createCustomer(input: {name: "Kept?", currencyCode: "USD"}) { userErrors { code } }
      b: createInvoiceTemplate(input: {name: "Nope"}) { invoiceTemplate { id } }
    }"""
    body = api.run(query, token=world.a.token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert catalogs(api)["invoiceTemplates"] == []
    names = [c["name"] for c in api.data("{ customers { nodes { name } } }")["customers"]["nodes"]]
    assert "Kept?" not in names
    assert event_count(api) == before


# --------------------------------------------------------------------------- audit


EVENTS_QUERY = """query($id: ID) { auditEvents(objectId: $id) { totalCount nodes {
    id action objectId objectType actorRole actorTokenName actorReseller { id } changes } } }"""


@pytest.mark.parametrize("mutation", list(CREATES))
def test_create_writes_one_audit_event(api: Api, world: World, mutation: str) -> None:
    _type, _selection, valid = CREATES[mutation]
    entry = created(api, mutation, valid)
    events = api.data(EVENTS_QUERY, {"id": entry["id"]})["auditEvents"]
    assert events["totalCount"] == 1
    event = events["nodes"][0]
    assert event["action"] == "CREATE"
    assert event["objectId"] == entry["id"]
    assert (
        event["objectType"]
        == {
            "createBusinessModel": "BusinessModel",
            "createInvoiceTemplate": "InvoiceTemplate",
            "createNotificationSet": "NotificationSet",
            "createCustomFieldDefinition": "CustomFieldDefinition",
            "createCustomTax": "CustomTax",
        }[mutation]
    )
    assert event["actorRole"] == "ADMINISTRATOR"
    assert event["actorTokenName"] == "root"
    assert event["actorReseller"] is None
    assert event["changes"]["name"] == {"before": None, "after": valid["name"]}
    assert all(change["before"] is None for change in event["changes"].values())
    # Catalog events have no tenant: no reseller sees them.
    for token in (world.a.token, world.b.token):
        hidden = api.data(EVENTS_QUERY, {"id": entry["id"]}, token)["auditEvents"]
        assert hidden == {"totalCount": 0, "nodes": []}
        assert (
            api.data("query($id: ID!) { node(id: $id) { id } }", {"id": event["id"]}, token)["node"]
            is None
        )


def test_create_event_changes(api: Api) -> None:
    model = created(api, "createBusinessModel", {"code": "Code-1", "name": "Model"})
    tax = created(
        api, "createCustomTax", {"name": "Tax", "ratePercent": "5.25", "appliedTo": "USAGE"}
    )
    field = created(
        api,
        "createCustomFieldDefinition",
        {"object": "ACCOUNT", "name": "L", "type": "LIST", "listValues": ["x", "y"]},
    )

    def changes(object_id: str) -> dict[str, Any]:
        found: dict[str, Any] = api.data(EVENTS_QUERY, {"id": object_id})["auditEvents"]["nodes"][
            0
        ]["changes"]
        return found

    assert changes(model["id"]) == {
        "code": {"before": None, "after": "Code-1"},
        "name": {"before": None, "after": "Model"},
    }
    assert changes(tax["id"]) == {
        "name": {"before": None, "after": "Tax"},
        "ratePercent": {"before": None, "after": "5.25"},
        "appliedTo": {"before": None, "after": "USAGE"},
    }
    field_changes = changes(field["id"])
    assert field_changes["listValues"] == {"before": None, "after": ["x", "y"]}
    assert field_changes["type"] == {"before": None, "after": "LIST"}
    assert field_changes["object"] == {"before": None, "after": "ACCOUNT"}


def test_reseller_event_totals_ignore_catalog_events(api: Api, world: World) -> None:
    def total(token: str) -> int:
        found: int = api.data("{ auditEvents { totalCount } }", token=token)["auditEvents"][
            "totalCount"
        ]
        return found

    before = {token: total(token) for token in (world.a.token, world.b.token)}
    for mutation, (_type, _selection, valid) in CREATES.items():
        created(api, mutation, valid)
    assert {token: total(token) for token in before} == before
