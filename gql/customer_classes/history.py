"""A class's history (issue 11): its versions, rebuilt from the audit trail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import strawberry

from gql.audit.types import AuditAction
from gql.common import JSON, DateTime, PageInfo
from gql.customer_classes.impact import FieldChange
from tenancy import class_history, policy


def field_changes(changes: Mapping[str, Mapping[str, Any]]) -> list[FieldChange]:
    """An audit event's changes, ``{path: {before, after}}``, sorted by path."""
    return [
        FieldChange(path=path, before=JSON(change.get("before")), after=JSON(change.get("after")))
        for path, change in sorted(changes.items())
    ]


@strawberry.type(
    description="One version of a class: the change that made it, as the audit trail"
    " recorded it (nothing is stored twice)."
)
class CustomerClassVersion:
    version: int = strawberry.field(
        description="The class's version after this change (CustomerClass.version counts"
        " them). Version 1 is the CREATE or CLONE; the Default class's version 1 was"
        " installed with the database, not made by a request, and so has no entry."
    )
    at: DateTime = strawberry.field(description="When the change was made.")
    action: AuditAction = strawberry.field(
        description="The kind of change: CREATE, CLONE, UPDATE (revertCustomerClass"
        " included), SHARE or UNSHARE."
    )
    actorTokenName: str = strawberry.field(
        description='The token that made the change ("cli" for the command line); resellers'
        ' read "administrator" for changes they did not make, as in auditEvents.'
    )
    changes: list[FieldChange] = strawberry.field(
        description="Every leaf the change set, by path: CREATE and CLONE list every field"
        " with before null, the others only what changed. Notes about the change come as"
        " paths of their own: clonedFrom (the source of a clone; null for resellers in a"
        " shared class's history) and revertedToVersion (the version a revert restored)."
    )

    @classmethod
    def of(
        cls, version: class_history.Version, viewer_reseller: int | None
    ) -> CustomerClassVersion:
        event = version.event
        return cls(
            version=version.version,
            at=event.at,
            action=event.action,
            actorTokenName=policy.actor_token_name(event, viewer_reseller),
            changes=field_changes(policy.history_changes(event, viewer_reseller)),
        )


@strawberry.type(description="A page of a class's versions, newest first.")
class CustomerClassVersionConnection:
    nodes: list[CustomerClassVersion] = strawberry.field(description="The page's versions.")
    pageInfo: PageInfo = strawberry.field(
        description="Where the page lies; pass endCursor as after for the next (older) page."
    )
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(
        description="How many versions the history holds, over all pages (one per recorded"
        " change of the class)."
    )
    async def totalCount(self) -> int:
        return await self.count()

    @classmethod
    def of(
        cls,
        page: class_history.HistoryPage | None,
        count: Callable[[], Awaitable[int]],
        viewer_reseller: int | None,
    ) -> CustomerClassVersionConnection:
        if page is None:  # the class is no longer visible (it was deleted meanwhile)
            return cls(nodes=[], pageInfo=PageInfo.of([], False, False), count=count)
        total = page.total
        if total is not None:
            known = total

            async def counted() -> int:
                return known

            count = counted
        return cls(
            nodes=[CustomerClassVersion.of(v, viewer_reseller) for v in page.versions],
            pageInfo=PageInfo.of(page.cursors, page.has_next, page.has_previous),
            count=count,
        )
