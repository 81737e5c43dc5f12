"""Property: whatever a reseller puts in any input, the answer is a userError, a
BAD_USER_INPUT or data, never INTERNAL and never HTTP 5xx (SPEC §7 "No INTERNAL from
input", issue 7).

Where tests/reliability/test_fuzz.py generates whole documents, this test keeps the
document valid and aims at the values: it picks a root field, one to three of its inputs
at any depth (every String, ID, Decimal, DateTime and Int input of the contract, found in
the schema by tests/api/input_support.py) and throws at them arbitrary Unicode text
(surrogates excluded: JSON cannot carry them), runs of combining marks, format (Cf) and
control characters, text as long as the body allows, date-times at the edges of the
calendar with any offset, decimals and integers of any size, and real, forged and
malformed global IDs. Catalog mutations, which a reseller may never call, are also run as
the administrator so that their validation is reached.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tenancy.ids import to_global_id
from tests.api.input_support import (
    Leaf,
    Targets,
    admin_targets,
    build,
    leaves,
    reseller_targets,
    send,
)
from tests.api_client import Api, World

INPUTS = leaves(("String", "ID", "Decimal", "DateTime", "Int"))
CATALOG_MUTATIONS = {
    "createBusinessModel",
    "createInvoiceTemplate",
    "createNotificationSet",
    "createCustomFieldDefinition",
    "createCustomTax",
}
MARKS = "\u0345\u035d\u035c\u0315\u0301\u059a\u0316\u031b\u0327\u0334\u0300\u0308"
FORMAT = (
    "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff\u00ad"
)
TYPES = ["CustomerClass", "Customer", "ApiToken", "AuditEvent", "BusinessModel", "CustomTax"]


def texts() -> st.SearchStrategy[str]:
    unicode = st.characters(exclude_categories=["Cs"])
    tricky = st.sampled_from(MARKS + FORMAT + "\x00\t\n\r\x7f\x85 ßﬃİΐＡ%_\\'\"")
    return st.one_of(
        st.text(unicode, max_size=120),
        st.text(st.one_of(tricky, st.sampled_from(string.ascii_letters)), max_size=120),
        st.builds(
            lambda run, n: run * n,
            st.text(st.sampled_from(MARKS), min_size=1, max_size=10),
            st.integers(1, 2_500),
        ),
        st.builds(
            lambda ch, n: ch * n, st.sampled_from("x \u200bß\ufdfa"), st.integers(90, 30_000)
        ),
    )


def date_times() -> st.SearchStrategy[str]:
    offsets = st.integers(-14 * 3600, 14 * 3600).map(lambda s: timezone(timedelta(seconds=s)))
    instants = st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31, 23, 59),
        timezones=st.one_of(st.none(), offsets),
    )
    edges = st.sampled_from(
        [
            "9999-12-31T23:59:59-14:00",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "2099-01-01T00:00:00Z",
            "2000-02-30T00:00:00Z",
            "2027-01-01T24:00:00Z",
            "+2027-01-01T00:00:00Z",
            "2027-01-01T00:00:00+25:00",
        ]
    )
    return st.one_of(instants.map(lambda d: d.isoformat()), edges)


def decimals() -> st.SearchStrategy[str]:
    digits = st.text(st.sampled_from(string.digits), min_size=1, max_size=40)
    return st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False).map(str),
        st.builds(lambda sign, a, b: f"{sign}{a}.{b}", st.sampled_from(["", "-"]), digits, digits),
        st.sampled_from(["NaN", "-Infinity", "1e999999", "1E-999999", "-0", "0.", ".5", "\uff11"]),
    )


def ids(known: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(known),
        st.builds(to_global_id, st.sampled_from(TYPES), st.integers(1, 2**63 - 1)),
        st.builds(
            lambda t, k: to_global_id(t, 0).replace("0", k),
            st.sampled_from(TYPES),
            st.sampled_from(["-1", "9" * 30, "\u0661", "0x10", " 1"]),
        ),
        st.text(st.sampled_from(string.ascii_letters + string.digits + "+/=:"), max_size=200),
    )


def numbers() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(-(2**31), 2**31 - 1),
        st.integers(),  # far beyond GraphQL's Int
        st.floats(allow_nan=False, allow_infinity=False),
    )


def value_for(leaf: Leaf, known: list[str]) -> st.SearchStrategy[Any]:
    by_type: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
        "String": texts,
        "ID": lambda: st.one_of(ids(known), texts()),
        "Decimal": lambda: st.one_of(decimals(), texts()),
        "DateTime": lambda: st.one_of(date_times(), texts()),
        "Int": numbers,
    }
    # Now and then a value of the wrong kind altogether (a refusal by GraphQL coercion).
    wrong = st.one_of(numbers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2))
    return st.one_of(by_type[leaf.scalar](), by_type[leaf.scalar](), by_type[leaf.scalar](), wrong)


def requests(
    known: list[str], mutations: bool
) -> st.SearchStrategy[tuple[str, str, dict[Any, Any]]]:
    fields = sorted(
        {(leaf.root, leaf.field) for leaf in INPUTS if (leaf.root == "Mutation") == mutations}
    )

    @st.composite
    def request(draw: Any) -> tuple[str, str, dict[Any, Any]]:
        root, field = draw(st.sampled_from(fields))
        own = [leaf for leaf in INPUTS if (leaf.root, leaf.field) == (root, field)]
        chosen = draw(st.lists(st.sampled_from(own), min_size=1, max_size=3, unique=True))
        values = {leaf.path: draw(value_for(leaf, known)) for leaf in chosen}
        return root, field, values

    return request()


def answer_problem(response: Any) -> str:
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    if response.status_code == 413:
        return ""  # the 64 KiB body limit, before anything else
    body = response.json()
    codes = [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]
    if "INTERNAL" in codes or None in codes:
        return f"{codes}: {str(body)[:500]}"
    return ""


@pytest.fixture
def setup(api: Api, world: World) -> tuple[list[str], Targets, Targets]:
    catalog = api.data("{ businessModels { id } }")
    known = [
        *world.ids(),
        *(n["id"] for n in catalog["businessModels"]),
    ]
    return known, reseller_targets(api, world), admin_targets(api, world)


# A failing example with 30,000 characters has a large repr: show it all the same.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

PROPERTY = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@pytest.mark.parametrize(("kind", "examples"), [("queries", 120), ("mutations", 180)])
def test_no_input_yields_internal_or_5xx(
    api: Api, world: World, setup: tuple[list[str], Targets, Targets], kind: str, examples: int
) -> None:
    known, as_reseller, as_admin = setup

    @settings(PROPERTY, max_examples=examples)
    @given(requests(known, mutations=kind == "mutations"))
    def property_(drawn: tuple[str, str, dict[Any, Any]]) -> None:
        root, field, values = drawn
        request = build(root, field, values, as_reseller)
        response, _seconds = send(api, request, world.a.token, fits=False)
        assert not answer_problem(response), (
            answer_problem(response),
            request.document,
            str(request.variables)[:1000],
        )
        if field in CATALOG_MUTATIONS:
            request = build(root, field, values, as_admin)
            response, _seconds = send(api, request, fits=False)
            assert not answer_problem(response), (
                answer_problem(response),
                str(request.variables)[:1000],
            )

    property_()
    # The reseller's token still works: nothing it sent broke the service.
    assert api.data("{ viewer { role } }", token=world.a.token) == {"viewer": {"role": "RESELLER"}}
