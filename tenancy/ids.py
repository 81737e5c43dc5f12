"""Global IDs: opaque to clients, decoded only here.

A global ID is base64("TypeName:key"). The types of ``ROUTED`` carry their row's tenant
too: base64("TypeName:key@tenant"), the administrator's tenant being 0. That is what
lets a distributed database (issue 13) look the object up in one shard (``WHERE
tenant_id = ... AND id = ...``) instead of every shard; the tenant of such an object
never changes (a class never changes manager), so its ID never does either. Every ID
issued before a type was routed keeps resolving: decoding accepts both forms, and the
routed one is what the API gives out (``global_id``).

Decoding is strict: anything undecodable, of another type or out of range gives None,
which callers treat exactly like an unknown or hidden object (null in queries, NOT_FOUND
in mutations), so IDs are never an oracle. A routed ID whose tenant is not the object's
is such an unknown ID: the tenant grants nothing, it only says where to look.
"""

from __future__ import annotations

import base64
import binascii

MAX_KEY = 2**63 - 1


# The types whose IDs name their tenant (``tenancy.class_rows.TYPE``).
ROUTED = frozenset({"CustomerClass"})
ADMINISTRATOR_TENANT = 0  # db.models.ADMINISTRATOR_TENANT (tenancy keeps db out of IDs)


def to_global_id(type_name: str, key: int) -> str:
    """The ID of a type that is not routed, or the key-only form of one that is (how the
    audit trail keys objects: ``audit_event.object_id``)."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


def global_id(type_name: str, key: int, tenant: int | None) -> str:
    """The ID the API gives out for the object ``key`` of ``tenant`` (None: the
    administrator): routed for the types of ``ROUTED``."""
    if type_name not in ROUTED:
        return to_global_id(type_name, key)
    stored = ADMINISTRATOR_TENANT if tenant is None else tenant
    return base64.b64encode(f"{type_name}:{key}@{stored}".encode()).decode()


def decimal_key(text: str, least: int) -> int | None:
    """``text`` as a key or tenant in canonical decimal (ASCII digits, at most 19, from
    ``least`` to MAX_KEY), else None."""
    if not text.isdigit() or not text.isascii() or len(text) > 19:
        return None
    value = int(text)
    return value if least <= value <= MAX_KEY else None


def decode_routed(global_id_: object) -> tuple[str, int, int | None] | None:
    """(type, key, tenant) of an ID; tenant None for an ID that names none (every type
    that is not routed, and IDs of routed types issued before they were), the sentinel
    0 for the administrator."""
    if not isinstance(global_id_, str) or len(global_id_) > 100:
        return None
    try:
        raw = base64.b64decode(global_id_, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    type_name, sep, rest = raw.partition(":")
    if not sep:
        return None
    key_text, at, tenant_text = rest.partition("@")
    key = decimal_key(key_text, 1)
    tenant = decimal_key(tenant_text, 0) if at else None
    if key is None or (at and (tenant is None or type_name not in ROUTED)):
        return None
    # Canonical forms only (two per routed object: with and without its tenant).
    encoded = to_global_id(type_name, key) if tenant is None else global_id(type_name, key, tenant)
    if encoded != global_id_:
        return None
    return type_name, key, tenant


def audit_key(global_id_: object) -> str | None:
    """The key-only form of an ID (how ``audit_event.object_id`` names objects, whatever
    form the ID had when the event was written), or None when it is no ID."""
    decoded = decode_routed(global_id_)
    return None if decoded is None else to_global_id(decoded[0], decoded[1])


def presented_object_id(object_type: str, object_id: str, tenant: int | None) -> str:
    """An audit event's ``object_id`` (key-only) as the API gives the object's ID out:
    routed with the event's tenant, which is the object's (a routed object never changes
    tenant)."""
    decoded = decode_routed(object_id)
    if decoded is None or object_type not in ROUTED or decoded[0] != object_type:
        return object_id
    return global_id(object_type, decoded[1], tenant)


def decode_any(global_id_: object) -> tuple[str, int] | None:
    decoded = decode_routed(global_id_)
    return None if decoded is None else decoded[:2]


def decode(global_id_: object, type_name: str) -> int | None:
    decoded = decode_any(global_id_)
    if decoded is None or decoded[0] != type_name:
        return None
    return decoded[1]
