"""No string input may cost time super-linear in its length (SPEC §7 "CPU and memory",
issue 7 item 1).

CPython's canonical reordering is quadratic in a run of combining marks in descending
canonical class order: 30,000 such marks as a class name took 1.7 s to be refused, and
12,000 as ``nameContains`` in 20 aliased fields 13 s, while every other request of the
worker waited. Every string input is measured against its maximum before any other work.

The test below finds every string input of the contract (arguments and input fields of
type String, ID, Decimal or DateTime, at any depth) in the schema itself, so a new input
cannot be forgotten: it must be given its maximum in ``ceiling``. Each is fed the
combining-mark payload at the longest length the server processes (the raw ceiling,
e.g. 400 code points for a name) and as long as the 64 KiB body allows. Each request must
answer properly (a userError on that field, a top-level BAD_USER_INPUT, or an empty or
null result for a filter or lookup) within a generous 1 s; the quadratic code took
seconds.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

import graphql
import orjson
import pytest

from gql.limits import MAX_BODY_BYTES
from gql.schema import sdl
from tests.api.protection_support import post_raw
from tests.api_client import Api, World

SCHEMA = graphql.build_schema(sdl())
STRING_SCALARS = ("String", "ID", "Decimal", "DateTime")
# Descending canonical combining classes: the worst case of canonical reordering.
MARKS = "\u0345\u035d\u035c\u0315\u0301\u059a\u0316\u031b\u0327\u0334"
BOUND_SECONDS = 1.0
_unique = itertools.count(1)


def marks(length: int) -> str:
    return (MARKS * (length // len(MARKS) + 1))[:length]


@dataclass(frozen=True)
class StringInput:
    root: str  # "Query" or "Mutation" (or "CustomerClass" for its customers field)
    field: str
    path: tuple[str, ...]  # argument, then input fields; "0" for a list element
    scalar: str

    @property
    def label(self) -> str:
        return f"{self.root}.{self.field}({'.'.join(self.path)})"


def _leaves(type_: Any, path: tuple[str, ...], seen: frozenset[str]) -> list[Any]:
    type_ = graphql.get_nullable_type(type_)
    if isinstance(type_, graphql.GraphQLList):
        return _leaves(type_.of_type, (*path, "0"), seen)
    if isinstance(type_, graphql.GraphQLInputObjectType):
        if type_.name in seen:
            return []
        return [
            leaf
            for name, field in type_.fields.items()
            for leaf in _leaves(field.type, (*path, name), seen | {type_.name})
        ]
    if isinstance(type_, graphql.GraphQLScalarType) and type_.name in STRING_SCALARS:
        return [(path, type_.name)]
    return []


def string_inputs() -> list[StringInput]:
    found = []
    for type_name, type_ in SCHEMA.type_map.items():
        if type_name.startswith("__") or not isinstance(type_, graphql.GraphQLObjectType):
            continue
        for field_name, field in type_.fields.items():
            for arg_name, arg in field.args.items():
                for path, scalar in _leaves(arg.type, (arg_name,), frozenset()):
                    found.append(StringInput(type_name, field_name, path, scalar))
    return found


INPUTS = string_inputs()

# The longest raw value each input processes beyond the first length check; names have
# the 400 code points of SPEC §3, free text 4x its limit (tenancy.fields.RAW_FACTOR).
BY_SCALAR = {"ID": 100, "Decimal": 40, "DateTime": 64}
BY_NAME = {
    "name": 400,
    "listValues": 400,  # each value is checked as a name
    "description": 4 * 500,
    "defaultValue": 4 * 500,
    "notificationSender": 4 * 254,
    "rateCode": 4 * 64,
    "service": 4 * 64,
    "taxName": 4 * 50,
    "code": 4 * 50,
    "currencyCode": 3,
    "nameContains": 100,
    "after": 4096,
    "before": 4096,
}


def ceiling(item: StringInput) -> int:
    if item.scalar in BY_SCALAR:
        return BY_SCALAR[item.scalar]
    named = [part for part in item.path if not part.isdigit()][-1]
    assert named in BY_NAME, f"declare the maximum length of {item.label} in BY_NAME"
    return BY_NAME[named]


def test_every_string_input_is_found() -> None:
    """Control: the schema walk finds the inputs the issue names, at every depth."""
    labels = {item.label for item in INPUTS}
    for expected in (
        "Mutation.createCustomerClass(input.name)",
        "Mutation.createCustomerClass(input.measuredServices.0.rateCode)",
        "Mutation.updateCustomerClass(input.regularInvoices.pastDue.lateFee)",
        "Mutation.createCustomFieldDefinition(input.listValues.0)",
        "Mutation.createApiToken(input.expiresAt)",
        "Mutation.updateCustomerOverrides(input.regularInvoiceTemplate.templateId)",
        "Query.customerClasses(filter.nameContains)",
        "Query.customers(filter.nameContains)",
        "Query.nodes(ids.0)",
        "Query.auditEvents(objectId)",
        "CustomerClass.customers(after)",
    ):
        assert expected in labels
    assert len(INPUTS) >= 85
    for item in INPUTS:
        ceiling(item)  # every input has a declared maximum


# --------------------------------------------------------------------------- requests


def _input_type(field: Any, arg: str) -> graphql.GraphQLNamedType:
    return graphql.get_named_type(field.args[arg].type)


def _required(type_: graphql.GraphQLInputObjectType) -> dict[str, Any]:
    """Plausible values for the required fields of an input created along a path."""
    values: dict[str, Any] = {}
    for name, field in type_.fields.items():
        if not graphql.is_non_null_type(field.type) or field.default_value is not graphql.Undefined:
            continue
        named = graphql.get_named_type(field.type)
        if isinstance(named, graphql.GraphQLEnumType):
            values[name] = next(iter(named.values))
        elif isinstance(named, graphql.GraphQLInputObjectType):
            values[name] = _required(named)
        else:
            values[name] = {"Boolean": False, "Int": 0, "Decimal": "1"}.get(named.name, "x")
    return values


def _set(value: dict[str, Any], type_: Any, path: tuple[str, ...], payload: str) -> None:
    """Put ``payload`` at ``path`` inside ``value`` (an input of ``type_``), creating the
    inputs and one-element lists on the way with their required fields."""
    name, rest = path[0], path[1:]
    field_type = graphql.get_nullable_type(type_.fields[name].type)
    if not rest:
        value[name] = payload
        return
    if isinstance(field_type, graphql.GraphQLList):
        inner = graphql.get_nullable_type(field_type.of_type)
        if rest == ("0",):
            value[name] = [payload]
            return
        element = _required(inner)
        _set(element, inner, rest[1:], payload)
        value[name] = [element]
        return
    child = value.setdefault(name, _required(field_type))
    _set(child, field_type, rest, payload)


def _mutation_base(item: StringInput, world: World, ids: dict[str, str]) -> dict[str, Any]:
    """A valid input of each mutation, so that only the payload is in question."""
    n = next(_unique)
    customer = world.extra["customer_id"]
    base: dict[str, dict[str, Any]] = {
        "createCustomerClass": {"name": f"cpu class {n}", "currencyCode": "USD"},
        "updateCustomerClass": {"id": world.admin_class_id},
        "cloneCustomerClass": {"id": world.admin_class_id, "name": f"cpu clone {n}"},
        "deleteCustomerClasses": {"ids": []},
        "setCustomerClassSharing": {"id": world.admin_class_id, "shared": False},
        "copyRegularInvoiceSettingsToOutOfTurn": {"id": world.admin_class_id},
        "createCustomer": {"name": f"cpu customer {n}", "currencyCode": "USD"},
        "assignCustomerClass": {"customerId": customer, "customerClassId": None},
        "updateCustomerOverrides": {"customerId": customer},
        "createBusinessModel": {"code": f"cpu-{n}", "name": f"cpu model {n}"},
        "createInvoiceTemplate": {"name": f"cpu template {n}"},
        "createNotificationSet": {"name": f"cpu set {n}"},
        "createCustomFieldDefinition": {
            "object": "CUSTOMER",
            "name": f"cpu field {n}",
            "type": "LIST" if "listValues" in item.path else "TEXT",
            **({"listValues": ["a"]} if "listValues" in item.path else {}),
        },
        "createCustomTax": {"name": f"cpu tax {n}", "ratePercent": "5", "appliedTo": "ALL_CHARGES"},
        "createApiToken": {"name": f"cpu token {n}", "role": "ADMINISTRATOR"},
        "revokeApiToken": {"id": ids["token"]},
    }
    assert item.field in base, f"give {item.field} a valid base input"
    return base[item.field]


QUERY_SELECTION = {
    "node": "{ id }",
    "nodes": "{ id }",
    "customerClass": "{ id }",
    "customer": "{ id }",
    "customerClasses": "{ totalCount }",
    "customers": "{ totalCount }",
    "auditEvents": "{ totalCount }",
}


@dataclass
class Request:
    document: str
    variables: dict[str, Any]
    is_mutation: bool


def build(item: StringInput, payload: str, world: World, ids: dict[str, str]) -> Request:
    if item.root == "Mutation":
        field = SCHEMA.mutation_type.fields[item.field]  # type: ignore[union-attr]
        input_type = _input_type(field, "input")
        value = _mutation_base(item, world, ids)
        _set(value, input_type, item.path[1:], payload)
        document = (
            f"mutation($input: {input_type.name}!) {{ {item.field}(input: $input)"
            " { userErrors { field code } } }"
        )
        return Request(document, {"input": value}, True)
    if item.root == "CustomerClass":  # customers(after:) of a class
        document = (
            "query($v: String, $id: ID!) { customerClass(id: $id)"
            " { customers(after: $v) { totalCount } } }"
        )
        return Request(document, {"v": payload, "id": world.default_class_id}, False)
    assert item.root == "Query", item.label
    field = SCHEMA.query_type.fields[item.field]  # type: ignore[union-attr]
    arg = item.path[0]
    arg_type = field.args[arg].type
    if len(item.path) == 1:
        value: Any = payload
    elif item.path[1:] == ("0",):
        value = [payload]
    else:
        named = graphql.get_named_type(arg_type)
        value = _required(named)  # type: ignore[arg-type]
        _set(value, named, item.path[1:], payload)
    document = f"query($v: {arg_type}) {{ {item.field}({arg}: $v) {QUERY_SELECTION[item.field]} }}"
    return Request(document, {"v": value}, False)


def body_filling(request: Request, item: StringInput, world: World, ids: dict[str, str]) -> str:
    """The longest payload whose request body still fits the 64 KiB limit."""
    probe = build(item, "", world, ids)
    overhead = len(orjson.dumps({"query": probe.document, "variables": probe.variables}))
    return marks((MAX_BODY_BYTES - overhead - 64) // 2)  # each mark is 2 bytes in UTF-8


def send(api: Api, request: Request, token: str | None = None) -> tuple[Any, float]:
    body = orjson.dumps({"query": request.document, "variables": request.variables})
    assert len(body) <= MAX_BODY_BYTES
    started = time.perf_counter()
    response = post_raw(api, body, token=token)
    return response, time.perf_counter() - started


def problem_with(item: StringInput, request: Request, response: Any, beyond: bool) -> str:
    """Why the answer is not a proper one, or "" when it is."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    body = response.json()
    codes = {e["extensions"]["code"] for e in body.get("errors") or []}
    if not codes <= {"BAD_USER_INPUT"}:
        return f"top-level {sorted(codes)}: {str(body)[:300]}"
    if codes or not request.is_mutation:
        return ""  # a refusal, or a lookup or filter that found nothing
    payload = body["data"][item.field]
    fields = [tuple(e["field"] or ()) for e in payload["userErrors"]]
    if beyond and tuple(item.path) not in fields:
        return f"no userError on {list(item.path)}: {payload}"
    return ""


