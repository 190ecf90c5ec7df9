"""``/schema``: the generated OpenAPI document as one readable HTML page, rendered on the server.

Litestar's own render plugins (Swagger UI, ReDoc, …) load their JavaScript from CDNs, which
neither works offline nor passes the pages' Content-Security-Policy (``script-src 'self'``).
This page needs no script at all: operations are sections, parameters and fields are tables,
examples are preformatted JSON, and one stylesheet is served next to it from the package.
Every value taken from the document is escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final

from litestar import Request, Response, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

from agent_booking.entrypoints.http.errors import framework_error

__all__ = ["DOCS_ASSETS_PATH", "DOCS_STATIC_DIRECTORY", "DocsPage"]

JsonObject = dict[str, Any]

#: The page's stylesheet ships in the package (``package-data``) and is served from here.
DOCS_ASSETS_PATH: Final = "/schema/assets"
DOCS_STATIC_DIRECTORY: Final = Path(__file__).resolve().parent / "static" / "docs"

_METHODS: Final = ("get", "post", "put", "patch", "delete")
_CODE_SPAN: Final = re.compile(r"`([^`]+)`")
_CONSTRAINTS: Final = ("pattern", "minLength", "maxLength", "minimum", "maximum", "minItems")


class DocsPage(OpenAPIRenderPlugin):
    """Renders the document Litestar generated; registered in ``OpenAPIConfig.render_plugins``."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return render_page(openapi_schema, json_url=self.get_openapi_json_route(request)).encode()

    def receive_router(self, router: Router) -> None:
        """Serve the stylesheet beside the page, under the schema router's path."""
        router.register(
            create_static_files_router(
                path=DOCS_ASSETS_PATH.removeprefix(router.path),
                directories=[DOCS_STATIC_DIRECTORY],
                name="docs_assets",
                cache_control=CacheControlHeader(no_cache=True),
                include_in_schema=False,
                before_request=_only_asset_files,
            )
        )


_ASSET_FILES: Final = frozenset(
    path.relative_to(DOCS_STATIC_DIRECTORY).as_posix()
    for path in DOCS_STATIC_DIRECTORY.rglob("*")
    if path.is_file()
)


async def _only_asset_files(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """404 for anything but the page's own files, before the file system sees the path: a path
    such as ``docs.css/..`` made Litestar's static files answer 500 (``NotADirectoryError``)."""
    name = request.scope["path"].removeprefix(DOCS_ASSETS_PATH).strip("/")
    return None if name in _ASSET_FILES else framework_error(HTTPStatus.NOT_FOUND)


def render_page(document: JsonObject, *, json_url: str) -> str:
    info, components = document["info"], document.get("components", {})
    operations = list(_operations(document))
    sockets = document.get("x-websockets", {})
    toc = [
        f'<li><a href="#{_slug(method + path)}"><b>{method.upper()}</b> <code>{escape(path)}'
        f"</code></a> {escape(operation.get('summary', ''))}</li>"
        for path, method, operation in operations
    ] + [
        f'<li><a href="#{_slug("ws" + path)}"><b>WS</b> <code>{escape(path)}</code></a></li>'
        for path in sockets
    ]
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(info['title'])} · API</title>",
        f'<link rel="stylesheet" href="{DOCS_ASSETS_PATH}/docs.css"></head><body>',
        f"<header><h1>{escape(info['title'])} <small>{escape(info['version'])}</small></h1>",
        f'<p>OpenAPI {escape(document["openapi"])} · <a href="{escape(json_url)}">'
        f"{escape(json_url)}</a></p></header>",
        f'<nav><h2>Endpoints</h2><ul class="toc">{"".join(toc)}</ul></nav><main>',
        f"<section><h2>Overview</h2>{_prose(info.get('description', ''))}</section>",
        *(
            _operation(path, method, operation, components)
            for path, method, operation in operations
        ),
        *(_websocket(path, item) for path, item in sockets.items()),
        "<section><h2>Errors of no operation</h2>",
        *(
            _response(name, response, components)
            for name, response in components.get("responses", {}).items()
        ),
        "</section><section><h2>Schemas</h2>",
        *(_schema(name, schema) for name, schema in components.get("schemas", {}).items()),
        "</section></main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _operations(document: JsonObject) -> Iterator[tuple[str, str, JsonObject]]:
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                yield path, method, item[method]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _inline(text: str) -> str:
    """Escaped text with `code spans` as <code>."""
    return _CODE_SPAN.sub(lambda match: f"<code>{match[1]}</code>", escape(text))


def _prose(text: str) -> str:
    paragraphs = [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]
    return "".join(f"<p>{_inline(paragraph)}</p>" for paragraph in paragraphs)


def _json(value: object) -> str:
    return f"<pre>{escape(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"


def _resolve(value: JsonObject, components: JsonObject) -> JsonObject:
    """A ``$ref`` to ``#/components/<kind>/<name>``, followed; anything else as it is."""
    reference = value.get("$ref")
    if not isinstance(reference, str):
        return value
    _hash, _components, kind, name = reference.split("/")
    resolved: JsonObject = components[kind][name]
    return resolved


