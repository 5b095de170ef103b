"""Telegram linking: a customer proves a chat is theirs by sending the bot a one-time code.

1. `create_telegram_link` (POST /api/v1/users/{id}/telegram-link) makes a code that
   lives TELEGRAM_LINK_CODE_SECONDS and a `t.me/<bot>?start=<code>` deep link;
2. opening the link sends the bot `/start <code>` from the customer's chat; the bot
   (`manage.py run_telegram_bot`) calls `answer_bot_message`, which binds that chat to
   the customer through `link_telegram_chat` and says so. A code works once.

A chat id is never taken as typed from a customer, so nobody can route someone else's
order notifications to a chat they watch, or spam a stranger's chat. Staff may still set
one in the admin.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.models import TelegramLink
from users.models import User

LINKED = "Linked: order notifications for your brokerage account will arrive in this chat."
UNKNOWN_CODE = (
    "This link code is unknown, already used or expired. Ask the app for a new link "
    "(POST /api/v1/users/{id}/telegram-link) and open it again."
)
HELLO = (
    "Hello! To get your order notifications here, ask the app for a link "
    "(POST /api/v1/users/{id}/telegram-link) and open it."
)


@dataclass(frozen=True)
class LinkCode:
    code: str
    url: str | None  # None until TELEGRAM_BOT_USERNAME is set
    expires_at: datetime


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


@transaction.atomic
def create_telegram_link(*, user: User) -> LinkCode:
    """A new one-time code for `user`; any earlier unused code stops working."""
    TelegramLink.objects.filter(user=user, used_at__isnull=True).delete()
    code = secrets.token_urlsafe(24)  # 192 bits; deep-link safe: [A-Za-z0-9_-]
    expires_at = timezone.now() + timedelta(seconds=settings.TELEGRAM_LINK_CODE_SECONDS)
    TelegramLink.objects.create(user=user, code_hash=_hash(code), expires_at=expires_at)
    bot = settings.TELEGRAM_BOT_USERNAME.lstrip("@")
    url = f"https://t.me/{bot}?start={code}" if bot else None
    return LinkCode(code=code, url=url, expires_at=expires_at)


@transaction.atomic
def link_telegram_chat(*, code: str, chat_id: str) -> User | None:
    """Bind `chat_id` to the code's customer and spend the code; None for an unknown,
    used or expired code."""
    now = timezone.now()
    link = (
        TelegramLink.objects.select_for_update()
        .filter(code_hash=_hash(code), used_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if link is None:
        return None
    link.used_at, link.chat_id = now, chat_id
    link.save(update_fields=["used_at", "chat_id"])
    user = User.objects.get(pk=link.user_id)
    user.telegram_chat_id = chat_id
    user.save(update_fields=["telegram_chat_id"])
    return user


@transaction.atomic
def unlink_telegram_chat(*, user: User) -> None:
    """No more Telegram messages for `user` until they link a chat again."""
    TelegramLink.objects.filter(user=user, used_at__isnull=True).delete()
    user.telegram_chat_id = ""
    user.save(update_fields=["telegram_chat_id"])


def answer_bot_message(*, text: str, chat_id: str) -> str:
    """What the bot replies to a message from `chat_id`: `/start <code>` links it."""
    command, _, argument = text.strip().partition(" ")
    if command.split("@")[0] != "/start" or not argument.strip():
        return HELLO
    user = link_telegram_chat(code=argument.strip(), chat_id=chat_id)
    return LINKED if user is not None else UNKNOWN_CODE
