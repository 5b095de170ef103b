"""API tokens: `Authorization: Token <key>`, remembered briefly, revoked everywhere at once.

A process remembers a key's user for AUTH_TOKEN_CACHE_SECONDS (one query less per
request). Whatever could change the answer drops it in every process at once
(`brokerage.shared.memo`): the token's deletion (logout, revocation in the admin) and a
save of the user that may change who they are or what they may do (deactivation, staff
flags, type, e-mail, password). A password change also deletes the user's tokens: a
leaked token dies with the password it was issued under. Tokens older than
AUTH_TOKEN_TTL seconds are refused (0: they never expire).

Views never trust the remembered user's money: services re-read it under a row lock.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from brokerage import logs
from brokerage.shared.memo import BroadcastMemo

_tokens: BroadcastMemo[tuple[Any, Token]] = BroadcastMemo(
    "tokens", ttl=lambda: settings.AUTH_TOKEN_CACHE_SECONDS
)

# A save naming none of these (a fill updating cash) leaves remembered tokens alone.
IDENTITY_FIELDS = frozenset(
    {"email", "password", "is_active", "is_staff", "is_superuser", "type", "groups"}
)


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication with the memory and lifetime described above."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        remembered = _tokens.get(key)
        if remembered is None:
            remembered = super().authenticate_credentials(key)
            _tokens.put(key, remembered, tag=str(remembered[0].pk))
        user, token = remembered
        if has_expired(token):
            raise exceptions.AuthenticationFailed("Token has expired: request a new one.")
        logs.user_id.set(str(user.pk))  # the rest of the request's log lines name the user
        return user, token


def expires_at(token: Token) -> datetime | None:
    lifetime = settings.AUTH_TOKEN_TTL
    return token.created + timedelta(seconds=lifetime) if lifetime > 0 else None


def has_expired(token: Token) -> bool:
    end = expires_at(token)
    return end is not None and end <= timezone.now()


def forget_user(user_id: object) -> None:
    """Every process looks the user's tokens up again on their next request."""
    _tokens.forget(str(user_id))


def forget_all() -> None:
    _tokens.clear()


def _token_deleted(sender: Any, instance: Token, **kwargs: Any) -> None:
    forget_user(instance.user_id)


def _user_saved(
    sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any
) -> None:
    if created:
        return
    if update_fields is not None and not IDENTITY_FIELDS.intersection(update_fields):
        return
    # AbstractBaseUser keeps the new raw password until after post_save.
    if getattr(instance, "_password", None) is not None:
        Token.objects.filter(user_id=instance.pk).delete()  # post_delete forgets them
    forget_user(instance.pk)


post_delete.connect(_token_deleted, sender=Token, dispatch_uid="tokens-forget-deleted")
post_save.connect(_user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="tokens-forget-user")
