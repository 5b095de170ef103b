"""API tokens: `Authorization: Token <key>`, checked against a hash, remembered briefly,
revoked everywhere at once.

A key is 40 random hex digits (160 bits), as DRF's were, so the keys issued before
hashing keep working. Only its SHA-256 is stored: a key that random needs no slow hash,
and a dump of the table authenticates nobody. The row is found by the key's first
characters (`prefix`) and its digest compared in constant time.

A process remembers a token for AUTH_TOKEN_CACHE_SECONDS (one query less per request),
under the key's digest, never the key. Whatever could change the answer drops it in every
process at once (`brokerage.shared.memo`): a token's deletion (logout, DELETE
/api/v1/tokens/{id}) and a save of the user that may change who they are or what they may
do (deactivation, staff flags, type, e-mail, password). A password change also deletes
all the user's tokens: a leaked token dies with the password it was issued under. A token
past its `expires_at` is refused.

Views never trust the remembered user's money: services re-read it under a row lock.
"""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from brokerage import logs
from brokerage.shared.memo import BroadcastMemo
from users.models import ApiToken, User

PREFIX_LENGTH = 8
_KEY = re.compile(r"[0-9a-f]{40}")
# last_used_at is for the owner's list, not an audit trail: a write per request per
# token would cost more than it tells.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_tokens: BroadcastMemo[tuple[User, ApiToken]] = BroadcastMemo(
    "tokens", ttl=lambda: settings.AUTH_TOKEN_CACHE_SECONDS
)

# A save naming none of these (a fill updating cash) leaves remembered tokens alone.
IDENTITY_FIELDS = frozenset(
    {"email", "password", "is_active", "is_staff", "is_superuser", "type", "groups"}
)


def new_key() -> str:
    return secrets.token_hex(20)


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` against the stored digests, with the memory and
    lifetime described above."""

    model = ApiToken  # DRF's default would import its own plaintext Token model

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        if not _KEY.fullmatch(key):  # no query for what cannot be a key
            raise exceptions.AuthenticationFailed("Invalid token.")
        digest = digest_of(key)
        remembered = _tokens.get(digest)
        if remembered is None:
            remembered = _look_up(key, digest)
            _tokens.put(digest, remembered, tag=str(remembered[0].pk))
        user, token = remembered
        if has_expired(token):
            raise exceptions.AuthenticationFailed("Token has expired: request a new one.")
        _mark_used(token)
        logs.user_id.set(str(user.pk))  # the rest of the request's log lines name the user
        return user, token


def _look_up(key: str, digest: str) -> tuple[User, ApiToken]:
    candidates = ApiToken.objects.select_related("user").filter(prefix=key[:PREFIX_LENGTH])
    for token in candidates:
        if hmac.compare_digest(token.digest, digest):
            if not token.user.is_active:
                raise exceptions.AuthenticationFailed("User inactive or deleted.")
            return token.user, token
    raise exceptions.AuthenticationFailed("Invalid token.")


def has_expired(token: ApiToken) -> bool:
    return token.expires_at is not None and token.expires_at <= timezone.now()


def _mark_used(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    token.last_used_at = now  # the remembered copy too: one write a minute per process
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


def forget_user(user_id: object) -> None:
    """Every process looks the user's tokens up again on their next request.

    Now, and again once the change commits: a request in another process between the
    two would otherwise read the old row and remember it for AUTH_TOKEN_CACHE_SECONDS.
    """
    _tokens.forget(str(user_id))
    transaction.on_commit(lambda: _tokens.forget(str(user_id)))


def forget_all() -> None:
    _tokens.clear()


def _token_deleted(sender: Any, instance: ApiToken, **kwargs: Any) -> None:
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
        ApiToken.objects.filter(user_id=instance.pk).delete()  # post_delete forgets them
    forget_user(instance.pk)


post_delete.connect(_token_deleted, sender=ApiToken, dispatch_uid="tokens-forget-deleted")
post_save.connect(_user_saved, sender=User, dispatch_uid="tokens-forget-user")
