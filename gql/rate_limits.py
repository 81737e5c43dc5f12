"""Rate limits of SPEC §7: a leaky bucket per token and one per tenant.

Every request is charged points: its requested cost (``gql.limits.operation_budget``) on
admission, then the difference to its actual cost is refunded (or, should execution
return more than was requested, charged). A bucket holds up to ``size`` points and
restores ``restore`` points per second; a request is admitted only if *both* its token's
bucket and its tenant's bucket hold its requested cost. The tenant is the reseller (all
its tokens share one bucket); an administrator token is a tenant of its own.

Buckets live behind one small interface, ``BucketStore``, with two implementations:
``LocalBuckets`` (per process, the embedded default) and ``RedisBuckets`` (shared by
every worker and instance: one Lua script updates both buckets atomically in one round
trip). A store that fails makes the limiter *fail open*: the request is admitted, a
warning is logged, and the response's ``throttleStatus`` is null; never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gql.limits import LimitExceeded
from tenancy.errors import TopLevelCode
from tenancy.principal import Principal

log = logging.getLogger("billclass.rate_limits")


@dataclass(frozen=True, slots=True)
class Bucket:
    """A bucket's size (points) and restore rate (points per second); 0 turns it off."""

    size: int
    restore: int

    @property
    def on(self) -> bool:
        return self.size > 0 and self.restore > 0


@dataclass(frozen=True, slots=True)
class Levels:
    """A store's answer: whether the points were taken, and the points each bucket holds
    afterwards (None for a bucket that is off). Levels may be negative: a request that
    returned more than it requested owes the difference."""

    taken: bool
    token: float | None
    tenant: float | None


class BucketsUnavailable(Exception):
    """The store cannot answer now (its own warning is already logged)."""


class BucketStore(Protocol):
    async def update(
        self, token_key: str, tenant_key: str, points: int, *, conditional: bool
    ) -> Levels:
        """Take ``points`` from both buckets (negative: give them back, capped at the
        size). ``conditional``: only if both hold that many, else take nothing."""

    async def close(self) -> None: ...


def bucket_keys(principal: Principal) -> tuple[str, str]:
    """(token key, tenant key): a reseller's tokens share its tenant bucket; each
    administrator token is a tenant of its own."""
    token = f"token:{principal.token_id}"
    if principal.is_admin or principal.reseller_id is None:
        return token, f"administrator-token:{principal.token_id}"
    return token, f"reseller:{principal.reseller_id}"


# --------------------------------------------------------------------------- in process


