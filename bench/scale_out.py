"""Aggregate throughput of 1, 2 and 3 instances: ``.venv/bin/python -m bench.scale_out``
(``make bench-scale``).

Each instance is its own ``uvicorn`` process with one worker on its own port, standing for
a machine, all against one PostgreSQL database and one Redis (rate-limit buckets shared,
as a deployment of several instances needs). One wrk drives them together: one thread per
instance (``thread.addr`` set in ``setup``), the connections split evenly, every thread
sending the reseller's point lookup of ``bench.run`` (the id rotating over its classes).
Each count is measured ``--repeat`` times (median and spread, ``bench.run.aggregate_runs``).

Nothing is pinned: the instances, wrk, PostgreSQL and Redis share every CPU of the machine,
as they would not across machines; the report gives the CPU time each took per request, so
the curve can be read against the cores there are (README "Deployment").

Steps: seed (``bench.seed``; ``--resellers`` below 200 seeds fewer resellers, the point
lookup reads the same rows), tokens, then per count: start the instances, check every one
answers the lookup, warm up, measure, stop them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from bench import run, seed
from tenancy.ids import to_global_id
from tenancy.principal import CLI
from tenancy.scoping import enter_tenant

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/billclass_bench_scale"
REDIS_URL = "redis://127.0.0.1:6379/0"
ALL_CPUS = ",".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0)))

# wrk with one thread per instance: each thread connects to its own instance's port.
LUA_SETUP = """local ports = {PORTS}
local next_port = 0
function setup(thread)
  next_port = next_port + 1
  thread.addr = wrk.lookup("127.0.0.1", tostring(ports[next_port]))[1]
  table.insert(threads, thread)
end
"""


def write_lua(bodies: list[bytes], token: str, ports: list[int]) -> Path:
    """bench.run's wrk script (request rotation, error count, BENCH result line), with a
    ``setup`` that points each wrk thread at one instance."""
    own_setup = "function setup(thread)\n  table.insert(threads, thread)\nend\n"
    if own_setup not in run.LUA:
        raise SystemExit("bench.run.LUA changed: update bench/scale_out.py's setup")
    setup = LUA_SETUP.replace("PORTS", ", ".join(map(str, ports)))
    template = run.LUA.replace(own_setup, setup)
    quoted = ",\n".join(f"  [==[{b.decode()}]==]" for b in bodies)
    path = run.OUT / f"scale-{len(ports)}.lua"
    path.write_text(template % {"bodies": quoted, "token": token, "response": run.LUA_RESPONSE})
    return path


async def _seeded_classes(url: str) -> int:
    engine = seed.engine_for(url)
    try:
        async with engine.connect() as conn, conn.begin():
            await enter_tenant(conn, CLI)
            return int(
                (await conn.execute(sa.text("select count(*) from customer_class"))).scalar_one()
            )
    finally:
        await engine.dispose()


def _machine_busy() -> int:
    """Busy jiffies of every CPU together, from /proc/stat's first line."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return user + nice + system + irq + softirq + steal


def measure(
    servers: list[run.Server], script: Path, seconds: float, connections: int
) -> dict[str, Any]:
    """One wrk run over every instance, with the CPU time of the instances, of PostgreSQL
    and of wrk over it, per request and in shares of the machine's cores."""
    pids = [server.process.pid for server in servers]
    for server in servers:
        run.wait_idle(server)
    started = time.monotonic()
    before = (
        sum(run._process_jiffies(pid) for pid in pids),
        run._postgres_jiffies(),
        run._children_jiffies(),
        _machine_busy(),
    )
    result = run.wrk(
        servers[0].url, script, seconds, connections, threads=len(servers), cpus=ALL_CPUS
    )
    after = (
        sum(run._process_jiffies(pid) for pid in pids),
        run._postgres_jiffies(),
        run._children_jiffies(),
        _machine_busy(),
    )
    wall = time.monotonic() - started
    instances, database, load_generator, busy = (after[i] - before[i] for i in range(4))
    # Everything else the machine ran meanwhile (Redis, this script, other jobs).
    other = max(0, busy - instances - database - load_generator)
    requests = result["requests"] or 1
    for name, jiffies in (
        ("instances", instances),
        ("database", database),
        ("wrk", load_generator),
        ("other", other),
    ):
        seconds_used = jiffies / run.CLOCK_TICKS
        result[f"{name}_cpu_ms_per_request"] = 1000 * seconds_used / requests
        result[f"{name}_cores"] = seconds_used / wall
    return result


