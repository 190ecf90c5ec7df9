"""The pieces behind rate limiting, access control and structured logs, without a server."""

from __future__ import annotations

import ipaddress
import json
import logging

import pytest

from agent_booking.adapters.rate_limit import (
    FixedWindowRateLimiter,
    InMemoryRateCounterStore,
    RateLimit,
)
from agent_booking.entrypoints.config import AppConfig, ConfigError
from agent_booking.entrypoints.http.client_identity import bucket_key, client_address, is_known_key
from agent_booking.entrypoints.http.content_type import is_json_media_type
from agent_booking.entrypoints.structured_logging import REQUEST_ID, JsonFormatter

PROXY = ipaddress.ip_network("10.0.0.0/8")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class TestRateLimitSpec:
    @pytest.mark.parametrize(
        ("text", "limit", "window"),
        [("120/minute", 120, 60), ("10/second", 10, 1), (" 1000 / HOUR ", 1000, 3600)],
    )
    def test_parses_n_per_unit(self, text: str, limit: int, window: int) -> None:
        assert RateLimit.parse(text) == RateLimit(limit, window)

    def test_zero_means_no_limit(self) -> None:
        assert RateLimit.parse("0") is None

    @pytest.mark.parametrize("text", ["120", "0/minute", "5/day", "ten/minute", "-1/second", ""])
    def test_refuses_anything_else(self, text: str) -> None:
        with pytest.raises(ValueError, match="N/minute"):
            RateLimit.parse(text)

    def test_prints_as_it_is_written(self) -> None:
        assert str(RateLimit(120, 60)) == "120/minute"


class TestFixedWindowRateLimiter:
    async def test_allows_the_limit_per_window_then_refuses_until_the_next(self) -> None:
        clock = Clock(1_000_040.0)  # 20 s into a minute
        limiter = FixedWindowRateLimiter(RateLimit(3, 60), InMemoryRateCounterStore(), now=clock)

        decisions = [await limiter.hit("ip:a") for _ in range(4)]
        clock.now += 40
        after_boundary = await limiter.hit("ip:a")

        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert [d.remaining for d in decisions] == [2, 1, 0, 0]
        assert {d.reset_seconds for d in decisions} == {40}
        assert after_boundary.allowed
        assert after_boundary.remaining == 2

    async def test_clients_have_separate_counts(self) -> None:
        limiter = FixedWindowRateLimiter(
            RateLimit(1, 60), InMemoryRateCounterStore(), now=Clock(0.0)
        )

        assert (await limiter.hit("ip:a")).allowed
        assert (await limiter.hit("ip:b")).allowed
        assert not (await limiter.hit("ip:a")).allowed

    async def test_forgets_old_windows(self) -> None:
        store = InMemoryRateCounterStore()
        clock = Clock(0.0)
        limiter = FixedWindowRateLimiter(RateLimit(5, 60), store, now=clock)

        await limiter.hit("ip:a")
        clock.now += 120
        await limiter.hit("ip:b")

        assert list(store.counts) == [("ip:b", 120)]


def scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "http", "client": (peer, 1234), "headers": headers}


class TestClientAddress:
    def test_ignores_x_forwarded_for_from_an_untrusted_peer(self) -> None:
        assert client_address(scope("192.0.2.1", "198.51.100.7"), [PROXY]) == "192.0.2.1"

    def test_ignores_it_when_no_proxy_is_trusted(self) -> None:
        assert client_address(scope("10.0.0.1", "198.51.100.7"), []) == "10.0.0.1"

    def test_takes_the_right_most_address_that_is_not_a_trusted_proxy(self) -> None:
        chain = "203.0.113.9, 198.51.100.7, 10.1.1.1"

        assert client_address(scope("10.0.0.1", chain), [PROXY]) == "198.51.100.7"

    def test_falls_back_to_the_peer_when_only_proxies_or_garbage_are_listed(self) -> None:
        assert client_address(scope("10.0.0.1", "10.2.2.2"), [PROXY]) == "10.0.0.1"
        assert client_address(scope("10.0.0.1", "unknown, 10.2.2.2"), [PROXY]) == "10.0.0.1"

    def test_reads_ipv4_mapped_ipv6_peers_as_ipv4(self) -> None:
        assert client_address(scope("::ffff:192.0.2.1"), []) == "192.0.2.1"


