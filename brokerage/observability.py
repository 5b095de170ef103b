"""Tracing and process metrics, set up once per process.

Tracing: an SDK tracer provider is always installed (unless OTEL_SDK_DISABLED), so
requests and tasks have real span contexts and the W3C `traceparent` travels through
the outbox, Kafka headers and Celery headers; spans are exported only when
OTEL_EXPORTER_OTLP_ENDPOINT is set. Metrics: web processes serve /metrics through
django-prometheus; the bridge and the worker serve theirs on METRICS_PORT.
"""

import logging
import os

from django.conf import settings
from opentelemetry import trace

logger = logging.getLogger(__name__)
_configured = False


def setup_tracing(service_name: str) -> None:
    global _configured
    if _configured or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return
    _configured = True
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()


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