def measure_count(
    count: int,
    env: dict[str, str],
    bodies: list[bytes],
    token: str,
    args: argparse.Namespace,
) -> dict[str, Any]:
    with ExitStack() as stack:
        servers = [
            stack.enter_context(
                run.serve(f"scale-{count}-{index}", "gql.app:create_app", env, True, ALL_CPUS)
            )
            for index in range(count)
        ]
        for server in servers:  # every instance answers the lookup, without errors
            status, raw = run.fetch(server.url, token, bodies[0])
            answer = orjson.loads(raw)
            if status != 200 or answer.get("errors") or not answer.get("data"):
                raise SystemExit(f"instance {server.port} answered {status}: {raw[:300]!r}")
        script = write_lua(bodies, token, [server.port for server in servers])
        connections = args.connections_per_instance * count
        run.wrk(servers[0].url, script, args.warmup, connections, threads=count, cpus=ALL_CPUS)
        runs = [measure(servers, script, args.duration, connections) for _ in range(args.repeat)]
    result = run.aggregate_runs(runs)
    result["instances"] = count
    result["connections"] = connections
    print(
        f"  {count} instance{'s' if count > 1 else ' '}: {result['rps']:8.0f} req/s"
        f"  p50 {result['p50_us'] / 1000:6.2f} ms  p99 {result['p99_us'] / 1000:6.2f} ms"
        f"  CPU ms/req: instances {result['instances_cpu_ms_per_request']:.2f},"
        f" PostgreSQL {result['database_cpu_ms_per_request']:.2f},"
        f" wrk {result['wrk_cpu_ms_per_request']:.2f}"
        f"  cores: instances {result['instances_cores']:.2f}, PostgreSQL"
        f" {result['database_cores']:.2f}, wrk"
        f" {result['wrk_cores']:.2f}, other {result['other_cores']:.2f}"
        + (f"  ERRORS {result['errors']}" if result["errors"] else "")
        + (
            f"  (req/s {run._spread(result, 'rps')} over {result['runs']} runs)"
            if result["runs"] > 1
            else ""
        )
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale_out",
        description="Aggregate point-lookup throughput of 1..N instances of one worker each.",
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL URL")
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument(
        "--reuse", action="store_true", help="keep an already seeded bench database"
    )
    parser.add_argument(
        "--resellers",
        type=int,
        default=seed.RESELLERS,
        help=f"resellers to seed (default {seed.RESELLERS}, the full data set)",
    )
    parser.add_argument("--instances", type=int, default=3, help="measure 1 up to this many")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per count")
    parser.add_argument("--connections-per-instance", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per count")
    args = parser.parse_args()
    if seed.is_sqlite(args.database_url):
        parser.error("scale-out needs one PostgreSQL database shared by the instances")
    if args.repeat < 1 or args.instances < 1:
        parser.error("--repeat and --instances must be at least 1")
    run.ensure_tools()
    run.OUT.mkdir(parents=True, exist_ok=True)
    load_average = Path("/proc/loadavg").read_text().split()[:3]

    app_url, kept = seed.prepare_database(args.database_url, args.reuse)
    classes = asyncio.run(_seeded_classes(app_url)) if kept else 0
    if classes > seed.ADMIN_CLASSES:
        print(f"reusing the seeded database {app_url} ({classes:,} classes)")
    else:
        print(f"seeding {app_url} with {args.resellers} resellers ...")
        seeded = asyncio.run(seed.seed(app_url, resellers_count=args.resellers))
        print(f"seeded {seeded.classes:,} classes in {seeded.seconds:.1f} s")
    subject = asyncio.run(run._subject(app_url))
    _admin, reseller = asyncio.run(seed.create_tokens(app_url, subject["reseller_id"]))
    bodies = [
        run.body(run.POINT_QUERY, "ClassHeader", {"id": to_global_id("CustomerClass", key)})
        for key in subject["class_ids"]
    ]
    prefix = f"billclass-bench-scale:{uuid.uuid4().hex}:"
    env = {
        "BILLCLASS_DATABASE_URL": app_url,
        "BILLCLASS_REDIS_URL": args.redis_url,
        "BILLCLASS_REDIS_KEY_PREFIX": prefix,
        **run.UNTHROTTLED,
    }
    print(
        f"point lookup, {subject['database']}, {subject['classes']:,} classes;"
        f" {args.connections_per_instance} connections per instance,"
        f" {args.warmup:g} s warm-up + {args.repeat} x {args.duration:g} s per count;"
        f" nothing pinned (CPUs {ALL_CPUS})"
    )
    counts = [measure_count(n, env, bodies, reseller, args) for n in range(1, args.instances + 1)]
    one = counts[0]["rps"]
    print()
    print(f"{'instances':>9} {'req/s':>8} {'x one':>6} {'p50 ms':>7} {'p99 ms':>7}  req/s spread")
    for result in counts:
        print(
            f"{result['instances']:9d} {result['rps']:8.0f} {result['rps'] / one:6.2f}"
            f" {result['p50_us'] / 1000:7.2f} {result['p99_us'] / 1000:7.2f}"
            f"  {run._spread(result, 'rps') or '-'}"
        )
    results = {
        "command": " ".join([Path(sys.executable).name, "-m", "bench.scale_out", *sys.argv[1:]]),
        "database_url": app_url,
        "subject": {k: v for k, v in subject.items() if k != "class_ids"},
        "machine": run.machine(),
        "cpus": ALL_CPUS,
        "duration": args.duration,
        "warmup": args.warmup,
        "repeat": args.repeat,
        "connections_per_instance": args.connections_per_instance,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average_at_start": load_average,
        "counts": counts,
    }
    path = run.OUT / "scale_out.json"
    path.write_text(json.dumps(results, indent=2))
    print(f"\nresults written to {path.relative_to(run.ROOT)}")


if __name__ == "__main__":
    main()
