"""The SQL statements an app sends, recorded at the cursor."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from starlette.applications import Starlette


@contextmanager
def recording(app: Starlette) -> Iterator[list[str]]:
    """Every SQL statement ``app``'s engines run while the block is open, in order (clear
    the list before the request whose statements are to be counted)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    for engine in app.state.engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in app.state.engines:
            event.remove(engine, "before_cursor_execute", record)


def touching(statements: list[str], table: str) -> list[str]:
    """The statements that name ``table``."""
    return [s for s in statements if table in s.lower()]


def writes(statements: list[str]) -> list[str]:
    """The INSERT, UPDATE and DELETE statements (not the RLS context's set_config)."""
    return [
        s
        for s in statements
        if s.lstrip().lower().startswith(("insert", "update", "delete")) and "set_config" not in s
    ]
