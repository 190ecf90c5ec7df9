"""Service configuration from ``BOOKING_*`` environment variables.

Configuration is read once, validated as a whole and frozen, so a typo in a variable stops the
service at start with one clear message instead of surfacing later as an odd request failure.
Every variable has a default that works out of the box (an embedded SQLite file next to the
process, UTC, day-first dates).

==============================  ========================================================
variable                        meaning (default)
==============================  ========================================================
BOOKING_DATABASE_URL            SQLAlchemy async URL (``sqlite+aiosqlite:///./booking.db``)
BOOKING_TIMEZONE                time zone written into the business settings when they are
                                first created (``UTC``). It only *seeds* settings: once
                                they exist, change the zone with
                                ``booking settings set --timezone``.
BOOKING_DATE_ORDER              ``DMY`` or ``MDY``: how ambiguous ``05/06/2027`` is read (``DMY``)
BOOKING_DEFAULT_REGION          region code (``GB``, ``US``, ``DE``): phones are read with
                                libphonenumber, national numbers in this region, and stored in
                                E.164 (unset: formatting is stripped, digits kept as sent)
BOOKING_LOCALE                  language of ``spoken`` starts (``en``; ``de``, ``fr``, ``en_GB``…:
                                any locale Babel knows)
BOOKING_INITIAL_PASSWORD        password for auto-created customers (unset: unusable password);
                                hashed once at start, never stored in plain text
BOOKING_ADMIN_TOKEN             token for the admin API/WebSocket (unset: ``booking serve``
                                generates one and prints it once)
BOOKING_LOG_LEVEL               DEBUG, INFO, WARNING, ERROR or CRITICAL (``INFO``)
BOOKING_ACCESS_LOG              ``1``/``0`` (also true/false, on/off): one log record per HTTP
                                request at INFO (``1``)
BOOKING_MAX_BODY_BYTES          largest accepted request body in bytes (65536)
BOOKING_DB_POOL_SIZE            database connection pool size per process (10)
BOOKING_STATEMENT_TIMEOUT_MS    per-statement timeout in milliseconds, 0 = none (5000, at most
                                2147483647)
BOOKING_SQLITE_BUSY_TIMEOUT_MS  how long a SQLite statement waits for a lock another process
                                holds before the request gets ``503 storage_unavailable``, in
                                milliseconds; 0 = not at all (30000, at most 2147483647)
BOOKING_EVENT_POLL_MS           how often each process polls the event outbox when no wake-up
                                came (1000, at most 3600000; commits in the same process, and
                                on PostgreSQL in any process, wake it at once)
BOOKING_SOCKET_QUEUE_SIZE       events buffered per dashboard before a dashboard that does not
                                read is disconnected (1000)
BOOKING_RATE_LIMIT              requests per client on ``/api/agent/…`` and ``/mcp``:
                                ``120/minute``, ``10/second``, ``1000/hour``; ``0`` = no limit
                                (``120/minute``)
BOOKING_MAX_ACTIVE_PER_PHONE    most open (upcoming or pending) future bookings one phone may
                                hold; one more is refused (422 ``too_many_bookings``);
                                ``0`` = no limit (5)
BOOKING_HOLD_SECONDS            how long a hold (``POST /api/agent/holds/``) keeps its start
                                for the caller, in seconds (300, 1 to 86400)
BOOKING_MAX_HOLDS_PER_PHONE     most live holds one phone may have; one more is refused (409
                                ``too_many_holds``) (2, at least 1)
BOOKING_HOLD_SWEEP_SECONDS      how often each worker process marks holds whose time is up
                                ``expired`` and announces ``hold_released`` (5, 1 to 3600)
BOOKING_TRUSTED_PROXIES         comma-separated CIDRs of our reverse proxies; only from them is
                                ``X-Forwarded-For`` believed (none)
BOOKING_AGENT_API_KEYS          comma-separated keys; when set, agent endpoints require one in
                                ``X-API-Key``, and its holders see stored customer profiles in
                                create answers (unset: the agent endpoints are public and show
                                no caller more than its own request said)
BOOKING_ALLOWED_NETWORKS        comma-separated CIDRs; when set, agent endpoints refuse (403)
                                clients outside them (unset: any address)
BOOKING_CORS_ORIGINS            comma-separated origins (``https://app.example.com``) allowed
                                to call the API from a browser (none: no CORS headers)
BOOKING_MAX_HEADER_BYTES        largest request head (request line and headers) in bytes;
                                larger ones get ``431`` (16384)
BOOKING_HEADER_TIMEOUT_S        seconds a client has to send a request's headers, from when it
                                connects or starts a further request (10, at most 86400)
BOOKING_BODY_TIMEOUT_S          seconds a client has to send a request's body, once its headers
                                are in (30, at most 86400)
BOOKING_MAX_CONNECTIONS         open connections per worker process, WebSockets included;
                                requests on further ones get ``503`` (1000)
BOOKING_WEBHOOK_ALLOW_HTTP      ``1``: webhook URLs may be plain ``http://`` (``0``: https only)
BOOKING_WEBHOOK_ALLOW_PRIVATE   ``1``: webhooks may reach loopback, private, link-local and
                                metadata addresses (``0``: refused, at subscription and at
                                every connection)
BOOKING_WEBHOOK_ALLOWED_HOSTS   comma-separated host names (``hooks.example.com``) or
                                suffixes (``.example.com``) webhooks may be sent to (unset:
                                any host)
BOOKING_WEBHOOK_TIMEOUT_S       seconds one webhook attempt may take in all (15, 1 to 60)
BOOKING_WEBHOOK_CONCURRENCY     webhook attempts in flight per subscription and worker
                                process (8, 1 to 100)
BOOKING_WEBHOOK_BUSY_RATE       webhooks a worker process sends per second while it is
                                saturated with requests, so bookings keep their speed; the
                                rest wait and are sent when the load drops (20; 0 = no limit)
BOOKING_WEBHOOK_RETRY_SCALE     multiplies the retry schedule (5 s … 10 h) and the 5-day
                                disable window; for tests (1, above 0 and at most 1)
==============================  ========================================================

Empty values count as unset.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from attrs import field, frozen

from agent_booking.adapters.phones import is_known_region
from agent_booking.adapters.rate_limit import RateLimit
from agent_booking.adapters.spoken import is_known_locale
from agent_booking.core.parsing import DateOrder
from agent_booking.core.settings import is_iana_timezone

__all__ = ["DEFAULT_DATABASE_URL", "AppConfig", "ConfigError"]

#: The embedded default. Kept here, not imported from the SQL adapter, so that reading the
#: configuration loads no database stack (an app built on other adapters never loads it).
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./booking.db"
_SUPPORTED_BACKENDS = ("sqlite", "postgresql")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_DEFAULT_MAX_BODY_BYTES = 64 * 1024
_DEFAULT_POOL_SIZE = 10
_DEFAULT_STATEMENT_TIMEOUT_MS = 5000
_DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Both engines keep these milliseconds in a C ``int``: SQLite silently reads a larger busy
#: timeout as 0 (no waiting at all), PostgreSQL refuses a larger statement timeout.
_MAX_TIMEOUT_MS = 2**31 - 1
#: Read deadlines and the poll interval become float seconds: a day (an hour for the poll) is
#: far beyond any useful value and keeps a mistyped one from overflowing a float.
_MAX_CLIENT_TIMEOUT_S = 86_400
_MAX_EVENT_POLL_MS = 3_600_000
_DEFAULT_MAX_HEADER_BYTES = 16 * 1024
_MIN_MAX_HEADER_BYTES = 1024  # a request line and the headers of any ordinary client
_DEFAULT_HEADER_TIMEOUT_S = 10
_DEFAULT_BODY_TIMEOUT_S = 30
_DEFAULT_MAX_CONNECTIONS = 1000
_DEFAULT_RATE_LIMIT = RateLimit(limit=120, window_seconds=60)
_DEFAULT_MAX_ACTIVE_PER_PHONE = 5
_DEFAULT_HOLD_SECONDS = 300
_DEFAULT_MAX_HOLDS_PER_PHONE = 2
_DEFAULT_HOLD_SWEEP_SECONDS = 5

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


class ConfigError(Exception):
    """A ``BOOKING_*`` variable has a value the service cannot run with."""


@frozen
class AppConfig:
    """Everything the composition root needs; secrets are kept out of ``repr``."""

    database_url: str = DEFAULT_DATABASE_URL
    timezone: str = "UTC"
    date_order: DateOrder = DateOrder.DMY
    #: None: phones keep today's normalisation (formatting stripped).
    default_region: str | None = None
    locale: str = "en"
    initial_password: str | None = field(default=None, repr=False)
    admin_token: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    access_log: bool = True
    max_body_bytes: int = _DEFAULT_MAX_BODY_BYTES
    db_pool_size: int = _DEFAULT_POOL_SIZE
    statement_timeout_ms: int = _DEFAULT_STATEMENT_TIMEOUT_MS
    sqlite_busy_timeout_ms: int = _DEFAULT_SQLITE_BUSY_TIMEOUT_MS
    event_poll_seconds: float = 1.0
    socket_queue_size: int = 1000
    #: None: no rate limit.
    rate_limit: RateLimit | None = _DEFAULT_RATE_LIMIT
    #: 0: no limit.
    max_active_per_phone: int = _DEFAULT_MAX_ACTIVE_PER_PHONE
    hold_seconds: int = _DEFAULT_HOLD_SECONDS
    max_holds_per_phone: int = _DEFAULT_MAX_HOLDS_PER_PHONE
    hold_sweep_seconds: int = _DEFAULT_HOLD_SWEEP_SECONDS
    trusted_proxies: Networks = ()
    agent_api_keys: tuple[str, ...] = field(default=(), repr=False)
    allowed_networks: Networks = ()
    cors_origins: tuple[str, ...] = ()
    max_header_bytes: int = _DEFAULT_MAX_HEADER_BYTES
    header_timeout_s: float = _DEFAULT_HEADER_TIMEOUT_S
    body_timeout_s: float = _DEFAULT_BODY_TIMEOUT_S
    max_connections: int = _DEFAULT_MAX_CONNECTIONS
    webhook_allow_http: bool = False
    webhook_allow_private: bool = False
    webhook_allowed_hosts: tuple[str, ...] = ()
    webhook_timeout_s: float = 15.0
    webhook_concurrency: int = 8
    webhook_retry_scale: float = 1.0
    webhook_busy_rate: int = 20

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> AppConfig:
        """Read and validate the ``BOOKING_*`` variables; raise :class:`ConfigError`."""
        env = _Environment(environ)
        return cls(
            database_url=_database_url(env.text("BOOKING_DATABASE_URL", DEFAULT_DATABASE_URL)),
            timezone=_timezone(env.text("BOOKING_TIMEZONE", "UTC")),
            date_order=_date_order(env.text("BOOKING_DATE_ORDER", DateOrder.DMY.value)),
            default_region=_region(env.optional("BOOKING_DEFAULT_REGION")),
            locale=_locale(env.text("BOOKING_LOCALE", "en")),
            initial_password=env.optional("BOOKING_INITIAL_PASSWORD"),
            admin_token=env.optional("BOOKING_ADMIN_TOKEN"),
            log_level=_log_level(env.text("BOOKING_LOG_LEVEL", "INFO")),
            access_log=env.boolean("BOOKING_ACCESS_LOG", default=True),
            max_body_bytes=env.integer("BOOKING_MAX_BODY_BYTES", _DEFAULT_MAX_BODY_BYTES, 1),
            db_pool_size=env.integer("BOOKING_DB_POOL_SIZE", _DEFAULT_POOL_SIZE, 1),
            statement_timeout_ms=env.integer(
                "BOOKING_STATEMENT_TIMEOUT_MS", _DEFAULT_STATEMENT_TIMEOUT_MS, 0, _MAX_TIMEOUT_MS
            ),
            sqlite_busy_timeout_ms=env.integer(
                "BOOKING_SQLITE_BUSY_TIMEOUT_MS",
                _DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
                0,
                _MAX_TIMEOUT_MS,
            ),
            event_poll_seconds=env.integer("BOOKING_EVENT_POLL_MS", 1000, 10, _MAX_EVENT_POLL_MS)
            / 1000,
            socket_queue_size=env.integer("BOOKING_SOCKET_QUEUE_SIZE", 1000, 1),
            rate_limit=_rate_limit(env.text("BOOKING_RATE_LIMIT", str(_DEFAULT_RATE_LIMIT))),
            max_active_per_phone=env.integer(
                "BOOKING_MAX_ACTIVE_PER_PHONE", _DEFAULT_MAX_ACTIVE_PER_PHONE, 0
            ),
            hold_seconds=env.integer(
                "BOOKING_HOLD_SECONDS", _DEFAULT_HOLD_SECONDS, 1, _MAX_CLIENT_TIMEOUT_S
            ),
            max_holds_per_phone=env.integer(
                "BOOKING_MAX_HOLDS_PER_PHONE", _DEFAULT_MAX_HOLDS_PER_PHONE, 1
            ),
            hold_sweep_seconds=env.integer(
                "BOOKING_HOLD_SWEEP_SECONDS", _DEFAULT_HOLD_SWEEP_SECONDS, 1, 3600
            ),
            trusted_proxies=_networks(
                "BOOKING_TRUSTED_PROXIES", env.items("BOOKING_TRUSTED_PROXIES")
            ),
            agent_api_keys=env.items("BOOKING_AGENT_API_KEYS"),
            allowed_networks=_networks(
                "BOOKING_ALLOWED_NETWORKS", env.items("BOOKING_ALLOWED_NETWORKS")
            ),
            cors_origins=tuple(_origin(item) for item in env.items("BOOKING_CORS_ORIGINS")),
            max_header_bytes=env.integer(
                "BOOKING_MAX_HEADER_BYTES", _DEFAULT_MAX_HEADER_BYTES, _MIN_MAX_HEADER_BYTES
            ),
            header_timeout_s=env.integer(
                "BOOKING_HEADER_TIMEOUT_S", _DEFAULT_HEADER_TIMEOUT_S, 1, _MAX_CLIENT_TIMEOUT_S
            ),
            body_timeout_s=env.integer(
                "BOOKING_BODY_TIMEOUT_S", _DEFAULT_BODY_TIMEOUT_S, 1, _MAX_CLIENT_TIMEOUT_S
            ),
            max_connections=env.integer("BOOKING_MAX_CONNECTIONS", _DEFAULT_MAX_CONNECTIONS, 1),
            webhook_allow_http=env.boolean("BOOKING_WEBHOOK_ALLOW_HTTP", default=False),
            webhook_allow_private=env.boolean("BOOKING_WEBHOOK_ALLOW_PRIVATE", default=False),
            webhook_allowed_hosts=tuple(
                item.lower().rstrip(".") for item in env.items("BOOKING_WEBHOOK_ALLOWED_HOSTS")
            ),
            webhook_timeout_s=env.integer("BOOKING_WEBHOOK_TIMEOUT_S", 15, 1, 60),
            webhook_concurrency=env.integer("BOOKING_WEBHOOK_CONCURRENCY", 8, 1, 100),
            webhook_retry_scale=env.fraction("BOOKING_WEBHOOK_RETRY_SCALE", 1.0),
            webhook_busy_rate=env.integer("BOOKING_WEBHOOK_BUSY_RATE", 20, 0, 100_000),
        )

    @property
    def database_backend(self) -> str:
        """``sqlite`` or ``postgresql``: the URL's scheme without its driver."""
        return _backend(self.database_url) or ""

    @property
    def uses_embedded_database(self) -> bool:
        """True for SQLite, which the service migrates itself on ``serve``."""
        return self.database_backend == "sqlite"

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password masked (as ``***``), for logs and messages."""
        parts = urlsplit(self.database_url)
        if parts.password is None:
            return self.database_url
        host = parts.netloc.rpartition("@")[2]
        masked = f"{parts.username or ''}:***@{host}"
        return self.database_url.replace(parts.netloc, masked, 1)


class _Environment:
    """Typed reads of environment variables, treating empty values as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def optional(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def items(self, name: str) -> tuple[str, ...]:
        """A comma-separated list; blanks around and between items are ignored."""
        raw = self.optional(name) or ""
        return tuple(item for part in raw.split(",") if (item := part.strip()))

    def boolean(self, name: str, *, default: bool) -> bool:
        raw = self.optional(name)
        if raw is None:
            return default
        value = raw.lower()
        if value in _TRUE or value in _FALSE:
            return value in _TRUE
        raise ConfigError(f"{name} must be 1 or 0 (true/false, on/off), got {raw!r}")

    def fraction(self, name: str, default: float) -> float:
        """A number above 0 and at most 1 (``0.001``)."""
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw[:40]!r}") from None
        if not 0 < value <= 1:
            raise ConfigError(f"{name} must be above 0 and at most 1, got {raw[:40]!r}")
        return value

    def integer(self, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be an integer, got {raw[:40]!r}") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name} must be at most {maximum}, got {value}")
        return value


