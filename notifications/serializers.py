"""The notification's API shape."""

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
