"""The outbox in the admin: what was published, what waits for the relay."""

from django.contrib import admin
from django.http import HttpRequest

from brokerage.events.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """Read-only: what was emitted and whether Kafka confirmed it (the relay resends the
    unconfirmed ones)."""

    list_display = ("created_at", "event_type", "topic", "key", "published_at", "attempts")
    list_filter = ("topic", "event_type", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id", "key")
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
