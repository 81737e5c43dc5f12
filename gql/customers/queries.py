from __future__ import annotations

from typing import Annotated

import strawberry

from gql.common import (
    AFTER_DESCRIPTION,
    BEFORE_DESCRIPTION,
    FIRST_DESCRIPTION,
    LAST_DESCRIPTION,
    SortDirection,
    patch_of,
)
from gql.context import Info
from gql.customers.inputs import CustomerFilter, CustomerOrder, CustomerSortField
from gql.customers.types import Customer, CustomerConnection
from tenancy import customers, inputs
from tenancy.ids import decode


@strawberry.type
class CustomerQuery:
    @strawberry.field(
        description="A customer the caller may see, or null (unknown, hidden and undecodable"
        " IDs read the same)."
    )
    async def customer(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The customer's global ID.")],
    ) -> Customer | None:
        key = decode(id, "Customer")
        if key is None:
            return None
        row = await info.context.loaders.customers.load(key)
        return row and Customer.of(row)

    @strawberry.field(
        description="Customers the caller may see (administrators: all; resellers: themselves"
        " and their direct customers), sorted by orderBy (by name by default, always ending"
        " with id). With last or before the page is taken backwards and first is ignored."
    )
    async def customers(
        self,
        info: Info,
        first: Annotated[
            int,
            strawberry.argument(
                description=FIRST_DESCRIPTION + " Ignored when last or before is given."
            ),
        ] = 50,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST_DESCRIPTION)] = None,
        before: Annotated[str | None, strawberry.argument(description=BEFORE_DESCRIPTION)] = None,
        filter: Annotated[
            CustomerFilter | None,
            strawberry.argument(description="Only the customers matching it. Omitted: all."),
        ] = None,
        orderBy: Annotated[
            CustomerOrder,
            strawberry.argument(description="The order. Default: by NAME, ascending."),
        ] = CustomerOrder(field=CustomerSortField.NAME, direction=SortDirection.ASC),
    ) -> CustomerConnection:
        context = info.context
        filters: inputs.CustomerFilter = patch_of(filter) if filter is not None else {}
        page = await customers.list_customers(
            context.conn,
            context.principal,
            filters=filters,
            order_field=orderBy.field.name,
            direction=orderBy.direction.name,
            first=first,
            after=after,
            last=last,
            before=before,
        )
        return CustomerConnection.of(
            page, lambda: customers.count_customers(context.conn, context.principal, filters)
        )
