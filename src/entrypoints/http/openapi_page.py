"""The OpenAPI document rendered as one readable HTML page, on the server.

No script at all (the Content-Security-Policy allows only the server's own, and a page of text
needs none) and nothing fetched from elsewhere: one stylesheet served next to the page. Every
value from the document is escaped. The markup is deliberately plain: an operation is a
section, its parameters and a schema's properties are tables, examples are preformatted JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from html import escape
from typing import Any

__all__ = ["render_docs_page"]

JsonObject = dict[str, Any]

_METHODS = ("get", "post", "put", "patch", "delete")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_CONSTRAINTS = (
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "default",
)


def render_docs_page(document: JsonObject, *, stylesheet: str, json_url: str) -> str:
    info = document["info"]
    components = document.get("components", {})
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(info['title'])} · API</title>",
        f'<link rel="stylesheet" href="{escape(stylesheet)}">',
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(info['title'])} <small>{escape(info['version'])}</small></h1>",
        f'<p>OpenAPI {escape(document["openapi"])} · <a href="{escape(json_url)}">'
        f"{escape(json_url)}</a></p>",
        "</header>",
        _contents(document),
        "<main>",
        '<section id="overview"><h2>Overview</h2>',
        _prose(info.get("description", "")),
        "</section>",
        *(
            _operation(path, method, operation, components)
            for path, method, operation in _operations(document)
        ),
        *(_websocket(path, item) for path, item in document.get("x-websockets", {}).items()),
        _route_level(components),
        _headers(document),
        _schemas(components.get("schemas", {})),
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _operations(document: JsonObject) -> Iterable[tuple[str, str, JsonObject]]:
    for path, item in document["paths"].items():
        for method in _METHODS:
            if method in item:
                yield path, method, item[method]


def _anchor(path: str, method: str) -> str:
    return f"op-{method}-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _contents(document: JsonObject) -> str:
    items = [
        f'<li><a href="#{_anchor(path, method)}"><span class="method">{method.upper()}</span> '
        f"<code>{escape(path)}</code></a> {escape(operation.get('summary', ''))}</li>"
        for path, method, operation in _operations(document)
    ]
    items += [
        f'<li><a href="#ws-{_slug(path)}"><span class="method">WS</span> '
        f"<code>{escape(path)}</code></a> {escape(item.get('summary', ''))}</li>"
        for path, item in document.get("x-websockets", {}).items()
    ]
    return '<nav><h2>Endpoints</h2><ul class="toc">' + "".join(items) + "</ul></nav>"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _inline(text: str) -> str:
    """Escaped text with `code spans` as <code>."""
    return _CODE_SPAN.sub(lambda match: f"<code>{match[1]}</code>", escape(text))


def _prose(text: str) -> str:
    """Blank-line separated paragraphs; lines of a paragraph are joined."""
    paragraphs = [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]
    return "".join(f"<p>{_inline(paragraph)}</p>" for paragraph in paragraphs)


def _json(value: object) -> str:
    if isinstance(value, str):
        return f"<pre>{escape(value)}</pre>"
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
        f'<section class="operation" id="{_anchor(path, method)}">',
        f'<h2><span class="method">{method.upper()}</span> <code>{escape(path)}</code></h2>',
        f'<p class="summary">{escape(operation.get("summary", ""))}</p>',
        _prose(operation.get("description", "")),
        _security(operation.get("security")),
    ]
    parameters = [_resolve(parameter, components) for parameter in operation.get("parameters", [])]
    if parameters:
        parts.append("<h3>Parameters</h3>" + _parameters(parameters))
    body = operation.get("requestBody")
    if body:
        parts.append("<h3>Request body</h3>" + _content(body["content"], components, expand=True))
    parts.append("<h3>Responses</h3>")
    parts += [
        _response(status, _resolve(response, components), components)
        for status, response in operation["responses"].items()
    ]
    parts.append("</section>")
    return "\n".join(parts)


def _security(requirements: list[JsonObject] | None) -> str:
    if requirements is None:
        return ""
    names = [", ".join(requirement) or "none" for requirement in requirements]
    return f'<p class="security">Authentication: {escape(" or ".join(names))}</p>'


def _parameters(parameters: list[JsonObject]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(parameter['name'])}</code></td><td>{escape(parameter['in'])}"
        f"{' (required)' if parameter.get('required') else ''}</td>"
        f"<td>{_type(parameter['schema'])}{_constraints(parameter['schema'])}</td>"
        f"<td>{_inline(parameter.get('description', ''))}</td></tr>"
        for parameter in parameters
    )
    return (
        "<table><thead><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _content(content: JsonObject, components: JsonObject, *, expand: bool = False) -> str:
    """Each media type's schema (its fields too with ``expand``) and examples."""
    parts = []
    for media_type, media in content.items():
        parts.append(f"<p>Content type <code>{escape(media_type)}</code>: {_type(media['schema'])}")
        codes = media["schema"].get("properties", {}).get("code", {}).get("enum")
        if codes:
            parts.append(" with <code>code</code> one of " + _code_list(codes))
        parts.append("</p>")
        schema = _resolve(media["schema"], components)
        if expand and "properties" in schema:
            parts.append(_properties(schema))
        if "example" in media:
            parts.append(_json(media["example"]))
        for name, example in media.get("examples", {}).items():
            parts.append(
                f'<p class="example">{escape(example.get("summary", name))}</p>'
                + _json(example["value"])
            )
    return "".join(parts)


