"""customerClasses: visibility, every filter, every sort, keyset pages both ways, cursor
misuse, totalCount and the list-page columns (SPEC §2, §3)."""

from __future__ import annotations

import base64
import unicodedata
from typing import Any

import orjson
import pytest

from tests.api import connection_support
from tests.api.connection_support import CLASSES
from tests.api.listing_support import (
    class_names,
    classes,
    create_catalogs,
    gid,
    key_of,
    list_error,
    parse_dt,
)
from tests.api_client import Api, World

WORLD_ADMIN_VIEW = {
    "Admin private",
    "Admin shared",
    "Default",
    "Reseller A class",
    "Reseller B class",
}


def name_key(name: str) -> bytes:
    """SPEC §3: casefold(NFKC(name)) without the joiners U+200C/U+200D, in UTF-8."""
    key = unicodedata.normalize("NFKC", name).casefold()
    return key.replace("\u200c", "").replace("\u200d", "").encode("utf-8")


def by_name(nodes: list[dict[str, Any]]) -> list[tuple[bytes, int]]:
    return [(name_key(n["name"]), key_of(n["id"])) for n in nodes]


def ids(connection: dict[str, Any]) -> list[str]:
    return [n["id"] for n in connection["nodes"]]


def admin_class(api: Api, name: str, **data: Any) -> str:
    return api.create_class(name=name, **data)


# --------------------------------------------------------------------------- visibility


def test_administrator_sees_every_class(api: Api, world: World) -> None:
    result = classes(api)
    assert {n["name"] for n in result["nodes"]} == WORLD_ADMIN_VIEW
    assert result["totalCount"] == 5
    managers = {n["name"]: n["managedBy"] for n in result["nodes"]}
    assert managers["Reseller A class"] == "RESELLER"
    assert managers["Admin private"] == "ADMINISTRATOR"


def test_include_shared_is_ignored_for_administrators(api: Api, world: World) -> None:
    result = classes(api, filter={"includeShared": False})
    assert {n["name"] for n in result["nodes"]} == WORLD_ADMIN_VIEW
    assert result["totalCount"] == 5


@pytest.mark.parametrize("who", ["a", "b"])
def test_reseller_sees_own_and_shared_classes(api: Api, world: World, who: str) -> None:
    tenant = getattr(world, who)
    result = classes(api, tenant.token)
    assert sorted(n["name"] for n in result["nodes"]) == sorted(
        ["Admin shared", "Default", f"{tenant.name} class"]
    )
    assert result["totalCount"] == 3
    assert {n["id"] for n in result["nodes"]} == {
        world.shared_class_id,
        world.default_class_id,
        tenant.class_id,
    }


@pytest.mark.parametrize("who", ["a", "b"])
def test_reseller_include_shared_false_hides_shared_classes(
    api: Api, world: World, who: str
) -> None:
    tenant = getattr(world, who)
    result = classes(api, tenant.token, filter={"includeShared": False})
    assert [n["id"] for n in result["nodes"]] == [tenant.class_id]
    assert result["totalCount"] == 1


def test_unsharing_removes_a_class_from_reseller_lists(api: Api, world: World) -> None:
    api.ok("setCustomerClassSharing", {"id": world.shared_class_id, "shared": False})
    assert class_names(api, world.a.token) == ["Default", "Reseller A class"]
    shared_again = api.create_class(name="Later shared", sharedWithResellers=True)
    assert shared_again in ids(classes(api, world.b.token))


def test_reseller_filters_never_reach_another_tenant(api: Api, world: World) -> None:
    api.create_class(world.b.token, name="B secret plan")
    result = classes(api, world.a.token, filter={"nameContains": "Reseller B"})
    assert result["nodes"] == []
    assert result["totalCount"] == 0
    result = classes(api, world.a.token, filter={"nameContains": "secret"})
    assert result["nodes"] == [] and result["totalCount"] == 0
    assert classes(api, filter={"nameContains": "secret"})["totalCount"] == 1


# --------------------------------------------------------------------------- nameContains


NAMES = [
    "100% Pure",
    "100 Pure",
    "a_b plan",
    "axb plan",
    "back\\slash",
    "backslash",
    "Straße Nord",
    "STRASSE Süd",
    "Café",
    "Cafe",
]


@pytest.fixture
def named(api: Api) -> dict[str, str]:
    return {name: api.create_class(name=name) for name in NAMES}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("%", ["100% Pure"]),
        ("0%", ["100% Pure"]),
        ("_", ["a_b plan"]),
        ("a_b", ["a_b plan"]),
        ("\\", ["back\\slash"]),
        ("k\\s", ["back\\slash"]),
        ("PURE", ["100 Pure", "100% Pure"]),
        ("pLaN", ["a_b plan", "axb plan"]),
        ("strasse", ["Straße Nord", "STRASSE Süd"]),
        ("STRAẞE", ["Straße Nord", "STRASSE Süd"]),  # capital sharp s casefolds to "ss"
        ("ß", ["Straße Nord", "STRASSE Süd"]),
        ("CAFÉ", ["Café"]),
        ("cafe\u0301", ["Café"]),  # decomposed input is NFC-normalised
        ("caf", ["Cafe", "Café"]),
        ("nothing like it", []),
    ],
)
def test_name_contains(api: Api, named: dict[str, str], text: str, expected: list[str]) -> None:
    result = classes(api, filter={"nameContains": text})
    assert [n["name"] for n in result["nodes"]] == expected
    assert result["totalCount"] == len(expected)


