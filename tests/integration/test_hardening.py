"""The public surface under abuse: rate limits, API keys, networks, content types, CORS, security
headers, request ids in JSON logs, and metrics, through a real ``booking serve``.

The harness starts servers with ``BOOKING_RATE_LIMIT=0``; these tests start their own with the
limit (and the other protections) switched on. Rate-limit tests give every client a fresh
identity (an address behind the trusted proxy, or an API key), so they never share a bucket, and
they check that all their requests fell into one window (``RateLimit-Reset`` never went up),
trying again with a fresh identity in the rare case that a minute boundary fell in between.
Only a configured API key is an identity; an IPv6 client is its /64.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import itertools
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from itertools import pairwise
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.integration.direct_sql import run_sql
from tests.integration.endpoint import CREATE_PATH, assert_error, booking_body
from tests.integration.working_days import WorkingDays
from tests.support.postgres import PostgresCluster
from tests.support.server import ADMIN_TOKEN, PUBLIC_AGENT_ENDPOINTS, ServerProcess, run_booking

RATE = 120
#: The agent surfaces besides the create endpoint: MCP and the voice platforms' tool endpoints.
OTHER_AGENT_SURFACES = (
    ("POST", "/mcp"),
    ("GET", "/api/agent/tools/"),
    ("POST", "/api/agent/tools/book_appointment/"),
    ("POST", "/api/agent/tools/vapi/"),
)
#: MCP's opening request, and the headers Streamable HTTP wants.
MCP_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "hardening-test", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
ORIGIN = "https://dashboard.example"
API_KEYS = ("it-agent-key-one-7f3a9c", "it-agent-key-two-c91d55")
#: A third configured key, used by one rate-limit test only (so no other test spends it).
RATE_KEY = "it-agent-key-rate-5d0e61"
WRONG_KEY = "it-wrong-key-0b1e2d"
RATE_LIMITED = "Too many requests, please retry later"
CSP = (
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'"
)
_LOG_WAIT_S = 10.0
_POLL_S = 0.05
_ATTEMPTS = 3
_PROBE_CONNECTIONS = 12

#: Addresses behind the trusted proxy; each test client takes its own (198.18.0.0/15 is for tests).
_ADDRESSES = (str(ipaddress.ip_address("198.18.0.1") + n) for n in itertools.count())


def fresh_address() -> str:
    return next(_ADDRESSES)


def fresh_key() -> str:
    return f"it-client-key-{uuid.uuid4().hex}"


def behind_proxy() -> dict[str, str]:
    return {"X-Forwarded-For": fresh_address()}


# --- servers --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """Rate-limited, behind a trusted proxy on 127.0.0.1, with a CORS allow-list; public."""
    env = {
        **PUBLIC_AGENT_ENDPOINTS,
        "BOOKING_RATE_LIMIT": f"{RATE}/minute",
        "BOOKING_TRUSTED_PROXIES": "127.0.0.1/32",
        "BOOKING_CORS_ORIGINS": ORIGIN,
        "BOOKING_LOG_LEVEL": "INFO",
    }
    log_dir = tmp_path_factory.mktemp("limited-server")
    with ServerProcess(database_url, env=env, log_dir=log_dir) as process:
        yield process


@pytest.fixture(scope="module")
def guarded_server(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """API keys required, only 127.0.0.1 allowed, no trusted proxy."""
    env = {
        "BOOKING_RATE_LIMIT": f"{RATE}/minute",
        "BOOKING_AGENT_API_KEYS": ",".join((*API_KEYS, RATE_KEY)),
        "BOOKING_ALLOWED_NETWORKS": "127.0.0.1/32",
        "BOOKING_LOG_LEVEL": "INFO",
    }
    log_dir = tmp_path_factory.mktemp("guarded-server")
    with ServerProcess(database_url, env=env, log_dir=log_dir) as process:
        yield process


@pytest.fixture
async def limited(limited_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=limited_server.base_url, timeout=30.0) as http:
        yield http


@pytest.fixture
async def guarded(guarded_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=guarded_server.base_url, timeout=30.0) as http:
        yield http


@pytest.fixture
async def from_elsewhere(guarded_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    """A client connecting from 127.0.0.2, outside the guarded server's allowed network."""
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(
        base_url=guarded_server.base_url, timeout=30.0, transport=transport
    ) as http:
        yield http


