"""The outermost layer of the app: request ids, the access log, timing and security headers.

It wraps Litestar's whole handler (routing included), unlike a Litestar middleware, which only
runs for a matched route: a 404, a 405 or a CORS preflight gets a request id, a log line, a
duration sample and ``nosniff`` like any other response.

- **Request id**: a valid incoming ``X-Request-ID`` (1 to 128 characters of ``A-Z a-z 0-9`` and
  ``._~:;=+/@-``) is kept, anything else is replaced by a fresh one. It is returned as
  ``X-Request-ID`` on every response and set in ``REQUEST_ID`` for every log record of the
  request.
- **Access log**: one record per HTTP request on the ``entrypoints.http.access`` logger at INFO,
  with ``method``, ``path`` (never the query string, which may hold a token), ``status``,
  ``duration_ms`` and ``client`` (the address after trusted proxies). It replaces uvicorn's.
- **Headers**: ``X-Content-Type-Options: nosniff`` on every response; on HTML responses also a
  strict Content-Security-Policy, ``X-Frame-Options: DENY`` and ``Referrer-Policy:
  no-referrer``. A handler that sets one of these itself keeps its own value.
- **Clients that leave**: a client that disconnects before its request is answered (halfway
  through its body, say, or cut off by the body deadline) is not a server error. The edge sees
  the server's ``http.disconnect`` pass by before any response started; the request is then
  logged at INFO with status 499 (nginx's "client closed request", never sent: nobody is there
  to read it) and counted in ``booking_client_disconnects_total``, not in the duration
  histogram. :func:`client_disconnected` tells the error handlers, which would otherwise log
  the framework's "client disconnected prematurely" as an unhandled error.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, ReceiveMessage, Scope, Send

from agent_booking.entrypoints.http.client_identity import IPNetwork, client_address
from agent_booking.entrypoints.structured_logging import REQUEST_ID

# The metrics' route is documented by the openapi module, which imports this one.
if TYPE_CHECKING:
    from agent_booking.entrypoints.http.metrics import Metrics

__all__ = [
    "CLIENT_CLOSED_REQUEST",
    "HTML_SECURITY_HEADERS",
    "REQUEST_ID_HEADER",
    "RequestEdge",
    "client_disconnected",
    "header_value",
]

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:;=+/@-]{1,128}")
_UNMATCHED_ROUTE = "unmatched"
_NO_RESPONSE_STATUS = 500  # what uvicorn answers when the app fails before responding
#: What the access log says of a request whose client left before it was answered (nginx's).
CLIENT_CLOSED_REQUEST = 499

HTML_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

_REQUEST_ID_NAME = REQUEST_ID_HEADER.lower().encode()
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_HTML_HEADERS = tuple(
    (name.lower().encode(), value.encode()) for name, value in HTML_SECURITY_HEADERS.items()
)

_access_log = logging.getLogger("entrypoints.http.access")


class _Exchange:
    """One HTTP request's state that the app's error handlers may ask about."""

    __slots__ = ("client_gone", "responded")

    def __init__(self) -> None:
        self.responded = False
        #: The client disconnected before any response started.
        self.client_gone = False


_EXCHANGE: ContextVar[_Exchange | None] = ContextVar("booking_http_exchange", default=None)


def client_disconnected() -> bool:
    """Whether the client of the HTTP request being handled has gone away unanswered."""
    exchange = _EXCHANGE.get()
    return exchange is not None and exchange.client_gone


class RequestEdge:
    """ASGI wrapper around the Litestar handler; see the module docstring."""

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics, trusted_proxies: Sequence[IPNetwork]
    ) -> None:
        self._app = app
        self._metrics = metrics
        self._trusted_proxies = tuple(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HTTP and WebSocket scopes only: Litestar answers lifespan events before this."""
        incoming = header_value(scope["headers"], _REQUEST_ID_NAME)
        request_id = (
            incoming if incoming and _VALID_REQUEST_ID.fullmatch(incoming) else _new_request_id()
        )
        token = REQUEST_ID.set(request_id)
        try:
            if scope["type"] == ScopeType.HTTP:
                await self._serve_http(scope, receive, send, request_id)
            else:
                await self._app(scope, receive, send)
        finally:
            REQUEST_ID.reset(token)

    async def _serve_http(
        self, scope: HTTPScope, receive: Receive, send: Send, request_id: str
    ) -> None:
        method: str = scope["method"]
        path: str = scope["path"]
        status = _NO_RESPONSE_STATUS
        started = time.perf_counter()
        exchange = _Exchange()
        token = _EXCHANGE.set(exchange)
        self._metrics.requests_in_flight += 1

        async def receive_watching() -> ReceiveMessage:
            message = await receive()
            if message["type"] == "http.disconnect" and not exchange.responded:
                exchange.client_gone = True
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                exchange.responded = True
                status = message["status"]
                message["headers"] = _with_edge_headers(message.get("headers", ()), request_id)
            await send(message)

        try:
            await self._app(scope, receive_watching, send_with_headers)
        finally:
            self._metrics.requests_in_flight -= 1
            _EXCHANGE.reset(token)
            seconds = time.perf_counter() - started
            route: str = scope.get("path_template") or _UNMATCHED_ROUTE
            outcome = ""
            if exchange.client_gone:  # whatever the app tried to answer reached nobody
                status, outcome = CLIENT_CLOSED_REQUEST, " (client disconnected)"
                self._metrics.count_client_disconnect(route, method)
            else:
                self._metrics.observe_request(route, method, status, seconds)
            if _access_log.isEnabledFor(logging.INFO):  # BOOKING_ACCESS_LOG=0 skips the work
                _access_log.info(
                    "%s %s %s%s",
                    method,
                    path,
                    status,
                    outcome,
                    extra={
                        "method": method,
                        "path": path,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "client": client_address(scope, self._trusted_proxies),
                    },
                )


def _new_request_id() -> str:
    """128 random bits as 32 hex digits (what ``uuid4().hex`` gave, at a fifth of the cost)."""
    return os.urandom(16).hex()


def header_value(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of header ``name`` in raw ASGI headers (names are lower-case), as
    Latin-1: the ASGI layers read headers before Litestar has built a ``Request``."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _with_edge_headers(
    headers: Iterable[tuple[bytes, bytes]], request_id: str
) -> list[tuple[bytes, bytes]]:
    """The response's headers plus ours: raw ASGI pairs, scanned once (the hot path)."""
    result = [(name, value) for name, value in headers if name.lower() != _REQUEST_ID_NAME]
    present = {name.lower() for name, _ in result}
    result.append((_REQUEST_ID_NAME, request_id.encode("latin-1")))
    if _NOSNIFF[0] not in present:
        result.append(_NOSNIFF)
    content_type = next((value for name, value in result if name.lower() == b"content-type"), b"")
    if content_type.lower().startswith(b"text/html"):
        result.extend(header for header in _HTML_HEADERS if header[0] not in present)
    return result
