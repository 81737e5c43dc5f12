from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry

from gql import mutation
from gql.common import INPUT, UserError
from gql.context import Info
from gql.customer_classes.impact import ClassChangeImpact, impact_of
from gql.customer_classes.inputs import (
    CloneCustomerClassInput,
    CopyRegularInvoiceSettingsInput,
    CreateCustomerClassInput,
    DeleteCustomerClassesInput,
    RevertCustomerClassInput,
    SetCustomerClassSharingInput,
    UpdateCustomerClassInput,
)
from gql.customer_classes.types import CustomerClass
from tenancy import customer_classes
from tenancy.customer_classes import ClassChange

USER_ERRORS = "Why the input was refused; empty on success."


@strawberry.type(description="The result of a class mutation.")
class CustomerClassPayload:
    customerClass: CustomerClass | None = strawberry.field(
        description="The class as stored after the mutation (on a dry run: as it would be);"
        " null when it was refused."
    )
    impact: ClassChangeImpact | None = strawberry.field(
        description="What the change does (also filled on a real run). Null when the input"
        " was refused."
    )
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


def _payload(info: Info) -> Callable[[ClassChange | None, list[UserError]], CustomerClassPayload]:
    def payload(change: ClassChange | None, errors: list[UserError]) -> CustomerClassPayload:
        if change is None:
            return CustomerClassPayload(customerClass=None, impact=None, userErrors=errors)
        return CustomerClassPayload(
            customerClass=CustomerClass.of(change.after),
            impact=impact_of(info, change),
            userErrors=errors,
        )

    return payload


def _created(info: Info) -> Callable[[Any, list[UserError]], CustomerClassPayload]:
    """The payload of a mutation that creates the class it returns."""
    payload = _payload(info)
    return lambda row, errors: payload(row and ClassChange(None, row), errors)


@strawberry.type(
    description="The result of deleteCustomerClasses, the one mutation with partial success."
)
class DeleteCustomerClassesPayload:
    deletedIds: list[strawberry.ID] = strawberry.field(
        description="IDs that were deleted (on a dry run: that would be); the rest are explained"
        ' in userErrors (field ["input", "ids", index]).'
    )
    userErrors: list[UserError] = strawberry.field(
        description="One error per refused ID, or one OUT_OF_RANGE on ids (more than 100)."
    )


@strawberry.type
class CustomerClassMutation:
    @strawberry.mutation(
        description="Create a class with any subset of its tabs; the rest get their defaults."
        " Version 1; audited as CREATE."
    )
    async def createCustomerClass(
        self, info: Info, input: Annotated[CreateCustomerClassInput, INPUT]
    ) -> CustomerClassPayload:
        return await mutation.run(
            info, customer_classes.create_customer_class, input, _created(info)
        )

    @strawberry.mutation(
        description="Partial update, validated against the class as it will be stored. A"
        " change bumps the version and is audited as UPDATE; a patch that changes nothing"
        " succeeds without either. With dryRun, checked and shown (impact included) but not"
        " written."
    )
    async def updateCustomerClass(
        self, info: Info, input: Annotated[UpdateCustomerClassInput, INPUT]
    ) -> CustomerClassPayload:
        return await mutation.run(
            info, customer_classes.update_customer_class_change, input, _payload(info)
        )

    @strawberry.mutation(
        description="Copy a visible class under a new name: description, business model,"
        " currency, notification sender and every tab, custom fields included; the copy is"
        " not shared, not the Default class, version 1. Audited as CLONE on the copy."
    )
    async def cloneCustomerClass(
        self, info: Info, input: Annotated[CloneCustomerClassInput, INPUT]
    ) -> CustomerClassPayload:
        return await mutation.run(
            info, customer_classes.clone_customer_class, input, _created(info)
        )

    @strawberry.mutation(
        description="Delete every deletable class of the list; the others are explained per"
        " index. One DELETE audit event per deleted class. With dryRun, nothing is deleted."
    )
    async def deleteCustomerClasses(
        self, info: Info, input: Annotated[DeleteCustomerClassesInput, INPUT]
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

    @strawberry.mutation(
        description="Administrators only (resellers: top-level FORBIDDEN): share a class with"
        " resellers, or stop. Audited as SHARE or UNSHARE; nothing happens when it already is"
        " as asked. With dryRun, checked and shown but not written."
    )
    async def setCustomerClassSharing(
        self, info: Info, input: Annotated[SetCustomerClassSharingInput, INPUT]
    ) -> CustomerClassPayload:
        return await mutation.run(
            info, customer_classes.set_customer_class_sharing_change, input, _payload(info)
        )

    @strawberry.mutation(
        description="Copy payment terms and past-due policy from regular to out-of-turn"
        " invoices. Audited as UPDATE when it changes something."
    )
    async def copyRegularInvoiceSettingsToOutOfTurn(
        self, info: Info, input: Annotated[CopyRegularInvoiceSettingsInput, INPUT]
    ) -> CustomerClassPayload:
        return await mutation.run(
            info, customer_classes.copy_regular_invoice_settings_change, input, _payload(info)
        )

    @strawberry.mutation(
        description="Restore a class's settings at an earlier version of its history (every"
        " tab, the description and the notification sender), rebuilt from the audit trail and"
        " applied as one update with every rule of updateCustomerClass checked against the"
        " current state; a reference that no longer exists is NOT_FOUND on its input path"
        " (e.g. regularInvoices.invoiceTemplateId). The class gets a new version, audited as"
        " UPDATE with revertedToVersion; settings already as at toVersion change nothing."
        " With dryRun, nothing is written and the payload shows the class as it would be."
    )
    async def revertCustomerClass(
        self, info: Info, input: Annotated[RevertCustomerClassInput, INPUT]
    ) -> CustomerClassPayload:
        return await mutation.run(
            info, customer_classes.revert_customer_class, input, _payload(info)
        )