@pytest.fixture
def ids(api: Api, world: World) -> dict[str, str]:
    world.extra["customer_id"] = api.create_customer(name="cpu customer")
    token = api.ok(
        "createApiToken",
        {"name": "cpu spare", "role": "ADMINISTRATOR"},
        selection="apiToken { id }",
    )
    return {"token": token["apiToken"]["id"]}


def test_combining_marks_in_every_string_input_answer_at_once(
    api: Api, world: World, ids: dict[str, str]
) -> None:
    """One world for every input (a world per input would take minutes); every input is
    tried and every failure listed."""
    problems: list[str] = []
    for item in INPUTS:
        probe = build(item, "", world, ids)
        payloads = {
            "at its maximum": marks(ceiling(item)),
            "beyond its maximum": body_filling(probe, item, world, ids),
        }
        for when, payload in payloads.items():
            request = build(item, payload, world, ids)
            response, seconds = send(api, request)
            problem = problem_with(item, request, response, beyond=when.startswith("beyond"))
            if seconds >= BOUND_SECONDS:
                problem = f"{problem} took {seconds:.2f} s".strip()
            if problem:
                problems.append(f"{item.label} {when} ({len(payload)} marks): {problem}")
    assert problems == []


def test_name_contains_in_twenty_aliased_fields_answers_at_once(api: Api, world: World) -> None:
    """The request of the issue: one long filter used by 20 aliased listings."""
    aliases = " ".join(
        f"c{i}: customerClasses(filter: {{nameContains: $q}}) {{ totalCount }}" for i in range(19)
    )
    customers = "customers(filter: {nameContains: $q}) { totalCount }"
    document = f"query($q: String) {{ {aliases} {customers} }}"
    for length, expected in ((100, None), (30_000, "BAD_USER_INPUT")):
        request = Request(document, {"q": marks(length)}, False)
        response, seconds = send(api, request, token=world.a.token)
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        codes = {e["extensions"]["code"] for e in body.get("errors") or []}
        assert codes == ({expected} if expected else set()), body
        assert seconds < BOUND_SECONDS, (length, seconds)


def test_a_payload_inside_the_document_answers_at_once(api: Api) -> None:
    """The same payload as a string literal of the document itself (the GraphQL lexer)."""
    document = 'mutation { createCustomerClass(input: {name: "%s"}) { userErrors { field code } } }'
    name = marks((MAX_BODY_BYTES - 200) // 2)
    started = time.perf_counter()
    response = post_raw(api, orjson.dumps({"query": document % name}))
    seconds = time.perf_counter() - started
    assert response.status_code == 200, response.text[:300]
    errors = response.json()["data"]["createCustomerClass"]["userErrors"]
    assert errors == [{"field": ["input", "name"], "code": "TOO_LONG"}]
    assert seconds < BOUND_SECONDS, seconds
