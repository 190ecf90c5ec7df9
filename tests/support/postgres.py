"""A throwaway PostgreSQL cluster, so the adapter tests run against the real engine too.

Every cluster lives in a fresh temporary directory and listens on a fresh free port on
127.0.0.1 only, so a cluster left behind by a crashed run never blocks the next one; ``start``
also reaps such leftovers once the process that made them is gone, and ``stop`` is registered
with ``atexit`` as a safety net. PostgreSQL refuses to run as root, so when the tests run as
root the server runs as the unprivileged ``postgres`` user; clients connect over TCP with
``trust`` authentication as the ``booking`` role.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = [
    "PostgresCluster",
    "PostgresError",
    "pg_bin_dir",
    "postgres_available",
    "reap_orphans",
]

DEFAULT_PG_BIN = "/usr/lib/postgresql/15/bin"
PG_BIN_ENV = "BOOKING_PG_BIN"
#: Who runs the server when the tests run as root.
SERVER_USER = "postgres"
DB_USER = "booking"
DEFAULT_DATABASE = "booking"
HOST = "127.0.0.1"

_REQUIRED_BINARIES = ("initdb", "pg_ctl", "postgres", "createdb")
_TMP_PREFIX = "booking-pg-"
_OWNER_FILE = "owner.pid"
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_START_ATTEMPTS = 3
_PG_CTL_WAIT_S = 60
#: A directory without an owner file is only a leftover once it is this old (seconds): a
#: concurrent run may have just created it.
_ORPHAN_GRACE_S = 600
_SERVER_SETTINGS = (
    "-c listen_addresses=127.0.0.1",
    # Race and load tests open many connections at once.
    "-c max_connections=200",
)
#: Durability is not under test here, speed is welcome (unless ``durable=True``: the benchmark).
_NON_DURABLE_SETTINGS = (
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
)


class PostgresError(RuntimeError):
    """The cluster could not be set up; the message includes the server's own words."""


def pg_bin_dir() -> Path:
    """Where the PostgreSQL server binaries are: ``$BOOKING_PG_BIN`` or Debian's 15."""
    return Path(os.environ.get(PG_BIN_ENV) or DEFAULT_PG_BIN)


