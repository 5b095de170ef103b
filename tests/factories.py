from decimal import Decimal

import factory
from factory.django import DjangoModelFactory
from rest_framework.authtoken.models import Token

from orders.models import Order, OrderSide, OrderStatus, OrderType
from stocks.models import Stock
from users.models import Position, User


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = "Test"
    surname = factory.Sequence(lambda n: f"User{n}")
    cash = Decimal("10000.0000")
    password = factory.django.Password("password123")

    @factory.post_generation
    def token(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            Token.objects.create(user=self)


class StockFactory(DjangoModelFactory[Stock]):
    class Meta:
        model = Stock
        django_get_or_create = ("symbol",)

    symbol = factory.Sequence(lambda n: f"S{n:04d}")
    name = factory.LazyAttribute(lambda o: f"{o.symbol} Corp")
    price = Decimal("100.0000")
    first_price = factory.SelfAttribute("price")
    amount = Decimal("1000.000000")


class PositionFactory(DjangoModelFactory[Position]):
    class Meta:
        model = Position

    user = factory.SubFactory(UserFactory)
    stock = factory.SubFactory(StockFactory)
    quantity = Decimal("10")
    average_cost = factory.LazyAttribute(lambda o: o.stock.price)


class OrderFactory(DjangoModelFactory[Order]):
    """A bare order row (no reservation): for read-side tests, not for the engine."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    stock = factory.SubFactory(StockFactory)
    side = OrderSide.BUY
    type = OrderType.MARKET
    quantity = Decimal("1")
    status = OrderStatus.FILLED
