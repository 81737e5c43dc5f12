"""Change events: delivery throughput end to end, and what subscriptions add to a mutation.

    .venv/bin/python -m bench.webhooks                      # SQLite file bench/out/webhooks.db
    .venv/bin/python -m bench.webhooks --database-url postgresql+asyncpg://...

1. **Throughput.** A server with its dispatcher off takes ``--events`` class updates
   (each writes one outbox row); then ``billclass dispatch`` starts alone and the clock
   runs from the first delivery until a local receiver (127.0.0.1, answering 200 at once)
   holds every delivery, once with 1 subscription and once with 10 (10 deliveries per event).
   Events (and deliveries) per second, signing and the HTTP round trip included.
2. **Added latency.** ``billclass serve`` (one worker) answers ``--requests`` class
   updates from one client in a closed loop, without subscriptions, with 10 active
   subscriptions of every event type, and without again (the run's drift); p50 and p99 of
   each, and the added p50 against the target (under 10 % of the mutation's p50 without
   subscriptions). Three times: with the dispatcher in the serving worker (the default);
   with ``BILLCLASS_WEBHOOK_DISPATCH=0`` and a ``billclass dispatch`` process instead; and
   with no dispatcher at all, which isolates what the request path itself adds (events
   stay in the outbox).

Every server is a subprocess on a fresh database; nothing is pinned to a CPU.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy.engine import make_url

from bench import seed

ROOT = Path(__file__).resolve().parent.parent
EVERY_EVENT = [
    "CUSTOMER_CLASS_CREATED",
    "CUSTOMER_CLASS_UPDATED",
    "CUSTOMER_CLASS_DELETED",
    "CUSTOMER_CLASS_SHARING_CHANGED",
    "CUSTOMER_CREATED",
    "CUSTOMER_CLASS_ASSIGNED",
    "CUSTOMER_OVERRIDES_UPDATED",
    "API_TOKEN_REVOKED",
]
UPDATE = (
    "mutation($input: UpdateCustomerClassInput!) { updateCustomerClass(input: $input) {"
    " customerClass { version } userErrors { code } } }"
)


class Counter:
    """Deliveries received, counted in the receiver's process."""

    def __init__(self, value: Any) -> None:
        self.value = value

    @property
    def count(self) -> int:
        found: int = self.value.value
        return found


def _serve(port: Any, count: Any) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with count.get_lock():
                count.value += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port.value = server.server_address[1]
    server.serve_forever()


