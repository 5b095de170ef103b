"""Reads of accounts and positions."""

from uuid import UUID

from django.db.models import QuerySet

from brokerage.api.errors import UserNotFound
from users.models import Position, User


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
