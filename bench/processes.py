"""Server processes for the benchmark: pinned to a core, watched for memory and CPU time.

Servers run on core 0 (``taskset -c 0``) and the load generators on core 1, so the client never
steals the server's CPU. Peak memory is the sum of ``VmHWM`` (peak resident set) over the
server's process tree, read just before it is stopped; CPU time is ``utime + stime`` over the
same tree, so figures for ``--workers 2`` include both workers and uvicorn's supervisor.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "ALL_CPUS",
    "CLIENT_CPU",
    "SERVER_CPU",
    "Server",
    "cpu_seconds",
    "free_port",
    "peak_memory_kib",
    "pin",
    "process_tree",
]

SERVER_CPU = "0"
CLIENT_CPU = "1"
#: Every core: for what must not be confined to one (the PostgreSQL scenario, see bench/run.py).
ALL_CPUS = f"0-{max(1, (os.cpu_count() or 2) - 1)}"
HOST = "127.0.0.1"
_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def pin(cpus: str, command: Sequence[str]) -> list[str]:
    """``command`` run on the given CPUs only."""
    return ["taskset", "-c", cpus, *command]


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are still alive."""
    found = [pid]
    for parent in found:
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError):
                found.extend(int(child) for child in (task / "children").read_text().split())
    return found


def _status_kib(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def peak_memory_kib(pid: int) -> int:
    """Sum of the peak resident set sizes of ``pid``'s process tree."""
    return sum(_status_kib(each, "VmHWM") for each in process_tree(pid))


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time consumed so far by these processes (all their threads)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / _TICKS


class Server:
    """A server command on core 0 (or ``cpu``) that answers ``GET /health`` on ``port`` once it
    is up."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
        expected_processes: int = 1,
        startup_timeout: float = 60.0,
        cpu: str = SERVER_CPU,
    ) -> None:
        self.command = pin(cpu, command)
        self.port = port
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self.expected_processes = expected_processes
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    def start(self) -> Self:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.command} exited; see {self.log_path}")
            # With several workers, every one must answer: uvicorn starts them one by one.
            if (
                self._healthy()
                and len(self.pids()) >= self.expected_processes
                and (self.expected_processes == 1 or self._all_workers_up())
            ):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.command} did not become healthy; see {self.log_path}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _all_workers_up(self) -> bool:
        """With several workers, health must succeed a few times in a row (any worker answers)."""
        return all(self._healthy() for _ in range(8 * self.expected_processes))

    def pids(self) -> list[int]:
        return process_tree(self.pid)

    def peak_memory_mib(self) -> float:
        return peak_memory_kib(self.pid) / 1024

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pids())

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
