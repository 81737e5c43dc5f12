"""The schema is the manual (issue 9): every type, field, argument, input field and enum
value of the served schema has a description, read the way an integrator's tool reads
it (introspection over HTTP), and the custom scalars say precisely what they carry."""

from __future__ import annotations

from typing import Any

from tenancy import fields
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
