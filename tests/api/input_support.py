"""Every input of the contract, found in the schema, and requests that set any of them.

``leaves()`` walks every argument of every field (queries, mutations and fields of
object types such as ``CustomerClass.customers``) down through input objects and lists,
so tests that must cover every input cannot miss one added later. ``build()`` turns
values for some of those leaves into a request: a valid base input per mutation (for the
administrator or reseller A), with the inputs and lists on the way created with their
required fields, and each query argument passed as a variable of its own type.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import graphql

from gql.limits import MAX_BODY_BYTES
from gql.schema import sdl
from tests.api.protection_support import post_raw
from tests.api_client import Api, World

SCHEMA = graphql.build_schema(sdl())
STRING_SCALARS = ("String", "ID", "Decimal", "DateTime")
_unique = itertools.count(1)

Path = tuple[str, ...]


@dataclass(frozen=True)
class Leaf:
    """One input: a scalar or enum inside an argument of ``root.field``."""

    root: str  # "Query", "Mutation", or an object type such as "CustomerClass"
    field: str
    path: Path  # argument, then input fields; "0" for a list element
    scalar: str  # the named type: String, ID, Decimal, DateTime, Int, Boolean, an enum

    @property
    def label(self) -> str:
        return f"{self.root}.{self.field}({'.'.join(self.path)})"


def _walk(type_: Any, path: Path, seen: frozenset[str]) -> list[tuple[Path, str]]:
    type_ = graphql.get_nullable_type(type_)
    if isinstance(type_, graphql.GraphQLList):
        return _walk(type_.of_type, (*path, "0"), seen)
    if isinstance(type_, graphql.GraphQLInputObjectType):
        if type_.name in seen:
            return []
        return [
            leaf
            for name, field in type_.fields.items()
            for leaf in _walk(field.type, (*path, name), seen | {type_.name})
        ]
    return [(path, type_.name)]


def leaves(scalars: tuple[str, ...] | None = None) -> list[Leaf]:
    """Every input whose named type is one of ``scalars`` (None: every scalar and enum)."""
    found = []
    for type_name, type_ in SCHEMA.type_map.items():
        if type_name.startswith("__") or not isinstance(type_, graphql.GraphQLObjectType):
            continue
        for field_name, field in type_.fields.items():
            for arg_name, arg in field.args.items():
                for path, scalar in _walk(arg.type, (arg_name,), frozenset()):
                    if scalars is None or scalar in scalars:
                        found.append(Leaf(type_name, field_name, path, scalar))
    return found


def required_values(type_: graphql.GraphQLInputObjectType) -> dict[str, Any]:
    """Plausible values for the required fields of an input created along a path."""
    values: dict[str, Any] = {}
    for name, field in type_.fields.items():
        if not graphql.is_non_null_type(field.type) or field.default_value is not graphql.Undefined:
            continue
        named = graphql.get_named_type(field.type)
        if isinstance(named, graphql.GraphQLEnumType):
            values[name] = next(iter(named.values))
        elif isinstance(named, graphql.GraphQLInputObjectType):
            values[name] = required_values(named)
        else:
            values[name] = {"Boolean": False, "Int": 0, "Decimal": "1"}.get(named.name, "x")
    return values


def set_at(value: dict[str, Any], type_: Any, path: Path, payload: Any) -> None:
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
        assert isinstance(inner, graphql.GraphQLInputObjectType), path
        existing = value.get(name)
        element = existing[0] if existing else required_values(inner)
        set_at(element, inner, rest[1:], payload)
        value[name] = [element]
        return
    child = value.setdefault(name, required_values(field_type))
    set_at(child, field_type, rest, payload)


@dataclass
class Targets:
    """The objects a request may name, as seen by one caller."""

    is_admin: bool
    class_id: str
    customer_id: str
    token_id: str
    default_class_id: str
    webhook_id: str  # a webhook subscription of the caller's tenant


def _webhook(api: Api, token: str | None = None) -> str:
    """A subscription to aim the webhook mutations at (host names are resolved only when
    delivering, and tests run no dispatcher)."""
    return str(
        api.ok(
            "createWebhookSubscription",
            {"url": "https://hooks.example.com/input", "events": ["CUSTOMER_CREATED"]},
            token,
            selection="webhookSubscription { id }",
        )["webhookSubscription"]["id"]
    )


def admin_targets(api: Api, world: World) -> Targets:
    customer = api.create_customer(name="input customer")
    token = api.ok(
        "createApiToken",
        {"name": "input spare", "role": "ADMINISTRATOR"},
        selection="apiToken { id }",
    )["apiToken"]["id"]
    return Targets(
        True, world.admin_class_id, customer, token, world.default_class_id, _webhook(api)
    )


def reseller_targets(api: Api, world: World) -> Targets:
    token = api.ok(
        "createApiToken",
        {"name": "input spare", "role": "RESELLER", "expiresAt": "2098-01-01T00:00:00Z"},
        world.a.token,
        selection="apiToken { id }",
    )["apiToken"]["id"]
    return Targets(
        False,
        world.a.class_id,
        world.a.customer_id,
        token,
        world.default_class_id,
        _webhook(api, world.a.token),
    )


def mutation_base(field: str, paths: list[Path], targets: Targets) -> dict[str, Any]:
    """A valid input of each mutation, so that only the values set on it are in question."""
    n = next(_unique)
    listing = any("listValues" in path for path in paths)
    base: dict[str, dict[str, Any]] = {
        "createCustomerClass": {"name": f"input class {n}", "currencyCode": "USD"},
        "updateCustomerClass": {"id": targets.class_id},
        "cloneCustomerClass": {"id": targets.class_id, "name": f"input clone {n}"},
        "deleteCustomerClasses": {"ids": []},
        "setCustomerClassSharing": {"id": targets.class_id, "shared": False},
        "copyRegularInvoiceSettingsToOutOfTurn": {"id": targets.class_id},
        "createCustomer": {"name": f"input customer {n}", "currencyCode": "USD"},
        "assignCustomerClass": {"customerId": targets.customer_id, "customerClassId": None},
        "updateCustomerOverrides": {"customerId": targets.customer_id},
        "createBusinessModel": {"code": f"input-{n}", "name": f"input model {n}"},
        "createInvoiceTemplate": {"name": f"input template {n}"},
        "createNotificationSet": {"name": f"input set {n}"},
        "createCustomFieldDefinition": {
            "object": "CUSTOMER",
            "name": f"input field {n}",
            "type": "LIST" if listing else "TEXT",
            **({"listValues": ["a"]} if listing else {}),
        },
        "createCustomTax": {
            "name": f"input tax {n}",
            "ratePercent": "5",
            "appliedTo": "ALL_CHARGES",
        },
        "createApiToken": (
            {"name": f"input token {n}", "role": "ADMINISTRATOR"}
            if targets.is_admin
            else {"name": f"input token {n}", "role": "RESELLER", "expiresAt": "2098-01-01Z"}
        ),
        "revokeApiToken": {"id": targets.token_id},
        "applyCustomerClasses": {"document": {"formatVersion": 1, "classes": []}},
        "revertCustomerClass": {"id": targets.class_id, "toVersion": 1, "dryRun": True},
        "createWebhookSubscription": {
            "url": f"https://hooks.example.com/{n}",
            "events": ["CUSTOMER_CREATED"],
        },
        "updateWebhookSubscription": {"id": targets.webhook_id},
        "deleteWebhookSubscription": {"id": targets.webhook_id},
        "rotateWebhookSecret": {"id": targets.webhook_id},
        # No delivery exists (tests run no dispatcher): the lookup answers NOT_FOUND.
        "redeliverWebhook": {"deliveryId": targets.webhook_id},
    }
    assert field in base, f"give {field} a valid base input in tests/api/input_support.py"
    return base[field]


QUERY_SELECTION = {
    "node": "{ id }",
    "nodes": "{ id }",
    "customerClass": "{ id }",
    "customer": "{ id }",
    "customerClasses": "{ totalCount }",
    "customers": "{ totalCount }",
    "auditEvents": "{ totalCount }",
    "customFieldDefinitions": "{ id }",
    "apiTokens": "{ id }",
    "exportCustomerClasses": "",  # a JSON scalar: no selection
}


# Fields with arguments on object types below the roots (connections): how a request
# reaches each, as (document up to the field, after it, its variables). A new one is
# reported by ``build`` until it is listed here.
NESTED: dict[tuple[str, str], tuple[str, str, Callable[[Targets], dict[str, Any]]]] = {
    ("CustomerClass", "customers"): (
        "query({variables}) { customerClass(id: $id) { ",
        " } }",
        lambda targets: {"id": targets.class_id},
    ),
    ("CustomerClass", "history"): (
        "query({variables}) { customerClass(id: $id) { ",
        " } }",
        lambda targets: {"id": targets.class_id},
    ),
    ("ClassChangeImpact", "affectedCustomers"): (
        "mutation({variables}) { updateCustomerClass(input: {id: $id, dryRun: true,"
        ' description: "impact probe"}) { impact { ',
        " } } }",
        lambda targets: {"id": targets.class_id},
    ),
    ("WebhookSubscription", "deliveries"): (
        "query({variables}) { node(id: $id) { ... on WebhookSubscription { ",
        " } } }",
        lambda targets: {"id": targets.webhook_id},
    ),
}


@dataclass
class Request:
    field: str
    document: str
    variables: dict[str, Any]
    is_mutation: bool


def build(root: str, field_name: str, values: Mapping[Path, Any], targets: Targets) -> Request:
    """A request of ``root.field_name`` with each value at its path."""
    if root == "Mutation":
        assert SCHEMA.mutation_type is not None
        field = SCHEMA.mutation_type.fields[field_name]
        input_type = graphql.get_named_type(field.args["input"].type)
        value = mutation_base(field_name, list(values), targets)
        for path, payload in values.items():
            set_at(value, input_type, path[1:], payload)
        document = (
            f"mutation($input: {input_type.name}!) {{ {field_name}(input: $input)"
            " { userErrors { field code } } }"
        )
        return Request(field_name, document, {"input": value}, True)
    if (root, field_name) in NESTED:
        opening, closing, base = NESTED[root, field_name]
        owner = SCHEMA.get_type(root)
        assert isinstance(owner, graphql.GraphQLObjectType)
        args = _arguments(owner.fields[field_name], values)
        declared = ", ".join(
            ["$id: ID!", *(f"${name}: {type_}" for name, (type_, _v) in args.items())]
        )
        passed = ", ".join(f"{name}: ${name}" for name in args)
        document = (
            opening.replace("{variables}", declared)
            + f"{field_name}{f'({passed})' if passed else ''} {{ totalCount }}"
            + closing
        )
        variables = {name: value for name, (_t, value) in args.items()}
        # A field below a query or a (dry-run) mutation's payload: a lookup either way.
        return Request(field_name, document, {**base(targets), **variables}, False)
    assert root == "Query", f"list {root}.{field_name} in NESTED (tests/api/input_support.py)"
    assert SCHEMA.query_type is not None
    field = SCHEMA.query_type.fields[field_name]
    args = _arguments(field, values)
    declared = ", ".join(f"${name}: {type_}" for name, (type_, _v) in args.items())
    passed = ", ".join(f"{name}: ${name}" for name in args)
    document = (
        f"query{f'({declared})' if declared else ''} {{ {field_name}"
        f"{f'({passed})' if passed else ''} {QUERY_SELECTION[field_name]} }}"
    )
    return Request(field_name, document, {n: v for n, (_t, v) in args.items()}, False)


def _arguments(field: Any, values: Mapping[Path, Any]) -> dict[str, tuple[Any, Any]]:
    """Each argument the values touch: its type and its value."""
    args: dict[str, tuple[Any, Any]] = {}
    for path, payload in values.items():
        arg = path[0]
        arg_type = field.args[arg].type
        if len(path) == 1:
            args[arg] = (arg_type, payload)
            continue
        current = args.get(arg, (arg_type, None))[1]
        if path[1:] == ("0",):
            args[arg] = (arg_type, [payload])
            continue
        named = graphql.get_named_type(arg_type)
        value = current if isinstance(current, dict) else required_values(named)
        set_at(value, named, path[1:], payload)
        args[arg] = (arg_type, value)
    return args


def send(
    api: Api, request: Request, token: str | None = None, *, fits: bool = True
) -> tuple[Any, float]:
    """Post the request; ``fits``: assert that the body is within the 64 KiB limit.

    Returns the response and the CPU seconds this process spent on it: the service runs
    in-process (the test client), and unlike the wall clock its CPU time does not grow
    when other processes load the machine (parallel test workers, CI neighbours)."""
    # json, not orjson: values may be integers far beyond 64 bits.
    envelope = {"query": request.document, "variables": request.variables}
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
    assert not fits or len(body) <= MAX_BODY_BYTES
    started = time.process_time()
    response = post_raw(api, body, token=token)
    return response, time.process_time() - started
