"""Property-based round trips through the API (SPEC §5 "Numbers" and the day lists):
whatever updateCustomerClass accepts comes back unchanged from a query (money: the same
Decimal value with exactly the currency's decimals), and it accepts exactly what the
rules allow. One class per test function, reused across examples."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.api_client import Api
from tests.support.errors import errors_of

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

PAST_DUE = (
    "collectionThreshold lateFee reactivationFee resendInvoiceDays limitServiceAfterDays"
    " limitationNoticeDays suspendAfterDays suspensionNoticeDays terminateAfterDays"
    " terminationNoticeDays"
)
FIELDS = f"""
  id version
  measuredServices {{ pricePerItem }}
  regularInvoices {{
    paymentTerms {{ netDays dueDateReminderDays }}
    pastDue {{ {PAST_DUE} }}
  }}
  outOfTurnInvoices {{ pastDue {{ {PAST_DUE} }} }}
  fraudProtection {{ dailySpendingThreshold }}
"""
SELECTION = "customerClass {" + FIELDS + "}"
QUERY = "query($id: ID!) { customerClass(id: $id) {" + FIELDS + "} }"


def create_class(api: Api, name: str, currency: str | None, **tabs: Any) -> str:
    data: dict[str, Any] = {"name": name, **tabs}
    if currency is not None:
        data["currencyCode"] = currency
    payload = api.ok("createCustomerClass", data, selection="customerClass { id }")
    found: str = payload["customerClass"]["id"]
    return found


def update(api: Api, class_id: str, **patch: Any) -> dict[str, Any]:
    return api.mutate("updateCustomerClass", {"id": class_id, **patch}, selection=SELECTION)


def read(api: Api, class_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.data(QUERY, {"id": class_id})["customerClass"]
    return found


def codes(payload: dict[str, Any]) -> set[tuple[str, tuple[str, ...]]]:
    return {(e["code"], tuple(e["field"])) for e in payload["userErrors"]}


ANY_DAYS = st.lists(st.integers(min_value=-3, max_value=400), max_size=12)


def ordered_days(low: int, high: int, *, decreasing: bool) -> st.SearchStrategy[list[int]]:
    """Lists the rules accept (distinct, ordered, in range, at most 10) about half the
    time, and arbitrary lists otherwise."""
    valid = st.lists(st.integers(min_value=low, max_value=high), unique=True, max_size=10).map(
        lambda days: sorted(days, reverse=decreasing)
    )
    return st.one_of(valid, ANY_DAYS)


# --------------------------------------------------------------------------- day lists


@pytest.fixture
def usd_class(api: Api) -> str:
    # Steps far enough apart that any notice list within 1..step is in range.
    return create_class(
        api,
        "Day lists",
        "USD",
        regularInvoices={
            "paymentTerms": {"netDays": 30},
            "pastDue": {
                "limitServiceAfterDays": 20,
                "suspendAfterDays": 200,
                "terminateAfterDays": 3650,
            },
        },
    )


def strictly(days: list[int], decreasing: bool) -> bool:
    pairs = itertools.pairwise(days)
    return all((a > b) if decreasing else (a < b) for a, b in pairs)


@EXAMPLES
@given(days=ordered_days(0, 365, decreasing=False))
def test_resend_invoice_days_round_trip(api: Api, usd_class: str, days: list[int]) -> None:
    before = read(api, usd_class)
    payload = update(api, usd_class, regularInvoices={"pastDue": {"resendInvoiceDays": days}})
    valid = len(days) <= 10 and all(0 <= d <= 365 for d in days) and strictly(days, False)
    event("accepted" if valid else "refused")
    if valid:
        assert payload["userErrors"] == []
        stored = read(api, usd_class)
        assert stored["regularInvoices"]["pastDue"]["resendInvoiceDays"] == days
        assert payload["customerClass"]["regularInvoices"]["pastDue"]["resendInvoiceDays"] == days
    else:
        path = ("input", "regularInvoices", "pastDue", "resendInvoiceDays")
        found = codes(payload)
        assert found, days
        assert all(code in {"OUT_OF_RANGE", "INVALID"} for code, _ in found)
        assert all(field[: len(path)] == path for _, field in found)
        assert read(api, usd_class) == before


@EXAMPLES
@given(days=ordered_days(1, 29, decreasing=True))
def test_due_date_reminder_days_round_trip(api: Api, usd_class: str, days: list[int]) -> None:
    payload = update(
        api, usd_class, regularInvoices={"paymentTerms": {"dueDateReminderDays": days}}
    )
    valid = len(days) <= 10 and all(1 <= d <= 29 for d in days) and strictly(days, True)
    event("accepted" if valid else "refused")
    if valid:
        assert payload["userErrors"] == []
        terms = read(api, usd_class)["regularInvoices"]["paymentTerms"]
        assert terms == {"netDays": 30, "dueDateReminderDays": days}
    else:
        found = codes(payload)
        assert found and all(code in {"OUT_OF_RANGE", "INVALID"} for code, _ in found), days


@EXAMPLES
@given(
    which=st.sampled_from(
        [
            ("limitationNoticeDays", 20),
            ("suspensionNoticeDays", 200),
            ("terminationNoticeDays", 3650),
        ]
    ),
    data=st.data(),
)
def test_notice_days_round_trip(
    api: Api, usd_class: str, which: tuple[str, int], data: st.DataObject
) -> None:
    key, step = which
    days = data.draw(ordered_days(1, step, decreasing=True), label="days")
    payload = update(api, usd_class, regularInvoices={"pastDue": {key: days}})
    valid = len(days) <= 10 and all(1 <= d <= step for d in days) and strictly(days, True)
    event("accepted" if valid else "refused")
    if valid:
        assert payload["userErrors"] == []
        assert read(api, usd_class)["regularInvoices"]["pastDue"][key] == days
    else:
        found = codes(payload)
        assert found and all(code in {"OUT_OF_RANGE", "INVALID"} for code, _ in found), days


# --------------------------------------------------------------------------- money

MINOR_UNITS = {"USD": 2, "JPY": 0, "BHD": 3, None: 6}
DECIMAL_RE = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")

# Mostly well-formed decimal strings (some with too many decimals, some negative), plus
# some strings outside the grammar.
MONEY_TEXT = st.one_of(
    st.from_regex(r"-?[0-9]{1,13}(\.[0-9]{1,7})?", fullmatch=True),
    st.builds(
        lambda whole, places, digits: f"{whole}.{digits[:places]}" if places else str(whole),
        st.integers(min_value=0, max_value=10**12 - 1),
        st.integers(min_value=0, max_value=3),
        st.from_regex(r"[0-9]{3}", fullmatch=True),
    ),
    st.sampled_from(["1e3", "NaN", "Infinity", "", " 1", "1.", ".5", "+1", "0x1"]),
)


def expected_money(raw: str, decimals: int, *, positive: bool = False) -> str | None:
    """The stored form of ``raw``, or None when the rules refuse it."""
    match = DECIMAL_RE.fullmatch(raw)
    if match is None or len(match.group(1)) > 12:
        return None
    if len(match.group(2) or "") > decimals:
        return None
    value = Decimal(raw)
    if value == 0:
        value = abs(value)  # "-0" is zero
    if value < 0 or (positive and value == 0):
        return None
    return f"{value:.{decimals}f}"


def money_fixture(currency: str | None) -> Any:
    @pytest.fixture
    def fixture(api: Api) -> str:
        tabs: dict[str, Any] = {
            "regularInvoices": {"pastDue": {"suspendAfterDays": 5}},
        }
        return create_class(api, f"Money {currency}", currency, **tabs)

    return fixture


usd_money = money_fixture("USD")
jpy_money = money_fixture("JPY")
bhd_money = money_fixture("BHD")
any_money = money_fixture(None)


def check_money_round_trip(api: Api, class_id: str, currency: str | None, raw: str) -> None:
    decimals = MINOR_UNITS[currency]
    before = read(api, class_id)
    patch: dict[str, Any] = {
        "measuredServices": [
            {"parameter": "ACTIVE_CALLS", "chargeBasedOn": "AVERAGE", "pricePerItem": raw}
        ],
        "regularInvoices": {"pastDue": {"collectionThreshold": raw}},
    }
    payload = update(api, class_id, **patch)
    out = expected_money(raw, decimals)
    event("accepted" if out is not None else "refused")
    if out is None:
        assert payload["userErrors"], raw
        assert {e["code"] for e in payload["userErrors"]} <= {"INVALID", "OUT_OF_RANGE"}
        assert read(api, class_id) == before
    else:
        assert payload["userErrors"] == [], raw
        state = read(api, class_id)
        price = state["measuredServices"][0]["pricePerItem"]
        threshold = state["regularInvoices"]["pastDue"]["collectionThreshold"]
        for value in (price, threshold):
            assert value == out
            assert Decimal(value) == Decimal(raw)
            assert len(value.partition(".")[2]) == decimals
    # Fees and the fraud threshold must be > 0.
    fees: dict[str, Any] = {
        "regularInvoices": {"pastDue": {"lateFee": raw, "reactivationFee": raw}}
    }
    if currency is not None:
        fees["fraudProtection"] = {"dailySpendingThreshold": raw}
    payload = update(api, class_id, **fees)
    positive = expected_money(raw, decimals, positive=True)
    if positive is None:
        assert payload["userErrors"], raw
    else:
        assert payload["userErrors"] == [], raw
        state = read(api, class_id)
        policy = state["regularInvoices"]["pastDue"]
        assert policy["lateFee"] == policy["reactivationFee"] == positive
        if currency is not None:
            assert state["fraudProtection"]["dailySpendingThreshold"] == positive


@EXAMPLES
@given(raw=MONEY_TEXT)
def test_money_round_trip_usd(api: Api, usd_money: str, raw: str) -> None:
    check_money_round_trip(api, usd_money, "USD", raw)


@EXAMPLES
@given(raw=MONEY_TEXT)
def test_money_round_trip_jpy(api: Api, jpy_money: str, raw: str) -> None:
    check_money_round_trip(api, jpy_money, "JPY", raw)


@EXAMPLES
@given(raw=MONEY_TEXT)
def test_money_round_trip_bhd(api: Api, bhd_money: str, raw: str) -> None:
    check_money_round_trip(api, bhd_money, "BHD", raw)


@EXAMPLES
@given(raw=MONEY_TEXT)
def test_money_round_trip_without_currency(api: Api, any_money: str, raw: str) -> None:
    check_money_round_trip(api, any_money, None, raw)


@EXAMPLES
@given(number=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_json_numbers_are_never_money(api: Api, usd_money: str, number: float) -> None:
    payload = update(api, usd_money, regularInvoices={"pastDue": {"collectionThreshold": number}})
    assert errors_of(payload) == [
        ("INVALID", ["input", "regularInvoices", "pastDue", "collectionThreshold"])
    ]
