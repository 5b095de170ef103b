"""`make soak`: the whole stack under mixed load while its parts are killed, then proof
that nothing was lost, doubled or left half-done.

Starts, in a fresh temporary folder and on free ports, PostgreSQL, Redis and the
Kafka-wire broker, then the Procfile's web, bridge, worker, notifier and beat (through
deploy.stack's supervisor, which restarts whatever dies) and a fake Telegram Bot API on
127.0.0.1. For SOAK_MINUTES (or --seconds) customers place market and limit orders,
cancel resting ones and staff move prices, while, at random intervals, the bridge, the
worker, the notifier, beat, the broker and Redis are killed with SIGKILL (each comes
back through the supervisor), PostgreSQL once, and undecodable messages ("poison") are
written to the orders topic.

Then the faults stop, the stack is left to finish (the sweeps redo lost work), and
every promise is checked:
- reconcile is clean: every balance agrees with the journal and the orders;
- every order a customer was told was accepted exists, and is final or resting and
  not marketable at its stock's price; no order has more fills than its quantity and
  no client_order_id made two orders;
- every outcome event has exactly one notification, none is left pending, and each
  one reached Telegram at most once (a `sent` one exactly once);
- the dead-letter topics hold only the poison the soak wrote;
- no request was answered 500.
It prints a table and exits non-zero on any violation. Loopback addresses only.
"""

import argparse
import http.client
import json
import logging
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deploy import servers, stack  # noqa: E402
from tests.fake_telegram import FakeTelegram  # noqa: E402

APP_PROCESSES = ("web", "bridge", "worker", "notifier", "beat")
KILLED = ("bridge", "worker", "notifier", "beat", "kafka", "redis")
SYMBOLS = {"SOAKA": Decimal("100"), "SOAKB": Decimal("40"), "SOAKC": Decimal("250")}
QUIESCENCE_TIMEOUT = 300.0
D = Decimal


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    minutes = float(os.environ.get("SOAK_MINUTES", "5"))
    parser.add_argument("--seconds", type=float, default=minutes * 60)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--threads", type=int, default=6, help="load connections")
    parser.add_argument("--rate", type=float, default=40.0, help="requests/s, all threads")
    parser.add_argument("--fault-every", type=float, default=10.0, help="mean seconds")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--keep-logs", action="store_true", help="even when it passes")
    return parser.parse_args()


# --- the load -------------------------------------------------------------------------


@dataclass
class Tally:
    """What the load saw, shared by its threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    accepted: set[str] = field(default_factory=set)  # order ids answered 202
    errors: Counter[str] = field(default_factory=Counter)  # no answer at all

    def saw(self, action: str, status: int) -> None:
        with self.lock:
            self.statuses[(action, status)] += 1


class Client:
    """One keep-alive connection to web; reconnects after any failure."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, token: str, body: object = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None


