"""How every root mutation field runs: in a savepoint of the request's transaction.

A refusal (``tenancy.errors.Refused``) rolls back that field's savepoint only and comes
back as userErrors in the payload; any other exception propagates as a top-level error,
and the endpoint then rolls back the whole request (SPEC §6).
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
    try:
        async with context.conn.begin_nested():
            result = await use_case(
                context.conn, principal=context.principal, data=patch_of(input_)
            )
    except Refused as refusal:
        # Refusals write no audit event (SPEC §1); they go to the log, as codes and paths
        # only (never input values, which may be personal data).
        log.info(
            "request %s: %s refused: %s",
            context.request_id,
            info.field_name,
            ", ".join(f"{e.code.value} {'.'.join(e.field or ())}" for e in refusal.errors),
        )
        return payload(None, [UserError.of(error) for error in refusal.errors])
    return payload(result, [])
