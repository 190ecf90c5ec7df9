"""Requests with a body must declare it as JSON, or say nothing.

Every endpoint that takes a body (the agent booking endpoint, the admin API) reads JSON, so a
body declared as anything else (a form, plain text, XML) is refused with ``415`` before it is
read. ``application/json`` and any ``…/…+json`` type pass, with parameters such as
``charset``. A request with *no* ``Content-Type`` is read as JSON: some agents' HTTP tools omit
the header, and the body is then judged on what it is (``400 invalid_body`` if it is not JSON).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler

__all__ = ["is_json_media_type", "require_json_body"]

_METHODS_WITH_A_BODY = frozenset({"POST", "PUT", "PATCH"})
_JSON_SUFFIX = "+json"


def is_json_media_type(content_type: str) -> bool:
    """``application/json`` or a structured ``type/name+json``, parameters ignored."""
    kind, slash, subtype = content_type.split(";", 1)[0].strip().lower().partition("/")
    if not (kind and slash):
        return False
    if kind == "application" and subtype == "json":
        return True
    return subtype.endswith(_JSON_SUFFIX) and len(subtype) > len(_JSON_SUFFIX)


async def require_json_body(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """An app-wide guard: ``415 unsupported_media_type`` for a declared non-JSON body.

    ``async`` although it awaits nothing: Litestar runs a plain function guard on a worker
    thread, a thread hand-off on every request (seen in the benchmark's profile).
    """
    scope = connection.scope
    if scope["type"] != ScopeType.HTTP or scope["method"] not in _METHODS_WITH_A_BODY:
        return
    content_type = connection.headers.get("content-type", "").strip()
    if content_type and not is_json_media_type(content_type):
        raise HTTPException(status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
