"""Entries of the journal, built by the services that move cash and shares, saved in the
same transaction as the balances they explain (unsaved here: callers batch them)."""

from decimal import Decimal
from typing import Any
from uuid import UUID

from brokerage.ledger.models import EntryKind, LedgerEntry


def entry(
    *,
    user_id: Any,
    kind: str,
    amount: Decimal,
    balance_after: Decimal,
    stock_id: int | None = None,
    order_id: UUID | None = None,
) -> LedgerEntry:
    """A customer's movement: of cash, or with `stock_id` of that stock's shares."""
    return LedgerEntry(
        user_id=user_id,
        stock_id=stock_id,
        kind=kind,
        amount=amount,
        balance_after=balance_after,
        order_id=order_id,
    )


def inventory(*, stock_id: int, amount: Decimal, balance_after: Decimal) -> LedgerEntry:
    """House shares of a stock created (listing, restock) or withdrawn by staff."""
    return LedgerEntry(
        stock_id=stock_id, kind=EntryKind.INVENTORY, amount=amount, balance_after=balance_after
    )
