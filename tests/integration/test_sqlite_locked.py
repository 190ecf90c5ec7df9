"""A SQLite file another process keeps locked: ``503 storage_unavailable``, never a 500 (issue 13,
#5), and only as late as ``BOOKING_SQLITE_BUSY_TIMEOUT_MS`` says.

Another connection (to the server, another process) holds the lock, as a second worker, the CLI,
a backup tool or an operator's ``sqlite3`` shell can. Two cases:

- **Everything blocked**: the file is still in its rollback-journal mode (the server switches a
  file to WAL at start, but this one was being read by another connection then, and the server
  has not written to it since) and the other connection holds
  ``BEGIN EXCLUSIVE``: reads and writes alike cannot proceed, nor can the server switch the file
  to WAL.
- **Writes blocked**: the file is in WAL mode (the server has written to it) and the other
  connection holds the write lock: writes wait and fail, reads still answer.

Then ``booking serve`` itself on a locked file: its start-up migration fails in one line.
The servers run with a 300 ms busy timeout, so each refusal takes a moment rather than 30 s.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.endpoint import CREATE_PATH, assert_error, booking_body
from tests.integration.working_days import WorkingDays
from tests.support.server import (
    ADMIN_TOKEN,
    AGENT_HEADERS,
    HOST,
    ServerProcess,
    booking_executable,
    free_port,
    run_booking,
    service_environment,
)

BUSY_TIMEOUT_MS = 300
ENV = {"BOOKING_SQLITE_BUSY_TIMEOUT_MS": str(BUSY_TIMEOUT_MS), "BOOKING_LOG_LEVEL": "INFO"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: Far more than the busy timeout, far less than the 30 s default: a refusal must come in time.
ANSWER_WITHIN_S = 10.0
_SERVE_TIMEOUT_S = 60.0

_DAYS = WorkingDays()


def _path(server: ServerProcess) -> str:
    return server.database_url.removeprefix("sqlite+aiosqlite:///")


@contextlib.contextmanager
def held_lock(path: str, begin: str) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, inside ``begin`` until the block ends."""
    other = sqlite3.connect(path, isolation_level=None, timeout=ANSWER_WITHIN_S)
    try:
        other.execute(begin)
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


