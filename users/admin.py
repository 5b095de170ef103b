"""Accounts and their positions in the admin. API tokens are not here: only their
owners list and revoke them (GET/DELETE /api/v1/tokens), and nobody mints one for
someone else from a browser."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest

from users.models import Position, User
from users.services import create_user


class PositionInline(admin.TabularInline):
    model = Position
    extra = 0
    readonly_fields = ("stock", "quantity", "quantity_reserved", "average_cost", "realized_pnl")
    can_delete = False


class UserCreationForm(AdminUserCreationForm):
    """Django's form, for a user whose login is the e-mail (there is no username)."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


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
    form = UserEditForm
    add_form = UserCreationForm

    def get_inlines(self, request: HttpRequest, obj: User | None = None) -> Any:
        return self.inlines if obj else ()  # positions appear once the account exists

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            # Only the edited columns: cash is read-only here and moved by fills
            # meanwhile, so a whole-row save could write back a stale balance.
            columns = {f.name for f in User._meta.concrete_fields}
            obj.save(update_fields=[f for f in form.changed_data if f in columns])
            return
        # Through the service: starting cash and starter positions, as a sign-up. No API
        # token: nobody would see its key (the owner logs in, or `manage.py create_token`).
        password = form.cleaned_data.get("password1") or None
        created = create_user(email=obj.email, password=password)
        obj.pk = created.pk
        obj.password = created.password

    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "usable_password", "password1", "password2"),
            },
        ),
    )
