"""Stdlib logging, configured once per process from one ``dictConfig``.

The same dictionary is applied by the CLI and handed to uvicorn as its ``log_config``, so the
server's own loggers (access log included) and ours share one format and level, and every
worker process uvicorn spawns configures itself identically.
"""

from __future__ import annotations

import logging.config
from typing import Any

__all__ = ["configure_logging", "logging_config"]

_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


def logging_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary: everything to stderr at ``level``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # uvicorn sets ``use_colors`` on these two when told to; keep both names for it.
        "formatters": {
            "default": {"format": _FORMAT},
            "access": {"format": _FORMAT},
        },
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
            # Alembic narrates every start-up check at INFO; 'booking migrate' turns it back up.
            "alembic": {"level": "DEBUG" if level == "DEBUG" else "WARNING"},
        },
    }


def configure_logging(level: str) -> None:
    logging.config.dictConfig(logging_config(level))
