"""Tracing and process metrics, set up once per process.

Tracing: an SDK tracer provider is always installed (unless OTEL_SDK_DISABLED), so
requests and tasks have real span contexts and the W3C `traceparent` travels through
the outbox, Kafka headers and Celery headers; spans are exported only when
OTEL_EXPORTER_OTLP_ENDPOINT is set. Called at process start, before anything it
instruments is used: web (wsgi.py/asgi.py), bridge, workers and beat.

Metrics: web processes serve /metrics through django-prometheus; the bridge and the
worker serve theirs on METRICS_PORT.
"""

import logging
import os
from typing import Any

from django.conf import settings
from opentelemetry import trace

from brokerage.redaction import redact

logger = logging.getLogger(__name__)
_configured = False


def setup_tracing(service_name: str) -> None:
    global _configured
    if _configured or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return
    _configured = True
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # The maintained instrumentations: requests (Django), tasks sent and run (Celery:
    # the bridge's hand-over continues in the worker), the Telegram calls (httpx), the
    # cache and broker calls (Redis), SQL (psycopg). Kafka carries the context by hand
    # (brokerage.events): the outbox row holds it between the request and the producer,
    # and the bridge consumes in batches, which the Kafka instrumentation would only link.
    DjangoInstrumentor().instrument()
    # Its middleware goes first and reads the Host header, which Prometheus's scrape of a
    # replica by its container address would fail: the scrape is answered before it.
    scrape = "brokerage.views.MetricsScrapeMiddleware"
    settings.MIDDLEWARE = [scrape, *(name for name in settings.MIDDLEWARE if name != scrape)]
    HTTPXClientInstrumentor().instrument(
        request_hook=_redact_url, async_request_hook=_redact_url_async
    )
    RedisInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        # A span per statement costs on every query: taken only where spans are exported.
        PsycopgInstrumentor().instrument()


def _redact_url(span: Any, request: Any) -> None:
    """A Bot API URL holds the bot token: the span records it redacted."""
    if span.is_recording():
        url = redact(str(request.url))
        for name in ("http.url", "url.full"):
            span.set_attribute(name, url)


async def _redact_url_async(span: Any, request: Any) -> None:
    _redact_url(span, request)  # python-telegram-bot's client is httpx's AsyncClient


def serve_metrics() -> None:
    """Serve Prometheus metrics on METRICS_PORT (bridge and worker; web has /metrics)."""
    if not settings.METRICS_PORT:
        return
    from prometheus_client import CollectorRegistry, start_http_server

    registry = None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # prefork children write, we aggregate
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    if registry is not None:
        start_http_server(settings.METRICS_PORT, registry=registry)
    else:
        start_http_server(settings.METRICS_PORT)
    logger.info("metrics on :%s/metrics", settings.METRICS_PORT)
