from __future__ import annotations

from typing import Annotated, Any

import strawberry

from gql import mutation
from gql.common import INPUT, UserError
from gql.context import Info
from gql.customers.inputs import (
    AssignCustomerClassInput,
    CreateCustomerInput,
    UpdateCustomerOverridesInput,
)
from gql.customers.types import Customer
from tenancy import customers


@strawberry.type(description="The result of a customer mutation.")
class CustomerPayload:
    customer: Customer | None = strawberry.field(
        description="The customer as stored after the mutation (on a dry run: as it would"
        " be, effective settings included); null when it was refused."
    )
    userErrors: list[UserError] = strawberry.field(
        description="Why the input was refused; empty on success."
    )


def _payload(row: Any, errors: list[UserError]) -> CustomerPayload:
    return CustomerPayload(customer=row and Customer.of(row), userErrors=errors)


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(
        description="Create a customer, in the Default class unless another is given."
        " Audited as CREATE."
    )
    async def createCustomer(
        self, info: Info, input: Annotated[CreateCustomerInput, INPUT]
    ) -> CustomerPayload:
        return await mutation.run(info, customers.create_customer, input, _payload)

    @strawberry.mutation(
        description="Assign a class to a customer (rules in AssignCustomerClassInput)."
        " Audited as ASSIGN; nothing happens when the customer already has that class. With"
        " dryRun, checked and shown but not written."
    )
    async def assignCustomerClass(
        self, info: Info, input: Annotated[AssignCustomerClassInput, INPUT]
    ) -> CustomerPayload:
        return await mutation.run(info, customers.assign_customer_class, input, _payload)

    @strawberry.mutation(
        description="Override some class settings for one customer, or return them to the"
        " class (null). Validated with the class's values; audited as UPDATE on the customer."
    )
    async def updateCustomerOverrides(
        self, info: Info, input: Annotated[UpdateCustomerOverridesInput, INPUT]
    ) -> CustomerPayload:
        return await mutation.run(info, customers.update_customer_overrides, input, _payload)