def _code_list(codes: Iterable[str]) -> str:
    return ", ".join(f"<code>{escape(code)}</code>" for code in codes)


def _response(status: str, response: JsonObject, components: JsonObject) -> str:
    headers = [
        f'<a href="#header-{_slug(name)}"><code>{escape(name)}</code></a>'
        for name in response.get("headers", {})
    ]
    return "".join(
        [
            f'<div class="response"><h4>{escape(status)}</h4>',
            f"<p>{_inline(response.get('description', ''))}</p>",
            f'<p class="headers">Headers: {", ".join(headers)}</p>' if headers else "",
            _content(response.get("content", {}), components),
            "</div>",
        ]
    )


def _headers(document: JsonObject) -> str:
    """Every response header once, under its name on the wire, with what it means."""
    components = document.get("components", {})
    responses = [
        response
        for _path, _method, operation in _operations(document)
        for response in operation["responses"].values()
    ]
    responses += components.get("responses", {}).values()
    described: dict[str, list[str]] = {}
    for response in responses:
        for wire, raw in response.get("headers", {}).items():
            text = _inline(_resolve(raw, components).get("description", ""))
            if text not in described.setdefault(wire, []):
                described[wire].append(text)
    rows = "".join(
        f'<tr id="header-{_slug(wire)}"><td><code>{escape(wire)}</code></td>'
        f"<td>{'<br>'.join(texts)}</td></tr>"
        for wire, texts in sorted(described.items())
    )
    return (
        '<section id="headers"><h2>Response headers</h2><table><thead><tr><th>header</th>'
        f"<th>meaning</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _type(schema: JsonObject) -> str:
    """A short label: a link for a reference, the type, an enum's values or a constant."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{_slug(name)}">{escape(name)}</a>'
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    if "enum" in schema:
        return "one of " + ", ".join(
            f"<code>{escape(json.dumps(value))}</code>" for value in schema["enum"]
        )
    if "allOf" in schema:
        return " and ".join(_type(part) for part in schema["allOf"])
    kind = schema.get("type", "any")
    label = escape(" | ".join(kind) if isinstance(kind, list) else kind)
    if "items" in schema:
        label += f" of {_type(schema['items'])}"
    return label


def _constraints(schema: JsonObject) -> str:
    found = [
        f"{name} <code>{escape(str(schema[name]))}</code>"
        for name in _CONSTRAINTS
        if name in schema
    ]
    return f'<div class="constraints">{"; ".join(found)}</div>' if found else ""


def _properties(schema: JsonObject) -> str:
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code>{' *' if name in required else ''}</td>"
        f"<td>{_type(value)}{_constraints(value)}</td>"
        f"<td>{_inline(value.get('description', ''))}{_nested(value)}</td></tr>"
        for name, value in schema["properties"].items()
    )
    return (
        "<table><thead><tr><th>field (* required)</th><th>type</th><th>description</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _nested(schema: JsonObject) -> str:
    return _properties(schema) if "properties" in schema and "$ref" not in schema else ""


def _schemas(schemas: JsonObject) -> str:
    parts = ['<section id="schemas"><h2>Schemas</h2>']
    for name, schema in schemas.items():
        parts.append(f'<section class="schema" id="schema-{_slug(name)}"><h3>{escape(name)}</h3>')
        parts.append(_prose(schema.get("description", "")))
        if "properties" in schema:
            parts.append(_properties(schema))
            if schema.get("additionalProperties") is False:
                parts.append("<p>No other fields.</p>")
        else:
            parts.append(f"<p>{_type(schema)}{_constraints(schema)}</p>")
        parts.extend(_json(example) for example in schema.get("examples", []))
        parts.append("</section>")
    parts.append("</section>")
    return "\n".join(parts)


def _route_level(components: JsonObject) -> str:
    responses = components.get("responses", {})
    if not responses:
        return ""
    parts = ['<section id="route-level"><h2>Errors of no operation</h2>']
    parts += [_response(name, response, components) for name, response in responses.items()]
    parts.append("</section>")
    return "\n".join(parts)


def _websocket(path: str, item: JsonObject) -> str:
    def messages(references: list[JsonObject]) -> str:
        return ", ".join(_type(reference) for reference in references)

    close_codes = "".join(
        f"<li><code>{escape(code)}</code>: {escape(reason)}</li>"
        for code, reason in item.get("closeCodes", {}).items()
    )
    query = "".join(
        f"<li><code>{escape(name)}</code>: {_inline(schema.get('description', ''))}</li>"
        for name, schema in item.get("query", {}).items()
    )
    return "\n".join(
        [
            f'<section class="operation" id="ws-{_slug(path)}">',
            f'<h2><span class="method">WS</span> <code>{escape(path)}</code></h2>',
            f'<p class="summary">{escape(item.get("summary", ""))}</p>',
            _prose(item.get("description", "")),
            f"<h3>Query</h3><ul>{query}</ul>",
            f"<p>Server sends: {messages(item.get('serverMessages', []))}</p>",
            f"<p>Client may send: {messages(item.get('clientMessages', []))}</p>",
            f"<h3>Close codes</h3><ul>{close_codes}</ul>",
            '<p class="example">Example message</p>' + _json(item.get("example", {})),
            "</section>",
        ]
    )
