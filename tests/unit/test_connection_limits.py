"""The connection limits' settings: read from ``BOOKING_*`` and handed to uvicorn.

Their behaviour is tested through a real server in ``tests/integration/test_server_limits.py``.
"""

from __future__ import annotations

import pickle

import pytest

from agent_booking.entrypoints.cli.server import uvicorn_options
from agent_booking.entrypoints.config import AppConfig, ConfigError
from agent_booking.entrypoints.connection_limits import ConnectionLimits, LimitedHttpToolsProtocol


class TestConnectionLimitSettings:
    def test_defaults(self) -> None:
        assert ConnectionLimits.from_config(AppConfig.from_env({})) == ConnectionLimits(
            max_header_bytes=16384, header_timeout_s=10, body_timeout_s=30, max_connections=1000
        )

    def test_reads_every_variable(self) -> None:
        config = AppConfig.from_env(
            {
                "BOOKING_MAX_HEADER_BYTES": "8192",
                "BOOKING_HEADER_TIMEOUT_S": "5",
                "BOOKING_BODY_TIMEOUT_S": "20",
                "BOOKING_MAX_CONNECTIONS": "200",
            }
        )

        assert ConnectionLimits.from_config(config) == ConnectionLimits(
            max_header_bytes=8192, header_timeout_s=5, body_timeout_s=20, max_connections=200
        )

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("BOOKING_MAX_HEADER_BYTES", "1023"),
            ("BOOKING_MAX_HEADER_BYTES", "16k"),
            ("BOOKING_HEADER_TIMEOUT_S", "0"),
            ("BOOKING_BODY_TIMEOUT_S", "-1"),
            ("BOOKING_MAX_CONNECTIONS", "0"),
            # Deadlines become float seconds: a huge one would overflow on every connection.
            ("BOOKING_HEADER_TIMEOUT_S", "86401"),
            ("BOOKING_BODY_TIMEOUT_S", "1" + "0" * 400),
        ],
    )
    def test_refuses_bad_values(self, name: str, value: str) -> None:
        with pytest.raises(ConfigError, match=name):
            AppConfig.from_env({name: value})


class TestUvicornOptions:
    def test_serve_runs_the_limited_protocol_and_caps_connections(self) -> None:
        limits = ConnectionLimits(
            max_header_bytes=4096, header_timeout_s=2, body_timeout_s=3, max_connections=50
        )

        options = uvicorn_options(
            host="127.0.0.1", port=8000, workers=2, level="INFO", limits=limits
        )

        assert options["http"].func is LimitedHttpToolsProtocol
        assert options["http"].keywords == {"limits": limits}
        # uvicorn counts the connection being served and refuses when the count reaches it.
        assert options["limit_concurrency"] == 51
        # A dashboard's request is a few dozen bytes; a larger message is closed with 1009.
        assert options["ws_max_size"] == 4096

    def test_the_protocol_factory_reaches_worker_processes(self) -> None:
        """Worker processes are spawned: uvicorn's configuration, protocol included, is pickled."""
        limits = ConnectionLimits.from_config(AppConfig())
        options = uvicorn_options(
            host="127.0.0.1", port=8000, workers=2, level="INFO", limits=limits
        )

        factory = pickle.loads(pickle.dumps(options["http"]))  # noqa: S301 - our own bytes

        assert factory.func is LimitedHttpToolsProtocol
        assert factory.keywords == {"limits": limits}
