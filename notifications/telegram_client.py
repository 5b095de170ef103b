"""The Telegram Bot API through python-telegram-bot, called synchronously.

python-telegram-bot is async, and its httpx client belongs to the event loop that first
used it. Tasks and commands are sync and run each call in its own `asyncio.run` loop,
so a Bot kept across calls would reuse connections bound to a closed loop. Each call
therefore opens its request object, builds a Bot on it and closes it before the loop
ends: one connection per message, which is nothing next to Telegram's own limits
(about 30 messages a second per bot). The Bot itself is not initialized (`async with
bot` would call getMe before every message); only its request object is.

`TELEGRAM_API_BASE_URL` is the server root: the bot calls
`{TELEGRAM_API_BASE_URL}/bot{token}/{method}`, so a local Bot API server or a test fake
can stand in for api.telegram.org.
"""

import asyncio
import datetime as dt
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

from django.conf import settings
from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import RetryAfter
from telegram.request import HTTPXRequest

T = TypeVar("T")


def _call(token: str, method: Callable[[Bot], Awaitable[T]]) -> T:
    async def run() -> T:
        timeout = settings.TELEGRAM_TIMEOUT_SECONDS
        request = HTTPXRequest(
            connection_pool_size=1,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
        )
        async with request:
            base = settings.TELEGRAM_API_BASE_URL.rstrip("/")
            bot = Bot(
                token,
                base_url=f"{base}/bot",  # python-telegram-bot appends the token
                base_file_url=f"{base}/file/bot",
                request=request,
                get_updates_request=request,
            )
            return await method(bot)

    return asyncio.run(run())


def send_message(*, token: str, chat_id: str, text: str) -> None:
    """sendMessage in HTML parse mode; raises telegram.error.TelegramError subclasses."""
    _call(
        token, lambda bot: bot.send_message(chat_id=chat_id, text=text, parse_mode=ParseMode.HTML)
    )


def get_updates(*, token: str, offset: int | None = None, wait: int = 0) -> tuple[Update, ...]:
    """getUpdates: messages to the bot from `offset` on (Telegram forgets the earlier
    ones), holding the request up to `wait` seconds until one arrives (long polling)."""
    return _call(
        token,
        lambda bot: bot.get_updates(offset=offset, timeout=wait, allowed_updates=["message"]),
    )


def retry_after_seconds(exc: RetryAfter) -> float:
    """Telegram's delay in seconds: v22 gives an int (deprecated) or a timedelta
    (PTB_TIMEDELTA=true); accept both without the deprecation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)