def _serve(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    database = tmp_path_factory.mktemp("sqlite") / "booking.db"
    return ServerProcess(
        f"sqlite+aiosqlite:///{database}", env=ENV, log_dir=tmp_path_factory.mktemp("server")
    )


@pytest.fixture(scope="module")
def untouched_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Migrated by ``booking migrate``, started while another connection was reading the file
    (so the server could not switch it to WAL at start, as it otherwise does), then asked
    nothing but ``/health``: the file is still in its rollback-journal mode."""
    server = _serve(tmp_path_factory)
    run_booking(["migrate"], server.database_url, env=ENV)
    with held_lock(_path(server), "BEGIN") as reader:
        reader.execute("SELECT count(*) FROM bookings").fetchall()  # a shared lock, kept
        server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with _serve(tmp_path_factory) as server:
        yield server


async def _timed(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    started = time.monotonic()
    response = await client.request(method, url, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < ANSWER_WITHIN_S, (method, url, elapsed)
    return response


def _booking_request(day_text: str) -> dict[str, Any]:
    return {"json": booking_body(_DAYS.take(), "13:00", booking_date=day_text)}


def _writes(booking_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    day = _DAYS.take().isoformat()
    return [
        ("POST", CREATE_PATH, _booking_request(day)),
        ("POST", CREATE_PATH, _booking_request(day) | {"headers": {"Idempotency-Key": "k-1"}}),
        ("POST", f"/api/admin/bookings/{booking_id}/cancel/", {"headers": ADMIN}),
        ("PATCH", "/api/admin/settings/", {"json": {"horizon_days": 200}, "headers": ADMIN}),
    ]


def _reads(booking_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", "/ready", {}),
        ("GET", f"/api/agent/availability/?date={_DAYS.take().isoformat()}", {}),
        ("GET", "/api/admin/bookings/", {"headers": ADMIN}),
        ("GET", f"/api/admin/bookings/{booking_id}/", {"headers": ADMIN}),
        ("GET", "/api/admin/settings/", {"headers": ADMIN}),
    ]


def assert_no_errors_logged(server: ServerProcess, since_offset: int) -> None:
    logged = server.log_text()[since_offset:]
    assert '"level": "ERROR"' not in logged, logged
    assert "Traceback" not in logged, logged


async def _dashboard_close(server: ServerProcess) -> Any:
    """How the admin feed ends a dashboard that connects now."""
    async with connect(
        f"{server.ws_url}/ws/admin/bookings/", additional_headers=ADMIN, open_timeout=10
    ) as dashboard:
        with pytest.raises(ConnectionClosed) as closed:
            await dashboard.recv()
    return closed.value.rcvd


class TestEverythingBlocked:
    async def test_every_route_on_storage_answers_503_in_time_then_recovers(
        self, untouched_server: ServerProcess
    ) -> None:
        server = untouched_server
        log_start = len(server.log_text())
        probe = sqlite3.connect(_path(server))
        assert probe.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not WAL yet
        probe.close()

        async with httpx.AsyncClient(
            headers=AGENT_HEADERS, base_url=server.base_url, timeout=ANSWER_WITHIN_S
        ) as client:
            with held_lock(_path(server), "BEGIN EXCLUSIVE"):
                for method, url, kwargs in [*_reads(1), *_writes(1)]:
                    response = await _timed(client, method, url, **kwargs)
                    assert_error(response, 503, "storage_unavailable")
                assert (await _timed(client, "GET", "/health")).status_code == 200
                assert (await _timed(client, "GET", "/metrics")).status_code == 200
                closed = await _dashboard_close(server)
                assert (closed.code, closed.reason) == (
                    1013,
                    "events unavailable; try again later",
                )

            assert (await client.get("/ready")).status_code == 200
            created = await client.post(CREATE_PATH, json=booking_body(_DAYS.take(), "13:00"))
            assert created.status_code == 201, created.text
        assert_no_errors_logged(server, log_start)


class TestWritesBlocked:
    async def test_writes_answer_503_in_time_reads_still_answer_then_writes_recover(
        self, server: ServerProcess
    ) -> None:
        async with httpx.AsyncClient(
            headers=AGENT_HEADERS, base_url=server.base_url, timeout=ANSWER_WITHIN_S
        ) as client:
            created = await client.post(CREATE_PATH, json=booking_body(_DAYS.take(), "13:00"))
            assert created.status_code == 201, created.text  # the file is in WAL mode now
            booking_id = created.json()["booking_id"]
            log_start = len(server.log_text())

            with held_lock(_path(server), "BEGIN EXCLUSIVE"):
                for method, url, kwargs in _writes(booking_id):
                    response = await _timed(client, method, url, **kwargs)
                    assert_error(response, 503, "storage_unavailable")
                for method, url, kwargs in _reads(booking_id):
                    response = await _timed(client, method, url, **kwargs)
                    assert response.status_code == 200, (url, response.text)
                async with connect(
                    f"{server.ws_url}/ws/admin/bookings/", additional_headers=ADMIN
                ) as dashboard:
                    await dashboard.send('{"type": "get_bookings"}')
                    assert '"bookings_data"' in str(await dashboard.recv())

            cancelled = await client.post(
                f"/api/admin/bookings/{booking_id}/cancel/", headers=ADMIN
            )
            assert cancelled.status_code == 200, cancelled.text
        assert_no_errors_logged(server, log_start)


class TestServeOnALockedFile:
    def test_the_start_up_migration_fails_in_one_line(self, tmp_path: Path) -> None:
        path = tmp_path / "booking.db"
        with held_lock(str(path), "BEGIN EXCLUSIVE"):
            started = time.monotonic()
            result = subprocess.run(
                [str(booking_executable()), "serve", "--host", HOST, "--port", str(free_port())],
                env=service_environment(f"sqlite+aiosqlite:///{path}", ENV),
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=_SERVE_TIMEOUT_S,
                check=False,
            )
            elapsed = time.monotonic() - started

        assert result.returncode == 1, result
        assert result.stderr.strip().splitlines()[-1] == (
            "booking: error: Booking storage is temporarily unavailable, please retry "
            "(OperationalError: (sqlite3.OperationalError) database is locked)"
        ), result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        assert elapsed < ANSWER_WITHIN_S, elapsed  # the busy timeout, not aiosqlite's 5 s
