"""``make bench``: every scenario, against the ceilings, as one table with PASS/FAIL.

Scenarios (``BENCH_SCENARIOS``, comma-separated, default all, in this order):

``http``    ceiling: the same Litestar + uvicorn stack answering a canned 201 (bench.ceiling_app)
``sqlite``  ceiling: raw ``sqlite3`` doing one booking's statements, one thread (sqlite_ceiling)
``a``       ``booking serve``, SQLite, one worker
``r``       ``booking serve``, SQLite, one worker, 5 resources and 3 services (30, 60 and 90
            minutes, two with buffers) seeded in the catalog: each request books a service by
            name on an explicit resource, spread evenly over the five; compared with (a) of the
            same run (issue 14: within 15 %)
``c``       the same on a database seeded with 1,000,000 bookings and 200,000 customers
``b``       PostgreSQL 15 (a throwaway, durable cluster): first the ceiling ``raw_asyncpg``
            (bench.raw_asyncpg: the booking's statements on 32 connections, no lock), then
            ``booking serve --workers 1`` (``b1``), then ``--workers 2`` (``b``), the outbox
            lock's serial section sampled during (b) (bench.pg_serial); then (``br``) the
            same two workers on (r)'s workload and catalog (5 resources, 3 services), which
            (b)'s one resource would otherwise line up behind its interval locks
``v``       reads (issue 18): the next free slots (``GET /api/agent/slots/``, 3 starts from a
            day's start) and one day's availability (``GET /api/agent/availability/?date=``) for
            catalog service 2 (60 minutes and buffers) over the first 14 days, on (c)'s
            1,000,000-booking database with (r)'s 5 resources and 3 services; then the next free
            slots open loop at 50 % of their measured capacity
``notify``  500 dashboards connected, bookings at a steady rate (bench.notify)
``webhooks`` (a) with one healthy webhook subscription against (a) with none, interleaved on one
            server (the subscription enabled and disabled between runs), ``BENCH_WEBHOOK_PAIRS``
            pairs, in ABBA order (none first in odd pairs, hook first in even ones); the
            receiver (bench.webhook_receiver) runs on the client core

After (a) and (b) measured their capacity (closed loop, req/s), the same server gets open-loop
load (bench.openloop) at 25 % and 50 % of it (``BENCH_OPEN_LEVELS``), ``BENCH_OPEN_SECONDS``
each: requests sent on a fixed schedule, latency timed from each one's due time, shown in a
second table with the client's own lag.

Servers run on core 0, ``wrk`` and the other clients on core 1. The PostgreSQL scenario (b1, b)
is the exception: its cluster and its ``booking serve`` may use both cores (``ALL_CPUS``), so a
second worker has a core to run on and "2 workers beat 1" can be true or false; ``wrk`` and
the ceiling script stay on core 1 (docs/performance.md, "CPU plan"). Each load
scenario is a warm-up, then the measured run, both with 32 connections of unique valid bookings
(distinct slots; 80 % known phones, 20 % new). The server runs with release settings: log
level WARNING, access log off, rate limit off (all the load comes from one client address),
per-phone limit off (the known phones book again and again).

Durations and sizes come from ``BENCH_*`` variables (see ``Options``); the defaults give a full
run of about six minutes once the large database is cached (its first build takes minutes).
``BENCH_SRC=path/to/src`` runs the service from another source tree (e.g. a "before" copy);
``BENCH_PROFILE=1`` samples the server with py-spy; ``BENCH_KEEP_DB=1`` keeps the databases.
Results also go to ``test-artifacts/bench/<time>/results.json``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.loadgen import LoadResult, run_wrk, run_wrk_reads, wrk_available
from bench.pg_serial import LockSampler, sessions_opened
from bench.processes import (
    ALL_CPUS,
    CLIENT_CPU,
    SERVER_CPU,
    Server,
    free_port,
    pin,
    process_tree,
)
from bench.seed import (
    cached_sqlite,
    prepare,
    seed_catalog_postgres,
    seed_catalog_sqlite,
    seed_postgres,
    seed_sqlite,
)
from bench.workload import RESOURCES, day0

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "bench"
ADMIN_TOKEN = "bench-admin-token"  # noqa: S105 - a throwaway server's token
AGENT_KEY = "bench-agent-key"
#: The reads' catalog service (seed_catalog_sqlite: "Treatment", 60 minutes, buffers 5 and 10)
#: and how many days from day0 they cycle over.
READ_SERVICE_ID = 2
READ_DAYS = 14
_RESULT_PREFIX = "BENCH_RESULT "

# Targets (issue 7; webhooks: issue 17).
WEBHOOKS_MAX_DEVIATION = 0.1
A_MIN_RATIO = 0.5
# Targets (issue 18): (b) against 1/(1/http + 1/raw_asyncpg), open-loop p99 per level.
B_MIN_RATIO = 0.8
OPEN_MAX_P99_MS = {("a", 0.25): 5.0, ("a", 0.5): 10.0, ("b", 0.5): 20.0, ("v-slots", 0.5): 10.0}
#: Target (issue 18): next free slots answered per second, against the HTTP ceiling.
V_MIN_RATIO = 0.25
A_MAX_P99_MS = 25.0
# Target (issue 14): (r), several resources and services, against (a) of the same run.
R_MAX_DEVIATION = 0.15
C_MAX_DEVIATION = 0.2
NOTIFY_MAX_P99_MS = 100.0
#: Client lag (how late the open-loop client sent a request) above which its figures are flagged.
OPEN_MAX_CLIENT_LAG_MS = 5.0


def _number(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


@dataclass
class Options:
    warmup: float = field(default_factory=lambda: _number("BENCH_WARMUP", 5))
    seconds: float = field(default_factory=lambda: _number("BENCH_SECONDS", 20))
    sqlite_seconds: float = field(default_factory=lambda: _number("BENCH_SQLITE_SECONDS", 10))
    connections: int = field(default_factory=lambda: int(_number("BENCH_CONNECTIONS", 32)))
    wrk_threads: int = field(default_factory=lambda: int(_number("BENCH_WRK_THREADS", 1)))
    pool: int = field(default_factory=lambda: int(_number("BENCH_POOL", 10_000)))
    large_customers: int = field(
        default_factory=lambda: int(_number("BENCH_LARGE_CUSTOMERS", 200_000))
    )
    large_bookings: int = field(
        default_factory=lambda: int(_number("BENCH_LARGE_BOOKINGS", 1_000_000))
    )
    dashboards: int = field(default_factory=lambda: int(_number("BENCH_DASHBOARDS", 500)))
    notify_rate: float = field(default_factory=lambda: _number("BENCH_NOTIFY_RATE", 50))
    notify_seconds: float = field(default_factory=lambda: _number("BENCH_NOTIFY_SECONDS", 10))
    open_seconds: float = field(default_factory=lambda: _number("BENCH_OPEN_SECONDS", 10))
    open_levels: tuple[float, ...] = field(
        default_factory=lambda: tuple(
            float(level)
            for level in (os.environ.get("BENCH_OPEN_LEVELS", "0.25,0.5")).split(",")
            if level.strip()
        )
    )
    webhook_pairs: int = field(default_factory=lambda: int(_number("BENCH_WEBHOOK_PAIRS", 2)))
    scenarios: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            (os.environ.get("BENCH_SCENARIOS") or "http,sqlite,a,r,c,v,b,notify,webhooks").split(
                ","
            )
        )
    )
    src: str | None = field(default_factory=lambda: os.environ.get("BENCH_SRC") or None)
    profile: bool = field(default_factory=lambda: os.environ.get("BENCH_PROFILE") == "1")
    keep_databases: bool = field(default_factory=lambda: os.environ.get("BENCH_KEEP_DB") == "1")


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Runs:
    """Slot ranges and run numbers, so no two wrk runs on one database share a slot or phone."""

    def __init__(self) -> None:
        self.next_slot = 0
        self.number = 0

    def next(self) -> tuple[int, int]:
        self.number += 1
        return self.next_slot, self.number

    def used(self, sent: int) -> None:
        self.next_slot += sent + 1_000


@dataclass
class Measurement:
    """One measured load run (after its warm-up)."""

    name: str
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_errors: int
    statuses: dict[int, int]
    peak_mib: float
    cpu_ms_per_request: float
    load_average: str


class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.dir = ARTIFACTS / time.strftime("%Y%m%d-%H%M%S")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.wrk_log = self.dir / "wrk.log"
        self.first_day = day0()
        self.day0_epoch = int(
            dt.datetime(
                self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=dt.UTC
            ).timestamp()
        )
        self.results: dict[str, Any] = {}

    # --- environment ----------------------------------------------------------------------------

    def service_env(
        self, database_url: str, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("BOOKING_")}
        env |= {
            "BOOKING_DATABASE_URL": database_url,
            "BOOKING_ADMIN_TOKEN": ADMIN_TOKEN,
            "BOOKING_LOG_LEVEL": "WARNING",
            "BOOKING_ACCESS_LOG": "0",
            "BOOKING_RATE_LIMIT": "0",
            # The known-phone pool books far more than 5 open bookings per phone (scenario c's
            # seed alone gives each of its customers 5), so the per-phone limit would turn most
            # of the load into 422s: off, so every scenario measures what it always measured.
            "BOOKING_MAX_ACTIVE_PER_PHONE": "0",
        }
        if self.options.src:
            env["PYTHONPATH"] = str(Path(self.options.src).resolve())
        return env | dict(extra or {})

    def booking_command(self) -> list[str]:
        """The ``booking`` CLI of the tree under test: a BENCH_SRC tree from before the
        ``agent_booking`` package name has its CLI at ``entrypoints.cli``."""
        if self.options.src and not (Path(self.options.src) / "agent_booking").is_dir():
            return [
                sys.executable,
                "-c",
                "import sys; from entrypoints.cli import main; sys.exit(main())",
            ]
        return [str(Path(sys.executable).parent / "booking")]

    def booking_server(
        self,
        database_url: str,
        name: str,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
        cpu: str = SERVER_CPU,
    ) -> Server:
        port = free_port()
        command = [
            *self.booking_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        return Server(
            command,
            port=port,
            env=self.service_env(database_url, env),
            cwd=self.dir,
            log_path=self.dir / f"{name}-server.log",
            expected_processes=1 if workers == 1 else workers + 1,
            cpu=cpu,
        )

    def base_sqlite(self, name: str) -> str:
        """A migrated SQLite database with the benchmark settings and the known-phone pool."""
        path = self.dir / f"{name}.db"
        url = f"sqlite+aiosqlite:///{path}"
        prepare(self.service_env(url), self.dir)
        seed_sqlite(path, customers=self.options.pool)
        return url

    # --- load -------------------------------------------------------------------------------------

    def load(
        self,
        server: Server,
        name: str,
        runs: Runs,
        pool: int,
        during: Callable[[], Any] | None = None,
        resources: int = 0,
        reads: str | None = None,
    ) -> Measurement:
        """Warm up, then measure: wrk on core 1 against ``server`` (inside ``during()``, a
        context manager, if given); bookings, or with ``reads`` reads.lua's reads."""
        options = self.options

        def wrk(seconds: float) -> LoadResult:
            if reads:
                return run_wrk_reads(
                    server.url,
                    kind=reads,
                    seconds=seconds,
                    day0_epoch=self.day0_epoch,
                    days=READ_DAYS,
                    service_id=READ_SERVICE_ID,
                    api_key=AGENT_KEY,
                    connections=options.connections,
                    threads=options.wrk_threads,
                    log_path=self.wrk_log,
                )
            first, number = runs.next()
            result = run_wrk(
                server.url,
                seconds=seconds,
                first_slot=first,
                pool=pool,
                run=number,
                day0_epoch=self.day0_epoch,
                connections=options.connections,
                threads=options.wrk_threads,
                log_path=self.wrk_log,
                resources=resources,
            )
            runs.used(result.sent)
            return result

        _log(f"{name}: warm-up {options.warmup:.0f} s (load average {_load_average()})")
        wrk(options.warmup)
        load_average = _load_average()
        cpu_before = server.cpu_seconds()
        _log(f"{name}: measuring {options.seconds:.0f} s")
        with self.profiler(server, name, options.seconds), during() if during else _nothing():
            result = wrk(options.seconds)
        cpu = server.cpu_seconds() - cpu_before
        measurement = Measurement(
            name=name,
            rate=result.rate,
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
            errors=result.errors,
            server_errors=result.server_errors,
            statuses=result.statuses,
            peak_mib=server.peak_memory_mib(),
            cpu_ms_per_request=1000 * cpu / max(1, result.requests),
            load_average=load_average,
        )
        _log(
            f"{name}: {measurement.rate:.0f} req/s, p50 {measurement.p50_ms:.1f} ms, "
            f"p99 {measurement.p99_ms:.1f} ms, statuses {measurement.statuses}"
        )
        self.results[name] = asdict(measurement)
        return measurement

    def open_loop(
        self,
        server: Server,
        name: str,
        runs: Runs,
        pool: int,
        dsn: str | None = None,
        *,
        reads: str | None = None,
        levels_wanted: tuple[float, ...] | None = None,
    ) -> None:
        """Open-loop load at fractions of the capacity ``load`` just measured on ``server``
        (with ``dsn``, a PostgreSQL cluster's: also how many sessions were opened meanwhile;
        with ``reads``, reads.lua's reads instead of bookings)."""
        capacity = self.results[name]["rate"]
        levels: list[dict[str, Any]] = []
        read_arguments = (
            [
                f"--reads={reads}",
                f"--read-days={READ_DAYS}",
                f"--service-id={READ_SERVICE_ID}",
                f"--api-key={AGENT_KEY}",
            ]
            if reads
            else []
        )
        wanted = self.options.open_levels if levels_wanted is None else levels_wanted
        for level in wanted:
            rate = level * capacity
            first, number = runs.next()
            _log(
                f"{name}: open loop at {level:.0%} of {capacity:.0f} req/s = {rate:.0f} req/s "
                f"for {self.options.open_seconds:.0f} s (load average {_load_average()})"
            )
            load_average = _load_average()
            sessions_before = asyncio.run(sessions_opened(dsn)) if dsn else 0
            output = subprocess.run(
                pin(
                    CLIENT_CPU,
                    [
                        sys.executable,
                        "-m",
                        "bench.openloop",
                        f"--url={server.url}",
                        f"--rate={rate}",
                        f"--seconds={self.options.open_seconds}",
                        f"--first={first}",
                        f"--run={number}",
                        f"--pool={pool}",
                        f"--day0={self.first_day.isoformat()}",
                        *read_arguments,
                    ],
                ),
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
            )
            with (self.dir / "openloop.log").open("a") as log:
                log.write(f"{name} {level}\n{output.stdout}{output.stderr}\n")
            if output.returncode != 0:
                raise RuntimeError(f"bench.openloop failed; see {self.dir / 'openloop.log'}")
            result = _result_line(output.stdout)
            runs.used(result["scheduled"])
            result |= {"level": level, "capacity": capacity, "load_average": load_average}
            if dsn:
                result["db_sessions"] = asyncio.run(sessions_opened(dsn)) - sessions_before - 1
            _log(
                f"{name}: open loop {result['rate']:.0f} req/s, p50 {result['p50_ms']:.1f} ms, "
                f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms, "
                f"errors {result['errors']}, client lag max {result['client_lag_max_ms']:.1f} ms"
            )
            levels.append(result)
        self.results[f"{name}-open"] = levels

    @contextmanager
    def profiler(self, server: Server, name: str, seconds: float) -> Iterator[None]:
        """With ``BENCH_PROFILE=1``, py-spy samples the server (GIL holders only, i.e. Python
        CPU time) during the measured run; collapsed stacks go to ``<name>-profile.txt``."""
        if not self.options.profile:
            yield
            return
        output = self.dir / f"{name}-profile.txt"
        command = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(server.pid),
            "--subprocesses",
            "--gil",
            "--rate",
            "200",
            "--duration",
            str(max(1, round(seconds))),
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        spy = subprocess.Popen(
            pin(CLIENT_CPU, command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            yield
        finally:
            spy.wait(timeout=60)
            _log(f"{name}: profile in {output}")

    # --- scenarios --------------------------------------------------------------------------------

    def http_ceiling(self) -> None:
        port = free_port()
        command = [sys.executable, "-m", "bench.ceiling_app", "--port", str(port)]
        env = {key: value for key, value in os.environ.items() if not key.startswith("BOOKING_")}
        env["PYTHONPATH"] = str(ROOT)
        server = Server(
            command, port=port, env=env, cwd=ROOT, log_path=self.dir / "http-server.log"
        )
        with server:
            self.load(server, "http", Runs(), self.options.pool)

    def sqlite_ceiling(self) -> None:
        url = self.base_sqlite("sqlite-ceiling")
        path = url.removeprefix("sqlite+aiosqlite:///")
        _log(f"sqlite: {self.options.sqlite_seconds:.0f} s (load average {_load_average()})")
        load_average = _load_average()
        output = subprocess.run(
            pin(
                SERVER_CPU,
                [
                    sys.executable,
                    "-m",
                    "bench.sqlite_ceiling",
                    path,
                    f"--seconds={self.options.sqlite_seconds}",
                    f"--pool={self.options.pool}",
                ],
            ),
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        result = _result_line(output)
        result["load_average"] = load_average
        _log(f"sqlite: {result['rate']:.0f} bookings/s, p99 {result['p99_ms']:.1f} ms")
        self.results["sqlite"] = result

    def scenario_a(self) -> None:
        url = self.base_sqlite("a")
        with self.booking_server(url, "a") as server:
            runs = Runs()
            self.load(server, "a", runs, self.options.pool)
            self.open_loop(server, "a", runs, self.options.pool)

    def scenario_r(self) -> None:
        url = self.base_sqlite("r")
        seed_catalog_sqlite(Path(url.removeprefix("sqlite+aiosqlite:///")))
        with self.booking_server(url, "r") as server:
            self.load(server, "r", Runs(), self.options.pool, resources=RESOURCES)

    def scenario_c(self) -> None:
        path = self.dir / "c.db"
        options = self.options
        _log(
            f"c: seeded database ({options.large_bookings:,} bookings, "
            f"{options.large_customers:,} customers)"
        )
        spent = cached_sqlite(
            path,
            ARTIFACTS / "cache",
            self.service_env(f"sqlite+aiosqlite:///{path}"),
            customers=options.large_customers,
            bookings=options.large_bookings,
        )
        if spent:
            _log(f"c: built and cached the seeded database in {spent:.0f} s")
        with self.booking_server(f"sqlite+aiosqlite:///{path}", "c") as server:
            self.load(server, "c", Runs(), options.large_customers)

    def scenario_v(self) -> None:
        """The agents' read path on (c)'s large database with (r)'s catalog: next free slots,
        the slots open loop at 50 % of their capacity, then one day's availability."""
        path = self.dir / "v.db"
        url = f"sqlite+aiosqlite:///{path}"
        options = self.options
        _log(f"v: seeded database ({options.large_bookings:,} bookings), 5 resources, 3 services")
        spent = cached_sqlite(
            path,
            ARTIFACTS / "cache",
            self.service_env(url),
            customers=options.large_customers,
            bookings=options.large_bookings,
        )
        if spent:
            _log(f"v: built and cached the seeded database in {spent:.0f} s")
        seed_catalog_sqlite(path)
        env = {"BOOKING_AGENT_API_KEYS": AGENT_KEY}
        with self.booking_server(url, "v", env=env) as server:
            self.load(server, "v-slots", Runs(), options.pool, reads="slots")
            if options.open_levels:
                self.open_loop(
                    server, "v-slots", Runs(), options.pool, reads="slots", levels_wanted=(0.5,)
                )
            # Last: requests wrk gave up on (10 s) may still be served after it stops.
            self.load(server, "v-day", Runs(), options.pool, reads="day")

    def scenario_b(self) -> None:
        sys.path.insert(0, str(ROOT))
        from tests.support.postgres import PostgresCluster, postgres_available  # noqa: PLC0415

        available, reason = postgres_available()
        if not available:
            _log(f"b: skipped: {reason}")
            self.results["b"] = {"skipped": reason}
            return
        with PostgresCluster(durable=True) as cluster:
            # Both cores for the cluster and the service (see the module's docstring).
            _pin_postgres(cluster.root, ALL_CPUS)
            env = self.service_env(cluster.url)
            prepare(env, self.dir)
            asyncio.run(seed_postgres(cluster.dsn_for(), customers=self.options.pool))
            self.raw_asyncpg(cluster.dsn_for())
            runs = Runs()
            with self.booking_server(cluster.url, "b1", workers=1, cpu=ALL_CPUS) as server:
                self.load(server, "b1", runs, self.options.pool)
            sampler = LockSampler(cluster.dsn_for())
            with self.booking_server(cluster.url, "b", workers=2, cpu=ALL_CPUS) as server:
                self.load(server, "b", runs, self.options.pool, during=lambda: sampler)
                self.results["b-serial"] = sampler.result(self.results["b"]["rate"])
                _log(f"b: outbox lock {self.results['b-serial']}")
                self.open_loop(server, "b", runs, self.options.pool, cluster.dsn_for())
            # (br): (b) on (r)'s workload, five resources, so that the one-resource line of
            # the interval locks is not what is measured (docs/performance.md).
            asyncio.run(seed_catalog_postgres(cluster.dsn_for()))
            sampler = LockSampler(cluster.dsn_for())
            with self.booking_server(cluster.url, "br", workers=2, cpu=ALL_CPUS) as server:
                self.load(
                    server,
                    "br",
                    runs,
                    self.options.pool,
                    during=lambda: sampler,
                    resources=RESOURCES,
                )
                self.results["br-serial"] = sampler.result(self.results["br"]["rate"])

    def raw_asyncpg(self, dsn: str) -> None:
        """The PostgreSQL ceiling, its client on core 1 like wrk (PostgreSQL on core 0)."""
        _log(f"raw_asyncpg: {self.options.seconds:.0f} s (load average {_load_average()})")
        load_average = _load_average()
        output = subprocess.run(
            pin(
                CLIENT_CPU,
                [
                    sys.executable,
                    "-m",
                    "bench.raw_asyncpg",
                    dsn,
                    f"--seconds={self.options.seconds}",
                    f"--connections={self.options.connections}",
                    f"--pool={self.options.pool}",
                ],
            ),
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        result = _result_line(output)
        result["load_average"] = load_average
        _log(
            f"raw_asyncpg: {result['rate']:.0f} bookings/s, p99 {result['p99_ms']:.1f} ms, "
            f"errors {result['errors']}"
        )
        self.results["raw_asyncpg"] = result

    def notify_client(self, server: Server) -> subprocess.CompletedProcess[str]:
        options = self.options
        return subprocess.run(
            pin(
                CLIENT_CPU,
                [
                    sys.executable,
                    "-m",
                    "bench.notify",
                    f"--url={server.url}",
                    f"--token={ADMIN_TOKEN}",
                    f"--dashboards={options.dashboards}",
                    f"--rate={options.notify_rate}",
                    f"--seconds={options.notify_seconds}",
                    f"--pool={options.pool}",
                ],
            ),
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )

    def notifications(self) -> None:
        options = self.options
        url = self.base_sqlite("notify")
        with self.booking_server(url, "notify") as server:
            _log(
                f"notify: {options.dashboards} dashboards, {options.notify_rate:.0f} bookings/s "
                f"for {options.notify_seconds:.0f} s (load average {_load_average()})"
            )
            load_average = _load_average()
            cpu_before, started = server.cpu_seconds(), time.perf_counter()
            with self.profiler(server, "notify", options.notify_seconds + 5):
                output = self.notify_client(server)
            server_cpu_share = (server.cpu_seconds() - cpu_before) / (time.perf_counter() - started)
            (self.dir / "notify.log").write_text(output.stdout + output.stderr)
            if output.returncode != 0:
                raise RuntimeError(f"bench.notify failed; see {self.dir / 'notify.log'}")
            result = _result_line(output.stdout)
            result["peak_mib"] = server.peak_memory_mib()
            result["load_average"] = load_average
            result["server_cpu_share"] = server_cpu_share
        _log(
            f"notify: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"lost {result['lost_messages']}"
        )
        self.results["notify"] = result

    def webhooks(self) -> None:
        """Bookings with one healthy subscription against none, alternating on one server."""
        url = self.base_sqlite("webhooks")
        receiver_port = free_port()
        receiver = Server(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.webhook_receiver:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(receiver_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            port=receiver_port,
            env={key: value for key, value in os.environ.items() if not key.startswith("BOOKING_")},
            cwd=ROOT,
            log_path=self.dir / "webhook-receiver.log",
            cpu=CLIENT_CPU,
        )
        env = {"BOOKING_WEBHOOK_ALLOW_HTTP": "1", "BOOKING_WEBHOOK_ALLOW_PRIVATE": "1"}
        with receiver, self.booking_server(url, "webhooks", env=env) as server:
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
            created = _http_json(
                f"{server.url}/api/admin/webhooks/",
                "POST",
                {"url": f"{receiver.url}/hook", "enabled": False},
                admin,
            )
            hook = f"{server.url}/api/admin/webhooks/{created['data']['id']}/"
            runs = Runs()
            pairs: list[dict[str, Any]] = []
            for number in range(1, self.options.webhook_pairs + 1):
                pair: dict[str, Any] = {}
                # ABBA: the database grows run by run (and so each run is a little slower than
                # the one before); alternating which goes first keeps that drift out of the ratio.
                order = (("none", False), ("hook", True))
                for label, enabled in order if number % 2 else order[::-1]:
                    _http_json(hook, "PATCH", {"enabled": enabled}, admin)
                    sent_before = int(_http_text(f"{receiver.url}/count"))
                    measured = self.load(
                        server, f"webhooks-{label}-{number}", runs, self.options.pool
                    )
                    pair[label] = asdict(measured)
                    pair[f"{label}_webhooks_received"] = (
                        int(_http_text(f"{receiver.url}/count")) - sent_before
                    )
                pair["ratio"] = pair["hook"]["rate"] / pair["none"]["rate"]
                _log(
                    f"webhooks pair {number}: none {pair['none']['rate']:.0f} req/s, one "
                    f"subscription {pair['hook']['rate']:.0f} req/s ({pair['ratio']:.2f}), "
                    f"{pair['hook_webhooks_received']} webhooks received during it"
                )
                pairs.append(pair)
            # The backlog left by the saturated runs is sent once the load stops (enabled again:
            # an even pair ends with the subscription disabled).
            _http_json(hook, "PATCH", {"enabled": True}, admin)
            backlog_started = time.perf_counter()
            log_url = f"{hook}deliveries/?limit=1"
            while time.perf_counter() - backlog_started < 120:
                newest = _http_json(log_url, "GET", None, admin)["data"]
                if newest and newest[0]["status"] == "delivered":
                    break
                time.sleep(0.5)
            self.results["webhooks"] = {
                "pairs": pairs,
                "backlog_seconds": time.perf_counter() - backlog_started,
                "received_total": int(_http_text(f"{receiver.url}/count")),
            }

    # --- the whole run ----------------------------------------------------------------------------

    def run(self) -> int:
        steps: dict[str, Callable[[], None]] = {
            "http": self.http_ceiling,
            "sqlite": self.sqlite_ceiling,
            "a": self.scenario_a,
            "r": self.scenario_r,
            "c": self.scenario_c,
            "v": self.scenario_v,
            "b": self.scenario_b,
            "notify": self.notifications,
            "webhooks": self.webhooks,
        }
        unknown = set(self.options.scenarios) - set(steps)
        if unknown:
            _log(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(steps)}")
            return 2
        self.results["machine"] = _machine()
        self.results["options"] = asdict(self.options)
        try:
            for name in self.options.scenarios:
                steps[name]()
        finally:
            if not self.options.keep_databases:  # the large one alone is ~700 MB
                for database in self.dir.glob("*.db*"):
                    database.unlink()
        (self.dir / "results.json").write_text(json.dumps(self.results, indent=2))
        ok = report(self.results)
        _log(f"results and logs in {self.dir}")
        return 0 if ok else 1


def _nothing() -> nullcontext[None]:
    return nullcontext()


def _pin_postgres(root: Path, cpus: str) -> None:
    """Move the cluster's processes to ``cpus``; backends forked later inherit it."""
    postmaster = int((root / "data" / "postmaster.pid").read_text().split()[0])
    for pid in process_tree(postmaster):
        subprocess.run(
            ["taskset", "-a", "-p", "-c", cpus, str(pid)],
            capture_output=True,
            check=False,
        )


def _http_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our loopback
        return str(response.read().decode())


def _http_json(
    url: str, method: str, body: Mapping[str, Any] | None, headers: Mapping[str, str]
) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers))  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our loopback
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def _result_line(output: str) -> dict[str, Any]:
    for line in output.splitlines():
        if line.startswith(_RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line.removeprefix(_RESULT_PREFIX))
            return result
    raise RuntimeError(f"no result in:\n{output}")


def _machine() -> dict[str, str]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average_at_start": _load_average(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


# --- the report -----------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


@contextmanager
def _table() -> Iterator[Callable[..., None]]:
    header = (
        f"{'scenario':<34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'peak MiB':>9} {'CPU ms/req':>10}  {'x http':>6} {'x sqlite':>8} {'x comb.':>7}"
    )
    print(header)
    print("-" * len(header))

    def row(name: str, values: Mapping[str, Any], ceilings: Mapping[str, float]) -> None:
        def ratio(key: str) -> str:
            return f"{values['rate'] / ceilings[key]:.2f}" if ceilings.get(key) else "-"

        peak = values.get("peak_mib")
        peak_text = "-" if peak is None else f"{peak:.0f}"
        cpu = values.get("cpu_ms_per_request") or values.get("cpu_us_per_booking", 0) / 1000
        print(
            f"{name:<34} {values['rate']:>8.0f} {values['p50_ms']:>8.1f} {values['p99_ms']:>8.1f} "
            f"{values.get('errors', 0):>7} {peak_text:>9} "
            f"{cpu:>10.2f}  {ratio('http'):>6} {ratio('sqlite'):>8} {ratio('combined'):>7}"
        )

    yield row


def _verdicts(results: Mapping[str, Any], ceilings: Mapping[str, float]) -> list[tuple[str, bool]]:
    """Each target of issue 7 that this run measured, and whether it was met."""
    verdicts: list[tuple[str, bool]] = []
    a, b, c = results.get("a"), results.get("b"), results.get("c")
    if a and "combined" in ceilings:
        ratio = a["rate"] / ceilings["combined"]
        verdicts.append(
            (
                f"(a) throughput {ratio:.2f} x combined ceiling >= {A_MIN_RATIO}",
                ratio >= A_MIN_RATIO,
            )
        )
    if a:
        verdicts.append((f"(a) non-2xx: {a['errors']} == 0", a["errors"] == 0))
        verdicts.append(
            (f"(a) p99 {a['p99_ms']:.1f} ms <= {A_MAX_P99_MS:.0f} ms", a["p99_ms"] <= A_MAX_P99_MS)
        )
    r = results.get("r")
    if r:
        verdicts.append((f"(r) non-2xx: {r['errors']} == 0", r["errors"] == 0))
    if a and r:
        ratio = r["rate"] / a["rate"]
        print(
            f"(r) 5 resources, 3 services: {r['rate']:.0f} req/s next to (a) one resource: "
            f"{a['rate']:.0f} req/s, ratio {ratio:.2f}"
        )
        verdicts.append(
            (
                f"(r) throughput {ratio:.2f} x (a), within {R_MAX_DEVIATION:.0%}",
                ratio >= 1 - R_MAX_DEVIATION,
            )
        )
    if a and c:
        rate_ratio = c["rate"] / a["rate"]
        p99_ratio = c["p99_ms"] / a["p99_ms"]
        verdicts.append(
            (
                f"(c) throughput {rate_ratio:.2f} x (a), within {C_MAX_DEVIATION:.0%}",
                rate_ratio >= 1 - C_MAX_DEVIATION,
            )
        )
        verdicts.append(
            (
                f"(c) p99 {p99_ratio:.2f} x (a), within {C_MAX_DEVIATION:.0%}",
                p99_ratio <= 1 + C_MAX_DEVIATION,
            )
        )
        verdicts.append((f"(c) non-2xx: {c['errors']} == 0", c["errors"] == 0))
    if b and "rate" in b:
        verdicts.append(
            (
                f"(b) 5xx: {b['server_errors']} == 0 (non-2xx: {b['errors']})",
                b["server_errors"] == 0,
            )
        )
        if a:
            print(f"(b) / (a) throughput: {b['rate'] / a['rate']:.2f}")
        verdicts.extend(_postgres_verdicts(results, ceilings))
    verdicts.extend(_read_verdicts(results, ceilings))
    notify = results.get("notify")
    if notify:
        print(
            f"notifications: {notify['dashboards']} dashboards, {notify['bookings']} bookings at "
            f"{notify['rate']:.0f}/s: p50 {notify['p50_ms']:.1f} ms, p99 {notify['p99_ms']:.1f} ms "
            f"(max {notify['max_ms']:.1f}), lost {notify['lost_messages']}, duplicates "
            f"{notify['duplicates']}, failed bookings {notify['failed_bookings']}, "
            f"client CPU {notify['client_cpu_share']:.0%}, server CPU "
            f"{notify.get('server_cpu_share', float('nan')):.0%} (connecting included)"
        )
        verdicts.append(
            (
                f"notify p99 {notify['p99_ms']:.1f} ms < {NOTIFY_MAX_P99_MS:.0f} ms",
                notify["p99_ms"] < NOTIFY_MAX_P99_MS,
            )
        )
        verdicts.append(
            (
                f"notify lost {notify['lost_messages']} == 0",
                notify["lost_messages"] == 0 and notify["failed_bookings"] == 0,
            )
        )
    webhooks = results.get("webhooks")
    if webhooks:
        print()
        print("Webhooks: (a) with one healthy subscription (hook) against none, interleaved")
        for number, pair in enumerate(webhooks["pairs"], 1):
            print(
                f"  pair {number}: none {pair['none']['rate']:.0f} req/s "
                f"({pair['none']['cpu_ms_per_request']:.2f} CPU ms/req), hook "
                f"{pair['hook']['rate']:.0f} req/s ({pair['hook']['cpu_ms_per_request']:.2f} CPU "
                f"ms/req), ratio {pair['ratio']:.2f}; webhooks received during the hook run: "
                f"{pair['hook_webhooks_received']}"
            )
        print(
            f"  backlog sent {webhooks['backlog_seconds']:.1f} s after the load stopped; "
            f"{webhooks['received_total']} webhooks received in all"
        )
        ratios = sorted(pair["ratio"] for pair in webhooks["pairs"])
        median = (
            ratios[len(ratios) // 2]
            if len(ratios) % 2
            else sum(ratios[len(ratios) // 2 - 1 : len(ratios) // 2 + 1]) / 2
        )
        verdicts.append(
            (
                f"(webhooks) throughput with one subscription {median:.2f} x none (median of "
                f"{len(ratios)} pairs), within {WEBHOOKS_MAX_DEVIATION:.0%}",
                median >= 1 - WEBHOOKS_MAX_DEVIATION,
            )
        )
    return verdicts


def _read_verdicts(
    results: Mapping[str, Any], ceilings: Mapping[str, float]
) -> list[tuple[str, bool]]:
    """Issue 18's read path: next free slots against the HTTP ceiling; both reads error-free."""
    verdicts: list[tuple[str, bool]] = []
    slots, day = results.get("v-slots"), results.get("v-day")
    if slots and "http" in ceilings:
        ratio = slots["rate"] / ceilings["http"]
        verdicts.append(
            (
                f"(v) next free slots {slots['rate']:.0f}/s = {ratio:.2f} x http >= {V_MIN_RATIO}",
                ratio >= V_MIN_RATIO,
            )
        )
    for name, values in (("next free slots", slots), ("one day", day)):
        if values:
            verdicts.append((f"(v) {name} non-2xx: {values['errors']} == 0", values["errors"] == 0))
    return verdicts


def _postgres_verdicts(
    results: Mapping[str, Any], ceilings: Mapping[str, float]
) -> list[tuple[str, bool]]:
    """Issue 18's PostgreSQL targets, and the serial section's report."""
    verdicts: list[tuple[str, bool]] = []
    b, b1, raw = results["b"], results.get("b1"), results.get("raw_asyncpg")
    if "combined_pg" in ceilings:
        ratio = b["rate"] / ceilings["combined_pg"]
        verdicts.append(
            (
                f"(b) throughput {ratio:.2f} x 1/(1/http+1/raw_asyncpg) >= {B_MIN_RATIO}",
                ratio >= B_MIN_RATIO,
            )
        )
    verdicts.append((f"(b) non-2xx: {b['errors']} == 0", b["errors"] == 0))
    if raw:
        verdicts.append((f"raw_asyncpg errors: {raw['errors']} == 0", raw["errors"] == 0))
    if b1:
        verdicts.append(
            (
                f"(b) 2 workers {b['rate']:.0f}/s > (b1) 1 worker {b1['rate']:.0f}/s",
                b["rate"] > b1["rate"],
            )
        )
        verdicts.append((f"(b1) non-2xx: {b1['errors']} == 0", b1["errors"] == 0))
    serial = results.get("b-serial")
    if serial:
        allows = serial["allows_per_second"]
        print(
            f"(b) outbox lock (the serial section) held {serial['busy']:.1%} of the time "
            f"({serial['samples']} samples), {serial['mean_waiters']:.2f} waiters on average: "
            f"{serial['serial_us_per_booking']:.0f} us per booking at {b['rate']:.0f}/s, "
            + (
                f"i.e. at most {allows:,.0f} bookings/s for any number of hosts at this batch size"
                if allows
                else "never seen held"
            )
        )
        print(
            f"(b) bookings waiting for an interval lock (one resource's overlapping intervals "
            f"take turns): {serial.get('mean_interval_waiters', 0):.2f} on average"
        )
    br, br_serial = results.get("br"), results.get("br-serial")
    if br and "rate" in br:
        verdicts.append((f"(br) non-2xx: {br['errors']} == 0", br["errors"] == 0))
        if "combined_pg" in ceilings:
            waiting = br_serial.get("mean_interval_waiters", 0) if br_serial else 0
            print(
                f"(br) (b) on 5 resources: {br['rate']:.0f}/s = "
                f"{br['rate'] / ceilings['combined_pg']:.2f} x 1/(1/http+1/raw_asyncpg), "
                f"{waiting:.2f} bookings waiting for an interval lock on average (the measure "
                f"proposed for the 0.8 target; no target of its own)"
            )
    return verdicts


def _open_verdicts(results: Mapping[str, Any]) -> list[tuple[str, bool]]:
    return [
        (
            f"({name}) open loop at {level:.0%}: p99 {row['p99_ms']:.1f} ms <= {limit:.0f} ms",
            row["p99_ms"] <= limit and row["errors"] == 0,
        )
        for (name, level), limit in OPEN_MAX_P99_MS.items()
        for row in results.get(f"{name}-open", [])
        if abs(row["level"] - level) < 1e-9
    ]


def open_table(results: Mapping[str, Any]) -> None:
    """Open-loop rows (bench.openloop): latency from each request's scheduled send time."""
    labels = {
        "a": "(a) SQLite, 1 worker",
        "b": "(b) PostgreSQL, 2 workers",
        "v-slots": "(v) next free slots",
    }
    rows = [(labels[name], level) for name in labels for level in results.get(f"{name}-open", [])]
    if not rows:
        return
    print()
    print(
        "Open loop at fractions of the req/s above: fixed send schedule, latency from each "
        "request's scheduled send time; lag = how late the client itself sent (ms)"
    )
    header = (
        f"{'scenario':<26} {'load':>5} {'target/s':>8} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'errors':>7} {'lag p99':>7} {'lag max':>7}"
    )
    print(header)
    print("-" * len(header))
    lagging: list[str] = []
    sessions: list[str] = []
    for label, level in rows:
        lag = level["client_lag_max_ms"]
        flag = " !" if lag > OPEN_MAX_CLIENT_LAG_MS else ""
        if flag:
            lagging.append(f"{label} at {level['level']:.0%}")
        if "db_sessions" in level:
            sessions.append(f"{label} at {level['level']:.0%}: {level['db_sessions']}")
        print(
            f"{label:<26} {level['level']:>5.0%} {level['target_rate']:>8.0f} "
            f"{level['rate']:>8.0f} {level['p50_ms']:>8.1f} {level['p90_ms']:>8.1f} "
            f"{level['p99_ms']:>8.1f} {level['max_ms']:>8.1f} {level['errors']:>7} "
            f"{level['client_lag_p99_ms']:>7.1f} {lag:>7.1f}{flag}"
        )
    if sessions:
        print(f"  database sessions opened during the run: {'; '.join(sessions)}")
    if lagging:
        print(
            f"  ! the client itself sent requests more than {OPEN_MAX_CLIENT_LAG_MS:.0f} ms late "
            f"({', '.join(lagging)}): those latencies include the client's own delay"
        )


def report(results: Mapping[str, Any]) -> bool:
    """Print the table and the verdicts; return whether every measured target passed."""
    ceilings: dict[str, float] = {}
    if "http" in results:
        ceilings["http"] = results["http"]["rate"]
    if "sqlite" in results:
        ceilings["sqlite"] = results["sqlite"]["rate"]
    if "http" in ceilings and "sqlite" in ceilings:
        ceilings["combined"] = 1 / (1 / ceilings["http"] + 1 / ceilings["sqlite"])
    if "raw_asyncpg" in results:
        ceilings["raw_asyncpg"] = results["raw_asyncpg"]["rate"]
    if "http" in ceilings and "raw_asyncpg" in ceilings:
        ceilings["combined_pg"] = 1 / (1 / ceilings["http"] + 1 / ceilings["raw_asyncpg"])
    machine = results.get("machine", {})
    print()
    print(
        f"Machine: {machine.get('cpus')} CPUs ({machine.get('cpu_model')}), Python "
        f"{machine.get('python')}, load average at start {machine.get('load_average_at_start')}"
    )
    labels = {
        "http": "ceiling: HTTP stack, canned 201",
        "sqlite": "ceiling: raw sqlite3, 1 thread",
        "a": "(a) SQLite, 1 worker",
        "r": "(r) SQLite, 5 resources, 3 svc",
        "c": "(c) SQLite, 1M bookings seeded",
        "v-slots": "(v) next free slots, 1M, 5 res",
        "v-day": "(v) one day's availability",
        "raw_asyncpg": "ceiling: raw asyncpg, 32 conns",
        "b1": "(b1) PostgreSQL, 1 worker",
        "b": "(b) PostgreSQL, 2 workers",
        "br": "(br) (b) on 5 resources, 3 svc",
    }
    with _table() as row:
        for name, label in labels.items():
            values = results.get(name)
            if values and "rate" in values:
                row(label, values, ceilings)
        if "combined" in ceilings:
            print(f"{'ceiling: combined 1/(1/http+1/sqlite)':<34} {ceilings['combined']:>8.0f}")
        if "combined_pg" in ceilings:
            print(f"{'ceiling: 1/(1/http+1/raw_asyncpg)':<34} {ceilings['combined_pg']:>8.0f}")
    open_table(results)
    verdicts = _verdicts(results, ceilings) + _open_verdicts(results)
    print()
    for text, ok in verdicts:
        print(f"  {_verdict(ok)}  {text}")
    return all(ok for _, ok in verdicts)


def main() -> int:
    if not wrk_available():
        _log("wrk and taskset are needed: 'make bench' installs wrk (apt-get install wrk)")
        return 2
    return Bench(Options()).run()


if __name__ == "__main__":
    sys.exit(main())
