"""Bearer-token authentication, with a short per-process cache.

A verified token is cached by the SHA-256 of its secret for at most
``token_cache_seconds`` (5 s): a revocation therefore takes effect on every worker
within 5 seconds, while a hot token costs a dictionary lookup instead of a query.
Expiry is re-checked on every request, cached or not.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from db.clock import utcnow
from gql.admission import GatedEngine
from tenancy import tokens
from tenancy.principal import Principal


@dataclass(frozen=True, slots=True)
class CachedToken:
    principal: Principal
    expires_at: datetime | None
    last_used_at: datetime | None
    fetched: float


class TokenCache:
    def __init__(self, ttl: float, maxsize: int = 10_000) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._entries: OrderedDict[str, CachedToken] = OrderedDict()

    def get(self, token_hash: str) -> CachedToken | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if time.monotonic() - entry.fetched >= self.ttl:
            del self._entries[token_hash]
            return None
        return entry

    def put(self, token_hash: str, entry: CachedToken) -> None:
        if self.ttl <= 0:
            return
        self._entries[token_hash] = entry
        self._entries.move_to_end(token_hash)
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)


def bearer_secret(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


async def authenticate(
    engine: GatedEngine, cache: TokenCache, secret: str
) -> tuple[CachedToken | None, bool]:
    """The token's principal, or None when it is unknown, expired or revoked.

    The second value says whether the database was asked (a cache miss), which is when
    the caller may record ``lastUsedAt``.
    """
    token_hash = tokens.hash_secret(secret)
    entry = cache.get(token_hash)
    fresh = False
    if entry is None:
        async with engine.connect() as conn, conn.begin():
            row = await tokens.find_by_secret(conn, secret)
        if row is None or row.revoked_at is not None:
            return None, True
        entry = CachedToken(
            principal=tokens.principal_of(row),
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            fetched=time.monotonic(),
        )
        cache.put(token_hash, entry)
        fresh = True
    if entry.expires_at is not None and entry.expires_at <= utcnow():
        return None, fresh
    return entry, fresh
