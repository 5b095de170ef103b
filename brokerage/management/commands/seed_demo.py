"""Demo data for a fresh install: a few stocks and, only when given credentials, a staff
superuser, whose first API token it prints when it creates it (never again: it runs on
every deploy, and deploy logs are no place for a key; `create_token` mints another)."""

import os
from decimal import Decimal
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from stocks.models import Stock
from stocks.services import create_stock
from users.models import User, UserType
from users.services import create_token, create_user

DEMO_STOCKS = [
    ("AAPL", "Apple Inc.", "189.5000"),
    ("MSFT", "Microsoft Corporation", "415.2000"),
    ("GOOG", "Alphabet Inc.", "152.8000"),
    ("AMZN", "Amazon.com, Inc.", "178.2500"),
    ("TSLA", "Tesla, Inc.", "201.1000"),
]
DEMO_INVENTORY = Decimal("1000000")
# The variables Django's `createsuperuser --noinput` reads: one .env serves both.
EMAIL_VARIABLE = "DJANGO_SUPERUSER_EMAIL"
PASSWORD_VARIABLE = "DJANGO_SUPERUSER_PASSWORD"

NO_ADMIN_HINT = (
    "No admin account created: none was asked for. Create one with\n"
    "  python manage.py createsuperuser\n"
    "  (compose: docker compose run --rm migrate python manage.py createsuperuser)\n"
    f"or set {EMAIL_VARIABLE} and {PASSWORD_VARIABLE} (compose: in .env) and run seed_demo."
)

NEW_TOKEN_HINT = "Another API token: python manage.py create_token <e-mail> --name <client>"


class Command(BaseCommand):
    help = (
        "Create demo stocks (idempotent) and, given an e-mail and password (options or "
        f"{EMAIL_VARIABLE} / {PASSWORD_VARIABLE}), a staff superuser; print an API token "
        "when it creates the superuser."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", default="", help=f"default: ${EMAIL_VARIABLE}")
        parser.add_argument("--password", default="", help=f"default: ${PASSWORD_VARIABLE}")

    def handle(self, *args: Any, email: str, password: str, **options: Any) -> None:
        email = email or os.environ.get(EMAIL_VARIABLE, "")
        password = password or os.environ.get(PASSWORD_VARIABLE, "")
        if bool(email) != bool(password):
            raise CommandError(f"an admin needs both {EMAIL_VARIABLE} and {PASSWORD_VARIABLE}")
        for symbol, name, price in DEMO_STOCKS:
            if not Stock.objects.filter(symbol=symbol).exists():
                create_stock(symbol=symbol, name=name, price=Decimal(price), amount=DEMO_INVENTORY)
        if not email:
            self.stdout.write(NO_ADMIN_HINT)
            return
        admin = User.objects.filter(email__iexact=email).first()
        if admin is not None:
            if admin.is_superuser:
                # It keeps its password and tokens: seed_demo runs on every deploy.
                self.stdout.write(f"Admin: {admin.email} exists. {NEW_TOKEN_HINT}")
            else:
                # Sign-up is open: whoever took this e-mail first must not become an admin.
                self.stderr.write(f"{admin.email} exists and is not an admin; left as it is.")
            return
        try:
            validate_password(password)
        except ValidationError as exc:  # the validators' messages never quote it
            raise CommandError(" ".join(exc.messages)) from None
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
        issued = create_token(user=admin, name="seed_demo")
        self.stdout.write(  # to the terminal; never the password
            f"Admin: {admin.email}  (Django admin: /admin/, password as given to seed_demo)\n"
            f"Admin API token (printed this once; not stored): {issued.key}\n"
            '  curl -H "Authorization: Token <the token>" http://127.0.0.1:8000/api/v1/stocks\n'
            f"{NEW_TOKEN_HINT}"
        )
