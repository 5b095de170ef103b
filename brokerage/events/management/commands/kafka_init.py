"""`manage.py kafka_init`: wait for Kafka, create the topics and their dead-letter topics."""

import time
from typing import Any

from confluent_kafka import KafkaException
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from brokerage.events.envelope import topics
from brokerage.events.producer import check_kafka, ensure_topics


class Command(BaseCommand):
    help = "Wait until Kafka answers, then create the topics and their DLQs if missing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=60.0)

    def handle(self, *args: Any, timeout: float, **options: Any) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                check_kafka(timeout=2)
                break
            except KafkaException as exc:
                if time.monotonic() > deadline:
                    raise CommandError(
                        f"Kafka at {settings.KAFKA_BOOTSTRAP_SERVERS}: {exc}"
                    ) from exc
                time.sleep(0.5)  # polling a broker that is still starting
        ensure_topics()
        self.stdout.write(f"Kafka ready at {settings.KAFKA_BOOTSTRAP_SERVERS}: {topics()}")
