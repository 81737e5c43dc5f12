"""Keyset pagination: opaque cursors bound to one listing, one order and one filter.

A cursor carries the sort value and the id of a row; the next page is "rows after this
(sort value, id) pair", so pages stay stable and fast however deep they go. A cursor is
valid only for the listing, order and filter that produced it (SPEC §3): any other use is
a top-level BAD_USER_INPUT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from tenancy.errors import BadUserInput

DEFAULT_PAGE = 50
MAX_PAGE = 100
# Cursors are client input: values the database cannot bind must fail here, not there.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT32_MAX = 2**31 - 1
# The longest cursor this module writes is well under 2,500 characters (a 400-character
# name_key in UTF-8, base64-encoded); longer input is refused before it is decoded.
MAX_CURSOR_CHARS = 4096


def fingerprint(listing: str, filters: Mapping[str, Any] | None) -> str:
    canonical = orjson.dumps([listing, filters or {}], option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()[:16]


def order_mark(
    kind: str,
    order_field: str,
    direction: str,
    fingerprint: str,
    *,
    unchanged_default: tuple[str, str] | None = None,
) -> str:
    """The mark a listing's cursors carry: the object type, the order and the filter's
    fingerprint, so that a cursor of another listing, order or filter is refused. A list
    whose one order predates ``orderBy`` keeps that order's earlier mark
    (``unchanged_default``: its field and direction, written without the direction), so
    that the cursors clients already hold stay valid."""
    if (order_field, direction) == unchanged_default:
        return f"{kind}:{order_field}:{fingerprint}"
    return f"{kind}:{order_field}:{direction}:{fingerprint}"


def encode_cursor(mark: str, value: Any, key: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return base64.urlsafe_b64encode(orjson.dumps([mark, value, key])).decode().rstrip("=")


def decode_cursor(cursor: str, mark: str, kind: type) -> tuple[Any, int]:
    try:
        if len(cursor) > MAX_CURSOR_CHARS:
            raise ValueError
        padded = cursor + "=" * (-len(cursor) % 4)
        got_mark, value, key = orjson.loads(base64.urlsafe_b64decode(padded))
        # JSON true/false are ints to Python (bool subclasses int): never a key or a count.
        if got_mark != mark or type(key) is not int or not _INT64_MIN <= key <= _INT64_MAX:
            raise ValueError
        if kind is datetime:
            # Stored datetimes are aware (UTC): a naive or out-of-range one is forged.
            value = datetime.fromisoformat(value)
            if value.utcoffset() is None:
                raise ValueError
            value = value.astimezone(UTC)
        elif not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError
        elif isinstance(value, int) and not 0 <= value <= _INT32_MAX:
            raise ValueError  # integer sort values are counts, compared as INTEGER
        elif isinstance(value, str) and "\x00" in value:
            raise ValueError  # PostgreSQL text cannot hold NUL
    except (ValueError, TypeError, OverflowError, binascii.Error, orjson.JSONDecodeError):
        raise BadUserInput(
            "This cursor does not belong to this listing, order and filter; start from the"
            " first page."
        ) from None
    return value, key


@dataclass
class Page:
    rows: Sequence[Any]
    cursors: list[str]
    has_next: bool
    has_previous: bool


async def keyset_page(
    conn: Any,
    statement: sa.Select[Any],
    *,
    sort: Any,
    key: Any,
    sort_attr: str,
    mark: str,
    value_type: type,
    ascending: bool,
    first: int,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Page:
    """Run ``statement`` (already filtered and scoped) as one keyset page.

    When ``last`` or ``before`` is given the page is taken backwards and ``first`` is
    ignored. Rows must expose ``sort_attr`` and ``id`` for the cursors.
    """
    backward = last is not None or before is not None
    size = (last if last is not None else DEFAULT_PAGE) if backward else first
    size = max(1, min(size, MAX_PAGE))
    cursor = before if backward else after
    scan_ascending = ascending != backward
    if cursor is not None:
        value, cursor_key = decode_cursor(cursor, mark, value_type)
        pair = sa.tuple_(sort, key)
        mark_pair = sa.tuple_(sa.literal(value, sort.type), sa.literal(cursor_key, key.type))
        statement = statement.where(pair > mark_pair if scan_ascending else pair < mark_pair)
    order = (sort.asc(), key.asc()) if scan_ascending else (sort.desc(), key.desc())
    rows = list((await conn.execute(statement.order_by(*order).limit(size + 1))).all())
    more = len(rows) > size
    rows = rows[:size]
    if backward:
        rows.reverse()
        has_previous, has_next = more, cursor is not None
    else:
        has_next, has_previous = more, cursor is not None
    cursors = [encode_cursor(mark, getattr(row, sort_attr), row.id) for row in rows]
    return Page(rows=rows, cursors=cursors, has_next=has_next, has_previous=has_previous)