class Load:
    """Customers placing, cancelling and reading orders; staff moving prices."""

    def __init__(
        self, port: int, customers: list[str], staff: str, tally: Tally, args: argparse.Namespace
    ) -> None:
        self.port, self.customers, self.staff, self.tally = port, customers, staff, tally
        self.args = args
        self.prices = dict(SYMBOLS)
        self.prices_lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self, index: int) -> None:
        rng = random.Random(self.args.seed * 1000 + index)
        client = Client(self.port)
        mine = self.customers[index :: self.args.threads]
        resting: list[tuple[str, str]] = []  # (token, order id) of limit orders placed
        pause = self.args.threads / self.args.rate
        while not self.stopping.is_set():
            started = time.monotonic()
            token = rng.choice(mine)
            roll = rng.random()
            try:
                if roll < 0.45:
                    self.order(client, rng, token, "market", resting)
                elif roll < 0.78:
                    self.order(client, rng, token, "limit", resting)
                elif roll < 0.90 and resting:
                    owner, order_id = resting.pop(rng.randrange(len(resting)))
                    status, _ = client.call("POST", f"/api/v1/orders/{order_id}/cancel", owner)
                    self.tally.saw("cancel", status)
                elif roll < 0.96:
                    status, _ = client.call("GET", "/api/v1/orders?status=open", token)
                    self.tally.saw("read", status)
                else:
                    self.move_price(client, rng)
            except (OSError, http.client.HTTPException) as exc:
                with self.tally.lock:
                    self.tally.errors[type(exc).__name__] += 1
            # Pacing, not synchronisation: the soak is about faults, not throughput.
            self.stopping.wait(max(0.0, pause - (time.monotonic() - started)))

    def order(
        self,
        client: Client,
        rng: random.Random,
        token: str,
        kind: str,
        resting: list[tuple[str, str]],
    ) -> None:
        symbol = rng.choice(list(SYMBOLS))
        body: dict[str, str] = {
            "symbol": symbol,
            "side": rng.choice(["buy", "sell"]),
            "type": kind,
            "quantity": str(rng.randint(1, 5)),
            "client_order_id": uuid.uuid4().hex,
        }
        if kind == "limit":
            with self.prices_lock:
                price = self.prices[symbol]
            body["limit_price"] = str((price * D(rng.uniform(0.97, 1.03))).quantize(D("0.01")))
            body["time_in_force"] = rng.choice(["gtc", "gtc", "day"])
        # Retried with the same client_order_id until answered: a replay returns the
        # order the first attempt made, never a second one.
        for attempt in range(5):
            try:
                status, answer = client.call("POST", "/api/v1/orders", token, body)
            except (OSError, http.client.HTTPException):
                if attempt == 4:
                    raise
                self.stopping.wait(0.5 * (attempt + 1))  # backoff while web is away
                continue
            self.tally.saw(f"{kind} order", status)
            if status in (200, 201, 202) and answer:
                with self.tally.lock:
                    self.tally.accepted.add(answer["id"])
                if kind == "limit":
                    resting.append((token, answer["id"]))
                    del resting[:-50]
                return
            if status != 503:
                return
            self.stopping.wait(0.5 * (attempt + 1))  # backoff while a dependency is away

    def move_price(self, client: Client, rng: random.Random) -> None:
        symbol = rng.choice(list(SYMBOLS))
        with self.prices_lock:
            base = SYMBOLS[symbol]
            price = self.prices[symbol] * D(rng.uniform(0.98, 1.02))
            price = min(max(price, base * D("0.8")), base * D("1.25")).quantize(D("0.01"))
        status, answer = client.call(
            "PATCH", f"/api/v1/stocks/{symbol}", self.staff, {"price": str(price)}
        )
        self.tally.saw("price change", status)
        if status == 200 and answer:
            with self.prices_lock:
                self.prices[symbol] = D(answer["price"])


# --- the faults -----------------------------------------------------------------------


class Chaos:
    """SIGKILLs one of KILLED at random intervals (a shuffled round, so each is hit as
    often as the others), PostgreSQL once half-way, and writes poison to Kafka."""

    def __init__(
        self, supervisor: stack.Supervisor, args: argparse.Namespace, bootstrap: str
    ) -> None:
        self.supervisor, self.args, self.bootstrap = supervisor, args, bootstrap
        self.rng = random.Random(args.seed)
        self.faults: Counter[str] = Counter()
        self.poison: set[str] = set()
        self.stopping = threading.Event()

    def process(self, name: str) -> stack.Process:
        return next(p for p in self.supervisor.processes if p.name == name)

    def kill(self, name: str) -> bool:
        process = self.process(name)
        if process.exited() is not None:  # still coming back from the last kill
            return False
        stack.report(f"soak: SIGKILL {name}")
        process.signal(signal.SIGKILL)
        self.faults[name] += 1
        return True

    def run(self) -> None:
        started = time.monotonic()
        postgres_at = started + self.args.seconds / 2
        victims: list[str] = []
        while not self.stopping.wait(self.rng.uniform(0.5, 1.5) * self.args.fault_every):
            if postgres_at and time.monotonic() >= postgres_at:
                postgres_at = 0
                self.kill("postgres")
                continue
            if not victims:
                victims = self.rng.sample(KILLED, len(KILLED))
            victim = victims.pop()
            if victim in ("bridge", "kafka") or self.rng.random() < 0.3:
                self.inject_poison()
            self.kill(victim)

    def inject_poison(self) -> None:
        from confluent_kafka import Producer
        from django.conf import settings

        key = f"soak-poison-{len(self.poison)}"
        producer = Producer({"bootstrap.servers": self.bootstrap, "message.timeout.ms": 5000})
        delivered: list[bool] = []
        producer.produce(
            settings.KAFKA_TOPIC_ORDERS,
            key=key,
            value=b"{not an envelope",
            on_delivery=lambda err, msg: delivered.append(err is None),
        )
        producer.flush(10)
        if delivered == [True]:
            self.poison.add(key)
            self.faults["poison"] += 1


