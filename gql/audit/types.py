from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import strawberry

from gql.common import JSON, DateTime, Node, PageInfo
from gql.context import Info
from gql.customers.types import Customer
from gql.tokens.types import Role
from tenancy import pagination, policy
from tenancy.ids import to_global_id


@strawberry.enum
class AuditAction(Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    CLONE = "CLONE"
    SHARE = "SHARE"
    UNSHARE = "UNSHARE"
    ASSIGN = "ASSIGN"
    REVOKE = "REVOKE"


@strawberry.type(description="One successful change, written in the change's transaction.")
class AuditEvent(Node):
    row: strawberry.Private[Any]
    at: DateTime
    action: AuditAction
    actorRole: Role
    actorTokenName: str = strawberry.field(
        description='The token that made the change ("cli" for the command line); resellers'
        ' read "administrator" for changes they did not make.'
    )
    objectId: strawberry.ID = strawberry.field(
        description="Global ID of the changed object (it may no longer exist)."
    )
    objectType: str
    changes: JSON = strawberry.field(description="Changed fields: {dotted.path: {before, after}}.")

    @classmethod
    def of(cls, row: Any, viewer_reseller: int | None) -> AuditEvent:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("AuditEvent", row.id)),
            at=row.at,
            action=row.action,
            actorRole=row.actor_role,
            actorTokenName=policy.actor_token_name(row, viewer_reseller),
            objectId=strawberry.ID(row.object_id),
            objectType=row.object_type,
            changes=row.changes,
        )

    @strawberry.field(description="The reseller whose token made the change, when visible.")
    async def actorReseller(self, info: Info) -> Customer | None:
        if self.row.actor_reseller_id is None:
            return None
        found = await info.context.loaders.customers.load(self.row.actor_reseller_id)
        return found and Customer.of(found)


@strawberry.type
class AuditEventEdge:
    cursor: str
    node: AuditEvent


@strawberry.type
class AuditEventConnection:
    edges: list[AuditEventEdge]
    nodes: list[AuditEvent]
    pageInfo: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
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
