"""The agent tools for voice platforms, over plain HTTP under ``/api/agent/tools/``.

- ``GET /api/agent/tools/``: every tool as an OpenAI function definition
  (``{"type": "function", "function": {"name", "description", "parameters"}}``), the schemas being
  the registry's, as MCP serves them.
- ``POST /api/agent/tools/{name}/``: run one tool with its arguments as the JSON body (what Retell
  and ElevenLabs server tools send). A tool that ran answers ``200`` with the HTTP API's body:
  the success body, or a refusal ``{"success": false, "code", "message"[, "alternatives"]}``, so
  a platform hands the model the refusal and its alternatives instead of a failed call.
- ``POST /api/agent/tools/vapi/``: Vapi's ``tool-calls`` server message; answers
  ``{"results": [{"toolCallId", "result"}]}``, each ``result`` the JSON text of the body above.
  The caller's number (``message.call.customer.number``) stands in for a missing ``phone``, and
  each tool call's id is its idempotency key (``vapi-<id>``) unless the arguments carry one.
  Other Vapi message types are acknowledged with ``{}`` and otherwise ignored.

Refused before any tool runs: a body that is not a JSON object (``400 invalid_body``), an unknown
tool (``404 unknown_tool``), a body declared as something other than JSON (415), too large (413),
another method (405). :class:`ToolLane` serves these paths in front of Litestar after the same
:class:`~agent_booking.entrypoints.http.agent_access.AgentAccess` checks as every agent endpoint
(API keys, allowed networks, rate limit; a configured key makes the caller a trusted agent).
They are not in the OpenAPI document: their own description is ``GET /api/agent/tools/``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final, cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send

from agent_booking.core.errors import BookingError, InvalidRequestBody
from agent_booking.entrypoints.http.agent_access import AgentAccess, is_trusted_agent
from agent_booking.entrypoints.http.booking_endpoint import (
    Answer,
    BodyTooLarge,
    framework_answer,
    json_object,
    read_body,
)
from agent_booking.entrypoints.http.content_type import is_json_media_type
from agent_booking.entrypoints.http.errors import error_body, internal_error_body
from agent_booking.entrypoints.http.request_edge import header_value
from agent_booking.entrypoints.tools.registry import (
    ToolCall,
    ToolRegistry,
    ToolResult,
    unknown_tool,
)

__all__ = ["TOOLS_PATH", "VAPI_PATH", "ToolLane", "vapi_results"]

TOOLS_PATH: Final = "/api/agent/tools/"
VAPI_PATH: Final = f"{TOOLS_PATH}vapi/"
_VAPI_TOOL_CALLS: Final = "tool-calls"
_VAPI_KEY_PREFIX: Final = "vapi-"
_NOT_VAPI: Final = 'Request body must be a Vapi server message: {"message": {"type": ...}}'

_log = logging.getLogger(__name__)


class ToolLane:
    """ASGI: answers ``/api/agent/tools/…`` itself; everything else goes on to ``app``."""

    def __init__(
        self, app: ASGIApp, registry: ToolRegistry, access: AgentAccess, *, max_body_bytes: int
    ) -> None:
        self._app = app
        self._registry = registry
        self._access = access
        self._max_body_bytes = max_body_bytes
        self._definitions = Answer.json(HTTPStatus.OK, registry.openai_definitions())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == ScopeType.HTTP else ""
        if path != TOOLS_PATH.rstrip("/") and not path.startswith(TOOLS_PATH):
            await self._app(scope, receive, send)
            return
        await self._access.handle(scope, receive, send, self._serve)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        http_scope = cast("HTTPScope", scope)
        answer = await self._answer(http_scope, receive)
        if answer is not None:  # None: the client left before sending its body
            await _send(send, answer)

    async def _answer(self, scope: HTTPScope, receive: Receive) -> Answer | None:
        path = scope["path"].rstrip("/") + "/"
        method = scope["method"]
        if path == TOOLS_PATH:
            scope["path_template"] = TOOLS_PATH.rstrip("/")
            return self._definitions if method in ("GET", "HEAD") else _not_allowed("GET")
        name = path.removeprefix(TOOLS_PATH).removesuffix("/")
        if "/" in name:
            return framework_answer(HTTPStatus.NOT_FOUND)
        scope["path_template"] = (
            VAPI_PATH.rstrip("/") if path == VAPI_PATH else f"{TOOLS_PATH}{{name}}"
        )
        if method != "POST":
            return _not_allowed("POST")
        if path != VAPI_PATH and name not in self._registry:
            return Answer.json(HTTPStatus.NOT_FOUND, unknown_tool(name).body)
        content_type = header_value(scope["headers"], b"content-type")
        if content_type and not is_json_media_type(content_type.strip()):
            return framework_answer(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            raw = await read_body(receive, self._max_body_bytes)
        except BodyTooLarge:
            return framework_answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        if raw is None:
            return None
        try:
            body = json_object(raw)
            trusted = is_trusted_agent(scope)
            if path == VAPI_PATH:
                return Answer.json(HTTPStatus.OK, await vapi_results(self._registry, body, trusted))
            result = await self._registry.run(name, body, ToolCall(trusted=trusted))
        except BookingError as error:
            return Answer.json(HTTPStatus.BAD_REQUEST, error_body(error))
        except Exception as error:
            _log.error("unhandled error on POST %s", scope["path"], exc_info=error)
            return Answer.json(HTTPStatus.INTERNAL_SERVER_ERROR, internal_error_body())
        return Answer.json(HTTPStatus.OK, result.body)


async def vapi_results(
    registry: ToolRegistry, body: Mapping[str, Any], trusted: bool
) -> dict[str, Any]:
    """The answer to one Vapi server message: each tool call's result, in order.

    Raises :class:`InvalidRequestBody` for a body that is not a Vapi message at all.
    """
    message = body.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise InvalidRequestBody(_NOT_VAPI)
    if message["type"] != _VAPI_TOOL_CALLS:
        return {}
    calls = message.get("toolCallList")
    if not isinstance(calls, list):
        raise InvalidRequestBody("A Vapi tool-calls message must have a toolCallList array")
    caller = _caller_number(message)
    results = []
    for index, tool_call in enumerate(calls):
        if not isinstance(tool_call, dict) or not isinstance(tool_call.get("id"), str):
            raise InvalidRequestBody(f"toolCallList[{index}] must be an object with a string id")
        call_id: str = tool_call["id"]
        result = await _vapi_call(registry, tool_call, caller, trusted)
        results.append(
            {"toolCallId": call_id, "result": json.dumps(result.body, ensure_ascii=False)}
        )
    return {"results": results}


async def _vapi_call(
    registry: ToolRegistry, tool_call: Mapping[str, Any], caller: str | None, trusted: bool
) -> ToolResult:
    """One tool call: ``{"id", "function": {"name", "arguments"}}`` as Vapi documents it (or
    the flattened ``{"id", "name", "arguments"}`` some of its examples show); ``arguments`` an
    object or its JSON text."""
    function = tool_call.get("function")
    source: Mapping[str, Any] = function if isinstance(function, dict) else tool_call
    name = source.get("name")
    if not isinstance(name, str):
        return ToolResult(
            ok=False, body=error_body(InvalidRequestBody("A tool call must name its function"))
        )
    # The key is checked where every key is (a Vapi id is printable ASCII, well under 255).
    call = ToolCall(
        trusted=trusted, idempotency_key=f"{_VAPI_KEY_PREFIX}{tool_call['id']}", caller_phone=caller
    )
    try:
        return await registry.run(name, _arguments(source.get("arguments")), call)
    except BookingError as error:
        return ToolResult(ok=False, body=error_body(error))
    except Exception as error:
        _log.error("unhandled error in Vapi tool call %s", name, exc_info=error)
        return ToolResult(ok=False, body=internal_error_body())


def _arguments(arguments: object) -> object:
    """Vapi sends a call's arguments as an object, or as its JSON text (OpenAI's way)."""
    if isinstance(arguments, str):
        return json_object(arguments.encode()) if arguments.strip() else {}
    return arguments


def _caller_number(message: Mapping[str, Any]) -> str | None:
    """The caller's number from Vapi's call metadata (``call.customer.number``), if any."""
    call = message.get("call")
    customer = call.get("customer") if isinstance(call, dict) else None
    number = customer.get("number") if isinstance(customer, dict) else None
    return number if isinstance(number, str) and number.strip() else None


def _not_allowed(allowed: str) -> Answer:
    answer = framework_answer(HTTPStatus.METHOD_NOT_ALLOWED)
    return Answer(answer.status, answer.body, (("Allow", allowed),))


async def _send(send: Send, answer: Answer) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(answer.body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in answer.headers),
    ]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})
