"""What one client may cost the server: header bytes, time, connections, memory (issue 13, items
3 and 4), through a real ``booking serve`` with short timeouts and a small connection cap.

Slow clients are raw sockets on 127.0.0.1 that send part of a request and then wait for the
server to close; each wait is bounded by the timeout under test plus a margin for a busy machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from tests.integration.dashboards import Dashboard
from tests.integration.endpoint import CREATE_PATH, assert_error
from tests.support.server import HOST, PUBLIC_AGENT_ENDPOINTS, ServerProcess

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 20
MAX_HEADER_BYTES = 16 * 1024  # the default
#: How much later than its deadline a busy machine may close a connection.
_MARGIN_S = 3.0
_ANSWER_TIMEOUT_S = 10.0
_ATTEMPTS = 3
_MIB = 1024 * 1024

_PARTIAL_HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"
_HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def limits_server(
    sqlite_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = {
        **PUBLIC_AGENT_ENDPOINTS,  # raw requests here send no API key
        "BOOKING_HEADER_TIMEOUT_S": f"{HEADER_TIMEOUT_S:g}",
        "BOOKING_BODY_TIMEOUT_S": f"{BODY_TIMEOUT_S:g}",
        "BOOKING_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    log_dir = tmp_path_factory.mktemp("limits-server")
    with ServerProcess(sqlite_database_url, env=env, log_dir=log_dir) as process:
        yield process


@pytest.fixture
async def http(limits_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=limits_server.base_url, timeout=30.0) as client:
        yield client


# --- raw connections --------------------------------------------------------------------------


class Connection(NamedTuple):
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


class Answer(NamedTuple):
    """A response's status and body; status None: the server closed without answering."""

    status: int | None
    body: bytes


async def connect(server: ServerProcess, first_bytes: bytes = b"") -> Connection:
    reader, writer = await asyncio.open_connection(HOST, server.port)
    if first_bytes:
        writer.write(first_bytes)
        await writer.drain()
    return Connection(reader, writer)


async def read_answer(connection: Connection) -> Answer:
    async with asyncio.timeout(_ANSWER_TIMEOUT_S):
        try:
            head = await connection.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return Answer(None, b"")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(":", 1) for line in header_lines if ":" in line)
        length = int(headers.get("content-length", "0"))
        status = int(status_line.split(" ", 2)[1])
        return Answer(status, await connection.reader.readexactly(length))


async def seconds_until_closed(connection: Connection, *, limit: float) -> tuple[float, bytes]:
    """How long the server took to close ``connection`` (reading all it sent meanwhile)."""
    started = time.monotonic()
    received = bytearray()
    async with asyncio.timeout(limit):
        try:
            while chunk := await connection.reader.read(65536):
                received += chunk
        except ConnectionError:
            pass
    return time.monotonic() - started, bytes(received)


async def get_health(server: ServerProcess) -> Answer:
    connection = await connect(server, _HEALTH)
    try:
        return await read_answer(connection)
    finally:
        connection.close()


def peak_memory_kib(pid: int) -> int:
    """``VmHWM``: the most the process has held in RAM since the last reset."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for process {pid}")


def reset_peak_memory(pid: int) -> int:
    """Reset ``VmHWM`` to the current resident size (Linux ``clear_refs``), and return it."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError as error:
        pytest.skip(f"cannot reset the peak memory of the server: {error}")
    return peak_memory_kib(pid)


# --- tests ------------------------------------------------------------------------------------


class TestHeaderSizeLimit:
    @pytest.mark.parametrize(
        "header_bytes",
        [pytest.param(32 * 1024, id="32KiB"), pytest.param(_MIB, id="1MiB")],
    )
    async def test_refuses_a_larger_head_with_431_and_goes_on_serving(
        self, http: httpx.AsyncClient, header_bytes: int
    ) -> None:
        response = await http.get("/health", headers={"X-Padding": "a" * header_bytes})

        assert_error(response, 431, "headers_too_large", "Request headers too large")
        assert response.headers["connection"] == "close"
        assert (await http.get("/health")).status_code == httpx.codes.OK

    async def test_accepts_a_head_just_under_the_limit(self, http: httpx.AsyncClient) -> None:
        response = await http.get("/health", headers={"X-Padding": "a" * (MAX_HEADER_BYTES - 512)})

        assert response.status_code == httpx.codes.OK

    async def test_refuses_a_head_of_many_small_headers(self, http: httpx.AsyncClient) -> None:
        headers = [(f"X-Field-{n}", "v" * 100) for n in range(200)]

        response = await http.get("/health", headers=headers)

        assert_error(response, 431, "headers_too_large")

    async def test_serves_nothing_pipelined_behind_a_refused_head(
        self, limits_server: ServerProcess
    ) -> None:
        large_head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 32768
        connection = await connect(limits_server, large_head + b"\r\n\r\n" + _HEALTH)
        try:
            answer = await read_answer(connection)
            _, after = await seconds_until_closed(connection, limit=_ANSWER_TIMEOUT_S)
        finally:
            connection.close()

        assert answer.status == 431
        assert after == b""

    async def test_large_heads_do_not_grow_the_server(self, limits_server: ServerProcess) -> None:
        """Ten clients each sending a 4 MiB header: the server keeps at most a few reads each."""
        resident_kib = reset_peak_memory(limits_server.pid)
        head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * (4 * _MIB)

        async def send_large_head() -> Answer:
            connection = await connect(limits_server)
            try:
                connection.writer.write(head + b"\r\n\r\n")
                try:
                    await connection.writer.drain()
                except ConnectionError:
                    return Answer(None, b"")
                return await read_answer(connection)
            finally:
                connection.close()

        answers = await asyncio.gather(*(send_large_head() for _ in range(10)))

        assert {answer.status for answer in answers} <= {431, None}, answers
        grown_mib = (peak_memory_kib(limits_server.pid) - resident_kib) / 1024
        assert grown_mib < 16, f"the server grew by {grown_mib:.1f} MiB"
        assert (await get_health(limits_server)).status == httpx.codes.OK


