from __future__ import annotations

import strawberry

from gql.common import DateTime
from gql.tokens.types import Role


@strawberry.input
class CreateApiTokenInput:
    name: str
    role: Role = strawberry.field(
        description="Administrators may create tokens of either role; resellers"
        " only for themselves."
    )
    resellerId: strawberry.ID | None = strawberry.UNSET
    expiresAt: DateTime | None = strawberry.UNSET


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID
