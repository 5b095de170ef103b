"""`make bench`: the whole stack on this machine, loaded over HTTP, measured end to end.

Starts the embedded Kafka-wire broker, gunicorn, the bridge, a Celery worker for orders
and one for notifications against a fresh PostgreSQL database and Redis, then:

1. accept: N connections POST market buys for T seconds (random customer, random
   stock) while the bridge is stopped, so the orders wait in Kafka: the HTTP side
   alone; then starts the bridge and reports fills/s of that backlog from the fills'
   own timestamps: the pipeline alone;
2. writes: the same load with everything running, then waits until the pipeline has
   executed every order: both at once, sharing the cores;
3. reads: N connections GET order lists and stock quotes for T seconds.

Prints a table and writes bench/results/latest.json. Only loopback addresses are used.
"""

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import load  # noqa: E402
from deploy import servers  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--web-threads", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brokerage_bench"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    return parser.parse_args()


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # loopback only
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready after {timeout}s")


STALL_SECONDS = 30


def drain(*, since: datetime) -> dict[str, object]:
    """Wait until no order is `accepted`; fills/s of the orders created after `since`."""
    from orders.models import Fill, Order, OrderStatus

    started = last_progress = time.monotonic()
    waiting = Order.objects.filter(status=OrderStatus.ACCEPTED)
    left = waiting.count()
    while left:
        time.sleep(0.2)
        now_left = waiting.count()
        if now_left < left:
            left, last_progress = now_left, time.monotonic()
        elif time.monotonic() - last_progress > STALL_SECONDS:
            break  # reported as "stuck"; beat's sweep would re-dispatch them in production
    stuck = [str(pk) for pk in waiting.values_list("pk", flat=True)]
    orders = Order.objects.filter(created_at__gt=since)
    fills = Fill.objects.filter(order__created_at__gt=since).order_by("executed_at")
    first, last, count = fills.first(), fills.last(), fills.count()
    span = (last.executed_at - first.executed_at).total_seconds() if first and last else 0
    oldest = orders.order_by("created_at").first()
    return {
        "orders": orders.count(),
        "filled": orders.filter(status=OrderStatus.FILLED).count(),
        "fills": count,
        "fills_per_s": round(count / span, 1) if span else None,
        "first_accept_to_last_fill_s": round(
            (last.executed_at - oldest.created_at).total_seconds(), 2
        )
        if last and oldest
        else None,
        "drain_s": round(time.monotonic() - started, 2),
        "stuck_in_accepted": stuck,
    }


def clear_celery_keys(redis_url: str, prefix: str) -> None:
    """Drop this run's queues: tasks left in them would only wait for a run that is over."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}*"):
        client.delete(key)


def main() -> None:
    args = parse_args()
    kafka_port = servers.free_port()
    run_id = secrets.token_hex(4)
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "CELERY_KEY_PREFIX": f"bench-{run_id}:",
        "CACHE_KEY_PREFIX": f"bench-{run_id}",
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "DEBUG": "false",
        "OTEL_SDK_DISABLED": "true",
        "TELEGRAM_BOT_TOKEN": "",
        "DEFAULT_USER_BALANCE": "100000000",
    }
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "brokerage.settings"
    recreate_database(args.database_url)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [python, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True
    )

    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from stocks.models import Stock
    from users.services import create_user

    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)

    def log(name: str) -> dict[str, Any]:
        return {"stdout": (out / f"{name}.log").open("w"), "stderr": subprocess.STDOUT}

    procs = [servers.start_kafka(f"127.0.0.1:{kafka_port}", **log("kafka"))]
    subprocess.run(
        [python, "manage.py", "kafka_init"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    bin_dir = Path(python).parent

    def celery_worker(queues: str, *options: str, log_to: str) -> subprocess.Popen[bytes]:
        argv = [
            python,
            "-m",
            "celery",
            "-A",
            "brokerage",
            "worker",
            "-Q",
            queues,
            *options,
            "--loglevel",
            env["LOG_LEVEL"],
        ]
        return subprocess.Popen(argv, cwd=ROOT, env=env, **log(log_to))

    procs += [
        subprocess.Popen(
            [
                str(bin_dir / "gunicorn"),
                "brokerage.wsgi",
                "--bind",
                f"127.0.0.1:{args.port}",
                "--workers",
                str(args.web_workers),
                "--threads",
                str(args.web_threads),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            **log("web"),
        ),
        celery_worker(
            "orders,default", "--concurrency", str(args.worker_concurrency), log_to="worker"
        ),
        celery_worker(
            "notifications",
            "--pool",
            "threads",
            "--concurrency",
            "4",
            "--hostname",
            "notifier@%h",
            log_to="notifier",
        ),
    ]
    try:
        wait_ready(f"http://127.0.0.1:{args.port}/api/ready")
        symbols = list(Stock.objects.values_list("symbol", flat=True))
        tokens = [
            create_user(email=f"bench{i}@example.com").auth_token.key for i in range(args.users)
        ]
        connection.close()

        def post_orders() -> load.Result:
            plan = load.market_buys(tokens, symbols)
            return load.run(
                "127.0.0.1", args.port, plan, connections=args.connections, seconds=args.seconds
            )

        started = timezone.now()
        accepts = post_orders()  # no bridge yet: the orders wait in Kafka
        procs.append(
            subprocess.Popen(
                [python, "manage.py", "run_bridge"], cwd=ROOT, env=env, **log("bridge")
            )
        )
        backlog = drain(since=started)
        connection.close()

        started = timezone.now()
        writes = post_orders()
        after_writes = drain(since=started)
        connection.close()
        reads = load.run(
            "127.0.0.1",
            args.port,
            load.reads(tokens, symbols),
            connections=args.connections,
            seconds=args.seconds,
        )
    finally:
        clear_celery_keys(args.redis_url, env["CELERY_KEY_PREFIX"])
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()

    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "config": vars(args) | {"database_url": "(bench database)"},
        "accept_POST_orders_pipeline_stopped": accepts.summary(),
        "pipeline_backlog": backlog,
        "writes_POST_orders_pipeline_running": writes.summary(),
        "pipeline_during_writes": after_writes,
        "reads_GET_orders_and_quotes": reads.summary(),
    }
    (out / "latest.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
