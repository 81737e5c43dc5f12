"""Top-level errors: codes, masking and the classification of database failures.

The codes are ``tenancy.errors.TopLevelCode`` (tenancy raises some of them too).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from graphql import GraphQLError
from sqlalchemy import exc as sa_exc

from db.engine import STALL_NOTE, ConnectFailed
from tenancy.errors import BadUserInput, TopLevelCode, TopLevelError

log = logging.getLogger("billclass.errors")

INTERNAL_MESSAGE = "Internal server error"
# SQLSTATE classes that mean "the database is unavailable or overloaded; retry later":
# connection exceptions, operator intervention (shutdown, statement timeout), insufficient
# resources, lock not available (lock_timeout), transaction rollback (deadlock).
_UNAVAILABLE_SQLSTATES = ("08", "57", "53", "55P03", "40")


def _chain(error: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and error not in seen and len(seen) < 10:
        seen.append(error)
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
    return seen


def is_unavailable(error: BaseException | None) -> bool:
    """Whether an exception means the database is down, unreachable or too busy."""
    for item in _chain(error):
        if isinstance(
            item,
            sa_exc.OperationalError
            | sa_exc.TimeoutError
            | sa_exc.InterfaceError
            | OSError
            | asyncio.TimeoutError,
        ):
            return True
        if isinstance(item, sa_exc.DBAPIError) and item.connection_invalidated:
            return True
        state = getattr(item, "sqlstate", None) or getattr(item, "pgcode", None)
        if isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if type(item).__name__ in {"ConnectionDoesNotExistError", "InterfaceError"}:
            return True
    return False


def unavailable_reason(error: BaseException) -> str:
    """What stalled or failed, for the log line of a 503 (never for the client, and never
    a password): a connect (where, how long), a lock wait, a statement timeout, a pool
    slot; else the exception's type and first line."""
    for item in _chain(error):
        for note in getattr(item, "__notes__", ()):
            if isinstance(note, str) and note.startswith(STALL_NOTE):
                return note.removeprefix(STALL_NOTE)
        if isinstance(item, ConnectFailed):
            return str(item)
        if isinstance(item, sa_exc.TimeoutError):  # gql.admission.NoConnection included
            return f"pool slot: {item}"
    text = str(error).strip().split("\n", 1)[0]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# SQLSTATEs of text the database cannot store: U+0000 in text (22021) or in JSONB (22P05).
# The client's input, not our bug: a clear BAD_USER_INPUT instead of INTERNAL.
_UNSTORABLE_TEXT_SQLSTATES = ("22021", "22P05")


def _is_unstorable_text(error: BaseException | None) -> bool:
    return any(
        getattr(item, "sqlstate", None) in _UNSTORABLE_TEXT_SQLSTATES for item in _chain(error)
    )


# graphql-core ends some messages with the offending value as Python or GraphQL prints it
# ("found: {'name': 'x', 'foo': 1}.", "non string value: ['a']"): the client's own input,
# echoed as a structure it never wrote. Such a tail is replaced by what the value was.
_ECHOED_STRUCTURE = re.compile(r": ([\[{])")


def without_echo(message: str) -> str:
    """``message`` with a trailing echo of an input object or list replaced by its kind
    ("found: an object."); other messages unchanged."""
    echo = _ECHOED_STRUCTURE.search(message)
    if echo is None:
        return message
    kind = "an object" if echo.group(1) == "{" else "a list"
    return f"{message[: echo.start()]}: {kind}."


def error_body(message: str, code: TopLevelCode, **extra: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extra}}


def format_error(
    error: GraphQLError, request_id: str, default_code: TopLevelCode | None = None
) -> tuple[dict[str, Any], bool]:
    """The client's view of an error, and whether it means the database is unavailable.

    Expected errors keep their message and code; anything unexpected is logged with the
    request ID and shown as INTERNAL "Internal server error", with no detail.
    """
    original = error.original_error
    unavailable = False
    if original is None:
        code = (error.extensions or {}).get("code") or default_code
        if code is None:
            # A graphql-core error during execution with no cause of ours (e.g. a null in a
            # non-null field): a bug on our side.
            log.error("request %s: %s at %s", request_id, error.message, error.path)
            code, message = TopLevelCode.INTERNAL, INTERNAL_MESSAGE
        else:
            message = without_echo(error.message)
    elif isinstance(original, TopLevelError):
        code, message = original.code, str(original)
        unavailable = code == TopLevelCode.SERVICE_UNAVAILABLE
    elif is_unavailable(original):
        log.warning(
            "request %s: database unavailable: %s", request_id, unavailable_reason(original)
        )
        code = TopLevelCode.SERVICE_UNAVAILABLE
        message = "The database is unavailable; retry shortly."
        unavailable = True
    elif _is_unstorable_text(original):
        code = TopLevelCode.BAD_USER_INPUT
        message = "The input contains a character that cannot be stored (such as U+0000)."
    elif isinstance(original, GraphQLError) and (original.extensions or {}).get("code"):
        code, message = (original.extensions or {})["code"], without_echo(original.message)
    elif default_code is not None and isinstance(original, GraphQLError | ValueError | TypeError):
        # A refusal of the client's input before execution (e.g. a variable that a scalar
        # cannot coerce): graphql-core wraps the scalar's own error.
        code, message = default_code, without_echo(error.message)
    else:
        log.error("request %s: unexpected error at %s", request_id, error.path, exc_info=original)
        code, message = TopLevelCode.INTERNAL, INTERNAL_MESSAGE
    body: dict[str, Any] = {"message": message}
    if error.locations:
        body["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        body["path"] = list(error.path)
    body["extensions"] = {"code": code}
    if isinstance(original, BadUserInput) and original.field is not None:
        body["extensions"]["field"] = list(original.field)
    return body, unavailable
