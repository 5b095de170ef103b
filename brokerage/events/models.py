"""The transactional outbox's table."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it describes.

    Published to Kafka after commit; the relay republishes rows whose delivery was
    never confirmed, so nothing accepted is lost when Kafka is down.
    """

    event_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    topic = models.CharField(max_length=200)
    key = models.CharField(max_length=200, blank=True)
    event_type = models.CharField(max_length=64)
    envelope = models.JSONField()
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        # The table and its migrations stay with the project app, where they began.
        app_label = "brokerage"
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_unpublished",
                condition=Q(published_at__isnull=True),
            ),
            # The retention purge finds old published rows without a scan of the table.
            models.Index(
                fields=["published_at"],
                name="outbox_published",
                condition=Q(published_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.topic}"
