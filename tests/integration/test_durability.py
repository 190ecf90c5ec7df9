"""Durability under faults: a stopped, killed or backed-up server never loses a confirmed booking.

The promise (README, DESIGN.md "Persistence"): a ``201`` means the booking *and* its
``booking_created`` outbox event are committed, together. So after any fault and a restart on the
same database, every ``201`` an agent received has exactly one booking and one event, no booking
exists without its event and no event without its booking. A request cut off by the fault may or
may not have been committed (the connection can drop after the commit, before the answer); what
must never happen is a booking for a request that was *answered* with an error.

Each fault test runs a load of concurrent agents booking distinct slots, faults the server in the
middle, restarts it on the same database, finishes the load, and then checks the database itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import itertools
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from agent_booking.adapters.sql import migrate
from tests.integration.direct_sql import count_rows, run_sql
from tests.integration.endpoint import (
    CREATE_PATH,
    assert_created,
    assert_error,
    booking_body,
    unique_phone,
)
from tests.integration.working_days import SLOT_TIMES, WorkingDays
from tests.support.postgres import PostgresCluster
from tests.support.server import (
    AGENT_HEADERS,
    ServerProcess,
    booking_executable,
    service_environment,
)

pytestmark = pytest.mark.slow

SQLITE = "sqlite"
POSTGRES = "postgres"
ENGINES = [
    pytest.param(SQLITE, id=SQLITE),
    pytest.param(POSTGRES, id=POSTGRES, marks=pytest.mark.postgres),
]
#: Load tests send far more than a per-client rate limit allows, and book dozens of slots for
#: each of a few phones (so first bookings and returning customers both happen), far more than
#: the per-phone limit allows; 0 turns each off.
SERVER_ENV = {"BOOKING_RATE_LIMIT": "0", "BOOKING_MAX_ACTIVE_PER_PHONE": "0"}
CLIENTS = 16
#: Bookings confirmed before the fault is injected, and after the restart.
CONFIRMED_BEFORE_FAULT = 32
CONFIRMED_AFTER_RESTART = 24
WAIT_S = 30.0
_POLL_S = 0.01

Slot = tuple[str, str]  # ("2027-03-01", "14:00")

_database_numbers = itertools.count(1)


# --- servers and databases -------------------------------------------------------------------


class FaultableServer(ServerProcess):
    """``booking serve`` that a test can signal, watch exit and restart on the same database."""

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the server is not started")
        return self._process.pid

    def send(self, sig: signal.Signals) -> None:
        os.kill(self.pid, sig)

    async def wait_exit(self) -> int:
        process = self._process
        assert process is not None
        return await asyncio.to_thread(process.wait, WAIT_S)

    def restart(self) -> None:
        """After the process ended (``stop`` only forgets it then), start a new one."""
        self.stop()
        self.start()


def new_database_url(
    engine: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """An empty database of ``engine`` that only the calling test uses (not migrated yet)."""
    if engine == SQLITE:
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'booking.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database(f"booking_durability_{next(_database_numbers)}")


async def new_database(
    engine: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated database of ``engine`` that only the calling test uses.

    Migrated in-process, in a thread (Alembic runs its own event loop): the tests here are
    about faults, not about ``booking migrate``, which other tests cover.
    """
    url = new_database_url(engine, request, tmp_path_factory)
    await asyncio.to_thread(migrate, url)
    return url