# --- helpers --------------------------------------------------------------------------------


def one_window(responses: list[httpx.Response]) -> bool:
    resets = [int(response.headers["ratelimit-reset"]) for response in responses]
    return all(earlier >= later for earlier, later in pairwise(resets))


async def spend_allowance(
    client: httpx.AsyncClient,
    identity: Callable[[], dict[str, str]],
    *,
    rate: int = RATE,
    path: str = CREATE_PATH,
    body: dict[str, Any] | None = None,
) -> tuple[dict[str, str], list[httpx.Response], httpx.Response]:
    """``rate`` requests as one fresh client, then one more; all in one window."""
    for _ in range(_ATTEMPTS):
        headers = identity()
        allowed = [await client.post(path, json=body or {}, headers=headers) for _ in range(rate)]
        over = await client.post(path, json=body or {}, headers=headers)
        if one_window([*allowed, over]):
            return headers, allowed, over
    pytest.fail(f"a rate-limit window boundary fell inside each of {_ATTEMPTS} attempts")


def assert_rate_limited(response: httpx.Response) -> None:
    assert_error(response, 429, "rate_limited", RATE_LIMITED)
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60, response.headers
    assert response.headers["ratelimit-limit"] == str(RATE)
    assert response.headers["ratelimit-remaining"] == "0"
    assert response.headers["ratelimit-reset"] == str(retry_after)


def assert_counted_as_fresh_client(response: httpx.Response) -> None:
    """Not limited: the body was judged (an empty object lacks fields) with a full allowance."""
    assert_error(response, 400, "missing_field")
    assert response.headers["ratelimit-remaining"] == str(RATE - 1)


def log_records(server: ServerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]


