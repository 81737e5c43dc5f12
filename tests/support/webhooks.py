"""A real webhook receiver on 127.0.0.1, a clock tests move, and a dispatcher run.

The receiver verifies every request with the ``standardwebhooks`` verifier against the
secrets it is told (``secrets``), and records each one: its webhook-id, whether the
signature verified, the payload and the signature header. ``statuses`` lists the answers
to give in turn (then 200); ``hang`` makes it hold every request until released, before
recording it; ``delay`` holds each answer that long after recording its request.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from db.engine import make_engine
from db.settings import Settings
from gql.webhooks.dispatcher import Dispatcher
from tenancy.scoping import install_guard
from tests.api_client import Api


@dataclass
class Received:
    webhook_id: str
    verified: bool
    payload: dict[str, Any]
    signature: str
    timestamp: str


@dataclass
class Receiver:
    url: str = ""
    secrets: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hang: threading.Event | None = None
    delay: float = 0.0
    answering: int = 0
    hanging: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            return True
        return False

    @property
    def verified(self) -> list[Received]:
        return [r for r in self.received if r.verified]

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.received if r.payload["type"] == event_type]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {key.lower(): value for key, value in self.headers.items()}
            if receiver.hang is not None:
                with receiver.lock:
                    receiver.hanging += 1
                receiver.hang.wait(30)
            with receiver.lock:
                receiver.received.append(
                    Received(
                        webhook_id=headers.get("webhook-id", ""),
                        verified=receiver.verify(body, headers),
                        payload=json.loads(body),
                        signature=headers.get("webhook-signature", ""),
                        timestamp=headers.get("webhook-timestamp", ""),
                    )
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.answering += 1
            # Recorded, not yet answered: a sender dying now never learns of it.
            time.sleep(receiver.delay)
            with receiver.lock:
                receiver.answering -= 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def receiving(path: str = "/hook") -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.hang is not None:
            receiver.hang.set()
        server.shutdown()
        server.server_close()


ALL_EVENTS = [
    "CUSTOMER_CLASS_CREATED",
    "CUSTOMER_CLASS_UPDATED",
    "CUSTOMER_CLASS_DELETED",
    "CUSTOMER_CLASS_SHARING_CHANGED",
    "CUSTOMER_CREATED",
    "CUSTOMER_CLASS_ASSIGNED",
    "CUSTOMER_OVERRIDES_UPDATED",
    "API_TOKEN_REVOKED",
]


def subscribe(
    api: Api, url: str, token: str | None = None, events: list[str] | None = None
) -> tuple[str, str]:
    """A new subscription's ID and secret."""
    payload = api.ok(
        "createWebhookSubscription",
        {"url": url, "events": events or ALL_EVENTS},
        token,
        "secret webhookSubscription { id }",
    )
    return payload["webhookSubscription"]["id"], payload["secret"]


class Clock:
    """A clock that moves only when told (starts at the real now)."""

    def __init__(self) -> None:
        self.value = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta: float) -> None:
        self.value += timedelta(**delta)


def dispatch(
    settings: Settings,
    clock: Clock | None = None,
    *,
    rounds: int = 10,
    allow_insecure: bool = True,
    rand: float = 0.5,
) -> None:
    """Run a dispatcher's passes (each waits for its attempts) until one finds no work."""

    async def main() -> None:
        engine = make_engine(settings=settings)
        install_guard(engine.sync_engine)
        dispatcher = Dispatcher(
            engine,
            timeout_seconds=5,
            allow_insecure=allow_insecure,
            now=clock or (lambda: datetime.now(UTC)),
            rand=lambda: rand,
        )
        try:
            for _ in range(rounds):
                busy = await dispatcher.run_once()
                await dispatcher.drain()
                if not busy:
                    break
        finally:
            await dispatcher.stop()
            await engine.dispose()

    asyncio.run(main())