class TestApiKeys:
    @pytest.mark.parametrize(
        ("presented", "known"),
        [("key-one", True), ("key-two", True), ("key-on", False), ("", False), (None, False)],
    )
    def test_only_an_exact_configured_key_is_known(
        self, presented: str | None, *, known: bool
    ) -> None:
        assert is_known_key(presented, ["key-one", "key-two"]) is known


class TestJsonMediaType:
    @pytest.mark.parametrize(
        "value",
        ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "a/b+json"],
    )
    def test_json_and_structured_json_types_pass(self, value: str) -> None:
        assert is_json_media_type(value)

    @pytest.mark.parametrize("value", ["text/plain", "text/json", "json", "application/+json"])
    def test_other_types_do_not(self, value: str) -> None:
        assert not is_json_media_type(value)


class TestJsonFormatter:
    def format(self, message: str, *args: object, **extra: object) -> dict[str, object]:
        record = logging.LogRecord("booking.test", logging.INFO, __file__, 1, message, args, None)
        record.__dict__.update(extra)
        line = JsonFormatter().format(record)
        assert "\n" not in line
        document: dict[str, object] = json.loads(line)
        return document

    def test_writes_one_object_with_the_request_id_and_extras(self) -> None:
        token = REQUEST_ID.set("req-1")
        try:
            document = self.format("GET %s %d", "/health", 200, status=200)
        finally:
            REQUEST_ID.reset(token)

        assert document["message"] == "GET /health 200"
        assert document["level"] == "INFO"
        assert document["logger"] == "booking.test"
        assert document["request_id"] == "req-1"
        assert document["status"] == 200

    def test_has_a_null_request_id_outside_a_request(self) -> None:
        assert self.format("started")["request_id"] is None

    def test_masks_credentials_in_messages(self) -> None:
        document = self.format('"WebSocket /ws/admin/bookings/?since=3&token=s3cret" [accepted]')

        assert "s3cret" not in str(document["message"])
        assert "since=3&token=[redacted]" in str(document["message"])
        assert "abc" not in str(self.format("Authorization: Bearer abc")["message"])

    @pytest.mark.parametrize(
        "query",
        ["?%74oken=s3cret", "?since=1&%54OKEN=s3cret", "?to%6Ben=s3cret", "?api%5Fkey=s3cret"],
    )
    def test_masks_credentials_however_their_name_is_spelled(self, query: str) -> None:
        message = str(self.format(f"WebSocket /ws/admin/bookings/{query} [accepted]")["message"])

        assert "s3cret" not in message
        assert "=[redacted]" in message

    def test_leaves_other_parameters_alone(self) -> None:
        message = str(
            self.format("GET /api/agent/availability/?date=2027-01-04&tokens=5")["message"]
        )

        assert message.endswith("?date=2027-01-04&tokens=5")


