"""Who may call the agent endpoints (``/api/agent/…`` and ``/mcp``), and how often.

Checks run in this order, cheapest and least informative first:

0. Cross-site browser writes: a ``POST``/``PUT``/``PATCH``/``DELETE`` that a browser sent on
   behalf of a page from another site (``Sec-Fetch-Site: cross-site`` or ``same-site``, or,
   from browsers that do not send that header, an ``Origin`` other than the server's own) gets
   ``403 forbidden``, unless its ``Origin`` is one of ``BOOKING_CORS_ORIGINS``. A page can
   send a body without a preflight (``mode: "no-cors"``, no ``Content-Type``), so without this
   any web page could make its visitors' browsers book, from inside an allowed network too.
   Agents and servers send neither header and are not affected.
1. ``BOOKING_ALLOWED_NETWORKS``: a client address outside them gets ``403 forbidden``.
2. The rate limit (``BOOKING_RATE_LIMIT``), per client: a *configured* API key names the
   client, anything else is counted by address (an IPv6 address by its /64, which one host
   usually has whole). It runs before the key check so that guessing keys is rate-limited too.
   A key that is not configured never gets a bucket of its own: with no keys configured at all
   a client could otherwise send a made-up key per request and never be limited. Over the
   limit: ``429 rate_limited`` with ``Retry-After``.
   Every answer that was counted carries ``RateLimit-Limit``, ``-Remaining`` and ``-Reset``.
3. ``BOOKING_AGENT_API_KEYS``: without a valid ``X-API-Key``, ``401 unauthorized``.

A request that passed with a configured key comes from a **trusted agent**: this middleware marks
it (``scope["auth"]``, where Litestar keeps what authenticated a request) and
:func:`is_trusted_agent` reads the mark. A trusted agent is shown what the service stores about
customers (the create answer's stored profile); anyone else only what its own request said
(``presenters.PublicBookingCreated``). With no keys configured nobody is trusted, since anybody
may call a public endpoint.

A failing counter store (the database is away) must not take the endpoints down with it: the
request goes on unlimited and a warning is logged, at most once a minute per process.

It is a Litestar middleware, so it runs after routing (unknown paths and methods get their 404
and 405 untouched) and inside CORS handling (a browser can read a 429).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Final

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from agent_booking.adapters.rate_limit import (
    FixedWindowRateLimiter,
    RateCounterStore,
    RateLimitDecision,
)
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.client_identity import (
    IPNetwork,
    api_key_of,
    bucket_key,
    client_address,
    in_networks,
    is_known_key,
)
from agent_booking.entrypoints.http.errors import framework_error

__all__ = [
    "AGENT_PATH_PREFIX",
    "MCP_PATHS",
    "TRUSTED_AGENT",
    "AgentAccess",
    "agent_access",
    "is_trusted_agent",
    "rate_limit_headers",
]

AGENT_PATH_PREFIX = "/api/agent/"
#: The MCP endpoint (``entrypoints.mcp.http``): an agent surface, checked like the others.
MCP_PATHS: Final = frozenset({"/mcp", "/mcp/"})
_API_KEY_REQUIRED = "API key required"
_CROSS_SITE_REFUSED = "Cross-site browser requests are not allowed"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: ``Sec-Fetch-Site`` values that mean "a page of another origin made this request".
_OTHER_SITE = frozenset({b"cross-site", b"same-site"})
_STORE_WARNING_INTERVAL_S = 60.0
#: ``scope["auth"]`` of a request that sent one of the configured API keys.
TRUSTED_AGENT: Final = "agent_api_key"

_log = logging.getLogger(__name__)


def agent_access(config: AppConfig, store: RateCounterStore) -> AgentAccess:
    """The middleware for ``config``; ``store`` keeps the counters (unused without a limit)."""
    return AgentAccess(
        limiter=FixedWindowRateLimiter(config.rate_limit, store) if config.rate_limit else None,
        api_keys=config.agent_api_keys,
        allowed_networks=config.allowed_networks,
        trusted_proxies=config.trusted_proxies,
        cors_origins=config.cors_origins,
    )


def is_trusted_agent(scope: Scope) -> bool:
    """Whether this request came from a trusted agent: keys are configured and it sent one."""
    return scope.get("auth") is TRUSTED_AGENT  # this very object: only AgentAccess sets it


def rate_limit_headers(decision: RateLimitDecision) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_seconds),
    }


class AgentAccess(ASGIMiddleware):
    """Network allow-list, per-client rate limit and API keys for the agent endpoints."""

    scopes = (ScopeType.HTTP,)

    def __init__(
        self,
        *,
        limiter: FixedWindowRateLimiter | None,
        api_keys: Sequence[str],
        allowed_networks: Sequence[IPNetwork],
        trusted_proxies: Sequence[IPNetwork],
        cors_origins: Sequence[str] = (),
    ) -> None:
        self._limiter = limiter
        self._api_keys = tuple(api_keys)
        self._allowed_networks = tuple(allowed_networks)
        self._trusted_proxies = tuple(trusted_proxies)
        self._cors_origins = frozenset(origin.encode("latin-1") for origin in cors_origins)
        self._store_warned_at: float | None = None
        self._open = limiter is None and not self._api_keys and not self._allowed_networks

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope["path"]
        if not path.startswith(AGENT_PATH_PREFIX) and path not in MCP_PATHS:
            await next_app(scope, receive, send)
            return
        if scope.get("method") in _WRITE_METHODS and self._cross_site(scope):
            await self._refuse(
                scope, receive, send, HTTPStatus.FORBIDDEN, message=_CROSS_SITE_REFUSED
            )
            return
        if self._open:  # nothing configured: nothing to check (the benchmark's set-up)
            await next_app(scope, receive, send)
            return
        address = client_address(scope, self._trusted_proxies)
        if self._allowed_networks and not in_networks(address, self._allowed_networks):
            await self._refuse(scope, receive, send, HTTPStatus.FORBIDDEN)
            return
        key = api_key_of(scope)
        # Only a configured key names the client; any other is the sender's to invent.
        key_is_valid = bool(self._api_keys) and is_known_key(key, self._api_keys)
        decision = await self._count(bucket_key(address, key if key_is_valid else None))
        headers = rate_limit_headers(decision) if decision is not None else {}
        if decision is not None and not decision.allowed:
            headers["Retry-After"] = str(decision.reset_seconds)
            await self._refuse(scope, receive, send, HTTPStatus.TOO_MANY_REQUESTS, headers)
            return
        if self._api_keys and not key_is_valid:
            headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
            await self._refuse(
                scope, receive, send, HTTPStatus.UNAUTHORIZED, headers, _API_KEY_REQUIRED
            )
            return
        if key_is_valid:
            scope["auth"] = TRUSTED_AGENT
        await next_app(scope, receive, _with_headers(send, headers) if headers else send)

    def _cross_site(self, scope: Scope) -> bool:
        """Whether a browser sent this for a page of another site that CORS does not allow."""
        fetch_site = origin = host = None
        for name, value in scope["headers"]:
            if name == b"sec-fetch-site":
                fetch_site = value
            elif name == b"origin":
                origin = value
            elif name == b"host":
                host = value
        if origin is not None and origin in self._cors_origins:
            return False
        if fetch_site is not None:
            return fetch_site.lower() in _OTHER_SITE
        # Older browsers: an Origin that is not this server's own (``null`` included).
        return origin is not None and origin.partition(b"://")[2] != host

    async def _count(self, bucket: str) -> RateLimitDecision | None:
        if self._limiter is None:
            return None
        try:
            return await self._limiter.hit(bucket)
        except Exception as error:
            now = time.monotonic()
            if self._store_warned_at is None or now - self._store_warned_at >= (
                _STORE_WARNING_INTERVAL_S
            ):
                self._store_warned_at = now
                _log.warning("rate limit not enforced, its store failed: %r", error)
            return None

    @staticmethod
    async def _refuse(
        scope: Scope,
        receive: Receive,
        send: Send,
        status: HTTPStatus,
        headers: dict[str, str] | None = None,
        message: str | None = None,
    ) -> None:
        response = framework_error(status, message=message, headers=headers)
        request: Request[Any, Any, Any] = Request(scope, receive, send)
        await response.to_asgi_response(app=None, request=request)(scope, receive, send)


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableScopeHeaders.from_message(message)
            for name, value in headers.items():
                response_headers[name] = value
        await send(message)

    return send_with_headers