def dead_letters(bootstrap: str) -> list[str]:
    """The keys of every message in the dead-letter topics, read from the start."""
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import AdminClient
    from django.conf import settings

    from brokerage.events.envelope import dlq_topic, topics

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"soak-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            **settings.KAFKA_CONSUMER_OPTIONS,
        }
    )
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    wanted = {dlq_topic(topic) for topic in topics()}
    assignment = [
        TopicPartition(name, partition, 0)
        for name, topic in metadata.topics.items()
        if name in wanted
        for partition in topic.partitions
    ]
    keys: list[str] = []
    try:
        consumer.assign(assignment)
        left = {(tp.topic, tp.partition) for tp in assignment}
        deadline = time.monotonic() + 30
        while left and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                left.discard((msg.topic(), msg.partition()))  # end of the partition
                continue
            keys.append((msg.key() or b"").decode(errors="replace"))
    finally:
        consumer.close()
    return keys


# --- the checks -----------------------------------------------------------------------


def quiet() -> dict[str, int]:
    """What is still in flight; all zero once the stack has finished its work."""
    from django.db.models import Exists, OuterRef

    from brokerage.events.models import OutboxEvent
    from notifications.models import Notification, NotificationStatus
    from notifications.services import missed_outcomes
    from orders.models import OUTCOME_EVENT_TYPES, Order, OrderStatus

    outcomes = OutboxEvent.objects.filter(event_type__in=OUTCOME_EVENT_TYPES)
    return {
        "accepted orders": Order.objects.filter(status=OrderStatus.ACCEPTED).count(),
        "marketable resting orders": marketable_resting().count(),
        "unpublished events": OutboxEvent.objects.filter(published_at__isnull=True).count(),
        "outcomes without notification": outcomes.exclude(
            Exists(Notification.objects.filter(source_event_id=OuterRef("event_id")))
        ).count(),
        "pending notifications": Notification.objects.filter(
            status=NotificationStatus.PENDING
        ).count(),
        "missed outcomes": len(missed_outcomes()),
    }


def marketable_resting() -> Any:
    from django.db.models import F, Q

    from orders.models import RESTING_STATUSES, Order, OrderSide

    marketable = Q(side=OrderSide.BUY, limit_price__gte=F("stock__price"), stock__amount__gt=0) | Q(
        side=OrderSide.SELL, limit_price__lte=F("stock__price")
    )
    return Order.objects.filter(marketable, status__in=RESTING_STATUSES)


def wait_quiet(timeout: float = QUIESCENCE_TIMEOUT) -> tuple[float, dict[str, int]]:
    """Poll until nothing is in flight twice in a row; (seconds waited, what was left)."""
    from django.db import connections

    started = time.monotonic()
    calm = 0
    left: dict[str, int] = {}
    while time.monotonic() - started < timeout:
        try:
            left = quiet()
        except Exception as exc:  # the database restarting under the soak: ask again
            connections.close_all()
            left = {f"unreadable ({type(exc).__name__})": 1}
        calm = calm + 1 if not any(left.values()) else 0
        if calm == 2:
            break
        time.sleep(1)  # polling the database for the sweeps' progress
    return time.monotonic() - started, left