def postgres_available(bin_dir: Path | None = None) -> tuple[bool, str]:
    """Whether a cluster can be started here, and if not, why (for a skip or fail message)."""
    bin_dir = bin_dir or pg_bin_dir()
    missing = [name for name in _REQUIRED_BINARIES if not os.access(bin_dir / name, os.X_OK)]
    if missing:
        return False, (
            f"PostgreSQL binaries not found in {bin_dir}: {', '.join(missing)} "
            f"(install postgresql-15 or set {PG_BIN_ENV})"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return False, f"running as root, but there is no {SERVER_USER!r} user to run the server"
    return True, ""


class PostgresCluster:
    """A private PostgreSQL server for one test run; ``url`` points at its ``booking`` database."""

    def __init__(
        self,
        bin_dir: Path | None = None,
        *,
        user: str = DB_USER,
        database: str = DEFAULT_DATABASE,
        durable: bool = False,
    ) -> None:
        self.bin_dir = bin_dir or pg_bin_dir()
        self.user = user
        self.database = database
        #: Keep PostgreSQL's default fsync and commit settings (for benchmarks, not tests).
        self.durable = durable
        self.host = HOST
        self._port: int | None = None
        self._root: Path | None = None

    # --- addresses ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._port is not None

    @property
    def root(self) -> Path:
        """The temporary directory holding data, socket and log (gone after ``stop``)."""
        if self._root is None:
            raise PostgresError("the cluster is not started")
        return self._root

    @property
    def port(self) -> int:
        if self._port is None:
            raise PostgresError("the cluster is not started")
        return self._port

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default database."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"

    def dsn_for(self, database: str | None = None) -> str:
        """A libpq/asyncpg DSN, for tests that talk to the server without SQLAlchemy."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database or self.database}"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    # --- life cycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Create, start and open the cluster; on any failure nothing is left behind."""
        if self._root is not None:
            raise PostgresError("the cluster is already started")
        available, reason = postgres_available(self.bin_dir)
        if not available:
            raise PostgresError(reason)
        reap_orphans()
        self._root = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
        atexit.register(self.stop)
        try:
            (self._root / _OWNER_FILE).write_text(f"{os.getpid()}\n")
            server_user = _server_user()
            if server_user is not None:
                os.chown(self._root, server_user.pw_uid, server_user.pw_gid)
            self._initdb()
            self._port = self._start_server()
            self.create_database(self.database)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server at once and delete its directory; safe to call twice."""
        root, self._root, self._port = self._root, None, None
        if root is None:
            return
        atexit.unregister(self.stop)
        try:
            _stop_server(self.bin_dir, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def create_database(self, name: str) -> str:
        """Create an empty database owned by ``user`` and return its SQLAlchemy URL."""
        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"database names here are lower-case identifiers, not {name!r}")
        result = subprocess.run(
            [
                str(self.bin_dir / "createdb"),
                f"--host={self.host}",
                f"--port={self.port}",
                f"--username={self.user}",
                name,
            ],
            capture_output=True,
            text=True,
            env=_clean_env(),
            timeout=_PG_CTL_WAIT_S,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresError(f"createdb {name} failed: {result.stderr.strip()}")
        return self.url_for(name)

    # --- steps ----------------------------------------------------------------------------------

    def _initdb(self) -> None:
        result = _run_as_server(
            [
                str(self.bin_dir / "initdb"),
                f"--pgdata={self.root / 'data'}",
                "--auth=trust",
                f"--username={self.user}",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            cwd=self.root,
            timeout=120,
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def _start_server(self) -> int:
        """Start on a free port; retry on another if someone took it between pick and bind."""
        for attempt in range(1, _START_ATTEMPTS + 1):
            port = _free_port()
            settings = _SERVER_SETTINGS + (() if self.durable else _NON_DURABLE_SETTINGS)
            options = " ".join((*settings, f"-p {port}", f"-k {shlex.quote(str(self.root))}"))
            result = _run_as_server(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "start",
                    f"--pgdata={self.root / 'data'}",
                    f"--log={self.log_path}",
                    "--wait",
                    f"--timeout={_PG_CTL_WAIT_S}",
                    f"--options={options}",
                ],
                cwd=self.root,
                timeout=_PG_CTL_WAIT_S + 30,
            )
            if result.returncode == 0:
                return port
            log = _read_tail(self.log_path)
            port_taken = "could not bind" in log or "already in use" in log
            if not port_taken or attempt == _START_ATTEMPTS:
                raise PostgresError(
                    f"pg_ctl start failed:\n{result.stdout}{result.stderr}\n--- server log ---\n"
                    f"{log}"
                )
            _stop_server(self.bin_dir, self.root)
        raise AssertionError("unreachable")  # pragma: no cover


def reap_orphans(tmp_dir: Path | None = None) -> list[Path]:
    """Stop and delete clusters whose test run died without cleaning up; return their dirs."""
    reaped: list[Path] = []
    bin_dir = pg_bin_dir()
    for root in Path(tmp_dir or tempfile.gettempdir()).glob(f"{_TMP_PREFIX}*"):
        if not root.is_dir() or not _is_orphan(root):
            continue
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            _stop_server(bin_dir, root)
        shutil.rmtree(root, ignore_errors=True)
        reaped.append(root)
    return reaped


# --- helpers -------------------------------------------------------------------------------------


def _server_user() -> pwd.struct_passwd | None:
    """The account to run the server as: ``postgres`` when we are root, else ourselves."""
    return pwd.getpwnam(SERVER_USER) if os.geteuid() == 0 else None


def _run_as_server(
    args: list[str], *, cwd: Path, timeout: float, owner_uid: int | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a server-side binary, dropping root privileges first if we have them."""
    account: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        account = pwd.getpwuid(owner_uid) if owner_uid else pwd.getpwnam(SERVER_USER)
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=timeout,
        check=False,
        user=account.pw_uid if account else None,
        group=account.pw_gid if account else None,
        extra_groups=[] if account else None,
    )


def _stop_server(bin_dir: Path, root: Path) -> None:
    """Stop the server in ``root`` without a clean shutdown; kill it if pg_ctl cannot."""
    data = root / "data"
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        return
    result = _run_as_server(
        [
            str(bin_dir / "pg_ctl"),
            "stop",
            f"--pgdata={data}",
            "--mode=immediate",
            "--wait",
            f"--timeout={_PG_CTL_WAIT_S}",
        ],
        cwd=root,
        timeout=_PG_CTL_WAIT_S + 30,
        owner_uid=root.stat().st_uid,
    )
    if result.returncode != 0:
        pid = _read_pid(pid_file)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _is_orphan(root: Path) -> bool:
    owner = _read_pid(root / _OWNER_FILE)
    if owner is None:
        try:
            age = time.time() - root.stat().st_mtime
        except OSError:
            return False
        return age > _ORPHAN_GRACE_S
    return not _alive(owner)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _read_tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "(no server log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_env() -> dict[str, str]:
    """Our environment minus libpq's PG* variables, which would redirect the tools."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}
