import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

app = Celery("brokerage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _observe_worker(**kwargs: Any) -> None:
    # In the main process; the SDK's span processor re-inits itself in forked children.
    from brokerage.observability import serve_metrics, setup_tracing

    setup_tracing("brokerage-worker")
    serve_metrics()