def test_name_contains_empty_string_is_no_filter(api: Api, named: dict[str, str]) -> None:
    # The code treats "" like an omitted filter (every class contains the empty string).
    assert classes(api, filter={"nameContains": ""})["totalCount"] == len(NAMES) + 1


def test_name_contains_does_not_treat_percent_as_wildcard_for_resellers(
    api: Api, world: World
) -> None:
    api.create_class(world.a.token, name="50% off")
    api.create_class(world.a.token, name="50 off")
    assert class_names(api, world.a.token, filter={"nameContains": "%"}) == ["50% off"]
    assert class_names(api, world.b.token, filter={"nameContains": "%"}) == []


# --------------------------------------------------------------------------- businessModelId


def test_business_model_filter(api: Api, world: World) -> None:
    refs = create_catalogs(api)
    other = create_catalogs(api)
    with_bm = api.create_class(name="With BM", businessModelId=refs["BusinessModel"])
    api.create_class(name="Other BM", businessModelId=other["BusinessModel"])
    a_bm = api.create_class(world.a.token, name="A with BM", businessModelId=refs["BusinessModel"])
    result = classes(api, filter={"businessModelId": refs["BusinessModel"]})
    assert ids(result) == [a_bm, with_bm]
    assert result["totalCount"] == 2
    result = classes(api, world.a.token, filter={"businessModelId": refs["BusinessModel"]})
    assert ids(result) == [a_bm]
    assert (
        classes(api, world.b.token, filter={"businessModelId": refs["BusinessModel"]})["totalCount"]
        == 0
    )


@pytest.mark.parametrize(
    "bad_id",
    # Malformed IDs (undecodable, of another type) are BAD_USER_INPUT: test_filter_values.
    [gid("BusinessModel", 123456789), gid("BusinessModel", 2**63 - 1)],
)
def test_business_model_filter_with_unknown_id_matches_nothing(
    api: Api, world: World, bad_id: str
) -> None:
    refs = create_catalogs(api)
    api.create_class(name="With BM", businessModelId=refs["BusinessModel"])
    result = classes(api, filter={"businessModelId": bad_id})
    assert result["nodes"] == [] and result["totalCount"] == 0


# --------------------------------------------------------------------------- currencyCode


@pytest.fixture
def currencies_world(api: Api, world: World) -> dict[str, str]:
    return {
        "eur": api.create_class(name="Euro plan", currencyCode="EUR"),
        "jpy": api.create_class(name="Yen plan", currencyCode="JPY"),
        "any": api.create_class(name="Any currency plan"),
        "a_any": api.create_class(world.a.token, name="A any currency"),
    }


def test_currency_filter_by_code(api: Api, world: World, currencies_world: dict[str, str]) -> None:
    assert class_names(api, filter={"currencyCode": "USD"}) == [
        "Admin private",
        "Admin shared",
        "Reseller A class",
        "Reseller B class",
    ]
    assert class_names(api, filter={"currencyCode": "EUR"}) == ["Euro plan"]
    assert class_names(api, filter={"currencyCode": "JPY"}) == ["Yen plan"]
    assert class_names(api, world.a.token, filter={"currencyCode": "USD"}) == [
        "Admin shared",
        "Reseller A class",
    ]
    assert class_names(api, world.a.token, filter={"currencyCode": "EUR"}) == []


def test_currency_filter_empty_string_means_no_currency(
    api: Api, world: World, currencies_world: dict[str, str]
) -> None:
    result = classes(api, filter={"currencyCode": ""})
    assert [n["name"] for n in result["nodes"]] == [
        "A any currency",
        "Any currency plan",
        "Default",
    ]
    assert all(n["currency"] is None for n in result["nodes"])
    assert result["totalCount"] == 3
    assert class_names(api, world.a.token, filter={"currencyCode": ""}) == [
        "A any currency",
        "Default",
    ]
    assert class_names(api, world.b.token, filter={"currencyCode": ""}) == ["Default"]


# Malformed codes ("US", "usd", " USD") are BAD_USER_INPUT: test_filter_values.
@pytest.mark.parametrize("code", ["XYZ", "ZZZ", "XXX"])
def test_unknown_currency_code_matches_nothing(
    api: Api, world: World, currencies_world: dict[str, str], code: str
) -> None:
    result = classes(api, filter={"currencyCode": code})
    assert result["nodes"] == [] and result["totalCount"] == 0


# --------------------------------------------------------------------------- managedBy


def test_managed_by_as_administrator(api: Api, world: World) -> None:
    admin = {"kind": "ADMINISTRATOR"}
    assert class_names(api, filter={"managedBy": admin}) == [
        "Admin private",
        "Admin shared",
        "Default",
    ]
    assert class_names(api, filter={"managedBy": {"kind": "RESELLER"}}) == [
        "Reseller A class",
        "Reseller B class",
    ]
    assert class_names(
        api, filter={"managedBy": {"kind": "RESELLER", "resellerId": world.a.id}}
    ) == ["Reseller A class"]
    result = classes(api, filter={"managedBy": {"kind": "RESELLER", "resellerId": world.b.id}})
    assert ids(result) == [world.b.class_id]
    assert result["totalCount"] == 1


@pytest.mark.parametrize(
    "reseller_id",
    [gid("Customer", 987654321), gid("Customer", 5)],
)
def test_managed_by_unknown_reseller_matches_nothing(
    api: Api, world: World, reseller_id: str
) -> None:
    result = classes(api, filter={"managedBy": {"kind": "RESELLER", "resellerId": reseller_id}})
    assert result["nodes"] == [] and result["totalCount"] == 0


