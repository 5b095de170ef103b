"""Project-level endpoints: liveness, readiness and Prometheus metrics."""

import hmac
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from django.conf import settings
from django.db import connection, connections
from django.http import Http404, HttpRequest, HttpResponse
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from brokerage.celery import app as celery_app
from brokerage.events.producer import check_kafka
from brokerage.shared.cache import strict_cache

logger = logging.getLogger(__name__)

HealthSerializer = inline_serializer("Health", {"status": serializers.CharField()})


@extend_schema(responses=HealthSerializer)
@api_view(["GET"])
@permission_classes([AllowAny])
@throttle_classes([])
def health(request: Request) -> Response:
    """Liveness: the process answers."""
    return Response({"status": "ok"})


PROBE_TIMEOUT_SECONDS = 2  # a readiness check waits no longer for all its dependencies


def _check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connections.close_all()  # the probe's own thread: its connection would linger


def _check_cache() -> None:
    cache = strict_cache()  # the cache proper would report a dead Redis as a miss
    cache.set("readiness-probe", "1", timeout=5)
    if cache.get("readiness-probe") != "1":
        raise RuntimeError("cache did not return what was written")


def _check_kafka() -> None:
    check_kafka(timeout=PROBE_TIMEOUT_SECONDS)


def _check_celery_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)


READINESS_CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "cache": _check_cache,
    "kafka": _check_kafka,
    "celery_broker": _check_celery_broker,
}


ReadinessSerializer = inline_serializer(
    "Readiness", {"status": serializers.CharField(), "checks": serializers.DictField()}
)


def _state(name: str, future: Future[None]) -> str:
    """ "ok", "timeout" or "down": never the exception's text, which may name hosts."""
    if not future.done():
        return "timeout"
    exc = future.exception()
    if exc is None:
        return "ok"
    logger.warning("readiness: %s is down (%s: %s)", name, type(exc).__name__, exc)
    cause: BaseException | None = exc
    while cause is not None:  # redis and Django wrap the client's timeout in their own
        if isinstance(cause, TimeoutError) or "Timeout" in type(cause).__name__:
            return "timeout"
        cause = cause.__cause__
    return "down"


@extend_schema(responses={200: ReadinessSerializer, 503: ReadinessSerializer})
@api_view(["GET"])
@permission_classes([AllowAny])
@throttle_classes([])
def ready(request: Request) -> Response:
    """Readiness: every dependency answers within PROBE_TIMEOUT_SECONDS; each one's
    state is "ok", "down" or "timeout", and any but "ok" makes it a 503."""
    pool = ThreadPoolExecutor(max_workers=len(READINESS_CHECKS), thread_name_prefix="ready")
    futures = {name: pool.submit(check) for name, check in READINESS_CHECKS.items()}
    # Side by side, one deadline; a check still hanging ends on its client's own timeout.
    wait(futures.values(), timeout=PROBE_TIMEOUT_SECONDS)
    pool.shutdown(wait=False)
    checks = {name: _state(name, future) for name, future in futures.items()}
    ok = all(result == "ok" for result in checks.values())
    return Response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


def _may_read_metrics(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return bool(settings.METRICS_OPEN_WITHOUT_TOKEN)
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    # Constant time: a byte-by-byte compare would let response times spell out the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.encode()
    )


def metrics(request: HttpRequest) -> HttpResponse:
    """django-prometheus's exposition, for Prometheus only: it holds every endpoint's
    traffic and error counts. Anyone else gets the 404 of a URL that doesn't exist."""
    if not _may_read_metrics(request):
        raise Http404
    response: HttpResponse = ExportToDjangoView(request)
    return response


class MetricsScrapeMiddleware:
    """Prometheus's scrape of /metrics, answered before Django checks the Host header:
    Prometheus finds each web replica by DNS and asks it by its container address,
    which ALLOWED_HOSTS does not (and should not) name. Only the token's bearer gets
    here; any other /metrics request goes the normal way (and gets its 404)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/metrics" and request.method == "GET" and _may_read_metrics(request):
            response: HttpResponse = ExportToDjangoView(request)
            return response
        return self.get_response(request)
