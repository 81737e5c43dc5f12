"""Random primary keys."""

import secrets


def new_id() -> int:
    """A random positive 63-bit key: fits BIGINT, reveals nothing about row counts.

    Collisions are negligible (birthday bound ~3e9 rows for a 50% chance) and would
    surface as a unique-key error, never as a silent overwrite.
    """
    return secrets.randbits(63) or 1
