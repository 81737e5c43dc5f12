from __future__ import annotations

from typing import Annotated

import strawberry

from gql.context import Info
from gql.tokens.types import ApiToken, Role, Viewer
from tenancy import tokens


@strawberry.type
class TokenQuery:
    @strawberry.field(description="Who is calling: the role and name of this request's token.")
    def viewer(self, info: Info) -> Viewer:
        principal = info.context.principal
        return Viewer(
            role=Role(principal.role.value),
            tokenName=principal.token_name,
            resellerId=principal.reseller_id,
        )

    @strawberry.field(
        description="API tokens, newest first. Administrators see every token; resellers their"
        " own. At most 100 per owner are kept (costed as 100)."
    )
    async def apiTokens(
        self,
        info: Info,
        includeRevoked: Annotated[
            bool,
            strawberry.argument(description="Also list revoked tokens. Default false."),
        ] = False,
    ) -> list[ApiToken]:
        context = info.context
        rows = await tokens.list_tokens(
            context.conn, context.principal, include_revoked=includeRevoked
        )
        return [ApiToken.of(row) for row in rows]
