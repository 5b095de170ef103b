"""Tracing through the real WSGI entry point, as granian loads it: a fresh process that
imports `brokerage.wsgi` and calls its `application` with a WSGI environ (the test
client builds its own handler later, so it would hide a chain built before tracing)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"

SCRIPT = f"""
import json
from wsgiref.util import setup_testing_defaults

from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from brokerage.wsgi import application

exporter = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
environ = {{
    "PATH_INFO": "/api/health",
    "HTTP_HOST": "127.0.0.1",
    "HTTP_TRACEPARENT": "00-{TRACE_ID}-00f067aa0ba902b7-01",
}}
setup_testing_defaults(environ)
answer = []
body = b"".join(application(environ, lambda status, headers: answer.append(status)))
spans = [
    {{"name": s.name, "kind": s.kind.name, "trace_id": format(s.context.trace_id, "032x")}}
    for s in exporter.get_finished_spans()
]
print(json.dumps({{"status": answer[0], "spans": spans}}))
"""


def test_a_request_through_the_wsgi_entry_point_gets_a_server_span_in_the_callers_trace():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "brokerage.settings.local",
        "OTEL_SDK_DISABLED": "false",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    }
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])

    assert result["status"].startswith("200")
    server = [span for span in result["spans"] if span["kind"] == "SERVER"]
    assert len(server) == 1, result["spans"]
    assert server[0]["trace_id"] == TRACE_ID  # the caller's traceparent was continued


def test_beat_sends_each_task_from_an_empty_trace_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failed send the Celery instrumentation leaves its publish span current;
    beat's scheduler must not send the next task inside it."""
    from celery import beat
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from brokerage.celery import BeatScheduler, app

    contexts: list[trace.SpanContext] = []
    monkeypatch.setattr(
        beat.Scheduler,
        "apply_async",
        lambda self, *args, **kwargs: contexts.append(trace.get_current_span().get_span_context()),
    )
    scheduler = BeatScheduler(app, schedule_filename=str(tmp_path / "schedule"), lazy=True)
    with TracerProvider().get_tracer(__name__).start_as_current_span("left current") as leaked:
        scheduler.apply_async(object())
        assert trace.get_current_span() is leaked  # and the caller's context is back
    assert len(contexts) == 1
    assert not contexts[0].is_valid  # sent from an empty context
