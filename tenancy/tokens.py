"""API tokens: creation, revocation, listing and authentication.

A secret is ``bc_``, the token's tenant (decimal) and a dot, then 256 random bits; only
its SHA-256 is stored. Tokens are owned by the administrator (tenant None, stored as the
sentinel 0) or by one reseller (tenant = that reseller). The tenant in the secret routes
authentication to one shard of a distributed database (issue 13): the lookup names the
tenant as well as the hash. It grants nothing: a secret whose tenant was changed hashes
to no row. Secrets issued before (``bc_`` and the random part only) still authenticate,
by hash alone (on Citus, a lookup in every shard).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from db.clock import utcnow
from db.ids import new_id
from db.models import ADMINISTRATOR_TENANT, customer_table, tenant_is, token_table
from db.transaction_settings import set_local
from tenancy import audit, fields, maxima, policy
from tenancy.errors import ErrorList, refusal
from tenancy.errors import UserErrorCode as Code
from tenancy.ids import decimal_key, decode, to_global_id
from tenancy.inputs import CreateApiToken, RevokeApiToken
from tenancy.locks import Limit, serialise
from tenancy.principal import Principal, Role
from tenancy.scoping import Bypass, changeable, in_its_shard, unscoped, visible

TYPE = "ApiToken"
PREFIX = "bc_"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def new_secret(tenant: int | None) -> str:
    """A new secret: ``bc_``, ``tenant`` (0 for the administrator) and a dot, and 256
    random bits (URL-safe base64, which has no dot)."""
    return (
        f"{PREFIX}{ADMINISTRATOR_TENANT if tenant is None else tenant}.{secrets.token_urlsafe(32)}"
    )


def tenant_of_secret(secret: str) -> int | None:
    """The tenant a secret names (the sentinel 0 for the administrator), or None for a
    secret issued before secrets named it (or not of this form at all)."""
    head, dot, _ = secret[len(PREFIX) :].partition(".")
    return decimal_key(head, 0) if dot else None


def hash_secret(secret: str) -> str:
    """The SHA-256 of a secret (hex), the only form in which it is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


# --------------------------------------------------------------------------- authentication


