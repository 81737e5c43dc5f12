"""Error messages are written for people: grammatical, and never an echo of the raw
input structure (a Python dict or list, or a GraphQL object literal). Their codes and
paths are the SPEC's and do not change with the wording."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api_client import Api, World

CREATE_CLASS = """mutation($i: CreateCustomerClassInput!) {
  createCustomerClass(input: $i) { userErrors { code field message } } }"""
CLASSES = """query($f: CustomerClassFilter, $o: CustomerClassOrder! = {field: NAME}) {
  customerClasses(filter: $f, orderBy: $o) { totalCount } }"""
CUSTOMERS = "query($f: CustomerFilter) { customers(filter: $f) { totalCount } }"
TEMPLATE = """mutation($i: CreateNamedCatalogEntryInput!) {
  createInvoiceTemplate(input: $i) { userErrors { code field message } } }"""
NOTIFICATION_SET = """mutation($i: CreateNamedCatalogEntryInput!) {
  createNotificationSet(input: $i) { userErrors { code field message } } }"""
BUSINESS_MODEL = """mutation($i: CreateBusinessModelInput!) {
  createBusinessModel(input: $i) { userErrors { code field message } } }"""

# (query, variables): documents and variables a careless or hostile client may send.
ODD_INPUTS: list[tuple[str, dict[str, Any]]] = [
    (CREATE_CLASS, {"i": {"name": "x", "unknown": 1}}),
    (CREATE_CLASS, {"i": {"name": {"nested": {"deeper": [1, 2]}}}}),
    (CREATE_CLASS, {"i": {"name": ["a", "list"]}}),
    (CREATE_CLASS, {"i": [1, 2]}),
    (CREATE_CLASS, {"i": {"name": "x", "regularInvoices": {"paymentTerms": {"netDays": {}}}}}),
    (CREATE_CLASS, {"i": {"name": "x", "customFieldIds": [{"id": 1}]}}),
    (CREATE_CLASS, {"i": {"name": "x", "sharedWithResellers": {"yes": True}}}),
    (CLASSES, {"f": {"currencyCode": {"code": "USD"}}}),
    (CLASSES, {"f": {"unknown": 1}}),
    (CLASSES, {"f": {"managedBy": [{"kind": "RESELLER"}]}}),
    (CLASSES, {"o": {"field": {"name": "NAME"}}}),
    (CUSTOMERS, {"f": {"parentId": {"id": 1}}}),
    ("{ customerClasses(filter: {unknown: 1}) { totalCount } }", {}),
    ('{ customerClasses(filter: [{nameContains: "a"}]) { totalCount } }', {}),
    ("{ customers(first: [1, 2]) { totalCount } }", {}),
]


def messages(body: dict[str, Any]) -> list[str]:
    found = [error["message"] for error in body.get("errors") or []]
    for payload in (body.get("data") or {}).values():
        if isinstance(payload, dict):
            found += [error["message"] for error in payload.get("userErrors") or []]
    return found


ECHO = re.compile(r"\{'|\['|\{\s*\w+:|: \[|: \{")
# "a" before a word that starts with a vowel sound ("a InvoiceTemplate", "a INTEGER").
BAD_ARTICLE = re.compile(r"\b[Aa] (?!one\b|uni|use|UTC|USD)[AEIOUaeiou]")


def assert_readable(message: str) -> None:
    assert not ECHO.search(message), message
    assert not BAD_ARTICLE.search(message), message


@pytest.mark.parametrize(("query", "variables"), ODD_INPUTS)
def test_odd_inputs_get_messages_without_raw_structures(
    api: Api, world: World, query: str, variables: dict[str, Any]
) -> None:
    for token in (None, world.a.token):
        body = api.run(query, variables, token)
        assert body.get("errors"), body
        for message in messages(body):
            assert_readable(message)


def test_variable_messages_keep_their_code_and_say_what_was_found(api: Api) -> None:
    body = api.run(CREATE_CLASS, {"i": {"name": "x", "unknown": 1}})
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["message"] == (
        "Variable '$i' has invalid value: Expected value of type 'CreateCustomerClassInput'"
        " not to include unknown field 'unknown', found: an object."
    )
    body = api.run(CREATE_CLASS, {"i": {"name": ["a", "list"]}})
    assert body["errors"][0]["message"] == (
        "Variable '$i' has invalid value at .name: String cannot represent a non string"
        " value: a list."
    )
    body = api.run("{ customerClasses(filter: {unknown: 1}) { totalCount } }")
    [error] = body["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert error["message"].endswith("not to include unknown field 'unknown', found: an object.")


@pytest.mark.parametrize(
    ("query", "noun"),
    [(TEMPLATE, "invoice templates"), (NOTIFICATION_SET, "notification sets")],
)
def test_catalog_refusals_name_the_catalog_in_words(
    api: Api, world: World, query: str, noun: str
) -> None:
    body = api.run(query, {"i": {"name": "Entry"}}, world.a.token)
    [error] = body["errors"]
    assert error["extensions"] == {"code": "FORBIDDEN"}
    assert error["path"] == [query.split("{")[1].split("(")[0].strip()]
    assert error["message"] == f"Only administrators may create {noun}."


def test_catalog_name_and_code_collisions_read_well(api: Api) -> None:
    for query in (TEMPLATE, NOTIFICATION_SET):
        api.run(query, {"i": {"name": "Twice"}})
        body = api.run(query, {"i": {"name": "Twice"}})
        [payload] = body["data"].values()
        [error] = payload["userErrors"]
        assert (error["code"], error["field"]) == ("TAKEN", ["input", "name"])
        assert_readable(error["message"])
        assert "template" in error["message"] or "notification set" in error["message"]
    model = {"code": "same", "name": "First"}
    api.run(BUSINESS_MODEL, {"i": model})
    body = api.run(BUSINESS_MODEL, {"i": {"code": "same", "name": "Second"}})
    [error] = body["data"]["createBusinessModel"]["userErrors"]
    assert (error["code"], error["field"]) == ("TAKEN", ["input", "code"])
    assert_readable(error["message"])
