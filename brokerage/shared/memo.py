"""Per-process memory that every process forgets at once.

A `BroadcastMemo` keeps values in this process for a few seconds, each under a key and a
tag. `forget(tag)` drops the tag's entries here and publishes the tag on a Redis channel
that a listener thread in every process follows, so a change is seen everywhere within
milliseconds. Should Redis be unreachable, entries simply expire; the listener forgets
everything when it (re)subscribes, as it may have missed messages.

Used for stock quotes (tag: the symbol) and API tokens (tag: the user's id).
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

V = TypeVar("V")


class BroadcastMemo(Generic[V]):
    MAX_ENTRIES = 10_000

    def __init__(self, name: str, *, ttl: Callable[[], float]) -> None:
        self.name = name
        self._ttl = ttl
        self._kept: dict[str, tuple[float, str, V]] = {}
        self._listening_pid: int | None = None
        self._lock = threading.Lock()
        self.listening = threading.Event()  # set while this process hears every forget

    def channel(self) -> str:
        return f"{settings.CACHE_KEY_PREFIX}:{self.name}"

    def get(self, key: str) -> V | None:
        self._listen()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > time.monotonic():
            return kept[2]
        return None

    def put(self, key: str, value: V, *, tag: str) -> None:
        ttl = self._ttl()
        if ttl <= 0:
            return
        if len(self._kept) >= self.MAX_ENTRIES:
            self._kept.clear()
        self._kept[key] = (time.monotonic() + ttl, tag, value)

    def forget(self, tag: str) -> None:
        """Drop `tag`'s entries in this process and, through Redis, in every other."""
        self.drop(tag)
        try:
            # A request may be waiting on this: Redis down costs it these timeouts at most.
            client = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
                socket_connect_timeout=settings.REDIS_SOCKET_CONNECT_TIMEOUT,
            )
            client.publish(self.channel(), tag)
        except redis.RedisError as exc:
            logger.warning("could not announce a change of %s (%s); it expires", self.name, exc)

    def drop(self, tag: str) -> None:
        for key in [key for key, kept in list(self._kept.items()) if kept[1] == tag]:
            self._kept.pop(key, None)

    def clear(self) -> None:
        self._kept.clear()

    def _listen(self) -> None:
        """Start this process's listener once (after a fork, again: threads don't survive)."""
        if self._listening_pid == os.getpid():
            return
        with self._lock:
            if self._listening_pid != os.getpid():
                self._listening_pid = os.getpid()
                threading.Thread(
                    target=self._follow, name=f"{self.name}-listener", daemon=True
                ).start()

    def _follow(self) -> None:
        while True:
            try:
                client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    health_check_interval=30,
                    socket_connect_timeout=settings.REDIS_SOCKET_CONNECT_TIMEOUT,
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel())
                self.clear()  # whatever changed while we were not subscribed
                self.listening.set()
                for message in pubsub.listen():
                    self.drop(message["data"].decode())
            except redis.RedisError as exc:
                self.listening.clear()
                logger.warning("%s listener lost Redis (%s); retrying", self.name, exc)
                time.sleep(1)  # entries expire meanwhile; don't spin on a dead server
