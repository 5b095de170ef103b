import os
from typing import Any

from celery import Celery, signals
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

app = Celery("brokerage")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def _check_connections(sender: Any = None, **kwargs: Any) -> None:
    # What Django does around each request; with CELERY_DB_REUSE_MAX set, Celery leaves
    # connections open between tasks and this drops the broken or expired ones.
    if not getattr(sender.request, "is_eager", False):
        close_old_connections()


@signals.worker_init.connect
def _observe_worker(**kwargs: Any) -> None:
    # In the main process; the SDK's span processor re-inits itself in forked children.
    from brokerage.observability import serve_metrics, setup_tracing

    setup_tracing("brokerage-worker")
    serve_metrics()
