"""Domain errors with stable codes.

Two tiers (SPEC §2 "Refusal tiers"):
- ``Refused`` carries userErrors (a code and an input path each); the GraphQL layer puts
  them in the mutation payload and the mutation's savepoint is rolled back.
- ``TopLevelError`` subclasses become top-level GraphQL errors with ``extensions.code``
  and undo the whole request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class UserErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    NOT_FOUND = "NOT_FOUND"
    TAKEN = "TAKEN"
    IMMUTABLE = "IMMUTABLE"
    IN_USE = "IN_USE"
    DEFAULT_CLASS = "DEFAULT_CLASS"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    OWNERSHIP_MISMATCH = "OWNERSHIP_MISMATCH"
    DEPENDENCY = "DEPENDENCY"
    NOT_PERMITTED = "NOT_PERMITTED"


Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FieldError:
    code: UserErrorCode
    # Full input path, e.g. ("input", "regularInvoices", "paymentTerms", "netDays").
    field: Path | None
    message: str


class Refused(Exception):
    """The mutation is refused; nothing it did may be kept."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)


def refusal(code: UserErrorCode, path: Path, message: str) -> Refused:
    """A refusal with a single error on ``("input", *path)``: ``raise refusal(...)``."""
    return Refused([FieldError(code, ("input", *path), message)])


class ErrorList:
    """Collects FieldErrors under a common path prefix (usually ``("input",)``)."""

    def __init__(self, prefix: Path = ("input",)) -> None:
        self.prefix = prefix
        self.errors: list[FieldError] = []

    def add(self, code: UserErrorCode, path: Path | None, message: str) -> None:
        self.errors.append(
            FieldError(code, None if path is None else self.prefix + tuple(path), message)
        )

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise Refused(self.errors)


class TopLevelError(Exception):
    code = "INTERNAL"


class Forbidden(TopLevelError):
    """The caller's role may never perform this operation (decided from the role alone)."""

    code = "FORBIDDEN"


class BadUserInput(TopLevelError):
    """An argument is unusable as a whole (e.g. a cursor of another listing)."""

    code = "BAD_USER_INPUT"


class ServiceUnavailable(TopLevelError):
    """The database is unreachable or a lock wait timed out; safe to retry."""

    code = "SERVICE_UNAVAILABLE"
