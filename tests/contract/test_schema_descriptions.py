"""The schema is the manual (issue 9): every type, field, argument, input field and enum
value of the served schema has a description, read the way an integrator's tool reads
it (introspection over HTTP), and the custom scalars say precisely what they carry."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from graphql import GraphQLObjectType, get_named_type

from gql.schema import graphql_schema
from tenancy import fields, tabs
from tests.api_client import Api

# One request, well inside the limits (1,000 tokens, introspection depth): every
# describable element of every type.
INTROSPECTION = """
{
  __schema {
    types {
      kind name description specifiedByURL
      fields(includeDeprecated: true) {
        name description
        args(includeDeprecated: true) { name description }
      }
      inputFields(includeDeprecated: true) { name description }
      enumValues(includeDeprecated: true) { name description }
    }
  }
}
"""
# Described by the GraphQL specification itself, not by this service.
BUILT_IN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})

RFC_3339 = "https://datatracker.ietf.org/doc/html/rfc3339"
ECMA_404 = "https://ecma-international.org/publications-and-standards/standards/ecma-404/"


def _types(api: Api) -> dict[str, dict[str, Any]]:
    types = api.data(INTROSPECTION)["__schema"]["types"]
    return {t["name"]: t for t in types}


def _described(description: str | None) -> bool:
    return bool(description and description.strip())


def undescribed(types: dict[str, dict[str, Any]]) -> list[str]:
    """Every element without a description, as ``Type``, ``Type.field``,
    ``Type.field(argument)`` or ``Type.VALUE``."""
    missing: list[str] = []
    for name, kind in sorted(types.items()):
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        if not _described(kind["description"]):
            missing.append(name)
        for field in kind["fields"] or []:
            if not _described(field["description"]):
                missing.append(f"{name}.{field['name']}")
            for arg in field["args"]:
                if not _described(arg["description"]):
                    missing.append(f"{name}.{field['name']}({arg['name']})")
        for field in kind["inputFields"] or []:
            if not _described(field["description"]):
                missing.append(f"{name}.{field['name']}")
        for value in kind["enumValues"] or []:
            if not _described(value["description"]):
                missing.append(f"{name}.{value['name']}")
    return missing


def test_every_element_of_the_schema_is_described(api: Api) -> None:
    missing = undescribed(_types(api))
    assert missing == [], f"{len(missing)} without a description:\n" + "\n".join(missing)


def test_the_walk_finds_what_is_missing() -> None:
    """The walk above looks at every kind of element (so an empty list means something)."""
    types: dict[str, dict[str, Any]] = {
        "Thing": {
            "description": None,
            "fields": [
                {"name": "a", "description": "", "args": [{"name": "x", "description": None}]},
            ],
            "inputFields": None,
            "enumValues": None,
        },
        "ThingInput": {
            "description": "d",
            "fields": None,
            "inputFields": [{"name": "b", "description": "  "}],
            "enumValues": None,
        },
        "Colour": {
            "description": "d",
            "fields": None,
            "inputFields": None,
            "enumValues": [{"name": "RED", "description": None}],
        },
        "String": {"description": None, "fields": None, "inputFields": None, "enumValues": None},
        "__Type": {"description": None, "fields": None, "inputFields": None, "enumValues": None},
    }
    assert undescribed(types) == [
        "Colour.RED",
        "Thing",
        "Thing.a",
        "Thing.a(x)",
        "ThingInput.b",
    ]


def test_date_time_is_specified_by_rfc_3339(api: Api) -> None:
    date_time = _types(api)["DateTime"]
    assert date_time["specifiedByURL"] == RFC_3339
    assert "offset" in date_time["description"]


def test_json_is_specified_by_ecma_404(api: Api) -> None:
    assert _types(api)["JSON"]["specifiedByURL"] == ECMA_404


def test_decimal_states_its_exact_format(api: Api) -> None:
    """The grammar and limits tenancy.fields enforces, in the scalar's description."""
    description = _types(api)["Decimal"]["description"]
    assert "string" in description
    assert fields.DECIMAL_GRAMMAR in description
    assert f"at most {fields.MAX_INTEGER_DIGITS} digits before" in description
    assert "exponent" in description