def test_managed_by_retail_customer_matches_nothing(api: Api, world: World) -> None:
    filter_ = {"managedBy": {"kind": "RESELLER", "resellerId": world.a.customer_id}}
    assert classes(api, filter=filter_)["totalCount"] == 0


def test_managed_by_as_reseller(api: Api, world: World) -> None:
    token = world.a.token
    assert class_names(api, token, filter={"managedBy": {"kind": "ADMINISTRATOR"}}) == [
        "Admin shared",
        "Default",
    ]
    assert (
        class_names(
            api, token, filter={"managedBy": {"kind": "ADMINISTRATOR"}, "includeShared": False}
        )
        == []
    )
    assert class_names(api, token, filter={"managedBy": {"kind": "RESELLER"}}) == [
        "Reseller A class"
    ]
    own = {"managedBy": {"kind": "RESELLER", "resellerId": world.a.id}}
    assert class_names(api, token, filter=own) == ["Reseller A class"]


@pytest.mark.parametrize("which", ["other", "unknown"])
def test_reseller_naming_another_reseller_gets_nothing(api: Api, world: World, which: str) -> None:
    reseller_id = {"other": world.b.id, "unknown": gid("Customer", 424242)}[which]
    result = classes(
        api, world.a.token, filter={"managedBy": {"kind": "RESELLER", "resellerId": reseller_id}}
    )
    assert result["nodes"] == [] and result["totalCount"] == 0
    assert "errors" not in api.run(
        "query($f: CustomerClassFilter) { customerClasses(filter: $f) { totalCount } }",
        {"f": {"managedBy": {"kind": "RESELLER", "resellerId": reseller_id}}},
        world.a.token,
    )


# --------------------------------------------------------------------------- invoicing / taxation


@pytest.fixture
def invoicing_classes(api: Api) -> dict[str, str]:
    return {
        "INVOICING_ENABLED": api.create_class(
            name="inv both",
            regularInvoices={"enabled": True},
            outOfTurnInvoices={"enabled": True},
        ),
        "REGULAR_ONLY": api.create_class(name="inv regular", regularInvoices={"enabled": True}),
        "OUT_OF_TURN_ONLY": api.create_class(
            name="inv out of turn", outOfTurnInvoices={"enabled": True}
        ),
        "DISABLED": api.create_class(name="inv none"),
    }


@pytest.mark.parametrize(
    "preference", ["INVOICING_ENABLED", "REGULAR_ONLY", "OUT_OF_TURN_ONLY", "DISABLED"]
)
def test_invoicing_filter(api: Api, invoicing_classes: dict[str, str], preference: str) -> None:
    result = classes(api, filter={"invoicing": preference, "nameContains": "inv "})
    assert ids(result) == [invoicing_classes[preference]]
    assert result["nodes"][0]["invoicing"] == preference
    assert result["totalCount"] == 1


def test_invoicing_filter_disabled_includes_new_classes_and_default(
    api: Api, invoicing_classes: dict[str, str]
) -> None:
    assert class_names(api, filter={"invoicing": "DISABLED"}) == ["Default", "inv none"]
    assert class_names(api, filter={"invoicing": "REGULAR_ONLY"}) == ["inv regular"]


def test_invoicing_column_follows_updates(api: Api, invoicing_classes: dict[str, str]) -> None:
    target = invoicing_classes["DISABLED"]
    api.ok("updateCustomerClass", {"id": target, "outOfTurnInvoices": {"enabled": True}})
    result = classes(api, filter={"invoicing": "OUT_OF_TURN_ONLY"})
    assert sorted(ids(result)) == sorted([target, invoicing_classes["OUT_OF_TURN_ONLY"]])
    api.ok("updateCustomerClass", {"id": target, "regularInvoices": {"enabled": True}})
    result = classes(api, filter={"invoicing": "INVOICING_ENABLED"})
    assert sorted(ids(result)) == sorted([target, invoicing_classes["INVOICING_ENABLED"]])
    assert classes(api, filter={"invoicing": "DISABLED", "nameContains": "inv"})["nodes"] == []


@pytest.fixture
def taxation_classes(api: Api, world: World) -> dict[str, str]:
    refs = create_catalogs(api)
    return {
        "FIXED_VAT_RATE": api.create_class(
            name="tax vat",
            taxation={"method": "FIXED_VAT_RATE", "assessTaxes": True, "vatRatePercent": "20"},
        ),
        "GST": api.create_class(name="tax gst", taxation={"method": "GST"}),
        "CUSTOM_TAXATION": api.create_class(
            world.a.token,
            name="tax custom",
            taxation={"method": "CUSTOM_TAXATION", "customTaxIds": [refs["CustomTax"]]},
        ),
        "AVALARA": api.create_class(name="tax avalara", taxation={"method": "AVALARA"}),
    }


@pytest.mark.parametrize("method", ["FIXED_VAT_RATE", "GST", "CUSTOM_TAXATION", "AVALARA"])
def test_taxation_method_filter(api: Api, taxation_classes: dict[str, str], method: str) -> None:
    result = classes(api, filter={"taxationMethod": method})
    assert ids(result) == [taxation_classes[method]]
    assert result["nodes"][0]["taxationMethod"] == method
    assert result["totalCount"] == 1


