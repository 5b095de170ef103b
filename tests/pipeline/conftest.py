"""The real pipeline for tests: a Kafka-wire broker, the bridge and a Celery worker.

The broker is the embedded tansu on a free port (or KAFKA_BOOTSTRAP_SERVERS when set);
the bridge and the worker are subprocesses (`manage.py run_bridge`, `celery worker`)
on the test database and Redis, so tests can kill and restart them. Topic names,
the consumer group and the Celery key prefix are unique per session, so runs never
see each other's messages.
"""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import TypeVar

import pytest
from django.conf import settings as django_settings
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from brokerage.events.producer import close_producer
from brokerage.observability import setup_tracing
from deploy import servers
from orders.reconciliation import reconcile
from tests.fake_otlp import FakeOtlp
from tests.fake_telegram import FakeTelegram
from tests.helpers import ROOT, Proc, database_url, wait_until


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    address = f"127.0.0.1:{servers.free_port()}"
    broker = servers.start_kafka(address, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield address
    finally:
        broker.terminate()
        broker.wait(10)


@pytest.fixture(scope="session")
def pipeline_names() -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {
        "KAFKA_TOPIC_ORDERS": f"orders-{run}",
        "KAFKA_TOPIC_PRICES": f"prices-{run}",
        "KAFKA_BRIDGE_GROUP": f"bridge-{run}",
        "CELERY_KEY_PREFIX": f"test-{run}:",
    }


F = TypeVar("F", FakeOtlp, FakeTelegram)


def serving(fake: F) -> Iterator[F]:
    fake.server.start()
    yield fake
    fake.server.stop()


@pytest.fixture(scope="session")
def fake_otlp() -> Iterator[FakeOtlp]:
    """Where every process of the pipeline exports its spans."""
    yield from serving(FakeOtlp())


@pytest.fixture(scope="session")
def fake_telegram() -> Iterator[FakeTelegram]:
    yield from serving(FakeTelegram())


def every_outcome_notified() -> bool:
    from notifications.models import Notification
    from orders.models import NOTIFY_STATUSES, Order

    outcomes = Order.objects.filter(status__in=NOTIFY_STATUSES)
    notified = Notification.objects.values("order_id")
    return not outcomes.exclude(pk__in=notified).exists()


def settle_outcomes(timeout: float = 120) -> None:
    """Wait until every order outcome has its notification, relaying unconfirmed outbox
    rows every 2 s as beat would (a killed worker's outcome events wait for the relay)."""
    from brokerage.events.outbox import relay_outbox

    relayed_at = [time.monotonic()]

    def settled() -> bool:
        if every_outcome_notified():
            return True
        if time.monotonic() - relayed_at[0] > 2:
            relay_outbox()
            relayed_at[0] = time.monotonic()
        return False

    wait_until(settled, timeout=timeout, what="the notifications of every order outcome")


class Pipeline:
    """Starts, stops and kills the bridge and the worker of a test session."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.bridge: Proc | None = None
        self.worker: Proc | None = None

    def start_bridge(self) -> Proc:
        self.bridge = Proc("bridge", [sys.executable, "manage.py", "run_bridge"], self.env)
        self.bridge.wait_for_line("bridge consuming")
        return self.bridge

    def start_worker(self) -> Proc:
        # One solo worker runs tasks in the order it receives them, so "the sentinel
        # ran" implies "everything queued before it ran".
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "brokerage",
            "worker",
            "--pool",
            "solo",
            "-Q",
            "orders,notifications,default",
            "--loglevel",
            "INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ]
        self.worker = Proc("worker", argv, self.env)
        self.worker.wait_for_line("ready.")
        return self.worker

    def stop(self) -> None:
        for proc in (self.bridge, self.worker):
            if proc is not None:
                proc.stop()


@pytest.fixture(scope="session")
def pipeline_processes(
    django_db_setup: None,
    django_db_blocker,
    kafka_bootstrap: str,
    pipeline_names: dict[str, str],
    fake_telegram: FakeTelegram,
    fake_otlp: FakeOtlp,
) -> Iterator[Pipeline]:
    redis_url = django_settings.REDIS_URL
    env = {
        **os.environ,
        **pipeline_names,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "CELERY_RESTORE_INTERVAL_SECONDS": "1",
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
        # The worker talks to the fake Bot API; users without a chat id are skipped.
        "TELEGRAM_BOT_TOKEN": fake_telegram.token,
        "TELEGRAM_API_BASE_URL": fake_telegram.url,
        "TELEGRAM_TIMEOUT_SECONDS": "5",
        # Spans are exported, within a tenth of a second, to the fake OTLP receiver.
        "OTEL_EXPORTER_OTLP_ENDPOINT": fake_otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    with django_db_blocker.unblock():
        subprocess.run(
            [sys.executable, "manage.py", "kafka_init", "--timeout", "30"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    setup_tracing("brokerage-tests")  # requests get spans, so events carry a traceparent
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):  # this process plays web: its spans too
        exporter = OTLPSpanExporter(endpoint=f"{fake_otlp.endpoint}/v1/traces")
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
    pipeline = Pipeline(env)
    pipeline.start_worker()
    pipeline.start_bridge()
    yield pipeline
    pipeline.stop()


@pytest.fixture
def pipeline(
    pipeline_processes: Pipeline,
    settings,
    kafka_bootstrap: str,
    pipeline_names: dict[str, str],
    transactional_db: None,
) -> Iterator[Pipeline]:
    """This test process plays the web role: real Kafka transport, no eager tasks."""
    for name, value in pipeline_names.items():
        setattr(settings, name, value)
    settings.KAFKA_BOOTSTRAP_SERVERS = kafka_bootstrap
    settings.OUTBOX_RELAY_AFTER_SECONDS = 0
    from brokerage.celery import app as celery_app

    celery_app.conf.task_always_eager = False
    close_producer()
    yield pipeline_processes
    close_producer()
    # Outcome events are recorded as notifications after the orders settle; let the
    # worker finish them before the test's tables are truncated under it.
    settle_outcomes()
    # Whatever the test did to the pipeline, every balance is still proved.
    assert [str(d) for d in reconcile()] == []
    for proc in (pipeline_processes.bridge, pipeline_processes.worker):
        assert proc is not None
        assert proc.popen.poll() is None, f"{proc.name} died"