def check(
    tally: Tally, chaos: Chaos, telegram: FakeTelegram, bootstrap: str, left: dict[str, int]
) -> tuple[dict[str, object], list[str]]:
    """The figures of the table and the violations found."""
    from django.db.models import Count, F, Sum
    from django.db.models.functions import Coalesce

    from brokerage.events.models import OutboxEvent
    from notifications.models import Notification, NotificationStatus
    from orders.models import (
        NOTIFY_STATUSES,
        OUTCOME_EVENT_TYPES,
        Fill,
        Order,
        OrderStatus,
        OrderType,
    )
    from orders.reconciliation import reconcile

    violations = [f"still in flight: {what} {n}" for what, n in left.items() if n]
    differences = [str(d) for d in reconcile()]
    violations += [f"reconcile: {d}" for d in differences[:20]]

    known = set(
        map(str, Order.objects.filter(pk__in=list(tally.accepted)).values_list("pk", flat=True))
    )
    lost = sorted(tally.accepted - known)
    violations += [f"lost: order {pk} was accepted and is not in the database" for pk in lost]

    filled = Fill.objects.values("order").annotate(total=Sum("quantity"))
    fills_of = {row["order"]: row["total"] for row in filled}
    doubled = [
        str(order.pk)
        for order in Order.objects.only("pk", "quantity", "filled_quantity", "status")
        if fills_of.get(order.pk, 0) != order.filled_quantity
        or order.filled_quantity > order.quantity
        or (order.status == OrderStatus.FILLED and order.filled_quantity != order.quantity)
    ]
    twice = Order.objects.exclude(client_order_id=None).values("user", "client_order_id")
    doubled += [
        f"client_order_id {row['client_order_id']}"
        for row in twice.annotate(n=Count("id")).filter(n__gt=1)
    ]
    violations += [f"doubled: {what}" for what in doubled]

    outcome_events = OutboxEvent.objects.filter(event_type__in=OUTCOME_EVENT_TYPES)
    notifications = Notification.objects.filter(source_event_id__isnull=False)
    if notifications.count() != outcome_events.count():
        violations.append(
            f"notifications: {notifications.count()} for {outcome_events.count()} outcomes"
        )
    messages = Counter((form.get("chat_id"), form.get("text")) for form in telegram.sent())
    chats = dict(Notification.objects.values_list("pk", "user__telegram_chat_id"))
    by_status: Counter[str] = Counter()
    for pk, text, status, error in notifications.values_list("pk", "text", "status", "last_error"):
        by_status[f"{status} ({error.split(':')[0][:40]})" if error else status] += 1
        times = messages.pop((chats[pk], text), 0)
        if times > 1 or (status == NotificationStatus.SENT and times != 1):
            violations.append(f"telegram: notification {pk} ({status}) sent {times} times")
    violations += [f"telegram: a message no notification owes: {m}" for m in list(messages)[:5]]

    dlq = dead_letters(bootstrap)
    strangers = [key for key in dlq if key not in chaos.poison]
    violations += [f"dead letter not injected by the soak: key {key!r}" for key in strangers]

    # 503 is the coded answer while a dependency is away; any other 5xx is a defect.
    server_errors = sum(
        n for (_, status), n in tally.statuses.items() if status >= 500 and status != 503
    )
    if server_errors:
        violations.append(f"{server_errors} requests answered 5xx other than 503")

    final_at = Coalesce("filled_at", "cancelled_at", "expired_at", "updated_at")
    slowest = (
        Order.objects.filter(type=OrderType.MARKET, status__in=NOTIFY_STATUSES)
        .annotate(took=final_at - F("created_at"))
        .order_by("-took")
        .values_list("took", flat=True)
        .first()
    )
    statuses = Counter(Order.objects.values_list("status", flat=True))
    rejected = Counter(
        Order.objects.filter(status=OrderStatus.REJECTED).values_list("error_code", flat=True)
    )
    figures: dict[str, object] = {
        "orders submitted (202)": len(tally.accepted),
        **{f"  {status}": statuses.get(status, 0) for status in OrderStatus},
        "rejected by error code": {str(code): n for code, n in sorted(rejected.items())},
        "requests by answer": dict(
            sorted((f"{action} {status}", n) for (action, status), n in tally.statuses.items())
        ),
        "requests without answer": dict(tally.errors),
        "faults injected": dict(sorted(chaos.faults.items())),
        # Exits nobody caused (restarted by the supervisor, as compose's restart would).
        "unplanned exits": {
            process.name: process.exits - chaos.faults[process.name]
            for process in chaos.supervisor.processes
            if process.exits > chaos.faults[process.name]
        },
        "notifications": dict(by_status),
        "telegram messages": len(telegram.sent()),
        "dead letters (injected poison)": f"{len(dlq)} ({len(chaos.poison)} injected)",
        "lost": len(lost),
        "doubled": len(doubled),
        "reconcile differences": len(differences),
        "longest submit->final (market)": f"{slowest.total_seconds():.1f} s" if slowest else "-",
    }
    return figures, violations


