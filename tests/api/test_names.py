"""The amended name rule of SPEC §3 over the API, for every kind of name (issue 7 items 7
and 8): invisible and direction-changing characters refused, keys that ignore case and
compatibility forms ("ﬃ"/"ffi", full-width/ASCII) on SQLite and PostgreSQL alike, names
that triple when case-folded accepted, the raw length measured first, and nameContains
limited to 100 characters."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.api.listing_support import class_names, classes
from tests.api_client import Api, World
from tests.support.errors import errors_of

# Every kind of name: its mutation, the rest of a valid input, and the input type.
KIND_INPUTS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "class": ("createCustomerClass", {}, None),
    "customer": ("createCustomer", {"currencyCode": "USD"}, None),
    "token": ("createApiToken", {"role": "ADMINISTRATOR"}, None),
    "business model": ("createBusinessModel", {}, None),
    "invoice template": ("createInvoiceTemplate", {}, "CreateNamedCatalogEntryInput"),
    "notification set": ("createNotificationSet", {}, "CreateNamedCatalogEntryInput"),
    "custom field": ("createCustomFieldDefinition", {"object": "CUSTOMER", "type": "TEXT"}, None),
    "custom tax": ("createCustomTax", {"ratePercent": "5", "appliedTo": "ALL_CHARGES"}, None),
}
KINDS = list(KIND_INPUTS)
# Kinds whose names are unique (customers' and business models' names need not be).
UNIQUE_KINDS = [k for k in KINDS if k not in ("customer", "business model")]
_codes = itertools.count(1)


def create(api: Api, kind: str, name: str, token: str | None = None) -> Any:
    mutation, base, input_type = KIND_INPUTS[kind]
    data = {**base, "name": name}
    if kind == "business model":
        data["code"] = f"code-{next(_codes)}"  # codes have their own uniqueness
    return api.mutate(mutation, data, token, input_type=input_type)


# --------------------------------------------------------------------------- invisible


INVISIBLE = [
    "\u200b",  # a lone zero-width space
    "Retail\u200b",
    "Re\u200btail",
    "\ufeffRetail",
    "Retail\u202e",  # right-to-left override
    "Re\u202atail\u202c",
    "\u2066Retail\u2069",  # isolates
    "Re\u00adtail",  # soft hyphen
    "Re\u2060tail",  # word joiner
    "\u200dRetail",  # a joiner that joins no letters
    "Re\ntail",
]


@pytest.mark.parametrize("kind", KINDS)
def test_invisible_characters_are_refused_in_every_name(api: Api, kind: str) -> None:
    for name in INVISIBLE:
        payload = create(api, kind, name)
        assert errors_of(payload) == [("INVALID", ["input", "name"])], (kind, repr(name))


def test_invisible_characters_are_refused_on_rename_clone_and_list_values(
    api: Api, world: World
) -> None:
    payload = api.mutate("updateCustomerClass", {"id": world.a.class_id, "name": "A\u200b"})
    assert errors_of(payload) == [("INVALID", ["input", "name"])]
    payload = api.mutate(
        "cloneCustomerClass", {"id": world.a.class_id, "name": "\u202eA"}, world.a.token
    )
    assert errors_of(payload) == [("INVALID", ["input", "name"])]
    payload = api.mutate(
        "createCustomFieldDefinition",
        {
            "object": "CUSTOMER",
            "type": "LIST",
            "name": "Tier",
            "listValues": ["Gold", "Go\u200bld"],
        },
    )
    assert errors_of(payload) == [("INVALID", ["input", "listValues", "1"])]


def test_a_look_alike_with_an_invisible_character_is_not_a_second_name(
    api: Api, world: World
) -> None:
    api.create_class(world.a.token, name="Premium")
    payload = create(api, "class", "Pre\u200bmium", world.a.token)
    assert errors_of(payload) == [("INVALID", ["input", "name"])]
    assert class_names(api, world.a.token, filter={"nameContains": "premium"}) == ["Premium"]


def test_joiners_between_letters_are_kept_and_do_not_make_a_name_distinct(
    api: Api, world: World
) -> None:
    joined = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # Persian, with a ZWNJ
    class_id = api.create_class(world.a.token, name=joined)
    name = api.data("query($id: ID!) { customerClass(id: $id) { name } }", {"id": class_id})
    assert name == {"customerClass": {"name": joined}}
    payload = create(api, "class", joined.replace("\u200c", ""), world.a.token)
    assert errors_of(payload) == [("TAKEN", ["input", "name"])]


# --------------------------------------------------------------------------- keys


COMPATIBLE = [
    ("\ufb03 Gold", "ffi gold"),  # ligature
    ("\uff27\uff4f\uff4c\uff44", "GOLD"),  # full-width
    ("Stra\u00dfe", "STRASSE"),
    ("Caf\u00e9", "Cafe\u0301"),
    ("\u2168 Plan", "ix plan"),  # Roman numeral nine
]


@pytest.mark.parametrize("kind", UNIQUE_KINDS)
def test_compatibility_forms_are_one_name(api: Api, kind: str) -> None:
    for first, second in COMPATIBLE:
        assert errors_of(create(api, kind, first)) == [], (kind, first)
        assert errors_of(create(api, kind, second)) == [("TAKEN", ["input", "name"])], second


def test_class_names_are_keyed_per_manager(api: Api, world: World) -> None:
    api.create_class(name="\ufb03 Gold")
    api.create_class(world.a.token, name="ffi gold")  # another manager: no collision
    api.create_class(world.b.token, name="FFI GOLD")
    payload = create(api, "class", "\uff46\uff46\uff49 gold", world.a.token)
    assert errors_of(payload) == [("TAKEN", ["input", "name"])]
    payload = api.mutate("cloneCustomerClass", {"id": world.a.class_id, "name": "Ffi Gold"})
    assert errors_of(payload) == [("TAKEN", ["input", "name"])]  # the copy stays A's


def test_business_model_codes_ignore_case(api: Api) -> None:
    api.ok("createBusinessModel", {"code": "Gold", "name": "Gold"})
    payload = api.mutate("createBusinessModel", {"code": "GOLD", "name": "Gold again"})
    assert errors_of(payload) == [("TAKEN", ["input", "code"])]


@pytest.mark.parametrize("kind", KINDS)
def test_names_that_grow_when_case_folded_are_accepted(api: Api, kind: str) -> None:
    """100 characters that case-fold to 2 or 3 each overflowed PostgreSQL's key column."""
    for letter in ("\u00df", "\ufb03", "\u0130", "\u0390"):
        assert errors_of(create(api, kind, letter * 100)) == [], (kind, letter)


