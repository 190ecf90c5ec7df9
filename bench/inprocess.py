"""The create endpoint in-process: the real app over ASGI, no network, CPU per booking.

    python -m bench.inprocess [--bookings 8000] [--concurrency 32] [--webhook URL]

Builds the service exactly as ``booking serve`` does
(``agent_booking.entrypoints.asgi.app_from_env``) on a fresh SQLite file with the benchmark's
settings and known-phone pool (``bench.seed``), runs its lifespan, and drives ``POST
/api/agent/booking/create/`` with ``--concurrency`` tasks on one event loop (uvloop): the same
bodies as ``create.lua``. What it leaves out is uvicorn, the sockets and the client, so its figure
is the service's own cost per booking; comparing two source trees (``PYTHONPATH=other/src``) in
alternating runs is how docs/performance.md's second round was measured on a noisy machine. Run it
pinned (``taskset -c 0``) for stable figures. It prints CPU µs per booking (the whole process, and
its main thread), bookings per second and latency percentiles, and exits non-zero if any request was
not a 201. With ``--webhook URL`` the measured bookings run with one subscription to that receiver
(made through the admin API after the warm-up; run ``bench.webhook_receiver`` on the other core),
so the delivery worker's share of each booking's CPU shows against a run without it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import uvloop

from bench.seed import prepare, seed_sqlite
from bench.workload import booking_body, day0

__all__ = ["main"]

_PATH = "/api/agent/booking/create/"
_POOL = 10_000
_WARM_UP = 500


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": _PATH,
        "raw_path": _PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def _subscribe(app: Any, url: str) -> None:
    """One webhook subscription through the admin API, as an operator makes it."""
    body = json.dumps({"url": url}).encode()
    scope = _scope(body) | {
        "path": "/api/admin/webhooks/",
        "raw_path": b"/api/admin/webhooks/",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", b"Bearer bench-admin-token"),
        ],
    }
    statuses = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))

    await app(scope, receive, send)
    if statuses != [201]:
        msg = f"the subscription was refused: {statuses}"
        raise SystemExit(msg)


async def _run(bookings: int, concurrency: int, webhook: str | None = None) -> int:
    # After the environment is set. A source tree from before the agent_booking package name
    # (PYTHONPATH=old/src, for an A/B comparison) has the module at its old name.
    try:
        from agent_booking.entrypoints.asgi import app_from_env  # noqa: PLC0415
    except ImportError:  # pragma: no cover - only with such a tree
        from entrypoints.asgi import app_from_env  # type: ignore[import-not-found,no-redef]  # noqa: PLC0415

    app = app_from_env()
    first_day = day0()
    bodies = [
        json.dumps(booking_body(n, 1, _POOL, first_day)).encode()
        for n in range(_WARM_UP + bookings)
    ]
    statuses: Counter[int] = Counter()
    latencies: list[float] = []

    async def one(body: bytes) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[int(message["status"])] += 1

        started = time.perf_counter()
        await app(_scope(body), receive, send)  # type: ignore[arg-type]  # plain dicts
        latencies.append(time.perf_counter() - started)

    async with app.lifespan():
        for body in bodies[:_WARM_UP]:
            await one(body)
        if set(statuses) != {201}:
            print(f"warm-up failed: statuses {dict(statuses)}")
            return 1
        latencies.clear()
        statuses.clear()
        if webhook:
            await _subscribe(app, webhook)
        queue = iter(bodies[_WARM_UP:])

        async def client() -> None:
            for body in queue:
                await one(body)

        cpu, main_cpu, wall = time.process_time(), time.thread_time(), time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        cpu, main_cpu = time.process_time() - cpu, time.thread_time() - main_cpu
        wall = time.perf_counter() - wall

    latencies.sort()

    def quantile(fraction: float) -> float:
        return 1000 * latencies[int(fraction * (len(latencies) - 1))]

    print(
        f"{bookings} bookings, {concurrency} at a time: {1e6 * cpu / bookings:.0f} µs CPU each "
        f"({1e6 * main_cpu / bookings:.0f} on the main thread), {bookings / wall:.0f}/s; "
        f"latency ms p50 {quantile(0.5):.1f} p90 {quantile(0.9):.1f} p99 {quantile(0.99):.1f} "
        f"max {quantile(1):.1f}; statuses {dict(statuses)}"
    )
    return 0 if set(statuses) == {201} else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=8000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--webhook", help="subscribe this URL before measuring")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="booking-inprocess-") as folder:
        directory = Path(folder)
        url = f"sqlite+aiosqlite:///{directory / 'inprocess.db'}"
        environment = {
            "BOOKING_DATABASE_URL": url,
            "BOOKING_ADMIN_TOKEN": "bench-admin-token",
            "BOOKING_LOG_LEVEL": "WARNING",
            "BOOKING_ACCESS_LOG": "0",
            "BOOKING_RATE_LIMIT": "0",
            # The known phones book again and again; the per-phone limit would refuse them.
            "BOOKING_MAX_ACTIVE_PER_PHONE": "0",
        }
        if args.webhook:
            environment |= {"BOOKING_WEBHOOK_ALLOW_HTTP": "1", "BOOKING_WEBHOOK_ALLOW_PRIVATE": "1"}
        prepare(os.environ | environment, directory)
        seed_sqlite(directory / "inprocess.db", customers=_POOL)
        os.environ.update(environment)
        return uvloop.run(_run(args.bookings, args.concurrency, args.webhook))


if __name__ == "__main__":
    sys.exit(main())
