import django_filters

from orders.models import Order, OrderSide, OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    side = django_filters.ChoiceFilter(choices=OrderSide.choices)
    symbol = django_filters.CharFilter(field_name="stock__symbol", method="filter_symbol")
    user_id = django_filters.UUIDFilter(field_name="user_id")

    class Meta:
        model = Order
        fields = ("status", "side", "symbol", "user_id")

    def filter_symbol(self, queryset, name, value):  # type: ignore[no-untyped-def]
        return queryset.filter(**{name: value.upper()})
