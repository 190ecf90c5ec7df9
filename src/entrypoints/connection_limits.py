"""What one client connection may cost: header bytes, time to send a request, connections.

``booking serve`` runs uvicorn with httptools, a C parser (h11 is pure Python). What uvicorn 0.54
enforces by itself, measured with a canned app:

- **Header size**: nothing with httptools: a 1 MB header is answered 200, and an unfinished header
  is kept in memory, growing, until it ends (issue 13: 10 connections sending 50 MB headers grew
  the process to 745 MB). h11
  refuses an *unfinished* head over ``h11_max_incomplete_event_size`` (16 KiB) with a plain 400,
  but takes a head of any size that arrives in one read.
- **Read timeouts**: none. ``timeout_keep_alive`` is armed only after a response, so a client
  that connects and sends nothing, or half a request line, or 10 of 100 body bytes, is held for
  ever (httptools and h11 alike).
- **Connections**: ``limit_concurrency`` answers 503 (plain text, then closes) to a request whose
  headers are complete while the worker's open connections (this one included; idle, slow and
  WebSocket ones too) or running ASGI tasks reach the limit. That is the cap we want, so
  :func:`uvicorn_limit_concurrency` derives it from ``BOOKING_MAX_CONNECTIONS`` and uvicorn
  enforces it; its body stays uvicorn's plain text.

What is missing is added by :class:`LimitedHttpToolsProtocol`, a subclass of uvicorn's httptools
protocol, which uvicorn accepts through ``http=``. It overrides only the methods that class exists
to implement (asyncio's ``connection_made``, ``data_received``, ``connection_lost`` and the
parser callbacks ``on_message_begin``, ``on_url``, ``on_header``, ``on_headers_complete``,
``on_body``, ``on_message_complete``), always calling the parent's, and reads none of its
attributes. An ASGI wrapper could do neither job: the app sees a request only once its headers are
complete. A wrapper around the asyncio transport would have to parse HTTP a second time to know
where a head ends.

- **Header bytes** are counted twice over: the bytes received while a head is unfinished (the
  parser buffers an unfinished header whole, so waiting for its callbacks would be too late), and
  the parsed request target and header fields of a head that arrived in one read. Over
  ``max_header_bytes`` the client gets ``431`` with the house error body and the connection is
  closed; what it sends meanwhile is read and dropped for a second so that the answer is not lost
  to a TCP reset.
- **Deadlines**: a connection must complete its request headers within ``header_timeout_s`` of
  connecting, or of the first byte of a further request on a kept-alive connection (between
  requests uvicorn's keep-alive timeout applies), and its body within ``body_timeout_s`` of the
  headers; trickling bytes does not extend either. Otherwise the connection is closed. While the
  app holds a request nothing is timed: that is the server's time, not the client's.
  A deadline is a number set on the hot path; the one timer per connection is moved only when it
  would fire too late, and re-armed when it fires early, so a request costs no timer operations.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from http import HTTPStatus
from typing import Any

from attrs import frozen
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.errors import framework_error_body

__all__ = ["ConnectionLimits", "LimitedHttpToolsProtocol", "uvicorn_limit_concurrency"]

#: How long a refused client may go on sending (read and dropped) before it is cut off.
_LINGER_S = 1.0
#: A request line's bytes besides its target: a method, two spaces, ``HTTP/1.1`` and CRLF.
_REQUEST_LINE_BYTES = len(b"OPTIONS  HTTP/1.1\r\n")
#: A header line's bytes besides its name and value: ``": "`` and CRLF.
_HEADER_LINE_BYTES = len(b": \r\n")

_log = logging.getLogger(__name__)


@frozen
class ConnectionLimits:
    """The limits of one worker process; see the module docstring."""

    max_header_bytes: int
    header_timeout_s: float
    body_timeout_s: float
    max_connections: int

    @classmethod
    def from_config(cls, config: AppConfig) -> ConnectionLimits:
        return cls(
            max_header_bytes=config.max_header_bytes,
            header_timeout_s=config.header_timeout_s,
            body_timeout_s=config.body_timeout_s,
            max_connections=config.max_connections,
        )


def uvicorn_limit_concurrency(limits: ConnectionLimits) -> int:
    """uvicorn's ``limit_concurrency`` for at most ``max_connections`` open connections.

    uvicorn counts the connection being served, and refuses when the count *reaches* the limit.
    """
    return limits.max_connections + 1


class _Phase(enum.Enum):
    #: Nothing is awaited from the client: the app has its request, or the connection is
    #: between requests (uvicorn's keep-alive timeout).
    IDLE = enum.auto()
    HEADERS = enum.auto()
    BODY = enum.auto()
    #: Answered 431; its input is dropped until the linger ends.
    REFUSED = enum.auto()


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header size limit and read deadlines.

    uvicorn builds one per connection with its own arguments; ``limits`` is bound beforehand
    (``functools.partial``), which keeps the class importable and picklable for worker processes.
    """

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._event_loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._phase = _Phase.IDLE
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._unparsed_head_bytes = 0
        self._parsed_head_bytes = 0

    # --- asyncio protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._transport = transport
        self._expect_head()

    def data_received(self, data: bytes) -> None:
        if self._phase is _Phase.REFUSED:
            return
        if self._phase is _Phase.IDLE:
            self._expect_head()
        if self._phase is _Phase.HEADERS:
            self._unparsed_head_bytes += len(data)
        super().data_received(data)
        if (
            self._phase is _Phase.HEADERS
            and self._unparsed_head_bytes > self._limits.max_header_bytes
        ):
            self._refuse_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timing()
        super().connection_lost(exc)

    # --- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._phase is _Phase.IDLE:  # a pipelined request, in the read that ended the last
            self._expect_head()
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._parsed_head_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed_head_bytes += len(name) + len(value) + _HEADER_LINE_BYTES
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._phase is _Phase.REFUSED:
            return  # a request pipelined behind the refused one: its app never runs
        if self._parsed_head_bytes + _REQUEST_LINE_BYTES > self._limits.max_header_bytes:
            self._refuse_head()
            return
        self._expect(_Phase.BODY, self._limits.body_timeout_s)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._phase is not _Phase.REFUSED:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._phase is _Phase.REFUSED:
            return
        self._phase = _Phase.IDLE
        super().on_message_complete()

    # --- limits -------------------------------------------------------------------------------

    def _expect_head(self) -> None:
        self._unparsed_head_bytes = self._parsed_head_bytes = 0
        self._expect(_Phase.HEADERS, self._limits.header_timeout_s)

    def _expect(self, phase: _Phase, seconds: float) -> None:
        """Await ``phase`` from the client for at most ``seconds`` from now."""
        self._phase = phase
        self._deadline = self._event_loop.time() + seconds
        timer = self._timer
        if timer is None or timer.when() > self._deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self._event_loop.call_at(self._deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        transport = self._transport
        if (
            self._phase is _Phase.IDLE
            or transport is None
            or transport.is_closing()
            or transport.get_protocol() is not self  # upgraded: a WebSocket protocol's now
        ):
            return
        if self._event_loop.time() < self._deadline:
            self._timer = self._event_loop.call_at(self._deadline, self._on_timer)
            return
        if self._phase is _Phase.HEADERS:
            _log.info(
                "closed a connection from %s: no complete request headers within %g s",
                _peer(transport),
                self._limits.header_timeout_s,
            )
        elif self._phase is _Phase.BODY:
            _log.info(
                "closed a connection from %s: no complete request body within %g s",
                _peer(transport),
                self._limits.body_timeout_s,
            )
        transport.close()

    def _stop_timing(self) -> None:
        self._phase = _Phase.IDLE
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _refuse_head(self) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        _log.info(
            "refused a request from %s: headers over %d bytes",
            _peer(transport),
            self._limits.max_header_bytes,
        )
        transport.write(_refusal(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE))
        self._expect(_Phase.REFUSED, _LINGER_S)


def _refusal(status: HTTPStatus) -> bytes:
    """A complete response with the house error body, announcing that the connection ends."""
    body = json.dumps(framework_error_body(status), separators=(",", ":")).encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "x-content-type-options: nosniff\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def _peer(transport: asyncio.Transport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "an unknown address"
