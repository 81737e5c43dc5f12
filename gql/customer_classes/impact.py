"""ClassChangeImpact: what a class mutation does, on a real run and on a dry run (issue 11).

The changed leaves come with the payload; the customers are read only when asked for,
through the request's connection: on a dry run that is still inside the mutation's
savepoint (gql.mutation keeps it open until the payload is complete), so they are the
would-be state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from gql.common import AFTER_DESCRIPTION, FIRST_DESCRIPTION, JSON
from gql.context import Info
from gql.customers.types import Customer, CustomerConnection
from tenancy import impact, maxima


@strawberry.type(description="One leaf of a class that changes, as in the audit trail.")
class FieldChange:
    path: str = strawberry.field(
        description="Dotted path of the leaf, as in AuditEvent.changes, e.g."
        " regularInvoices.paymentTerms.netDays; references are named as their output field"
        " (regularInvoices.invoiceTemplate, customFields)."
    )
    before: JSON | None = strawberry.field(
        description="The value before the change (references as global IDs, lists whole);"
        " null for a new class."
    )
    after: JSON | None = strawberry.field(
        description="The value after the change (references as global IDs, lists whole)."
    )

    @classmethod
    def of(cls, change: impact.FieldChange) -> FieldChange:
        return cls(path=change.path, before=JSON(change.before), after=JSON(change.after))


@strawberry.type(
    description="The customers of one reseller (or direct customers) a change reaches."
)
class ResellerImpact:
    resellerKey: strawberry.Private[int | None]
    count: strawberry.Private[int]

    @strawberry.field(
        description="The reseller whose customers these are (their parent); null for the"
        " administrator's direct customers."
    )
    async def reseller(self, info: Info) -> Customer | None:
        if self.resellerKey is None:
            return None
        found = await info.context.loaders.customers.load(self.resellerKey)
        return found and Customer.of(found)

    @strawberry.field(description="How many of this reseller's customers the change reaches.")
    def customerCount(self) -> int:
        return self.count


def _once(make: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
    """``make`` run at most once, however many fields await it (the count of
    affectedCustomerCount and affectedCustomers.totalCount is one statement)."""
    task: asyncio.Future[int] | None = None

    async def run() -> int:
        nonlocal task
        if task is None:
            task = asyncio.ensure_future(make())
        return await task

    return run


@strawberry.type(
    description="What a class mutation does (computed the same way on a dry run and on a real"
    " run): the leaves that change, and the customers whose effective settings change with"
    " them. Only customers the caller may see are counted or listed."
)
class ClassChangeImpact:
    computed: strawberry.Private[impact.ClassImpact]
    count: strawberry.Private[Callable[[], Awaitable[int]]]
    changes: list[FieldChange] = strawberry.field(
        description="Every leaf that changes, as dotted paths like the audit trail"
        " (regularInvoices.paymentTerms.netDays), sorted by path; empty when nothing changes."
        " A new class lists every leaf."
    )

    @classmethod
    def of(cls, info: Info, found: impact.ClassImpact) -> ClassChangeImpact:
        conn, principal = info.context.conn, info.context.principal
        return cls(
            computed=found,
            count=_once(lambda: impact.affected_count(conn, principal, found)),
            changes=[FieldChange.of(change) for change in found.changes],
        )

    @strawberry.field(
        description="Customers visible to the caller whose effective settings change: the"
        " class's customers, except those whose overrides replace every changed tab leaf."
        " Changes of the header (name, description, notificationSender, sharing) change no"
        " customer's effective settings."
    )
    async def affectedCustomerCount(self) -> int:
        return await self.count()

    @strawberry.field(
        description="The customers counted by affectedCustomerCount, by name then id; their"
        " effectiveSettings show the settings as they are (or would be, on a dry run) after"
        " the change."
    )
    async def affectedCustomers(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description=FIRST_DESCRIPTION)] = 50,
        after: Annotated[str | None, strawberry.argument(description=AFTER_DESCRIPTION)] = None,
    ) -> CustomerConnection:
        context = info.context
        page = await impact.affected_customers(
            context.conn, context.principal, self.computed, first=first, after=after
        )
        return CustomerConnection.of(page, self.count)

    @strawberry.field(
        description="Administrators only (null for resellers): affected customers counted per"
        f" reseller (null reseller = direct customers), the most affected first, at most"
        f" {maxima.RESELLER_IMPACTS} resellers (the total is affectedCustomerCount)."
    )
    async def affectedByReseller(self, info: Info) -> list[ResellerImpact] | None:
        context = info.context
        counts = await impact.affected_by_reseller(context.conn, context.principal, self.computed)
        if counts is None:
            return None
        return [ResellerImpact(resellerKey=key, count=n) for key, n in counts]


def impact_of(info: Info, change: Any) -> ClassChangeImpact:
    """The impact of a ``tenancy.customer_classes.ClassChange``."""
    return ClassChangeImpact.of(info, impact.class_change_impact(change))
