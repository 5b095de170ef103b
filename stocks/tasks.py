"""Thin Celery task: the optional random-walk price simulator."""

from celery import shared_task

from brokerage.celery import TRANSIENT_RETRY, CeleryQueue, instrumented
from stocks import services


@shared_task(name="stocks.simulate_market", queue=CeleryQueue.DEFAULT, **TRANSIENT_RETRY)
@instrumented
def simulate_market() -> int:
    return services.simulate_market_step()