class LocalBuckets:
    """Buckets in this process's memory: each worker limits on its own."""

    # Entries that have refilled completely are forgotten every so many updates, so
    # memory follows the tokens active recently, not every token ever seen.
    PRUNE_EVERY = 4096

    def __init__(
        self, token: Bucket, tenant: Bucket, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.token = token
        self.tenant = tenant
        self.clock = clock
        # key -> (points available at the time, that time)
        self._tokens: dict[str, tuple[float, float]] = {}
        self._tenants: dict[str, tuple[float, float]] = {}
        self._updates = 0

    @staticmethod
    def _level(
        state: dict[str, tuple[float, float]], key: str, bucket: Bucket, now: float
    ) -> float:
        stored = state.get(key)
        if stored is None:
            return float(bucket.size)
        available, at = stored
        return min(float(bucket.size), available + max(0.0, now - at) * bucket.restore)

    async def update(
        self, token_key: str, tenant_key: str, points: int, *, conditional: bool
    ) -> Levels:
        now = self.clock()
        pairs = ((self._tokens, token_key, self.token), (self._tenants, tenant_key, self.tenant))
        levels = [
            self._level(state, key, bucket, now) if bucket.on else None
            for state, key, bucket in pairs
        ]
        taken = not conditional or all(level is None or level >= points for level in levels)
        if taken and points:
            for index, (state, key, bucket) in enumerate(pairs):
                level = levels[index]
                if level is not None:
                    level = min(float(bucket.size), level - points)
                    levels[index] = level
                    state[key] = (level, now)
        self._updates += 1
        if self._updates % self.PRUNE_EVERY == 0:
            self._prune(now)
        return Levels(taken, levels[0], levels[1])

    def _prune(self, now: float) -> None:
        for state, bucket in ((self._tokens, self.token), (self._tenants, self.tenant)):
            full = [key for key in state if self._level(state, key, bucket, now) >= bucket.size]
            for key in full:
                del state[key]

    async def close(self) -> None:
        return None


# --------------------------------------------------------------------------- Redis

# KEYS[1] the token bucket, KEYS[2] the tenant bucket (hashes: available, at).
# ARGV: points, conditional (1/0), token size, token restore, tenant size, tenant restore
# (size 0: that bucket is off). Redis's own clock, so every worker agrees on the time.
# Returns {taken (1/0), token level, tenant level} (levels as strings; "off" when off).
UPDATE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local points = tonumber(ARGV[1])
local conditional = ARGV[2] == '1'
local sizes = {tonumber(ARGV[3]), tonumber(ARGV[5])}
local rates = {tonumber(ARGV[4]), tonumber(ARGV[6])}
local levels = {}
local taken = 1
for i = 1, 2 do
  if sizes[i] > 0 then
    local stored = redis.call('HMGET', KEYS[i], 'available', 'at')
    local available = tonumber(stored[1])
    local at = tonumber(stored[2])
    if available == nil or at == nil then
      levels[i] = sizes[i]
    else
      levels[i] = math.min(sizes[i], available + math.max(0, now - at) * rates[i])
    end
    if conditional and levels[i] < points then
      taken = 0
    end
  end
end
if taken == 1 and points ~= 0 then
  for i = 1, 2 do
    if levels[i] ~= nil then
      levels[i] = math.min(sizes[i], levels[i] - points)
      redis.call('HSET', KEYS[i], 'available', tostring(levels[i]), 'at', tostring(now))
      -- Forgotten once it would be full again anyway.
      local refill_ms = math.ceil((sizes[i] - levels[i]) / rates[i] * 1000)
      redis.call('PEXPIRE', KEYS[i], refill_ms + 1000)
    end
  end
end
local function shown(level)
  if level == nil then return 'off' end
  return tostring(level)
end
return {taken, shown(levels[1]), shown(levels[2])}
"""


class RedisBuckets:
    """Buckets in Redis, shared by every worker and instance using the same Redis and key
    prefix. Both buckets are read, checked and updated by one atomic script in one round
    trip. Every call is bounded by ``timeout``; after a failure Redis is left alone for
    ``retry_after`` seconds (the limiter fails open meanwhile), so a dead Redis costs at
    most one timeout per worker per ``retry_after``, and one warning."""

    def __init__(
        self,
        url: str,
        token: Bucket,
        tenant: Bucket,
        *,
        prefix: str = "billclass:rate:",
        timeout: float = 0.1,
        retry_after: float = 5.0,
    ) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.token = token
        self.tenant = tenant
        self.prefix = prefix
        self.timeout = timeout
        self.retry_after = retry_after
        self.url = url
        self._client: Any = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._script = self._client.register_script(UPDATE_SCRIPT)
        self._down_until = 0.0

    def _key(self, tenant_key: str, name: str) -> str:
        # The tenant as a hash tag: both keys of one script land on one Redis Cluster slot.
        return f"{self.prefix}{{{tenant_key}}}:{name}"

    async def update(
        self, token_key: str, tenant_key: str, points: int, *, conditional: bool
    ) -> Levels:
        if time.monotonic() < self._down_until:
            raise BucketsUnavailable("Redis is left alone after a failure")
        keys = [self._key(tenant_key, token_key), self._key(tenant_key, "tenant")]
        args = [
            points,
            1 if conditional else 0,
            self.token.size if self.token.on else 0,
            self.token.restore,
            self.tenant.size if self.tenant.on else 0,
            self.tenant.restore,
        ]
        try:
            async with asyncio.timeout(self.timeout * 2):
                taken, token_level, tenant_level = await self._script(keys=keys, args=args)
        except Exception as error:
            self._down_until = time.monotonic() + self.retry_after
            log.warning(
                "rate limits: Redis unavailable (%r); requests are admitted without limits"
                " for the next %g s",
                error,
                self.retry_after,
            )
            raise BucketsUnavailable(str(error)) from error
        return Levels(bool(int(taken)), _level(token_level), _level(tenant_level))

    async def close(self) -> None:
        await self._client.aclose()


def _level(shown: bytes | str) -> float | None:
    text = shown.decode() if isinstance(shown, bytes) else shown
    return None if text == "off" else float(text)


# --------------------------------------------------------------------------- limiter


@dataclass(frozen=True, slots=True)
class ThrottleStatus:
    """The bucket a client should pace itself by (extensions.cost.throttleStatus)."""

    maximum_available: int
    currently_available: int
    restore_rate: int

    def as_json(self) -> dict[str, int]:
        return {
            "maximumAvailable": self.maximum_available,
            "currentlyAvailable": self.currently_available,
            "restoreRate": self.restore_rate,
        }


@dataclass(frozen=True, slots=True)
class Charge:
    """A request's passage through the buckets: admitted or not, what it was charged, the
    buckets as they stand, and (refused) the whole seconds until it would be admitted."""

    admitted: bool
    token_key: str
    tenant_key: str
    charged: int
    status: ThrottleStatus | None
    retry_after: int = 0


class RateLimiter:
    """Admission, settlement and the throttle status of requests, over a store."""

    def __init__(self, token: Bucket, tenant: Bucket, store: BucketStore | None) -> None:
        self.token = token
        self.tenant = tenant
        # None when both buckets are off: nothing is stored, nothing limited.
        self.store = store if (token.on or tenant.on) else None

    def beyond_buckets(self, cost: int) -> LimitExceeded | None:
        """A requested cost no bucket could ever hold (SPEC §7: QUERY_TOO_COMPLEX)."""
        for name, bucket in (("token", self.token), ("tenant", self.tenant)):
            if bucket.on and cost > bucket.size:
                return LimitExceeded(
                    TopLevelCode.QUERY_TOO_COMPLEX,
                    f"The requested cost of the query is {cost}; the {name} rate limit"
                    f" bucket holds at most {bucket.size}.",
                    cost,
                )
        return None

    async def admit(self, principal: Principal, cost: int) -> Charge:
        """Take ``cost`` from both buckets, or refuse (taking nothing) when either does
        not hold it."""
        token_key, tenant_key = bucket_keys(principal)
        levels = await self._update(token_key, tenant_key, cost, conditional=True)
        if levels is None:
            return Charge(True, token_key, tenant_key, 0, None)
        if levels.taken:
            return Charge(True, token_key, tenant_key, cost, self._status(levels))
        waits = [
            (cost - level) / bucket.restore
            for level, bucket in ((levels.token, self.token), (levels.tenant, self.tenant))
            if level is not None and level < cost
        ]
        retry_after = max(1, math.ceil(max(waits, default=1)))
        return Charge(False, token_key, tenant_key, 0, self._status(levels), retry_after)

    async def settle(self, charge: Charge, actual: int) -> ThrottleStatus | None:
        """Give back what was charged beyond the actual cost (or charge what execution
        returned beyond it); the buckets' status afterwards."""
        if not charge.admitted or charge.charged == actual:
            return charge.status
        levels = await self._update(
            charge.token_key,
            charge.tenant_key,
            actual - charge.charged,
            conditional=False,
        )
        return None if levels is None else self._status(levels)

    async def status(self, principal: Principal) -> ThrottleStatus | None:
        """The buckets as they stand, charging nothing (for requests refused before
        admission, e.g. over the node budget)."""
        token_key, tenant_key = bucket_keys(principal)
        levels = await self._update(token_key, tenant_key, 0, conditional=True)
        return None if levels is None else self._status(levels)

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()

    async def _update(
        self, token_key: str, tenant_key: str, points: int, *, conditional: bool
    ) -> Levels | None:
        """The store's answer, or None (fail open) when limiting is off or the store
        cannot answer."""
        if self.store is None:
            return None
        try:
            return await self.store.update(token_key, tenant_key, points, conditional=conditional)
        except BucketsUnavailable:
            return None
        except Exception:
            log.warning("rate limits: bucket store failed; request admitted", exc_info=True)
            return None

    def _status(self, levels: Levels) -> ThrottleStatus | None:
        """The token bucket's figures; the tenant bucket's when it holds fewer points."""
        bucket, level = self.token, levels.token
        if levels.tenant is not None and (level is None or levels.tenant < level):
            bucket, level = self.tenant, levels.tenant
        if level is None:
            return None
        return ThrottleStatus(bucket.size, max(0, math.floor(level)), bucket.restore)


def cost_extension(requested: int, actual: int, status: ThrottleStatus | None) -> dict[str, Any]:
    """``extensions.cost`` of a response (SPEC §7)."""
    return {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": None if status is None else status.as_json(),
    }


def make_rate_limiter(
    *,
    token: Bucket,
    tenant: Bucket,
    redis_url: str | None,
    redis_prefix: str = "billclass:rate:",
    redis_timeout: float = 0.1,
) -> RateLimiter:
    """In-process buckets, or Redis buckets when a Redis URL is configured."""
    store: BucketStore | None
    if not (token.on or tenant.on):
        store = None
    elif redis_url:
        store = RedisBuckets(redis_url, token, tenant, prefix=redis_prefix, timeout=redis_timeout)
    else:
        store = LocalBuckets(token, tenant)
    return RateLimiter(token, tenant, store)