async def wait_for_records(
    server: ServerProcess, matches: Callable[[dict[str, Any]], bool], count: int = 1
) -> list[dict[str, Any]]:
    """Log records are written after the response is sent: wait for them, with a timeout."""
    deadline = time.monotonic() + _LOG_WAIT_S
    while True:
        found = [record for record in log_records(server) if matches(record)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{count} matching log records not written in time:\n{server.log_text()}")
        await asyncio.sleep(_POLL_S)


def metric_samples(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


async def scrape(client: httpx.AsyncClient) -> dict[str, float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return metric_samples(response.text)


async def wait_for_metric(
    client: httpx.AsyncClient, name: str, accept: Callable[[float | None], bool]
) -> dict[str, float]:
    deadline = time.monotonic() + _LOG_WAIT_S
    while True:
        samples = await scrape(client)
        if accept(samples.get(name)):
            return samples
        if time.monotonic() > deadline:
            pytest.fail(f"{name} never became acceptable: {samples.get(name)}")
        await asyncio.sleep(_POLL_S)


# --- rate limiting --------------------------------------------------------------------------


class TestRateLimitPerClient:
    async def test_the_121st_request_in_a_minute_gets_429_and_others_go_on(
        self, limited: httpx.AsyncClient
    ) -> None:
        headers, allowed, over = await spend_allowance(limited, behind_proxy)

        assert {response.status_code for response in allowed} == {400}
        assert [int(r.headers["ratelimit-remaining"]) for r in allowed] == list(
            range(RATE - 1, -1, -1)
        )
        assert {r.headers["ratelimit-limit"] for r in allowed} == {str(RATE)}
        assert_rate_limited(over)
        assert_rate_limited(await limited.post(CREATE_PATH, json={}, headers=headers))
        assert_counted_as_fresh_client(
            await limited.post(CREATE_PATH, json={}, headers=behind_proxy())
        )

    async def test_mcp_is_limited_like_the_agent_endpoints(
        self, limited: httpx.AsyncClient
    ) -> None:
        def identity() -> dict[str, str]:
            return {**behind_proxy(), **MCP_HEADERS}

        headers, allowed, over = await spend_allowance(
            limited, identity, path="/mcp", body=MCP_INITIALIZE
        )

        assert {response.status_code for response in allowed} == {200}
        assert [int(r.headers["ratelimit-remaining"]) for r in allowed] == list(
            range(RATE - 1, -1, -1)
        )
        assert_rate_limited(over)
        # One allowance per client across the agent surfaces: the create endpoint is spent too.
        assert_rate_limited(await limited.post(CREATE_PATH, json={}, headers=headers))

    async def test_an_unconfigured_api_key_buys_no_allowance_of_its_own(
        self, limited: httpx.AsyncClient
    ) -> None:
        """Without configured keys, a made-up key per request is still the same address."""
        address = fresh_address()

        def new_key_each_time() -> dict[str, str]:
            return {"X-API-Key": fresh_key(), "X-Forwarded-For": address}

        for _ in range(_ATTEMPTS):
            allowed = [
                await limited.post(CREATE_PATH, json={}, headers=new_key_each_time())
                for _ in range(RATE)
            ]
            over = await limited.post(CREATE_PATH, json={}, headers=new_key_each_time())
            if one_window([*allowed, over]):
                break
            address = fresh_address()

        assert [int(r.headers["ratelimit-remaining"]) for r in allowed] == list(
            range(RATE - 1, -1, -1)
        )
        assert_rate_limited(over)

    async def test_a_configured_api_key_is_a_client_of_its_own(
        self, guarded: httpx.AsyncClient
    ) -> None:
        """Every request comes from 127.0.0.1, which other tests also use: the key's own
        bucket starts full and runs out on its own."""
        headers, allowed, over = await spend_allowance(guarded, lambda: {"X-API-Key": RATE_KEY})

        assert {response.status_code for response in allowed} == {400}
        assert allowed[0].headers["ratelimit-remaining"] == str(RATE - 1)
        assert_rate_limited(over)
        assert headers == {"X-API-Key": RATE_KEY}

    async def test_ipv6_clients_are_counted_by_their_64_bit_network(
        self, limited: httpx.AsyncClient
    ) -> None:
        """A host that takes a new address in its /64 for every request is one client."""
        for attempt in range(_ATTEMPTS):
            network = ipaddress.ip_network(f"2001:db8:{attempt}:{uuid.uuid4().int % 65535:x}::/64")
            hosts = (str(network.network_address + n + 1) for n in itertools.count())
            responses = [
                await limited.post(CREATE_PATH, json={}, headers={"X-Forwarded-For": next(hosts)})
                for _ in range(RATE + 1)
            ]
            if one_window(responses):
                break
        other_network = str(ipaddress.ip_address(f"2001:db8:ffff:{attempt}::1"))

        assert_rate_limited(responses[-1])
        assert_counted_as_fresh_client(
            await limited.post(CREATE_PATH, json={}, headers={"X-Forwarded-For": other_network})
        )

    async def test_the_client_is_the_right_most_address_not_of_a_trusted_proxy(
        self, limited: httpx.AsyncClient
    ) -> None:
        headers, _, over = await spend_allowance(limited, behind_proxy)
        client = headers["X-Forwarded-For"]

        assert_rate_limited(over)
        for chain in (f"{fresh_address()}, {client}", f"{client}, 127.0.0.1"):
            response = await limited.post(CREATE_PATH, json={}, headers={"X-Forwarded-For": chain})
            assert_rate_limited(response)

    async def test_other_paths_are_not_limited(self, limited: httpx.AsyncClient) -> None:
        response = await limited.get("/health")

        assert response.status_code == 200
        assert "ratelimit-limit" not in response.headers

    async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(
        self, guarded: httpx.AsyncClient
    ) -> None:
        for _ in range(_ATTEMPTS):
            first = await guarded.post(
                CREATE_PATH, json={}, headers={"X-Forwarded-For": fresh_address()}
            )
            second = await guarded.post(
                CREATE_PATH, json={}, headers={"X-Forwarded-For": fresh_address()}
            )
            if one_window([first, second]):
                break
        remaining = [int(r.headers["ratelimit-remaining"]) for r in (first, second)]

        assert remaining[1] == remaining[0] - 1, "both count against the peer, 127.0.0.1"


async def connections_to_two_workers(
    process: ServerProcess, stack: contextlib.AsyncExitStack
) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    """Two kept-alive connections served by different worker processes.

    Which worker accepts a connection is the kernel's choice, so once both have started, open
    several, one after the other (a burst is accepted whole by whichever worker wakes first),
    and ask the access log (its ``pid``) which worker served each.
    """
    await wait_for_records(process, lambda r: r["message"] == "Application startup complete.", 2)
    for _ in range(_ATTEMPTS):
        probes = {}
        for _ in range(_PROBE_CONNECTIONS):
            http = httpx.AsyncClient(
                base_url=process.base_url, timeout=30.0, limits=httpx.Limits(max_connections=1)
            )
            rid = uuid.uuid4().hex
            probes[rid] = await stack.enter_async_context(http)
            await http.get("/health", headers={"X-Request-ID": rid})
        records = await wait_for_records(
            process, lambda r, ids=frozenset(probes): r["request_id"] in ids, count=len(probes)
        )
        by_pid = {record["pid"]: probes[record["request_id"]] for record in records}
        if len(by_pid) == 2:
            first, second = by_pid.values()
            return first, second
    pytest.fail(f"every connection went to one worker in {_ATTEMPTS} rounds")


@pytest.mark.postgres
class TestRateLimitAcrossWorkers:
    async def test_two_workers_share_one_count_on_postgres(
        self, postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        url = postgres_cluster.create_database(f"booking_it_rl_{uuid.uuid4().hex[:8]}")
        run_booking(["migrate"], url)
        rate = 20
        keys = [fresh_key() for _ in range(_ATTEMPTS)]  # only configured keys name a client
        env = {
            "BOOKING_RATE_LIMIT": f"{rate}/minute",
            "BOOKING_LOG_LEVEL": "INFO",
            "BOOKING_AGENT_API_KEYS": ",".join(keys),
        }
        log_dir = tmp_path_factory.mktemp("two-workers")
        with ServerProcess(url, workers=2, env=env, log_dir=log_dir) as process:
            async with contextlib.AsyncExitStack() as stack:
                workers = await connections_to_two_workers(process, stack)
                for key in keys:
                    # Alternate: with a count per process each worker would allow ``rate``.
                    responses = [
                        await workers[n % 2].post(CREATE_PATH, json={}, headers={"X-API-Key": key})
                        for n in range(2 * rate)
                    ]
                    if one_window(responses):
                        break

        statuses = [response.status_code for response in responses]
        assert statuses == [400] * rate + [429] * rate
        bucket = "key:" + hashlib.sha256(key.encode()).hexdigest()
        rows = await run_sql(
            url, "SELECT count FROM rate_limit_counters WHERE bucket_key = $1", bucket
        )
        assert rows == [(2 * rate,)]


@pytest.mark.postgres
class TestRateLimitStoreFailure:
    async def test_a_broken_counter_store_lets_requests_through_and_warns(
        self, postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        url = postgres_cluster.create_database(f"booking_it_rl_{uuid.uuid4().hex[:8]}")
        run_booking(["migrate"], url)
        await run_sql(url, "DROP TABLE rate_limit_counters")
        env = {**PUBLIC_AGENT_ENDPOINTS, "BOOKING_RATE_LIMIT": "1/minute"}
        log_dir = tmp_path_factory.mktemp("broken-store")
        with ServerProcess(url, env=env, log_dir=log_dir) as process:
            async with httpx.AsyncClient(base_url=process.base_url, timeout=30.0) as http:
                responses = [await http.post(CREATE_PATH, json={}) for _ in range(3)]
            warnings = await wait_for_records(
                process, lambda r: r["message"].startswith("rate limit not enforced")
            )

        for response in responses:
            assert_error(response, 400, "missing_field")
            assert "ratelimit-limit" not in response.headers
        assert len(warnings) == 1, "one warning a minute, not one per request"
        assert warnings[0]["level"] == "WARNING"


# --- access control -------------------------------------------------------------------------


class TestApiKeys:
    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({}, id="missing"),
            pytest.param({"X-API-Key": WRONG_KEY}, id="wrong"),
            pytest.param({"X-API-Key": API_KEYS[0][:-1]}, id="prefix-of-a-key"),
            pytest.param({"X-API-Key": ""}, id="empty"),
        ],
    )
    async def test_without_a_valid_key_the_agent_endpoints_answer_401(
        self, guarded: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await guarded.post(CREATE_PATH, json={}, headers=headers)

        assert_error(response, 401, "unauthorized", "API key required")

    @pytest.mark.parametrize("key", API_KEYS)
    async def test_each_configured_key_is_accepted(
        self, guarded: httpx.AsyncClient, key: str
    ) -> None:
        response = await guarded.post(CREATE_PATH, json={}, headers={"X-API-Key": key})

        assert_error(response, 400, "missing_field")

    @pytest.mark.parametrize(("method", "path"), OTHER_AGENT_SURFACES)
    @pytest.mark.parametrize("key", [None, WRONG_KEY])
    async def test_mcp_and_the_tool_endpoints_need_a_key_too(
        self, guarded: httpx.AsyncClient, method: str, path: str, key: str | None
    ) -> None:
        headers = {**MCP_HEADERS, **({"X-API-Key": key} if key else {})}

        response = await guarded.request(method, path, json=MCP_INITIALIZE, headers=headers)

        assert_error(response, 401, "unauthorized", "API key required")

    async def test_mcp_answers_a_configured_key(self, guarded: httpx.AsyncClient) -> None:
        headers = {**MCP_HEADERS, "X-API-Key": API_KEYS[0]}

        response = await guarded.post("/mcp", json=MCP_INITIALIZE, headers=headers)

        assert response.status_code == 200, response.text
        assert response.json()["result"]["serverInfo"]["name"] == "agent-booking"

    async def test_other_endpoints_need_no_key(self, guarded: httpx.AsyncClient) -> None:
        assert (await guarded.get("/health")).status_code == 200


class TestAllowedNetworks:
    async def test_a_client_outside_them_gets_403_even_with_a_key(
        self, from_elsewhere: httpx.AsyncClient
    ) -> None:
        response = await from_elsewhere.post(
            CREATE_PATH, json={}, headers={"X-API-Key": API_KEYS[0]}
        )

        assert_error(response, 403, "forbidden")

    @pytest.mark.parametrize(("method", "path"), OTHER_AGENT_SURFACES)
    async def test_mcp_and_the_tool_endpoints_refuse_it_too(
        self, from_elsewhere: httpx.AsyncClient, method: str, path: str
    ) -> None:
        headers = {**MCP_HEADERS, "X-API-Key": API_KEYS[0]}

        response = await from_elsewhere.request(method, path, json=MCP_INITIALIZE, headers=headers)

        assert_error(response, 403, "forbidden")

    async def test_an_untrusted_peer_cannot_claim_an_allowed_address(
        self, from_elsewhere: httpx.AsyncClient
    ) -> None:
        headers = {"X-API-Key": API_KEYS[0], "X-Forwarded-For": "127.0.0.1"}

        response = await from_elsewhere.post(CREATE_PATH, json={}, headers=headers)

        assert_error(response, 403, "forbidden")

    async def test_other_endpoints_stay_open(self, from_elsewhere: httpx.AsyncClient) -> None:
        assert (await from_elsewhere.get("/health")).status_code == 200


# --- content type ---------------------------------------------------------------------------


class TestContentType:
    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "text/json",
        ],
    )
    async def test_a_body_declared_as_something_else_gets_415(
        self, limited: httpx.AsyncClient, content_type: str
    ) -> None:
        headers = behind_proxy() | {"Content-Type": content_type}

        response = await limited.post(CREATE_PATH, content=b"{}", headers=headers)

        assert_error(
            response, 415, "unsupported_media_type", "Content-Type must be application/json"
        )

    @pytest.mark.parametrize(
        "content_type",
        [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/vnd.booking+json",
            None,
        ],
    )
    async def test_json_or_no_declared_type_reaches_the_endpoint(
        self, limited: httpx.AsyncClient, content_type: str | None
    ) -> None:
        headers = behind_proxy() | ({"Content-Type": content_type} if content_type else {})

        response = await limited.post(CREATE_PATH, content=b"{}", headers=headers)

        assert_error(response, 400, "missing_field")


# --- browsers -------------------------------------------------------------------------------


class TestCors:
    async def test_an_allowed_origin_gets_cors_headers(self, limited: httpx.AsyncClient) -> None:
        response = await limited.get("/health", headers={"Origin": ORIGIN})

        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "x-request-id" in response.headers["access-control-expose-headers"].lower()

    async def test_a_preflight_from_an_allowed_origin_is_answered(
        self, limited: httpx.AsyncClient
    ) -> None:
        headers = {
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-api-key",
        }

        response = await limited.options(CREATE_PATH, headers=headers)

        assert response.status_code == 204, response.text
        assert response.headers["access-control-allow-origin"] == ORIGIN

    @pytest.mark.parametrize("method", ["GET", "OPTIONS"])
    async def test_another_origin_gets_no_allow_origin(
        self, limited: httpx.AsyncClient, method: str
    ) -> None:
        headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}

        response = await limited.request(method, "/health", headers=headers)

        assert "access-control-allow-origin" not in response.headers

    async def test_without_origins_configured_there_are_no_cors_headers(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/health", headers={"Origin": ORIGIN})

        assert not [name for name in response.headers if name.startswith("access-control-")]


class TestCrossSiteBrowserWrites:
    """A page on another site cannot make its visitors' browsers book (no preflight needed for
    ``fetch(url, {mode: "no-cors", body: blob})``); agents, which send no browser headers, and
    the origins CORS allows are unaffected."""

    @staticmethod
    def no_cors_post(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
        """What the browser sends for a ``no-cors`` fetch with a Blob body: no Content-Type."""
        body = json.dumps(
            {
                "phone": "5550123",
                "service_name": "Legal Consultation",
                "booking_date": "2030-01-07",
                "booking_time": "14:00",
            }
        ).encode()
        return client.post(CREATE_PATH, content=body, headers=headers)

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param(
                {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, id="cross-site"
            ),
            pytest.param(
                {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.dashboard.example"},
                id="same-site",
            ),
            pytest.param({"Origin": "https://evil.example"}, id="origin-only"),
            pytest.param({"Origin": "null"}, id="opaque-origin"),
        ],
    )
    async def test_a_page_of_another_site_is_refused(
        self, limited: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await self.no_cors_post(limited, headers | behind_proxy())

        assert_error(response, 403, "forbidden", "Cross-site browser requests are not allowed")

    async def test_it_is_refused_from_inside_the_allowed_network_too(
        self, guarded: httpx.AsyncClient
    ) -> None:
        headers = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
        response = await self.no_cors_post(guarded, headers | {"X-API-Key": API_KEYS[0]})

        assert_error(response, 403, "forbidden", "Cross-site browser requests are not allowed")

    @pytest.mark.parametrize(
        "headers",
        [
            pytest.param({}, id="an-agent"),
            pytest.param({"Sec-Fetch-Site": "cross-site", "Origin": ORIGIN}, id="cors-origin"),
            pytest.param({"Sec-Fetch-Site": "same-origin"}, id="same-origin"),
            pytest.param({"Sec-Fetch-Site": "none"}, id="typed-by-the-user"),
        ],
    )
    async def test_agents_and_allowed_origins_go_through(
        self, limited: httpx.AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await limited.post(CREATE_PATH, json={}, headers=headers | behind_proxy())

        assert_error(response, 400, "missing_field")

    async def test_the_servers_own_origin_goes_through(
        self, limited: httpx.AsyncClient, limited_server: ServerProcess
    ) -> None:
        headers = {"Origin": limited_server.base_url} | behind_proxy()
        response = await limited.post(CREATE_PATH, json={}, headers=headers)

        assert_error(response, 400, "missing_field")

    async def test_reads_are_not_affected(self, limited: httpx.AsyncClient) -> None:
        headers = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}
        response = await limited.get(
            "/api/agent/availability/", params={"date": "2030-01-07"}, headers=headers
        )

        assert response.status_code == 200, response.text


class TestSecurityHeaders:
    async def test_the_dashboard_page_gets_the_html_security_headers(
        self, limited: httpx.AsyncClient
    ) -> None:
        response = await limited.get("/admin/")
        if response.status_code != 200 or "text/html" not in response.headers["content-type"]:
            pytest.skip("no HTML page at /admin/ yet")

        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"

    @pytest.mark.parametrize("path", ["/health", "/nope", "/metrics"])
    async def test_every_response_gets_nosniff_and_json_no_csp(
        self, limited: httpx.AsyncClient, path: str
    ) -> None:
        response = await limited.get(path)

        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in response.headers


# --- observability --------------------------------------------------------------------------


class TestRequestIds:
    async def test_a_valid_incoming_id_is_echoed(self, limited: httpx.AsyncClient) -> None:
        request_id = f"agent-call:{uuid.uuid4()}"

        response = await limited.get("/health", headers={"X-Request-ID": request_id})

        assert response.headers["x-request-id"] == request_id

    @pytest.mark.parametrize(
        "incoming",
        [None, "has spaces in it", "x" * 129, 'quote"d', "ünïcode".encode()],
        ids=["missing", "spaces", "too-long", "quote", "non-ascii"],
    )
    async def test_otherwise_one_is_generated(
        self, limited: httpx.AsyncClient, incoming: str | bytes | None
    ) -> None:
        headers = {"X-Request-ID": incoming} if incoming else {}

        first = await limited.get("/nope", headers=headers)
        second = await limited.get("/nope", headers=headers)

        ids = [response.headers["x-request-id"] for response in (first, second)]
        assert ids[0] != ids[1]
        assert all(len(value) == 32 and int(value, 16) >= 0 for value in ids), ids

    async def test_the_access_log_is_json_and_carries_the_id(
        self, limited: httpx.AsyncClient, limited_server: ServerProcess
    ) -> None:
        request_id = f"it-{uuid.uuid4().hex}"
        address = fresh_address()
        headers = {"X-Request-ID": request_id, "X-Forwarded-For": address}

        await limited.post(f"{CREATE_PATH}?token=not-logged", json={}, headers=headers)

        [record] = await wait_for_records(limited_server, lambda r: r["request_id"] == request_id)
        assert record["logger"] == "entrypoints.http.access"
        assert record["level"] == "INFO"
        assert record["method"] == "POST"
        assert record["path"] == CREATE_PATH
        assert record["status"] == 400
        assert record["client"] == address
        assert isinstance(record["duration_ms"], float)
        assert record["time"].endswith("Z")
        assert "not-logged" not in limited_server.log_text()

    async def test_every_log_line_is_one_json_object(
        self, limited: httpx.AsyncClient, limited_server: ServerProcess
    ) -> None:
        await limited.get("/health")
        lines = [
            line
            for line in limited_server.log_text().splitlines()
            if line and not line.startswith("$ ")  # the harness's own note of the command
        ]

        assert lines
        for line in lines:
            record = json.loads(line)
            assert {"time", "level", "logger", "message", "request_id"} <= set(record), line


class TestMetrics:
    async def test_counters_move_after_a_booking_and_a_rejection(
        self, limited: httpx.AsyncClient, days: WorkingDays
    ) -> None:
        before = await scrape(limited)
        rejected = 'booking_rejections_total{code="invalid_date"}'
        created = await limited.post(
            CREATE_PATH, json=booking_body(days.take()), headers=behind_proxy()
        )
        refused = await limited.post(
            CREATE_PATH,
            json=booking_body(days.take(), booking_date="31/31/2027"),
            headers=behind_proxy(),
        )
        assert created.status_code == 201, created.text
        assert_error(refused, 400, "invalid_date")

        route = 'route="/api/agent/booking/create",method="POST",status_class="2xx"'
        count = f"booking_http_request_duration_seconds_count{{{route}}}"
        # The duration is recorded once the response is sent: wait for the 201's.
        after = await wait_for_metric(
            limited, count, lambda value: (value or 0) >= before.get(count, 0) + 1
        )

        assert (
            after["booking_bookings_created_total"] == before["booking_bookings_created_total"] + 1
        )
        assert after[rejected] == before.get(rejected, 0) + 1
        assert after[f'booking_http_request_duration_seconds_bucket{{{route},le="+Inf"}}'] >= 1

    async def test_event_lag_is_measured_once_a_dashboard_has_been_sent_an_event(
        self, limited: httpx.AsyncClient, limited_server: ServerProcess, days: WorkingDays
    ) -> None:
        url = f"{limited_server.ws_url}/ws/admin/bookings/"
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with connect(url, additional_headers=headers) as dashboard:
            await wait_for_metric(limited, "booking_websocket_clients", lambda value: value == 1)
            created = await limited.post(
                CREATE_PATH, json=booking_body(days.take()), headers=behind_proxy()
            )
            assert created.status_code == 201, created.text
            message = json.loads(await asyncio.wait_for(dashboard.recv(), _LOG_WAIT_S))
            assert message["data"]["id"] == created.json()["booking_id"]
            samples = await scrape(limited)
        lag = samples["booking_event_lag_seconds"]
        assert 0 <= lag < _LOG_WAIT_S

    async def test_connected_dashboards_are_a_gauge(
        self, limited: httpx.AsyncClient, limited_server: ServerProcess
    ) -> None:
        url = f"{limited_server.ws_url}/ws/admin/bookings/"
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with connect(url, additional_headers=headers):
            await wait_for_metric(limited, "booking_websocket_clients", lambda value: value == 1)
        await wait_for_metric(limited, "booking_websocket_clients", lambda value: value == 0)


class TestClientsThatLeaveMidBody:
    """Issue 13, #10: a client that announces 1000 body bytes, sends half and hangs up was
    logged as an unhandled error and counted as a 5xx. Its leaving is logged at INFO as a client
    disconnect (status 499) and counted on its own, on the direct lane and on Litestar's routes
    alike."""

    @pytest.mark.parametrize(
        ("method", "path", "headers", "route"),
        [
            pytest.param("POST", CREATE_PATH, {}, "/api/agent/booking/create", id="direct-lane"),
            pytest.param(
                "POST",
                CREATE_PATH,
                {"Origin": ORIGIN},
                "/api/agent/booking/create",
                id="litestar-create",
            ),
            pytest.param(
                "PATCH",
                "/api/admin/settings/",
                {"Authorization": f"Bearer {ADMIN_TOKEN}"},
                "/api/admin/settings",
                id="litestar-admin",
            ),
        ],
    )
    async def test_is_logged_as_a_disconnect_and_not_counted_as_a_server_error(
        self,
        limited: httpx.AsyncClient,
        limited_server: ServerProcess,
        method: str,
        path: str,
        headers: dict[str, str],
        route: str,
    ) -> None:
        labels = f'route="{route}",method="{method}"'
        disconnects = f"booking_client_disconnects_total{{{labels}}}"
        server_errors = (
            f'booking_http_request_duration_seconds_count{{{labels},status_class="5xx"}}'
        )
        before = await scrape(limited)
        log_start = len(limited_server.log_text())

        await asyncio.to_thread(
            _send_half_a_body, limited_server, method, path, headers | behind_proxy()
        )

        record = await _access_record(limited_server, method, path, log_start)
        after = await scrape(limited)  # counted before the access record is written

        assert record["status"] == 499, record
        assert record["level"] == "INFO", record
        assert "client disconnected" in record["message"], record
        assert after.get(server_errors, 0) == before.get(server_errors, 0)
        assert after.get(disconnects, 0) == before.get(disconnects, 0) + 1
        logged = limited_server.log_text()[log_start:]
        assert '"level": "ERROR"' not in logged, logged
        assert "Traceback" not in logged, logged


def _send_half_a_body(
    server: ServerProcess, method: str, path: str, headers: dict[str, str]
) -> None:
    """Headers announcing 1000 bytes of JSON, 500 of them, then the connection is closed."""
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append("Content-Length: 1000")
    with socket.create_connection(("127.0.0.1", server.port), timeout=_LOG_WAIT_S) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b'{"notes": "' + b"x" * 489)


async def _access_record(
    server: ServerProcess, method: str, path: str, log_start: int
) -> dict[str, Any]:
    """The access log record of a request to ``path``, written after ``log_start``."""
    deadline = time.monotonic() + _LOG_WAIT_S
    while True:
        records = [
            json.loads(line)
            for line in server.log_text()[log_start:].splitlines()
            if line.startswith("{")
        ]
        found = [
            record
            for record in records
            if record["logger"] == "entrypoints.http.access"
            and (record.get("method"), record.get("path")) == (method, path)
        ]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            pytest.fail(f"no access log record of the request:\n{server.log_text()[log_start:]}")
        await asyncio.sleep(_POLL_S)


class TestSecretsStayOutOfLogs:
    async def test_no_log_line_holds_the_admin_token_or_an_api_key(
        self, guarded: httpx.AsyncClient, guarded_server: ServerProcess
    ) -> None:
        for key in (*API_KEYS, WRONG_KEY):
            await guarded.post(CREATE_PATH, json={}, headers={"X-API-Key": key})
        await guarded.get(
            "/api/admin/bookings/", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        async with connect(f"{guarded_server.ws_url}/ws/admin/bookings/?token={ADMIN_TOKEN}"):
            pass
        # uvicorn logs each WebSocket handshake with its query string: wait for that line.
        await wait_for_records(guarded_server, lambda r: "WebSocket" in r["message"])

        text = guarded_server.log_text()
        for secret in (ADMIN_TOKEN, *API_KEYS, WRONG_KEY):
            assert secret not in text
        assert "token=[redacted]" in text
