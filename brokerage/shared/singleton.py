"""One holder at a time across the whole deployment: a Redis key with a time to live,
renewed by its holder while it lives.

Beat takes it before it schedules anything, so a second beat (a scaled service, a stray
`celery beat`) stands by instead of running every schedule twice, and takes over within
the time to live when the first one dies.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

import redis

logger = logging.getLogger(__name__)

# Extend the key's life only while it still holds our token: a holder that lost it
# (expired while it was cut off) must not extend a successor's.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class SingletonLock:
    def __init__(self, name: str, *, url: str, ttl: float, socket_timeout: float = 1.0) -> None:
        self.key = f"brokerage:singleton:{name}"
        self.ttl_ms = max(1, int(ttl * 1000))
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.client = redis.Redis.from_url(
            url, socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout
        )

    def try_acquire(self) -> bool:
        return bool(self.client.set(self.key, self.token, nx=True, px=self.ttl_ms))

    def renew(self) -> bool:
        """Whether we still hold it (and for another time to live)."""
        return bool(self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms))

    def release(self) -> None:
        """Give it up (if still ours), so a standby need not wait out the time to live."""
        try:
            self.client.eval(_RELEASE, 1, self.key, self.token)
        except redis.RedisError as exc:
            logger.warning("could not release %s (%s); it expires", self.key, exc)

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else None

    def hold(self, *, on_lost: Callable[[], None]) -> None:
        """Block until the lock is ours, then keep it in a daemon thread; `on_lost` runs
        there if it is lost (renewal refused, or Redis unreachable for a time to live)."""
        renew_every = self.ttl_ms / 3000
        poll = min(renew_every, 1.0)  # a released lock is taken within a second
        announced = False
        while True:
            try:
                if self.try_acquire():
                    break
                if not announced:
                    logger.info("%s belongs to %s; standing by", self.key, self.holder())
                    announced = True
            except redis.RedisError as exc:
                logger.warning("cannot reach Redis for %s (%s); retrying", self.key, exc)
            time.sleep(poll)  # waiting for another process's key to expire: nothing to wake us
        logger.info("took %s as %s", self.key, self.token)
        threading.Thread(
            target=self._keep, args=(on_lost, renew_every), name=f"{self.key}-renewal", daemon=True
        ).start()

    def _keep(self, on_lost: Callable[[], None], every: float) -> None:
        renewed = time.monotonic()
        while True:
            time.sleep(every)
            try:
                if not self.renew():
                    logger.error("%s was taken by %s", self.key, self.holder())
                    break
                renewed = time.monotonic()
            except redis.RedisError as exc:
                if time.monotonic() - renewed >= self.ttl_ms / 1000:
                    logger.error("%s may have expired: Redis unreachable (%s)", self.key, exc)
                    break
        on_lost()
