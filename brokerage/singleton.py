"""One holder at a time across the whole deployment: a Redis key with a time to live,
renewed by its holder while it lives.

Beat takes one before it schedules anything, so a second beat (a scaled service, a stray
`celery beat`) stands by instead of running every schedule twice, and takes over within
the time to live when the first one dies (at once when it was stopped); the Telegram bot
takes one per bot token (Telegram answers a second poller with Conflict).

The holder counts its lease from when it asked for it, not from the answer, and gives up
a margin before the lease can have expired on the server if no renewal got through: it
stops before a standby can start. Each Redis call is tried once, within a socket timeout.
"""

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

import redis
from opentelemetry.instrumentation.utils import suppress_instrumentation
from redis.backoff import NoBackoff
from redis.retry import Retry

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
MIN_TTL_SECONDS = 1.0


class SingletonLock:
    def __init__(self, name: str, *, url: str, ttl: float) -> None:
        if ttl < MIN_TTL_SECONDS:
            raise ValueError(f"a lock's time to live must be at least {MIN_TTL_SECONDS} s")
        self.key = f"brokerage:singleton:{name}"
        self.ttl = ttl
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # A call either answers within the timeout or counts as failed: no retries that
        # would outlast the lease.
        self.timeout = ttl / 5
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=self.timeout,
            socket_connect_timeout=self.timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self._stopped = threading.Event()

    def try_acquire(self) -> bool:
        with suppress_instrumentation():  # not a trace of its own every second
            if self.client.set(self.key, self.token, nx=True, px=int(self.ttl * 1000)):
                return True
            return self.holder() == self.token  # ours, its first answer lost on the way

    def renew(self) -> bool:
        """Whether we still hold it (and for another time to live)."""
        with suppress_instrumentation():
            return bool(self.client.eval(_RENEW, 1, self.key, self.token, int(self.ttl * 1000)))

    def release(self) -> None:
        """Stop renewing and give it up (if still ours): a standby need not wait out the
        time to live."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        try:
            with suppress_instrumentation():
                self.client.eval(_RELEASE, 1, self.key, self.token)
        except redis.RedisError as exc:
            logger.warning("could not release %s (%s); it expires", self.key, exc)

    def holder(self) -> str | None:
        with suppress_instrumentation():
            value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else None

    def hold(self, *, on_lost: Callable[[], None]) -> None:
        """Block until the lock is ours, then keep it in a daemon thread; `on_lost` runs
        there if it is lost (renewal refused, or none got through in time), and the lock
        is released at exit."""
        announced = False
        unreachable_since = None
        while True:
            asked = time.monotonic()
            try:
                if self.try_acquire():
                    break
                if not announced:
                    logger.info("%s belongs to %s; standing by", self.key, self.holder())
                    announced = True
            except redis.RedisError as exc:
                if unreachable_since is None or time.monotonic() - unreachable_since > 60:
                    logger.warning("cannot reach Redis for %s (%s); retrying", self.key, exc)
                    unreachable_since = time.monotonic()
            # Another process's key has to expire or be released: nothing to wake us.
            time.sleep(min(self.ttl / 3, 1.0))
        atexit.register(self.release)
        logger.info("took %s as %s", self.key, self.token)
        threading.Thread(
            target=self._keep, args=(on_lost, asked), name=f"{self.key}-renewal", daemon=True
        ).start()

    def _keep(self, on_lost: Callable[[], None], asked: float) -> None:
        valid_until = asked + self.ttl
        margin = self.timeout  # a renewal in flight when we give up cannot outlast it
        try:
            while True:
                wait = min(self.ttl / 3, valid_until - margin - time.monotonic())
                if self._stopped.wait(max(0.0, wait)):
                    return  # released: not a loss
                if time.monotonic() >= valid_until - margin:
                    logger.error("%s may have expired: no renewal got through", self.key)
                    break
                asked = time.monotonic()
                try:
                    if not self.renew():
                        logger.error("%s was taken by %s", self.key, self.holder())
                        break
                    valid_until = asked + self.ttl
                except redis.RedisError as exc:
                    logger.warning("could not renew %s (%s)", self.key, exc)
        finally:  # whatever ended the loop (a bug included), the holder must know
            if not self._stopped.is_set():
                on_lost()


def hold_for_life(name: str, *, url: str, ttl: float, what: str) -> None:
    """Block until `name` is ours and keep it while the process lives. The process exits
    if the lock is lost or cannot be taken at all: another may be doing its work."""
    try:
        SingletonLock(name, url=url, ttl=ttl).hold(on_lost=lambda: _exit(f"{what} lock lost"))
    except Exception:  # a bad URL or setting: never go on unlocked
        logger.exception("%s could not take its lock", what)
        _exit(f"{what} could not take its lock")


def _exit(reason: str) -> None:
    # At once, from whatever thread: the supervisor starts the process again and it
    # stands by. logging.shutdown() first, so the reason is written.
    logger.critical("%s; exiting so that one holder works", reason)
    logging.shutdown()
    os._exit(1)
