"""Open-loop latency: bookings (or, with ``--reads``, GET reads) sent on a fixed schedule,
timed from when they were due.

``wrk`` (closed loop) sends a connection's next request only once the previous answer arrived,
so while the server stalls it sends nothing and the stall shows up in one request instead of
in all those that should have been sent meanwhile (coordinated omission). Here request ``i`` is
due at ``t0 + i / rate`` whatever happened to earlier ones, and its latency is measured from
that due time to the last byte of its answer: time spent waiting for a free connection, in the
client, in the kernel or in the server's queue all counts.

One process (pinned to core 1 by bench/run.py) with a bare asyncio HTTP/1.1 client: a request
goes out on an idle keep-alive connection, or a new one if none is idle (up to
``--max-connections``, after which due requests queue here, still timed from their due time).
Bodies come from bench.workload (slot ``2 (first + i)``, the phones of run ``--run``), so every
request is a distinct valid booking. The client reports its own lag (how late its scheduler
woke up for a request, i.e. what the client itself added) and CPU share, so a client that
cannot keep up shows in the output rather than in the figures.

    python -m bench.openloop --url http://127.0.0.1:8000 --rate 500 --seconds 10 \
        --first 0 --run 3 --pool 10000 --day0 2026-12-05
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.workload import booking_body

__all__ = ["percentile", "read_path", "run"]

_CREATE_PATH = "/api/agent/booking/create/"
_RESULT_PREFIX = "BENCH_RESULT "
_PREOPEN = 16
#: A keep-alive connection idle longer than this is dropped rather than reused: uvicorn closes
#: idle ones after 5 s, and a request written as the server closes would be a spurious error.
_MAX_IDLE_S = 2.0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (0 for none)."""
    if not values:
        return 0.0
    index = min(len(values) - 1, max(0, int(fraction * len(values) + 0.999999) - 1))
    return values[index]


@dataclass
class _State:
    latencies_ms: list[float] = field(default_factory=list)
    #: second of the schedule -> worst latency of the requests due in it
    worst_by_second: dict[int, float] = field(default_factory=dict)
    t0: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)
    socket_errors: int = 0
    outstanding: int = 0
    connections_opened: int = 0
    idle: list[_Connection] = field(default_factory=list)
    pending: deque[tuple[float, bytes]] = field(default_factory=deque)
    open_connections: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    finished_sending: bool = False

    def finish(self, due: float, status: int | None) -> None:
        now = time.perf_counter()
        if status is None:
            self.socket_errors += 1
        else:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            latency = (now - due) * 1000
            self.latencies_ms.append(latency)
            second = int(due - self.t0)
            self.worst_by_second[second] = max(latency, self.worst_by_second.get(second, 0.0))
        self.outstanding -= 1
        if self.finished_sending and self.outstanding == 0:
            self.done.set()


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time (no pipelining)."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due: float | None = None
        self.last_used = time.perf_counter()
        self.closed = False
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - TCP always is
        self.transport = transport
        self.ready.set_result(None)

    def send(self, due: float, request: bytes) -> None:
        assert self.transport is not None  # noqa: S101 - only connected ones send
        self.due = due
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.due is None:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = 0
        keep_alive = True
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                keep_alive = False
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        due, self.due = self.due, None
        self.state.finish(due, int(head[0].split()[1]))
        self.last_used = time.perf_counter()
        if keep_alive and self.transport is not None:
            _release(self.state, self)
        elif self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: ARG002
        self.closed = True
        self.state.open_connections -= 1
        with contextlib.suppress(ValueError):
            self.state.idle.remove(self)
        if self.due is not None:
            self.due = None
            self.state.finish(0.0, None)


def _release(state: _State, connection: _Connection) -> None:
    """A connection is free: give it the oldest queued request, or park it."""
    if state.pending:
        due, request = state.pending.popleft()
        connection.send(due, request)
    else:
        state.idle.append(connection)


async def _open(host: str, port: int, state: _State) -> _Connection | None:
    loop = asyncio.get_running_loop()
    state.open_connections += 1
    state.connections_opened += 1
    try:
        _, protocol = await loop.create_connection(lambda: _Connection(state), host, port)
    except OSError:
        state.open_connections -= 1
        return None
    return protocol


async def _open_and_send(host: str, port: int, state: _State, due: float, request: bytes) -> None:
    connection = await _open(host, port, state)
    if connection is None:
        state.finish(due, None)
        return
    connection.send(due, request)


