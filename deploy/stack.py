"""The local stack as supervised processes: `make run` and `make test` start it through here.

`python -m deploy.stack run`:
1. the embedded servers (deploy/servers.py) for each of DATABASE_URL, REDIS_URL and
   KAFKA_BOOTSTRAP_SERVERS that the environment (or `.env`) leaves unset, each waited on
   until it answers;
2. `migrate`, `kafka_init`, `seed_demo` (demo stocks and make run's demo admin);
3. the processes of the `Procfile`: web, bridge, worker, notifier, beat, bot.

A process that exits is reported and restarted, after a pause that grows while it keeps
dying young; a restarted broker gets its topics again. Ctrl-C or SIGTERM stops the
processes, then the servers. Nothing stops silently.

`python -m deploy.stack services postgres redis -- CMD ...` starts just those servers
(unless their URLs are set), runs CMD with their URLs in its environment, stops them and
exits with CMD's status.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from deploy import servers

ROOT = servers.ROOT
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
# A process that ran this long before dying is restarted at once; one that keeps dying
# younger waits 1, 2, 4, ... up to MAX_BACKOFF seconds.
HEALTHY_AFTER = 30.0
MAX_BACKOFF = 30.0

_print_lock = threading.Lock()
_COLORS = ["36", "33", "32", "35", "34", "31", "96", "93", "92", "95"]


def say(name: str, line: str, color: str = "0") -> None:
    stamp = datetime.now().strftime("%H:%M:%S")
    prefix = f"{stamp} {name:<10}|"
    if sys.stdout.isatty():
        prefix = f"\033[{color}m{prefix}\033[0m"
    with _print_lock:
        print(f"{prefix} {line}", flush=True)


def report(line: str) -> None:
    say("stack", line, "1")


class Process:
    """One supervised child: its output is printed line by line under its name."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        color: str,
        ready: Callable[[], bool] | None = None,
        after_ready: Callable[[], None] | None = None,
        stop_signal: int = signal.SIGTERM,
        popen: dict[str, object] | None = None,
        log: Path | None = None,
    ) -> None:
        self.name, self.argv, self.env, self.color = name, argv, env, color
        self.log = log  # where its output goes instead of the terminal
        self.ready, self.after_ready = ready, after_ready
        self.stop_signal = stop_signal
        self.popen_extra = popen or {}
        self.popen: subprocess.Popen[str] | None = None
        self.started_at = 0.0
        self.quick_deaths = 0
        self.exits = 0  # how often it exited and was restarted
        self.restart_at: float | None = None

    def start(self) -> None:
        self.popen = subprocess.Popen(  # type: ignore[call-overload]  # noqa: S603
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            start_new_session=True,  # its own group: stopped as a whole, spared Ctrl-C
            **self.popen_extra,
        )
        self.started_at = time.monotonic()
        threading.Thread(target=self._pump, args=(self.popen,), daemon=True).start()

    def _pump(self, popen: subprocess.Popen[str]) -> None:
        assert popen.stdout is not None
        if self.log is None:
            for line in popen.stdout:
                say(self.name, line.rstrip(), self.color)
            return
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a") as log:
            for line in popen.stdout:
                log.write(line)
                log.flush()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while self.ready is not None and not self.ready():
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s")
            time.sleep(0.1)  # polling a server that is starting
        if self.after_ready is not None:
            self.after_ready()

    def exited(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def signal(self, sig: int) -> None:
        """Signal its whole process group (which outlives the leader while members do)."""
        if self.popen is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self) -> None:
        self.signal(self.stop_signal)
        if self.popen is None:
            return
        try:
            self.popen.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            report(f"{self.name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
            self.signal(signal.SIGKILL)
            self.popen.wait(5)


class Supervisor:
    def __init__(self, env: dict[str, str], *, server_logs: Path | None = None) -> None:
        self.env = env
        self.server_logs = server_logs  # a folder for the servers' output, else the terminal
        self.processes: list[Process] = []
        self.stopping = threading.Event()

    def add(self, name: str, argv: list[str], **options: object) -> Process:
        color = _COLORS[len(self.processes) % len(_COLORS)]
        process = Process(name, argv, env=self.env, color=color, **options)  # type: ignore[arg-type]
        self.processes.append(process)
        return process

    def add_server(self, server: servers.Server, after_ready: Callable[[], None] | None) -> None:
        if server.ready():
            report(f"{server.name}: already answering, not starting another")
            return
        server.prepare()
        process = self.add(
            server.name,
            server.argv,
            ready=server.ready,
            after_ready=after_ready,
            stop_signal=server.stop_signal,
            popen=servers.popen_account(server),
            log=self.server_logs / f"{server.name}.log" if self.server_logs else None,
        )
        process.start()
        started = time.monotonic()
        process.wait_ready()
        report(f"{server.name} ready in {time.monotonic() - started:.1f} s")

    def run_once(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        """Run a set-up command to completion, its output shown; raise if it fails."""
        process = Process(name, argv, env={**self.env, **(env or {})}, color="0")
        process.start()
        assert process.popen is not None
        if process.popen.wait() != 0:
            raise RuntimeError(f"{name} failed with exit code {process.popen.returncode}")

    def supervise(self) -> None:
        """Restart what exits until asked to stop."""
        while not self.stopping.wait(0.2):
            now = time.monotonic()
            for process in self.processes:
                code = process.exited()
                if code is None or process.popen is None:
                    continue
                if process.restart_at is None:
                    process.signal(signal.SIGKILL)  # what it leaves behind (pool children)
                    process.exits += 1
                    lived = now - process.started_at
                    process.quick_deaths = 0 if lived >= HEALTHY_AFTER else process.quick_deaths + 1
                    delay = min(MAX_BACKOFF, 2 ** max(process.quick_deaths - 1, 0) - 1.0)
                    process.restart_at = now + delay
                    report(
                        f"{process.name} exited with code {code} after {lived:.1f} s; "
                        f"restarting in {delay:.0f} s"
                    )
                elif now >= process.restart_at:
                    process.restart_at = None
                    process.start()
                    try:
                        process.wait_ready()
                        report(f"{process.name} restarted")
                    except RuntimeError as exc:
                        report(f"{process.name} restart failed: {exc}")

    def stop(self) -> None:
        self.stopping.set()
        for process in reversed(self.processes):
            process.stop()

    @contextmanager
    def stopping_on_signals(self) -> Iterator[None]:
        def on_signal(signum: int, frame: object) -> None:
            if not self.stopping.is_set():
                report(f"{signal.Signals(signum).name}: stopping")
            self.stopping.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


# --- what runs ------------------------------------------------------------------------


def configured() -> dict[str, str]:
    """The service URLs, from the environment and `.env`, else the embedded defaults."""
    from brokerage.settings import base as settings  # reads .env, as every process does

    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL", settings.EMBEDDED_DATABASE_URL),
        "REDIS_URL": os.environ.get("REDIS_URL", settings.EMBEDDED_REDIS_URL),
        "KAFKA_BOOTSTRAP_SERVERS": os.environ.get(
            "KAFKA_BOOTSTRAP_SERVERS", settings.EMBEDDED_KAFKA_BOOTSTRAP_SERVERS
        ),
    }


MANAGE = [sys.executable, "manage.py"]
# make run's well-known admin (README): seed_demo creates an admin only when told to, and
# only this local stack tells it these; compose's admin comes from .env.
DEMO_ADMIN = {
    "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
    "DJANGO_SUPERUSER_PASSWORD": "admin12345",
}
SERVER_OF = {"postgres": "DATABASE_URL", "redis": "REDIS_URL", "kafka": "KAFKA_BOOTSTRAP_SERVERS"}


def child_env(urls: dict[str, str]) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
        **os.environ,
        **urls,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }


