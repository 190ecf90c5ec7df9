"""``booking mcp``: the agent tools over MCP's stdio transport, for local clients.

A local MCP client (Claude Desktop, an IDE) starts this command and speaks MCP on its stdin and
stdout; logs go to stderr. It builds the very app ``booking serve`` builds (so the tools run the
same use cases, write the same outbox events, honour the same idempotency keys) and serves its
tool registry, without opening a port. The embedded database is migrated first, as ``serve``
does. Whoever can start this command on the machine can read the database anyway, so the caller
counts as a trusted agent (it sees stored customer profiles, as an API key holder does).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from mcp.server.stdio import stdio_server

from agent_booking.entrypoints.cli.parser import EXIT_OK
from agent_booking.entrypoints.cli.server import migrate_embedded
from agent_booking.entrypoints.config import AppConfig
from agent_booking.entrypoints.http.app import AGENT_TOOLS_STATE, create_app
from agent_booking.entrypoints.mcp.server import mcp_server
from agent_booking.entrypoints.tools.registry import ToolRegistry

__all__ = ["serve_mcp_stdio"]


def serve_mcp_stdio(args: argparse.Namespace, config: AppConfig) -> int:
    del args
    migrate_embedded(config)
    asyncio.run(_serve(config))
    return EXIT_OK


def _trusted(_ctx: Any) -> bool:
    return True


async def _serve(config: AppConfig) -> None:
    app = create_app(config)
    registry: ToolRegistry = app.state[AGENT_TOOLS_STATE]
    server = mcp_server(registry, _trusted)
    async with app.lifespan(), stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
