"""The Notification: a message owed to a customer about one order outcome."""

import uuid

from django.db import models
from django.utils import timezone


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class Notification(models.Model):
    """A message owed to a customer about one order outcome; sent at most once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="notifications")
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="notifications", null=True
    )
    event_type = models.CharField(max_length=64)
    # The `order.<outcome>` event it reports: a redelivered event creates nothing.
    source_event_id = models.UUIDField(unique=True, null=True, editable=False)
    text = models.TextField()
    channel = models.CharField(max_length=16, default="telegram")
    status = models.CharField(
        max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set while a worker is sending it (see services.deliver_notification); a claim that
    # outlives its lease without an outcome means the sender died mid-call.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_newest")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.user_id} ({self.status})"


class TelegramLink(models.Model):
    """A one-time code that binds the Telegram chat it is sent from to a customer.

    Only the code's SHA-256 is stored: a database reader learns no usable code.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    chat_id = models.CharField(max_length=64, blank=True)  # the chat it bound, once used

    def __str__(self) -> str:
        return f"telegram link for {self.user_id} ({'used' if self.used_at else 'open'})"
