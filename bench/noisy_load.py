"""Load drivers of the noisy-neighbour benchmark (``bench.noisy_neighbour`` starts them).

One process per tenant, pinned by the caller to the load core, configured by a JSON file
and printing one JSON line with its tally. They import nothing of the service, so they
start fast and stay light.

- **Tenant B** (``b``), the victim: an *open* loop. Request ``i`` is due at
  ``start + ramp + i / rate`` and is sent then, whatever became of the earlier ones; its
  latency runs from that due time to the last byte of the answer, so time spent waiting
  anywhere (in this client, in the server's accept queue, behind tenant A's work) is
  counted, never hidden. A request unanswered ``timeout`` seconds after it was due is an
  error (and counts in the percentiles at the time it was given up).
- **Tenant A** (``a``), the noisy neighbour: a *closed* loop on ``workers`` connections,
  worker ``i`` with token ``i mod len(tokens)``: each sends its next request as soon as
  the previous one is answered, refused or timed out, and ignores ``Retry-After`` (a
  hostile or careless client). It floods from ``start`` to ``start + duration``; what is
  still in flight then is abandoned (counted, not waited for).

Every answer is classified by HTTP status and the first error's ``extensions.code``
(``"200"`` is a clean answer, ``"200 QUERY_TOO_COMPLEX"``, ``"429 THROTTLED"``,
``"503 SERVICE_UNAVAILABLE"``...), transport failures as ``timeout`` or
``connection error``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx2 as httpx
import orjson
import uvloop

HEADERS = {"Content-Type": "application/json"}
# The server's body limit is 64 KiB; the distinct documents stay just under 60 KB.
DOCUMENT_BYTES = 60_000
DOCUMENT_ALIASES = 20  # the alias limit
DOCUMENT_LITERALS = 95  # nodes(ids:) takes at most 100


# --------------------------------------------------------------------------- answers


def classify(status: int, content: bytes) -> str:
    """``"200"`` for a clean GraphQL answer, else the status and the first error code."""
    # '"errors":' cannot occur inside data of this schema ("userErrors" has a capital E),
    # so the (possibly megabytes long) answer is parsed only when it carries errors.
    if status == 200 and b'"errors":' not in content:
        return "200"
    code = ""
    try:
        payload = orjson.loads(content)
    except orjson.JSONDecodeError:
        code = "non-JSON"
    else:
        errors = payload.get("errors") if isinstance(payload, dict) else None
        if errors and isinstance(errors[0], dict):
            code = str((errors[0].get("extensions") or {}).get("code", "no code"))
    return f"{status} {code}".strip()


async def post(
    client: httpx.AsyncClient, url: str, token: str, body: bytes, deadline: float
) -> tuple[str, bytes]:
    """One request, given up at ``deadline`` (event-loop time): the outcome and the body."""
    try:
        async with asyncio.timeout_at(deadline):
            response = await client.post(
                url, content=body, headers={**HEADERS, "Authorization": f"Bearer {token}"}
            )
    except (TimeoutError, httpx.TimeoutException):
        return "timeout", b""
    except httpx.TransportError as error:
        return f"connection error ({type(error).__name__})", b""
    return classify(response.status_code, response.content), response.content


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def _client(connections: int, timeout: float) -> httpx.AsyncClient:
    # The per-request deadline (asyncio) is the authority; httpx's own timeouts are a
    # backstop a little later.
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        timeout=httpx.Timeout(timeout + 5),
    )


async def _warm(client: httpx.AsyncClient, url: str) -> None:
    """One ``/healthz`` before the start: httpx's lazy imports and first connection must
    not delay the first measured sends."""
    with suppress(httpx.HTTPError):
        await client.get(url.rsplit("/", 1)[0] + "/healthz")


async def _wait_until(epoch: float) -> float:
    """Sleep until the wall-clock time ``epoch`` (at once if it has passed); return the
    event-loop time of waking up."""
    loop = asyncio.get_running_loop()
    delay = epoch - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
    return loop.time()


# --------------------------------------------------------------------------- tenant B


async def victim(config: dict[str, Any]) -> dict[str, Any]:
    """Tenant B: ``rate`` point lookups per second, open loop, latency from due time."""
    loop = asyncio.get_running_loop()
    rate, timeout = config["rate"], config["timeout"]
    due_count = int((config["duration"] - config["ramp"]) * rate)
    bodies = [body.encode() for body in config["bodies"]]
    latencies: list[float] = []
    outcomes: Counter[str] = Counter()
    lags: list[float] = []

    async def one(index: int, due: float, client: httpx.AsyncClient) -> None:
        outcome, content = await post(
            client, config["url"], config["token"], bodies[index % len(bodies)], due + timeout
        )
        if outcome == "200" and b'"customerClass":null' in content:
            outcome = "200 null data"  # B's own class must be there
        latencies.append((loop.time() - due) * 1000)
        outcomes[outcome] += 1

    # Enough connections for every request that may be outstanding at once.
    async with _client(int(rate * timeout) + 16, timeout) as client:
        await _warm(client, config["url"])
        late = max(0.0, time.time() - config["start"])
        origin = await _wait_until(config["start"]) + config["ramp"]
        tasks = []
        for index in range(due_count):
            due = origin + index / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            lags.append(loop.time() - due)
            tasks.append(asyncio.create_task(one(index, due, client)))
        await asyncio.gather(*tasks)
    errors = sum(n for outcome, n in outcomes.items() if outcome != "200")
    return {
        "tenant": "b",
        "due": due_count,
        "outcomes": dict(outcomes),
        "errors": errors,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=None),
        "latencies_ms": [round(value, 2) for value in latencies],
        # How late this client itself sent (it shares the load core with tenant A):
        # above a few ms, B's latencies include the client's own delay.
        "send_lag_max_ms": round(max(lags, default=0.0) * 1000, 2),
        "send_lag_p99_ms": round((percentile(lags, 0.99) or 0.0) * 1000, 2),
        "late_start_s": round(late, 3),
    }


# --------------------------------------------------------------------------- tenant A


def distinct_document(unique: str, rng: random.Random, size: int = DOCUMENT_BYTES) -> bytes:
    """A valid, cheap GraphQL request body of about ``size`` bytes that no earlier
    request had: every document misses the server's document caches. Two shapes
    alternate (by the parity of the last hex digit of ``unique``): long unique names
    (operation name and 20 aliases of ``viewer { role }``) padded with a comment, and
    95 distinct long string literals in ``nodes(ids:)`` (unknown IDs read null). Both
    stay far under the 1,000-token limit."""

    def noise(chars: int) -> str:
        return rng.randbytes((chars + 1) // 2).hex()[:chars]

    if int(unique[-1], 16) % 2 == 0:
        name = f"Doc_{unique}_{noise(4_000)}"
        fields = "\n".join(
            f"  a{i:02d}_{unique}_{noise(1_500)}: viewer {{ role }}"
            for i in range(DOCUMENT_ALIASES)
        )
        head = f"query {name} {{\n{fields}\n}}\n"
        bare = len(orjson.dumps({"query": "# \n" + head, "operationName": name}))
        query = f"# {noise(max(0, size - bare))}\n{head}"
        return orjson.dumps({"query": query, "operationName": name})
    head, tail = f"query Ids_{unique} {{\n  nodes(ids: [", "]) { id }\n}\n"
    bare = len(orjson.dumps({"query": head + tail, "operationName": f"Ids_{unique}"}))
    each = (size - bare) // DOCUMENT_LITERALS - 3  # quotes and a space
    literals = " ".join(f'"{noise(each)}"' for _ in range(DOCUMENT_LITERALS))
    return orjson.dumps({"query": head + literals + tail, "operationName": f"Ids_{unique}"})


async def neighbour(config: dict[str, Any]) -> dict[str, Any]:
    """Tenant A: ``workers`` closed loops until ``start + duration``."""
    loop = asyncio.get_running_loop()
    timeout, tokens = config["timeout"], config["tokens"]
    bodies = [body.encode() for body in config.get("bodies", [])]
    documents = bool(config.get("documents"))
    rng = random.Random(os.getpid())
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    sent = {"requests": 0, "bytes": 0}
    in_flight = 0

    async def worker(index: int, client: httpx.AsyncClient) -> None:
        nonlocal in_flight
        token = tokens[index % len(tokens)]
        serial = 0
        while loop.time() < end:
            if documents:
                unique = f"{os.getpid():x}{index:02x}{serial:07x}"
                body = distinct_document(unique, rng)
            else:
                body = bodies[(index + serial * len(tokens)) % len(bodies)]
            serial += 1
            sent["requests"] += 1
            sent["bytes"] += len(body)
            started = loop.time()
            in_flight += 1
            outcome, _content = await post(client, config["url"], token, body, started + timeout)
            in_flight -= 1
            latencies.append((loop.time() - started) * 1000)
            outcomes[outcome] += 1

    async with _client(config["workers"], timeout) as client:
        await _warm(client, config["url"])
        late = max(0.0, time.time() - config["start"])
        await _wait_until(config["start"])
        # The flood ends on time even if this process started late.
        end = loop.time() + max(0.0, config["start"] + config["duration"] - time.time())
        tasks = [asyncio.create_task(worker(i, client)) for i in range(config["workers"])]
        await asyncio.sleep(max(0.0, end - loop.time()))
        abandoned = in_flight
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    answered = sum(outcomes.values())
    return {
        "tenant": "a",
        "sent": sent["requests"],
        "sent_bytes": sent["bytes"],
        "answered": answered,
        "abandoned": abandoned,
        "outcomes": dict(outcomes),
        "throttled": sum(n for outcome, n in outcomes.items() if outcome.startswith("429")),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "late_start_s": round(late, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.noisy_load", description=__doc__)
    parser.add_argument("config", type=Path, help="JSON file written by bench.noisy_neighbour")
    args = parser.parse_args()
    config = orjson.loads(args.config.read_bytes())
    if config["tenant"] == "a":
        # No nice: tenant B's client, a sleeper using ~2 % of the core, preempts this one
        # when it wakes up anyway, and a niced flood would lose its share of a busy core to
        # unrelated processes.
        result = uvloop.run(neighbour(config))
    else:
        result = uvloop.run(victim(config))
    sys.stdout.buffer.write(orjson.dumps(result) + b"\n")


if __name__ == "__main__":
    main()
