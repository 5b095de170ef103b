"""The journal's table: one row per movement of cash or shares, never changed."""

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone


class EntryKind(models.TextChoices):
    OPENING = "opening"  # a balance that existed before the journal did
    GRANT = "grant"  # a sign-up's starting cash
    STARTER_SHARES = "starter_shares"  # a sign-up's shares of every listed stock
    FILL = "fill"  # cash and shares moved by an execution
    INVENTORY = "inventory"  # house shares listed, or changed by staff


class AppendOnly(Exception):
    pass


class LedgerEntry(models.Model):
    """One movement: `amount` (signed) of cash (no stock) or of a stock's shares, for a
    customer or, with no user, for the house's inventory; `balance_after` is the
    account's (or house's) balance of that asset right after it.

    Written in the same transaction as the balance it explains, never updated or
    deleted: the model refuses, and a database trigger refuses raw SQL too.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        "users.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    stock = models.ForeignKey(
        "stocks.Stock", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=EntryKind.choices)
    amount = models.DecimalField(max_digits=24, decimal_places=6)
    balance_after = models.DecimalField(max_digits=24, decimal_places=6)
    order_id = models.UUIDField(null=True, blank=True)  # the order a fill belongs to
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # The table and its migrations stay with the project app, like the outbox.
        app_label = "brokerage"
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="ledger_user_newest"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(stock__isnull=False),
                name="ledger_house_holds_shares_only",
            ),
        ]

    def __str__(self) -> str:
        asset = "cash" if self.stock_id is None else f"stock {self.stock_id}"
        return f"{self.kind} {self.amount} {asset} -> {self.balance_after}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("ledger entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("ledger entries are never deleted")
