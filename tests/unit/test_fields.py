"""Single values (SPEC §3 names, §5 "Numbers"): decimals, money, percentages, names,
e-mail addresses and datetimes, with table-driven cases and hypothesis properties."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenancy import fields
from tenancy.errors import BadUserInput
from tenancy.errors import UserErrorCode as Code

INVALID, OUT_OF_RANGE, REQUIRED, TOO_LONG = (
    Code.INVALID,
    Code.OUT_OF_RANGE,
    Code.REQUIRED,
    Code.TOO_LONG,
)


def code_of(result: tuple[object, tuple[Code, str] | None]) -> Code | None:
    return None if result[1] is None else result[1][0]


# --------------------------------------------------------------------------- decimals


@pytest.mark.parametrize(
    ("raw", "value", "places"),
    [
        ("0", Decimal(0), 0),
        ("12", Decimal(12), 0),
        ("12.5", Decimal("12.5"), 1),
        ("12.50", Decimal("12.50"), 2),
        ("-3.25", Decimal("-3.25"), 2),
        ("0.000001", Decimal("0.000001"), 6),
        ("999999999999", Decimal("999999999999"), 0),  # 12 integer digits
        ("999999999999.999999", Decimal("999999999999.999999"), 6),
        ("-999999999999", Decimal("-999999999999"), 0),
        ("007", Decimal(7), 0),
        ("-0", Decimal(0), 0),
    ],
)
def test_decimal_grammar_accepts(raw: str, value: Decimal, places: int) -> None:
    parsed, decimals = fields.parse_decimal(raw)
    assert parsed == value
    assert decimals == places
    assert not parsed.is_signed() or parsed < 0  # "-0" is plain zero


@pytest.mark.parametrize(
    "raw",
    [
        "1e3",
        "1E3",
        "1.5e-2",
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        "",
        " ",
        " 1",
        "1 ",
        "1\n",
        "+1",
        "1.",
        ".5",
        "-.5",
        "--1",
        "1,5",
        "1_000",
        "0x10",
        "١٢",  # Arabic-Indic digits are not [0-9]
        "1000000000000",  # 13 integer digits
        "-1000000000000",
        "0000000000001",  # 13 integer digits as written
        "1.2.3",
        12,
        12.5,
        0,
        True,
        None,
        [],
        {},
        Decimal("1.5"),
    ],
)
def test_decimal_grammar_refuses(raw: object) -> None:
    assert fields.parse_decimal(raw) == (None, 0)


DECIMAL_TEXT = st.from_regex(r"-?[0-9]{1,12}(\.[0-9]{1,8})?", fullmatch=True)


@settings(max_examples=200)
@given(DECIMAL_TEXT)
def test_decimal_grammar_property(text: str) -> None:
    value, places = fields.parse_decimal(text)
    assert value == Decimal(text)
    assert places == (len(text.split(".")[1]) if "." in text else 0)


@settings(max_examples=200)
@given(st.text(max_size=20) | DECIMAL_TEXT)
def test_decimal_parse_accepts_exactly_the_grammar(text: str) -> None:
    """The grammar the Decimal scalar publishes (its description) is what is accepted."""
    value, _places = fields.parse_decimal(text)
    grammar = re.fullmatch(fields.DECIMAL_GRAMMAR, text)
    integer_digits = len(text.lstrip("-").split(".")[0])
    expected = grammar is not None and integer_digits <= fields.MAX_INTEGER_DIGITS
    assert (value is not None) == expected


@settings(max_examples=100)
@given(st.floats(allow_nan=True, allow_infinity=True) | st.integers())
def test_json_numbers_are_never_decimals(number: float) -> None:
    assert fields.parse_decimal(number) == (None, 0)
    assert code_of(fields.check_money(number, 2, "m")) == INVALID
    assert code_of(fields.check_percent(number, "p")) == INVALID


# --------------------------------------------------------------------------- money

# ISO 4217 minor units: JPY 0, USD 2, BHD 3; 6 for a class without currency.
MONEY_DECIMALS = {"JPY": 0, "USD": 2, "BHD": 3, None: fields.DEFAULT_MONEY_DECIMALS}


def test_currency_minor_units_are_iso_4217() -> None:
    from tenancy import catalogs

    assert catalogs.MINOR_UNITS["JPY"] == 0
    assert catalogs.MINOR_UNITS["USD"] == 2
    assert catalogs.MINOR_UNITS["BHD"] == 3
    assert fields.DEFAULT_MONEY_DECIMALS == 6


@pytest.mark.parametrize(
    ("currency", "raw", "out"),
    [
        ("JPY", "2", "2"),
        ("JPY", "0", "0"),
        ("JPY", "1500", "1500"),
        ("USD", "12.5", "12.50"),
        ("USD", "1.5", "1.50"),
        ("USD", "12", "12.00"),
        ("USD", "0.01", "0.01"),
        ("USD", "0", "0.00"),
        ("USD", "-0", "0.00"),
        ("USD", "999999999999.99", "999999999999.99"),
        ("BHD", "1.5", "1.500"),
        ("BHD", "1.234", "1.234"),
        (None, "1.5", "1.500000"),
        (None, "0.123456", "0.123456"),
    ],
)
def test_money_accepts_and_formats(currency: str | None, raw: str, out: str) -> None:
    assert fields.check_money(raw, MONEY_DECIMALS[currency], "price") == (out, None)


@pytest.mark.parametrize(
    ("currency", "raw", "code"),
    [
        ("JPY", "1.5", INVALID),
        ("JPY", "1.0", INVALID),  # more decimals than the currency has, even zeros
        ("USD", "12.505", INVALID),
        ("USD", "1.500", INVALID),
        ("BHD", "1.2345", INVALID),
        (None, "0.1234567", INVALID),
        ("USD", "-1", OUT_OF_RANGE),
        ("USD", "-0.01", OUT_OF_RANGE),
        ("JPY", "-5", OUT_OF_RANGE),
        ("USD", "1e2", INVALID),
        ("USD", "NaN", INVALID),
        ("USD", "Infinity", INVALID),
        ("USD", "", INVALID),
        ("USD", "  ", INVALID),
        ("USD", 12.5, INVALID),
        ("USD", 12, INVALID),
        ("USD", None, INVALID),
        ("USD", "1000000000000", INVALID),
    ],
)
def test_money_refuses(currency: str | None, raw: object, code: Code) -> None:
    value, problem = fields.check_money(raw, MONEY_DECIMALS[currency], "price")
    assert value is None
    assert problem is not None and problem[0] == code


@pytest.mark.parametrize(("raw", "code"), [("0", OUT_OF_RANGE), ("0.00", OUT_OF_RANGE)])
def test_positive_money_refuses_zero(raw: str, code: Code) -> None:
    assert code_of(fields.check_money(raw, 2, "fee", positive=True)) == code
    assert fields.check_money("0.01", 2, "fee", positive=True) == ("0.01", None)
    assert fields.check_money(raw, 2, "threshold") == ("0.00", None)


@settings(max_examples=200)
@given(
    st.sampled_from(sorted(MONEY_DECIMALS, key=str)),
    st.integers(min_value=0, max_value=10**12 - 1),
    st.integers(min_value=0, max_value=7),
    st.data(),
)
def test_money_property(currency: str | None, whole: int, places: int, data: st.DataObject) -> None:
    decimals = MONEY_DECIMALS[currency]
    fraction = data.draw(st.integers(min_value=0, max_value=10**places - 1)) if places else 0
    raw = f"{whole}.{fraction:0{places}d}" if places else str(whole)
    value, problem = fields.check_money(raw, decimals, "price")
    if places > decimals:
        assert value is None and problem is not None and problem[0] == INVALID
        return
    assert problem is None
    assert value is not None
    assert Decimal(value) == Decimal(raw)  # exact, never a float
    integer, _sep, decimal_part = value.partition(".")
    assert len(decimal_part) == decimals
    assert (_sep == ".") == (decimals > 0)
    assert integer == str(whole)
    # Accepted output is itself accepted unchanged (idempotent normalisation).
    assert fields.check_money(value, decimals, "price") == (value, None)


@settings(max_examples=100)
@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6
    )
)
def test_negative_money_is_out_of_range(amount: Decimal) -> None:
    raw = f"{amount:f}"
    value, problem = fields.check_money(raw, 2, "price")
    if amount < 0:
        assert problem is not None and problem[0] == OUT_OF_RANGE
    else:
        assert value == f"{amount:.2f}"


# --------------------------------------------------------------------------- percentages


@pytest.mark.parametrize(
    ("raw", "out"),
    [("0", "0"), ("20", "20"), ("20.5", "20.5"), ("7.1234", "7.1234"), ("100", "100")],
)
def test_percent_accepts(raw: str, out: str) -> None:
    value, problem = fields.check_percent(raw, "rate")
    assert problem is None
    assert value is not None
    assert Decimal(value) == Decimal(out)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("7.12345", INVALID),  # at most 4 decimals
        ("0.00001", INVALID),
        ("100.0001", OUT_OF_RANGE),
        ("101", OUT_OF_RANGE),
        ("-0.0001", OUT_OF_RANGE),
        ("-1", OUT_OF_RANGE),
        ("1e1", INVALID),
        ("NaN", INVALID),
        (20, INVALID),
        (20.5, INVALID),
        ("", INVALID),
    ],
)
def test_percent_refuses(raw: object, code: Code) -> None:
    assert code_of(fields.check_percent(raw, "rate")) == code


@settings(max_examples=100)
@given(st.decimals(min_value=0, max_value=100, places=4, allow_nan=False))
def test_percent_property(rate: Decimal) -> None:
    value, problem = fields.check_percent(f"{rate:f}", "rate")
    assert problem is None
    assert value is not None
    assert Decimal(value) == rate


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "out"),
    [
        ("Retail", "Retail"),
        ("  Retail \t\n", "Retail"),
        ("Business customers", "Business customers"),
        ("e\u0301t\u00e9", "\u00e9t\u00e9"),  # NFC: e + combining acute -> é
        ("x" * 100, "x" * 100),
        (" " + "y" * 100 + " ", "y" * 100),
        ("e\u0301" * 100, "\u00e9" * 100),  # 200 code points, 100 after NFC
        ("e\u0301" * 100 + " " * 200, "\u00e9" * 100),  # 400 code points as given
        ("Ünïcödé 名前 😀", "Ünïcödé 名前 😀"),
        # Joiners between two letters are part of some scripts' spelling.
        *((persian, persian) for persian in ["\u0645\u06cc\u200c\u062e\u0648\u0627\u0645"]),
        ("\u0915\u094d\u200d\u0937", "\u0915\u094d\u200d\u0937"),  # KA VIRAMA ZWJ SSA
        ("a\u200db", "a\u200db"),
        ("ß" * 100, "ß" * 100),  # key "ss" * 100
        ("\ufb03" * 100, "\ufb03" * 100),  # ﬃ: key "ffi" * 100
        ("\u0130" * 100, "\u0130" * 100),  # İ: key "i\u0307" * 100
        ("\u0390" * 100, "\u0390" * 100),  # ΐ: key of 300 characters
    ],
)
def test_names_accepted(raw: str, out: str) -> None:
    assert fields.check_name(raw) == (out, None)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", REQUIRED),
        ("   ", REQUIRED),
        ("\t\n", REQUIRED),
        (None, REQUIRED),
        ("x" * 101, TOO_LONG),
        ("e\u0301" * 101, TOO_LONG),
        ("Re\ntail", INVALID),
        ("Re\x00tail", INVALID),
        ("\x00", INVALID),
        ("Re\x1btail", INVALID),
        ("Re\x7ftail", INVALID),
        ("Re\x85tail", INVALID),  # C1 control (NEL)
        ("Re\ttail", INVALID),
        ("\u200b", INVALID),  # a lone zero-width space is not a name
        ("Re\u200btail", INVALID),
        ("Retail\ufeff", INVALID),
        ("\ufeffRetail", INVALID),
        ("\u202eliateR", INVALID),  # right-to-left override
        ("Re\u202atail\u202c", INVALID),  # embedding and pop
        *((f"Re{chr(cp)}tail", INVALID) for cp in range(0x2066, 0x206A)),  # isolates
        ("Re\u00adtail", INVALID),  # soft hyphen
        ("Re\u2060tail", INVALID),  # word joiner
        ("\u200dRetail", INVALID),  # a joiner not between two letters
        ("Retail\u200c", INVALID),
        ("Re \u200ctail", INVALID),
        ("1\u200d2", INVALID),
        ("\U0001f468\u200d\U0001f469", INVALID),  # emoji sequences are not letters
        ("a\u200d\u200db", INVALID),
        ("Re\ud800tail", INVALID),  # unpaired surrogate
        # More than 400 code points as given: TOO_LONG before anything else, even when
        # normalising and stripping would make it short, or blank, or invisible.
        ("e\u0301" * 100 + " " * 201, TOO_LONG),
        (" " * 401, TOO_LONG),
        ("\u200b" * 401, TOO_LONG),
        ("\u0345" * 30_000, TOO_LONG),
        ("\ufdfa" * 30, TOO_LONG),  # one ligature is 18 characters once NFKC'd: key of 540
    ],
)
def test_names_refused(raw: object, code: Code) -> None:
    assert code_of(fields.check_name(raw)) == code


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Stra\u00dfe", "STRASSE"),
        ("e\u0301", "\u00c9"),
        ("\ufb03", "ffi"),  # compatibility ligature
        ("\uff21", "a"),  # full-width letter
        ("\u2460", "1"),  # circled digit
        ("\u0645\u06cc\u200c\u062e", "\u0645\u06cc\u062e"),  # joiners do not count
        ("\u0130", "i\u0307"),
    ],
)
def test_name_key_ignores_case_and_compatibility_forms(one: str, other: str) -> None:
    assert fields.name_key(one) == fields.name_key(other)


def test_name_key_of_the_longest_folding_names_fits() -> None:
    for ch in ("ß", "\ufb03", "\u0130", "\u0390", "\u1e9e"):
        name, problem = fields.check_name(ch * 100)
        assert problem is None and name is not None
        assert len(fields.name_key(name)) <= fields.NAME_KEY_MAX


def test_name_key_refuses_unchecked_text() -> None:
    with pytest.raises(ValueError):
        fields.name_key("\u0345" * 401)


def test_name_filter_key() -> None:
    assert fields.name_filter_key("\uff32ETAIL") == "retail"
    assert fields.name_filter_key("x" * 100) == "x" * 100
    with pytest.raises(BadUserInput):
        fields.name_filter_key("x" * 101)
    with pytest.raises(BadUserInput):
        fields.name_filter_key("\u0345" * 30_000)


def _invisible(text: str) -> bool:
    """The SPEC §3 rule, written out plainly: control and format characters, except a
    joiner between two letters (a letter may carry combining marks)."""

    def is_letter(ch: str) -> bool:
        return unicodedata.category(ch).startswith("L")

    for index, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):
            return True
        if category == "Cf":
            base = index - 1
            while base >= 0 and unicodedata.category(text[base]).startswith("M"):
                base -= 1
            joined = base >= 0 and is_letter(text[base]) and text[index + 1 : index + 2] != ""
            if ch not in fields.JOINERS or not (joined and is_letter(text[index + 1])):
                return True
    return False


NAMEISH = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from("\u200b\u200c\u200d\u202e\u2066\ufeff\u00ad\u0301\u0345 \tß\ufb03"),
    ),
    max_size=120,
)


@settings(max_examples=300)
@given(NAMEISH)
def test_name_property(raw: str) -> None:
    name, problem = fields.check_name(raw)
    if problem is None:
        assert name is not None
        assert name == name.strip()
        assert unicodedata.is_normalized("NFC", name)
        assert 1 <= len(name) <= 100
        assert not _invisible(name)
        assert len(fields.name_key(name)) <= fields.NAME_KEY_MAX
        assert fields.check_name(name) == (name, None)  # idempotent
    else:
        assert name is None
        normalised = unicodedata.normalize("NFC", raw).strip()
        if not normalised:
            assert problem[0] == REQUIRED
        elif _invisible(normalised):
            assert problem[0] == INVALID
        else:
            assert problem[0] == TOO_LONG
            assert len(normalised) > 100 or len(fields.name_key(normalised)) > 400


# --------------------------------------------------------------------------- text


def test_text_trims_and_empty_means_null() -> None:
    assert fields.check_text("  abc  ", 5, "t", strip=True) == ("abc", None)
    assert fields.check_text("   ", 5, "t", strip=True) == (None, None)
    assert fields.check_text("", 5, "t") == (None, None)
    assert fields.check_text(None, 5, "t") == (None, None)
    assert code_of(fields.check_text("abcdef", 5, "t")) == TOO_LONG
    assert fields.check_text(" abcde ", 5, "t", strip=True) == ("abcde", None)
    assert code_of(fields.check_text(5, 5, "t")) == INVALID


def test_text_is_measured_before_anything_else() -> None:
    # Up to four times the limit, white space is trimmed before measuring...
    assert fields.check_text(" " * 15 + "abcde", 5, "t", strip=True) == ("abcde", None)
    # ...beyond that the raw text is TOO_LONG at once, however blank or invalid.
    assert code_of(fields.check_text(" " * 16 + "abcde", 5, "t", strip=True)) == TOO_LONG
    assert code_of(fields.check_text("\x00" * 21, 5, "t")) == TOO_LONG
    assert code_of(fields.check_text("\x00" * 20, 5, "t")) == INVALID
    assert code_of(fields.check_text("a\ud800", 5, "t")) == INVALID


# --------------------------------------------------------------------------- e-mail


@pytest.mark.parametrize(
    ("raw", "out"),
    [
        ("billing@example.com", "billing@example.com"),
        ("  billing@example.com ", "billing@example.com"),
        ("first.last+tag@mail.example.co.uk", "first.last+tag@mail.example.co.uk"),
        ("o'hara@x-y.example.org", "o'hara@x-y.example.org"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_email_accepted(raw: object, out: str | None) -> None:
    assert fields.check_email(raw, "notificationSender") == (out, None)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("billing", INVALID),
        ("billing@", INVALID),
        ("@example.com", INVALID),
        ("billing@example", INVALID),
        ("Billing <billing@example.com>", INVALID),
        ("billing@@example.com", INVALID),
        ("bill ing@example.com", INVALID),
        ("billing@example.com\nBcc: x@y.com", INVALID),
        ("a..b@example.com", INVALID),
        ("billing@-example.com", INVALID),
        ("a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".com", TOO_LONG),
        (42, INVALID),
    ],
)
def test_email_refused(raw: object, code: Code) -> None:
    assert code_of(fields.check_email(raw, "notificationSender")) == code


def test_email_length_limit_is_254() -> None:
    local = "a" * 64
    domain = ".".join(["b" * 61] * 3) + ".com"  # 189 characters
    address = local + "@" + domain
    assert len(address) == 254
    assert fields.check_email(address, "e") == (address, None)
    assert code_of(fields.check_email("a" + address, "e")) == TOO_LONG
    assert code_of(fields.check_email("a" * 250 + "@x.io", "e")) == TOO_LONG


# --------------------------------------------------------------------------- datetimes


@pytest.mark.parametrize(
    ("raw", "utc"),
    [
        ("2027-01-31T00:00:00Z", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-31T00:00:00z", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-31T00:00:00+00:00", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-31T01:30:00+01:30", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-30T19:00:00-05:00", datetime(2027, 1, 31, tzinfo=UTC)),
        ("2027-01-31T00:00:00.250+00:00", datetime(2027, 1, 31, 0, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_datetime_with_offset_is_returned_in_utc(raw: str, utc: datetime) -> None:
    value, problem = fields.check_datetime(raw, "expiresAt")
    assert problem is None
    assert value == utc
    assert value.utcoffset() == timedelta(0)
    assert value.tzinfo == UTC


@pytest.mark.parametrize(
    "raw",
    [
        "2027-01-31T00:00:00",  # no offset
        "2027-01-31",
        "2027-01-31 00:00",
        "31/01/2027",
        "tomorrow",
        "",
        "2027-13-01T00:00:00Z",
        1_800_000_000,
        None,
        "2027-01-31T00:00:00" + "0" * 60 + "Z",
        "2027-01-31T00:00:00Z" + " " * 50,
    ],
)
def test_datetime_refused(raw: object) -> None:
    assert code_of(fields.check_datetime(raw, "expiresAt")) == INVALID


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("9999-12-31T23:59:59-14:00", OUT_OF_RANGE),  # after 9999-12-31 in UTC
        ("9999-12-31T10:00:00-14:00", OUT_OF_RANGE),
        ("0001-01-01T00:00:00+14:00", OUT_OF_RANGE),  # before 0001-01-01 in UTC
        ("0001-01-01T00:00:00+00:01", OUT_OF_RANGE),
        ("9999-12-31T23:59:59.999999Z", None),
        ("9999-12-31T09:59:59-14:00", None),
        ("0001-01-01T00:00:00Z", None),
        ("0001-01-01T14:00:00+14:00", None),
    ],
)
def test_datetime_at_the_edges_of_the_calendar(raw: str, code: Code | None) -> None:
    assert code_of(fields.check_datetime(raw, "expiresAt")) == code


@settings(max_examples=100)
@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.none()
    ),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_datetime_property(local: datetime, offset_minutes: int) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    aware = local.replace(tzinfo=zone)
    value, problem = fields.check_datetime(aware.isoformat(), "at")
    assert problem is None
    assert value == aware
    assert value.tzinfo == UTC
    naive_value, naive_problem = fields.check_datetime(local.isoformat(), "at")
    assert naive_value is None and naive_problem is not None and naive_problem[0] == INVALID
