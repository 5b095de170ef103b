"""The notification's API shape."""

from typing import Any

from rest_framework import serializers

from notifications.models import Notification


class NotificationOutputSerializer(serializers.ModelSerializer[Notification]):
    order_id = serializers.UUIDField(allow_null=True)

    class Meta:
        model = Notification
        fields = (
            "id",
            "order_id",
            "event_type",
            "channel",
            "text",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "sent_at",
        )
        read_only_fields = fields


class TelegramLinkOutputSerializer(serializers.Serializer[dict[str, Any]]):
    code = serializers.CharField(help_text="Send the bot `/start <code>` (the link does it).")
    url = serializers.URLField(
        allow_null=True,
        help_text="t.me deep link that opens the bot with the code; null until the "
        "operator sets TELEGRAM_BOT_USERNAME.",
    )
    expires_at = serializers.DateTimeField(help_text="The code works once, until then.")
