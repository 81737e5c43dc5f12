from __future__ import annotations

import strawberry

from gql.common import patch_of
from gql.context import Info
from gql.customers.inputs import CustomerFilter
from gql.customers.types import Customer, CustomerConnection
from tenancy import customers, inputs
from tenancy.ids import decode


@strawberry.type
class CustomerQuery:
    @strawberry.field(description="A customer the caller may see, or null.")
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        key = decode(id, "Customer")
        if key is None:
            return None
        row = await info.context.loaders.customers.load(key)
        return row and Customer.of(row)

    @strawberry.field(description="Sorted by name, then id.")
    async def customers(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        filter: CustomerFilter | None = None,
    ) -> CustomerConnection:
        context = info.context
        filters: inputs.CustomerFilter = patch_of(filter) if filter is not None else {}
        page = await customers.list_customers(
            context.conn, context.principal, filters=filters, first=first, after=after
        )
        return CustomerConnection.of(
            page, lambda: customers.count_customers(context.conn, context.principal, filters)
        )