@asynccontextmanager
async def running_server(
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[FaultableServer]:
    server = FaultableServer(
        database_url, env=SERVER_ENV | dict(env or {}), log_dir=tmp_path_factory.mktemp("server")
    )
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def eventually(condition: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Poll ``condition`` until it holds; fail, saying ``what`` we waited for, after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not await _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {WAIT_S:.0f} s waiting until {what}")
        await asyncio.sleep(_POLL_S)


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    return bool(await result) if inspect.isawaitable(result) else bool(result)


def distinct_slots(count_days: int = 300) -> Iterator[Slot]:
    for day in WorkingDays().take_many(count_days):
        for time_of_day in SLOT_TIMES:
            yield day.isoformat(), time_of_day


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One booking request and what became of it."""

    slot: Slot
    phone: str
    sent_at: float | None = None  # when the whole request had been written to the socket
    answered_at: float | None = None
    status: int | None = None
    body: Any = None
    error: str | None = None  # a transport error: the request was cut off

    @property
    def booking_id(self) -> int:
        assert self.status == 201, "only a confirmed booking has an id"
        booking_id: int = self.body["booking_id"]
        return booking_id


@dataclass
class Agent:
    """One client of the load: one connection at a time, one request at a time."""

    number: int
    local_port: int | None = None
    in_flight: Attempt | None = None


@dataclass
class BookingLoad:
    """``CLIENTS`` agents booking distinct slots, following the server across restarts.

    Before a fault the test clears ``up``; agents whose request fails then wait for ``up`` (set
    again once the restarted server answers) instead of hammering a closed port.
    """

    base_url: str
    slots: Iterator[Slot] = field(default_factory=distinct_slots)
    attempts: list[Attempt] = field(default_factory=list)
    agents: list[Agent] = field(default_factory=list)
    up: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _stopping: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _phones: list[str] = field(default_factory=lambda: [unique_phone() for _ in range(24)])

    def start(self) -> None:
        self.up.set()
        self.agents = [Agent(number) for number in range(CLIENTS)]
        self._tasks = [asyncio.create_task(self._run(agent)) for agent in self.agents]

    async def stop(self) -> None:
        self._stopping = True
        self.up.set()
        await asyncio.gather(*self._tasks)

    def confirmed(self) -> list[Attempt]:
        return [attempt for attempt in self.attempts if attempt.status == 201]

    async def wait_for_confirmed(self, count: int) -> None:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.confirmed()) >= count), WAIT_S
            )

    async def _run(self, agent: Agent) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            headers=AGENT_HEADERS, timeout=WAIT_S, limits=limits
        ) as client:
            while not self._stopping:
                await self.up.wait()
                slot = next(self.slots, None)
                if slot is None or self._stopping:
                    return
                # Some phones repeat, so first bookings and returning customers both happen.
                phone = self._phones[len(self.attempts) % len(self._phones)]
                attempt = Attempt(slot, phone)
                self.attempts.append(attempt)
                agent.in_flight = attempt
                await self._send(client, agent, attempt)
                agent.in_flight = None
                async with self._changed:
                    self._changed.notify_all()

    async def _send(self, client: httpx.AsyncClient, agent: Agent, attempt: Attempt) -> None:
        async def trace(event: str, info: Mapping[str, Any]) -> None:
            if event == "connection.connect_tcp.complete":
                agent.local_port = info["return_value"].get_extra_info("client_addr")[1]
            elif event == "http11.send_request_body.complete":
                attempt.sent_at = time.monotonic()

        day, time_of_day = attempt.slot
        body = booking_body(
            dt.date.fromisoformat(day), time_of_day, phone=attempt.phone, notes="load"
        )
        try:
            response = await client.post(
                self.base_url + CREATE_PATH, json=body, extensions={"trace": trace}
            )
        except httpx.TransportError as error:
            attempt.error = type(error).__name__
        else:
            attempt.status = response.status_code
            attempt.body = response.json()
        attempt.answered_at = time.monotonic()


# --- what the database holds -------------------------------------------------------------------


@dataclass
class Stored:
    bookings: dict[int, Slot]  # booking id -> slot
    event_booking_ids: list[int]  # data.id of every booking_created event
    customers_without_booking: int


def _slot_of(booking_date: Any, booking_time: Any) -> Slot:
    return str(booking_date)[:10], str(booking_time)[:5]


async def stored(database_url: str) -> Stored:
    bookings = await run_sql(database_url, "SELECT id, booking_date, booking_time FROM bookings")
    events = await run_sql(database_url, "SELECT type, payload FROM events")
    orphans = await count_rows(
        database_url,
        "SELECT count(*) FROM customers c "
        "WHERE NOT EXISTS (SELECT 1 FROM bookings b WHERE b.customer_id = c.id)",
    )
    return Stored(
        bookings={row[0]: _slot_of(row[1], row[2]) for row in bookings},
        event_booking_ids=[
            json.loads(payload)["id"] for kind, payload in events if kind == "booking_created"
        ],
        customers_without_booking=orphans,
    )


def assert_outbox_consistent(state: Stored) -> None:
    """booking ⇔ event: one ``booking_created`` event per booking, and none for no booking."""
    duplicated = {id_ for id_, n in Counter(state.event_booking_ids).items() if n > 1}
    assert not duplicated, f"bookings with more than one booking_created event: {duplicated}"
    without_event = set(state.bookings) - set(state.event_booking_ids)
    assert not without_event, f"bookings without their event: {sorted(without_event)}"
    without_booking = set(state.event_booking_ids) - set(state.bookings)
    assert not without_booking, f"events for bookings that do not exist: {sorted(without_booking)}"
    taken_twice = {slot for slot, n in Counter(state.bookings.values()).items() if n > 1}
    assert not taken_twice, f"slots booked twice: {taken_twice}"
    assert state.customers_without_booking == 0, "customers were stored without their booking"


def assert_every_answer_kept(state: Stored, attempts: list[Attempt]) -> None:
    """201 ⇒ that booking, at that slot; an error answer ⇒ no booking at its slot."""
    by_slot = {slot: booking_id for booking_id, slot in state.bookings.items()}
    for attempt in attempts:
        if attempt.status == 201:
            assert state.bookings.get(attempt.booking_id) == attempt.slot, (
                f"confirmed booking {attempt.booking_id} at {attempt.slot} is not stored as such"
            )
        elif attempt.status is not None:
            assert attempt.slot not in by_slot, (
                f"answered {attempt.status} {attempt.body} but booking {by_slot[attempt.slot]} "
                f"was stored for {attempt.slot}"
            )
    requested = {attempt.slot for attempt in attempts}
    assert set(by_slot) <= requested, "bookings for slots nobody asked for"


def assert_only_created(attempts: list[Attempt]) -> None:
    """Distinct free slots: every answered request must have been a 201 (no 5xx, no 409)."""
    answers = Counter(attempt.status for attempt in attempts if attempt.status is not None)
    wrong = [a.body for a in attempts if a.status is not None and a.status != 201]
    assert set(answers) == {201}, f"statuses {dict(answers)}; first wrong bodies: {wrong[:3]}"


def sqlite_integrity(path: str | Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def sqlite_path(database_url: str) -> str:
    return database_url.removeprefix("sqlite+aiosqlite:///")


# --- what the server process does with its sockets (Linux /proc) --------------------------------

_ESTABLISHED, _LISTEN = "01", "0A"


def _server_sockets(pid: int, port: int) -> list[tuple[str, int, int]]:
    """(state, remote port, unread bytes) of the sockets ``pid`` holds on local ``port``."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[len("socket:[") : -1]))
    sockets = []
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, queues, inode = fields[1], fields[2], fields[3], fields[4], fields[9]
        if int(local.split(":")[1], 16) == port and int(inode) in inodes:
            unread = int(queues.split(":")[1], 16)
            sockets.append((state, int(remote.split(":")[1], 16), unread))
    return sockets


def server_has_read(server: FaultableServer, agents: list[Agent]) -> bool:
    """Every agent's request is sent, on a connection the server accepted and read to the end.

    uvicorn's graceful shutdown finishes every request it has read; bytes still in the kernel's
    buffers (or a connection still in the accept queue) would be dropped with the connection.
    """
    if any(agent.in_flight is None or agent.in_flight.sent_at is None for agent in agents):
        return False
    sockets = {
        remote: unread
        for state, remote, unread in _server_sockets(server.pid, server.port)
        if state == _ESTABLISHED
    }
    return all(
        agent.local_port is not None and sockets.get(agent.local_port) == 0 for agent in agents
    )


def server_is_listening(pid: int, port: int) -> bool:
    return any(state == _LISTEN for state, _, _ in _server_sockets(pid, port))


# --- blocking the database behind the server's back ---------------------------------------------


@asynccontextmanager
async def writes_blocked(database_url: str) -> AsyncIterator[None]:
    """Hold the database's write lock (SQLite) or the bookings table (PostgreSQL)."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(sqlite_path(database_url), isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield
            connection.execute("ROLLBACK")
        finally:
            connection.close()
        return
    blocker = await asyncpg.connect(_dsn(database_url))
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
        yield
        await transaction.rollback()
    finally:
        await blocker.close()


def _dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


# --- the tests ----------------------------------------------------------------------------------


class TestFaultsUnderLoad:
    @pytest.mark.parametrize("engine", ENGINES)
    async def test_sigterm_drains_requests_in_flight_and_loses_nothing(
        self,
        engine: str,
        request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> None:
        database_url = await new_database(engine, request, tmp_path_factory)
        # The test holds a lock the requests wait for; PostgreSQL must not time them out first.
        patient = {"BOOKING_STATEMENT_TIMEOUT_MS": str(int(WAIT_S * 1000))}
        async with running_server(database_url, tmp_path_factory, patient) as server:
            load = BookingLoad(server.base_url)
            load.start()
            await load.wait_for_confirmed(CONFIRMED_BEFORE_FAULT)

            # Freeze the load with every agent's request inside the server, so "in flight when
            # the signal came" is a known set rather than a matter of timing.
            async with writes_blocked(database_url):
                await eventually(
                    lambda: server_has_read(server, load.agents),
                    "the server has read every agent's request",
                )
                in_flight = [agent.in_flight for agent in load.agents]
                load.up.clear()
                signalled_at = time.monotonic()
                server.send(signal.SIGTERM)
                pid, port = server.pid, server.port
                await eventually(
                    lambda: not server_is_listening(pid, port),
                    "the server stops accepting connections",
                )
                assert server.running, "the server exited with requests still in flight"
            exit_code = await server.wait_exit()

            # uvicorn raises the signal again once its graceful shutdown is done.
            assert exit_code in {0, -signal.SIGTERM}, server.log_text()[-3000:]
            drained = [attempt.status for attempt in in_flight if attempt is not None]
            assert drained == [201] * CLIENTS, [(a.status, a.error) for a in in_flight if a]
            sent_before = [a for a in load.attempts if a.sent_at and a.sent_at < signalled_at]
            cut_off = [(a.slot, a.error) for a in sent_before if a.status is None]
            assert not cut_off, f"requests sent before SIGTERM were dropped: {cut_off}"

            await asyncio.to_thread(server.restart)
            load.base_url = server.base_url
            load.up.set()
            await load.wait_for_confirmed(len(load.confirmed()) + CONFIRMED_AFTER_RESTART)
            await load.stop()

        state = await stored(database_url)
        assert_only_created(load.attempts)
        assert_every_answer_kept(state, load.attempts)
        assert_outbox_consistent(state)
        if engine == SQLITE:
            assert sqlite_integrity(sqlite_path(database_url)) == "ok"

    @pytest.mark.parametrize("engine", ENGINES)
    async def test_sigkill_mid_load_loses_no_confirmed_booking(
        self,
        engine: str,
        request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory,
    ) -> None:
        database_url = await new_database(engine, request, tmp_path_factory)
        async with running_server(database_url, tmp_path_factory) as server:
            load = BookingLoad(server.base_url)
            load.start()
            await load.wait_for_confirmed(CONFIRMED_BEFORE_FAULT)

            load.up.clear()
            os.killpg(server.pid, signal.SIGKILL)  # no shutdown of any kind
            assert await server.wait_exit() == -signal.SIGKILL

            await asyncio.to_thread(server.restart)
            load.base_url = server.base_url
            load.up.set()
            await load.wait_for_confirmed(len(load.confirmed()) + CONFIRMED_AFTER_RESTART)
            await load.stop()

        cut_off = [attempt for attempt in load.attempts if attempt.error is not None]
        assert cut_off, "the kill should have cut off requests in flight"
        state = await stored(database_url)
        assert_only_created(load.attempts)
        assert_every_answer_kept(state, load.attempts)
        assert_outbox_consistent(state)
        if engine == SQLITE:
            assert sqlite_integrity(sqlite_path(database_url)) == "ok"


class TestOnlineBackup:
    async def test_backup_under_load_holds_every_confirmed_booking_and_restores(
        self, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        database_url = await new_database(SQLITE, request, tmp_path_factory)
        backup_path = tmp_path_factory.mktemp("backup") / "booking-backup.db"
        async with running_server(database_url, tmp_path_factory) as server:
            load = BookingLoad(server.base_url)
            load.start()
            await load.wait_for_confirmed(CONFIRMED_BEFORE_FAULT)

            confirmed_before = {a.booking_id: a.slot for a in load.confirmed()}
            backup_started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                str(booking_executable()),
                "backup",
                str(backup_path),
                env=service_environment(database_url),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            stdout, stderr = await asyncio.wait_for(process.communicate(), WAIT_S)
            backup_ended = time.monotonic()
            await load.stop()

        assert process.returncode == 0, stderr.decode()
        during = [
            a
            for a in load.confirmed()
            if a.answered_at is not None and backup_started < a.answered_at < backup_ended
        ]
        assert during, "no booking was confirmed while the backup ran"

        assert sorted(path.name for path in backup_path.parent.iterdir()) == [backup_path.name]
        copy = await stored(f"sqlite+aiosqlite:///{backup_path}")
        assert sqlite_integrity(backup_path) == "ok"
        missing = {
            id_: slot for id_, slot in confirmed_before.items() if copy.bookings.get(id_) != slot
        }
        assert not missing, f"confirmed before the backup started, missing from it: {missing}"
        assert_outbox_consistent(copy)
        assert stdout.decode().strip() == (
            f"Backed up {sqlite_path(database_url)} to {backup_path}: "
            f"{backup_path.stat().st_size} bytes, {len(copy.bookings)} bookings."
        )

        restored = tmp_path_factory.mktemp("restored") / "booking.db"
        shutil.copyfile(backup_path, restored)
        restored_url = f"sqlite+aiosqlite:///{restored}"
        taken_day, taken_time = next(iter(confirmed_before.values()))
        free_day, free_time = next(load.slots)  # never handed to any agent
        async with (
            running_server(restored_url, tmp_path_factory) as server,
            httpx.AsyncClient(
                headers=AGENT_HEADERS, base_url=server.base_url, timeout=WAIT_S
            ) as client,
        ):
            taken = await client.post(
                CREATE_PATH, json=booking_body(dt.date.fromisoformat(taken_day), taken_time)
            )
            body = booking_body(dt.date.fromisoformat(free_day), free_time)
            free = await client.post(CREATE_PATH, json=body)

        assert_error(taken, 409, "slot_taken")
        assert_created(
            free,
            body,
            user_created=True,
            booking_date=dt.date.fromisoformat(free_day),
            booking_time=f"{free_time}:00",
        )
        assert free.json()["booking_id"] > max(copy.bookings)


def run_backup(args: list[str], database_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(booking_executable()), "backup", *args],
        env=service_environment(database_url),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestBackupCommand:
    def test_refuses_to_overwrite_a_file_unless_forced(
        self, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        database_url = new_database_url(SQLITE, request, tmp_path_factory)
        migrate(database_url)
        target = tmp_path_factory.mktemp("backup") / "existing.db"
        target.write_bytes(b"an older backup")

        refused = run_backup([str(target)], database_url, target.parent)
        assert refused.returncode == 2, refused
        assert "already exists" in refused.stderr
        assert "--force" in refused.stderr
        assert target.read_bytes() == b"an older backup"

        forced = run_backup([str(target), "--force"], database_url, target.parent)
        assert forced.returncode == 0, forced.stderr
        assert sqlite_integrity(target) == "ok"
        assert sorted(path.name for path in target.parent.iterdir()) == ["existing.db"]

    def test_points_postgresql_users_to_pg_dump(self, tmp_path: Path) -> None:
        result = run_backup(
            [str(tmp_path / "backup.db")], "postgresql+asyncpg://booking@127.0.0.1:1/db", tmp_path
        )
        assert result.returncode == 2, result
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "pg_dump" in result.stderr
        assert not (tmp_path / "backup.db").exists()

    def test_fails_without_a_database_file(self, tmp_path: Path) -> None:
        missing = tmp_path / "missing.db"
        result = run_backup(
            [str(tmp_path / "backup.db")], f"sqlite+aiosqlite:///{missing}", tmp_path
        )
        assert result.returncode == 1, result
        assert not missing.exists(), "the backup must not create the database it copies"
        assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
class TestPostgresConnectionKilled:
    async def test_request_in_flight_gets_503_leaves_nothing_and_the_next_succeeds(
        self, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        database_url = await new_database(POSTGRES, request, tmp_path_factory)
        day, later_day = WorkingDays().take_many(2)
        body = booking_body(day, "15:00", first_name="Cut", last_name="Off")
        async with (
            running_server(database_url, tmp_path_factory) as server,
            httpx.AsyncClient(
                headers=AGENT_HEADERS, base_url=server.base_url, timeout=WAIT_S
            ) as client,
        ):
            warm_up = await client.post(CREATE_PATH, json=booking_body(later_day))
            assert warm_up.status_code == 201, warm_up.text
            pid = server.pid

            # Two connections of our own: one holds the lock, one watches and terminates (a
            # transaction would see pg_stat_activity frozen at its first look).
            blocker = await asyncpg.connect(_dsn(database_url))
            watcher = await asyncpg.connect(_dsn(database_url))
            try:
                # The booking's last write is its outbox event; holding that table (readers are
                # let through) stops the request with its customer and booking written but not
                # committed, the worst moment to lose the connection.
                transaction = blocker.transaction()
                await transaction.start()
                await blocker.execute("LOCK TABLE events IN EXCLUSIVE MODE")
                in_flight = asyncio.create_task(client.post(CREATE_PATH, json=body))

                async def waiting_on_events() -> bool:
                    return bool(
                        await watcher.fetchval(
                            "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                            "'booking' AND wait_event_type = 'Lock' AND query ILIKE '%INTO events%'"
                        )
                    )

                await eventually(waiting_on_events, "the booking waits to write its event")
                terminated = await watcher.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'booking' AND pid <> pg_backend_pid()"
                )
                assert terminated, "no server connection was terminated"
                assert all(row[0] for row in terminated), terminated
                await transaction.rollback()
            finally:
                await blocker.close()
                await watcher.close()
            response = await in_flight

            assert_error(response, 503, "storage_unavailable")
            assert await _rows_for(database_url, body) == (0, 0, 0)

            retry = await client.post(CREATE_PATH, json=body)
            assert server.pid == pid, "the server was restarted"

        assert_created(retry, body, user_created=True, booking_date=day, booking_time="15:00:00")
        assert await _rows_for(database_url, body) == (1, 1, 1)


async def _rows_for(database_url: str, body: dict[str, Any]) -> tuple[int, int, int]:
    """How many customers, bookings and events the database holds for ``body``'s phone."""
    customers = await count_rows(
        database_url, "SELECT count(*) FROM customers WHERE phone = $1", body["phone"]
    )
    bookings = await count_rows(
        database_url,
        "SELECT count(*) FROM bookings b JOIN customers c ON c.id = b.customer_id "
        "WHERE c.phone = $1",
        body["phone"],
    )
    events = [
        payload
        for (payload,) in await run_sql(database_url, "SELECT payload FROM events")
        if json.loads(payload)["user_details"]["phone"] == body["phone"]
    ]
    return customers, bookings, len(events)
