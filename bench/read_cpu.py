"""CPU time per read on scenario v's data shape, in-process (issue 18's read path).

    python -m bench.read_cpu [--requests 200] [--profile slots|day]

Builds the service as ``booking serve`` does (``app_from_env``) on a fresh SQLite file seeded
like ``make bench``'s scenario v, but smaller: every other 1-minute slot of resource 1 booked for
the first ``--days`` days (scenario v books them for 1.4 years; a read only ever touches the
days it asks about), 5 resources and 3 services (``seed_catalog_sqlite``). It then asks what
``bench/reads.lua`` asks, over ASGI (no network, no uvicorn): ``slots`` (service 2, limit 3,
from the start of a day) and ``day`` (one day's availability of service 2), cycling over 14
days, and prints the CPU time (``time.process_time``) per request of each. CPU time rather than
wall time because the machine is shared: it is what one worker can serve per second of a core.
``health`` (``GET /health``) is the floor: what any request costs the service in-process.
``--profile`` prints the top of a cProfile of that kind instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import pstats
import time
from typing import Any

from bench.availability import _database, _get
from bench.seed import seed_catalog_sqlite
from bench.workload import SLOTS_PER_DAY, day0

__all__ = ["main"]

_SERVICE = 2
_CYCLE_DAYS = 14


def _queries(kind: str, count: int) -> list[str]:
    first = day0()
    paths = []
    for n in range(count):
        day = (first + dt.timedelta(days=n % _CYCLE_DAYS)).isoformat()
        if kind == "health":
            paths.append("/health?")
        elif kind == "slots":
            paths.append(f"/api/agent/slots/?service_id={_SERVICE}&after={day}&limit=3")
        else:
            paths.append(f"/api/agent/availability/?date={day}&service_id={_SERVICE}")
    return paths


async def _run(requests: int, profile: str | None) -> None:
    from agent_booking.entrypoints.asgi import app_from_env  # noqa: PLC0415 - after the environment is set

    app: Any = app_from_env()
    async with app.lifespan():
        for kind in ("health", "slots", "day"):
            queries = _queries(kind, requests)
            for query in queries[:_CYCLE_DAYS]:  # warm-up: caches, statements, page cache
                status, _size, _wall = await _get(app, query)
                if status != 200:
                    raise SystemExit(f"{query}: status {status}")
            if profile == kind:
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                for query in queries:
                    await _get(app, query)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(60)
                continue
            started = time.process_time()
            for query in queries:
                await _get(app, query)
            spent = time.process_time() - started
            print(f"{kind:6} {requests} requests  {1000 * spent / requests:7.2f} ms CPU each")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--profile", choices=("health", "slots", "day"))
    args = parser.parse_args()
    with _database(None, booked=args.days * SLOTS_PER_DAY // 2) as path:
        seed_catalog_sqlite(path)
        asyncio.run(_run(args.requests, args.profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
