"""`manage.py run_telegram_bot`: the bot's side of Telegram linking (long polling)."""

import hashlib
import logging
import signal
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from telegram.error import TelegramError

from brokerage.redaction import redact
from brokerage.singleton import hold_for_life
from notifications import linking, telegram_client

logger = logging.getLogger(__name__)

POLL_SECONDS = 25  # Telegram holds a getUpdates this long waiting for a message
BACKOFF_SECONDS = 5.0


class Command(BaseCommand):
    help = (
        "Answer the bot's messages: `/start <code>` (a t.me deep link from "
        "POST /api/v1/users/{id}/telegram-link) links the chat to that customer."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--once", action="store_true", help="answer the messages waiting now, then exit"
        )

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        token = settings.TELEGRAM_BOT_TOKEN
        if not token:
            self.stdout.write("TELEGRAM_BOT_TOKEN is not set: there is no bot to run.")
            if not once:  # a service that stays up, so supervisors don't restart it
                threading.Event().wait()
            return
        if not once and settings.SINGLETON_LOCK_TTL_SECONDS:
            # One poller per token (Telegram answers a second with Conflict): another bot
            # stands by here. SIGTERM exits through atexit, which hands the lock over.
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            digest = hashlib.sha256(token.encode()).hexdigest()[:16]  # not the token itself
            hold_for_life(
                f"bot:{digest}",
                url=settings.REDIS_URL,
                ttl=settings.SINGLETON_LOCK_TTL_SECONDS,
                what="bot",
            )
        offset: int | None = None
        while True:
            try:
                updates = telegram_client.get_updates(
                    token=token, offset=offset, wait=0 if once else POLL_SECONDS
                )
                for update in updates:
                    offset = update.update_id + 1  # answered or not, never again
                    self.answer(token, update.effective_message, update.effective_chat)
                if once:
                    if offset is not None:  # confirm: Telegram drops what we answered
                        telegram_client.get_updates(token=token, offset=offset)
                    return
            except TelegramError as exc:
                reason = redact(f"{type(exc).__name__}: {exc}", token)
                if once:
                    raise CommandError(f"Telegram refused: {reason}") from exc
                logger.warning("bot: Telegram call failed (%s); retrying", reason)
                time.sleep(BACKOFF_SECONDS)  # back off from a failing Bot API

    def answer(self, token: str, message: Any, chat: Any) -> None:
        if message is None or chat is None or not message.text:
            return
        reply = linking.answer_bot_message(text=message.text, chat_id=str(chat.id))
        telegram_client.send_message(token=token, chat_id=str(chat.id), text=reply)
