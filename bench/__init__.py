"""Benchmark of the service against a raw baseline: see ``bench/README.md``.

One command seeds a realistic data set, serves it with our service and with a bare
Starlette endpoint, drives both with wrk and prints the table::

    .venv/bin/python -m bench.run
"""
