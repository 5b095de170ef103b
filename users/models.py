"""User (the account, with cash and reservations) and Position."""

import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from brokerage.shared.fields import cash_column, price_column, quantity_column


class UserType(models.TextChoices):
    NORMAL = "normal"
    MANAGER = "manager"
    BROKER = "broker"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        extra.update(is_staff=True, is_superuser=True, type=UserType.MANAGER)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer account: identity, cash and what of it open orders have reserved."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    surname = models.CharField(max_length=150, blank=True)
    type = models.CharField(max_length=16, choices=UserType.choices, default=UserType.NORMAL)
    cash = cash_column(default=Decimal("0"))
    cash_reserved = cash_column(default=Decimal("0"))
    telegram_chat_id = models.CharField(max_length=64, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(cash__gte=0), name="user_cash_gte_0"),
            models.CheckConstraint(condition=Q(cash_reserved__gte=0), name="user_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(cash_reserved__lte=F("cash")), name="user_reserved_lte_cash"
            ),
        ]

    def __str__(self) -> str:
        return self.email

    # Moved only by services, which name them in update_fields (or write them in SQL): a
    # generic save of a stale instance, such as the admin's password form, never writes
    # back old money over a fill that happened since it was loaded.
    MONEY_FIELDS = frozenset({"cash", "cash_reserved"})

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in self.MONEY_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def available_cash(self) -> Decimal:
        return self.cash - self.cash_reserved


class Position(models.Model):
    """Shares of one stock a user holds, and what of them open sell orders reserved."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="positions")
    stock = models.ForeignKey("stocks.Stock", on_delete=models.PROTECT, related_name="positions")
    quantity = quantity_column(default=Decimal("0"))
    quantity_reserved = quantity_column(default=Decimal("0"))
    average_cost = price_column(default=Decimal("0"))
    realized_pnl = cash_column(default=Decimal("0"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "stock"], name="position_user_stock_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="position_quantity_gte_0"),
            models.CheckConstraint(
                condition=Q(quantity_reserved__gte=0), name="position_reserved_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(quantity_reserved__lte=F("quantity")),
                name="position_reserved_lte_quantity",
            ),
            models.CheckConstraint(
                condition=Q(average_cost__gte=0), name="position_average_cost_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.stock_id} {self.quantity}"

    @property
    def available_quantity(self) -> Decimal:
        return self.quantity - self.quantity_reserved


class ApiToken(models.Model):
    """An API key for one client or device. Only the key's SHA-256 is stored: the key is
    shown once, when issued (users.services.create_token), and a database dump holds
    nothing that authenticates. `prefix`, the key's first characters, finds the row and
    lets the owner tell their tokens apart; it is too short to be guessed into a key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=8, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)  # null: never
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_created")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"
