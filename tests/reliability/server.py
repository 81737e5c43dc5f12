"""A real server process for reliability tests: uvicorn with N workers on a free port.

    with running_server(database_url, workers=2) as server:
        httpx.post(server.url + "/graphql", ...)

The server is stopped with SIGTERM (graceful shutdown); ``server.stop()`` returns its exit
code. Its output goes to a log file, shown when a test fails to start it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        found: int = sock.getsockname()[1]
        return found


class Server:
    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 2,
        env: Mapping[str, str] | None = None,
        command: list[str] | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()  # given when ``command`` names it
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="billclass-server-", suffix=".log")[1])
        environment = {
            **os.environ,
            "BILLCLASS_DATABASE_URL": database_url,
            "BILLCLASS_LOG_LEVEL": "WARNING",
        }
        environment.pop("PROMETHEUS_MULTIPROC_DIR", None)  # only when a test asks for it
        environment.update(env or {})
        self.command = command or [
            sys.executable,
            "-m",
            "uvicorn",
            "gql.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command,
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a failed test can clean up
        )

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                raise RuntimeError(f"server exited with {code}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server not healthy after {timeout} s:\n{self.output()}")

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (spawned children of the supervisor), from /proc."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        workers = []
        try:
            for pid in children.read_text().split():
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"spawn_main" in cmdline:  # not multiprocessing's resource tracker
                    workers.append(int(pid))
        except OSError:
            pass
        return workers

    def terminate(self) -> None:
        """Send SIGTERM (graceful shutdown) without waiting."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, then wait for the exit; returns the exit code (killed: negative)."""
        self.terminate()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.wait()
        self._reap_group()
        self._log.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self._reap_group()

    def _reap_group(self) -> None:
        # Workers left behind by a supervisor that died: only our own process group.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


@contextmanager
def running_server(
    database_url: str,
    *,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    command: list[str] | None = None,
    port: int | None = None,
) -> Iterator[Server]:
    server = Server(database_url, workers=workers, env=env, command=command, port=port)
    try:
        server.wait_healthy()
        yield server
    finally:
        if server.process.poll() is None:
            server.stop()
        else:
            server._reap_group()
