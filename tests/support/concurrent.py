"""Requests released together against a running server (tests/reliability)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import httpx2 as httpx

T = TypeVar("T")


def at_once(base_url: str, count: int, work: Callable[[int, httpx.Client], T]) -> list[T]:
    """``work(i, client)`` for i in range(count), each on its own socket, the threads
    released at the same instant; the first exception of any of them is raised."""
    barrier = threading.Barrier(count)
    results: list[T | BaseException | None] = [None] * count

    def run(i: int) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            client.get("/healthz")  # connect before the barrier
            barrier.wait()
            try:
                results[i] = work(i, client)
            except BaseException as error:  # raised by the calling thread below
                results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done: list[T] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        assert result is not None, "a thread did not finish"
        done.append(result)
    return done


def mutation_payload(
    client: httpx.Client, token: str, query: str, input_: dict[str, Any]
) -> dict[str, Any]:
    """The payload of a one-mutation document that must be answered 200 without a
    top-level error."""
    response = client.post(
        "/graphql",
        json={"query": query, "variables": {"input": input_}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body
    (payload,) = body["data"].values()
    found: dict[str, Any] = payload
    return found
