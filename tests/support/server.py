"""The real service in a subprocess, started exactly as an operator starts it: ``booking serve``.

End-to-end tests talk to it over HTTP and WebSocket like any client would, so they cover what
no in-process test can: the console script, configuration from the environment, uvicorn, worker
processes, start-up migration and shutdown. The server's output goes to a log file whose tail is
shown whenever the server fails to come up.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

__all__ = [
    "ADMIN_TOKEN",
    "AGENT_API_KEY",
    "AGENT_HEADERS",
    "HOST",
    "PUBLIC_AGENT_ENDPOINTS",
    "ServerError",
    "ServerProcess",
    "booking_executable",
    "free_port",
    "run_booking",
    "service_environment",
]

HOST = "127.0.0.1"
#: The admin token every test server is started with.
ADMIN_TOKEN = "integration-test-admin-token"
#: The agent API key every test server is started with, unless a test's ``env`` says otherwise.
#: A client that sends it (:data:`AGENT_HEADERS`) is a trusted agent and gets the spec's full
#: answers, which is what most tests check; the answer to anyone else is tested on servers
#: started with :data:`PUBLIC_AGENT_ENDPOINTS`.
AGENT_API_KEY = "integration-test-agent-key"
AGENT_HEADERS = {"X-API-Key": AGENT_API_KEY}
#: ``env`` for a server whose agent endpoints are public (no API keys configured).
PUBLIC_AGENT_ENDPOINTS = {"BOOKING_AGENT_API_KEYS": ""}
_STARTUP_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
_POLL_INTERVAL_S = 0.1
_START_ATTEMPTS = 3
_LOG_TAIL_CHARS = 4000


class ServerError(RuntimeError):
    """The server did not come up (or a CLI command failed); the message has its log's tail."""


def booking_executable() -> Path:
    """The ``booking`` console script of the virtualenv running the tests.

    ``sys.executable`` is ``.venv/bin/python``; its directory (not the resolved interpreter's,
    which is the base Python's) holds the venv's scripts.
    """
    return Path(sys.executable).parent / "booking"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def service_environment(
    database_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Our environment without any ``BOOKING_*`` of the developer's, plus the test settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOOKING_")}
    env |= {
        "BOOKING_DATABASE_URL": database_url,
        "BOOKING_ADMIN_TOKEN": ADMIN_TOKEN,
        "BOOKING_AGENT_API_KEYS": AGENT_API_KEY,
        "BOOKING_LOG_LEVEL": "WARNING",
        # Tests send hundreds of requests from one address; rate-limit tests opt back in.
        "BOOKING_RATE_LIMIT": "0",
        # Webhooks go to loopback only, whatever a test (or a fuzzer) subscribes.
        "BOOKING_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    env |= dict(extra or {})
    return env


def run_booking(
    args: Sequence[str],
    database_url: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run one ``booking`` CLI command against ``database_url``; raise if it fails."""
    result = subprocess.run(
        [str(booking_executable()), *args],
        env=service_environment(database_url, env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise ServerError(
            f"booking {' '.join(args)} exited with {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result


class ServerProcess:
    """``booking serve`` on a free port of 127.0.0.1; a context manager that stops it on exit."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        startup_timeout: float = _STARTUP_TIMEOUT_S,
    ) -> None:
        self.database_url = database_url
        self.workers = workers
        self.env = service_environment(database_url, env)
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="booking-server-"))
        self.startup_timeout = startup_timeout
        self.log_path = self.log_dir / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    # --- addresses ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise ServerError("the server is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """The ``booking serve`` process: with one worker, the one that serves requests."""
        if self._process is None:
            raise ServerError("the server is not started")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # --- life cycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start and wait until ``GET /health`` answers 200; retry if the port was taken."""
        if self._process is not None:
            raise ServerError("the server is already started")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, _START_ATTEMPTS + 1):
            log_start = len(self.log_text())
            self._spawn(free_port())
            try:
                self._wait_until_healthy()
            except BaseException as error:
                this_attempt = self.log_text()[log_start:].lower()
                self.stop()
                port_taken = "address already in use" in this_attempt
                if (
                    not (isinstance(error, ServerError) and port_taken)
                    or attempt == _START_ATTEMPTS
                ):
                    raise
            else:
                return self
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down gracefully), then SIGKILL; safe to call twice."""
        process, self._process, self._port = self._process, None, None
        if process is None:
            return
        atexit.unregister(self.stop)
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                # Its own session: this reaches uvicorn's worker processes too.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=_STOP_TIMEOUT_S)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- steps ----------------------------------------------------------------------------------

    def _spawn(self, port: int) -> None:
        command = [
            str(booking_executable()),
            "serve",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(self.workers),
        ]
        with self.log_path.open("ab") as log:
            log.write(f"$ {' '.join(command)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                command,
                env=self.env,
                # A relative default (./booking.db) would land here, never in the repository.
                cwd=self.log_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._port = port
        # A safety net: a test run that dies without stopping us leaves no server behind.
        atexit.register(self.stop)

    def _wait_until_healthy(self) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + self.startup_timeout
        last_error = "no answer yet"
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                try:
                    response = client.get(f"{self.base_url}/health")
                except httpx.TransportError as error:
                    last_error = repr(error)
                else:
                    if response.status_code == httpx.codes.OK:
                        return
                    last_error = f"GET /health answered {response.status_code}"
                # Waiting on the process doubles as the poll interval and notices an early exit.
                try:
                    code = process.wait(timeout=_POLL_INTERVAL_S)
                except subprocess.TimeoutExpired:
                    continue
                raise ServerError(
                    f"booking serve exited with {code} before it was healthy\n{self._log_tail()}"
                )
        raise ServerError(
            f"booking serve was not healthy after {self.startup_timeout:.0f} s "
            f"({last_error})\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        return f"--- {self.log_path} (tail) ---\n{self.log_text()[-_LOG_TAIL_CHARS:]}"
