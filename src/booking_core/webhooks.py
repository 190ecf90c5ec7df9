"""Webhook subscriptions and their retry schedule: the rules, without any I/O.

A subscription names a URL, the event types it wants (names from
:data:`agent_booking.core.events.EVENT_TYPES`, or ``"*"`` for every type, including ones added
later) and whether it is enabled. Whether the URL's *address* may be called needs DNS, so the
adapters check that; the core checks what the text alone decides.

Retries follow Standard Webhooks' usual schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 10 h, each delay with up to 10 % jitter so that a receiver coming back is not hit by every
retry at once; a receiver's ``Retry-After`` is honoured (up to the longest step). A schedule
``scale`` below 1 shortens every step, for tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from attrs import frozen

from agent_booking.core.errors import InvalidField, WebhookUrlRefused
from agent_booking.core.events import EVENT_TYPES

__all__ = [
    "ALL_EVENTS",
    "DISABLE_AFTER_SECONDS",
    "RETRY_DELAYS_SECONDS",
    "SubscriptionChanges",
    "parse_event_types",
    "parse_webhook_url",
    "retry_delay",
    "wants",
]

ALL_EVENTS = "*"
#: Seconds to wait before each attempt: the first is immediate, the eighth is the last.
RETRY_DELAYS_SECONDS: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
#: A subscription whose deliveries failed without a success for this long is disabled.
DISABLE_AFTER_SECONDS = 5 * 24 * 3600
_JITTER = 0.1
_MAX_URL = 2000
_MAX_DESCRIPTION = 500


def parse_webhook_url(raw: object, *, allow_http: bool) -> str:
    """An absolute ``https`` URL (``http`` too when allowed) with a host and no credentials."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidField("url", "must be an absolute https:// URL")
    url = raw.strip()
    if len(url) > _MAX_URL or not url.isascii() or any(ch in url for ch in " \t\r\n"):
        raise InvalidField("url", f"must be at most {_MAX_URL} ASCII characters without spaces")
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise InvalidField("url", "must be an absolute https:// URL") from None
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidField("url", "must be an absolute https:// URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidField("url", "must not contain credentials")
    if parts.fragment:
        raise InvalidField("url", "must not contain a fragment")
    if parts.scheme == "http" and not allow_http:
        raise WebhookUrlRefused("only https:// URLs are allowed (BOOKING_WEBHOOK_ALLOW_HTTP)")
    return url


def parse_event_types(raw: object) -> tuple[str, ...]:
    """A non-empty list of known event type names, or ``["*"]`` for all; duplicates dropped."""
    if not isinstance(raw, list) or not raw or not all(isinstance(item, str) for item in raw):
        raise InvalidField("event_types", 'must be a non-empty list of event types or ["*"]')
    unknown = [item for item in raw if item != ALL_EVENTS and item not in EVENT_TYPES]
    if unknown:
        known = ", ".join(EVENT_TYPES)
        raise InvalidField("event_types", f"{unknown[0][:60]!r} is not one of *, {known}")
    if ALL_EVENTS in raw:
        return (ALL_EVENTS,)
    return tuple(dict.fromkeys(raw))


def wants(event_types: Sequence[str], event_type: str) -> bool:
    return ALL_EVENTS in event_types or event_type in event_types


def retry_delay(
    attempts_made: int, retry_after: float | None, *, scale: float, jitter: float
) -> float | None:
    """Seconds until the next attempt after ``attempts_made`` failed ones; None when the
    schedule is spent. ``jitter`` is a number in [0, 1) (the caller's randomness)."""
    if attempts_made >= len(RETRY_DELAYS_SECONDS):
        return None
    base = RETRY_DELAYS_SECONDS[attempts_made]
    delay = base * (1 + _JITTER * (2 * jitter - 1))
    if retry_after is not None and retry_after > 0:
        delay = max(delay, min(retry_after, max(RETRY_DELAYS_SECONDS)))
    return delay * scale


@frozen
class SubscriptionChanges:
    """What a create or update request asks for; ``None`` leaves a field as it is."""

    url: str | None = None
    event_types: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None

    @classmethod
    def parse(
        cls, body: Mapping[str, Any], *, allow_http: bool, creating: bool
    ) -> SubscriptionChanges:
        known = {"url", "event_types", "description", "enabled"}
        extra = sorted(set(body) - known)
        if extra:
            raise InvalidField(extra[0][:60], "is not a subscription field")
        if creating and "url" not in body:
            raise InvalidField("url", "is required")
        description = body.get("description")
        if description is not None and (
            not isinstance(description, str) or len(description) > _MAX_DESCRIPTION
        ):
            raise InvalidField("description", f"must be text of at most {_MAX_DESCRIPTION} chars")
        enabled = body.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise InvalidField("enabled", "must be true or false")
        event_types = body.get("event_types")
        return cls(
            url=parse_webhook_url(body["url"], allow_http=allow_http) if "url" in body else None,
            event_types=(
                parse_event_types(event_types)
                if event_types is not None
                else ((ALL_EVENTS,) if creating else None)
            ),
            description=description if description is not None else ("" if creating else None),
            enabled=enabled if enabled is not None else (True if creating else None),
        )
