"""Class locks do not couple tenants (issue 7 item 1; SPEC §7): a request that holds a
transaction open in the middle of creating a customer in the Default class, or of
changing the Default class, does not make another tenant's createCustomer wait.

PostgreSQL only: on SQLite every write transaction is BEGIN IMMEDIATE, one writer at a
time for the whole database, by design of the embedded default.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from db.engine import make_engine
from db.settings import Settings
from tenancy import customer_classes, customers
from tenancy.principal import Principal, Role
from tenancy.scoping import enter_tenant
from tests.api_client import Api, World
from tests.integration.rls_support import ADMIN, key

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(database_url: str) -> Settings:
    # A lock wait fails fast: a test that should not wait shows it in one second.
    return Settings(database_url=database_url, lock_timeout_seconds=1.0)


@asynccontextmanager
async def open_transaction(
    settings: Settings, principal: Principal
) -> AsyncIterator[AsyncConnection]:
    """A transaction left open (like a slow request) and rolled back at the end."""
    engine = make_engine(settings=settings)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            try:
                await enter_tenant(conn, principal)
                yield conn
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


def test_an_open_default_class_transaction_does_not_hold_up_other_tenants(
    world: World, api: Api, settings: Settings
) -> None:
    a = Principal(Role.RESELLER, key(world.a.id), token_id=None, token_name="slow request")

    async def main() -> None:
        async with (
            open_transaction(settings, a) as slow_creation,
            open_transaction(settings, ADMIN) as default_change,
        ):
            # Reseller A, mid-request: a customer created in the Default class.
            await customers.create_customer(
                slow_creation, principal=a, data={"name": "Slow", "currencyCode": "USD"}
            )
            # The administrator, mid-request: the Default class changed (locked).
            await customer_classes.update_customer_class(
                default_change,
                principal=ADMIN,
                data={"id": world.default_class_id, "description": "Being edited"},
            )
            # Meanwhile reseller B creates customers in the Default class, named or not,
            # and moves one back to it: none of these waits for A or the administrator.
            await asyncio.to_thread(
                api.create_customer, world.b.token, name="Unhindered", currencyCode="USD"
            )
            await asyncio.to_thread(
                api.create_customer,
                world.b.token,
                name="Unhindered too",
                customerClassId=world.default_class_id,
            )
            await asyncio.to_thread(
                api.ok,
                "assignCustomerClass",
                {"customerId": world.b.customer_id, "customerClassId": world.default_class_id},
                world.b.token,
            )

    asyncio.run(main())


def test_a_shared_class_being_changed_holds_up_its_assignment_only(
    world: World, api: Api, settings: Settings
) -> None:
    """Control: a class's lock is real. While the administrator changes the shared class,
    assigning it waits (and, past the lock timeout, is SERVICE_UNAVAILABLE), while
    assigning the reseller's own class does not wait."""

    async def main() -> None:
        async with open_transaction(settings, ADMIN) as change:
            await customer_classes.update_customer_class(
                change,
                principal=ADMIN,
                data={"id": world.shared_class_id, "description": "Being edited"},
            )
            response = await asyncio.to_thread(
                api.post,
                "mutation($input: AssignCustomerClassInput!) { assignCustomerClass(input:"
                " $input) { userErrors { code } } }",
                {
                    "input": {
                        "customerId": world.b.customer_id,
                        "customerClassId": world.shared_class_id,
                    }
                },
                world.b.token,
            )
            assert response.status_code == 503, response.text
            assert response.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            await asyncio.to_thread(
                api.ok,
                "assignCustomerClass",
                {"customerId": world.b.customer_id, "customerClassId": world.b.class_id},
                world.b.token,
            )

    asyncio.run(main())
