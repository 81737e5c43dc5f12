"""Global IDs: opaque to clients, decoded only here.

A global ID is base64("TypeName:key"). Decoding is strict: anything undecodable, of
another type or out of range gives None, which callers treat exactly like an unknown or
hidden object (null in queries, NOT_FOUND in mutations), so IDs are never an oracle.
"""

from __future__ import annotations

import base64
import binascii

MAX_KEY = 2**63 - 1


def to_global_id(type_name: str, key: int) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def decode_any(global_id: object) -> tuple[str, int] | None:
    if not isinstance(global_id, str) or len(global_id) > 100:
        return None
    try:
        raw = base64.b64decode(global_id, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    type_name, sep, key = raw.partition(":")
    if not sep or not key.isdigit() or not key.isascii() or len(key) > 19:
        return None
    value = int(key)
    if not 0 < value <= MAX_KEY:
        return None
    # Canonical form only, so that one object has exactly one ID.
    if to_global_id(type_name, value) != global_id:
        return None
    return type_name, value


def decode(global_id: object, type_name: str) -> int | None:
    decoded = decode_any(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
