from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from brokerage.ledger.models import EntryKind, LedgerEntry
from orders.models import Order, OrderSide, OrderStatus, OrderType
from stocks.models import Stock
from users.models import Position, User


def opening(*, amount: Decimal, user_id: object = None, stock_id: object = None) -> None:
    """An `opening` journal entry: rows made by a factory appear, to reconcile, as
    balances that existed before the journal."""
    LedgerEntry.objects.create(
        user_id=user_id,
        stock_id=stock_id,
        kind=EntryKind.OPENING,
        amount=amount,
        balance_after=amount,
    )


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
    def opening(self, create: bool, extracted: object, **kwargs: object) -> None:
        """The journal entry that proves the cash (reconcile agrees with factory rows)."""
        if create and self.cash:
            opening(user_id=self.pk, amount=self.cash)


class StockFactory(DjangoModelFactory[Stock]):
    class Meta:
        model = Stock
        django_get_or_create = ("symbol",)
        skip_postgeneration_save = True

    symbol = factory.Sequence(lambda n: f"S{n:04d}")
    name = factory.LazyAttribute(lambda o: f"{o.symbol} Corp")
    price = Decimal("100.0000")
    first_price = factory.SelfAttribute("price")
    amount = Decimal("1000.000000")

    @factory.post_generation
    def opening(self, create: bool, extracted: object, **kwargs: object) -> None:
        house = LedgerEntry.objects.filter(stock_id=self.pk, user=None)
        if create and self.amount and not house.exists():  # get_or_create: once a stock
            opening(stock_id=self.pk, amount=self.amount)


class PositionFactory(DjangoModelFactory[Position]):
    class Meta:
        model = Position
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    stock = factory.SubFactory(StockFactory)
    quantity = Decimal("10")
    average_cost = factory.LazyAttribute(lambda o: o.stock.price)

    @factory.post_generation
    def opening(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and self.quantity:
            opening(user_id=self.user_id, stock_id=self.stock_id, amount=self.quantity)


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
