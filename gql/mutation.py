"""How every root mutation field runs: in a savepoint of the request's transaction.

A refusal (``tenancy.errors.Refused``) rolls back that field's savepoint only and comes
back as userErrors in the payload; any other exception propagates as a top-level error,
and the endpoint then rolls back the whole request (SPEC §6).

**Dry runs** (issue 11). An input with ``dryRun: true`` runs the very same use-case,
with the same validation, errors, locks, audit event and version bump, in the same
savepoint; only the end differs: the savepoint is always rolled back, so nothing of it
is ever committed. The use-cases never see the flag. Strawberry resolves a payload's
nested fields (the class's tabs, a customer's effective settings, an impact's
customers) after the resolver returns, so the savepoint stays open until the payload is
complete: the executor rolls it back as soon as graphql-core has completed the root
field, selection and all, before the next root field starts (``gql.execution``,
``Context.end_dry_run``; the endpoint does it too before it ends the transaction, in
case anything runs the schema without that executor). Until then every nested field
reads the would-be state through the same connection; the loaders that cached it are
reset with the rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from gql.common import UserError, patch_of
from gql.context import Info
from tenancy.errors import Refused

P = TypeVar("P")
log = logging.getLogger("billclass.refusals")


async def run(
    info: Info,
    use_case: Callable[..., Awaitable[Any]],
    input_: Any,
    payload: Callable[[Any, list[UserError]], P],
) -> P:
    context = info.context
    # Nested fields of this payload must see this field's writes, not earlier loads.
    context.loaders.reset()
    data = patch_of(input_)
    dry_run = bool(data.get("dryRun"))
    savepoint = await context.conn.begin_nested()
    try:
        result = await use_case(context.conn, principal=context.principal, data=data)
    except Refused as refusal:
        await savepoint.rollback()
        # Refusals write no audit event (SPEC §1); they go to the log, as codes and paths
        # only (never input values, which may be personal data).
        log.info(
            "request %s: %s%s refused: %s",
            context.request_id,
            info.field_name,
            " (dry run)" if dry_run else "",
            ", ".join(f"{e.code.value} {'.'.join(e.field or ())}" for e in refusal.errors),
        )
        return payload(None, [UserError.of(error) for error in refusal.errors])
    except BaseException:
        if savepoint.is_active:
            await savepoint.rollback()
        raise
    if dry_run:
        context.dry_run = savepoint  # rolled back once the payload is complete
    else:
        await savepoint.commit()
    return payload(result, [])
