"""Hostile input against a real server: arbitrary JSON and bytes, injection payloads, passwords,
and raw requests to every route.

DESIGN.md: the endpoint is public, so nothing in a body is trusted. Whatever arrives, the answer
is ours (``{"success", "message"}``, plus ``code`` on failure), never a 5xx; text is data, stored
and returned exactly as sent, never interpreted (SQL, templates, markup, lookups, paths); and no
answer ever carries a password or its hash, while the stored hash of an auto-created customer is
never the original's known ``password``.

Every route, not only the create endpoint (issue 13): schemathesis fuzzes each operation the
OpenAPI document describes, admin ones with the admin token (``test_openapi.py``). The raw
requests here reach the rest and go where a typed client cannot: any method, raw bytes in the
path and query, arbitrary headers (credentials, proxies, content types, upgrades), on every route
the app serves (static files and the docs pages included) and on the WebSocket feed with any
``since``, token and first message. None may get a 5xx, none may be logged as an error.

Storage does not change how a body is parsed, so the fuzzing runs on SQLite only; what is stored
does depend on the engine, so the injection payloads go to both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as websocket_connect

from agent_booking.core.passwords import verify_password
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.admin_page import STATIC_DIRECTORY as ADMIN_FILES
from agent_booking.entrypoints.http.app import create_app
from agent_booking.entrypoints.http.docs_page import DOCS_STATIC_DIRECTORY as DOCS_FILES
from tests.integration.direct_sql import run_sql
from tests.integration.endpoint import CREATE_PATH, assert_created, booking_body
from tests.integration.working_days import SLOT_TIMES, WorkingDays
from tests.support.postgres import PostgresCluster
from tests.support.server import (
    ADMIN_TOKEN,
    AGENT_API_KEY,
    AGENT_HEADERS,
    HOST,
    ServerProcess,
    run_booking,
)

FIELDS = (
    "phone",
    "service_name",
    "booking_date",
    "booking_time",
    "first_name",
    "last_name",
    "email",
    "gender",
    "country",
    "notes",
    "status",
)
#: Rate limiting would turn a fuzzing run into 429s; 0 turns it off.
SERVER_ENV = {"BOOKING_RATE_LIMIT": "0"}
INITIAL_PASSWORD = "s3cret"
FUZZ_EXAMPLES = 150
ONE_DAY = dt.timedelta(days=1)

_DAYS = WorkingDays()
#: The only days fuzzed bodies may book, so they never take a slot another test needs.
_FUZZ_DAYS = _DAYS.take_many(2)


# --- servers -----------------------------------------------------------------------------------


def _start(database_url: str, log_dir: Path, env: dict[str, str] | None = None) -> ServerProcess:
    return ServerProcess(database_url, env=SERVER_ENV | (env or {}), log_dir=log_dir).start()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    path = tmp_path_factory.mktemp("sqlite") / "booking.db"
    server = _start(f"sqlite+aiosqlite:///{path}", tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def postgres_server(
    postgres_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    url = postgres_cluster.create_database("booking_fuzzing")
    run_booking(["migrate"], url)
    server = _start(url, tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def any_server(request: pytest.FixtureRequest) -> ServerProcess:
    server: ServerProcess = request.getfixturevalue(f"{request.param}_server")
    return server


@pytest.fixture(scope="module")
def http(sqlite_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        headers=AGENT_HEADERS, base_url=sqlite_server.base_url, timeout=30.0
    ) as client:
        yield client


# --- what every answer must look like ----------------------------------------------------------


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def assert_clean_answer(response: httpx.Response) -> dict[str, Any]:
    """Ours, whatever was sent: no 5xx, our JSON body, no password material."""
    assert response.status_code < 500, (response.status_code, response.text)
    assert response.headers.get("content-type", "").startswith("application/json"), response
    body = response.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("success"), bool), body
    assert isinstance(body.get("message"), str), body
    assert body["message"], body
    if body["success"]:
        assert response.status_code == 201, (response.status_code, body)
    else:
        assert isinstance(body.get("code"), str), body
        assert response.status_code >= 400, (response.status_code, body)
    assert_no_password_material(response.text, body)
    return body


def assert_no_password_material(text: str, document: Any) -> None:
    leaked = {key for key in _keys(document) if "password" in key.lower()}
    assert not leaked, f"password keys in {document}"
    assert "pbkdf2" not in text.lower(), text


# --- strategies --------------------------------------------------------------------------------

_huge_integers = st.integers(min_value=-(10**400), max_value=10**400)
_json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | _huge_integers
    | st.floats()  # NaN, infinities and 1e308 too: sent as the non-JSON tokens Python writes
    | st.text()  # any code point but surrogates: control characters, NUL, RTL overrides, ...
)
_keys_strategy = st.sampled_from(FIELDS) | st.text(max_size=20)
json_values = st.recursive(
    _json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_keys_strategy, children, max_size=6)
    ),
    max_leaves=20,
)
#: A valid body, each field of which may be swapped for anything: reaches every later check.
_valid_fields = {
    "phone": st.from_regex(r"\+?[0-9]{6,15}", fullmatch=True),
    "service_name": st.text(min_size=1, max_size=100),
    "booking_date": st.sampled_from(
        [day.strftime(pattern) for day in _FUZZ_DAYS for pattern in ("%Y-%m-%d", "%d/%m/%Y")]
        # An off day, the past and beyond the horizon reach the policy's checks too.
        + [str(day) for day in (_DAYS.sunday(), _DAYS.today - ONE_DAY, _DAYS.today + 400 * ONE_DAY)]
    ),
    "booking_time": st.sampled_from([*SLOT_TIMES, "2:00 PM", "3:00pm", "16:00:00", "12:30"]),
}
_optional_fields = {
    "first_name": st.text(max_size=150),
    "last_name": st.text(max_size=150),
    "email": st.emails(),
    "gender": st.sampled_from(["male", "Female", "OTHER", ""]),
    "country": st.text(max_size=100),
    "notes": st.text(max_size=300),
    "status": st.sampled_from(["upcoming", "pending", "cancelled", "PENDING"]),
}
almost_valid_bodies = st.builds(
    lambda base, swapped: base | swapped,
    st.fixed_dictionaries(_valid_fields, optional=_optional_fields),
    st.dictionaries(_keys_strategy, json_values, max_size=2),
)


#: Valid JSON with random bytes spliced in: broken escapes, invalid UTF-8 inside strings, ...
spliced_bodies = st.builds(
    lambda encoded, at, junk: encoded[:at] + junk + encoded[at:],
    almost_valid_bodies.map(lambda body: json.dumps(body, allow_nan=True).encode()),
    st.integers(min_value=0, max_value=200),
    st.binary(min_size=1, max_size=8),
)


def _post_json(http: httpx.Client, value: Any) -> httpx.Response:
    # json.dumps, not httpx's json=: it must be able to write NaN and Infinity too.
    content = json.dumps(value, allow_nan=True).encode()
    return http.post(CREATE_PATH, content=content, headers={"content-type": "application/json"})


# --- the tests ---------------------------------------------------------------------------------

_fuzz_settings = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    # Every example is a request to a real server: slow by Hypothesis' standards, on purpose.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class TestArbitraryInput:
    @_fuzz_settings
    @given(value=json_values | almost_valid_bodies)
    @example(value={"phone": 10**400, "service_name": 1e308, "booking_date": float("nan")})
    @example(value={"phone": "1234567\x00", "service_name": "a\x00b"})
    @example(value=json.loads("[" * 400 + "]" * 400))
    def test_any_json_value_gets_a_clean_answer(self, http: httpx.Client, value: Any) -> None:
        body = assert_clean_answer(_post_json(http, value))
        event(body.get("code", "created"))  # --hypothesis-show-statistics shows what was reached

    @_fuzz_settings
    @given(raw=st.binary(max_size=2048) | spliced_bodies)
    @example(raw=b"\xef\xbb\xbf{}")
    @example(raw=b'{"phone": "\\ud800"}')  # a lone surrogate escape
    @example(raw=b"[" * 100_000)
    @example(raw=b'{"notes": "' + b"x" * 70_000 + b'"}')  # over the body limit
    def test_any_bytes_get_a_clean_answer(self, http: httpx.Client, raw: bytes) -> None:
        response = http.post(CREATE_PATH, content=raw, headers={"content-type": "application/json"})
        event(assert_clean_answer(response).get("code", "created"))


INJECTIONS = {
    "sql": "'; DROP TABLE bookings; --",
    "script": "<script>alert(1)</script>",
    "template": "{{7*7}}",
    "jndi": "${jndi:ldap://x}",
    "path": "../../etc/passwd",
    "rtl": "\u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd mixed",
    "joiners": "\U0001f469\u200d\U0001f4bb \u0915\u094d\u200d\u0937",
    "quotes": '"\' \\" %s %n',
}
_FREE_TEXT = ("first_name", "last_name", "service_name", "notes", "country")


class TestInjectionPayloads:
    @pytest.mark.parametrize("payload", INJECTIONS.values(), ids=INJECTIONS.keys())
    def test_are_stored_and_returned_verbatim(self, any_server: ServerProcess, payload: str):
        day = _DAYS.take()
        email = re.sub(r"\s", "", payload) + "@example.com"
        body = booking_body(day, "13:00", **dict.fromkeys(_FREE_TEXT, payload), email=email)
        with httpx.Client(
            headers=AGENT_HEADERS, base_url=any_server.base_url, timeout=30.0
        ) as client:
            response = client.post(CREATE_PATH, json=body)

        assert_clean_answer(response)
        created = assert_created(
            response, body, user_created=True, booking_date=day, booking_time="13:00:00"
        )
        stored = _stored(any_server.database_url, created["booking_id"])
        assert stored == {
            "first_name": payload,
            "last_name": payload,
            "email": email,
            "country": payload,
            "service_name": payload,
            "notes": payload,
        }
        event = _event_of(any_server.database_url, created["booking_id"])
        assert event["service_name"] == payload, event
        assert event["notes"] == payload, event
        assert event["user_details"]["first_name"] == payload, event
        assert event["user_details"]["email"] == email, event


class TestTextDirectionTricks:
    def test_are_refused_before_anything_is_stored(self, any_server: ServerProcess):
        day = _DAYS.take()
        trick = "\u202eexe.gnp\u202c \u2067isolate\u2069 \u200fmark"
        body = booking_body(day, "13:00", service_name=trick)
        with httpx.Client(
            headers=AGENT_HEADERS, base_url=any_server.base_url, timeout=30.0
        ) as client:
            response = client.post(CREATE_PATH, json=body)
            retry = client.post(CREATE_PATH, json=booking_body(day, "13:00"))

        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_field"
        assert "service_name" in response.json()["message"]
        assert retry.status_code == 201, retry.text  # the refused request held nothing


def _sync(coroutine: Any) -> Any:
    """The tests here are synchronous (Hypothesis drives a sync client); direct SQL is async."""
    return asyncio.run(coroutine)


def _stored(database_url: str, booking_id: int) -> dict[str, str]:
    rows = _sync(
        run_sql(
            database_url,
            "SELECT c.first_name, c.last_name, c.email, c.country, b.service_name, b.notes "
            "FROM bookings b JOIN customers c ON c.id = b.customer_id WHERE b.id = $1",
            booking_id,
        )
    )
    assert len(rows) == 1, rows
    names = ("first_name", "last_name", "email", "country", "service_name", "notes")
    return dict(zip(names, rows[0], strict=True))


def _event_of(database_url: str, booking_id: int) -> dict[str, Any]:
    payloads = [
        json.loads(payload)
        for (payload,) in _sync(
            run_sql(database_url, "SELECT payload FROM events WHERE type = 'booking_created'")
        )
    ]
    matching = [payload for payload in payloads if payload["id"] == booking_id]
    assert len(matching) == 1, matching
    return matching[0]


def _password_hashes(database_url: str, phones: list[str]) -> list[str]:
    hashes = []
    for phone in phones:
        rows = _sync(
            run_sql(database_url, "SELECT password_hash FROM customers WHERE phone = $1", phone)
        )
        assert len(rows) == 1, rows
        hashes.append(rows[0][0])
    return hashes


def _book_new_customers(server: ServerProcess, count: int) -> list[str]:
    """``count`` bookings for new phones; their answers must not show password material."""
    phones = []
    day = _DAYS.take()
    with httpx.Client(headers=AGENT_HEADERS, base_url=server.base_url, timeout=30.0) as client:
        for time_of_day in SLOT_TIMES[:count]:
            body = booking_body(day, time_of_day)
            response = client.post(CREATE_PATH, json=body)
            created = assert_clean_answer(response)
            assert created["user_created"] is True, created
            phones.append(body["phone"])
    return phones


@pytest.fixture(scope="module")
def server_with_initial_password(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServerProcess]:
    path = tmp_path_factory.mktemp("sqlite") / "booking.db"
    server = _start(
        f"sqlite+aiosqlite:///{path}",
        tmp_path_factory.mktemp("server"),
        {"BOOKING_INITIAL_PASSWORD": INITIAL_PASSWORD},
    )
    yield server
    server.stop()


class TestPasswords:
    def test_auto_created_customers_do_not_get_the_known_password(
        self, sqlite_server: ServerProcess
    ) -> None:
        (stored,) = _password_hashes(
            sqlite_server.database_url, _book_new_customers(sqlite_server, 1)
        )
        assert stored not in {"password", ""}
        assert not verify_password("password", stored)
        assert not verify_password("", stored)

    def test_an_initial_password_is_stored_as_a_salted_pbkdf2_hash(
        self, server_with_initial_password: ServerProcess
    ) -> None:
        server = server_with_initial_password
        hashes = _password_hashes(server.database_url, _book_new_customers(server, 2))

        for stored in hashes:
            algorithm, iterations, salt, digest = stored.split("$")
            assert algorithm == "pbkdf2_sha256", stored
            assert int(iterations) >= 100_000, stored
            assert salt, stored
            assert digest, stored
            assert INITIAL_PASSWORD not in stored
            assert verify_password(INITIAL_PASSWORD, stored)
            assert not verify_password("password", stored)
        # All customers share the one hash computed at start (DESIGN: hashing per customer made
        # first bookings slow); what matters is that it is a salted hash, not the password.
        events = _sync(run_sql(server.database_url, "SELECT payload FROM events"))
        for (payload,) in events:
            assert_no_password_material(payload, json.loads(payload))


# --- every route, raw ---------------------------------------------------------------------------

RAW_EXAMPLES = 200
SOCKET_EXAMPLES = 40
_RAW_TIMEOUT_S = 10.0
_SOCKET_PATH = "/ws/admin/bookings/"


def _served_routes() -> list[tuple[str, tuple[str, ...]]]:
    """A concrete path for every route the app serves (documented or not), its parameters
    filled in with real values, with the methods it answers: a new route is fuzzed without
    anyone listing it here."""
    app = create_app(AppConfig(database_url="sqlite+aiosqlite:///unused.db"))
    fillers = {
        "/admin/{file_path:path}": [f"/admin/{f.name}" for f in sorted(ADMIN_FILES.iterdir())],
        "/schema/assets/{file_path:path}": [
            f"/schema/assets/{f.name}" for f in sorted(DOCS_FILES.iterdir())
        ],
        "/schema/{path:str}": ["/schema/swagger", "/schema/redoc"],
    }
    routes: list[tuple[str, tuple[str, ...]]] = []
    for route in app.routes:
        methods = tuple(sorted(getattr(route, "methods", None) or {"GET"}))
        if route.path in fillers:
            routes += [(path, methods) for path in fillers[route.path]]
        else:
            path = route.path.replace("{booking_id:int}", "1").replace("{webhook_id:int}", "1")
            path = path.replace("{resource_id:int}", "1").replace("{day:str}", "2031-01-06")
            path = path.replace("{service_id:int}", "1")
            path = path.replace("{hold_id:int}", "1")
            assert "{" not in path, f"fill in the parameters of {route.path} for the fuzzing"
            routes += [(path, methods), (f"{path}/", methods)]
    return routes


SERVED_ROUTES = _served_routes()
SERVED_PATHS = [path for path, _ in SERVED_ROUTES]
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "X")
#: Header names whose values change what the server does with a request.
_HEADER_NAMES = (
    "Authorization",
    "X-API-Key",
    "X-Forwarded-For",
    "X-Request-ID",
    "Content-Type",
    "Origin",
    "Sec-Fetch-Site",
    "Access-Control-Request-Method",
    "Access-Control-Request-Headers",
    "Accept",
    "Accept-Encoding",
    "Range",
    "If-None-Match",
    "If-Modified-Since",
    "Idempotency-Key",
    "Cookie",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Expect",
)
#: Bytes a header value or request target may carry on the wire (no CR, LF; no NUL, which
#: httptools refuses anyway), Latin-1 included: servers see bytes, not text.
_WIRE_BYTES = st.binary(max_size=60).map(lambda raw: bytes(b for b in raw if b not in b"\r\n\x00"))
#: Printable ASCII, which every part of the server reads; raw bytes are drawn less often, as most
#: of them only meet the HTTP parser's 400.
_PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
#: Header values may carry Latin-1 too (obs-text): the parser passes them on.
_LATIN1 = st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]), max_size=60).map(
    lambda text: text.encode("latin-1")
)
_header_values = st.one_of(
    *[_PRINTABLE.map(str.encode)] * 3,
    *[_LATIN1] * 2,
    _WIRE_BYTES,
    st.sampled_from(
        [
            f"Bearer {ADMIN_TOKEN}".encode(),
            AGENT_API_KEY.encode(),
            b"Bearer ",
            b"Basic YWRtaW46YWRtaW4=",
            b"application/json",
            b"text/plain",
            b"multipart/form-data; boundary=x",
            b"websocket",
            b"upgrade",
            b"13",
            b"dGhlIHNhbXBsZSBub25jZQ==",
            b"100-continue",
            b"bytes=0-0,-1",
            b"198.51.100.7, 10.0.0.1",
            b"null",
            b"https://evil.example",
            b"cross-site",
            b"*",
        ]
    ),
)
#: What may follow a route's path: mostly nothing; a further segment, traversal, encodings, junk.
_path_suffixes = st.one_of(
    st.just(b""),
    st.just(b""),
    st.just(b""),
    st.sampled_from(
        [b"/", b"//", b"/..", b"/../..", b"/%2e%2e/%2e%2e/etc/passwd", b"/%00", b"/%ff", b";x=1"]
    ),
    st.text(max_size=30).map(lambda text: quote(text, safe="/").encode()),
    st.text(max_size=30).map(lambda text: quote(text, safe="/").encode()),
    _WIRE_BYTES.map(lambda raw: bytes(b for b in raw if b not in b" ?#")),
)
_query_parameters = st.dictionaries(
    st.sampled_from(
        ["date", "from", "to", "page", "page_size", "status", "phone", "since", "token", "x"]
    ),
    st.one_of(
        st.text(max_size=20),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(["9999-12-31", "0001-01-01", "9" * 5000, "-1", "", "\x00"]),
    ),
    max_size=3,
).map(lambda query: "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items()).encode())
_queries = st.one_of(
    st.just(b""),
    _query_parameters,
    _query_parameters,
    _query_parameters,
    _WIRE_BYTES.map(lambda raw: bytes(b for b in raw if b not in b" #")),
)


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    path, methods = draw(st.sampled_from(SERVED_ROUTES))
    method = draw(
        st.one_of(st.sampled_from(methods), st.sampled_from(methods), st.sampled_from(_METHODS))
    ).encode()
    path = path.encode() + draw(_path_suffixes)
    query = draw(_queries)
    target = path + (b"?" + query if query else b"")
    headers = draw(st.lists(st.tuples(st.sampled_from(_HEADER_NAMES), _header_values), max_size=4))
    body = draw(st.one_of(st.just(b""), st.binary(max_size=200), json_values.map(_json_bytes)))
    lines = [method + b" " + target + b" HTTP/1.1", f"Host: {HOST}".encode()]
    if draw(st.booleans()):  # half the requests reach the admin API's handlers
        lines.append(f"Authorization: Bearer {ADMIN_TOKEN}".encode())
    if draw(st.booleans()):  # and half the agent endpoints' (the servers configure a key)
        lines.append(f"X-API-Key: {AGENT_API_KEY}".encode())
    lines += [name.encode() + b": " + value for name, value in headers]
    lines += [f"Content-Length: {len(body)}".encode(), b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def exchange(server: ServerProcess, request: bytes) -> tuple[int, bytes]:
    """Send ``request`` as is; the status the server answered with and the whole answer."""
    with socket.create_connection((HOST, server.port), timeout=_RAW_TIMEOUT_S) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            if answer.startswith(b"HTTP/1.1 101"):  # switched to WebSocket: enough said
                break
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 "), (request[:300], answer[:300])
    return int(status_line.split()[1]), answer


def assert_no_error_logged(server: ServerProcess) -> None:
    logged = server.log_text()
    assert '"level": "ERROR"' not in logged, logged[-4000:]
    assert "Traceback" not in logged, logged[-4000:]


@pytest.fixture(scope="module")
def raw_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own: raw requests carry the admin token and may change its settings."""
    path = tmp_path_factory.mktemp("sqlite") / "booking.db"
    server = _start(f"sqlite+aiosqlite:///{path}", tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


_raw_settings = settings(
    max_examples=RAW_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class TestEveryRouteUnderRawRequests:
    def test_every_route_the_app_serves_is_fuzzed(self) -> None:
        assert {"/admin/app.js", "/schema/assets/docs.css", "/ws/admin/bookings"} <= set(
            SERVED_PATHS
        )

    @_raw_settings
    @given(request=raw_requests())
    @example(request=b"GET /admin/%2e%2e/%2e%2e/pyproject.toml HTTP/1.1\r\nHost: x\r\n\r\n")
    @example(request=b"GET /schema/assets/../../app.py HTTP/1.1\r\nHost: x\r\n\r\n")
    @example(request=b"GET /api/agent/availability/?date=\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n")
    @example(
        request=b"GET /health HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    @example(request=b"GET /ws/admin/bookings/?since=-1 HTTP/1.1\r\nHost: x\r\n\r\n")
    def test_no_request_gets_a_server_error(
        self, raw_server: ServerProcess, request: bytes
    ) -> None:
        status, answer = exchange(raw_server, request)

        assert status < 500, (request[:500], answer[:500])
        event(f"{status} {'ours' if b'application/json' in answer.lower() else 'other'}")
        assert_no_error_logged(raw_server)


_since_values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=20),
    st.sampled_from(["", "0", str(2**63 - 1), str(2**63), "9" * 5000, "0" * 100 + "1", " 1"]),
)
_token_values = st.sampled_from([ADMIN_TOKEN, ADMIN_TOKEN, None, "", "wrong", ADMIN_TOKEN + " "])
_first_messages = st.one_of(
    st.sampled_from(['{"type": "ping"}', '{"type": "get_bookings"}', "[" * 3000, "[" * 100_000]),
    st.text(max_size=300),
    json_values.map(lambda value: json.dumps(value, allow_nan=True)),
)
#: How the feed may end a session it did not like; 1011 (internal error) or no close frame at
#: all would be a crash.
_EXPECTED_CLOSE_CODES = {1008, 1009, 1013}
#: A ``since`` before the last event replays events before any reply.
_EVENTS = ("booking_created", "booking_cancelled")


class TestTheFeedUnderAnyParameters:
    @settings(
        max_examples=SOCKET_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        since=_since_values,
        token=_token_values,
        bearer=st.booleans(),
        message=_first_messages,
    )
    def test_is_refused_or_closed_with_a_reason_never_a_server_error(
        self,
        raw_server: ServerProcess,
        since: str | None,
        token: str | None,
        bearer: bool,
        message: str,
    ) -> None:
        query = {"since": since} if since is not None else {}
        headers = {}
        if token is not None and bearer:
            headers["Authorization"] = f"Bearer {token}"
        elif token is not None:
            query["token"] = token
        suffix = "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
        url = f"{raw_server.ws_url}{_SOCKET_PATH}" + (f"?{suffix}" if suffix else "")

        outcome, detail = _first_exchange(url, headers, message)

        event(f"{outcome} {detail if outcome == 'refused' else getattr(detail, 'code', '')}")
        if outcome == "refused":
            assert detail == 403, detail
        elif outcome == "closed":
            assert detail is not None, "closed without a close frame"
            assert detail.code in _EXPECTED_CLOSE_CODES, detail
            assert detail.reason, detail
        else:
            assert detail["type"] in {"pong", "bookings_data", "error", *_EVENTS}, detail
        assert_no_error_logged(raw_server)


def _first_exchange(url: str, headers: dict[str, str], message: str) -> tuple[str, Any]:
    """Open the feed, send ``message``: ``("refused", status)`` if the handshake was refused,
    ``("closed", close frame or None)`` if the feed closed, else ``("reply", message)``."""
    try:
        with websocket_connect(
            url, additional_headers=headers, open_timeout=_RAW_TIMEOUT_S, close_timeout=2
        ) as feed:
            feed.send(message)
            return "reply", json.loads(feed.recv(timeout=_RAW_TIMEOUT_S))
    except InvalidStatus as refused:
        return "refused", refused.response.status_code
    except ConnectionClosed as closed:
        return "closed", closed.rcvd
