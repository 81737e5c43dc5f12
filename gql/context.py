"""The typed per-request context: who calls, the request's connection, its loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncTransaction

from gql.loaders import Loaders
from tenancy.principal import Principal


@dataclass
class Context:
    principal: Principal
    request_id: str
    # Inside the request's one transaction: committed by the endpoint when the operation
    # succeeded, rolled back otherwise. Resolvers never commit.
    conn: AsyncConnection = field(init=False)
    loaders: Loaders = field(init=False)
    # The savepoint of a dry-run mutation field, kept open while its payload's nested
    # fields are resolved (they show the would-be state); see gql.mutation.
    dry_run: AsyncTransaction | None = field(default=None, init=False)

    def bind(self, conn: AsyncConnection) -> None:
        """Attach the request's connection (opened after every pre-execution check)."""
        self.conn = conn
        self.loaders = Loaders(conn, self.principal)

    async def end_dry_run(self) -> None:
        """Roll back the savepoint of the last dry-run mutation field, if one is open,
        and forget what the loaders read inside it. Called when its payload is
        complete: by the executor after each root mutation field, and by the endpoint
        before it ends the transaction."""
        savepoint, self.dry_run = self.dry_run, None
        if savepoint is None:
            return
        self.loaders.reset()
        if savepoint.is_active:
            await savepoint.rollback()


Info = strawberry.Info[Context, Any]