def start_servers(supervisor: Supervisor, names: list[str], urls: dict[str, str]) -> None:
    for name in names:
        url = urls[SERVER_OF[name]]
        if SERVER_OF[name] in os.environ:
            report(f"{name}: using {SERVER_OF[name]} from the environment")
            continue
        if name == "postgres":
            create = lambda url=url: servers.create_database(url)  # noqa: E731
            supervisor.add_server(servers.postgres(url), create)
        elif name == "redis":
            supervisor.add_server(servers.redis(url), None)
        else:
            # A restarted broker has lost its topics (memory storage): create them again.
            supervisor.add_server(
                servers.kafka(url),
                lambda: supervisor.run_once("kafka_init", [*MANAGE, "kafka_init"]),
            )


def procfile(path: Path = ROOT / "Procfile") -> list[tuple[str, str]]:
    entries = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries.append((name.strip(), command.strip()))
    return entries


def prepare_var() -> None:
    """The folders the processes expect: WhiteNoise's STATIC_ROOT (collectstatic fills it
    in the image; here the app serves from its finders), the servers' logs."""
    for folder in ("static", "log"):
        (servers.VAR / folder).mkdir(parents=True, exist_ok=True)


def run() -> int:
    started = time.monotonic()
    prepare_var()
    urls = configured()
    supervisor = Supervisor(child_env(urls))
    with supervisor.stopping_on_signals():
        try:
            start_servers(supervisor, ["postgres", "redis", "kafka"], urls)
            if "KAFKA_BOOTSTRAP_SERVERS" in os.environ:  # an external broker: topics once
                supervisor.run_once("kafka_init", [*MANAGE, "kafka_init"])
            supervisor.run_once("migrate", [*MANAGE, "migrate", "--noinput"])
            supervisor.run_once("seed_demo", [*MANAGE, "seed_demo"], env=DEMO_ADMIN)
            for name, command in procfile():
                supervisor.add(name, ["/bin/sh", "-c", f"exec {command}"]).start()
        except RuntimeError as exc:
            report(f"start-up failed: {exc}")
            return 1
        report(f"all processes started in {time.monotonic() - started:.1f} s; Ctrl-C stops them")
        supervisor.supervise()
    return 0


def services(names: list[str], command: list[str]) -> int:
    prepare_var()
    urls = configured()
    supervisor = Supervisor(child_env(urls), server_logs=servers.VAR / "log")
    with supervisor.stopping_on_signals():
        try:
            start_servers(supervisor, names, urls)
        except RuntimeError as exc:
            report(f"start-up failed: {exc}")
            return 1
        exported = {SERVER_OF[name]: urls[SERVER_OF[name]] for name in names}
        report("running: " + shlex.join(command))
        return subprocess.call(command, env={**os.environ, **exported}, cwd=ROOT)  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    own, command = argv[:split], argv[split + 1 :]
    parser = argparse.ArgumentParser(description="The local stack, supervised.")
    sub = parser.add_subparsers(dest="mode", required=True)
    sub.add_parser("run", help="servers, set-up, then every Procfile process")
    svc = sub.add_parser("services", help="start servers, run the command after --, stop them")
    svc.add_argument("names", nargs="+", choices=sorted(SERVER_OF))
    args = parser.parse_args(own)
    if args.mode == "run":
        return run()
    if not command:
        parser.error("services: give a command after --")
    return services(args.names, command)


if __name__ == "__main__":
    sys.exit(main())
