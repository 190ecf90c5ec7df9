"""The core's webhook rules: what a subscription may say, and when a failed delivery is retried."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_booking.core.errors import InvalidField, WebhookUrlRefused
from agent_booking.core.events import EVENT_TYPES
from agent_booking.core.webhooks import (
    RETRY_DELAYS_SECONDS,
    SubscriptionChanges,
    parse_event_types,
    parse_webhook_url,
    retry_delay,
    wants,
)


class TestWebhookUrl:
    def test_accepts_https(self) -> None:
        assert parse_webhook_url(" https://crm.example.com/hooks?x=1 ", allow_http=False) == (
            "https://crm.example.com/hooks?x=1"
        )

    def test_refuses_plain_http_unless_allowed(self) -> None:
        with pytest.raises(WebhookUrlRefused, match="only https"):
            parse_webhook_url("http://crm.example.com/", allow_http=False)
        assert parse_webhook_url("http://crm.example.com/", allow_http=True)

    @pytest.mark.parametrize(
        "url",
        [
            "",
            "crm.example.com/hooks",
            "ftp://crm.example.com/",
            "https://",
            "https://user:secret@crm.example.com/",
            "https://crm.example.com/#part",
            "https://crm.example.com:99999/",
            "https://crm.example.com/a b",
            "https://bücher.example/",
            "https://" + "a" * 2000 + ".com/",
            42,
            None,
        ],
    )
    def test_refuses_what_is_not_an_absolute_url(self, url: object) -> None:
        with pytest.raises(InvalidField):
            parse_webhook_url(url, allow_http=True)


class TestEventTypes:
    def test_every_known_type_and_all(self) -> None:
        assert parse_event_types(list(EVENT_TYPES)) == EVENT_TYPES
        assert parse_event_types(["booking_created", "*"]) == ("*",)
        assert parse_event_types(["booking_held", "booking_held"]) == ("booking_held",)

    @pytest.mark.parametrize("raw", [[], ["booking_exploded"], "booking_created", [1], None])
    def test_refuses_unknown_or_malformed(self, raw: object) -> None:
        with pytest.raises(InvalidField, match="event_types"):
            parse_event_types(raw)

    def test_all_wants_types_that_do_not_exist_yet(self) -> None:
        assert wants(("*",), "booking_split_in_two")
        assert wants(("booking_created",), "booking_created")
        assert not wants(("booking_created",), "booking_cancelled")


class TestSubscriptionChanges:
    def test_create_defaults_to_every_type_enabled(self) -> None:
        changes = SubscriptionChanges.parse(
            {"url": "https://a.example/"}, allow_http=False, creating=True
        )
        assert (changes.event_types, changes.enabled, changes.description) == (("*",), True, "")

    def test_an_update_changes_only_what_it_names(self) -> None:
        changes = SubscriptionChanges.parse({"enabled": False}, allow_http=False, creating=False)
        assert changes == SubscriptionChanges(enabled=False)

    @pytest.mark.parametrize(
        "body",
        [
            {"description": "x"},
            {"url": "https://a.example/", "secret": "whsec_mine"},
            {"url": "https://a.example/", "enabled": 1},
            {"url": "https://a.example/", "description": "d" * 501},
        ],
    )
    def test_refuses(self, body: dict[str, object]) -> None:
        with pytest.raises(InvalidField):
            SubscriptionChanges.parse(body, allow_http=False, creating=True)


class TestRetrySchedule:
    def test_the_schedule_without_jitter(self) -> None:
        delays = [retry_delay(n, None, scale=1, jitter=0.5) for n in range(1, 8)]
        assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000]

    def test_ends_after_eight_attempts(self) -> None:
        assert retry_delay(len(RETRY_DELAYS_SECONDS), None, scale=1, jitter=0.5) is None

    def test_retry_after_is_honoured_up_to_the_longest_step(self) -> None:
        assert retry_delay(1, 120, scale=1, jitter=0.5) == 120
        assert retry_delay(1, 10**8, scale=1, jitter=0.5) == max(RETRY_DELAYS_SECONDS)
        assert retry_delay(3, 1, scale=1, jitter=0.5) == 1800  # shorter than the step: the step

    def test_scale_shrinks_every_step(self) -> None:
        assert retry_delay(2, None, scale=0.001, jitter=0.5) == pytest.approx(0.3)

    @given(
        attempts=st.integers(1, len(RETRY_DELAYS_SECONDS) - 1),
        jitter=st.floats(0, 1, exclude_max=True),
    )
    def test_jitter_stays_within_ten_percent(self, attempts: int, jitter: float) -> None:
        delay = retry_delay(attempts, None, scale=1, jitter=jitter)
        base = RETRY_DELAYS_SECONDS[attempts]
        assert delay is not None
        assert 0.9 * base <= delay <= 1.1 * base
