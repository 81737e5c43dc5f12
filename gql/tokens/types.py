from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from gql.common import DateTime, Node
from gql.context import Info
from gql.customers.types import Customer
from tenancy.ids import to_global_id


@strawberry.enum
class Role(Enum):
    ADMINISTRATOR = "ADMINISTRATOR"
    RESELLER = "RESELLER"


@strawberry.type(
    description="A bearer token for this API. The secret is shown only once, at creation."
)
class ApiToken(Node):
    row: strawberry.Private[Any]
    name: str
    role: Role
    createdAt: DateTime
    expiresAt: DateTime | None
    revokedAt: DateTime | None
    lastUsedAt: DateTime | None = strawberry.field(description="Updated at most once a minute.")

    @classmethod
    def of(cls, row: Any) -> ApiToken:
        return cls(
            row=row,
            id=strawberry.ID(to_global_id("ApiToken", row.id)),
            name=row.name,
            role=row.role,
            createdAt=row.created_at,
            expiresAt=row.expires_at,
            revokedAt=row.revoked_at,
            lastUsedAt=row.last_used_at,
        )

    @strawberry.field(description="The reseller a RESELLER token acts for.")
    async def reseller(self, info: Info) -> Customer | None:
        if self.row.tenant_id is None:
            return None
        found = await info.context.loaders.customers.load(self.row.tenant_id)
        return found and Customer.of(found)


@strawberry.type
class Viewer:
    role: Role
    tokenName: str
    resellerId: strawberry.Private[int | None]

    @strawberry.field(description="The reseller the caller acts for; null for administrators.")
    async def reseller(self, info: Info) -> Customer | None:
        if self.resellerId is None:
            return None
        found = await info.context.loaders.customers.load(self.resellerId)
        return found and Customer.of(found)
