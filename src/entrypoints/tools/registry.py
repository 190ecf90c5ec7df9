"""The agent tools: one registry that every agent surface serves.

MCP (``tools/list``, ``tools/call``), the voice platforms' tool endpoints and the OpenAI function
definitions all read the tools from one :class:`ToolRegistry`. A tool's arguments are declared
once, as a msgspec Struct (the HTTP API's request Struct where one exists); its JSON schema is
generated from that Struct here, once, and every surface serves that very schema. A tool's
handler calls the same use cases (through the same endpoint objects) as the HTTP routes, and
answers with the HTTP API's JSON body, so a refusal carries the same ``code``, ``message`` and
``alternatives`` on every surface.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any, Final

import msgspec
from attrs import field, frozen

from agent_booking.core.errors import BookingError, InvalidField, InvalidRequestBody, MissingField
from agent_booking.entrypoints.http.errors import error_body
from agent_booking.entrypoints.http.request_bodies import describe_regional_phones

__all__ = [
    "UNKNOWN_TOOL_CODE",
    "AgentTool",
    "ToolCall",
    "ToolHints",
    "ToolRegistry",
    "ToolResult",
    "input_schema",
    "required_text",
    "unknown_tool",
]

UNKNOWN_TOOL_CODE: Final = "unknown_tool"


@frozen
class ToolHints:
    """MCP's tool annotations: hints for a client deciding whether to ask its user first."""

    read_only: bool
    destructive: bool
    idempotent: bool


@frozen
class ToolCall:
    """How a tool call arrived, beyond its arguments.

    ``trusted``: a trusted agent made it (``agent_access.is_trusted_agent``), so answers show
    what the HTTP API shows such an agent. ``idempotency_key``: one the transport supplies
    (a Vapi tool call id); an argument named ``idempotency_key`` takes precedence.
    ``caller_phone``: the caller's number from the platform's call metadata, used when the
    arguments carry no ``phone``.
    """

    trusted: bool
    idempotency_key: str | None = None
    caller_phone: str | None = None


@frozen
class ToolResult:
    """A tool's answer: ``ok`` or refused, and the HTTP API's JSON body for it."""

    ok: bool
    body: dict[str, Any]


#: A tool's work: its arguments (a JSON object, ``phone`` already filled in from the call
#: when the tool has one) to a result. May raise :class:`BookingError` for a refusal.
ToolHandler = Callable[[dict[str, Any], ToolCall], Awaitable[ToolResult]]


@frozen
class AgentTool:
    """One tool: its name, the description a model reads, hints, arguments and handler.

    The description is written for a model: when to call the tool, and what to ask the caller
    first.
    """

    name: str
    description: str
    hints: ToolHints
    arguments: type[msgspec.Struct]
    handler: ToolHandler = field(repr=False)


def input_schema(arguments: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON schema of a tool's arguments, from its Struct: one object schema, inline.

    msgspec puts a Struct under ``$defs``; tool schemas must be an object at the root, so the
    Struct's own schema is lifted out (arguments Structs nest no other Structs). The request
    Structs keep the rules the core applies (patterns, lengths) under ``extra`` so that msgspec
    does not check them twice (``request_bodies.documented``); here they join the property's
    schema, as in the OpenAPI document.
    """
    (schema,), components = msgspec.json.schema_components([arguments])
    del schema  # only a reference to the Struct's component
    struct_schema = dict(components[arguments.__name__])
    if components.keys() - {arguments.__name__}:
        raise TypeError(f"{arguments.__name__}: tool arguments must not nest other Structs")
    struct_schema.pop("title", None)
    struct_schema["properties"] = {
        name: _with_rules(prop) for name, prop in struct_schema.get("properties", {}).items()
    }
    return struct_schema


def _with_rules(prop: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(prop)
    if "anyOf" in result:  # ``X | None``: the rules belong to the X branch
        result["anyOf"] = [_with_rules(branch) for branch in result["anyOf"]]
    result.update(result.pop("extra", {}))
    return result


def unknown_tool(name: str) -> ToolResult:
    return ToolResult(
        ok=False,
        body={"success": False, "message": f"Unknown tool: {name}", "code": UNKNOWN_TOOL_CODE},
    )


class ToolRegistry:
    """The registered tools, their schemas (generated once) and one way to run them."""

    def __init__(self, tools: Iterable[AgentTool], *, phone_region: str | None = None) -> None:
        """``phone_region``: ``BOOKING_DEFAULT_REGION``, if set (phones are then described by
        libphonenumber's rule, not the 6-15 digit pattern)."""
        self._tools: dict[str, AgentTool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"tool {tool.name!r} registered twice")
            self._tools[tool.name] = tool
        self._schemas = {name: input_schema(tool.arguments) for name, tool in self._tools.items()}
        if phone_region is not None:
            describe_regional_phones(self._schemas, phone_region)

    def __iter__(self) -> Iterator[AgentTool]:
        return iter(self._tools.values())

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return list(self._tools)

    def schema(self, name: str) -> dict[str, Any]:
        """The tool's input schema: every surface serves this very dictionary's content."""
        return self._schemas[name]

    def openai_definitions(self) -> list[dict[str, Any]]:
        """Every tool as an OpenAI function definition (what voice platforms import)."""
        return [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": self._schemas[tool.name],
                },
            }
            for tool in self._tools.values()
        ]

    async def run(self, name: str, arguments: object, call: ToolCall) -> ToolResult:
        """Run tool ``name``; a refusal is a result, not an exception.

        ``arguments`` must be a JSON object (``None`` counts as ``{}``). Unexpected errors
        propagate: each surface reports them as its 500 does, without details.
        """
        tool = self._tools.get(name)
        if tool is None:
            return unknown_tool(name)
        try:
            if arguments is None:
                arguments = {}
            if not isinstance(arguments, dict):
                raise InvalidRequestBody("Tool arguments must be a JSON object")
            given = dict(arguments)
            if (
                call.caller_phone
                and "phone" in tool.arguments.__struct_fields__
                and not _present(given.get("phone"))
            ):
                given["phone"] = call.caller_phone
            return await tool.handler(given, call)
        except BookingError as error:
            return ToolResult(ok=False, body=error_body(error))


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def required_text(arguments: Mapping[str, Any], name: str) -> str:
    """A required text argument, refused as the HTTP API refuses a missing field."""
    value = arguments.get(name)
    if not _present(value):
        raise MissingField(name)
    if not isinstance(value, str):
        raise InvalidField(name, "must be a string")
    return value
