"""The Django cache for callers that must know when Redis failed.

The cache ignores Redis errors (settings: IGNORE_EXCEPTIONS), so a failure reads as a
miss. A throttle or a readiness probe needs the difference: `strict_cache()` raises it.
"""

from typing import Any

from django.core.cache import caches
from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

# What strict_cache() raises when Redis is unreachable, slow or refuses a command.
CACHE_ERRORS: tuple[type[Exception], ...] = (ConnectionInterrupted, RedisError, OSError)


def strict_cache() -> Any:
    """The default cache without error swallowing: django-redis's client, whose get/set
    take the cache's arguments; any other backend as it is (the suite's local memory)."""
    cache = caches["default"]
    return cache.client if isinstance(cache, RedisCache) else cache