class TestHardeningConfiguration:
    def test_defaults(self) -> None:
        config = AppConfig.from_env({})

        assert config.rate_limit == RateLimit(120, 60)
        assert config.trusted_proxies == ()
        assert config.agent_api_keys == ()
        assert config.allowed_networks == ()
        assert config.cors_origins == ()
        assert config.max_active_per_phone == 5

    def test_reads_every_variable(self) -> None:
        config = AppConfig.from_env(
            {
                "BOOKING_RATE_LIMIT": "0",
                "BOOKING_TRUSTED_PROXIES": "10.0.0.1, 2001:db8::/32",
                "BOOKING_AGENT_API_KEYS": "key-alpha, key-beta,",
                "BOOKING_ALLOWED_NETWORKS": "192.0.2.0/24",
                "BOOKING_CORS_ORIGINS": "https://app.example.com/, http://localhost:3000",
                "BOOKING_MAX_ACTIVE_PER_PHONE": "12",
            }
        )

        assert config.rate_limit is None
        assert config.max_active_per_phone == 12
        assert [str(n) for n in config.trusted_proxies] == ["10.0.0.1/32", "2001:db8::/32"]
        assert config.agent_api_keys == ("key-alpha", "key-beta")
        assert [str(n) for n in config.allowed_networks] == ["192.0.2.0/24"]
        assert config.cors_origins == ("https://app.example.com", "http://localhost:3000")
        assert "key-alpha" not in repr(config)

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("BOOKING_RATE_LIMIT", "lots"),
            ("BOOKING_TRUSTED_PROXIES", "proxy.internal"),
            ("BOOKING_ALLOWED_NETWORKS", "10.0.0.0/33"),
            ("BOOKING_CORS_ORIGINS", "*"),
            ("BOOKING_CORS_ORIGINS", "https://app.example.com/path"),
            ("BOOKING_TIMEZONE", "localtime"),
            ("BOOKING_TIMEZONE", "right/UTC"),
            ("BOOKING_DATABASE_URL", "mysql://db/booking"),
            ("BOOKING_DATABASE_URL", "booking.db"),
            ("BOOKING_MAX_ACTIVE_PER_PHONE", "-1"),
            ("BOOKING_MAX_ACTIVE_PER_PHONE", "five"),
            # SQLite reads a busy timeout over a C int as 0 (no waiting); PostgreSQL refuses one.
            ("BOOKING_SQLITE_BUSY_TIMEOUT_MS", str(2**31)),
            ("BOOKING_SQLITE_BUSY_TIMEOUT_MS", "-1"),
            ("BOOKING_SQLITE_BUSY_TIMEOUT_MS", "30s"),
            ("BOOKING_STATEMENT_TIMEOUT_MS", str(2**31)),
            ("BOOKING_EVENT_POLL_MS", "1" + "0" * 400),  # would overflow a float
        ],
    )
    def test_refuses_bad_values(self, name: str, value: str) -> None:
        with pytest.raises(ConfigError, match=name):
            AppConfig.from_env({name: value})

    def test_the_sqlite_busy_timeout_is_30_seconds_unless_set(self) -> None:
        assert AppConfig.from_env({}).sqlite_busy_timeout_ms == 30_000
        assert (
            AppConfig.from_env({"BOOKING_SQLITE_BUSY_TIMEOUT_MS": "250"}).sqlite_busy_timeout_ms
            == 250
        )
        assert (
            AppConfig.from_env({"BOOKING_SQLITE_BUSY_TIMEOUT_MS": "0"}).sqlite_busy_timeout_ms == 0
        )


class TestPhoneLimitConfiguration:
    def test_zero_turns_the_limit_off(self) -> None:
        assert AppConfig.from_env({"BOOKING_MAX_ACTIVE_PER_PHONE": "0"}).max_active_per_phone == 0

    def test_empty_is_the_default(self) -> None:
        assert AppConfig.from_env({"BOOKING_MAX_ACTIVE_PER_PHONE": " "}).max_active_per_phone == 5


class TestRateLimitBucket:
    def test_an_ipv4_client_is_its_address(self) -> None:
        assert bucket_key("198.51.100.7", None) == "ip:198.51.100.7"

    def test_an_ipv6_client_is_its_64_bit_network(self) -> None:
        first = bucket_key("2001:db8:1:2:aaaa::1", None)

        assert first == "ip:2001:db8:1:2::/64"
        assert bucket_key("2001:db8:1:2:ffff:1:2:3", None) == first
        assert bucket_key("2001:db8:1:3::1", None) != first

    def test_a_key_is_hashed_never_kept(self) -> None:
        bucket = bucket_key("198.51.100.7", "agent-key")

        assert bucket.startswith("key:")
        assert "agent-key" not in bucket
