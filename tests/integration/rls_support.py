"""Helpers of the PostgreSQL row-level security tests: raw SQL as the service role, in a
chosen tenant context, and the ground truth read as the superuser."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.clock import utcnow
from db.engine import make_engine
from db.models import TENANT_TABLES
from db.settings import Settings
from tenancy import webhooks
from tenancy.ids import decode_any
from tenancy.principal import Principal, Role
from tenancy.scoping import enter_tenant
from tests.databases import Databases
from tests.support.cli import run_as_cli

T = TypeVar("T")


def key(global_id: str) -> int:
    decoded = decode_any(global_id)
    assert decoded is not None, global_id
    return decoded[1]


def reseller(reseller_id: int) -> Principal:
    return Principal(Role.RESELLER, reseller_id, token_id=None, token_name="rls test")


ADMIN = Principal(Role.ADMINISTRATOR, None, token_id=None, token_name="rls test")


def with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work`` with an engine connected as the application role."""

    async def main() -> T:
        engine = make_engine(settings=settings)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def superuser_rows(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """Ground truth, read as the superuser (row-level security does not apply)."""

    async def main() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(Databases.superuser_dsn(database_url))
        try:
            found: list[asyncpg.Record] = await conn.fetch(query, *args)
            return found
        finally:
            await conn.close()

    return asyncio.run(main())


async def ids_of(conn: AsyncConnection, table: str) -> set[int]:
    rows = await conn.execute(sa.text(f"select * from {table}"))
    return {row.id for row in rows}


async def attempt(
    engine: AsyncEngine, principal: Principal | None, statement: Any, params: Any = None
) -> int:
    """Run one statement in a transaction of its own (rolled back); its rowcount."""
    async with engine.connect() as conn, conn.begin() as transaction:
        try:
            if principal is not None:
                await enter_tenant(conn, principal)
            result = await conn.execute(statement, params or {})
            return result.rowcount
        finally:
            await transaction.rollback()


async def attempt_scalar(engine: AsyncEngine, principal: Principal, query: str) -> Any:
    async with engine.connect() as conn, conn.begin():
        await enter_tenant(conn, principal)
        return (await conn.execute(sa.text(query))).scalar_one()


def nothing() -> dict[str, set[int]]:
    return {table: set() for table in TENANT_TABLES}


def assert_rls_violation(error: pytest.ExceptionInfo[DBAPIError]) -> None:
    assert "row-level security" in str(error.value), error.value


def add_webhooks(api: Any, settings: Settings, world: Any) -> None:
    """A webhook subscription of A, of B and of the administrator, a change by each
    (outbox rows of their tenants) and the deliveries the dispatcher made of them."""
    for token in (world.a.token, world.b.token, None):
        api.ok(
            "createWebhookSubscription",
            {"url": "https://example.com/hook", "events": ["CUSTOMER_CLASS_UPDATED"]},
            token,
        )
    api.ok("updateCustomerClass", {"id": world.a.class_id, "description": "a"}, world.a.token)
    api.ok("updateCustomerClass", {"id": world.b.class_id, "description": "b"}, world.b.token)
    api.ok("updateCustomerClass", {"id": world.admin_class_id, "description": "admin"})

    async def fan_out(conn: AsyncConnection) -> None:
        await webhooks.fan_out(conn, utcnow())

    run_as_cli(settings, fan_out)