async def find_by_secret(conn: AsyncConnection, secret: str) -> Row[Any] | None:
    """The token row of a secret, or None. Runs before the tenant is known: on PostgreSQL
    the row-level security policy lets this transaction read only the row whose hash it
    presents (``billclass.token_hash``), never the table at large."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token_hash = hash_secret(secret)
    await set_local(conn, {"billclass.token_hash": token_hash})
    c = token_table.c
    statement = sa.select(token_table).where(c.token_hash == token_hash)
    tenant = tenant_of_secret(secret)
    if tenant is not None:
        # The sentinel itself, not through TenantId: 0 is what the secret says.
        statement = statement.where(c.tenant_id == sa.literal(tenant, sa.BigInteger()))
    return (await conn.execute(unscoped(statement, Bypass.AUTHENTICATION))).first()


def is_usable(row: Any, now: datetime) -> bool:
    """Whether a token row authenticates at ``now``: not revoked, not expired."""
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def principal_of(row: Any) -> Principal:
    """The identity a (usable) token row grants."""
    return Principal(
        role=Role(row.role),
        reseller_id=row.tenant_id,
        token_id=row.id,
        token_name=row.name,
        token_expires_at=row.expires_at,
    )


async def touch(conn: AsyncConnection, principal: Principal) -> None:
    """Record use, at most once a minute per token (the WHERE makes concurrent workers
    agree), in a transaction of its own so reads never become writes on a hot row."""
    now = utcnow()
    c = token_table.c
    statement = (
        token_table.update()
        .where(
            c.id == principal.token_id,
            sa.or_(c.last_used_at.is_(None), c.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )
    await conn.execute(changeable(statement, principal))


# --------------------------------------------------------------------------- reads


async def list_tokens(
    conn: AsyncConnection, principal: Principal, *, include_revoked: bool
) -> Sequence[Any]:
    """The tokens the caller may see (an administrator all, a reseller its own), newest
    first, revoked ones only with ``include_revoked``. No lock, no event.
    """
    c = token_table.c
    statement = sa.select(token_table)
    if not include_revoked:
        statement = statement.where(c.revoked_at.is_(None))
    statement = statement.order_by(c.created_at.desc(), c.id.desc())
    return (await conn.execute(visible(statement, principal))).all()


async def visible_tokens(
    conn: AsyncConnection, principal: Principal, keys: Iterable[int]
) -> dict[int, Row[Any]]:
    """The tokens among ``keys`` the caller may see, by key (hidden ones are absent). No
    lock, no event.
    """
    wanted = list(set(keys))
    if not wanted:
        return {}
    statement = sa.select(token_table).where(token_table.c.id.in_(wanted))
    return {row.id: row for row in await conn.execute(visible(statement, principal))}


# --------------------------------------------------------------------------- create / revoke


async def create_api_token(
    conn: AsyncConnection,
    *,
    principal: Principal,
    data: CreateApiToken,
    command_line: bool = False,
) -> tuple[Any, str]:
    """Create an API token; returns its row and its secret (shown once, never stored).

    Inputs: ``name``, ``role``, ``resellerId`` (administrators: the reseller a RESELLER
    token acts for; resellers: omitted or their own ID), ``expiresAt``.
    Errors, tier by tier (SPEC §2 "Tokens", §5 precedence): NOT_FOUND on ``resellerId``
    (administrators only: a reseller's input is never looked up); NOT_PERMITTED on
    ``role`` (ADMINISTRATOR from a reseller) and ``resellerId`` (anyone but itself); then
    every validation error at once: ``name`` REQUIRED, INVALID or TOO_LONG;
    ``resellerId`` INVALID (given for an ADMINISTRATOR token, or not a RESELLER
    customer) or REQUIRED (missing for a RESELLER token); ``expiresAt`` INVALID
    (unparsable or not in the future), REQUIRED (a reseller's token must expire) or
    OUT_OF_RANGE (outside the calendar, or after the creating token's expiry);
    OUT_OF_RANGE on the input (20 unrevoked reseller tokens, or 100 per owner with too
    few revoked ones to drop); ``name`` TAKEN (per owner).
    ``command_line`` (the operator's ``billclass token create``): a RESELLER token
    expires ``policy.command_line_token_expiry_ceiling`` at the latest, and then by
    default; later is OUT_OF_RANGE on ``expiresAt``.
    Side effects: takes the owner's token-limit locks (``Limit.UNREVOKED_TOKENS`` for a
    reseller, then ``Limit.TOKENS_PER_OWNER``); deletes the oldest revoked tokens that
    must make room (a DELETE event each); inserts the token; writes a CREATE event.
    """
    role = str(data.get("role"))
    raw_reseller = data.get("resellerId")
    reseller_row = await _named_reseller(conn, principal, raw_reseller)
    errors = ErrorList()
    own = None if principal.is_admin else to_global_id("Customer", principal.reseller_id or 0)
    policy.deny(errors, policy.token_request_denials(principal, role, raw_reseller, own))
    errors.raise_if_any()
    owner = policy.token_owner(principal, reseller_row.id if reseller_row is not None else None)
    name, problem = fields.check_name(data.get("name"))
    if problem:
        errors.add(problem[0], ("name",), problem[1])
    _check_role_target(errors, principal, role, raw_reseller, reseller_row)
    now = utcnow()
    if command_line:
        ceiling = policy.command_line_token_expiry_ceiling(role, now)
        why = f"reseller tokens expire within {policy.IMPLICIT_LIFETIME.days} days"
        raw_expiry = data.get("expiresAt") or (ceiling and ceiling.isoformat())
    else:
        ceiling = policy.token_expiry_ceiling(principal, now)
        why = "the expiry of the token creating it"
        raw_expiry = data.get("expiresAt")
    expires_at = _check_expiry(errors, raw_expiry, now, ceiling, why)
    dropped = await _make_room(conn, principal, owner, errors)
    if name and not errors and await _name_taken(conn, principal, owner, fields.name_key(name)):
        errors.add(Code.TAKEN, ("name",), "This owner already has a token with this name.")
    errors.raise_if_any()
    await _drop(conn, principal, dropped)
    key, secret = await _insert(conn, owner, name, role, now, expires_at)
    row = (await visible_tokens(conn, principal, [key]))[key]
    await audit.record(
        conn,
        principal=principal,
        action="CREATE",
        object_type=TYPE,
        object_key=key,
        tenant_id=owner,
        changes={
            "name": {"before": None, "after": name},
            "role": {"before": None, "after": role},
            "reseller": {"before": None, "after": owner and to_global_id("Customer", owner)},
            "expiresAt": {"before": None, "after": expires_at and expires_at.isoformat()},
        },
    )
    return row, secret


async def _named_reseller(conn: AsyncConnection, principal: Principal, raw: object) -> Any:
    """The customer an administrator's ``resellerId`` names (None when it names none), or
    NOT_FOUND. A reseller's is never looked up (no oracles): None."""
    if not policy.resolves_named_reseller(principal, raw):
        return None
    key = decode(raw, "Customer")
    row = None
    if key is not None:
        statement = sa.select(customer_table).where(customer_table.c.id == key)
        row = (await conn.execute(visible(statement, principal))).first()
    if row is None:
        raise refusal(Code.NOT_FOUND, ("resellerId",), "No customer has this ID.")
    return row


def _check_role_target(
    errors: ErrorList, principal: Principal, role: str, raw_reseller: object, reseller_row: Any
) -> None:
    """An administrator's token: an ADMINISTRATOR token acts for no reseller, a RESELLER
    token for a RESELLER customer. (A reseller's request was settled by the policy.)"""
    if not principal.is_admin:
        return
    if role == Role.ADMINISTRATOR and raw_reseller is not None:
        errors.add(Code.INVALID, ("resellerId",), "ADMINISTRATOR tokens act for no reseller.")
    if role == Role.RESELLER and raw_reseller is None:
        errors.add(Code.REQUIRED, ("resellerId",), "A RESELLER token needs resellerId.")
    if (
        role == Role.RESELLER
        and reseller_row is not None
        and reseller_row.customer_type != "RESELLER"
    ):
        errors.add(Code.INVALID, ("resellerId",), "resellerId must name a RESELLER customer.")


def _check_expiry(
    errors: ErrorList, raw: object, now: datetime, ceiling: datetime | None, why: str
) -> datetime | None:
    """The new token's expiry: in the future, and when there is a ``ceiling`` (``why``
    says where it comes from) set and under it."""
    expires_at = None
    if raw is not None:
        expires_at, problem = fields.check_datetime(raw, "expiresAt")
        if problem:
            errors.add(problem[0], ("expiresAt",), problem[1])
        elif expires_at is not None and expires_at <= now:
            errors.add(Code.INVALID, ("expiresAt",), "expiresAt must be in the future.")
            expires_at = None
    if ceiling is None:
        return expires_at
    if raw is None:
        errors.add(Code.REQUIRED, ("expiresAt",), "Reseller tokens must expire.")
    elif expires_at is not None and expires_at > ceiling:
        errors.add(
            Code.OUT_OF_RANGE,
            ("expiresAt",),
            f"expiresAt may not be later than {ceiling.isoformat()} ({why}).",
        )
    return expires_at


async def _make_room(
    conn: AsyncConnection, principal: Principal, owner: int | None, errors: ErrorList
) -> Sequence[Any]:
    """The counted limits (SPEC §2 "Tokens", §7 "Limits that race"): the revoked tokens to
    drop for one more, or OUT_OF_RANGE. Both counts and the insert run under the owner's
    locks (always taken in this order), so concurrent creations count each other's tokens."""
    limited = policy.limits_unrevoked_tokens(principal)
    if limited:
        await serialise(conn, Limit.UNREVOKED_TOKENS, owner)
    await serialise(conn, Limit.TOKENS_PER_OWNER, owner)
    limit = maxima.UNREVOKED_RESELLER_TOKENS
    if limited and await _unrevoked_count(conn, principal) >= limit:
        errors.add(
            Code.OUT_OF_RANGE,
            (),
            f"A reseller has at most {limit} unrevoked tokens; revoke one first.",
        )
        return ()
    # One OUT_OF_RANGE is enough: the per-owner list is checked when this one passes.
    return await _revoked_to_drop(conn, principal, owner, errors)


async def _insert(
    conn: AsyncConnection,
    owner: int | None,
    name: str | None,
    role: str,
    now: datetime,
    expires_at: datetime | None,
) -> tuple[int, str]:
    """Insert the token (TAKEN if a concurrent request took the name); its key and secret."""
    secret = new_secret(owner)
    key = new_id()
    try:
        async with conn.begin_nested():
            await conn.execute(
                token_table.insert().values(
                    id=key,
                    tenant_id=owner,
                    name=name,
                    name_key=fields.name_key(name or ""),
                    role=role,
                    token_hash=hash_secret(secret),
                    created_at=now,
                    expires_at=expires_at,
                )
            )
    except IntegrityError:
        raise refusal(
            Code.TAKEN, ("name",), "This owner already has a token with this name."
        ) from None
    return key, secret


async def _unrevoked_count(conn: AsyncConnection, principal: Principal) -> int:
    """Tokens of the caller's owner that are not revoked (expired ones count too, as the
    SPEC says "unrevoked": revoking is how a slot is freed)."""
    c = token_table.c
    statement = sa.select(sa.func.count()).select_from(token_table).where(c.revoked_at.is_(None))
    return int((await conn.execute(visible(statement, principal))).scalar_one())


def _owned_by(owner: int | None) -> sa.ColumnElement[bool]:
    c = token_table.c
    return tenant_is(c.tenant_id, owner)


async def _revoked_to_drop(
    conn: AsyncConnection, principal: Principal, owner: int | None, errors: ErrorList
) -> Sequence[Any]:
    """The revoked tokens that must go to make room for one more token of ``owner``
    (SPEC §7: at most API_TOKENS_PER_OWNER, revoked ones included): the oldest first.
    When there are not enough revoked tokens, OUT_OF_RANGE."""
    c = token_table.c
    count = sa.select(sa.func.count()).select_from(token_table).where(_owned_by(owner))
    excess = int((await conn.execute(visible(count, principal))).scalar_one()) - (
        maxima.API_TOKENS_PER_OWNER - 1
    )
    if excess <= 0:
        return ()
    oldest = (
        sa.select(c.id, c.name, c.tenant_id)
        .where(_owned_by(owner), c.revoked_at.is_not(None))
        .order_by(c.created_at, c.id)
        .limit(excess)
    )
    rows = (await conn.execute(visible(oldest, principal))).all()
    if len(rows) < excess:
        errors.add(
            Code.OUT_OF_RANGE,
            (),
            f"An owner keeps at most {maxima.API_TOKENS_PER_OWNER} API tokens, revoked ones"
            " included, and too few of them are revoked to make room: revoke one first.",
        )
        return ()
    return rows


async def _drop(conn: AsyncConnection, principal: Principal, rows: Sequence[Any]) -> None:
    """Delete revoked tokens to make room; the audit log keeps their record (their CREATE
    and REVOKE events, and a DELETE event saying which creation dropped them)."""
    if not rows:
        return
    statement = token_table.delete().where(token_table.c.id.in_([row.id for row in rows]))
    await conn.execute(changeable(statement, principal))
    for row in rows:
        await audit.record(
            conn,
            principal=principal,
            action="DELETE",
            object_type=TYPE,
            object_key=row.id,
            tenant_id=row.tenant_id,
            changes={"name": {"before": row.name, "after": None}},
        )


async def _name_taken(
    conn: AsyncConnection, principal: Principal, owner: int | None, key: str
) -> bool:
    """The caller always sees the namespace it writes into (an administrator sees all, a
    reseller its own tokens), so the visibility clause removes nothing here."""
    c = token_table.c
    statement = sa.select(c.id).where(c.name_key == key, tenant_is(c.tenant_id, owner))
    return (await conn.execute(visible(statement.limit(1), principal))).first() is not None


async def revoke_api_token(
    conn: AsyncConnection, *, principal: Principal, data: RevokeApiToken
) -> Row[Any]:
    """Revoke a token (``revokeApiToken``); returns its row. Revoking a revoked token
    changes nothing and writes no event.

    Inputs: ``id``.
    Errors: NOT_FOUND on ``id`` (missing, hidden, undecodable).
    Side effects: locks the token row (``FOR UPDATE``); sets ``revokedAt`` (every
    worker refuses the token within 5 s, SPEC §2); writes a REVOKE event.
    """
    key = decode(data.get("id"), TYPE)
    row = None
    if key is not None:
        statement = sa.select(token_table).where(token_table.c.id == key)
        routed = await in_its_shard(conn, principal, statement, token_table, key)
        if routed is not None:
            row = (await conn.execute(visible(routed.with_for_update(), principal))).first()
    if row is None:
        raise refusal(Code.NOT_FOUND, ("id",), "No API token has this ID.")
    if row.revoked_at is not None:
        return row  # already revoked: nothing changes, no event
    now = utcnow()
    revoke = token_table.update().where(token_table.c.id == row.id).values(revoked_at=now)
    await conn.execute(changeable(revoke, principal))
    await audit.record(
        conn,
        principal=principal,
        action="REVOKE",
        object_type=TYPE,
        object_key=row.id,
        tenant_id=row.tenant_id,
        changes={"revokedAt": {"before": None, "after": now.isoformat()}},
    )
    return (await visible_tokens(conn, principal, [row.id]))[row.id]