def _operation(path: str, method: str, operation: JsonObject, components: JsonObject) -> str:
    parts = [
        f'<section class="operation" id="{_slug(method + path)}">',
        f"<h2><b>{method.upper()}</b> <code>{escape(path)}</code></h2>",
        f'<p class="summary">{escape(operation.get("summary", ""))}</p>',
        _prose(operation.get("description", "")),
    ]
    if operation.get("security"):
        names = [", ".join(requirement) or "none" for requirement in operation["security"]]
        parts.append(f'<p class="muted">Authentication: {escape(" or ".join(names))}</p>')
    if parameters := operation.get("parameters"):
        rows = [
            (
                f"<code>{escape(p['name'])}</code> ({escape(p['in'])}"
                f"{', required' if p.get('required') else ''})",
                _type(p.get("schema", {})) + _constraints(p.get("schema", {})),
                _inline(p.get("description", "")),
            )
            for p in (_resolve(parameter, components) for parameter in parameters)
        ]
        parts.append("<h3>Parameters</h3>" + _table(("name", "type", "description"), rows))
    if body := operation.get("requestBody"):
        for media in body.get("content", {}).values():
            schema = _resolve(media["schema"], components)
            parts.append(f"<h3>Request body: {_type(media['schema'])}</h3>{_properties(schema)}")
    parts.append("<h3>Responses</h3>")
    parts += [
        _response(status, response, components)
        for status, response in operation["responses"].items()
    ]
    parts.append("</section>")
    return "\n".join(parts)


def _response(status: str, response: JsonObject, components: JsonObject) -> str:
    response = _resolve(response, components)
    parts = [
        f'<div class="response"><h4>{escape(status)}</h4>',
        _prose(response.get("description", "")),
    ]
    if headers := response.get("headers"):
        parts.append(
            '<p class="muted">Headers: '
            + ", ".join(f"<code>{escape(name)}</code>" for name in headers)
            + "</p>"
        )
    for media_type, media in response.get("content", {}).items():
        parts.append(f"<p><code>{escape(media_type)}</code>: {_type(media.get('schema', {}))}</p>")
        parts += [
            _json(example["value"])
            for example in media.get("examples", {}).values()
            if "value" in example
        ]
    parts.append("</div>")
    return "".join(parts)


def _type(schema: JsonObject) -> str:
    """A short label: a link for a reference, the type, an enum's values or a constant."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#{_slug("schema-" + name)}">{escape(name)}</a>'
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    if "enum" in schema and "allOf" not in schema:
        return "one of " + ", ".join(
            f"<code>{escape(json.dumps(v))}</code>" for v in schema["enum"]
        )
    if "allOf" in schema or "oneOf" in schema:
        label = " | ".join(_type(part) for part in schema.get("allOf") or schema["oneOf"])
        codes = schema.get("properties", {}).get("code", {}).get("enum")
        return label + (" with <code>code</code> one of " + _codes(codes) if codes else "")
    kind = schema.get("type", "any")
    label = escape(" | ".join(kind) if isinstance(kind, list) else str(kind))
    return label + (f" of {_type(schema['items'])}" if "items" in schema else "")


def _codes(codes: Iterable[str]) -> str:
    return ", ".join(f"<code>{escape(code)}</code>" for code in codes)


def _constraints(schema: JsonObject) -> str:
    found = [
        f"{name} <code>{escape(str(schema[name]))}</code>"
        for name in _CONSTRAINTS
        if name in schema
    ]
    return f'<div class="muted">{"; ".join(found)}</div>' if found else ""


def _table(headings: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = "".join(f"<th>{heading}</th>" for heading in headings)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _properties(schema: JsonObject) -> str:
    required = set(schema.get("required", []))
    rows = [
        (
            f"<code>{escape(name)}</code>{' *' if name in required else ''}",
            _type(value) + _constraints(value),
            _inline(value.get("description", "")),
        )
        for name, value in schema.get("properties", {}).items()
    ]
    return _table(("field (* required)", "type", "description"), rows) if rows else ""


def _schema(name: str, schema: JsonObject) -> str:
    return (
        f'<section class="schema" id="{_slug("schema-" + name)}"><h3>{escape(name)}</h3>'
        f"{_prose(schema.get('description', ''))}{_properties(schema) or _type(schema)}</section>"
    )


def _websocket(path: str, item: JsonObject) -> str:
    rows = [
        (f"<code>{escape(k)}</code>", _inline(v.get("description", "")))
        for k, v in item.get("query", {}).items()
    ]
    codes = [
        (f"<code>{escape(k)}</code>", escape(v)) for k, v in item.get("closeCodes", {}).items()
    ]
    return (
        f'<section class="operation" id="{_slug("ws" + path)}"><h2><b>WS</b> <code>{escape(path)}'
        f'</code></h2><p class="summary">{escape(item.get("summary", ""))}</p>'
        f"{_prose(item.get('description', ''))}"
        f"<h3>Query</h3>{_table(('name', 'description'), rows)}"
        f"<h3>Close codes</h3>{_table(('code', 'reason'), codes)}</section>"
    )