def _backend(url: str) -> str | None:
    """The database kind of a SQLAlchemy URL (``dialect[+driver]://...``), or None."""
    scheme, separator, _ = url.partition("://")
    return scheme.partition("+")[0].lower() if separator and scheme else None


def _database_url(raw: str) -> str:
    if _backend(raw) not in _SUPPORTED_BACKENDS:
        raise ConfigError(
            "BOOKING_DATABASE_URL must be a SQLite or PostgreSQL URL "
            "(e.g. sqlite+aiosqlite:///./booking.db or postgresql+asyncpg://user@host/db)"
        )
    return raw


def _timezone(raw: str) -> str:
    if not is_iana_timezone(raw):
        raise ConfigError(
            f"BOOKING_TIMEZONE {raw!r} is not an IANA time zone name (e.g. Europe/Berlin)"
        )
    return raw


def _date_order(raw: str) -> DateOrder:
    try:
        return DateOrder(raw.upper())
    except ValueError:
        raise ConfigError(f"BOOKING_DATE_ORDER must be DMY or MDY, got {raw!r}") from None


def _region(raw: str | None) -> str | None:
    if raw is None:
        return None
    region = raw.upper()
    if not is_known_region(region):
        raise ConfigError(
            f"BOOKING_DEFAULT_REGION must be a region code such as GB, US or DE, got {raw!r}"
        )
    return region


def _locale(raw: str) -> str:
    if not is_known_locale(raw):
        raise ConfigError(f"BOOKING_LOCALE must be a locale such as en, de or en_GB, got {raw!r}")
    return raw


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in _LOG_LEVELS:
        raise ConfigError(f"BOOKING_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {raw!r}")
    return level


def _rate_limit(raw: str) -> RateLimit | None:
    try:
        return RateLimit.parse(raw)
    except ValueError as error:
        raise ConfigError(f"BOOKING_RATE_LIMIT: {error}") from None


def _networks(name: str, items: tuple[str, ...]) -> Networks:
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in items)
    except ValueError:
        raise ConfigError(
            f"{name} must be comma-separated addresses or CIDRs (e.g. 10.0.0.0/8,::1), "
            f"got {', '.join(items)!r}"
        ) from None


def _origin(raw: str) -> str:
    """``scheme://host[:port]``, as browsers send it in ``Origin`` (no path, no wildcard)."""
    parts = urlsplit(raw.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
        raise ConfigError(
            f"BOOKING_CORS_ORIGINS items must look like https://app.example.com, got {raw!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"
