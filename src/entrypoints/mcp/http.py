"""``/mcp``: the MCP server over Streamable HTTP, stateless, behind the agent access checks.

Stateless: every POST is served by a fresh transport and no session id is issued, so any worker
of any host may answer any request (``--workers N``, several hosts behind a load balancer, no
session affinity). Responses are plain JSON rather than an SSE stream: the tools answer at once
and send nothing before their result. Only ``POST`` is served; ``GET`` (a stream for server
messages) and ``DELETE`` (ending a session) have nothing to act on and get ``405``.

:class:`McpLane` sits in front of Litestar like the create endpoint's lane and hands ``/mcp`` to
the SDK's session manager after the very checks the agent endpoints get
(:class:`~agent_booking.entrypoints.http.agent_access.AgentAccess`: cross-site browser writes,
allowed networks, the rate limit, API keys); a configured API key makes the caller a trusted
agent, exactly as on ``/api/agent/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any, Final, cast

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from agent_booking.entrypoints.http.agent_access import MCP_PATHS, AgentAccess, is_trusted_agent
from agent_booking.entrypoints.http.booking_endpoint import framework_answer
from agent_booking.entrypoints.mcp.server import mcp_server
from agent_booking.entrypoints.tools.registry import ToolRegistry

__all__ = ["MCP_PATH", "McpEndpoint", "McpLane"]

MCP_PATH: Final = "/mcp"


def _trusted(ctx: ServerRequestContext[Any]) -> bool:
    """The HTTP transport hands the request (a Starlette ``Request``) to the handlers."""
    scope = getattr(ctx.request, "scope", None)
    return isinstance(scope, dict) and is_trusted_agent(cast("Scope", scope))


class McpEndpoint:
    """The SDK's stateless Streamable HTTP handler for the registry's tools."""

    def __init__(self, registry: ToolRegistry, *, max_body_bytes: int) -> None:
        self._manager = StreamableHTTPSessionManager(
            app=mcp_server(registry, _trusted),
            json_response=True,
            stateless=True,
            max_request_body_size=max_body_bytes,
        )

    @asynccontextmanager
    async def running(self, _app: Litestar) -> AsyncIterator[None]:
        """The app's lifespan: the SDK's manager owns a task group for the requests."""
        async with self._manager.run():
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") != "POST":
            # Stateless: no session to resume or delete, and no stream for the server's own
            # messages (a GET would open an event stream that never ends): 405, as the
            # Streamable HTTP specification allows.
            await _method_not_allowed(send)
            return
        await self._manager.handle_request(scope, receive, send)  # type: ignore[arg-type]


async def _method_not_allowed(send: Send) -> None:
    answer = framework_answer(HTTPStatus.METHOD_NOT_ALLOWED)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(answer.body)).encode()),
        (b"allow", b"POST"),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


class McpLane:
    """ASGI: ``/mcp`` (and ``/mcp/``) to the MCP endpoint, checked; the rest to ``app``."""

    def __init__(self, app: ASGIApp, endpoint: McpEndpoint, access: AgentAccess) -> None:
        self._app = app
        self._endpoint = endpoint
        self._access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] not in MCP_PATHS:
            await self._app(scope, receive, send)
            return
        scope["path_template"] = MCP_PATH  # the metrics' route label
        await self._access.handle(scope, receive, send, self._endpoint)