def test_long_folding_names_list_sort_and_page(api: Api, world: World) -> None:
    names = ["\u00df" * 100, "\ufb03" * 100, "\u0130" * 100, "\u1e9e" * 99 + "a"]
    for name in names:
        api.create_class(world.a.token, name=name)
    listed = classes(api, world.a.token, first=100, filter={"includeShared": False})
    assert sorted(n["name"] for n in listed["nodes"]) == sorted([*names, "Reseller A class"])
    assert class_names(api, world.a.token, filter={"nameContains": "SS" * 50}) == [
        "\u1e9e" * 99 + "a",  # key "ss" * 99 + "a", before "ss" * 100 in byte order
        "\u00df" * 100,
    ]
    # Keyset pages over 300-character keys, one row at a time.
    seen, after = [], None
    for _ in range(6):
        page = classes(api, world.a.token, first=1, after=after, filter={"includeShared": False})
        seen += [n["name"] for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert sorted(seen) == sorted(n["name"] for n in listed["nodes"])


@pytest.mark.parametrize("kind", KINDS)
def test_raw_length_is_measured_first(api: Api, kind: str) -> None:
    padded = "x" * 100 + " " * 300  # 400 code points: trimmed to a valid name
    assert errors_of(create(api, kind, padded)) == []
    for name in ("y" * 100 + " " * 301, " " * 401, "\u200b" * 401, "\u0345" * 30_000):
        payload = create(api, kind, name)
        assert errors_of(payload) == [("TOO_LONG", ["input", "name"])], (kind, len(name))


# --------------------------------------------------------------------------- nameContains


LISTINGS = {
    "customerClasses": "customerClasses(filter: {nameContains: $q}) { totalCount }",
    "customers": "customers(filter: {nameContains: $q}) { totalCount }",
}


@pytest.mark.parametrize("listing", list(LISTINGS))
def test_name_contains_takes_at_most_100_characters(
    api: Api, world: World, listing: str, sql_statements: list[str]
) -> None:
    document = f"query($q: String) {{ {LISTINGS[listing]} }}"
    assert api.data(document, {"q": "x" * 100}, world.a.token) == {listing: {"totalCount": 0}}
    for text in ("x" * 101, "\u0345" * 101, "%" * 30_000):
        sql_statements.clear()
        body = api.run(document, {"q": text}, world.a.token)
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
        assert "100" in body["errors"][0]["message"]
        assert body["errors"][0]["path"][0] == listing
        # The value never reached the database (SQLite's LIKE refused it with a 503).
        assert not [s for s in sql_statements if " like " in s.lower()], sql_statements


def test_name_contains_is_keyed_like_names(api: Api, world: World) -> None:
    for name in ("\ufb03 Gold", "Full \uff37idth", "Caf\u00e9", "a%b_c\\d"):
        api.create_class(world.a.token, name=name)
        api.create_customer(world.a.token, name=name)
    cases = {
        "ffi": ["\ufb03 Gold"],
        "\ufb03": ["\ufb03 Gold"],
        "FULL WIDTH": ["Full \uff37idth"],
        "\uff57idth": ["Full \uff37idth"],
        "cafe\u0301": ["Caf\u00e9"],
        "%b_": ["a%b_c\\d"],
        "\\d": ["a%b_c\\d"],
        "_": ["a%b_c\\d"],
    }
    for text, expected in cases.items():
        assert class_names(api, world.a.token, filter={"nameContains": text}) == expected, text
        found = api.data(
            "query($q: String) { customers(filter: {nameContains: $q}) { nodes { name } } }",
            {"q": text},
            world.a.token,
        )["customers"]["nodes"]
        assert [n["name"] for n in found] == expected, text
