"""`manage.py reconcile`: prove every balance; list differences, exit 1 on any."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from orders.reconciliation import reconcile


class Command(BaseCommand):
    help = (
        "Check that cash, reservations, positions and house inventory agree with the "
        "journal and the open orders; print each difference and exit non-zero on any."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        differences = reconcile()
        for difference in differences:
            self.stdout.write(str(difference))
        if differences:
            raise CommandError(f"{len(differences)} difference(s)")
        self.stdout.write("reconciled: every balance agrees with the journal and the orders")
