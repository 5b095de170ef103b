"""Quotes on the request path: each process keeps the stocks it has read.

A kept quote lives at most QUOTE_CACHE_SECONDS, and a price change drops it everywhere
at once: `forget_quote` publishes the symbol on a Redis channel that a listener thread
in every process follows. Should Redis be unreachable, quotes simply expire; the listener
forgets everything when it (re)subscribes, as it may have missed messages. A quote
sizes a market buy's reservation and answers GET /stocks; fills always read the locked
row, so a stale quote never changes what a customer pays.
"""

import logging
import os
import threading
import time

import redis
from django.conf import settings

from stocks.models import Stock
from stocks.selectors import get_stock

logger = logging.getLogger(__name__)

_kept: dict[str, tuple[float, Stock]] = {}
_listening_pid: int | None = None
_listening_lock = threading.Lock()


def channel() -> str:
    return f"{settings.CACHE_KEY_PREFIX}:quotes"


def _redis(**options: object) -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, **options)


def get_stock_quote(*, symbol: str) -> Stock:
    """The stock as this process last read it (see the module docstring). Raises
    StockNotFound (2005). Not for locking or filling."""
    _listen()
    now = time.monotonic()
    kept = _kept.get(symbol)
    if kept is not None and kept[0] > now:
        return kept[1]
    stock = get_stock(symbol=symbol)
    _kept[symbol] = (now + settings.QUOTE_CACHE_SECONDS, stock)
    return stock


def forget_quote(symbol: str) -> None:
    """Drop `symbol`'s quote in this process and, through Redis, in every other."""
    _kept.pop(symbol, None)
    try:
        _redis(socket_timeout=1, socket_connect_timeout=1).publish(channel(), symbol)
    except redis.RedisError as exc:
        logger.warning("could not announce %s's new quote (%s); it expires instead", symbol, exc)


def forget_all() -> None:
    _kept.clear()


def _listen() -> None:
    """Start this process's listener once (after a fork, again: threads don't survive it)."""
    global _listening_pid
    if _listening_pid == os.getpid():
        return
    with _listening_lock:
        if _listening_pid != os.getpid():
            _listening_pid = os.getpid()
            threading.Thread(target=_follow, name="quote-listener", daemon=True).start()


def _follow() -> None:
    while True:
        try:
            pubsub = _redis(health_check_interval=30).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel())
            forget_all()  # whatever changed while we were not subscribed
            for message in pubsub.listen():
                _kept.pop(message["data"].decode(), None)
        except redis.RedisError as exc:
            logger.warning("quote listener lost Redis (%s); retrying", exc)
            time.sleep(1)  # quotes expire meanwhile; don't spin on a dead server
