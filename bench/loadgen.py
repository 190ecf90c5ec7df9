"""The load generator: ``wrk`` with ``create.lua`` (bookings) or ``reads.lua``, pinned to core 1.

``wrk`` is a C program driving many connections from one thread with an event loop, so on its
own core it produces tens of thousands of requests per second: far more than any scenario here
consumes, so the client is never what is measured. It keeps a fixed number of connections
busy (closed loop): each connection sends its next request as soon as the previous answer
arrives, so latency includes the time a request waits in the server's queue.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import CLIENT_CPU, pin
from bench.workload import SLOT_MINUTES, SLOTS_PER_DAY

__all__ = ["LoadResult", "SlotAllocator", "run_wrk", "run_wrk_reads", "wrk_available"]

_SCRIPT = Path(__file__).with_name("create.lua")
_READS_SCRIPT = Path(__file__).with_name("reads.lua")
_RESULT_PREFIX = "BENCH_RESULT "


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    socket_errors: int
    sent: int
    raw: dict[str, object] = field(repr=False)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def non_2xx(self) -> int:
        return sum(count for status, count in self.statuses.items() if not 200 <= status < 300)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    @property
    def errors(self) -> int:
        """Every request that did not get a 2xx: error statuses plus socket errors."""
        return self.non_2xx + self.socket_errors


class SlotAllocator:
    """Hands each wrk run a range of slot numbers no other run of the database has used."""

    def __init__(self, first: int = 0) -> None:
        self.next = first

    def take(self, used: int) -> int:
        start = self.next
        # Margin for requests in flight when wrk stops (sent but not counted).
        self.next += used + 10_000
        return start


def wrk_available() -> bool:
    return shutil.which("wrk") is not None and shutil.which("taskset") is not None


def run_wrk(
    url: str,
    *,
    seconds: float,
    first_slot: int,
    pool: int,
    run: int,
    day0_epoch: int,
    connections: int,
    threads: int,
    log_path: Path,
    resources: int = 0,
) -> LoadResult:
    """One wrk run; with ``resources`` the requests are scenario (r)'s (see create.lua)."""
    arguments = [
        str(first_slot),
        str(SLOTS_PER_DAY),
        str(SLOT_MINUTES),
        str(day0_epoch),
        str(pool),
        str(run),
        "1",  # the stride when wrk gives no threads (never with --threads)
        str(resources),
    ]
    return _wrk(_SCRIPT, arguments, url, seconds, connections, threads, log_path)


def run_wrk_reads(
    url: str,
    *,
    kind: str,
    seconds: float,
    day0_epoch: int,
    days: int,
    service_id: int,
    api_key: str,
    connections: int,
    threads: int,
    log_path: Path,
) -> LoadResult:
    """One wrk run of reads.lua: ``kind`` "slots" (next free starts) or "day" (one day's
    availability), for catalog service ``service_id``, cycling over ``days`` days."""
    arguments = [kind, str(day0_epoch), str(days), str(service_id), api_key]
    return _wrk(_READS_SCRIPT, arguments, url, seconds, connections, threads, log_path)


def _wrk(
    script: Path,
    arguments: list[str],
    url: str,
    seconds: float,
    connections: int,
    threads: int,
    log_path: Path,
) -> LoadResult:
    command = pin(
        CLIENT_CPU,
        [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=10s",
            f"--script={script}",
            url,
            "--",
            *arguments,
        ],
    )
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    with log_path.open("a") as log:
        log.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}\n")
    line = next(
        (line for line in result.stdout.splitlines() if line.startswith(_RESULT_PREFIX)), None
    )
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}); see {log_path}")
    raw = json.loads(line.removeprefix(_RESULT_PREFIX))
    return LoadResult(
        requests=int(raw["requests"]),
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        statuses={int(status): count for status, count in raw["statuses"].items()},
        socket_errors=sum(
            int(raw[name]) for name in ("connect_errors", "read_errors", "write_errors", "timeouts")
        ),
        sent=int(raw["sent"]),
        raw=raw,
    )