@contextmanager
def receiver() -> Iterator[tuple[str, Counter]]:
    """A receiver answering 200 at once, in a process of its own (so that its work is
    not the measuring client's)."""
    port, count = multiprocessing.Value("i", 0), multiprocessing.Value("q", 0)
    process = multiprocessing.Process(target=_serve, args=(port, count), daemon=True)
    process.start()
    try:
        while not port.value:
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port.value}/hook", Counter(count)
    finally:
        process.terminate()
        process.join(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(database_url: str, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "BILLCLASS_DATABASE_URL": database_url,
        "BILLCLASS_MIGRATION_DATABASE_URL": seed.owner_url(database_url),
        "BILLCLASS_WEBHOOK_ALLOW_INSECURE": "1",
        "BILLCLASS_LOG_LEVEL": "WARNING",
        "BILLCLASS_RATE_TOKEN_BUCKET": "0",
        "BILLCLASS_RATE_TENANT_BUCKET": "0",
        **more,
    }


def billclass(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gql.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE if args[0] == "token" else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = billclass("serve", "--port", str(port), env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def admin_token(env: dict[str, str]) -> str:
    process = billclass("token", "create", "--name", f"bench-{time.time_ns()}", env=env)
    out, _ = process.communicate(timeout=60)
    return out.decode().strip()


class Client:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        )

    def run(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        body: dict[str, Any] = response.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    def mutate(self, name: str, input_: dict[str, Any], selection: str) -> dict[str, Any]:
        input_type = name[0].upper() + name[1:] + "Input"
        query = (
            f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection}"
            " userErrors { code field } } }"
        )
        payload: dict[str, Any] = self.run(query, {"input": input_})[name]
        if payload["userErrors"]:
            raise RuntimeError(payload["userErrors"])
        return payload

    def new_class(self) -> str:
        payload = self.mutate(
            "createCustomerClass", {"name": f"Bench {time.time_ns()}"}, "customerClass { id }"
        )
        found: str = payload["customerClass"]["id"]
        return found

    def subscribe(self, url: str) -> str:
        payload = self.mutate(
            "createWebhookSubscription",
            {"url": url, "events": EVERY_EVENT},
            "webhookSubscription { id }",
        )
        found: str = payload["webhookSubscription"]["id"]
        return found

    def update(self, class_id: str, n: int) -> float:
        started = time.perf_counter()
        data = self.run(UPDATE, {"input": {"id": class_id, "description": f"bench {n}"}})
        elapsed = time.perf_counter() - started
        if data["updateCustomerClass"]["userErrors"]:
            raise RuntimeError(data)
        return elapsed


def fresh_database(base: str, name: str) -> str:
    """A new database named ``name`` (a SQLite file in bench/out/, or on PostgreSQL with
    the owner and service roles of bench.seed, so that row-level security is measured
    too), migrated; returns the service's URL."""
    if base.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{ROOT / 'bench' / 'out' / name}.db"
    else:
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
    app_url, _kept = seed.prepare_database(url, reuse=False)
    return app_url


def throughput(base: str, events: int, subscriptions: int) -> tuple[float, float]:
    """Seconds to deliver ``events`` x ``subscriptions``; events/s and deliveries/s."""
    url = fresh_database(base, f"bench_webhooks_throughput_{subscriptions}")
    env = environment(url, BILLCLASS_WEBHOOK_DISPATCH="0", BILLCLASS_WEBHOOK_POLL_SECONDS="0.05")
    token = admin_token(env)
    with receiver() as (hook, counter), serving(env) as server:
        client = Client(server, token)
        for _ in range(subscriptions):
            client.subscribe(hook)
        class_id = client.new_class()
        for n in range(events):
            client.update(class_id, n)
        created = 1  # the class's own creation was an event too
        expected = (events + created) * subscriptions
        dispatcher = billclass("dispatch", env=env)
        try:
            # Timed from the first delivery (the process's start-up is not delivery).
            while counter.count < 1:
                time.sleep(0.001)
            started, first = time.perf_counter(), counter.count
            while counter.count < expected:
                time.sleep(0.01)
            seconds = time.perf_counter() - started
        finally:
            dispatcher.send_signal(signal.SIGTERM)
            dispatcher.wait(30)
    rate = (expected - first) / seconds
    return rate / subscriptions, rate


MODES = {
    "worker": "dispatcher in the serving worker (the default)",
    "alone": "billclass dispatch alone, the worker without dispatcher",
    "none": "no dispatcher running (the request path alone: events stay in the outbox)",
}


def latency(base: str, requests: int, *, mode: str) -> dict[str, tuple[float, float]]:
    """p50 and p99 (ms) of a class update on one server: without subscriptions, with 10,
    and without again (the drift of the run), with the dispatcher where ``mode`` says."""
    alone = mode == "alone"
    url = fresh_database(base, "bench_webhooks_latency")
    env = environment(url, BILLCLASS_WEBHOOK_DISPATCH="1" if mode == "worker" else "0")
    token = admin_token(env)
    found: dict[str, tuple[float, float]] = {}
    with ExitStack() as stack:
        hook, counter = stack.enter_context(receiver())
        server = stack.enter_context(serving(env))
        if alone:
            dispatcher = billclass("dispatch", env={**env, "BILLCLASS_WEBHOOK_DISPATCH": "1"})
            stack.callback(dispatcher.wait, 30)
            stack.callback(dispatcher.send_signal, signal.SIGTERM)
        client = Client(server, token)
        class_id = client.new_class()
        for n in range(100):  # warm-up
            client.update(class_id, n)
        for phase in ("0 subscriptions", "10 subscriptions", "0 subscriptions again"):
            ids = []
            if phase == "10 subscriptions":
                ids = [client.subscribe(hook) for _ in range(10)]
            times = sorted(client.update(class_id, n) * 1000 for n in range(requests))
            found[phase] = (statistics.median(times), times[int(len(times) * 0.99) - 1])
            for sub_id in ids:
                client.mutate(
                    "deleteWebhookSubscription", {"id": sub_id}, "webhookSubscription { id }"
                )
        found["deliveries received"] = (float(counter.count), 0.0)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="sqlite+aiosqlite:///",
        help="sqlite+aiosqlite:/// (files in bench/out/) or a PostgreSQL superuser URL"
        " (databases bench_webhooks_* are created there)",
    )
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    for count in (1, 10):
        events_per_s, deliveries_per_s = throughput(args.database_url, args.events, count)
        print(
            f"throughput, {count} subscription(s): {events_per_s:.0f} events/s,"
            f" {deliveries_per_s:.0f} deliveries/s"
        )
    for mode, where in MODES.items():
        found = latency(args.database_url, args.requests, mode=mode)
        print(f"{where}:")
        for phase in ("0 subscriptions", "10 subscriptions", "0 subscriptions again"):
            p50, p99 = found[phase]
            print(f"  mutation p50 / p99, {phase}: {p50:.2f} / {p99:.2f} ms")
        base = (found["0 subscriptions"][0] + found["0 subscriptions again"][0]) / 2
        added = found["10 subscriptions"][0] - base
        print(
            f"  added p50: {added:.2f} ms = {100 * added / base:.1f} % of the p50 without"
            f" subscriptions (target < 10 %): {'met' if added < 0.1 * base else 'NOT met'};"
            f" {found['deliveries received'][0]:.0f} deliveries received meanwhile"
        )


if __name__ == "__main__":
    main()
