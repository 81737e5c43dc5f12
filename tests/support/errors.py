"""userErrors of a mutation payload, in the one shape every test compares them in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

UserError = tuple[str, list[str] | None]
"""``(code, field)``: the error's code and its path into the input (None: no field)."""


def errors_of(payload: Mapping[str, Any]) -> list[UserError]:
    """The payload's userErrors as ``(code, field)`` pairs, in the order returned."""
    return [(error["code"], error["field"]) for error in payload["userErrors"]]
