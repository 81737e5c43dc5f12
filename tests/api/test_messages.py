"""Error messages are written for people and grammatical. Their codes and paths are the
SPEC's and do not change with the wording."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api_client import Api, World

TEMPLATE = """mutation($i: CreateNamedCatalogEntryInput!) {
  createInvoiceTemplate(input: $i) { userErrors { code field message } } }"""
NOTIFICATION_SET = """mutation($i: CreateNamedCatalogEntryInput!) {
  createNotificationSet(input: $i) { userErrors { code field message } } }"""
BUSINESS_MODEL = """mutation($i: CreateBusinessModelInput!) {
  createBusinessModel(input: $i) { userErrors { code field message } } }"""


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
