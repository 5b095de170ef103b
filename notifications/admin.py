"""Notifications in the admin, with Resend for failed ones."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import Notification
from notifications.services import resend_notifications


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "event_type", "status", "attempts", "sent_at")
    list_filter = ("status", "event_type")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in Notification._meta.fields]
    actions = ("resend",)

    @admin.action(description="Resend the selected failed notifications")
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        selected = list(queryset.values_list("pk", flat=True))
        queued = resend_notifications(notification_ids=selected)
        skipped = len(selected) - queued
        self.message_user(request, f"Queued {queued} notification(s) for delivery.")
        if skipped:
            self.message_user(
                request, f"Left {skipped} that had not failed untouched.", messages.WARNING
            )
