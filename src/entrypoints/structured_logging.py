"""Log records as JSON lines, tagged with the id of the request they belong to.

One JSON object per line (``time``, ``level``, ``logger``, ``message``, ``request_id``,
``pid``, then any ``extra=`` fields, e.g. the access log's ``method``, ``path``, ``status``,
``duration_ms``, ``client``), so log shippers need no parsing rules. The request id lives in a
context variable that the HTTP edge sets for the duration of a request; records logged outside a
request (start-up, the event fan-out) have ``"request_id": null``.

Credentials are scrubbed from messages and tracebacks as a last line of defence: a query
parameter such as ``?token=`` (uvicorn logs WebSocket handshakes with their query string) and a
``Bearer`` credential become ``[redacted]``. Nothing in this service logs a header.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote_plus

__all__ = ["REQUEST_ID", "JsonFormatter", "redact"]

#: The current request's id (set by ``agent_booking.entrypoints.http.request_edge``), or None.
REQUEST_ID: ContextVar[str | None] = ContextVar("booking_request_id", default=None)

_REDACTED = "[redacted]"
#: A query parameter: separator, name, ``=``, value (which ends at the next separator).
_QUERY_PARAMETER = re.compile(r"([?&;])([^=&;?#\s\"']{1,100})=([^&;\s\"'#]*)")
#: Parameter names that carry credentials, compared after percent-decoding: a server decodes
#: ``?%74oken=`` to ``token`` too, so the log must not be fooled by the spelling.
_SECRET_NAMES = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "password", "secret"}
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+")

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName", "color_message"}


def redact(text: str) -> str:
    """``text`` with credential-looking query parameters and bearer tokens masked."""
    return _BEARER.sub(rf"\1{_REDACTED}", _QUERY_PARAMETER.sub(_mask_secret_parameter, text))


def _mask_secret_parameter(match: re.Match[str]) -> str:
    separator, name, _ = match.groups()
    if unquote_plus(name).strip().lower() not in _SECRET_NAMES:
        return match[0]
    return f"{separator}{name}={_REDACTED}"


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (non-serialisable extras are written with ``str``)."""

    def __init__(self, *, use_colors: bool | None = None) -> None:
        del use_colors  # uvicorn may pass it to its formatters; JSON has no colours
        super().__init__()

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": REQUEST_ID.get(),
            "pid": record.process,  # tells the workers of one server apart
        }
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name not in document:
                document[name] = value
        if record.exc_info:
            document["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            document["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(document, default=str, ensure_ascii=False)
