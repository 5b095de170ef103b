"""Reads of accounts and positions."""

from datetime import datetime
from uuid import UUID

from django.db.models import QuerySet

from brokerage.api.errors import TokenNotFound, UserNotFound
from brokerage.ledger.models import LedgerEntry
from users.models import ApiToken, Position, User


def list_users(*, actor: User) -> QuerySet[User]:
    """Staff see every account; a customer sees only their own."""
    qs = User.objects.order_by("-date_joined", "-id")
    return qs if actor.is_staff else qs.filter(pk=actor.pk)


def get_user(*, actor: User, user_id: UUID) -> User:
    try:
        return list_users(actor=actor).get(pk=user_id)
    except User.DoesNotExist as exc:
        raise UserNotFound("User not found.", user_id=str(user_id)) from exc


def get_user_detail(*, actor: User, user_id: UUID) -> User:
    """The account with its positions (stock joined), in 2 queries."""
    user = get_user(actor=actor, user_id=user_id)
    user.position_list = list(list_positions(user=user).order_by("id"))  # type: ignore[attr-defined]
    return user


def list_positions(*, user: User) -> QuerySet[Position]:
    return Position.objects.filter(user=user).select_related("stock").order_by("-created_at", "-id")


def list_activities(
    *,
    actor: User,
    user_id: UUID | None = None,
    kind: str | None = None,
    after: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[LedgerEntry]:
    """Journal entries of accounts, newest first: staff any (`user_id` narrows), a
    customer only their own."""
    qs = LedgerEntry.objects.filter(user__isnull=False).select_related("stock")
    if not actor.is_staff:
        qs = qs.filter(user_id=actor.pk)
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    if kind:
        qs = qs.filter(kind=kind)
    if after is not None:
        qs = qs.filter(created_at__gte=after)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return qs.order_by("-created_at", "-id")


def list_tokens(*, user: User) -> QuerySet[ApiToken]:
    """The user's own API tokens, newest first; nobody else's, staff included."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def get_token(*, user: User, token_id: UUID) -> ApiToken:
    try:
        return list_tokens(user=user).get(pk=token_id)
    except ApiToken.DoesNotExist as exc:
        raise TokenNotFound("Token not found.", token_id=str(token_id)) from exc
