"""FieldChange: one changed leaf of a class, as the audit trail records it (issue 11).

Shared by a class's history (CustomerClassVersion.changes) and the impact of a change
(ClassChangeImpact.changes), so it lives in a module of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry

from gql.common import JSON


@strawberry.type(
    description="One leaf of a class that changes, with its value before and after (values as"
    " the class's fields show them; referenced objects as global IDs)."
)
class FieldChange:
    path: str = strawberry.field(
        description="Dotted path like the audit trail's (regularInvoices.paymentTerms.netDays);"
        " references under their output name (regularInvoices.invoiceTemplate). Notes about"
        " the change itself appear as paths of their own: clonedFrom (the source of a clone)"
        " and revertedToVersion (the version a revert restored)."
    )
    before: JSON | None = strawberry.field(
        description="The value before the change; null when it was null or did not exist."
    )
    after: JSON | None = strawberry.field(
        description="The value after the change; null when it is null or no longer exists."
    )

    @classmethod
    def list_of(cls, changes: Mapping[str, Mapping[str, Any]]) -> list[FieldChange]:
        """An audit event's changes, ``{path: {before, after}}``, sorted by path."""
        return [
            cls(path=path, before=JSON(change.get("before")), after=JSON(change.get("after")))
            for path, change in sorted(changes.items())
        ]
