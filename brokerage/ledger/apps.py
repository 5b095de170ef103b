"""The cash and share journal as an installed app."""

from django.apps import AppConfig


class LedgerConfig(AppConfig):
    """The append-only journal of every cash and share movement. It knows no domain app:
    the services that move money write its entries (brokerage.ledger.journal)."""

    name = "brokerage.ledger"
    label = "ledger"
