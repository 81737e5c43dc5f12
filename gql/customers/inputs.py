from __future__ import annotations

from enum import Enum

import strawberry

from gql.common import DRY_RUN, SortDirection, like_output
from gql.customer_classes.tabs import StatisticsDelivery
from gql.customers.types import CustomerOverrides, CustomerType
from gql.input_shapes import check_input, check_values
from tenancy import inputs

UNSET = strawberry.UNSET


@strawberry.input(description="Conditions on the customers listed; all given ones must hold.")
class CustomerFilter:
    nameContains: str | None = strawberry.field(
        default=UNSET,
        description="A part of the name, compared ignoring case and compatibility forms,"
        " with %, _ and \\ taken literally; at most 100 characters (longer: top-level"
        " BAD_USER_INPUT).",
    )
    customerType: CustomerType | None = strawberry.field(
        default=UNSET, description="Only customers of this type."
    )
    parentId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Only customers of this reseller (administrators only; resellers always"
        " see their own). A value that is no Customer ID is the top-level error"
        " BAD_USER_INPUT; an unknown or hidden reseller matches nothing.",
    )
    customerClassId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Only customers of this class (global ID; an unknown or hidden class"
        " matches nothing, a value that is no CustomerClass ID is the top-level error"
        " BAD_USER_INPUT).",
    )


@strawberry.enum(description="What customers(orderBy:) sorts by; every sort ends with the ID.")
class CustomerSortField(Enum):
    NAME = strawberry.enum_value(
        "NAME",
        description="The name as compared ignoring case and compatibility forms (its"
        " case-folded NFKC key, in byte order), as in customerClasses.",
    )
    CREATED_AT = strawberry.enum_value(
        "CREATED_AT", description="When the customer was created (UTC)."
    )


@strawberry.input(
    description="The order of customers(orderBy:): a field, a direction, then the ID in the"
    " same direction, so that cursors stay stable. A cursor is valid only with the order"
    " (and filter) that produced it: any other is BAD_USER_INPUT."
)
class CustomerOrder:
    field: CustomerSortField = strawberry.field(description="The value to sort by.")
    direction: SortDirection = strawberry.field(
        default=SortDirection.ASC, description="ASC (the default) or DESC."
    )


@strawberry.input(description="A new customer.")
class CreateCustomerInput:
    name: str = strawberry.field(
        description="1 to 100 characters once NFC-normalised and trimmed (blank: REQUIRED;"
        " longer, or more than 400 characters as given: TOO_LONG), without control or"
        " invisible format characters (INVALID); need not be unique."
    )
    customerType: CustomerType = strawberry.field(
        default=CustomerType.RETAIL,
        description="Default RETAIL. A RESELLER more than 3 reseller levels deep is INVALID.",
    )
    currencyCode: str = strawberry.field(
        description="ISO 4217 code of the customer's currency, upper case as in currencies,"
        " e.g. EUR (INVALID if unknown); fixed once created."
    )
    parentId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Administrators: the global ID of the RESELLER customer to create the"
        " customer under (NOT_FOUND if none such, INVALID if not a RESELLER), or omitted or"
        " null for a direct customer. Resellers always create their own subentities: omit"
        " it or pass their own ID; any other value is NOT_PERMITTED.",
    )
    customerClassId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Global ID of the customer's class (NOT_FOUND if the caller may not see"
        " it); omitted or null: the Default class. It must suit the customer as for"
        " assignCustomerClass (CURRENCY_MISMATCH, OWNERSHIP_MISMATCH; NOT_PERMITTED for an"
        " administrator naming a reseller's class).",
    )


@strawberry.input(description="An invoice template that overrides the class's.")
class TemplateOverrideInput:
    templateId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Global ID of the InvoiceTemplate to use (NOT_FOUND if none such);"
        " omitted or null: do not create invoice documents.",
    )


@strawberry.input(
    description="Omitted fields keep their value; an explicit null returns"
    " the field to the class value."
)
class UpdateCustomerOverridesInput:
    customerId: strawberry.ID = strawberry.field(
        description="Global ID of the customer (NOT_FOUND if the caller may not see it;"
        " NOT_PERMITTED for a reseller's own record)."
    )
    regularInvoiceTemplate: TemplateOverrideInput | None = like_output(
        CustomerOverrides, "regularInvoiceTemplate"
    )
    outOfTurnInvoiceTemplate: TemplateOverrideInput | None = like_output(
        CustomerOverrides, "outOfTurnInvoiceTemplate"
    )
    regularInvoicesEnabled: bool | None = like_output(CustomerOverrides, "regularInvoicesEnabled")
    outOfTurnInvoicesEnabled: bool | None = like_output(
        CustomerOverrides, "outOfTurnInvoicesEnabled"
    )
    sendStatistics: StatisticsDelivery | None = like_output(CustomerOverrides, "sendStatistics")
    suspendOnInsufficientFunds: bool | None = like_output(
        CustomerOverrides, "suspendOnInsufficientFunds"
    )


@strawberry.input(
    description="A class for a customer. The class must have no currency or the customer's"
    " (CURRENCY_MISMATCH), and its manager must allow the customer (OWNERSHIP_MISMATCH): an"
    " unshared administrator class suits only customers without a parent, a shared one any"
    " customer, a reseller's class only that reseller's customers. Customer overrides that"
    " need statistics need the class's statistics on (DEPENDENCY)."
)
class AssignCustomerClassInput:
    customerId: strawberry.ID = strawberry.field(
        description="Global ID of the customer (NOT_FOUND if the caller may not see it;"
        " NOT_PERMITTED for a reseller's own record)."
    )
    customerClassId: strawberry.ID | None = strawberry.field(
        default=UNSET,
        description="Global ID of the class (NOT_FOUND if the caller may not see it;"
        " NOT_PERMITTED for an administrator naming a reseller's class). Omitted or null:"
        " the Default class.",
    )
    dryRun: bool | None = strawberry.field(default=False, description=DRY_RUN["assign"])


for _input, _typed in (
    (CustomerFilter, inputs.CustomerFilter),
    (CreateCustomerInput, inputs.CreateCustomer),
    (TemplateOverrideInput, inputs.TemplateOverride),
    (UpdateCustomerOverridesInput, inputs.UpdateCustomerOverrides),
    (AssignCustomerClassInput, inputs.AssignCustomerClass),
):
    check_input(_input, _typed)
check_values(CustomerType, inputs.CustomerType)
