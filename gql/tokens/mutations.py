from __future__ import annotations

from typing import Any

import strawberry

from gql import mutation
from gql.common import UserError
from gql.context import Info
from gql.tokens.inputs import CreateApiTokenInput, RevokeApiTokenInput
from gql.tokens.types import ApiToken
from tenancy import tokens


@strawberry.type
class CreateApiTokenPayload:
    apiToken: ApiToken | None
    secret: str | None = strawberry.field(description="The secret, shown only once.")
    userErrors: list[UserError]


@strawberry.type
class ApiTokenPayload:
    apiToken: ApiToken | None
    userErrors: list[UserError]


@strawberry.type
class TokenMutation:
    @strawberry.mutation(
        description="Resellers create RESELLER tokens for themselves, expiring no later than"
        " the token they use, at most 20 active at a time."
    )
    async def createApiToken(self, info: Info, input: CreateApiTokenInput) -> CreateApiTokenPayload:
        def payload(result: Any, errors: list[UserError]) -> CreateApiTokenPayload:
            if result is None:
                return CreateApiTokenPayload(apiToken=None, secret=None, userErrors=errors)
            row, secret = result
            return CreateApiTokenPayload(
                apiToken=ApiToken.of(row), secret=secret, userErrors=errors
            )

        return await mutation.run(info, tokens.create_api_token, input, payload)

    @strawberry.mutation(description="Revocation takes effect on every worker within 5 seconds.")
    async def revokeApiToken(self, info: Info, input: RevokeApiTokenInput) -> ApiTokenPayload:
        return await mutation.run(
            info,
            tokens.revoke_api_token,
            input,
            lambda row, errors: ApiTokenPayload(
                apiToken=row and ApiToken.of(row), userErrors=errors
            ),
        )
