"""Catalog mutations: administrators only (FORBIDDEN for resellers, from the role alone)."""

from __future__ import annotations

import functools

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
from gql.common import UserError
from gql.context import Info
from tenancy import catalogs


@strawberry.type
class BusinessModelPayload:
    businessModel: BusinessModel | None
    userErrors: list[UserError]


@strawberry.type
class InvoiceTemplatePayload:
    invoiceTemplate: InvoiceTemplate | None
    userErrors: list[UserError]


@strawberry.type
class NotificationSetPayload:
    notificationSet: NotificationSet | None
    userErrors: list[UserError]


@strawberry.type
class CustomFieldDefinitionPayload:
    customFieldDefinition: CustomFieldDefinition | None
    userErrors: list[UserError]


@strawberry.type
class CustomTaxPayload:
    customTax: CustomTax | None
    userErrors: list[UserError]


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Administrators only.")
    async def createBusinessModel(
        self, info: Info, input: CreateBusinessModelInput
    ) -> BusinessModelPayload:
        return await mutation.run(
            info,
            catalogs.create_business_model,
            input,
            lambda row, errors: BusinessModelPayload(
                businessModel=row and BusinessModel.of(row), userErrors=errors
            ),
        )

    @strawberry.mutation(description="Administrators only. Names are unique ignoring case.")
    async def createInvoiceTemplate(
        self, info: Info, input: CreateNamedCatalogEntryInput
    ) -> InvoiceTemplatePayload:
        return await mutation.run(
            info,
            functools.partial(catalogs.create_named_entry, type_name="InvoiceTemplate"),
            input,
            lambda row, errors: InvoiceTemplatePayload(
                invoiceTemplate=row and InvoiceTemplate.of(row), userErrors=errors
            ),
        )

    @strawberry.mutation(description="Administrators only. Names are unique ignoring case.")
    async def createNotificationSet(
        self, info: Info, input: CreateNamedCatalogEntryInput
    ) -> NotificationSetPayload:
        return await mutation.run(
            info,
            functools.partial(catalogs.create_named_entry, type_name="NotificationSet"),
            input,
            lambda row, errors: NotificationSetPayload(
                notificationSet=row and NotificationSet.of(row), userErrors=errors
            ),
        )

    @strawberry.mutation(description="Administrators only. Names are unique per object.")
    async def createCustomFieldDefinition(
        self, info: Info, input: CreateCustomFieldDefinitionInput
    ) -> CustomFieldDefinitionPayload:
        return await mutation.run(
            info,
            catalogs.create_custom_field_definition,
            input,
            lambda row, errors: CustomFieldDefinitionPayload(
                customFieldDefinition=row and CustomFieldDefinition.of(row), userErrors=errors
            ),
        )

    @strawberry.mutation(description="Administrators only. Names are unique ignoring case.")
    async def createCustomTax(self, info: Info, input: CreateCustomTaxInput) -> CustomTaxPayload:
        return await mutation.run(
            info,
            catalogs.create_custom_tax,
            input,
            lambda row, errors: CustomTaxPayload(
                customTax=row and CustomTax.of(row), userErrors=errors
            ),
        )