def test_taxation_method_filter_unused_and_default(
    api: Api, world: World, taxation_classes: dict[str, str]
) -> None:
    assert classes(api, filter={"taxationMethod": "EZTAX"})["totalCount"] == 0
    assert classes(api, filter={"taxationMethod": "SURETAX"})["nodes"] == []
    assert classes(api, filter={"taxationMethod": "NO_TAXATION"})["totalCount"] == 5
    # A reseller sees only its own custom-taxation class.
    assert class_names(api, world.a.token, filter={"taxationMethod": "CUSTOM_TAXATION"}) == [
        "tax custom"
    ]
    assert class_names(api, world.b.token, filter={"taxationMethod": "CUSTOM_TAXATION"}) == []


def test_filters_combine_and_total_count_follows(api: Api, world: World) -> None:
    refs = create_catalogs(api)
    bm = refs["BusinessModel"]
    for index in range(4):
        api.create_class(
            name=f"combo {index}",
            currencyCode="EUR" if index % 2 else "USD",
            businessModelId=bm,
            regularInvoices={"enabled": index < 2},
        )
    filter_ = {"nameContains": "combo", "currencyCode": "USD", "businessModelId": bm}
    result = classes(api, filter=filter_, first=1)
    assert [n["name"] for n in result["nodes"]] == ["combo 0"]
    assert result["totalCount"] == 2
    assert result["pageInfo"]["hasNextPage"] is True
    result = classes(api, filter={**filter_, "invoicing": "REGULAR_ONLY"})
    assert [n["name"] for n in result["nodes"]] == ["combo 0"]
    assert result["totalCount"] == 1
    result = classes(
        api, filter={**filter_, "managedBy": {"kind": "RESELLER"}, "invoicing": "REGULAR_ONLY"}
    )
    assert result["totalCount"] == 0


def test_total_count_is_independent_of_page(api: Api, world: World) -> None:
    for index in range(7):
        api.create_class(name=f"count {index}")
    first_page = classes(api, first=2)
    assert len(first_page["nodes"]) == 2
    assert first_page["totalCount"] == 12
    second = classes(api, first=2, after=first_page["pageInfo"]["endCursor"])
    assert second["totalCount"] == 12
    assert classes(api, last=3)["totalCount"] == 12
    assert classes(api, world.a.token, first=1)["totalCount"] == 3


# --------------------------------------------------------------------------- sorts

SORT_NAMES = [
    "b",
    "A",
    "_x",
    "10",
    "9",
    "Zeta",
    "émile",
    "Ärger",
    "alpha beta",
    "alpha-beta",
    "alphabet",
    "Zebra ß",
    "~tilde",
]


def test_name_sort_is_name_key_byte_order_then_id(api: Api, world: World) -> None:
    for name in SORT_NAMES:
        api.create_class(name=name)
    # The same name_key under three managers: ties broken by id.
    api.create_class(name="Tie")
    api.create_class(world.a.token, name="tie")
    api.create_class(world.b.token, name="TIE")
    nodes = classes(api, first=100)["nodes"]
    assert len(nodes) == 5 + len(SORT_NAMES) + 3
    assert by_name(nodes) == sorted(by_name(nodes))
    names = [n["name"] for n in nodes]
    # Byte order, not a locale's: digits < "_" < letters < "~" < non-ASCII letters.
    assert names.index("10") < names.index("9") < names.index("_x") < names.index("A")
    assert names.index("alpha beta") < names.index("alpha-beta") < names.index("alphabet")
    assert names.index("Zeta") < names.index("~tilde") < names.index("Ärger") < names.index("émile")
    ties = [n for n in nodes if n["name"].casefold() == "tie"]
    assert [key_of(n["id"]) for n in ties] == sorted(key_of(n["id"]) for n in ties)

    desc = classes(api, first=100, orderBy={"field": "NAME", "direction": "DESC"})["nodes"]
    assert [n["id"] for n in desc] == [n["id"] for n in reversed(nodes)]


def test_default_order_is_name_ascending(api: Api, world: World) -> None:
    for name in ["m", "C", "x", "a"]:
        api.create_class(name=name)
    explicit = classes(api, orderBy={"field": "NAME", "direction": "ASC"})
    assert ids(classes(api)) == ids(explicit)
    direction_default = api.data("{ customerClasses(orderBy: {field: NAME}) { nodes { id } } }")[
        "customerClasses"
    ]
    assert [n["id"] for n in direction_default["nodes"]] == ids(explicit)


def test_name_sort_as_reseller(api: Api, world: World) -> None:
    for name in ["zz", "Aa", "mm"]:
        api.create_class(world.a.token, name=name)
    assert class_names(api, world.a.token) == [
        "Aa",
        "Admin shared",
        "Default",
        "mm",
        "Reseller A class",
        "zz",
    ]
    assert class_names(api, world.a.token, orderBy={"field": "NAME", "direction": "DESC"}) == [
        "zz",
        "Reseller A class",
        "mm",
        "Default",
        "Admin shared",
        "Aa",
    ]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_created_at_sort(api: Api, world: World, direction: str) -> None:
    created = [api.create_class(name=name) for name in ["zulu", "alpha", "mike", "bravo"]]
    nodes = classes(api, orderBy={"field": "CREATED_AT", "direction": direction})["nodes"]
    keys = [(parse_dt(n["createdAt"]), key_of(n["id"])) for n in nodes]
    assert keys == sorted(keys, reverse=direction == "DESC")
    mine = [n["id"] for n in nodes if n["id"] in created]
    assert mine == (created if direction == "ASC" else list(reversed(created)))
    # The Default class predates everything.
    assert nodes[0 if direction == "ASC" else -1]["isDefault"] is True


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_updated_at_sort(api: Api, world: World, direction: str) -> None:
    first, second, third = (api.create_class(name=f"upd {n}") for n in range(3))
    api.ok("updateCustomerClass", {"id": first, "description": "touched"})
    nodes = classes(
        api,
        filter={"nameContains": "upd"},
        orderBy={"field": "UPDATED_AT", "direction": direction},
    )["nodes"]
    expected = [second, third, first]
    assert [n["id"] for n in nodes] == (expected if direction == "ASC" else expected[::-1])
    keys = [(parse_dt(n["updatedAt"]), key_of(n["id"])) for n in nodes]
    assert keys == sorted(keys, reverse=direction == "DESC")


