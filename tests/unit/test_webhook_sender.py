"""The webhook HTTP client (gql/webhooks/sender.py) against local sockets: what each
kind of failure records, and that the request is what the receiver expects."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from gql.webhooks.sender import Outcome, post
from tests.reliability.faults import closed_port, silent_listener


def send(url: str, *, seconds: float = 2.0, allow_insecure: bool = True) -> Outcome:
    return asyncio.run(
        post(
            url, b'{"a":1}', {"webhook-id": "msg_1"}, seconds=seconds, allow_insecure=allow_insecure
        )
    )


@contextmanager
def answering(answer: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """A one-shot server that records what it reads and writes ``answer``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    seen: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b'{"a":1}' not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            seen.append(data)
            conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        thread.join(5)
        listener.close()


def test_the_request_and_a_2xx_answer() -> None:
    with answering(b"HTTP/1.1 204 No Content\r\n\r\n") as (port, seen):
        outcome = send(f"http://127.0.0.1:{port}/hook?x=1")
    assert outcome == Outcome(204, None)
    head, _, body = seen[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /hook?x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{port}" in lines
    assert "Content-Type: application/json" in lines
    assert "Content-Length: 7" in lines
    assert "webhook-id: msg_1" in lines
    assert body == b'{"a":1}'


def test_a_redirect_is_a_failure_never_followed() -> None:
    with answering(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\n\r\n") as (
        port,
        _,
    ):
        assert send(f"http://127.0.0.1:{port}/") == Outcome(302, "HTTP 302")


def test_an_answer_that_is_not_http() -> None:
    with answering(b"SSH-2.0-OpenSSH\r\n") as (port, _):
        assert send(f"http://127.0.0.1:{port}/") == Outcome(
            None, "the receiver's answer is not HTTP"
        )


def test_no_answer_within_the_timeout() -> None:
    with silent_listener() as port:
        assert send(f"http://127.0.0.1:{port}/", seconds=0.3) == Outcome(
            None, "no answer within 0.3 s"
        )


def test_connection_refused() -> None:
    outcome = send(f"http://127.0.0.1:{closed_port()}/")
    assert outcome.status is None
    assert outcome.error is not None and outcome.error.startswith("ConnectionRefusedError")


def test_http_and_loopback_only_when_insecure() -> None:
    assert send("http://example.com/", allow_insecure=False) == Outcome(
        None, "refused: only https URLs are delivered"
    )
    assert send("https://127.0.0.1:1/", allow_insecure=False) == Outcome(
        None, "refused: 127.0.0.1 resolves to 127.0.0.1 (not a public address)"
    )
