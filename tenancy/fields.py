"""Rules for single values: names, texts, e-mail addresses, decimals, money, datetimes.

Each ``check_*`` function returns ``(value, error)``: the normalised value, or a
``(code, message)`` pair explaining why the input is refused. Callers attach the path.

No input may cost time super-linear in its length (SPEC §7 "CPU and memory"): Unicode
normalisation is quadratic in a run of combining marks, so every function here looks at
the raw length first and refuses anything longer than its ceiling before any other work.
The ceiling of free text is ``RAW_FACTOR`` times its limit (the slack for white space
that trimming removes); names have the 400 code points of SPEC §3, which is the same.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

from db.models import NAME_KEY_LENGTH
from tenancy.errors import BadUserInput, Path
from tenancy.errors import UserErrorCode as Code
from tenancy.ids import audit_key, decode

Problem = tuple[Code, str]

NAME_MAX = 100
# Code points of a raw name: longer is TOO_LONG before any normalisation (SPEC §3).
NAME_RAW_MAX = 400
# Case folding can triple a name and NFKC expands some characters further (SPEC §3).
NAME_KEY_MAX = NAME_KEY_LENGTH
# nameContains filters (SPEC §3): longer is a top-level BAD_USER_INPUT.
NAME_FILTER_MAX = 100
DESCRIPTION_MAX = 500
EMAIL_MAX = 254
# Raw text longer than this many times its limit is TOO_LONG before it is even trimmed.
RAW_FACTOR = 4
# The longest Decimal and DateTime strings worth parsing: a valid decimal has at most
# 1 + 12 + 1 + 6 characters, an ISO 8601 date-time with offset and microseconds 32.
DECIMAL_RAW_MAX = 40
DATETIME_RAW_MAX = 64

# Zero-width non-joiner and joiner: the only format characters a name may hold, and only
# between two letters, where some scripts (Persian, Indic) need them (SPEC §3).
JOINERS = "\u200c\u200d"

# The Decimal input grammar as published (the scalar's description), and the same pattern
# with groups for the integer and fractional digits.
DECIMAL_GRAMMAR = r"-?[0-9]+(\.[0-9]+)?"
_DECIMAL = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
# Money without a class currency keeps this many decimals (SPEC §5 "Numbers").
DEFAULT_MONEY_DECIMALS = 6
PERCENT_DECIMALS = 4
MAX_INTEGER_DIGITS = 12


def name_key(name: str) -> str:
    """The key that makes names unique ignoring case and compatibility forms, identical
    on SQLite and PostgreSQL: ``casefold(NFKC(name))`` without U+200C/U+200D, so that
    the ligature "ﬃ" and "ffi", a full-width "A" and "a", "Straße" and "STRASSE" are one
    name (SPEC §3).

    Takes a name that passed ``check_name`` (or a filter that passed
    ``name_filter_key``'s length check): normalisation is quadratic in the worst case,
    so longer text is refused here rather than normalised.
    """
    if len(name) > NAME_RAW_MAX:
        raise ValueError("name_key takes a checked name")
    key = unicodedata.normalize("NFKC", name).casefold()
    return key.replace(JOINERS[0], "").replace(JOINERS[1], "")


def check_name(raw: object, what: str = "Name") -> tuple[str | None, Problem | None]:
    """A name (SPEC §3): at most 400 code points as given, then NFC-normalised and
    stripped, 1 to 100 characters, no control or format characters (U+200C/U+200D
    between two letters excepted), and a ``name_key`` of at most 400 characters."""
    if not isinstance(raw, str):
        return None, (Code.REQUIRED, f"{what} is required.")
    too_long = (Code.TOO_LONG, f"{what} must be at most {NAME_MAX} characters.")
    if len(raw) > NAME_RAW_MAX:
        return None, too_long
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        return None, (Code.REQUIRED, f"{what} must not be blank.")
    invisible = _invisible_character(name)
    if invisible is not None:
        return None, (Code.INVALID, f"{what} must not contain {invisible}.")
    if len(name) > NAME_MAX:
        return None, too_long
    if len(name_key(name)) > NAME_KEY_MAX:
        return None, (
            Code.TOO_LONG,
            f"{what} is too long once case-folded for comparison (at most {NAME_KEY_MAX}"
            " characters); shorten it.",
        )
    return name, None


def _invisible_character(name: str) -> str | None:
    """What makes ``name`` unacceptable to show and compare, or None: control characters
    (Cc), lone surrogates (Cs, which neither database can store) and format characters
    (Cf: zero-width spaces, U+FEFF, bidi embeddings, overrides and isolates, soft
    hyphen...), except a joiner between two letters. A letter followed by combining
    marks still counts as a letter (a virama before a joiner in Indic scripts)."""
    after_letter = False
    for index, ch in enumerate(name):
        category = unicodedata.category(ch)
        if category == "Cc":
            return "control characters"
        if category == "Cs":
            return "unpaired surrogate code points"
        if category == "Cf":
            following = name[index + 1 : index + 2]
            if not (
                ch in JOINERS
                and after_letter
                and following
                and unicodedata.category(following).startswith("L")
            ):
                return f"invisible or direction-changing characters (U+{ord(ch):04X})"
            after_letter = False
        elif not category.startswith("M"):  # marks extend the character before them
            after_letter = category.startswith("L")
    return None


def name_filter_key(raw: str, field: Path = ("filter", "nameContains")) -> str:
    """The key a ``nameContains`` filter matches as a substring of ``name_key`` (SPEC §3):
    at most 100 characters as given (longer is a top-level BAD_USER_INPUT, refused before
    any normalisation), keyed exactly like names."""
    if len(raw) > NAME_FILTER_MAX:
        raise BadUserInput(f"{'.'.join(field)} takes at most {NAME_FILTER_MAX} characters.", field)
    return name_key(raw)


# --------------------------------------------------------------------------- filter values
# A filter value that cannot mean anything is a top-level BAD_USER_INPUT naming its
# argument, never a silent empty page (issue 9). A well-formed value that names nothing
# the caller may see still matches nothing, so filters are never an oracle: whether an ID
# decodes, and to which type, is in the ID itself, not in the database.

_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def filter_currency(raw: str, field: Path) -> str:
    """A currency filter value: an upper-case three-letter ISO 4217 code as SPEC §3
    writes it (a well-formed code that is not in the table matches nothing: the caller
    decides), or the empty string (no currency). Anything else is BAD_USER_INPUT."""
    if raw != "" and not _CURRENCY_CODE.fullmatch(raw):
        raise BadUserInput(
            f"{'.'.join(field)} must be an upper-case ISO 4217 currency code such as USD,"
            " or the empty string for classes without a currency.",
            field,
        )
    return raw


def filter_id(raw: object, type_name: str, field: Path) -> int:
    """The key of a filter's global ID of ``type_name``; BAD_USER_INPUT when it does not
    decode or is the ID of another type. Whether it exists is not looked at."""
    key = decode(raw, type_name)
    if key is None:
        raise BadUserInput(f"{'.'.join(field)} must be the ID of a {type_name}.", field)
    return key


def filter_global_id(raw: object, field: Path) -> str:
    """A filter's global ID of any type (audit events name objects of every type, deleted
    ones included), in the key-only form the audit trail stores (``tenancy.ids``);
    BAD_USER_INPUT when it is not a canonical global ID."""
    key = audit_key(raw)
    if key is None:
        raise BadUserInput(f"{'.'.join(field)} must be a global ID.", field)
    return key


def check_text(
    raw: object, max_length: int, what: str, *, strip: bool = False
) -> tuple[str | None, Problem | None]:
    """Optional free text: empty (or only white space) means null. Line breaks and tabs
    are kept; other control characters (NUL included, which PostgreSQL cannot store) are
    refused, so both databases give the same answer."""
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        return None, (Code.INVALID, f"{what} must be text.")
    too_long = (Code.TOO_LONG, f"{what} must be at most {max_length} characters.")
    if len(raw) > max_length * RAW_FACTOR:
        return None, too_long
    text = raw.strip() if strip else raw
    if text.strip() == "":
        return None, None
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\t\n\r" for ch in text):
        return None, (Code.INVALID, f"{what} must not contain control characters.")
    if len(text) > max_length:
        return None, too_long
    return text, None


def check_email(raw: object, what: str) -> tuple[str | None, Problem | None]:
    text, problem = check_text(raw, EMAIL_MAX, what, strip=True)
    if problem or text is None:
        return text, problem
    if not _EMAIL.fullmatch(text):
        return None, (
            Code.INVALID,
            f"{what} must be a bare e-mail address like billing@example.com.",
        )
    return text, None


def parse_decimal(raw: object) -> tuple[Decimal | None, int]:
    """Parse the Decimal input grammar ``-?[0-9]+(\\.[0-9]+)?`` (at most 12 integer digits).

    Returns the value and its number of decimals, or (None, 0) for anything else:
    JSON numbers, exponents, NaN, infinities, blanks.
    """
    if not isinstance(raw, str) or len(raw) > DECIMAL_RAW_MAX:
        return None, 0
    match = _DECIMAL.fullmatch(raw)
    if not match:
        return None, 0
    if len(match.group(1)) > MAX_INTEGER_DIGITS:  # digits as written, leading zeros too
        return None, 0
    value = Decimal(raw)
    if value == 0:
        value = abs(value)  # "-0" is zero
    return value, len(match.group(2) or "")


def format_money(value: Decimal, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def check_money(
    raw: object, decimals: int, what: str, *, positive: bool = False
) -> tuple[str | None, Problem | None]:
    """Money: a non-negative (or positive) decimal with at most ``decimals`` decimals,
    stored and returned with exactly that many."""
    value, places = parse_decimal(raw)
    if value is None:
        return None, (
            Code.INVALID,
            f'{what} must be a decimal number written as a string, e.g. "12.50".',
        )
    if places > decimals:
        return None, (
            Code.INVALID,
            f"{what} may have at most {decimals} decimals in this currency.",
        )
    if value < 0 or (positive and value == 0):
        bound = "greater than 0" if positive else "0 or more"
        return None, (Code.OUT_OF_RANGE, f"{what} must be {bound}.")
    return format_money(value, decimals), None


def check_percent(
    raw: object, what: str, low: Decimal = Decimal(0), high: Decimal = Decimal(100)
) -> tuple[str | None, Problem | None]:
    value, places = parse_decimal(raw)
    if value is None:
        return None, (
            Code.INVALID,
            f'{what} must be a decimal number written as a string, e.g. "20.5".',
        )
    if places > PERCENT_DECIMALS:
        return None, (Code.INVALID, f"{what} may have at most {PERCENT_DECIMALS} decimals.")
    if not low <= value <= high:
        return None, (Code.OUT_OF_RANGE, f"{what} must be between {low} and {high}.")
    return str(value), None


def check_datetime(raw: object, what: str) -> tuple[datetime | None, Problem | None]:
    """An ISO 8601 date-time with an explicit offset, returned in UTC. Instants outside
    the years 1 to 9999 in UTC (``9999-12-31T23:59:59-14:00``) are OUT_OF_RANGE."""
    malformed = (Code.INVALID, f"{what} must be an ISO 8601 date-time string with an offset.")
    if not isinstance(raw, str) or len(raw) > DATETIME_RAW_MAX:
        return None, malformed
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None, malformed
    if value.utcoffset() is None:
        return None, (Code.INVALID, f"{what} must carry a UTC offset, e.g. 2027-01-31T00:00:00Z.")
    try:
        return value.astimezone(UTC), None
    except OverflowError:
        return None, (
            Code.OUT_OF_RANGE,
            f"{what} must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.",
        )
