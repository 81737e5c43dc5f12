from __future__ import annotations

from typing import Any

import strawberry

from gql import mutation
from gql.common import UserError
from gql.context import Info
from gql.customers.inputs import (
    AssignCustomerClassInput,
    CreateCustomerInput,
    UpdateCustomerOverridesInput,
)
from gql.customers.types import Customer
from tenancy import customers


@strawberry.type
class CustomerPayload:
    customer: Customer | None
    userErrors: list[UserError]


def _payload(row: Any, errors: list[UserError]) -> CustomerPayload:
    return CustomerPayload(customer=row and Customer.of(row), userErrors=errors)


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(description="New customers get the Default class unless another is given.")
    async def createCustomer(self, info: Info, input: CreateCustomerInput) -> CustomerPayload:
        return await mutation.run(info, customers.create_customer, input, _payload)

    @strawberry.mutation(description="Assign a class to a customer (rules of SPEC §4).")
    async def assignCustomerClass(
        self, info: Info, input: AssignCustomerClassInput
    ) -> CustomerPayload:
        return await mutation.run(info, customers.assign_customer_class, input, _payload)

    @strawberry.mutation(description="Override some class settings for one customer.")
    async def updateCustomerOverrides(
        self, info: Info, input: UpdateCustomerOverridesInput
    ) -> CustomerPayload:
        return await mutation.run(info, customers.update_customer_overrides, input, _payload)
