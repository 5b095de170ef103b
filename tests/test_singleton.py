"""The deployment-wide lock that keeps to one beat, on the real Redis."""

import os
import sys
import threading
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from brokerage.singleton import SingletonLock
from tests.helpers import Proc, database_url, wait_until


@pytest.fixture
def name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def lock(name: str, ttl: float = 30) -> SingletonLock:
    return SingletonLock(name, url=settings.REDIS_URL, ttl=ttl)


def test_one_holder_at_a_time(name: str) -> None:
    first, second = lock(name), lock(name)
    assert first.try_acquire()
    assert not second.try_acquire()
    assert second.holder() == first.token
    assert first.renew()
    assert not second.renew()  # renewing is for the holder only
    assert second.holder() == first.token


def test_a_standby_takes_over_when_the_holder_stops_renewing(name: str) -> None:
    dead = lock(name, ttl=1)  # acquires, then never renews: a killed process
    assert dead.try_acquire()
    standby = lock(name, ttl=1)
    lost = threading.Event()
    waiting = threading.Thread(target=standby.hold, kwargs={"on_lost": lost.set}, daemon=True)
    waiting.start()
    waiting.join(timeout=10)
    assert not waiting.is_alive(), "the standby never took the expired lock"
    assert standby.holder() == standby.token

    # It keeps it by renewing: the time left runs down, then is back up...
    def left() -> int:
        return int(standby.client.pttl(standby.key))

    wait_until(lambda: 0 < left() < 800, timeout=5, what="the time to live running down")
    wait_until(lambda: left() > 800, timeout=5, what="a renewal")
    assert standby.holder() == standby.token
    assert not dead.renew()  # ...and the old holder, back, cannot extend it
    standby.release()
    assert not lost.is_set()  # released on purpose: not a loss


def test_a_released_lock_is_free_at_once_and_only_its_holder_releases_it(name: str) -> None:
    holder, other = lock(name), lock(name)
    assert holder.try_acquire()
    other.release()  # not its lock: nothing happens
    assert holder.holder() == holder.token
    holder.release()
    assert other.try_acquire()


def test_a_holder_that_loses_its_lock_is_told(name: str) -> None:
    holder = lock(name, ttl=1)
    lost = threading.Event()
    holder.hold(on_lost=lost.set)
    holder.client.set(holder.key, "someone-else", px=5000)  # expired while cut off, then taken
    assert lost.wait(timeout=10), "the lost lock went unnoticed"
    holder.release()  # not ours any more: left alone
    assert holder.holder() == "someone-else"


def test_a_holder_cut_off_from_redis_gives_up_before_its_lock_can_expire(name: str) -> None:
    holder, observer = lock(name, ttl=1), lock(name)
    lost = threading.Event()
    holder.hold(on_lost=lost.set)
    # Its renewals fail from now on (nothing listens there); the key is intact.
    holder.client = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    assert lost.wait(timeout=10), "the holder never gave up"
    # A standby could not have taken it yet: the holder stopped first.
    assert observer.holder() == holder.token
    holder.release()  # cannot reach Redis: says so, and the key expires
    observer.client.delete(observer.key)


def test_a_lock_needs_a_time_to_live_of_a_second_or_more() -> None:
    with pytest.raises(ValueError):
        lock("any", ttl=0.5)


def test_a_second_beat_stands_by_and_takes_over_when_the_first_dies(tmp_path: Path) -> None:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"  # no worker runs what these beats send
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "CELERY_KEY_PREFIX": prefix,
        "LOG_FORMAT": "console",
    }
    started: list[Proc] = []

    def beat(name: str, ttl: float) -> Proc:
        schedule = str(tmp_path / f"{name}-schedule")
        argv = [sys.executable, "-m", "celery", "-A", "brokerage", "beat", "-s", schedule]
        started.append(Proc(name, argv, {**env, "SINGLETON_LOCK_TTL_SECONDS": str(ttl)}))
        return started[-1]

    taken = lock(f"{prefix}beat")
    try:
        first = beat("beat-1", ttl=1)
        first.wait_for_line("took brokerage:singleton")
        second = beat("beat-2", ttl=1)
        second.wait_for_line("standing by")
        first.kill()  # SIGKILL: its lock is left to expire
        second.wait_for_line("took brokerage:singleton")
        standing = second.lines[: next(i for i, ln in enumerate(second.lines) if "took " in ln)]
        assert not [line for line in standing if "Sending due task" in line]  # sent nothing
        # If it finds its lock taken (it was cut off while another took over): it exits.
        taken.client.set(taken.key, "someone-else", px=60_000)
        assert second.popen.wait(timeout=15) == 1
        second.wait_for_line("beat lock lost")
        taken.client.delete(taken.key)

        # A lock it cannot take (here: a time to live too short) stops it: never unlocked.
        broken = beat("beat-broken", ttl=0.5)
        assert broken.popen.wait(timeout=30) == 1
        broken.wait_for_line("beat could not take its lock")

        # Stopped cleanly, a beat gives the lock up: the next one takes it long before
        # the lock could have expired (it was renewed within the last 20 s of 60).
        third = beat("beat-3", ttl=60)
        third.wait_for_line("took brokerage:singleton")
        fourth = beat("beat-4", ttl=60)
        fourth.wait_for_line("standing by")
        assert third.stop() == 0  # SIGTERM: a clean stop, not a lost lock
        assert not [line for line in third.lines if "lock lost" in line]
        fourth.wait_for_line("took brokerage:singleton", timeout=20)
    finally:
        for proc in started:
            if proc.popen.poll() is None:
                proc.kill()
        for key in taken.client.scan_iter(f"{prefix}*"):
            taken.client.delete(key)
        taken.client.delete(taken.key)
