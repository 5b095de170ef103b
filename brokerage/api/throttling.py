"""Throttles on the Redis cache: per client IP (sign-up, logins, anonymous reads) whether
or not a token is sent, and per account (order submission, cancel).

The client IP is REMOTE_ADDR unless NUM_PROXIES trusted proxies are in front, whose
X-Forwarded-For entries then name it (DRF's rule): a client cannot pick its own IP.
Rates are read from settings at each request (`THROTTLE_RATES`, "none" disables one).
Should the cache fail (Redis down or slow), a throttle lets the request through: counted
in brokerage_throttle_fail_open_total, logged at most once a minute per process.
"""

import logging
import math
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from brokerage import metrics
from brokerage.api.errors import ErrorCode, error_body
from brokerage.shared.cache import CACHE_ERRORS, strict_cache

logger = logging.getLogger(__name__)

FAIL_OPEN_LOG_INTERVAL = 60.0  # seconds between warnings while the cache is down
_warned_at: float | None = None


def _fail_open(scope: str, exc: Exception) -> bool:
    """Availability over rate limits: a request is never refused because Redis is."""
    global _warned_at
    metrics.THROTTLE_FAIL_OPEN.labels(scope=scope).inc()
    now = time.monotonic()
    if _warned_at is None or now - _warned_at >= FAIL_OPEN_LOG_INTERVAL:
        _warned_at = now
        logger.warning(
            "throttle cache unavailable (%s); requests are not throttled", type(exc).__name__
        )
    return True


class _LiveRateThrottle(SimpleRateThrottle):
    scope: str

    def __init__(self) -> None:  # the rate is looked up per request, not at import
        pass

    def allow_request(self, request: Request, view: Any) -> bool:
        self.rate = settings.THROTTLE_RATES.get(self.scope)
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.cache = strict_cache()
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            return _fail_open(self.scope, exc)


class ClientIPThrottle(_LiveRateThrottle):
    """Counts requests per client IP, authenticated or not."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class AnonymousIPThrottle(ClientIPThrottle):
    """Counts anonymous requests per client IP; callers with an account are left to
    the per-account throttles."""

    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return super().get_cache_key(request, view)


class SignupThrottle(ClientIPThrottle):
    scope = "signup"


class LoginThrottle(ClientIPThrottle):
    """Password checks per client IP: each costs a deliberately slow hash."""

    scope = "login"


def login_throttled(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """LoginThrottle on a plain Django login view (the admin's, the browsable API's):
    its form posts count; a refused one is the API's 429."""

    @wraps(view)
    def throttled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        throttle = LoginThrottle()
        if request.method == "POST" and not throttle.allow_request(request, None):  # type: ignore[arg-type]
            wait = math.ceil(throttle.wait() or 1)
            body = error_body(ErrorCode.THROTTLED, f"Too many login attempts; retry in {wait} s.")
            return JsonResponse(body, status=429, headers={"Retry-After": str(wait)})
        return view(request, *args, **kwargs)

    return throttled


class AccountThrottle(_LiveRateThrottle):
    """Counts an account's requests (order submission, replace, cancel)."""

    scope = "orders"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None  # authentication rejects it anyway
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