@pytest.fixture
def counted(api: Api, world: World) -> World:
    """Customers spread so that a reseller's counts differ from the administrator's."""
    for index in range(3):
        api.create_customer(name=f"direct {index}", customerClassId=world.shared_class_id)
    for index in range(2):
        api.create_customer(
            world.b.token, name=f"B on shared {index}", customerClassId=world.shared_class_id
        )
        api.create_customer(world.a.token, name=f"A more {index}", customerClassId=world.a.class_id)
    return world


def test_customer_count_column_counts_visible_customers_only(api: Api, counted: World) -> None:
    world = counted
    admin = {n["id"]: n["customerCount"] for n in classes(api)["nodes"]}
    assert admin == {
        world.default_class_id: 2,  # the two resellers themselves
        world.admin_class_id: 0,
        world.shared_class_id: 5,
        world.a.class_id: 3,
        world.b.class_id: 1,
    }
    as_a = {n["id"]: n["customerCount"] for n in classes(api, world.a.token)["nodes"]}
    # A sees itself (on Default) and its own customers, nothing of B's or the admin's.
    assert as_a == {world.default_class_id: 1, world.shared_class_id: 0, world.a.class_id: 3}
    as_b = {n["id"]: n["customerCount"] for n in classes(api, world.b.token)["nodes"]}
    assert as_b == {world.default_class_id: 1, world.shared_class_id: 2, world.b.class_id: 1}


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_customer_count_sort_as_administrator(api: Api, counted: World, direction: str) -> None:
    world = counted
    nodes = classes(api, orderBy={"field": "CUSTOMER_COUNT", "direction": direction})["nodes"]
    keys = [(n["customerCount"], key_of(n["id"])) for n in nodes]
    assert keys == sorted(keys, reverse=direction == "DESC")
    expected_ends = (world.admin_class_id, world.shared_class_id)
    if direction == "DESC":
        expected_ends = expected_ends[::-1]
    assert (nodes[0]["id"], nodes[-1]["id"]) == expected_ends


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_customer_count_sort_as_reseller_uses_its_own_counts(
    api: Api, counted: World, direction: str
) -> None:
    world = counted
    nodes = classes(
        api, world.a.token, orderBy={"field": "CUSTOMER_COUNT", "direction": direction}
    )["nodes"]
    expected = [world.shared_class_id, world.default_class_id, world.a.class_id]  # 0, 1, 3
    assert [n["id"] for n in nodes] == (expected if direction == "ASC" else expected[::-1])
    nodes = classes(
        api, world.b.token, orderBy={"field": "CUSTOMER_COUNT", "direction": direction}
    )["nodes"]
    # B: Default 1, B class 1 (tie broken by id), shared 2.
    ones = sorted([world.default_class_id, world.b.class_id], key=key_of)
    expected = [*ones, world.shared_class_id]
    assert [n["id"] for n in nodes] == (expected if direction == "ASC" else expected[::-1])


def test_customer_count_sort_with_filter(api: Api, counted: World) -> None:
    result = classes(
        api,
        filter={"managedBy": {"kind": "ADMINISTRATOR"}},
        orderBy={"field": "CUSTOMER_COUNT", "direction": "DESC"},
    )
    assert [n["name"] for n in result["nodes"]] == ["Admin shared", "Default", "Admin private"]
    assert result["totalCount"] == 3


# --------------------------------------------------------------------------- pagination

ORDERS = [
    ("NAME", "ASC"),
    ("NAME", "DESC"),
    ("CREATED_AT", "ASC"),
    ("CREATED_AT", "DESC"),
    ("UPDATED_AT", "ASC"),
    ("UPDATED_AT", "DESC"),
    ("CUSTOMER_COUNT", "ASC"),
    ("CUSTOMER_COUNT", "DESC"),
]


@pytest.fixture
def many(api: Api, world: World) -> World:
    """16 classes as the administrator sees them (11 for reseller A), with name ties,
    customer-count ties and a touched class, so every order has ties to break."""
    for index, name in enumerate(["Gamma", "alpha", "Omega", "Beta", "delta", "Epsilon"]):
        api.create_class(name=name, currencyCode="USD", sharedWithResellers=index % 2 == 0)
    for name in ["gamma", "Alpha", "zeta", "beta", "omega"]:
        api.create_class(world.a.token, name=name, currencyCode="USD")
    api.create_customer(world.a.token, name="x", customerClassId=world.shared_class_id)
    api.create_customer(name="y", customerClassId=world.admin_class_id)
    api.ok("updateCustomerClass", {"id": world.admin_class_id, "description": "touched"})
    return world


def walk_forward(
    api: Api, token: str | None, size: int, order: dict[str, str], filter_: Any = None
) -> list[str]:
    return connection_support.walk_forward(CLASSES, api, token, size, orderBy=order, filter=filter_)


def walk_backward(
    api: Api, token: str | None, size: int, order: dict[str, str], filter_: Any = None
) -> list[str]:
    return connection_support.walk_backward(
        CLASSES, api, token, size, orderBy=order, filter=filter_
    )


