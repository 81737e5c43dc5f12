from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from gql.common import DateTime, Node
from gql.context import Info
from gql.customers.types import Customer
from tenancy.ids import to_global_id


@strawberry.enum(description="What an API token may see and do.")
class Role(Enum):
    ADMINISTRATOR = strawberry.enum_value(
        "ADMINISTRATOR", description="The platform's operator: sees and manages everything."
    )
    RESELLER = strawberry.enum_value(
        "RESELLER",
        description="Acts for one reseller: sees itself, its direct customers, its own"
        " classes, the shared classes, its own tokens, its own tenant's audit events and the"
        " catalogs.",
    )


@strawberry.type(
    description="A bearer token for this API. The secret is shown only once, at creation."
)
class ApiToken(Node):
    row: strawberry.Private[Any]
    name: str = strawberry.field(
        description="1 to 100 characters, unique per owner (a reseller, or the administrators"
        " together) ignoring case and compatibility forms."
    )
    role: Role = strawberry.field(description="What the token may see and do.")
    createdAt: DateTime = strawberry.field(description="When the token was created.")
    expiresAt: DateTime | None = strawberry.field(
        description="When the token stops working; null: never (only tokens made by an"
        " administrator or the command line)."
    )
    revokedAt: DateTime | None = strawberry.field(
        description="When the token was revoked (every worker refuses it within 5 seconds);"
        " null: not revoked."
    )
    lastUsedAt: DateTime | None = strawberry.field(
        description="When the token last authenticated a request, to within a minute (written"
        " at most once a minute, after the response); null: never used."
    )

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


@strawberry.type(description="Who is calling: the token of this request.")
class Viewer:
    role: Role = strawberry.field(description="The token's role.")
    tokenName: str = strawberry.field(description="The token's name.")
    resellerId: strawberry.Private[int | None]

    @strawberry.field(description="The reseller the caller acts for; null for administrators.")
    async def reseller(self, info: Info) -> Customer | None:
        if self.resellerId is None:
            return None
        found = await info.context.loaders.customers.load(self.resellerId)
        return found and Customer.of(found)
