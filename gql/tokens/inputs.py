from __future__ import annotations

import strawberry

from gql.common import DateTime
from gql.input_shapes import check_input, check_values
from gql.tokens.types import Role
from tenancy import inputs


@strawberry.input(description="A new API token.")
class CreateApiTokenInput:
    name: str = strawberry.field(
        description="1 to 100 characters once NFC-normalised and trimmed (blank: REQUIRED;"
        " longer, or more than 400 characters as given: TOO_LONG), without control or"
        " invisible format characters (INVALID); unique among the owner's tokens ignoring"
        " case and compatibility forms (TAKEN)."
    )
    role: Role = strawberry.field(
        description="Administrators may create tokens of either role; resellers only RESELLER"
        " tokens for themselves (ADMINISTRATOR: NOT_PERMITTED)."
    )
    resellerId: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="The reseller a RESELLER token acts for. Administrators: the global ID of"
        " a RESELLER customer (REQUIRED for a RESELLER token; NOT_FOUND if none such, INVALID"
        " if not a RESELLER), omitted or null for an ADMINISTRATOR token (INVALID otherwise)."
        " Resellers: omit it or pass their own ID; any other value is NOT_PERMITTED.",
    )
    expiresAt: DateTime | None = strawberry.field(
        default=strawberry.UNSET,
        description="When the token stops working; it must be in the future (INVALID)."
        " Resellers must set it (REQUIRED), no later than the expiry of the token they use, or"
        " 90 days from now when that token has none (OUT_OF_RANGE). Administrators may omit"
        " it: the token never expires.",
    )


@strawberry.input(description="The token to revoke.")
class RevokeApiTokenInput:
    id: strawberry.ID = strawberry.field(
        description="Global ID of a token the caller may see (NOT_FOUND otherwise)."
    )


check_input(CreateApiTokenInput, inputs.CreateApiToken)
check_input(RevokeApiTokenInput, inputs.RevokeApiToken)
check_values(Role, inputs.Role)
