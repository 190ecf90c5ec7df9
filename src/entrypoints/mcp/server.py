"""The agent tools as an MCP server, built on the official SDK's low-level ``Server``.

The low-level server is used rather than the SDK's decorator-based ``MCPServer`` because the
tools, their descriptions and their input schemas already exist, in the
:class:`~agent_booking.entrypoints.tools.registry.ToolRegistry`: ``tools/list`` serves the
registry's schemas as they are, and ``tools/call`` runs the registry's handlers. A refused call is
a tool error (``isError``) whose content is the HTTP API's error body (``code``, ``message`` and,
where the slot was not free, ``alternatives``), as JSON text and as structured content.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import mcp_types as types
from mcp.server import Server
from mcp.server.context import ServerRequestContext

from agent_booking.entrypoints.http.errors import internal_error_body
from agent_booking.entrypoints.tools.registry import AgentTool, ToolCall, ToolRegistry, ToolResult

__all__ = ["SERVER_NAME", "call_result", "mcp_server", "mcp_tool"]

SERVER_NAME = "agent-booking"
_INSTRUCTIONS = (
    "Books appointments for callers. Check a day's free times with check_day, then book with "
    "book_appointment once the caller has chosen; if a booking is refused with alternatives, "
    "offer them to the caller."
)

_log = logging.getLogger(__name__)

#: Whether the call came from a trusted agent, from the request context (the HTTP transport
#: puts the request there; stdio has none).
TrustOf = Callable[[ServerRequestContext[Any]], bool]


def mcp_tool(tool: AgentTool, registry: ToolRegistry) -> types.Tool:
    """The MCP description of ``tool``: the registry's schema, its hints as annotations."""
    return types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=registry.schema(tool.name),
        annotations=types.ToolAnnotations(
            read_only_hint=tool.hints.read_only,
            destructive_hint=tool.hints.destructive,
            idempotent_hint=tool.hints.idempotent,
            open_world_hint=False,  # it acts on this service's own calendar only
        ),
    )


def call_result(result: ToolResult) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(result.body, ensure_ascii=False))],
        structured_content=result.body,
        is_error=not result.ok,
    )


def mcp_server(registry: ToolRegistry, trust_of: TrustOf) -> Server[Any]:
    """An MCP server offering ``registry``'s tools; ``trust_of`` tells who is calling."""
    tools = [mcp_tool(tool, registry) for tool in registry]

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        del ctx, params  # one page: there are few tools
        return types.ListToolsResult(tools=tools)

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            result = await registry.run(
                params.name, params.arguments, ToolCall(trusted=trust_of(ctx))
            )
        except Exception as error:
            _log.error("unhandled error in MCP tool %s", params.name, exc_info=error)
            result = ToolResult(ok=False, body=internal_error_body())
        return call_result(result)

    return Server(
        SERVER_NAME,
        instructions=_INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        get_tool_input_schema=lambda name: registry.schema(name) if name in registry else None,
    )
