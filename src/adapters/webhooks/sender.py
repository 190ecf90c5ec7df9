"""Sending one webhook: the Standard Webhooks v1 request, over httpx, through the address guard.

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
from collections.abc import AsyncIterator, Sequence
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


class _GuardedTransport(httpx.AsyncBaseTransport):
    """httpx over an httpcore pool of our choosing (the public way to give httpcore a network
    backend: httpx's own transport does not take one)."""

    def __init__(self, backend: GuardedNetworkBackend, max_connections: int) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        response = await self._pool.handle_async_request(
            httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
        )
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.aiter_stream():
            yield chunk

    async def aclose(self) -> None:
        await self._response.aclose()


class WebhookSender:
    """One per worker process: a connection pool shared by every subscription."""

    def __init__(
        self, backend: GuardedNetworkBackend, *, timeout: float, max_connections: int = 100
    ) -> None:
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            transport=_GuardedTransport(backend, max_connections),
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
        )

    async def send(self, url: str, event: StoredEvent, secrets: Sequence[str]) -> AttemptResult:
        body, headers = signed_request(event, secrets, dt.datetime.now(dt.UTC))
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout):
                async with self._client.stream(
                    "POST", url, content=body, headers=headers
                ) as response:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= MAX_RESPONSE_BYTES:
                            break
                    status = response.status_code
                    retry_after = _retry_after(response.headers.get("retry-after"))
        except TimeoutError:
            return AttemptResult(None, f"no answer in {self._timeout:g} s", _ms(started), None)
        except (httpx.HTTPError, httpcore.NetworkError, httpcore.TimeoutException) as error:
            return AttemptResult(None, _describe(error), _ms(started), None)
        except (httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as error:
            return AttemptResult(None, _describe(error), _ms(started), None)
        return AttemptResult(status, None, _ms(started), retry_after)

    async def aclose(self) -> None:
        await self._client.aclose()


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
