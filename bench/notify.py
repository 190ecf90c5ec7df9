"""Notification latency: N dashboards connected while bookings arrive at a steady rate.

One process (on core 1) holds every dashboard's WebSocket and makes the bookings, so a single
clock times both ends: for each booking, the time from its ``201`` arriving here to the moment
the *last* dashboard received its ``booking_created`` message. A message can beat the ``201``
(the server publishes before it answers); such a booking counts as 0 ms. Afterwards every
dashboard must have received every booking exactly once: anything else is reported as lost.

Each dashboard is live before the first booking: it answers a ``ping`` only once its
subscription runs. The client's own CPU use is reported so a saturated client would show.

    python -m bench.notify --url http://127.0.0.1:8000 --token T --dashboards 500 --rate 50
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import msgspec

from bench.workload import booking_body, day0

__all__ = ["run"]

_SOCKET_PATH = "/ws/admin/bookings/"
_CREATE_PATH = "/api/agent/booking/create/"
_CONNECT_BATCH = 50
_DRAIN_TIMEOUT_S = 10.0
_CREATED = 201


@dataclass
class _Tally:
    dashboards: int
    #: booking id -> number of dashboards that received it
    received: dict[int, int] = field(default_factory=dict)
    #: booking id -> when the last dashboard received it
    last_receipt: dict[int, float] = field(default_factory=dict)
    complete: set[int] = field(default_factory=set)
    duplicates: int = 0
    all_in: asyncio.Event = field(default_factory=asyncio.Event)
    expected: set[int] | None = None

    def record(self, booking_id: int, at: float) -> None:
        count = self.received[booking_id] = self.received.get(booking_id, 0) + 1
        self.last_receipt[booking_id] = at
        if count == self.dashboards:
            self.complete.add(booking_id)
            self.check()

    def check(self) -> None:
        if self.expected is not None and self.expected <= self.complete:
            self.all_in.set()


class _Dashboard(asyncio.Protocol):
    """A dashboard on a bare WebSocket client: this process must read 25,000 messages a second
    (500 dashboards x 50 bookings) on one core, which a full client library cannot, so frames
    are parsed by hand and the booking id is found in the text rather than decoded."""

    def __init__(self, tally: _Tally, handshake: bytes) -> None:
        self._tally = tally
        self._handshake = handshake
        self._buffer = bytearray()
        self._upgraded = False
        self._seen: set[int] = set()
        self.transport: asyncio.Transport | None = None
        #: Resolved once the server answered a ping: the subscription is live.
        self.live: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)
        self.transport.write(self._handshake)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.live.done():
            self.live.set_exception(exc or ConnectionError("closed before it was live"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.live.set_exception(ConnectionError(head.decode(errors="replace")))
                return
            self._upgraded = True
            self._send(_TEXT, b'{"type":"ping"}')
        self._read_frames()

    def _send(self, opcode: int, payload: bytes) -> None:
        """A client frame: short, final, masked (as RFC 6455 requires of clients)."""
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
        if self.transport is not None:
            self.transport.write(bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked)

    def _read_frames(self) -> None:
        buffer, position, size = self._buffer, 0, len(self._buffer)
        while size - position >= 2:  # the shortest frame header
            opcode, length, header = buffer[position] & 0x0F, buffer[position + 1] & 0x7F, 2
            if length == 126:  # RFC 6455: a 16-bit length follows
                if size - position < 4:
                    break
                length, header = int.from_bytes(buffer[position + 2 : position + 4]), 4
            elif length == 127:  # RFC 6455: a 64-bit length follows
                if size - position < 10:
                    break
                length, header = int.from_bytes(buffer[position + 2 : position + 10]), 10
            if size - position < header + length:
                break
            payload = bytes(buffer[position + header : position + header + length])
            position += header + length
            if opcode == _TEXT:
                self._message(payload)
            elif opcode == _PING:
                self._send(_PONG, payload)
        del buffer[:position]

    def _message(self, payload: bytes) -> None:
        at = time.perf_counter()
        if not payload.startswith(_CREATED_MESSAGE):
            if not self.live.done() and b'"pong"' in payload:
                self.live.set_result(None)
            return
        start = payload.find(_DATA_ID)
        if start < 0:  # not the layout expected: decode it properly
            booking_id = int(msgspec.json.decode(payload)["data"]["id"])
        else:
            start += len(_DATA_ID)
            booking_id = int(payload[start : payload.index(b",", start)])
        if booking_id in self._seen:
            self._tally.duplicates += 1
            return
        self._seen.add(booking_id)
        self._tally.record(booking_id, at)


_TEXT, _PING, _PONG = 0x1, 0x9, 0xA
#: A booking_created message is compact JSON: {"type":"booking_created","event_id":…,
#: "data":{"id":<booking id>,…}}.
_CREATED_MESSAGE = b'{"type":"booking_created"'
_DATA_ID = b'"data":{"id":'


async def _open_dashboard(host: str, port: int, token: str, tally: _Tally) -> _Dashboard:
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET {_SOCKET_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    _, dashboard = await loop.create_connection(lambda: _Dashboard(tally, handshake), host, port)
    await asyncio.wait_for(dashboard.live, 60)
    return dashboard


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def run(
    url: str,
    *,
    token: str,
    dashboards: int,
    rate: float,
    seconds: float,
    first_slot: int,
    pool: int,
    run_number: int,
) -> dict[str, float | int]:
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    tally = _Tally(dashboards)
    connections: list[_Dashboard] = []
    for start in range(0, dashboards, _CONNECT_BATCH):
        batch = min(_CONNECT_BATCH, dashboards - start)
        connections += await asyncio.gather(
            *(_open_dashboard(host, port, token, tally) for _ in range(batch))
        )
    # A collection pausing this process would be timed as notification latency.
    gc.collect()
    gc.freeze()
    gc.disable()
    answered: dict[int, float] = {}
    failures = 0
    first_failure: list[str] = []
    first = day0()
    count = round(rate * seconds)
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def book(n: int) -> None:
            nonlocal failures
            body = booking_body(first_slot + n, run_number, pool, first)
            response = await client.post(_CREATE_PATH, json=body)
            at = time.perf_counter()
            if response.status_code != _CREATED:
                failures += 1
                first_failure.append(f"{response.status_code} {response.text[:200]}")
                return
            answered[response.json()["booking_id"]] = at

        started = time.perf_counter()
        requests = []
        for n in range(count):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            requests.append(asyncio.create_task(book(n)))
        await asyncio.gather(*requests)
    tally.expected = set(answered)
    tally.check()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tally.all_in.wait(), _DRAIN_TIMEOUT_S)
    cpu = time.process_time() - cpu_started
    wall = time.perf_counter() - wall_started
    for each in connections:
        if each.transport is not None:
            each.transport.close()
    latencies = [
        max(0.0, tally.last_receipt[each] - at) * 1000
        for each, at in answered.items()
        if tally.received.get(each, 0) >= dashboards
    ]
    lost = sum(dashboards - min(dashboards, tally.received.get(each, 0)) for each in answered)
    return {
        "dashboards": dashboards,
        "bookings": len(answered),
        "failed_bookings": failures,
        "rate": rate,
        "p50_ms": _percentile(latencies, 0.5) if latencies else float("nan"),
        "p99_ms": _percentile(latencies, 0.99) if latencies else float("nan"),
        "max_ms": max(latencies) if latencies else float("nan"),
        "lost_messages": lost,
        "duplicates": tally.duplicates,
        "client_cpu_share": cpu / wall,
        "first_failure": first_failure[0] if first_failure else None,
    }


def _event_loop_runner() -> Any:
    """uvloop's runner when it is installed (the service uses it too): cheaper I/O here."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return asyncio.run
    return uvloop.run


def main() -> None:
    parser = argparse.ArgumentParser(description="Dashboard notification latency.")
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--dashboards", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--first", type=int, default=0, help="first slot number n")
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--run", type=int, default=80)
    args = parser.parse_args()
    result = _event_loop_runner()(
        run(
            args.url,
            token=args.token,
            dashboards=args.dashboards,
            rate=args.rate,
            seconds=args.seconds,
            first_slot=args.first,
            pool=args.pool,
            run_number=args.run,
        )
    )
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