@pytest.mark.parametrize(("field", "direction"), ORDERS)
@pytest.mark.parametrize("size", [1, 3, 4])
def test_walking_pages_both_ways_gives_every_row_once_in_order(
    api: Api, many: World, field: str, direction: str, size: int
) -> None:
    order = {"field": field, "direction": direction}
    everything = classes(api, first=100, orderBy=order)
    assert everything["totalCount"] == len(everything["nodes"]) == 16
    expected = ids(everything)
    assert len(set(expected)) == 16
    assert walk_forward(api, None, size, order) == expected
    assert walk_backward(api, None, size, order) == expected


@pytest.mark.parametrize(("field", "direction"), ORDERS)
def test_walking_pages_as_reseller_with_filter(
    api: Api, many: World, field: str, direction: str
) -> None:
    order = {"field": field, "direction": direction}
    token = many.a.token
    everything = classes(api, token, first=100, orderBy=order)
    expected = ids(everything)
    assert len(expected) == everything["totalCount"] == 11
    assert walk_forward(api, token, 2, order) == expected
    assert walk_backward(api, token, 2, order) == expected
    filter_ = {"nameContains": "a", "includeShared": False}
    own = ids(classes(api, token, first=100, orderBy=order, filter=filter_))
    assert len(own) == 6  # gamma, Alpha, zeta, beta, omega and "Reseller A class"
    assert walk_forward(api, token, 2, order, filter_) == own
    assert walk_backward(api, token, 2, order, filter_) == own


def test_page_info_forward(api: Api, many: World) -> None:
    everything = classes(api, first=100)
    cursors = [e["cursor"] for e in everything["edges"]]
    assert everything["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": False,
        "startCursor": cursors[0],
        "endCursor": cursors[-1],
    }
    first = classes(api, first=5)
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert [e["cursor"] for e in first["edges"]] == cursors[:5]
    middle = classes(api, first=5, after=cursors[4])
    assert ids(middle) == ids(everything)[5:10]
    assert middle["pageInfo"]["hasNextPage"] is True
    assert middle["pageInfo"]["hasPreviousPage"] is True
    # Exactly the remaining rows: no next page.
    tail = classes(api, first=6, after=cursors[9])
    assert ids(tail) == ids(everything)[10:]
    assert tail["pageInfo"]["hasNextPage"] is False
    assert tail["pageInfo"]["hasPreviousPage"] is True
    past_end = classes(api, first=5, after=cursors[-1])
    assert past_end["nodes"] == []
    assert past_end["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": None,
        "endCursor": None,
    }


def test_page_info_backward(api: Api, many: World) -> None:
    everything = classes(api, first=100)
    all_ids = ids(everything)
    cursors = [e["cursor"] for e in everything["edges"]]
    last = classes(api, last=4)
    assert ids(last) == all_ids[-4:]
    assert last["pageInfo"]["hasPreviousPage"] is True
    assert last["pageInfo"]["hasNextPage"] is False
    assert last["pageInfo"]["startCursor"] == cursors[-4]
    assert last["pageInfo"]["endCursor"] == cursors[-1]
    before = classes(api, last=4, before=cursors[-4])
    assert ids(before) == all_ids[-8:-4]
    assert before["pageInfo"]["hasPreviousPage"] is True
    assert before["pageInfo"]["hasNextPage"] is True
    head = classes(api, last=4, before=cursors[4])
    assert ids(head) == all_ids[:4]
    assert head["pageInfo"]["hasPreviousPage"] is False
    assert head["pageInfo"]["hasNextPage"] is True
    nothing = classes(api, last=4, before=cursors[0])
    assert nothing["nodes"] == []
    assert nothing["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": None,
        "endCursor": None,
    }


def test_last_or_before_ignores_first(api: Api, many: World) -> None:
    all_ids = ids(classes(api, first=100))
    cursors = [e["cursor"] for e in classes(api, first=100)["edges"]]
    assert ids(classes(api, first=2, last=3)) == all_ids[-3:]
    assert ids(classes(api, first=100, last=1)) == all_ids[-1:]
    # before without last: a backward page of the default size (50), first ignored.
    assert ids(classes(api, first=1, before=cursors[6])) == all_ids[:6]


def test_cursors_survive_inserts_and_deletes(api: Api, many: World) -> None:
    page = classes(api, first=3)
    anchor = page["pageInfo"]["endCursor"]
    expected_next = ids(classes(api, first=100))[3:6]
    # A class sorting before the cursor does not shift the next page.
    api.create_class(name="  aaa first")
    assert ids(classes(api, first=3, after=anchor)) == expected_next
    # Deleting the anchor row itself does not break the cursor.
    anchor_id = page["nodes"][-1]["id"]
    deleted = api.ok("deleteCustomerClasses", {"ids": [anchor_id]}, selection="deletedIds")
    assert deleted["deletedIds"] == [anchor_id]
    assert ids(classes(api, first=3, after=anchor)) == expected_next


def test_empty_listing(api: Api, world: World) -> None:
    result = classes(api, filter={"nameContains": "no such class"})
    assert result == {
        "totalCount": 0,
        "pageInfo": {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": None,
            "endCursor": None,
        },
        "edges": [],
        "nodes": [],
    }
    backward = classes(api, last=5, filter={"nameContains": "no such class"})
    assert backward["nodes"] == [] and backward["pageInfo"]["hasPreviousPage"] is False


# --------------------------------------------------------------------------- cursor misuse


def assert_bad_cursor(error: dict[str, Any]) -> None:
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["path"] == ["customerClasses"]


