"""The events package's own periodic tasks."""

from celery import shared_task

from brokerage.celery import TRANSIENT_RETRY, CeleryQueue, instrumented


@shared_task(name="brokerage.relay_outbox", queue=CeleryQueue.DEFAULT, **TRANSIENT_RETRY)
@instrumented
def relay_outbox() -> int:
    from brokerage.events import outbox  # outbox -> models: import on use, once Django is ready

    return outbox.relay_outbox()


@shared_task(name="brokerage.purge_outbox", queue=CeleryQueue.DEFAULT, **TRANSIENT_RETRY)
@instrumented
def purge_outbox() -> int:
    from brokerage.events import outbox

    return outbox.purge_outbox()
