"""Rules for single values: names, texts, e-mail addresses, decimals, money, datetimes.

Each ``check_*`` function returns ``(value, error)``: the normalised value, or a
``(code, message)`` pair explaining why the input is refused. Callers attach the path.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

from tenancy.errors import UserErrorCode as Code

Problem = tuple[Code, str]

NAME_MAX = 100
DESCRIPTION_MAX = 500
EMAIL_MAX = 254

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
    """The key that makes names unique ignoring case, identical on SQLite and PostgreSQL."""
    return unicodedata.normalize("NFC", name).casefold()


def check_name(raw: object, what: str = "Name") -> tuple[str | None, Problem | None]:
    if not isinstance(raw, str):
        return None, (Code.REQUIRED, f"{what} is required.")
    name = unicodedata.normalize("NFC", raw).strip()
    if not name:
        return None, (Code.REQUIRED, f"{what} must not be blank.")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return None, (Code.INVALID, f"{what} must not contain control characters.")
    if len(name) > NAME_MAX:
        return None, (Code.TOO_LONG, f"{what} must be at most {NAME_MAX} characters.")
    return name, None


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
    text = raw.strip() if strip else raw
    if text.strip() == "":
        return None, None
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in text):
        return None, (Code.INVALID, f"{what} must not contain control characters.")
    if len(text) > max_length:
        return None, (Code.TOO_LONG, f"{what} must be at most {max_length} characters.")
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
    if not isinstance(raw, str):
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
    """An ISO 8601 date-time with an explicit offset, returned in UTC."""
    if not isinstance(raw, str):
        return None, (Code.INVALID, f"{what} must be an ISO 8601 date-time string with an offset.")
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None, (Code.INVALID, f"{what} must be an ISO 8601 date-time string with an offset.")
    if value.utcoffset() is None:
        return None, (Code.INVALID, f"{what} must carry a UTC offset, e.g. 2027-01-31T00:00:00Z.")
    return value.astimezone(UTC), None
