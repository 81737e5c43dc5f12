"""CPU per request in-process: the ASGI app driven directly (no HTTP, no TestClient).

    .venv/bin/python -m bench.profile --reuse [--requests 2000] [--cprofile point_trusted]

Seeds (or reuses, ``--reuse``) the bench database of ``bench.run``, registers the point
lookup and the page of 50 as trusted documents, then sends each operation of
``bench.run`` (ad hoc and trusted) straight to the ASGI application in one event loop,
one request at a time, and prints ``time.process_time`` per request (median of ``--batches``, 5;
``--compare-plans``: the trusted ones with and without their compiled plans, interleaved).
``--cprofile KEY`` runs that operation under cProfile and prints the functions with the
most cumulative time, which says where a request's CPU goes (endpoint bookkeeping,
graphql-core execution, resolvers, SQL, serialisation).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import time
from typing import Any

import orjson

from bench import seed
from bench.run import (
    PAGE_QUERY,
    POINT_QUERY,
    UNTHROTTLED,
    _subject,
    body,
    register_documents,
    trusted_body,
)
from tenancy.ids import to_global_id


def _scope(token: str, payload: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(payload)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: Any, token: str, payload: bytes) -> tuple[int, bytes]:
    """One POST /graphql through the ASGI app; its status and body."""
    delivered = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await asyncio.Event().wait()  # never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(_scope(token, payload), receive, send)
    return status, b"".join(chunks)


async def profile(args: argparse.Namespace, app_url: str) -> None:
    from db.settings import Settings
    from gql.app import create_app

    subject = await _subject(app_url)
    _admin, reseller = await seed.create_tokens(app_url, subject["reseller_id"])
    ids = await register_documents(app_url, [POINT_QUERY, PAGE_QUERY])
    keys = subject["class_ids"]
    operations: dict[str, list[bytes]] = {
        "point": [
            body(POINT_QUERY, "ClassHeader", {"id": to_global_id("CustomerClass", k)}) for k in keys
        ],
        "point_trusted": [
            trusted_body(ids[POINT_QUERY], "ClassHeader", {"id": to_global_id("CustomerClass", k)})
            for k in keys
        ],
        "page": [body(PAGE_QUERY, "ClassPage", {"first": 50})],
        "page_trusted": [trusted_body(ids[PAGE_QUERY], "ClassPage", {"first": 50})],
    }
    app = create_app(
        Settings(
            database_url=app_url,
            rate_token_restore=int(UNTHROTTLED["BILLCLASS_RATE_TOKEN_RESTORE"]),
            rate_tenant_restore=int(UNTHROTTLED["BILLCLASS_RATE_TENANT_RESTORE"]),
            webhook_dispatch=args.dispatch,
        )
    )
    endpoint = app.state.endpoint
    async with app.router.lifespan_context(app):
        for key, bodies in operations.items():
            if args.only and key not in args.only:
                continue
            status, answer = await call(app, reseller, bodies[0])
            result = orjson.loads(answer)
            if status != 200 or result.get("errors"):
                raise SystemExit(f"{key}: {status} {answer[:300]!r}")
            count = args.requests if key.startswith("point") else max(args.requests // 100, 5)
            # Trusted documents with and without their compiled plans, batches interleaved
            # (a busy machine drifts less between neighbouring batches).
            modes = [True, False] if args.compare_plans and key.endswith("_trusted") else [True]
            batches: dict[bool, list[float]] = {mode: [] for mode in modes}
            for _ in range(args.batches):
                for mode in modes:
                    endpoint.compiled_plans = mode
                    started = time.process_time()
                    for i in range(count):
                        await call(app, reseller, bodies[i % len(bodies)])
                    batches[mode].append((time.process_time() - started) / count)
            endpoint.compiled_plans = True
            for mode in modes:
                label = key if len(modes) == 1 else f"{key} ({'plans' if mode else 'no plans'})"
                median = statistics.median(batches[mode]) * 1000
                least = min(batches[mode]) * 1000
                print(f"{label:26} {median:8.3f} CPU ms/request (least batch {least:.3f})")
            if len(modes) == 2:
                ratios = [a / b for a, b in zip(batches[True], batches[False], strict=True)]
                print(
                    f"{'':26} plans / no plans, median of the batch pairs: "
                    f"{statistics.median(ratios):.3f}"
                )
            if args.cprofile == key:
                profiler = cProfile.Profile()
                profiler.enable()
                for i in range(count):
                    await call(app, reseller, bodies[i % len(bodies)])
                profiler.disable()
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(args.top)
                stats.sort_stats("tottime").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--database-url", default=seed.DEFAULT_URL)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--resellers",
        type=int,
        default=seed.RESELLERS,
        help="resellers to seed (fewer: quicker; the operations read the same rows)",
    )
    parser.add_argument("--requests", type=int, default=2000, help="point lookups per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches per figure (median)")
    parser.add_argument("--only", nargs="*", help="operations to run (default: all)")
    parser.add_argument("--cprofile", help="profile this operation")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument(
        "--compare-plans",
        action="store_true",
        help="run the trusted operations with and without compiled plans, interleaved",
    )
    parser.add_argument(
        "--dispatch", action="store_true", help="run the webhook dispatcher in the app"
    )
    args = parser.parse_args()
    app_url, kept = seed.prepare_database(args.database_url, args.reuse)
    if not kept:  # --reuse: as seeded before (perhaps with fewer resellers)
        asyncio.run(seed.seed(app_url, resellers_count=args.resellers))
    asyncio.run(profile(args, app_url))


if __name__ == "__main__":
    main()
