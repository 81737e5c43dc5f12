"""Admission: which requests may run now, in this worker (SPEC §7 "Concurrency").

Two kinds of gate stand between an authenticated request and the work it asks for.
Both are waited on asynchronously, first come first served, for at most
ADMISSION_WAIT_SECONDS; a request that is not admitted by then is refused at once, with
``Retry-After: 1``, before anything executes.

- **The tenant's gates** (:class:`Admission`): at most ``BILLCLASS_TENANT_CONCURRENCY`` (8)
  requests of one tenant are in progress at once, from reading the body through parsing,
  validation and execution; of those, new documents are parsed one at a time and paced
  (see the class). A tenant is a reseller with all its tokens; each administrator token
  counts alone. Refused: :class:`Throttled` (HTTP 429 THROTTLED). One tenant flooding a
  worker therefore holds at most 8 of its database connections and a tenth of its CPU
  for parsing, and the rest stays free for everyone else.
- **The connection gate** of each engine (:class:`GatedEngine`,
  :class:`GatedInlineEngine`): sized to the engine's pool capacity
  (``db.engine.pool_capacity``), in front of every checkout that serves a request
  (authentication, the request's transaction, lastUsedAt, /readyz, /metrics). Because
  at most that many connections are ever checked out, SQLAlchemy's pool never waits.
  That matters for the synchronous SQLite read engine: its pool waits by blocking the
  thread, which is the event loop's, and the connections it waits for can only come
  back through that same loop, so one waiting checkout used to freeze the worker for
  the whole pool timeout. Refused: :class:`NoConnection` (HTTP 503
  SERVICE_UNAVAILABLE); the gate admits the next waiter the moment a connection returns.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tenancy.errors import TopLevelCode
from tenancy.principal import Principal

# SPEC §7: "more wait at most 1 s", "answers 503 ... within 1 s".
ADMISSION_WAIT_SECONDS = 1.0
# Both refusals clear as soon as one request of the tenant (or one connection) finishes.
RETRY_AFTER_SECONDS = 1
# Share of the worker's CPU a tenant may spend parsing new documents (see Admission).
DEFAULT_PARSE_SHARE = 0.1


class Gate:
    """A counting gate with a first-come-first-served queue and a deadline per waiter.

    ``size`` holders at most; :meth:`enter` waits asynchronously (never blocking the
    event loop) until a holder leaves or its wait is over. A leaving holder hands
    its place straight to the oldest waiter, so a newcomer can never overtake the queue.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a gate admits at least one holder")
        self.size = size
        self._free = size
        self._waiters: deque[asyncio.Future[bool]] = deque()

    @property
    def holders(self) -> int:
        return self.size - self._free

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @property
    def idle(self) -> bool:
        return self._free == self.size and not self._waiters

    async def enter(self, wait: float) -> bool:
        """True once admitted (the caller must :meth:`leave`), False after ``wait``
        seconds."""
        if self._free and not self._waiters:
            self._free -= 1
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        deadline = loop.call_later(wait, _expire, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled after a place was handed over: pass it on, or it would be lost.
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.leave()
            raise
        finally:
            deadline.cancel()
            self._forget(waiter)  # still queued unless a place was handed over

    def leave(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)  # the place goes to the oldest waiter
                return
        self._free += 1

    def _forget(self, waiter: asyncio.Future[bool]) -> None:
        with suppress(ValueError):
            self._waiters.remove(waiter)


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


# ------------------------------------------------------------------------ tenants


class Throttled(Exception):
    """The tenant already runs its maximum of concurrent requests in this worker."""

    code: TopLevelCode = TopLevelCode.THROTTLED
    retry_after = RETRY_AFTER_SECONDS


def tenant_of(principal: Principal) -> tuple[str, int | None]:
    """Whose share of the worker a request uses: a reseller with all its tokens, or one
    administrator token on its own (administrators are distinct operators)."""
    if principal.reseller_id is not None:
        return ("reseller", principal.reseller_id)
    return ("administrator token", principal.token_id)


class Admission:
    """The per-tenant gates of one worker; ``concurrency`` 0 turns them off.

    - ``admit``: at most ``concurrency`` requests of one tenant run at once;
    - ``parsing``: a tenant parses documents the worker has not seen one at a time, and
      spends at most ``parse_share`` (BILLCLASS_PARSE_SHARE, 0.1) of the worker's time
      on them: after a parse that took t of CPU, the tenant's next new document waits
      t x (1 / parse_share - 1) (the answer to the current one does not).
      graphql-core's lexer is pure Python (about 25 ms per 60 KB), and a document is
      parsed before its cost is known, so neither the rate limits nor the first cap
      bound it: a stream of new 60 KB documents from one tenant held the worker and gave
      another tenant's point lookups a p99 of 2.9 s (bench/noisy_neighbour.py, phase d);
      paced, 39 ms. A client's usual documents are cached after their first use and
      never wait here.

    A tenant's gates exist only while the tenant has requests running or waiting, so the
    number of gates is bounded by the requests in flight, not by the number of tenants.
    """

    NEW_DOCUMENTS_AT_ONCE = 1
    PACED_TENANTS_BEFORE_PRUNING = 1024

    def __init__(
        self,
        concurrency: int,
        wait_seconds: float = ADMISSION_WAIT_SECONDS,
        parse_share: float = DEFAULT_PARSE_SHARE,
    ) -> None:
        if not 0 < parse_share <= 1:
            raise ValueError("parse_share is a share of the worker: more than 0, at most 1")
        self.concurrency = concurrency
        self.wait_seconds = wait_seconds
        self.parse_share = parse_share
        self._tenants: dict[tuple[str, int | None], Gate] = {}
        self._parsers: dict[tuple[str, int | None], Gate] = {}
        # tenant -> monotonic time before which its next new document is not parsed
        self._parse_not_before: dict[tuple[str, int | None], float] = {}

    @property
    def tenants(self) -> int:
        """Tenants with a request running or waiting (for tests and diagnostics)."""
        return len(self._tenants)

    def admit(self, principal: Principal) -> AbstractAsyncContextManager[None]:
        """Run the body as one of the tenant's concurrent requests, or raise
        :class:`Throttled` after waiting ``wait_seconds`` for a place."""
        return self._through(
            self._tenants,
            self.concurrency,
            principal,
            f"Too many concurrent requests: at most {self.concurrency} of one tenant"
            " run at once; retry shortly.",
        )

    @asynccontextmanager
    async def parsing(self, principal: Principal) -> AsyncIterator[None]:
        """Parse a new document as the tenant's only one in progress, once its pause
        after the previous one is over (see the class), or raise :class:`Throttled` when
        that would take more than ``wait_seconds``."""
        if self.concurrency <= 0:
            yield
            return
        key = tenant_of(principal)
        refusal = (
            "Too many new documents at once: one tenant's are parsed one at a time and"
            " paced; retry shortly."
        )
        gate = await self._enter(self._parsers, self.NEW_DOCUMENTS_AT_ONCE, key, refusal)
        try:
            # The pause is a time to wait for, not a timer that releases the gate: a
            # timer belongs to one event loop, and a gate left to a loop that stopped
            # (a test client's) would refuse the tenant's new documents ever after.
            pause = self._parse_not_before.get(key, 0.0) - time.monotonic()
            if pause > self.wait_seconds:
                raise Throttled(refusal)
            if pause > 0:
                await asyncio.sleep(pause)
            # Parsing is synchronous, so the thread's CPU time over it is the parse's
            # own: unlike the wall clock, it does not grow when other processes load the
            # machine, which would pace an ordinary client's small documents into refusals.
            started = time.thread_time()
            try:
                yield
            finally:
                spent = time.thread_time() - started
                self._pace(key, spent * (1 / self.parse_share - 1))
        finally:
            self._leave(self._parsers, key, gate)

    def _pace(self, key: tuple[str, int | None], pause: float) -> None:
        """Record that ``key``'s next new document waits ``pause`` seconds. Entries
        whose time has passed are dropped once there are many, so the table holds the
        tenants that parsed in the last few pauses, not every tenant ever seen."""
        now = time.monotonic()
        if len(self._parse_not_before) >= self.PACED_TENANTS_BEFORE_PRUNING:
            self._parse_not_before = {k: t for k, t in self._parse_not_before.items() if t > now}
        self._parse_not_before[key] = now + pause

    @asynccontextmanager
    async def _through(
        self,
        gates: dict[tuple[str, int | None], Gate],
        size: int,
        principal: Principal,
        refusal: str,
    ) -> AsyncIterator[None]:
        if self.concurrency <= 0:
            yield
            return
        key = tenant_of(principal)
        gate = await self._enter(gates, size, key, refusal)
        try:
            yield
        finally:
            self._leave(gates, key, gate)

    async def _enter(
        self,
        gates: dict[tuple[str, int | None], Gate],
        size: int,
        key: tuple[str, int | None],
        refusal: str,
    ) -> Gate:
        gate = gates.get(key)
        if gate is None:
            gate = gates[key] = Gate(size)
        try:
            admitted = await gate.enter(self.wait_seconds)
        finally:
            _drop_if_idle(gates, key, gate)
        if not admitted:
            raise Throttled(refusal)
        return gate

    @staticmethod
    def _leave(
        gates: dict[tuple[str, int | None], Gate], key: tuple[str, int | None], gate: Gate
    ) -> None:
        gate.leave()
        _drop_if_idle(gates, key, gate)


def _drop_if_idle(
    gates: dict[tuple[str, int | None], Gate], key: tuple[str, int | None], gate: Gate
) -> None:
    if gate.idle and gates.get(key) is gate:
        del gates[key]


# ------------------------------------------------------------------------ connections


class NoConnection(sa_exc.TimeoutError):
    """Every connection of the worker's pool stayed checked out for the whole wait.

    A SQLAlchemy TimeoutError, so that every path that already turns "database busy or
    down" into 503 SERVICE_UNAVAILABLE (gql.errors.is_unavailable) handles it too.
    """


def _no_connection(gate: Gate) -> NoConnection:
    return NoConnection(
        f"all {gate.size} database connections of this worker stayed busy"
        f" for {ADMISSION_WAIT_SECONDS:g} s"
    )


class GatedEngine:
    """The async engine, with every checkout behind a connection gate.

    ``connect()`` is used like ``AsyncEngine.connect()``: ``async with e.connect() as
    conn``. The gate's place is given back only after the connection is back in the pool.
    """

    def __init__(
        self, engine: AsyncEngine, capacity: int, wait_seconds: float = ADMISSION_WAIT_SECONDS
    ) -> None:
        self.engine = engine
        self.gate = Gate(capacity)
        self.wait_seconds = wait_seconds

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        if not await self.gate.enter(self.wait_seconds):
            raise _no_connection(self.gate)
        try:
            async with self.engine.connect() as conn:
                yield conn
        finally:
            self.gate.leave()


class GatedInlineEngine:
    """The synchronous SQLite read engine (db.engine.make_inline_read_engine), entered
    asynchronously: ``async with e.connect() as sync_conn``. Its pool is built never to
    wait (``pool_timeout=0``); this gate guarantees it never has to."""

    def __init__(
        self, engine: Engine, capacity: int, wait_seconds: float = ADMISSION_WAIT_SECONDS
    ) -> None:
        self.engine = engine
        self.gate = Gate(capacity)
        self.wait_seconds = wait_seconds

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Connection]:
        if not await self.gate.enter(self.wait_seconds):
            raise _no_connection(self.gate)
        try:
            with self.engine.connect() as conn:
                yield conn
        finally:
            self.gate.leave()
