from __future__ import annotations

import strawberry

from gql.common import DateTime
from gql.input_shapes import check_input, check_values
from gql.tokens.types import Role
from tenancy import inputs


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


check_input(CreateApiTokenInput, inputs.CreateApiToken)
check_input(RevokeApiTokenInput, inputs.RevokeApiToken)
check_values(Role, inputs.Role)
