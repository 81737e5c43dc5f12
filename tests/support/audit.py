"""Audit events as the administrator sees them."""

from __future__ import annotations

from tests.api_client import Api


def event_count(api: Api, token: str | None = None) -> int:
    """How many audit events the caller (the administrator by default) can see."""
    count: int = api.data("{ auditEvents { totalCount } }", token=token)["auditEvents"][
        "totalCount"
    ]
    return count