def print_table(figures: dict[str, object], args: argparse.Namespace, settled: float) -> None:
    print()
    print(f"soak: {args.seconds:.0f} s of load, seed {args.seed}, settled in {settled:.0f} s")
    for name, value in figures.items():
        if isinstance(value, dict):
            print(f"{name}:")
            for key, n in value.items():
                print(f"    {key:<34}{n:>8}")
        else:
            print(f"{name:<38}{value!s:>8}")


# --- the run --------------------------------------------------------------------------


def environment(scratch: Path, telegram: FakeTelegram) -> dict[str, str]:
    database = f"postgres://postgres@127.0.0.1:{servers.free_port()}/brokerage_soak"
    redis = f"redis://127.0.0.1:{servers.free_port()}/0"
    return {
        "DJANGO_SETTINGS_MODULE": "brokerage.settings.local",
        "DATABASE_URL": database,
        "REDIS_URL": redis,
        "CELERY_BROKER_URL": redis,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{servers.free_port()}",
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": str(servers.free_port()),
        "CELERY_BEAT_SCHEDULE_FILENAME": str(scratch / "celerybeat-schedule"),
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "TELEGRAM_TIMEOUT_SECONDS": "5",
        # Lost work is redone within seconds, not minutes: the soak waits for it.
        "ORDER_STUCK_AFTER_SECONDS": "10",
        "NOTIFICATION_STALL_SECONDS": "15",
        "CELERY_VISIBILITY_TIMEOUT": "15",
        "CELERY_RESTORE_INTERVAL_SECONDS": "2",
        "OUTBOX_RELAY_AFTER_SECONDS": "2",
        "OUTBOX_RELAY_INTERVAL_SECONDS": "2",
        "RECONCILE_INTERVAL_SECONDS": "30",
        "ORDER_THROTTLE_RATE": "none",
        "SIGNUP_THROTTLE_RATE": "none",
        "ANON_THROTTLE_RATE": "none",
        "DEFAULT_USER_BALANCE": "1000000",
        "DEFAULT_USER_STOCK_AMOUNT": "1000",
        "OTEL_SDK_DISABLED": "true",
        "DEBUG": "false",
        "LOG_LEVEL": "INFO",
    }


