"""Sending one webhook: the Standard Webhooks v1 request, over httpcore, through the address guard.

The body is ``{"type", "timestamp", "event_id", "data"}`` (``data`` is the dashboard message's
booking object); ``webhook-id`` is the outbox event id, so a receiver deduplicates retries and
replays by it. Signatures are made by the official ``standardwebhooks`` library, one per valid
secret (two for a day after a rotation), space-separated as the spec says.

The client follows no redirects, reads at most :data:`MAX_RESPONSE_BYTES` of a response, and
gives the whole attempt ``timeout`` seconds (connect, send and read together).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from collections.abc import Sequence
from http import HTTPStatus

import httpcore
import httpx
import msgspec
from attrs import frozen
from standardwebhooks.webhooks import Webhook

from agent_booking.adapters.webhooks.addresses import GuardedNetworkBackend
from agent_booking.core.events import StoredEvent, format_instant

__all__ = ["MAX_RESPONSE_BYTES", "AttemptResult", "WebhookSender", "signed_request"]

MAX_RESPONSE_BYTES = 64 * 1024
_USER_AGENT = "agent-booking-webhooks/1"
#: Parsed URLs kept (one per subscription URL; cleared when full).
_URL_CACHE = 1000
_encode = msgspec.json.Encoder().encode


@frozen
class AttemptResult:
    status_code: int | None
    error: str | None
    latency_ms: float
    #: Seconds the receiver asked us to wait (``Retry-After``), if it did.
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return (
            self.status_code is not None
            and HTTPStatus.OK <= self.status_code < HTTPStatus.MULTIPLE_CHOICES
        )


def signed_request(
    event: StoredEvent, secrets: Sequence[str], now: dt.datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of ``event``'s webhook, signed with every secret given."""
    body = _encode(
        {
            "type": event.type,
            "timestamp": format_instant(event.occurred_at),
            "event_id": event.event_id,
            "data": event.payload,
        }
    )
    message_id = str(event.event_id)
    signatures = " ".join(Webhook(secret).sign(message_id, now, body) for secret in secrets)
    headers = {
        "content-type": "application/json",
        "user-agent": _USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signatures,
    }
    return body, headers


class WebhookSender:
    """One per worker process: a connection pool shared by every subscription.

    Requests go straight to an httpcore connection pool (httpx's transport layer, public API)
    over the address guard: httpx's client adds nothing a webhook needs (no redirects, cookies
    or auth are wanted) and cost about as much CPU again as the request itself. httpx still
    parses each URL (IDNA host names and all), once per URL.
    """

    def __init__(
        self, backend: GuardedNetworkBackend, *, timeout: float, max_connections: int = 100
    ) -> None:
        self._timeout = timeout
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=backend,
        )
        self._urls: dict[str, httpcore.URL] = {}
        #: httpcore's own timeouts, per phase (the whole attempt is bounded as well).
        self._extensions = {
            "timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
        }

    async def send(self, url: str, event: StoredEvent, secrets: Sequence[str]) -> AttemptResult:
        body, headers = signed_request(event, secrets, dt.datetime.now(dt.UTC))
        started = time.perf_counter()
        try:
            target = self._url(url)
            async with asyncio.timeout(self._timeout):
                async with self._pool.stream(
                    "POST",
                    target,
                    headers=list(headers.items()),
                    content=body,
                    extensions=self._extensions,
                ) as response:
                    read = 0
                    async for chunk in response.aiter_stream():
                        read += len(chunk)
                        if read >= MAX_RESPONSE_BYTES:
                            break
                    status = response.status
                    retry_after = _retry_after(_header(response.headers, b"retry-after"))
        except TimeoutError:
            return AttemptResult(None, f"no answer in {self._timeout:g} s", _ms(started), None)
        except (httpx.InvalidURL, httpcore.NetworkError, httpcore.TimeoutException) as error:
            return AttemptResult(None, _describe(error), _ms(started), None)
        except (httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as error:
            return AttemptResult(None, _describe(error), _ms(started), None)
        return AttemptResult(status, None, _ms(started), retry_after)

    def _url(self, url: str) -> httpcore.URL:
        found = self._urls.get(url)
        if found is None:
            parsed = httpx.URL(url)
            found = httpcore.URL(
                scheme=parsed.raw_scheme,
                host=parsed.raw_host,
                port=parsed.port,
                target=parsed.raw_path,
            )
            if len(self._urls) >= _URL_CACHE:
                self._urls.clear()
            self._urls[url] = found
        return found

    async def aclose(self) -> None:
        await self._pool.aclose()


def _header(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


def _retry_after(raw: str | None) -> float | None:
    """``Retry-After`` in seconds (``120``) or as an HTTP date; None if absent or unreadable."""
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(min(int(raw[:9]), 10**8))
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