@pytest.mark.parametrize(
    "other_order",
    [
        {"field": "NAME", "direction": "DESC"},
        {"field": "CREATED_AT", "direction": "ASC"},
        {"field": "UPDATED_AT", "direction": "ASC"},
        {"field": "CUSTOMER_COUNT", "direction": "ASC"},
        {"field": "CUSTOMER_COUNT", "direction": "DESC"},
    ],
)
def test_cursor_of_another_order_is_bad_user_input(
    api: Api, many: World, other_order: dict[str, str]
) -> None:
    cursor = classes(api, first=2)["pageInfo"]["endCursor"]
    assert_bad_cursor(list_error(api, first=2, after=cursor, orderBy=other_order))
    assert_bad_cursor(list_error(api, last=2, before=cursor, orderBy=other_order))


@pytest.mark.parametrize(
    "other_filter",
    [
        {"nameContains": "a"},
        {"currencyCode": "USD"},
        {"currencyCode": ""},
        {"managedBy": {"kind": "ADMINISTRATOR"}},
        {"invoicing": "DISABLED"},
        {"taxationMethod": "NO_TAXATION"},
    ],
)
def test_cursor_of_another_filter_is_bad_user_input(
    api: Api, many: World, other_filter: dict[str, Any]
) -> None:
    cursor = classes(api, first=2)["pageInfo"]["endCursor"]
    assert_bad_cursor(list_error(api, first=2, after=cursor, filter=other_filter))
    # And the other way round: a filtered cursor without its filter.
    filtered = classes(api, first=1, filter=other_filter)["pageInfo"]["endCursor"]
    assert_bad_cursor(list_error(api, first=2, after=filtered))


def test_cursor_of_another_filter_value_is_bad_user_input(api: Api, many: World) -> None:
    cursor = classes(api, first=1, filter={"nameContains": "a"})["pageInfo"]["endCursor"]
    assert_bad_cursor(list_error(api, first=2, after=cursor, filter={"nameContains": "b"}))
    # Same filter: accepted, forwards and backwards.
    again = classes(api, first=2, after=cursor, filter={"nameContains": "a"})
    assert again["pageInfo"]["hasPreviousPage"] is True
    back = classes(
        api, last=2, before=again["pageInfo"]["startCursor"], filter={"nameContains": "a"}
    )
    assert ids(back) == ids(classes(api, first=1, filter={"nameContains": "a"}))


def test_reseller_cursor_with_include_shared_changed_is_bad_user_input(
    api: Api, many: World
) -> None:
    token = many.a.token
    cursor = classes(api, token, first=2)["pageInfo"]["endCursor"]
    error = list_error(api, token, first=2, after=cursor, filter={"includeShared": False})
    assert_bad_cursor(error)
    # An explicit includeShared: true is the default filter: the cursor stays valid.
    assert classes(api, token, first=2, after=cursor, filter={"includeShared": True})["nodes"]


def audit_cursor(api: Api) -> str:
    found: str = api.data("{ auditEvents(first: 1) { pageInfo { endCursor } } }")["auditEvents"][
        "pageInfo"
    ]["endCursor"]
    return found


def forged(*parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(parts))).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "",
        "!!!!",
        "W10",  # []
        forged("CustomerClass:NAME:ASC:0000000000000000", "a", 1),
        forged("anything"),
        base64.b64encode(b"CustomerClass:1").decode(),
        "eyJub3QiOiAiYSBsaXN0In0",  # {"not": "a list"}
        "x" * 5000,
    ],
)
def test_garbage_cursor_is_bad_user_input(api: Api, world: World, cursor: str) -> None:
    assert_bad_cursor(list_error(api, after=cursor))
    assert_bad_cursor(list_error(api, last=2, before=cursor))
    assert_bad_cursor(list_error(api, world.a.token, after=cursor))


def test_cursor_with_tampered_value_type_is_bad_user_input(api: Api, many: World) -> None:
    cursor = classes(api, first=1)["pageInfo"]["endCursor"]
    mark, _value, key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert_bad_cursor(list_error(api, after=forged(mark, 12, key)))
    assert_bad_cursor(list_error(api, after=forged(mark, "a", "not a key")))
    assert_bad_cursor(list_error(api, after=forged(mark, None, key)))
    # A forged cursor with the right mark and types is just a position.
    assert classes(api, after=forged(mark, "m", 1))["totalCount"] == 16


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("NAME", "a\x00b", None),  # PostgreSQL text cannot hold NUL
        ("NAME", None, 2**63),  # beyond BIGINT
        ("NAME", None, 2**64 - 1),
        ("CREATED_AT", "2020-01-01T00:00:00", None),  # stored datetimes are aware
        ("CREATED_AT", "2020-01-01", None),
        ("CREATED_AT", "0001-01-01T00:00:00+05:00", None),  # before year 1 in UTC
        ("UPDATED_AT", "9999-12-31T23:59:59-05:00", None),  # after year 9999 in UTC
        ("CUSTOMER_COUNT", 2**31, None),  # counts are INTEGER
        ("CUSTOMER_COUNT", 2**63 - 1, None),
        ("CUSTOMER_COUNT", -1, None),
    ],
)
def test_forged_cursor_values_out_of_range_are_bad_user_input(
    api: Api, world: World, field: str, value: Any, key: Any
) -> None:
    # Such cursors used to reach the database and come back as INTERNAL errors.
    order = {"field": field, "direction": "ASC"}
    cursor = classes(api, first=1, orderBy=order)["pageInfo"]["endCursor"]
    mark, real_value, real_key = orjson.loads(
        base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    )
    bad = forged(mark, real_value if value is None else value, real_key if key is None else key)
    assert_bad_cursor(list_error(api, after=bad, orderBy=order))
    assert_bad_cursor(list_error(api, last=1, before=bad, orderBy=order))
    # The extreme values that do fit are just positions.
    fits = {
        "NAME": "\uffff",
        "CREATED_AT": "9999-12-31T23:59:59.999999+00:00",
        "UPDATED_AT": "0001-01-01T00:00:00+00:00",
        "CUSTOMER_COUNT": 2**31 - 1,
    }[field]
    assert classes(api, after=forged(mark, fits, 2**63 - 1), orderBy=order)["totalCount"] == 5


