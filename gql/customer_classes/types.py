"""CustomerClass and its connection."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry

from gql.catalogs.types import BusinessModel, Currency, currency_of
from gql.common import (
    AFTER_DESCRIPTION,
    CURSOR_DESCRIPTION,
    FIRST_DESCRIPTION,
    DateTime,
    Node,
    PageInfo,
)
from gql.context import Info
from gql.customer_classes.tabs import Tabs, TaxationMethod
from tenancy import class_history, class_rows, documents, pagination
from tenancy.ids import global_id

if TYPE_CHECKING:
    from gql.customer_classes.history import CustomerClassVersionConnection
    from gql.customers.types import Customer, CustomerConnection

CustomerRef = Annotated["Customer", strawberry.lazy("gql.customers.types")]
CustomerConnectionRef = Annotated["CustomerConnection", strawberry.lazy("gql.customers.types")]
# Lazy: the history's types reach gql.customers.types, which imports this module.
VersionConnectionRef = Annotated[
    "CustomerClassVersionConnection", strawberry.lazy("gql.customer_classes.history")
]


@strawberry.enum(description="Who manages a class.")
class ManagerKind(Enum):
    ADMINISTRATOR = strawberry.enum_value(
        "ADMINISTRATOR",
        description="Administrator only: for direct customers and resellers, managed in the"
        " admin interface. Resellers see such a class only when it is shared, read-only.",
    )
    RESELLER = strawberry.enum_value(
        "RESELLER", description="Managed by one reseller, for that reseller's own subentities."
    )


@strawberry.enum(
    description="Which invoice tabs of a class are enabled: the list page's Invoices column."
)
class InvoicingPreference(Enum):
    INVOICING_ENABLED = strawberry.enum_value(
        "INVOICING_ENABLED", description="Both regular and out-of-turn invoices are enabled."
    )
    REGULAR_ONLY = strawberry.enum_value(
        "REGULAR_ONLY", description="Regular invoices are enabled, out-of-turn ones are not."
    )
    OUT_OF_TURN_ONLY = strawberry.enum_value(
        "OUT_OF_TURN_ONLY", description="Out-of-turn invoices are enabled, regular ones are not."
    )
    DISABLED = strawberry.enum_value("DISABLED", description="Neither is enabled.")


@strawberry.type(
    description="A named bundle of billing parameters shared by a category of customers: a"
    " header and the tabs (generalInfo ... fraudProtection). Every customer has exactly one"
    " class (the Default class unless another is assigned)."
)
class CustomerClass(Tabs, Node):
    row: strawberry.Private[Any]
    name: str = strawberry.field(
        description="1 to 100 characters, unique among the classes of its manager ignoring"
        " case and compatibility forms."
    )
    description: str | None = strawberry.field(
        description="Free text of at most 500 characters; null when empty."
    )
    managedBy: ManagerKind = strawberry.field(
        description="Who manages the class; fixed at creation (see managingReseller)."
    )
    notificationSender: str | None = strawberry.field(
        description='Sender address ("From") of notifications to this class\'s customers;'
        " null means the system default."
    )
    isDefault: bool = strawberry.field(
        description="The built-in Default class: administrator-managed, always shared, no"
        " currency; it cannot be renamed, unshared or deleted."
    )
    sharedWithResellers: bool = strawberry.field(
        description="Administrator classes only: resellers may see (read-only)"
        " and assign a shared class."
    )
    version: int = strawberry.field(
        description="Incremented by every change; pass it back as expectedVersion to update safely."
    )
    createdAt: DateTime = strawberry.field(description="When the class was created.")
    updatedAt: DateTime = strawberry.field(
        description="When the class last changed (a change that changes nothing does not count)."
    )
    archiveXdrs: bool = strawberry.field(
        description="List-page column: statistics (xDR archive) generation is on."
    )
    invoicing: InvoicingPreference = strawberry.field(
        description="List-page column: which of regularInvoices.enabled and"
        " outOfTurnInvoices.enabled are on."
    )
    taxationMethod: TaxationMethod = strawberry.field(
        description="List-page column: taxation.method."
    )

    def tab_document(self) -> documents.Tabs:
        return class_rows.settings_of(self.row)

    @classmethod
    def of(cls, row: Any) -> CustomerClass:
        return cls(
            row=row,
            id=strawberry.ID(global_id("CustomerClass", row.id, row.tenant_id)),
            name=row.name,
            description=row.description,
            managedBy=ManagerKind.ADMINISTRATOR if row.tenant_id is None else ManagerKind.RESELLER,
            notificationSender=row.notification_sender,
            isDefault=row.is_default,
            sharedWithResellers=row.shared_with_resellers,
            version=row.version,
            createdAt=row.created_at,
            updatedAt=row.updated_at,
            archiveXdrs=row.archive_xdrs,
            # Enum fields take the enum's value as a plain string: graphql-core serializes
            # it by value lookup, the cheapest path.
            invoicing=cast(
                InvoicingPreference,
                class_rows.invoicing(
                    row.regular_invoices_enabled, row.out_of_turn_invoices_enabled
                ),
            ),
            taxationMethod=row.taxation_method,
        )

    @strawberry.field(
        description="The reseller that manages this class; null when managedBy is ADMINISTRATOR."
    )
    async def managingReseller(self, info: Info) -> CustomerRef | None:
        if self.row.tenant_id is None:
            return None
        from gql.customers.types import Customer

        found = await info.context.loaders.customers.load(self.row.tenant_id)
        return found and Customer.of(found)

    @strawberry.field(description="The service type the customers get; fixed at creation.")
    async def businessModel(self, info: Info) -> BusinessModel | None:
        key = self.row.business_model_id
        if key is None:
            return None
        found = await info.context.loaders.catalog("BusinessModel").load(key)
        return found and BusinessModel.of(found)

    @strawberry.field(
        description="Fixed at creation; null means the class accepts customers of any currency."
    )
    def currency(self) -> Currency | None:
        return currency_of(self.row.currency_code)

    @strawberry.field(
        description="Number of customers this class is assigned to that the caller may see."
    )
    async def customerCount(self, info: Info) -> int:
        return await info.context.loaders.customer_counts.load(self.row.id)

    @strawberry.field(
        description="Customers of this class that the caller may see, by name then id."
    )
    async def customers(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description=FIRST_DESCRIPTION)] = 50,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
    ) -> CustomerConnectionRef:
        from gql.customers.types import CustomerConnection

        page = await info.context.loaders.class_customers.load((self.row.id, first, after))
        loaders = info.context.loaders
        key = self.row.id
        return CustomerConnection.of(page, lambda: loaders.customer_counts.load(key))

    @strawberry.field(
        description="Newest first; the history the caller may see (resellers: their own"
        " classes and shared ones)."
    )
    async def history(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description=FIRST_DESCRIPTION.replace("50", "20"))
        ] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="Start after this cursor (the endCursor of a page of this class's"
                " history; anything else, another class's included, is the top-level error"
                " BAD_USER_INPUT). Omitted: from the newest version."
            ),
        ] = None,
    ) -> VersionConnectionRef:
        from gql.customer_classes.history import CustomerClassVersionConnection

        key = self.row.id
        position = None if after is None else class_history.decode_history_cursor(key, after)
        loaders = info.context.loaders
        page = await loaders.histories.load((key, first, position))
        return CustomerClassVersionConnection.of(
            page, lambda: loaders.history_counts.load(key), info.context.principal.reseller_id
        )


@strawberry.type(description="A class and its cursor.")
class CustomerClassEdge:
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
    node: CustomerClass = strawberry.field(description="The class.")


@strawberry.type(description="A page of classes (select edges, nodes or both: one cost).")
class CustomerClassConnection:
    edges: list[CustomerClassEdge] = strawberry.field(
        description="The page's classes with their cursors."
    )
    nodes: list[CustomerClass] = strawberry.field(description="The page's classes.")
    pageInfo: PageInfo = strawberry.field(description="Where the page lies.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="How many classes the caller may see match the filter, over all pages."
    )
    async def totalCount(self) -> int:
        return await self.count()

    @classmethod
    def of(
        cls, page: pagination.Page, count: Callable[[], Awaitable[int]]
    ) -> CustomerClassConnection:
        nodes = [CustomerClass.of(row) for row in page.rows]
        return cls(
            edges=[
                CustomerClassEdge(cursor=c, node=n)
                for c, n in zip(page.cursors, nodes, strict=True)
            ],
            nodes=nodes,
            pageInfo=PageInfo.of(page.cursors, page.has_next, page.has_previous),
            count=count,
        )
