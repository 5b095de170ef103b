"""Mint an API token for an account and print its key, alone on a line (for scripts:
`ADMIN=$(python manage.py create_token admin@example.com --name walkthrough)`).

The key is shown this once: only its hash is stored. The owner sees the token in
GET /api/v1/tokens and may revoke it there like any other.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from users.models import User
from users.services import create_token


class Command(BaseCommand):
    help = "Issue a new API token for the account with this e-mail; print only its key."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--name", default="create_token", help="the client it is for (default: create_token)"
        )

    def handle(self, *args: Any, email: str, name: str, **options: Any) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"no account with the e-mail {email!r}")
        if not user.is_active:
            raise CommandError(f"{user.email} is inactive: its tokens would be refused")
        if len(name) > 100 or "\x00" in name:
            raise CommandError("--name: at most 100 characters, no NUL")
        self.stdout.write(create_token(user=user, name=name).key)