class TestReadDeadlines:
    @pytest.mark.parametrize(
        "first_bytes",
        [
            pytest.param(b"", id="silent"),
            pytest.param(b"GET /hea", id="half-a-request-line"),
            pytest.param(_PARTIAL_HEAD, id="unfinished-headers"),
        ],
    )
    async def test_closes_a_connection_whose_headers_do_not_arrive(
        self, limits_server: ServerProcess, first_bytes: bytes
    ) -> None:
        connection = await connect(limits_server, first_bytes)
        try:
            seconds, received = await seconds_until_closed(
                connection, limit=HEADER_TIMEOUT_S + _MARGIN_S
            )
        finally:
            connection.close()

        assert received == b""
        assert seconds >= HEADER_TIMEOUT_S * 0.8

    async def test_trickling_header_bytes_does_not_extend_the_deadline(
        self, limits_server: ServerProcess
    ) -> None:
        connection = await connect(limits_server, _PARTIAL_HEAD)
        started = time.monotonic()
        try:
            async with asyncio.timeout(HEADER_TIMEOUT_S + _MARGIN_S):
                while True:
                    connection.writer.write(b"w")
                    try:
                        await connection.writer.drain()
                        # Doubles as the pace of the trickle: at most a fifth of the timeout.
                        async with asyncio.timeout(HEADER_TIMEOUT_S / 5):
                            received = await connection.reader.read(65536)
                    except TimeoutError:
                        continue
                    except ConnectionError:
                        received = b""
                    break
        finally:
            connection.close()

        assert received == b""
        assert time.monotonic() - started >= HEADER_TIMEOUT_S * 0.8

    async def test_closes_a_connection_whose_body_does_not_arrive(
        self, limits_server: ServerProcess
    ) -> None:
        head = (
            f"POST {CREATE_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        ).encode()
        connection = await connect(limits_server, head + b'{"name": "')
        try:
            seconds, received = await seconds_until_closed(
                connection, limit=BODY_TIMEOUT_S + _MARGIN_S
            )
        finally:
            connection.close()

        assert not received.startswith(b"HTTP/1.1 2"), received
        assert seconds >= BODY_TIMEOUT_S * 0.8

    async def test_a_kept_alive_connection_gets_a_fresh_header_deadline(
        self, limits_server: ServerProcess
    ) -> None:
        """A connection older than the header timeout still serves a prompt request."""
        connection = await connect(limits_server, _HEALTH)
        try:
            assert (await read_answer(connection)).status == httpx.codes.OK
            for _ in range(3):
                # Between requests uvicorn's keep-alive timeout (5 s) applies, not ours.
                await asyncio.sleep(HEADER_TIMEOUT_S / 2)
                connection.writer.write(_HEALTH)
                await connection.writer.drain()
                assert (await read_answer(connection)).status == httpx.codes.OK
        finally:
            connection.close()


class TestWebSocket:
    async def test_a_dashboard_outlives_the_read_deadlines(
        self, limits_server: ServerProcess
    ) -> None:
        """Once upgraded, the connection is the WebSocket protocol's: no HTTP deadline applies."""
        async with Dashboard.open(limits_server) as dashboard:
            await asyncio.sleep(max(HEADER_TIMEOUT_S, BODY_TIMEOUT_S) * 1.5)  # past both

            await dashboard.ping()


class TestConnectionCap:
    async def test_answers_503_beyond_the_cap_until_slow_connections_are_dropped(
        self, limits_server: ServerProcess
    ) -> None:
        """``MAX_CONNECTIONS`` open connections are served; a request on one more gets 503.

        The holders send half a request, so the header deadline drops them: the whole check
        must fit in that second, and is tried again if a slow machine made it miss.
        """
        for _ in range(_ATTEMPTS):
            async with AsyncExitStack() as holders_stack:
                started = time.monotonic()
                holders = []
                for _ in range(MAX_CONNECTIONS - 1):
                    holder = await connect(limits_server, _PARTIAL_HEAD)
                    holders_stack.callback(holder.close)
                    holders.append(holder)
                at_cap = await get_health(limits_server)  # the twentieth connection
                holder = await connect(limits_server, _PARTIAL_HEAD)
                holders_stack.callback(holder.close)
                holders.append(holder)
                beyond_cap = await get_health(limits_server)  # the twenty-first
                in_time = time.monotonic() - started < HEADER_TIMEOUT_S * 0.7

                for holder in holders:  # the server drops them at their header deadline
                    _, received = await seconds_until_closed(
                        holder, limit=HEADER_TIMEOUT_S + _MARGIN_S
                    )
                    assert received == b""
            if in_time:
                break
        else:
            pytest.skip("the machine was too busy to open the connections within the timeout")

        assert at_cap.status == httpx.codes.OK
        assert beyond_cap.status == httpx.codes.SERVICE_UNAVAILABLE
        assert beyond_cap.body == b"Service Unavailable"  # uvicorn's own answer, plain text
        assert (await get_health(limits_server)).status == httpx.codes.OK
