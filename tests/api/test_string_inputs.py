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
null result for a filter or lookup) within a generous 1 s of the process's CPU time (not
wall time, which other load on the machine stretches); the quadratic code took seconds.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from gql.limits import MAX_BODY_BYTES
from tests.api.input_support import Leaf, Request, Targets, admin_targets, build, leaves, send
from tests.api.protection_support import post_raw
from tests.api_client import Api, World

# Descending canonical combining classes: the worst case of canonical reordering.
MARKS = "\u0345\u035d\u035c\u0315\u0301\u059a\u0316\u031b\u0327\u0334"
BOUND_SECONDS = 1.0
INPUTS = leaves(("String", "ID", "Decimal", "DateTime"))


def marks(length: int) -> str:
    return (MARKS * (length // len(MARKS) + 1))[:length]


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
    "url": 2048,
}


def ceiling(item: Leaf) -> int:
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


def request_with(item: Leaf, payload: str, targets: Targets) -> Request:
    return build(item.root, item.field, {item.path: payload}, targets)


def body_filling(item: Leaf, targets: Targets) -> str:
    """The longest payload whose request body still fits the 64 KiB limit."""
    probe = request_with(item, "", targets)
    overhead = len(orjson.dumps({"query": probe.document, "variables": probe.variables}))
    return marks((MAX_BODY_BYTES - overhead - 64) // 2)  # each mark is 2 bytes in UTF-8


def problem_with(item: Leaf, request: Request, response: Any, beyond: bool) -> str:
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


def test_combining_marks_in_every_string_input_answer_at_once(api: Api, world: World) -> None:
    """One world for every input (a world per input would take minutes); every input is
    tried and every failure listed."""
    targets = admin_targets(api, world)
    problems: list[str] = []
    for item in INPUTS:
        payloads = {
            "at its maximum": marks(ceiling(item)),
            "beyond its maximum": body_filling(item, targets),
        }
        for when, payload in payloads.items():
            request = request_with(item, payload, targets)
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
        request = Request("customers", document, {"q": marks(length)}, False)
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
    started = time.process_time()  # CPU, as in input_support.send
    response = post_raw(api, orjson.dumps({"query": document % name}))
    seconds = time.process_time() - started
    assert response.status_code == 200, response.text[:300]
    errors = response.json()["data"]["createCustomerClass"]["userErrors"]
    assert errors == [{"field": ["input", "name"], "code": "TOO_LONG"}]
    assert seconds < BOUND_SECONDS, seconds
