from __future__ import annotations

from typing import Annotated

import strawberry

from db.models import custom_field_table
from gql.catalogs.types import (
    CURRENCY_BY_CODE,
    BusinessModel,
    Currency,
    CustomFieldDefinition,
    CustomFieldObject,
    CustomTax,
    InvoiceTemplate,
    NotificationSet,
)
from gql.context import Info
from tenancy import catalogs

PUBLIC = " Every authenticated caller reads every catalog: entry names are public to all resellers."


@strawberry.type
class CatalogQuery:
    @strawberry.field(description="Every active ISO 4217 currency, by code.")
    async def currencies(self, info: Info) -> list[Currency]:
        rows = await catalogs.currencies(info.context.conn)
        return [
            CURRENCY_BY_CODE.get(row.code)
            or Currency(code=row.code, name=row.name, minorUnits=row.minor_units)
            for row in rows
        ]

    @strawberry.field(description="Business models, by code (at most 500)." + PUBLIC)
    async def businessModels(self, info: Info) -> list[BusinessModel]:
        return [
            BusinessModel.of(r)
            for r in await catalogs.list_entries(info.context.conn, "BusinessModel")
        ]

    @strawberry.field(description="Invoice templates, by name (at most 500)." + PUBLIC)
    async def invoiceTemplates(self, info: Info) -> list[InvoiceTemplate]:
        return [
            InvoiceTemplate.of(r)
            for r in await catalogs.list_entries(info.context.conn, "InvoiceTemplate")
        ]

    @strawberry.field(description="Notification sets, by name (at most 500)." + PUBLIC)
    async def notificationSets(self, info: Info) -> list[NotificationSet]:
        return [
            NotificationSet.of(r)
            for r in await catalogs.list_entries(info.context.conn, "NotificationSet")
        ]

    @strawberry.field(
        description="Custom field definitions, by name (at most 500); optionally of one"
        " object." + PUBLIC
    )
    async def customFieldDefinitions(
        self,
        info: Info,
        object: Annotated[
            CustomFieldObject | None,
            strawberry.argument(description="Only the definitions of this object. Omitted: all."),
        ] = None,
    ) -> list[CustomFieldDefinition]:
        where = None if object is None else custom_field_table.c.object == object.name
        rows = await catalogs.list_entries(info.context.conn, "CustomFieldDefinition", where)
        return [CustomFieldDefinition.of(r) for r in rows]

    @strawberry.field(description="Custom taxes, by name (at most 500)." + PUBLIC)
    async def customTaxes(self, info: Info) -> list[CustomTax]:
        return [
            CustomTax.of(r) for r in await catalogs.list_entries(info.context.conn, "CustomTax")
        ]
