from __future__ import annotations

import strawberry

from gql.customer_classes.tabs import StatisticsDelivery
from gql.customers.types import CustomerType
from gql.input_shapes import check_input, check_values
from tenancy import inputs

UNSET = strawberry.UNSET


@strawberry.input
class CustomerFilter:
    nameContains: str | None = UNSET
    customerType: CustomerType | None = UNSET
    parentId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Only customers of this reseller (administrators only; resellers always"
        " see their own).",
    )
    customerClassId: strawberry.ID | None = UNSET


@strawberry.input
class CreateCustomerInput:
    name: str
    customerType: CustomerType = CustomerType.RETAIL
    currencyCode: str
    parentId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Administrators only: create the customer under this reseller. Resellers"
        " always create their own subentities.",
    )
    customerClassId: strawberry.ID | None = UNSET


@strawberry.input
class TemplateOverrideInput:
    templateId: strawberry.ID | None = strawberry.field(
        default=UNSET, description="Null: do not create invoice documents."
    )


@strawberry.input(
    description="Omitted fields keep their value; an explicit null returns"
    " the field to the class value."
)
class UpdateCustomerOverridesInput:
    customerId: strawberry.ID
    regularInvoiceTemplate: TemplateOverrideInput | None = UNSET
    outOfTurnInvoiceTemplate: TemplateOverrideInput | None = UNSET
    regularInvoicesEnabled: bool | None = UNSET
    outOfTurnInvoicesEnabled: bool | None = UNSET
    sendStatistics: StatisticsDelivery | None = UNSET
    suspendOnInsufficientFunds: bool | None = UNSET


@strawberry.input
class AssignCustomerClassInput:
    customerId: strawberry.ID
    customerClassId: strawberry.ID | None = strawberry.field(
        default=UNSET, description="Null assigns the Default class."
    )


for _input, _typed in (
    (CustomerFilter, inputs.CustomerFilter),
    (CreateCustomerInput, inputs.CreateCustomer),
    (TemplateOverrideInput, inputs.TemplateOverride),
    (UpdateCustomerOverridesInput, inputs.UpdateCustomerOverrides),
    (AssignCustomerClassInput, inputs.AssignCustomerClass),
):
    check_input(_input, _typed)
check_values(CustomerType, inputs.CustomerType)
