"""`manage.py run_bridge`: the Kafka -> Celery bridge process."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from brokerage.events.bridge import Bridge
from brokerage.observability import serve_metrics, setup_tracing


class Command(BaseCommand):
    help = "Consume Kafka and hand each event to its Celery task (stops cleanly on SIGTERM)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--group", default=settings.KAFKA_BRIDGE_GROUP)
        parser.add_argument("--batch-size", type=int, default=settings.KAFKA_BRIDGE_BATCH_SIZE)
        parser.add_argument("--poll-timeout", type=float, default=1.0)
        parser.add_argument(
            "--linger-ms",
            type=float,
            default=settings.KAFKA_BRIDGE_LINGER_MS,
            help="after the first message, wait this long for more to batch",
        )

    def handle(
        self,
        *args: Any,
        group: str,
        batch_size: int,
        poll_timeout: float,
        linger_ms: float,
        **options: Any,
    ) -> None:
        setup_tracing("brokerage-bridge")
        serve_metrics()
        Bridge(
            group_id=group,
            batch_size=batch_size,
            poll_timeout=poll_timeout,
            linger=linger_ms / 1000,
            max_queued=settings.KAFKA_BRIDGE_MAX_QUEUED_TASKS,
        ).run()