def test_cursor_of_another_listing_is_bad_user_input(api: Api, world: World) -> None:
    assert_bad_cursor(list_error(api, after=audit_cursor(api)))
    customers_cursor = api.data("{ customers(first: 1) { pageInfo { endCursor } } }")["customers"][
        "pageInfo"
    ]["endCursor"]
    assert_bad_cursor(list_error(api, after=customers_cursor))


def test_bad_cursor_fails_the_whole_field(api: Api, world: World) -> None:
    body = api.run(
        '{ viewer { role } customerClasses(after: "nope") { totalCount } }',
    )
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"first": 0}, "BAD_USER_INPUT"),
        ({"first": -1}, "BAD_USER_INPUT"),
        ({"first": 101}, "PAGE_TOO_LARGE"),
        ({"last": 0}, "BAD_USER_INPUT"),
        ({"last": 101}, "PAGE_TOO_LARGE"),
    ],
)
def test_page_size_limits(api: Api, world: World, args: dict[str, Any], code: str) -> None:
    assert list_error(api, **args)["extensions"]["code"] == code


def test_page_size_bounds_are_accepted(api: Api, world: World) -> None:
    assert len(classes(api, first=1)["nodes"]) == 1
    assert len(classes(api, first=100)["nodes"]) == 5
    assert len(classes(api, last=100)["nodes"]) == 5


def test_default_page_is_fifty(api: Api) -> None:
    for index in range(51):
        api.create_class(name=f"bulk {index:02d}")
    result = api.data("{ customerClasses { totalCount nodes { id } pageInfo { hasNextPage } } }")[
        "customerClasses"
    ]
    assert result["totalCount"] == 52
    assert len(result["nodes"]) == 50
    assert result["pageInfo"]["hasNextPage"] is True


# --------------------------------------------------------------------------- list-page columns


def test_list_page_columns(api: Api, world: World) -> None:
    api.create_class(
        name="cols stats off",
        generalInfo={"generateStatistics": False},
        taxation={"method": "GST"},
    )
    api.create_class(
        name="cols regular",
        regularInvoices={"enabled": True},
        taxation={"method": "FIXED_VAT_RATE", "assessTaxes": True, "vatRatePercent": "19.5"},
    )
    api.create_class(
        name="cols both",
        regularInvoices={"enabled": True},
        outOfTurnInvoices={"enabled": True},
        taxation={"method": "EZTAX"},
    )
    api.create_class(
        name="cols oot",
        generalInfo={"generateStatistics": False},
        outOfTurnInvoices={"enabled": True},
    )
    rows = {
        n["name"]: (n["archiveXdrs"], n["invoicing"], n["taxationMethod"])
        for n in classes(api, filter={"nameContains": "cols"})["nodes"]
    }
    assert rows == {
        "cols stats off": (False, "DISABLED", "GST"),
        "cols regular": (True, "REGULAR_ONLY", "FIXED_VAT_RATE"),
        "cols both": (True, "INVOICING_ENABLED", "EZTAX"),
        "cols oot": (False, "OUT_OF_TURN_ONLY", "NO_TAXATION"),
    }


def test_list_page_columns_agree_with_tabs(api: Api, world: World) -> None:
    api.create_class(
        name="tabs agree",
        generalInfo={"generateStatistics": False},
        outOfTurnInvoices={"enabled": True},
        taxation={"method": "SURETAX"},
    )
    node = api.data(
        """{ customerClasses(filter: {nameContains: "tabs agree"}) { nodes {
            archiveXdrs invoicing taxationMethod
            generalInfo { generateStatistics }
            regularInvoices { enabled } outOfTurnInvoices { enabled }
            taxation { method } } } }"""
    )["customerClasses"]["nodes"][0]
    assert node["archiveXdrs"] is node["generalInfo"]["generateStatistics"] is False
    assert node["invoicing"] == "OUT_OF_TURN_ONLY"
    assert node["regularInvoices"]["enabled"] is False
    assert node["outOfTurnInvoices"]["enabled"] is True
    assert node["taxationMethod"] == node["taxation"]["method"] == "SURETAX"


def test_list_page_columns_follow_updates(api: Api, world: World) -> None:
    target = api.create_class(name="cols moving")
    api.ok(
        "updateCustomerClass",
        {
            "id": target,
            "generalInfo": {"generateStatistics": False},
            "taxation": {"method": "AVALARA"},
        },
    )
    node = classes(api, filter={"nameContains": "cols moving"})["nodes"][0]
    assert (node["archiveXdrs"], node["invoicing"], node["taxationMethod"]) == (
        False,
        "DISABLED",
        "AVALARA",
    )
    assert classes(api, filter={"taxationMethod": "AVALARA"})["totalCount"] == 1
    assert (
        classes(api, filter={"nameContains": "cols", "taxationMethod": "NO_TAXATION"})["totalCount"]
        == 0
    )
