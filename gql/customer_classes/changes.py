"""FieldChange: one leaf of a class that a change sets from one value to another."""

from __future__ import annotations

import strawberry

from gql.common import JSON


@strawberry.type(
    description="One setting of a class that changes (or changed): its dotted path and its"
    " values before and after."
)
class FieldChange:
    path: str = strawberry.field(
        description="Dotted path of the leaf, e.g. regularInvoices.paymentTerms.netDays; a"
        " list is one leaf (taxation.customTaxes)."
    )
    before: JSON | None = strawberry.field(
        description="The value before the change; null when it was null or the class did not exist."
    )
    after: JSON | None = strawberry.field(
        description="The value after the change; null when it is null or the class no"
        " longer exists."
    )
