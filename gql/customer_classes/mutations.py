from __future__ import annotations

from typing import Any

import strawberry

from gql import mutation
from gql.common import UserError
from gql.context import Info
from gql.customer_classes.inputs import (
    CloneCustomerClassInput,
    CopyRegularInvoiceSettingsInput,
    CreateCustomerClassInput,
    DeleteCustomerClassesInput,
    SetCustomerClassSharingInput,
    UpdateCustomerClassInput,
)
from gql.customer_classes.types import CustomerClass
from tenancy import customer_classes


@strawberry.type
class CustomerClassPayload:
    customerClass: CustomerClass | None
    userErrors: list[UserError]


def _payload(row: Any, errors: list[UserError]) -> CustomerClassPayload:
    return CustomerClassPayload(customerClass=row and CustomerClass.of(row), userErrors=errors)


@strawberry.type
class DeleteCustomerClassesPayload:
    deletedIds: list[strawberry.ID] = strawberry.field(
        description='IDs that were deleted; the rest are explained in userErrors (field ["input",'
        ' "ids", index]).'
    )
    userErrors: list[UserError]


@strawberry.type
class CustomerClassMutation:
    @strawberry.mutation(
        description="Create a class with any subset of its tabs; the rest get their defaults."
    )
    async def createCustomerClass(
        self, info: Info, input: CreateCustomerClassInput
    ) -> CustomerClassPayload:
        return await mutation.run(info, customer_classes.create_customer_class, input, _payload)

    @strawberry.mutation(
        description="Partial update, validated against the class as it will be stored."
    )
    async def updateCustomerClass(
        self, info: Info, input: UpdateCustomerClassInput
    ) -> CustomerClassPayload:
        return await mutation.run(info, customer_classes.update_customer_class, input, _payload)

    @strawberry.mutation(description="Copy a visible class, with every tab, under a new name.")
    async def cloneCustomerClass(
        self, info: Info, input: CloneCustomerClassInput
    ) -> CustomerClassPayload:
        return await mutation.run(info, customer_classes.clone_customer_class, input, _payload)

    @strawberry.mutation(
        description="Delete every deletable class of the list; the others are explained per index."
    )
    async def deleteCustomerClasses(
        self, info: Info, input: DeleteCustomerClassesInput
    ) -> DeleteCustomerClassesPayload:
        def payload(result: Any, errors: list[UserError]) -> DeleteCustomerClassesPayload:
            if result is None:
                return DeleteCustomerClassesPayload(deletedIds=[], userErrors=errors)
            deleted, refused = result
            return DeleteCustomerClassesPayload(
                deletedIds=[strawberry.ID(i) for i in deleted],
                userErrors=[UserError.of(e) for e in refused],
            )

        return await mutation.run(info, customer_classes.delete_customer_classes, input, payload)

    @strawberry.mutation(description="Administrators only: share a class with resellers, or stop.")
    async def setCustomerClassSharing(
        self, info: Info, input: SetCustomerClassSharingInput
    ) -> CustomerClassPayload:
        return await mutation.run(
            info, customer_classes.set_customer_class_sharing, input, _payload
        )

    @strawberry.mutation(
        description="Copy payment terms and past-due policy from regular to out-of-turn invoices."
    )
    async def copyRegularInvoiceSettingsToOutOfTurn(
        self, info: Info, input: CopyRegularInvoiceSettingsInput
    ) -> CustomerClassPayload:
        return await mutation.run(
            info, customer_classes.copy_regular_invoice_settings_to_out_of_turn, input, _payload
        )
