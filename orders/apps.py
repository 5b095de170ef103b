"""The orders app; registers for the events it consumes (accepted orders, price changes)."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from brokerage.events.routing import Topic, register
        from orders import tasks

        # Accepted orders execute in batches; a price change re-matches resting orders.
        register(
            Topic.ORDERS,
            "order.accepted",
            tasks.execute_order,
            ("order_id",),
            batch=(tasks.execute_orders, "order_ids"),
        )
        register(Topic.PRICES, "stock.price_changed", tasks.match_resting_orders, ("symbol",))
