from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "event_type", "status", "attempts", "sent_at")
    list_filter = ("status", "event_type")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in Notification._meta.fields]
