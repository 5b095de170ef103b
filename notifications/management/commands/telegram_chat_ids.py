"""`manage.py telegram_chat_ids`: the chats that wrote to the bot, to link customers."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from telegram import Chat
from telegram.error import TelegramError

from notifications import telegram_client
from notifications.services import redact


def describe(chat: Chat) -> str:
    """`Title`, `@username (First Last)`, whichever parts the chat has."""
    person = " ".join(part for part in (chat.first_name, chat.last_name) if part)
    parts = [
        chat.title or "",
        f"@{chat.username}" if chat.username else "",
        f"({person})" if person else "",
    ]
    return " ".join(part for part in parts if part) or "-"


class Command(BaseCommand):
    help = (
        "List the chats that wrote to the bot (Telegram's getUpdates), to find the "
        "telegram_chat_id to link (PATCH /api/v1/users/{id}) or TELEGRAM_CHAT_ID to set."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        token = settings.TELEGRAM_BOT_TOKEN
        if not token:
            raise CommandError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its "
                "token in the environment (or .env)."
            )
        try:
            updates = telegram_client.get_updates(token=token)
        except TelegramError as exc:
            reason = redact(f"{type(exc).__name__}: {exc}", token)
            raise CommandError(
                f"getUpdates at {settings.TELEGRAM_API_BASE_URL} failed: {reason}"
            ) from exc
        chats: dict[int, Chat] = {}
        for update in updates:
            if update.effective_chat is not None:
                chats[update.effective_chat.id] = update.effective_chat  # latest wins
        if not chats:
            self.stdout.write(
                "No chats have written to the bot yet (or their updates are older than "
                "24 hours): send the bot a message, e.g. /start, and run this again."
            )
            return
        rows = [(str(chat.id), str(chat.type), describe(chat)) for chat in chats.values()]
        widths = [max(len(row[i]) for row in [("chat_id", "type", ""), *rows]) for i in (0, 1)]
        self.stdout.write(f"{'chat_id':<{widths[0]}}  {'type':<{widths[1]}}  name")
        for chat_id, kind, name in rows:
            self.stdout.write(f"{chat_id:<{widths[0]}}  {kind:<{widths[1]}}  {name}")
        self.stdout.write(
            '\nLink a chat: PATCH /api/v1/users/{id} {"telegram_chat_id": "<chat_id>"}, '
            "or set TELEGRAM_CHAT_ID for everyone without one."
        )
