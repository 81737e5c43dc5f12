from __future__ import annotations

from typing import Annotated, Any

import strawberry

from gql import mutation
from gql.common import INPUT, UserError
from gql.context import Info
from gql.tokens.inputs import CreateApiTokenInput, RevokeApiTokenInput
from gql.tokens.types import ApiToken
from tenancy import tokens

USER_ERRORS = "Why the input was refused; empty on success."


@strawberry.type(description="The result of createApiToken.")
class CreateApiTokenPayload:
    apiToken: ApiToken | None = strawberry.field(
        description="The new token; null when the input was refused."
    )
    secret: str | None = strawberry.field(
        description="The secret, shown only once: bc_ followed by 256 random bits. Send it as"
        ' the header "Authorization: Bearer <secret>"; only its SHA-256 is stored.'
    )
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type(description="The result of revokeApiToken.")
class ApiTokenPayload:
    apiToken: ApiToken | None = strawberry.field(
        description="The token as revoked; null when the input was refused."
    )
    userErrors: list[UserError] = strawberry.field(description=USER_ERRORS)


@strawberry.type
class TokenMutation:
    @strawberry.mutation(
        description="Create a token. Resellers create RESELLER tokens for themselves, expiring"
        " no later than the token they use, at most 20 unrevoked at a time (OUT_OF_RANGE on"
        ' ["input"]). Each owner keeps at most 100 tokens, revoked ones included: the oldest'
        " revoked ones are deleted to make room (audited as DELETE), or OUT_OF_RANGE when none"
        " is revoked. Audited as CREATE."
    )
    async def createApiToken(
        self, info: Info, input: Annotated[CreateApiTokenInput, INPUT]
    ) -> CreateApiTokenPayload:
        def payload(result: Any, errors: list[UserError]) -> CreateApiTokenPayload:
            if result is None:
                return CreateApiTokenPayload(apiToken=None, secret=None, userErrors=errors)
            row, secret = result
            return CreateApiTokenPayload(
                apiToken=ApiToken.of(row), secret=secret, userErrors=errors
            )

        return await mutation.run(info, tokens.create_api_token, input, payload)

    @strawberry.mutation(
        description="Revoke a token: every worker refuses it within 5 seconds. Audited as"
        " REVOKE; revoking a revoked token changes nothing."
    )
    async def revokeApiToken(
        self, info: Info, input: Annotated[RevokeApiTokenInput, INPUT]
    ) -> ApiTokenPayload:
        return await mutation.run(
            info,
            tokens.revoke_api_token,
            input,
            lambda row, errors: ApiTokenPayload(
                apiToken=row and ApiToken.of(row), userErrors=errors
            ),
        )
