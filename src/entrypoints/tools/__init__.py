"""Agent tools: one registry served over MCP and the voice platforms' tool endpoints."""
