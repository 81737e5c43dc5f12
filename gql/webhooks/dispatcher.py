"""The webhook dispatcher: fans the outbox out and delivers, off the request path.

``billclass serve`` runs one per worker (``BILLCLASS_WEBHOOK_DISPATCH``); ``billclass
dispatch`` runs one alone. Each pass, in short transactions of its own (never a
request's): on SQLite it first takes or keeps the lead (one dispatcher at a time); it
fans new outbox rows out to deliveries; it claims the due deliveries (on PostgreSQL with
``FOR UPDATE SKIP LOCKED``, so workers and instances share the queue), at most
``BILLCLASS_WEBHOOK_CONCURRENCY`` in flight per subscription; then each is POSTed in a
task of its own, outside any transaction, and its outcome recorded. A slow or dead
receiver holds only its own subscription's slots; the API's requests never wait for a
delivery. The clock and the jitter are injectable (tests move time without sleeping).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from db.clock import utcnow
from db.engine import WRITE_TRANSACTION
from gql.webhooks import sender
from tenancy import webhooks
from tenancy.scoping import enter_tenant

log = logging.getLogger("billclass.webhooks")

# At most this many deliveries in flight per dispatcher, all subscriptions together.
MAX_IN_FLIGHT = 64
# Outbox rows fanned out per pass: a pass is one write transaction, kept short (on
# SQLite it holds the database's one write lock, which mutations wait for).
FAN_OUT_BATCH = 25
# SQLite: how long a leader's lead lasts without renewal (it renews every pass).
LEAD_TERM = timedelta(seconds=15)
# A claimed delivery is due again this long after its timeout if its outcome is never
# recorded (the dispatcher died): at least once.
LEASE_MARGIN = timedelta(seconds=5)

Send = Callable[..., Awaitable[sender.Outcome]]


def announce(settings: Any) -> None:
    """The start-up lines about webhooks (serve and dispatch)."""
    if settings.webhook_allow_insecure:
        log.warning(
            "BILLCLASS_WEBHOOK_ALLOW_INSECURE=1: webhooks may go to http:// URLs and loopback"
            " addresses (development and tests only)"
        )
    if settings.webhook_secret_key is None:
        log.warning(
            "BILLCLASS_WEBHOOK_SECRET_KEY is not set: webhook signing secrets are stored"
            " unencrypted"
        )


def sign(event_id: str, at: datetime, body: str, keys: tuple[str, ...]) -> str:
    """The webhook-signature header: one ``v1,<base64>`` per secret, space-separated."""
    return " ".join(Webhook(key).sign(event_id, at, body) for key in keys)


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        poll_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
        concurrency: int = 4,
        allow_insecure: bool = False,
        now: Callable[[], datetime] = utcnow,
        rand: Callable[[], float] = random.random,
        send: Send = sender.post,
    ) -> None:
        self.engine = engine
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.concurrency = concurrency
        self.allow_insecure = allow_insecure
        self.now = now
        self.rand = rand
        self.send = send
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.in_flight: dict[int, int] = {}
        # Attempts done, outcome not yet recorded: (delivery, outcome, when).
        self.finished: list[tuple[webhooks.Claimed, sender.Outcome, datetime]] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, engine: AsyncEngine, settings: Any) -> Dispatcher:
        return cls(
            engine,
            poll_seconds=settings.webhook_poll_seconds,
            timeout_seconds=settings.webhook_timeout_seconds,
            concurrency=settings.webhook_concurrency,
            allow_insecure=settings.webhook_allow_insecure,
        )

    # ------------------------------------------------------------------ the loop

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self.run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        """Stop the loop and the attempts in flight (their leases expire: they are
        attempted again, by this or another dispatcher); record the outcomes already
        known; on SQLite hand the lead over."""
        for task in [*self.tasks, *([self._loop_task] if self._loop_task else [])]:
            task.cancel()
        for task in [*self.tasks, *([self._loop_task] if self._loop_task else [])]:
            with contextlib.suppress(BaseException):
                await task
        finished, self.finished = self.finished, []
        with contextlib.suppress(Exception):
            async with self._transaction() as conn:
                await self._record(conn, finished)
                if not webhooks.shares_by_row_locks(conn):
                    await webhooks.resign(conn, self.holder)

    async def run(self) -> None:
        while True:
            self._wake.clear()  # before the pass: a completion during it wakes the next
            try:
                busy = await self.run_once()
            except Exception as error:  # the database may be down: try again later
                log.warning("webhook dispatcher pass failed: %s: %s", type(error).__name__, error)
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_once(self) -> bool:
        """One pass, in one transaction: record the outcomes of finished attempts, fan
        new outbox rows out, claim due deliveries; then start their attempts. True when
        it found work (the loop then goes on at once)."""
        now = self.now()
        finished, self.finished = self.finished, []
        try:
            async with self._transaction() as conn:
                await self._record(conn, finished)
                for delivery, _outcome, _at in finished:
                    self._free(delivery.subscription_id)
                if not webhooks.shares_by_row_locks(conn) and not await webhooks.lead(
                    conn, self.holder, now, LEAD_TERM
                ):
                    return bool(finished)
                fanned = await webhooks.fan_out(conn, now, limit=FAN_OUT_BATCH)
                room = MAX_IN_FLIGHT - sum(self.in_flight.values())
                claimed: list[webhooks.Claimed] = []
                unreadable: list[tuple[int, str]] = []
                if room > 0:
                    claimed, unreadable = await webhooks.claim_due(
                        conn,
                        now,
                        lease=timedelta(seconds=self.timeout_seconds) + LEASE_MARGIN,
                        free_slots=lambda key: self.concurrency - self.in_flight.get(key, 0),
                        limit=room,
                    )
                for key, reason in unreadable:
                    await webhooks.record_attempt(
                        conn, key, now, status_code=None, error=reason, rand=self.rand
                    )
        except BaseException:
            # Not recorded: kept for the next pass (their leases cover them meanwhile).
            self.finished[:0] = finished
            for delivery, _outcome, _at in finished:
                self.in_flight[delivery.subscription_id] = (
                    self.in_flight.get(delivery.subscription_id, 0) + 1
                )
            raise
        for delivery in claimed:
            self.in_flight[delivery.subscription_id] = (
                self.in_flight.get(delivery.subscription_id, 0) + 1
            )
            task = asyncio.create_task(self._deliver(delivery))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return bool(finished) or fanned > 0 or bool(claimed) or bool(unreadable)

    async def drain(self) -> None:
        """Wait for the attempts in flight and record their outcomes (tests)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)
        if self.finished:
            finished, self.finished = self.finished, []
            async with self._transaction() as conn:
                await self._record(conn, finished)
            for delivery, _outcome, _at in finished:
                self._free(delivery.subscription_id)

    async def _record(
        self, conn: Any, finished: list[tuple[webhooks.Claimed, sender.Outcome, datetime]]
    ) -> None:
        delivered = [
            (delivery.id, delivery.subscription_id, outcome.status)
            for delivery, outcome, _at in finished
            if outcome.status is not None and 200 <= outcome.status < 300
        ]
        if delivered:
            await webhooks.record_delivered(conn, delivered, self.now())
        for delivery, outcome, at in finished:
            if outcome.status is not None and 200 <= outcome.status < 300:
                continue
            status = await webhooks.record_attempt(
                conn,
                delivery.id,
                at,
                status_code=outcome.status,
                error=outcome.error,
                rand=self.rand,
            )
            if status in (webhooks.FAILED, webhooks.DEAD):
                log.info(
                    "webhook %s to subscription %s: %s (%s)",
                    delivery.event_id,
                    delivery.subscription_id,
                    status,
                    outcome.error,
                )

    def _free(self, subscription_id: int) -> None:
        left = self.in_flight.get(subscription_id, 1) - 1
        if left > 0:
            self.in_flight[subscription_id] = left
        else:
            self.in_flight.pop(subscription_id, None)

    # ------------------------------------------------------------------ one attempt

    async def _deliver(self, delivery: webhooks.Claimed) -> None:
        """POST one claimed delivery; its outcome is recorded by the next pass (one
        transaction for all that finished meanwhile), its slot freed then."""
        try:
            body = orjson.dumps(delivery.payload).decode()
            # The wall clock, not the injected one: receivers compare it with theirs.
            at = utcnow()
            headers: Mapping[str, str] = {
                "webhook-id": delivery.event_id,
                "webhook-timestamp": str(int(at.timestamp())),
                "webhook-signature": sign(delivery.event_id, at, body, delivery.secrets),
            }
            outcome = await self.send(
                delivery.url,
                body.encode(),
                headers,
                seconds=self.timeout_seconds,
                allow_insecure=self.allow_insecure,
            )
        except Exception as error:
            outcome = sender.Outcome(None, f"{type(error).__name__}: {error}")
        self.finished.append((delivery, outcome, self.now()))
        self._wake.set()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> Any:
        async with self.engine.connect() as conn:
            # SQLite: BEGIN IMMEDIATE, queued behind the requests' writes like them.
            conn = await conn.execution_options(**{WRITE_TRANSACTION: True})
            async with conn.begin():
                await enter_tenant(conn, webhooks.DISPATCHER)
                yield conn


async def run_alone(engine: AsyncEngine, settings: Any) -> None:
    """``billclass dispatch``: one dispatcher until cancelled (SIGINT/SIGTERM)."""
    dispatcher = Dispatcher.from_settings(engine, settings)
    log.info("webhook dispatcher running (poll %g s)", settings.webhook_poll_seconds)
    try:
        await dispatcher.run()
    finally:
        await dispatcher.stop()
