"""Customer, its overrides and effective settings, and its connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import strawberry

from gql.catalogs.types import Currency, InvoiceTemplate, currency_of
from gql.common import CURSOR_DESCRIPTION, DateTime, Node, PageInfo
from gql.context import Info
from gql.customer_classes.tabs import StatisticsDelivery, Tabs
from gql.customer_classes.types import CustomerClass
from tenancy import customers, documents, pagination
from tenancy.ids import to_global_id


@strawberry.enum(description="The kind of a customer, set at creation.")
class CustomerType(Enum):
    RETAIL = strawberry.enum_value("RETAIL", description="An end customer.")
    RESELLER = strawberry.enum_value(
        "RESELLER",
        description="A reseller: it has customers of its own (its subentities), classes and"
        " API tokens. Resellers nest at most 3 levels.",
    )


@strawberry.type(
    description="An overridden invoice template; template null means do not"
    " create invoice documents."
)
class TemplateOverride:
    templateId: strawberry.Private[int | None]

    @strawberry.field(
        description="The template used instead of the class's; null: do not create invoice"
        " documents."
    )
    async def template(self, info: Info) -> InvoiceTemplate | None:
        if self.templateId is None:
            return None
        row = await info.context.loaders.catalog("InvoiceTemplate").load(self.templateId)
        return row and InvoiceTemplate.of(row)


@strawberry.type(
    description="Per-customer overrides of class settings; null fields follow the class."
)
class CustomerOverrides:
    regularInvoiceTemplate: TemplateOverride | None = strawberry.field(
        description="Overrides regularInvoices.invoiceTemplate; null: as defined by the"
        " customer class."
    )
    outOfTurnInvoiceTemplate: TemplateOverride | None = strawberry.field(
        description="Overrides outOfTurnInvoices.invoiceTemplate; null: as defined by the"
        " customer class."
    )
    regularInvoicesEnabled: bool | None = strawberry.field(
        description="Overrides regularInvoices.enabled; null: as defined by the customer"
        " class. true needs the class's statistics on (DEPENDENCY)."
    )
    outOfTurnInvoicesEnabled: bool | None = strawberry.field(
        description="Overrides outOfTurnInvoices.enabled; null: as defined by the customer class."
    )
    sendStatistics: StatisticsDelivery | None = strawberry.field(
        description="Overrides generalInfo.sendStatistics; null: as defined by the customer"
        " class. A value other than DO_NOT_SEND needs the class's statistics on (DEPENDENCY)."
    )
    suspendOnInsufficientFunds: bool | None = strawberry.field(
        description="Overrides generalInfo.suspendOnInsufficientFunds; null: as defined by the"
        " customer class."
    )

    @classmethod
    def of(cls, row: Any) -> CustomerOverrides:
        return cls(
            regularInvoiceTemplate=TemplateOverride(templateId=row.override_regular_template_id)
            if row.override_regular_template
            else None,
            outOfTurnInvoiceTemplate=TemplateOverride(
                templateId=row.override_out_of_turn_template_id
            )
            if row.override_out_of_turn_template
            else None,
            regularInvoicesEnabled=row.override_regular_invoices_enabled,
            outOfTurnInvoicesEnabled=row.override_out_of_turn_invoices_enabled,
            sendStatistics=row.override_send_statistics,
            suspendOnInsufficientFunds=row.override_suspend_on_insufficient_funds,
        )


@strawberry.type(
    description="Every tab as the customer experiences it: its class's values with its"
    " overrides applied. Computed on read, so class changes reach every customer without"
    " an override at once."
)
class EffectiveSettings(Tabs):
    document: strawberry.Private[documents.Tabs]
    overriddenFields: list[str] = strawberry.field(
        description="Dotted paths of the fields that come from the customer's overrides, e.g."
        " regularInvoices.enabled."
    )

    def tab_document(self) -> documents.Tabs:
        return self.document


@strawberry.type(
    description="A direct customer of the administrator (parent null) or a subentity of a"
    " reseller. Resellers are customers of type RESELLER."
)
class Customer(Node):
    row: strawberry.Private[Any]
    name: str = strawberry.field(description="1 to 100 characters; need not be unique.")
    customerType: CustomerType = strawberry.field(description="Set at creation.")
    createdAt: DateTime = strawberry.field(description="When the customer was created.")

    @classmethod
    def of(cls, row: Any) -> Customer:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("Customer", row.id)),
            name=row.name,
            customerType=row.customer_type,
            createdAt=row.created_at,
        )

    @strawberry.field(
        description="The customer's currency, fixed at creation; a class must have this"
        " currency or none to be assigned (CURRENCY_MISMATCH)."
    )
    def currency(self) -> Currency:
        found = currency_of(self.row.currency_code)
        assert found is not None
        return found

    @strawberry.field(
        description="The reseller this customer belongs to; null for the administrator's direct"
        " customers and resellers, and when the caller may not see that reseller."
    )
    async def parent(self, info: Info) -> Customer | None:
        if self.row.tenant_id is None:
            return None
        found = await info.context.loaders.customers.load(self.row.tenant_id)
        return found and Customer.of(found)

    @strawberry.field(
        description="The customer's class (every customer has one: the Default class unless"
        " another is assigned); null when the caller may not see it."
    )
    async def customerClass(self, info: Info) -> CustomerClass | None:
        found = await info.context.loaders.classes.load(self.row.customer_class_id)
        return found and CustomerClass.of(found)

    @strawberry.field(
        description="Per-customer overrides of class settings; null fields follow the class."
    )
    def overrides(self) -> CustomerOverrides:
        return CustomerOverrides.of(self.row)

    @strawberry.field(
        description="Every tab as this customer experiences it: its class's values with its"
        " overrides applied."
    )
    async def effectiveSettings(self, info: Info) -> EffectiveSettings:
        class_row = await info.context.loaders.settings_classes.load(self.row.customer_class_id)
        document, overridden = customers.effective_settings(class_row, self.row)
        return EffectiveSettings(document=document, overriddenFields=overridden)


@strawberry.type(description="A customer and its cursor.")
class CustomerEdge:
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
    node: Customer = strawberry.field(description="The customer.")


@strawberry.type(description="A page of customers (select edges, nodes or both: one cost).")
class CustomerConnection:
    edges: list[CustomerEdge] = strawberry.field(
        description="The page's customers with their cursors."
    )
    nodes: list[Customer] = strawberry.field(description="The page's customers.")
    pageInfo: PageInfo = strawberry.field(description="Where the page lies.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many customers the caller may see match, over all pages.")
    async def totalCount(self) -> int:
        return await self.count()

    @classmethod
    def of(cls, page: pagination.Page, count: Callable[[], Awaitable[int]]) -> CustomerConnection:
        nodes = [Customer.of(row) for row in page.rows]
        return cls(
            edges=[
                CustomerEdge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)
            ],
            nodes=nodes,
            pageInfo=PageInfo.of(page.cursors, page.has_next, page.has_previous),
            count=count,
        )