def _request(host: str, port: int, body: dict[str, str]) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    return (
        f"POST {_CREATE_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload


def _read_request(host: str, port: int, path: str, api_key: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-API-Key: {api_key}\r\n\r\n").encode()


def read_path(kind: str, day: dt.date, service_id: int) -> str:
    """What reads.lua asks for ``kind`` ("slots" or "day") about ``day``."""
    if kind == "slots":
        return f"/api/agent/slots/?service_id={service_id}&after={day.isoformat()}&limit=3"
    return f"/api/agent/availability/?date={day.isoformat()}&service_id={service_id}"


_TASKS: set[asyncio.Task[None]] = set()


def _dispatch(
    state: _State,
    address: tuple[str, int],
    due: float,
    request: bytes,
    now: float,
    max_connections: int,
) -> None:
    """Send ``request`` now: on an idle connection, a new one, or (at the cap) queue it."""
    state.outstanding += 1
    while state.idle and (state.idle[-1].closed or now - state.idle[-1].last_used > _MAX_IDLE_S):
        stale = state.idle.pop()
        if stale.transport is not None:
            stale.transport.close()
    if state.idle:
        state.idle.pop().send(due, request)
    elif state.open_connections < max_connections:
        task = asyncio.create_task(_open_and_send(*address, state, due, request))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)
    else:
        state.pending.append((due, request))


def _summary(
    state: _State, lags_ms: list[float], *, finished: float, seconds: float
) -> dict[str, Any]:
    latencies = sorted(state.latencies_ms)
    lags = sorted(lags_ms)
    answered = len(latencies)
    non_2xx = sum(count for status, count in state.statuses.items() if not 200 <= status < 300)
    return {
        "answered": answered,
        # Answers per second over the schedule (plus however long the last answers took).
        "rate": answered / max(finished, seconds),
        "p50_ms": percentile(latencies, 0.50),
        "p90_ms": percentile(latencies, 0.90),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else 0.0,
        "statuses": state.statuses,
        "socket_errors": state.socket_errors,
        "unanswered": state.outstanding,
        "errors": non_2xx + state.socket_errors + state.outstanding,
        "server_errors": sum(count for status, count in state.statuses.items() if status >= 500),
        "connections_opened": state.connections_opened,
        "worst_by_second_ms": [
            round(state.worst_by_second.get(second, 0.0), 1)
            for second in range(int(seconds + 0.999))
        ],
        "client_lag_p99_ms": percentile(lags, 0.99),
        "client_lag_max_ms": lags[-1] if lags else 0.0,
    }


async def run(
    url: str,
    *,
    rate: float,
    seconds: float,
    first_slot: int,
    run_number: int,
    pool: int,
    first_day: dt.date,
    max_connections: int,
    drain_timeout: float,
    reads: str | None = None,
    read_days: int = 14,
    service_id: int = 1,
    api_key: str = "",
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    total = max(1, round(rate * seconds))
    if reads:
        requests = [
            _read_request(
                host,
                port,
                read_path(reads, first_day + dt.timedelta(days=i % read_days), service_id),
                api_key,
            )
            for i in range(total)
        ]
    else:
        requests = [
            _request(host, port, booking_body(first_slot + i, run_number, pool, first_day))
            for i in range(total)
        ]
    state = _State()
    for connection in await asyncio.gather(
        *(_open(host, port, state) for _ in range(min(_PREOPEN, max_connections)))
    ):
        if connection is not None:
            state.idle.append(connection)
    lags_ms: list[float] = []
    gc.collect()
    gc.freeze()  # the request list is long-lived: keep the collector from walking it
    cpu_started = time.process_time()
    interval = 1 / rate
    t0 = state.t0 = time.perf_counter() + 0.05
    i = 0
    while i < total:
        now = time.perf_counter()
        due = t0 + i * interval
        if due > now:
            await asyncio.sleep(due - now)
            continue
        # Everything due by now goes out; how late each goes is the client's own lag.
        while i < total and (due := t0 + i * interval) <= now:
            lags_ms.append((now - due) * 1000)
            _dispatch(state, (host, port), due, requests[i], now, max_connections)
            i += 1
        await asyncio.sleep(0)
    sent_seconds = time.perf_counter() - t0
    state.finished_sending = True
    if state.outstanding == 0:
        state.done.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(state.done.wait(), drain_timeout)
    finished = time.perf_counter() - t0
    cpu = time.process_time() - cpu_started
    result = _summary(state, lags_ms, finished=finished, seconds=seconds)
    for connection in list(state.idle):
        if connection.transport is not None:
            connection.transport.close()
    return {
        "target_rate": rate,
        "scheduled": total,
        "sent_seconds": sent_seconds,
        **result,
        "client_cpu_share": cpu / finished,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--first", type=int, default=0, help="first booking number")
    parser.add_argument("--run", type=int, default=1, help="run number (new phones)")
    parser.add_argument("--pool", type=int, default=10_000, help="seeded known phones")
    parser.add_argument("--day0", required=True, help="first bookable day, YYYY-MM-DD")
    parser.add_argument("--max-connections", type=int, default=1000)
    parser.add_argument("--drain-timeout", type=float, default=10)
    parser.add_argument(
        "--reads", choices=("slots", "day"), help="GET reads.lua's reads instead of bookings"
    )
    parser.add_argument("--read-days", type=int, default=14, help="days the reads cycle over")
    parser.add_argument("--service-id", type=int, default=1, help="the reads' service")
    parser.add_argument("--api-key", default="", help="the agent API key the reads send")
    args = parser.parse_args()
    result = asyncio.run(
        run(
            args.url,
            rate=args.rate,
            seconds=args.seconds,
            first_slot=args.first,
            run_number=args.run,
            pool=args.pool,
            first_day=dt.date.fromisoformat(args.day0),
            max_connections=args.max_connections,
            drain_timeout=args.drain_timeout,
            reads=args.reads,
            read_days=args.read_days,
            service_id=args.service_id,
            api_key=args.api_key,
        )
    )
    print(_RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
