"""Catalog mutations: administrators only (FORBIDDEN for resellers, from the role alone)."""

from __future__ import annotations

import functools
from typing import Annotated

import strawberry

from gql import mutation
from gql.catalogs.inputs import (
    CreateBusinessModelInput,
    CreateCustomFieldDefinitionInput,
    CreateCustomTaxInput,
    CreateNamedCatalogEntryInput,
)
from gql.catalogs.types import (
    BusinessModel,
    CustomFieldDefinition,
    CustomTax,
    InvoiceTemplate,
    NotificationSet,
)
from gql.common import INPUT, UserError
from gql.context import Info
from tenancy import catalogs

CREATED = "The new entry; null when the input was refused."
USER_ERRORS = "Why the input was refused; empty on success."


@strawberry.type(description="The result of createBusinessModel.")
class BusinessModelPayload:
    businessModel: BusinessModel | None = strawberry.field(description=CREATED)
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="The result of createInvoiceTemplate.")
class InvoiceTemplatePayload:
    invoiceTemplate: InvoiceTemplate | None = strawberry.field(description=CREATED)
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="The result of createNotificationSet.")
class NotificationSetPayload:
    notificationSet: NotificationSet | None = strawberry.field(description=CREATED)
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="The result of createCustomFieldDefinition.")
class CustomFieldDefinitionPayload:
    customFieldDefinition: CustomFieldDefinition | None = strawberry.field(description=CREATED)
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="The result of createCustomTax.")
class CustomTaxPayload:
    customTax: CustomTax | None = strawberry.field(description=CREATED)
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


# Every catalog mutation (tenancy/catalogs.py).
ADMINISTRATORS_ONLY = (
    "Administrators only (resellers: top-level FORBIDDEN, decided from the role alone). A"
    ' catalog holds at most 500 entries (OUT_OF_RANGE on ["input"] when full). Audited as'
    " CREATE."
)


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Create a business model. " + ADMINISTRATORS_ONLY)
    async def createBusinessModel(
        self, info: Info, input: Annotated[CreateBusinessModelInput, INPUT]
    ) -> BusinessModelPayload:
        return await mutation.run(
            info,
            catalogs.create_business_model,
            input,
            lambda row, errors: BusinessModelPayload(
                businessModel=row and BusinessModel.of(row), userErrors=errors
            ),
        )

    @strawberry.mutation(description="Create an invoice template. " + ADMINISTRATORS_ONLY)
    async def createInvoiceTemplate(
        self, info: Info, input: Annotated[CreateNamedCatalogEntryInput, INPUT]
    ) -> InvoiceTemplatePayload:
        return await mutation.run(
            info,
            functools.partial(catalogs.create_named_entry, type_name="InvoiceTemplate"),
            input,
            lambda row, errors: InvoiceTemplatePayload(
                invoiceTemplate=row and InvoiceTemplate.of(row), userErrors=errors
            ),
        )

    @strawberry.mutation(description="Create a notification set. " + ADMINISTRATORS_ONLY)
    async def createNotificationSet(
        self, info: Info, input: Annotated[CreateNamedCatalogEntryInput, INPUT]
    ) -> NotificationSetPayload:
        return await mutation.run(
            info,
            functools.partial(catalogs.create_named_entry, type_name="NotificationSet"),
            input,
            lambda row, errors: NotificationSetPayload(
                notificationSet=row and NotificationSet.of(row), userErrors=errors
            ),
        )

    @strawberry.mutation(description="Create a custom field definition. " + ADMINISTRATORS_ONLY)
    async def createCustomFieldDefinition(
        self, info: Info, input: Annotated[CreateCustomFieldDefinitionInput, INPUT]
    ) -> CustomFieldDefinitionPayload:
        return await mutation.run(
            info,
            catalogs.create_custom_field_definition,
            input,
            lambda row, errors: CustomFieldDefinitionPayload(
                customFieldDefinition=row and CustomFieldDefinition.of(row), userErrors=errors
            ),
        )

    @strawberry.mutation(description="Create a custom tax. " + ADMINISTRATORS_ONLY)
    async def createCustomTax(
        self, info: Info, input: Annotated[CreateCustomTaxInput, INPUT]
    ) -> CustomTaxPayload:
        return await mutation.run(
            info,
            catalogs.create_custom_tax,
            input,
            lambda row, errors: CustomTaxPayload(
                customTax=row and CustomTax.of(row), userErrors=errors
            ),
        )
