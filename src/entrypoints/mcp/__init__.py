"""The MCP server: the agent tools over Streamable HTTP (``/mcp``) and stdio (``booking mcp``)."""
