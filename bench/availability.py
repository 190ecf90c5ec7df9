"""What one availability answer, and one offer, costs: ``GET /api/agent/availability/`` and
``GET /api/agent/slots/`` (issue 15: "fast enough to call on every turn").

    python -m bench.availability [--repeats 7]

Builds the service as ``booking serve`` does (``app_from_env``) on fresh SQLite files and asks for
ranges in-process over ASGI (no network, no uvicorn), so the figures are the service's own work
per answer. Cases:

* ``default``: the seeded settings (12:00-17:00, hourly slots, Sundays off), 31 days.
* ``1-minute``: the benchmark's settings (00:00-23:59, 1-minute slots, no off day, UTC), with
  every other slot of the first 31 days booked: 31 days, then the longest range still answered.
* ``1-minute Berlin``: the same in ``Europe/Berlin`` (a zone with clock changes, which pendulum
  converts the slow way), the longest range still answered.

Offers (``slots ...``) on the same databases: the next 3 and 20 starts from the first day, an
evening (the default settings have none: the search runs to its bound, the whole horizon with
hourly slots) and, with 1-minute slots, a morning from noon (the rest of the day is looked at
first).

It prints, per case, the status, the answer's size and the median and best wall time of
``--repeats`` requests (after one warm-up request). Run it pinned (``taskset -c 0``) on a quiet
machine; compare two source trees with ``PYTHONPATH=other/src``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.seed import booking_cli, prepare, seed_sqlite
from bench.workload import SLOTS_PER_DAY, day0

__all__ = ["main"]

_PATH = "/api/agent/availability/"
_SLOTS = "/api/agent/slots/"
_AGENT_KEY = "bench-agent-key"
#: The settings the first migration seeds, over the benchmark's (see the module's docstring).
_DEFAULT_SETTINGS = [
    "settings",
    "set",
    "--open",
    "12:00",
    "--close",
    "17:00",
    "--slot-minutes",
    "60",
    "--off-days",
    "sun",
    "--horizon-days",
    "365",
]


def _scope(query: str) -> dict[str, Any]:
    path, _, query = query.rpartition("?") if "?" in query else (_PATH, "", query)
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"x-api-key", _AGENT_KEY.encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def _get(app: Any, query: str) -> tuple[int, int, float]:
    """Status, body bytes and wall seconds of one request."""
    status = 0
    size = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    started = time.perf_counter()
    await app(_scope(query), receive, send)
    return status, size, time.perf_counter() - started


async def _measure(label: str, queries: list[tuple[str, str]], repeats: int) -> None:
    from agent_booking.entrypoints.asgi import app_from_env  # noqa: PLC0415 - after the environment is set

    app = app_from_env()
    async with app.lifespan():
        for name, query in queries:
            await _get(app, query)  # warm-up: imports, settings cache, statement cache
            runs = [await _get(app, query) for _ in range(repeats)]
            status, size = runs[-1][:2]
            times = sorted(1000 * wall for _, _, wall in runs)
            print(
                f"{label:16} {name:18} status {status}  {size:>9,} bytes  "
                f"median {statistics.median(times):8.1f} ms  best {times[0]:8.1f} ms"
            )


@contextmanager
def _database(settings: list[str] | None, *, booked: int) -> Iterator[Path]:
    """A migrated SQLite database with the benchmark's settings changed by ``settings`` (a
    ``booking settings set`` command), in the environment for ``app_from_env``."""
    with tempfile.TemporaryDirectory(prefix="booking-availability-") as folder:
        directory = Path(folder)
        path = directory / "availability.db"
        environment = {
            "BOOKING_DATABASE_URL": f"sqlite+aiosqlite:///{path}",
            "BOOKING_ADMIN_TOKEN": "bench-admin-token",
            "BOOKING_LOG_LEVEL": "WARNING",
            "BOOKING_ACCESS_LOG": "0",
            "BOOKING_RATE_LIMIT": "0",
            "BOOKING_AGENT_API_KEYS": _AGENT_KEY,
        }
        env = os.environ | environment
        prepare(env, directory)
        if settings:
            booking_cli(settings, env, directory)
        # The seeded bookings sit on odd slots of the 1-minute grid from day0: every other slot.
        seed_sqlite(path, customers=1000, bookings=booked)
        saved = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)
        try:
            yield path
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _range(days: int) -> str:
    first = day0()
    return f"from={first.isoformat()}&to={(first + dt.timedelta(days=days - 1)).isoformat()}"


def _offer(query: str) -> str:
    return f"{_SLOTS}?after={day0().isoformat()}&{query}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    month_booked = 31 * SLOTS_PER_DAY // 2
    cases = [
        (
            "default",
            _DEFAULT_SETTINGS,
            0,
            [
                ("31 days", _range(31)),
                ("slots 3", _offer("limit=3")),
                ("slots 20", _offer("limit=20")),
                ("slots evening", _offer("part_of_day=evening")),
            ],
        ),
        (
            "1-minute",
            None,
            month_booked,
            [
                ("31 days", _range(31)),
                ("2 days", _range(2)),
                ("1 day", _range(1)),
                ("slots 3", _offer("limit=3")),
                ("slots 20", _offer("limit=20")),
                ("slots morning", f"{_SLOTS}?after={day0().isoformat()}T12:00&part_of_day=morning"),
            ],
        ),
        (
            "1-minute Berlin",
            ["settings", "set", "--timezone", "Europe/Berlin"],
            month_booked,
            [("31 days", _range(31)), ("2 days", _range(2))],
        ),
    ]
    for label, settings, booked, queries in cases:
        with _database(settings, booked=booked):
            asyncio.run(_measure(label, queries, args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
