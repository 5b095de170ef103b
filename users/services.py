"""Account services: open an account with its grant and starter shares, update it; issue
and revoke its API tokens."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from brokerage.api.errors import UserExists
from brokerage.ledger import journal
from brokerage.ledger.models import EntryKind, LedgerEntry
from brokerage.shared.db import set_fields
from stocks.models import Stock
from users import authentication
from users.models import ApiToken, Position, User, UserType


@transaction.atomic
def create_user(
    *,
    email: str,
    name: str = "",
    surname: str = "",
    password: str | None = None,
    balance: Decimal | None = None,
    type: str = UserType.NORMAL,
    is_staff: bool = False,
) -> User:
    """Open an account with its starting cash and starter positions.

    Every listed stock is granted DEFAULT_USER_STOCK_AMOUNT shares at its current
    price, as the original system did (new shares, not taken from the house).
    Raises UserExists (2020) for a taken email.
    """
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise UserExists("A user with this email already exists.", email=email)
    user = User(
        email=email,
        name=name,
        surname=surname,
        type=type,
        is_staff=is_staff,
        cash=settings.DEFAULT_USER_BALANCE if balance is None else balance,
    )
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent sign-up took the email
        raise UserExists("A user with this email already exists.", email=email) from exc
    entries = [
        journal.entry(
            user_id=user.pk, kind=EntryKind.GRANT, amount=user.cash, balance_after=user.cash
        )
    ]
    grant = settings.DEFAULT_USER_STOCK_AMOUNT
    if grant > 0:
        stocks = list(Stock.objects.values_list("id", "price"))
        Position.objects.bulk_create(
            Position(user=user, stock_id=stock_id, quantity=grant, average_cost=price)
            for stock_id, price in stocks
        )
        entries += [
            journal.entry(
                user_id=user.pk,
                stock_id=stock_id,
                kind=EntryKind.STARTER_SHARES,
                amount=Decimal(grant),
                balance_after=Decimal(grant),
            )
            for stock_id, _ in stocks
        ]
    LedgerEntry.objects.bulk_create(entries)
    return user


@transaction.atomic
def update_user(
    *,
    user: User,
    name: str | None = None,
    surname: str | None = None,
    telegram_chat_id: str | None = None,
) -> User:
    """Change a user's profile fields; money fields are only moved by order services."""
    changed = set_fields(user, name=name, surname=surname, telegram_chat_id=telegram_chat_id)
    if changed:
        user.save(update_fields=changed)
    return user


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the only time it exists outside its holder: show it once, store only token


@transaction.atomic
def create_token(*, user: User, name: str = "") -> IssuedToken:
    """A new API token for one client or device of `user`, working for AUTH_TOKEN_TTL
    seconds (0: until revoked). Every call issues another; the others keep working.
    The user's expired tokens are deleted here, so that no job is needed to keep them
    from piling up."""
    key = authentication.new_key()
    lifetime = settings.AUTH_TOKEN_TTL
    now = timezone.now()
    ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[: authentication.PREFIX_LENGTH],
        digest=authentication.digest_of(key),
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime) if lifetime > 0 else None,
    )
    return IssuedToken(token=token, key=key)


@transaction.atomic
def create_user_with_token(**fields: Any) -> tuple[User, IssuedToken]:
    """Sign-up: the account (create_user's keyword `fields`) and its first API token,
    together or not at all: an account opened without a password has no other way in."""
    user = create_user(**fields)
    return user, create_token(user=user, name="sign-up")


@transaction.atomic
def revoke_token(*, token: ApiToken) -> None:
    """Log out, or the owner's revocation: the token stops working in every process at
    once (users.authentication forgets it on delete)."""
    token.delete()
