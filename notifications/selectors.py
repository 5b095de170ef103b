"""Reads of notifications."""

from django.db.models import QuerySet

from notifications.models import Notification
from users.models import User


def list_notifications(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first (staff too: they are personal)."""
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")
