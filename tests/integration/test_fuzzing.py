"""Hostile input against a real server: arbitrary JSON and bytes, injection payloads, passwords.

DESIGN.md: the endpoint is public, so nothing in a body is trusted. Whatever arrives, the answer
is ours (``{"success", "message"}``, plus ``code`` on failure), never a 5xx; text is data, stored
and returned exactly as sent, never interpreted (SQL, templates, markup, lookups, paths); and no
answer ever carries a password or its hash, while the stored hash of an auto-created customer is
never the original's known ``password``.

Storage does not change how a body is parsed, so the fuzzing runs on SQLite only; what is stored
does depend on the engine, so the injection payloads go to both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from agent_booking.core.passwords import verify_password
from tests.integration.direct_sql import run_sql
from tests.integration.endpoint import CREATE_PATH, assert_created, booking_body
from tests.integration.working_days import SLOT_TIMES, WorkingDays
from tests.support.postgres import PostgresCluster
from tests.support.server import AGENT_HEADERS, ServerProcess, run_booking

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
