from __future__ import annotations

import strawberry

from gql.context import Info
from gql.tokens.types import ApiToken, Role, Viewer
from tenancy import tokens


@strawberry.type
class TokenQuery:
    @strawberry.field(description="Who is calling.")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        return Viewer(
            role=Role(principal.role.value),
            tokenName=principal.token_name,
            resellerId=principal.reseller_id,
        )

    @strawberry.field(
        description="Newest first. Administrators see every token; resellers their own."
    )
    async def apiTokens(self, info: Info, includeRevoked: bool = False) -> list[ApiToken]:
        context = info.context
        rows = await tokens.list_tokens(
            context.conn, context.principal, include_revoked=includeRevoked
        )
        return [ApiToken.of(row) for row in rows]