def set_up(customers: int, chat_base: int) -> tuple[list[str], str]:
    """Stocks, customers with linked Telegram chats, a staff account: their tokens."""
    import django

    django.setup()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake Bot API's requests
    from stocks.services import create_stock
    from users.models import User
    from users.services import create_token, create_user

    for symbol, price in SYMBOLS.items():
        create_stock(symbol=symbol, name=f"Soak {symbol}", price=price, amount=D("1000000"))
    tokens = []
    for n in range(customers):
        user = create_user(email=f"soak{n}@example.com", name="Soak", surname=str(n))
        User.objects.filter(pk=user.pk).update(telegram_chat_id=str(chat_base + n))
        tokens.append(create_token(user=user, name="soak").key)
    staff = create_user(email="soak-staff@example.com", is_staff=True, balance=D("0"))
    return tokens, create_token(user=staff, name="soak").key


def main() -> int:
    args = parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="brokerage-soak-"))
    scratch.chmod(0o755)  # PostgreSQL's account must reach its data folder
    telegram = FakeTelegram()
    telegram.server.start()
    env = environment(scratch, telegram)
    os.environ.update(env)
    urls = {name: env[name] for name in ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")}
    supervisor = stack.Supervisor({**stack.child_env(urls), **env}, server_logs=scratch / "log")
    tally = Tally()
    chaos = Chaos(supervisor, args, env["KAFKA_BOOTSTRAP_SERVERS"])
    manage = stack.MANAGE
    stack.report(f"soak: {args.seconds:.0f} s, seed {args.seed}, logs in {scratch / 'log'}")
    try:
        with supervisor.stopping_on_signals():
            supervisor.add_server(
                servers.postgres(urls["DATABASE_URL"], scratch / "postgres"),
                lambda: servers.create_database(urls["DATABASE_URL"]),
            )
            supervisor.add_server(servers.redis(urls["REDIS_URL"], scratch / "redis"), None)
            supervisor.add_server(
                servers.kafka(urls["KAFKA_BOOTSTRAP_SERVERS"]),
                lambda: supervisor.run_once("kafka_init", [*manage, "kafka_init"]),
            )
            supervisor.run_once("migrate", [*manage, "migrate", "-v0", "--noinput"])
            tokens, staff = set_up(args.customers, chat_base=1000)
            for name, command in stack.procfile():
                if name in APP_PROCESSES:
                    log = scratch / "log" / f"{name}.log"
                    supervisor.add(name, ["/bin/sh", "-c", f"exec {command}"], log=log).start()
            supervising = threading.Thread(target=supervisor.supervise, daemon=True)
            supervising.start()
            port = int(env["WEB_PORT"])
            wait_web(port)

            load = Load(port, tokens, staff, tally, args)
            workers = [
                threading.Thread(target=load.run, args=(i,), daemon=True)
                for i in range(args.threads)
            ]
            for worker in workers:
                worker.start()
            fault_thread = threading.Thread(target=chaos.run, daemon=True)
            fault_thread.start()
            supervisor.stopping.wait(args.seconds)
            chaos.stopping.set()
            load.stopping.set()
            fault_thread.join()
            for worker in workers:
                worker.join()
            if supervisor.stopping.is_set():
                return 130  # interrupted
            stack.report("soak: load and faults stopped; waiting for the stack to settle")
            settled, left = wait_quiet()
            figures, violations = check(
                tally, chaos, telegram, urls["KAFKA_BOOTSTRAP_SERVERS"], left
            )
            supervisor.stopping.set()
            supervising.join()  # no restart may race the stop that follows
    finally:
        from brokerage.events.producer import close_producer

        close_producer(5)
        telegram.server.stop()
    print_table(figures, args, settled)
    if violations:
        print(f"\nFAILED: {len(violations)} violation(s); logs are in {scratch / 'log'}")
        for violation in violations[:50]:
            print(f"  - {violation}")
        return 1
    if args.keep_logs:
        print(f"logs are in {scratch / 'log'}")
    else:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\npassed: nothing lost, nothing doubled, every balance proved")
    return 0


def wait_web(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if servers.port_open("127.0.0.1", port):
            return
        time.sleep(0.2)  # polling a server that is starting
    raise RuntimeError(f"web did not listen on {port} within {timeout:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
