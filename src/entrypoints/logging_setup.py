"""Stdlib logging, configured once per process from one ``dictConfig``.

The same dictionary is applied by the CLI and handed to uvicorn as its ``log_config``, so the
server's own loggers and ours share one format (a JSON object per line, see
:mod:`agent_booking.entrypoints.structured_logging`) and level, and every worker process uvicorn
spawns configures itself identically. The access log is ours
(``entrypoints.http.access``, written by the HTTP edge with the request id and
duration); ``booking serve`` turns uvicorn's off.
"""

from __future__ import annotations

import logging.config
from typing import Any

__all__ = ["configure_logging", "logging_config"]

_JSON_FORMATTER = "agent_booking.entrypoints.structured_logging.JsonFormatter"
#: Written by the HTTP edge (agent_booking.entrypoints.http.request_edge), one record per request.
_ACCESS_LOGGER = "entrypoints.http.access"


def logging_config(level: str, *, access_log: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary: everything to stderr at ``level``; without
    ``access_log`` the per-request records (INFO) are not written whatever the level."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # uvicorn sets ``use_colors`` on these two when told to; keep both names for it. A new
        # dict for each: dictConfig pops the "()" key from what it is given.
        "formatters": {name: {"()": _JSON_FORMATTER} for name in ("default", "access")},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            },
        },
        "root": {"level": level, "handlers": ["stderr"]},
        # uvicorn's loggers only propagate to the root handler, so nothing is printed twice.
        "loggers": {
            **{
                name: {"level": level, "handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            _ACCESS_LOGGER: {"level": level if access_log else "WARNING"},
            # Alembic narrates every start-up check at INFO; 'booking migrate' turns it back up.
            "alembic": {"level": "DEBUG" if level == "DEBUG" else "WARNING"},
        },
    }


def configure_logging(level: str, *, access_log: bool = True) -> None:
    logging.config.dictConfig(logging_config(level, access_log=access_log))
