"""Orders and their fills in the admin (read-only)."""

from django.contrib import admin
from django.http import HttpRequest

from orders.models import Fill, Order


class FillInline(admin.TabularInline):
    model = Fill
    extra = 0
    can_delete = False
    readonly_fields = ("quantity", "price", "amount", "executed_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: orders change state only through the order services."""

    list_display = (
        "id",
        "user",
        "stock",
        "side",
        "type",
        "time_in_force",
        "quantity",
        "limit_price",
        "filled_quantity",
        "status",
        "created_at",
    )
    list_filter = ("status", "side", "type", "time_in_force")
    search_fields = ("id", "client_order_id", "user__email", "stock__symbol")
    list_select_related = ("user", "stock")
    inlines = (FillInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
