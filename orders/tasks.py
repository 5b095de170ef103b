"""Thin Celery wrappers: ids in, services do the work; any task may run twice."""

import logging
from uuid import UUID

from celery import shared_task

from brokerage.celery import TRANSIENT_RETRY, CeleryQueue, instrumented
from orders import execution, reconciliation, services

logger = logging.getLogger(__name__)


@shared_task(name="orders.execute_order", queue=CeleryQueue.ORDERS, **TRANSIENT_RETRY)
@instrumented
def execute_order(order_id: str) -> None:
    execution.execute_order(order_id=UUID(order_id))


@shared_task(name="orders.execute_orders", queue=CeleryQueue.ORDERS, **TRANSIENT_RETRY)
@instrumented
def execute_orders(order_ids: list[str]) -> int:
    return execution.execute_orders_isolated(order_ids=[UUID(order_id) for order_id in order_ids])


@shared_task(name="orders.match_resting_orders", queue=CeleryQueue.ORDERS, **TRANSIENT_RETRY)
@instrumented
def match_resting_orders(symbol: str) -> int:
    return execution.match_resting_orders(symbol=symbol)


@shared_task(name="orders.expire_day_orders", queue=CeleryQueue.DEFAULT, **TRANSIENT_RETRY)
@instrumented
def expire_day_orders() -> int:
    return services.expire_day_orders()


@shared_task(name="orders.redispatch_stuck_orders", queue=CeleryQueue.DEFAULT, **TRANSIENT_RETRY)
@instrumented
def redispatch_stuck_orders() -> int:
    return services.redispatch_stuck_orders()


@shared_task(name="orders.reconcile", queue=CeleryQueue.DEFAULT)
@instrumented
def reconcile() -> int:
    """Beat's hourly proof; the count is brokerage_reconcile_differences, each one logged."""
    differences = reconciliation.reconcile()
    for difference in differences:
        logger.error("reconcile: %s", difference)
    return len(differences)


@shared_task(name="orders.rematch_resting_orders", queue=CeleryQueue.DEFAULT, **TRANSIENT_RETRY)
@instrumented
def rematch_resting_orders() -> int:
    return services.rematch_resting_orders()
