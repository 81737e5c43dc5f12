"""Work done directly on the database the way the command line does it: one committed
transaction in the administrator "cli"'s row-level security context (gql.cli.as_cli)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from db.settings import Settings
from gql.cli import as_cli

T = TypeVar("T")


def run_as_cli(settings: Settings, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """``work(conn)`` in one committed transaction as the command line, on ``settings``'
    database."""
    return as_cli(work, settings=settings)
