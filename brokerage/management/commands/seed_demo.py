"""Demo data for a fresh install: a few stocks and a staff account with a token."""

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from stocks.models import Stock
from stocks.services import create_stock
from users.models import User, UserType
from users.services import create_user

DEMO_STOCKS = [
    ("AAPL", "Apple Inc.", "189.5000"),
    ("MSFT", "Microsoft Corporation", "415.2000"),
    ("GOOG", "Alphabet Inc.", "152.8000"),
    ("AMZN", "Amazon.com, Inc.", "178.2500"),
    ("TSLA", "Tesla, Inc.", "201.1000"),
]
DEMO_INVENTORY = Decimal("1000000")


class Command(BaseCommand):
    help = "Create demo stocks and a demo staff account (idempotent); print how to log in."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", default="admin@example.com")
        parser.add_argument("--password", default="admin12345")

    def handle(self, *args: Any, email: str, password: str, **options: Any) -> None:
        for symbol, name, price in DEMO_STOCKS:
            if not Stock.objects.filter(symbol=symbol).exists():
                create_stock(symbol=symbol, name=name, price=Decimal(price), amount=DEMO_INVENTORY)
        admin = User.objects.filter(email=email).first()
        if admin is None:
            admin = create_user(
                email=email,
                name="Demo",
                surname="Admin",
                password=password,
                type=UserType.MANAGER,
                is_staff=True,
            )
            admin.is_superuser = True
            admin.save(update_fields=["is_superuser"])
        token, _ = Token.objects.get_or_create(user=admin)
        self.stdout.write(  # to the terminal; never the password
            f"Demo admin: {email}  (Django admin: /admin/, password as given to seed_demo)\n"
            f"Demo admin API token (printed once, here): {token.key}\n"
            '  curl -H "Authorization: Token <the token>" http://127.0.0.1:8000/api/v1/stocks'
        )