# --------------------------------------------------------------------------- tab rules

# Document keys whose output field names the object rather than its ID.
OUTPUT_NAMES = {
    "notificationSetId": "notificationSet",
    "invoiceTemplateId": "invoiceTemplate",
    "customTaxIds": "customTaxes",
    "customFieldIds": "customFields",
}


def _output_description(path: tuple[str, ...]) -> str:
    """The description of the CustomerClass output field at a tabs-document path."""
    parent: Any = graphql_schema.type_map["CustomerClass"]
    field: Any = None
    for key in path:
        field = parent.fields[OUTPUT_NAMES.get(key, key)]
        parent = get_named_type(field.type)
    assert field is not None and field.description, path
    found: str = field.description
    return found


def _leaves(spec: tabs.Obj, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, sub in spec.fields.items():
        if isinstance(sub, tabs.Obj):
            yield from _leaves(sub, (*path, key))
        else:
            yield (*path, key), sub
    if not path:
        for key, leaf in tabs.MEASURED_SERVICE.items():
            yield ("measuredServices", key), leaf


def _stated_range(leaf: tabs.Leaf) -> str | None:
    """How a description states a leaf's own limits (tenancy.tabs.Leaf)."""
    if leaf.kind == "int" and leaf.low is not None:
        return f"{leaf.low} to {leaf.high}"
    if leaf.kind == "money":
        return "above 0" if leaf.positive else "0 or more"
    if leaf.kind == "percent":
        return "0 to 100"
    if leaf.kind == "text":
        return f"at most {leaf.max_length} characters"
    if leaf.kind in ("days", "ids"):
        return f"at most {leaf.max_length}"
    return None


def test_tab_descriptions_state_the_ranges_that_are_enforced() -> None:
    """Each range, length and list maximum that tenancy.tabs enforces on a tab field is
    the one its description states (changing a rule without its text fails here)."""
    wrong = []
    for path, leaf in _leaves(tabs.TABS):
        stated = _stated_range(leaf)
        if stated is not None and stated not in _output_description(path):
            wrong.append(f"{'.'.join(path)}: expected {stated!r}")
    assert wrong == [], "\n".join(wrong)


def _stated_default(value: Any) -> re.Pattern[str]:
    """How a description states a default: "Default <value>" ending a clause."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif value is None:
        text = "null"
    elif value == []:
        text = "[]"
    elif isinstance(value, str) and fields.parse_decimal(value)[0] is not None:
        number = Decimal(value)
        text = str(int(number) if number == int(number) else number)
    else:
        text = str(value)
    return re.compile(rf"Default {re.escape(text)}(?=[.;:,)]|$)")


def _defaults(
    document: Mapping[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in document.items():
        if isinstance(value, Mapping):
            yield from _defaults(value, (*path, key))
        else:
            yield (*path, key), value


def test_tab_descriptions_state_the_defaults_of_a_new_class() -> None:
    """Each default of a new class (tenancy.tabs.default_settings, with a currency so that
    fraud protection is present) is the one its field's description states."""
    document: Mapping[str, Any] = tabs.default_settings(2)
    wrong = []
    for path, value in _defaults(document):
        if path[:2] == ("notifications", "settings"):
            continue  # a map per type, checked through its channel below
        stated = _stated_default(value)
        if not stated.search(_output_description(path)):
            wrong.append(f"{'.'.join(path)}: expected {stated.pattern!r}")
    channel = graphql_schema.type_map["NotificationChannelSetting"]
    assert isinstance(channel, GraphQLObjectType)
    for key, value in tabs.default_channel().items():
        stated = _stated_default(value)
        if not stated.search(channel.fields[key].description or ""):
            wrong.append(f"NotificationChannelSetting.{key}: expected {stated.pattern!r}")
    assert wrong == [], "\n".join(wrong)
