from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import strawberry

from gql.common import CURSOR_DESCRIPTION, JSON, DateTime, Node, PageInfo
from gql.context import Info
from gql.customers.types import Customer
from gql.tokens.types import Role
from tenancy import pagination, policy
from tenancy.ids import presented_object_id, to_global_id


@strawberry.enum(description="The kind of change an audit event records.")
class AuditAction(Enum):
    CREATE = strawberry.enum_value(
        "CREATE", description="A create* mutation (or the command line) made the object."
    )
    UPDATE = strawberry.enum_value(
        "UPDATE",
        description="updateCustomerClass, copyRegularInvoiceSettingsToOutOfTurn or"
        " updateCustomerOverrides changed the object.",
    )
    DELETE = strawberry.enum_value(
        "DELETE",
        description="deleteCustomerClasses deleted the class, or createApiToken dropped an old"
        " revoked token to make room.",
    )
    CLONE = strawberry.enum_value(
        "CLONE",
        description="cloneCustomerClass made the object, a copy (changes include clonedFrom).",
    )
    SHARE = strawberry.enum_value(
        "SHARE", description="setCustomerClassSharing shared the class with resellers."
    )
    UNSHARE = strawberry.enum_value(
        "UNSHARE", description="setCustomerClassSharing stopped sharing the class."
    )
    ASSIGN = strawberry.enum_value(
        "ASSIGN", description="assignCustomerClass gave the customer another class."
    )
    REVOKE = strawberry.enum_value("REVOKE", description="revokeApiToken revoked the token.")


@strawberry.type(
    description="One successful change, written in the change's transaction (a refused"
    " mutation writes none). Resellers see the events whose tenant is themselves: changes"
    " to their classes, customers and tokens."
)
class AuditEvent(Node):
    row: strawberry.Private[Any]
    at: DateTime = strawberry.field(description="When the change was made.")
    action: AuditAction = strawberry.field(description="The kind of change.")
    actorRole: Role = strawberry.field(
        description="The role of the token that made the change (ADMINISTRATOR for the"
        " command line)."
    )
    actorTokenName: str = strawberry.field(
        description='The token that made the change ("cli" for the command line); resellers'
        ' read "administrator" for changes they did not make.'
    )
    objectId: strawberry.ID = strawberry.field(
        description="Global ID of the changed object (it may no longer exist)."
    )
    objectType: str = strawberry.field(
        description="The GraphQL type name of the changed object, e.g. CustomerClass."
    )
    changes: JSON = strawberry.field(
        description="The changed fields: an object from dotted paths"
        ' ("regularInvoices.paymentTerms.netDays") to {"before": ..., "after": ...}. CREATE and'
        " CLONE list every field of the new object with before null, DELETE every field with"
        " after null, the others only what changed. Referenced objects appear as global IDs"
        " under their output name; version and timestamps are not listed, secrets never."
    )

    @classmethod
    def of(cls, row: Any, viewer_reseller: int | None) -> AuditEvent:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("AuditEvent", row.id)),
            at=row.at,
            action=row.action,
            actorRole=row.actor_role,
            actorTokenName=policy.actor_token_name(row, viewer_reseller),
            objectId=strawberry.ID(
                presented_object_id(row.object_type, row.object_id, row.tenant_id)
            ),
            objectType=row.object_type,
            changes=row.changes,
        )

    @strawberry.field(description="The reseller whose token made the change, when visible.")
    async def actorReseller(self, info: Info) -> Customer | None:
        if self.row.actor_reseller_id is None:
            return None
        found = await info.context.loaders.customers.load(self.row.actor_reseller_id)
        return found and Customer.of(found)


@strawberry.type(description="An audit event and its cursor.")
class AuditEventEdge:
    cursor: str = strawberry.field(description=CURSOR_DESCRIPTION)
    node: AuditEvent = strawberry.field(description="The event.")


@strawberry.type(description="A page of audit events (select edges, nodes or both: one cost).")
class AuditEventConnection:
    edges: list[AuditEventEdge] = strawberry.field(
        description="The page's events with their cursors."
    )
    nodes: list[AuditEvent] = strawberry.field(description="The page's events.")
    pageInfo: PageInfo = strawberry.field(description="Where the page lies.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="How many events the caller may see (of the object, with objectId), over"
        " all pages."
    )
    async def totalCount(self) -> int:
        return await self.count()

    @classmethod
    def of(
        cls, page: pagination.Page, count: Callable[[], Awaitable[int]], viewer_reseller: int | None
    ) -> AuditEventConnection:
        nodes = [AuditEvent.of(row, viewer_reseller) for row in page.rows]
        return cls(
            edges=[
                AuditEventEdge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)
            ],
            nodes=nodes,
            pageInfo=PageInfo.of(page.cursors, page.has_next, page.has_previous),
            count=count,
        )
