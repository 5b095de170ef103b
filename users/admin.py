from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from users.models import Position, User


class PositionInline(admin.TabularInline):
    model = Position
    extra = 0
    readonly_fields = ("stock", "quantity", "quantity_reserved", "average_cost", "realized_pnl")
    can_delete = False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "name", "surname", "type", "cash", "cash_reserved", "is_staff")
    list_filter = ("type", "is_staff", "is_active")
    search_fields = ("email", "name", "surname")
    # Cash moves only through order services; admins see it but don't edit it.
    readonly_fields = ("cash", "cash_reserved", "date_joined", "last_login")
    inlines = (PositionInline,)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "surname", "type", "telegram_chat_id")}),
        ("Money", {"fields": ("cash", "cash_reserved")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
