"""What a booking costs through MCP next to the plain create endpoint: an interleaved A/B.

``.venv/bin/python -m bench.mcp_overhead`` starts ``booking serve`` (SQLite, one worker, release
settings) and books, one request at a time, alternately a round through
``POST /api/agent/booking/create/`` and a round of ``book_appointment`` through MCP (the SDK's
client, one stateless Streamable HTTP session), and prints each way's median and p90 latency.
Rounds alternate so that the noise of a shared machine falls on both alike. A measurement, not a
target: it is not part of ``make bench``. ``MCP_BENCH_ROUNDS`` and ``MCP_BENCH_PER_ROUND`` size it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support.server import AGENT_HEADERS, ServerProcess

_SLOTS = ("12:00", "13:00", "14:00", "15:00", "16:00")
_SUNDAY = 7


def _slots() -> Iterator[tuple[str, str]]:
    today = dt.datetime.now(dt.UTC).date()
    for offset in range(2, 360):
        day = today + dt.timedelta(days=offset)
        if day.isoweekday() != _SUNDAY:
            for time_of_day in _SLOTS:
                yield day.isoformat(), time_of_day


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _measure(rounds: int, per_round: int) -> None:
    env = {
        "BOOKING_RATE_LIMIT": "0",
        "BOOKING_MAX_ACTIVE_PER_PHONE": "0",
        "BOOKING_ACCESS_LOG": "0",
    }
    database = Path(tempfile.mkdtemp(prefix="mcp-bench-")) / "booking.db"
    slots = _slots()
    phones = (str(n) for n in itertools.count(5_551_000_000))
    samples: dict[str, list[float]] = {"http": [], "mcp": []}
    with ServerProcess(f"sqlite+aiosqlite:///{database}", env=env) as server:
        async with (
            httpx.AsyncClient(base_url=server.base_url, headers=AGENT_HEADERS) as http,
            httpx2.AsyncClient(headers=AGENT_HEADERS, timeout=60.0) as mcp_http,
            Client(
                streamable_http_client(f"{server.base_url}/mcp", http_client=mcp_http),
                mode="legacy",
            ) as client,
        ):
            for _ in range(rounds):
                for way in ("http", "mcp"):
                    for _ in range(per_round):
                        day, at = next(slots)
                        body = {
                            "phone": next(phones),
                            "service_name": "Bench",
                            "booking_date": day,
                            "booking_time": at,
                        }
                        started = time.perf_counter()
                        if way == "http":
                            response = await http.post("/api/agent/booking/create/", json=body)
                            ok = response.status_code == httpx.codes.CREATED
                        else:
                            result = await client.call_tool("book_appointment", body)
                            ok = not result.is_error
                        samples[way].append(time.perf_counter() - started)
                        if not ok:
                            raise RuntimeError(f"{way} booking failed for {body}")
    for way, values in samples.items():
        print(
            f"{way:>4}: {len(values)} bookings, median {statistics.median(values) * 1000:.2f} ms,"
            f" p90 {_percentile(values, 0.9) * 1000:.2f} ms"
        )


def main() -> None:
    rounds = int(os.environ.get("MCP_BENCH_ROUNDS", "5"))
    per_round = int(os.environ.get("MCP_BENCH_PER_ROUND", "100"))
    asyncio.run(_measure(rounds, per_round))


if __name__ == "__main__":
    main()
