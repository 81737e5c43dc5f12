"""Who is calling: the identity a verified API token (or the command line) grants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "ADMINISTRATOR"
    RESELLER = "RESELLER"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    # The reseller (a RESELLER customer) a RESELLER token acts for; None for administrators.
    reseller_id: int | None
    token_id: int | None
    token_name: str
    token_expires_at: datetime | None = None

    def __post_init__(self) -> None:
        # Every visibility clause compares tenant_id with reseller_id: a reseller without
        # one would compare with NULL and see the administrator's rows. Refuse to exist.
        if (self.role is Role.RESELLER) != (self.reseller_id is not None):
            raise ValueError(
                "a RESELLER principal acts for one reseller, an ADMINISTRATOR for none"
            )

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMINISTRATOR


# The command line acts as an administrator; its audit events name it "cli".
CLI = Principal(role=Role.ADMINISTRATOR, reseller_id=None, token_id=None, token_name="cli")
