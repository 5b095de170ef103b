"""Staff work in the Django admin: every page opens, stocks and prices go through the
services (so a price edit matches resting orders like the API does)."""

from decimal import Decimal

import pytest
from django.test import Client

from brokerage.events.models import OutboxEvent
from stocks.models import Stock
from tests.factories import OrderFactory, UserFactory
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True, email="root@example.com"))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/users/user/",
        "/admin/users/user/add/",
        "/admin/stocks/stock/",
        "/admin/stocks/stock/add/",
        "/admin/orders/order/",
        "/admin/notifications/notification/",
        "/admin/brokerage/outboxevent/",
    ],
)
def test_every_admin_page_opens(admin_client, url):
    OrderFactory()
    assert admin_client.get(url).status_code == 200


def test_change_pages_open(admin_client):
    order = OrderFactory()
    assert admin_client.get(f"/admin/users/user/{order.user_id}/change/").status_code == 200
    assert admin_client.get(f"/admin/stocks/stock/{order.stock_id}/change/").status_code == 200
    assert admin_client.get(f"/admin/orders/order/{order.pk}/change/").status_code == 200


def test_staff_add_a_user_with_a_password(admin_client):
    resp = admin_client.post(
        "/admin/users/user/add/",
        {
            "email": "new@example.com",
            "usable_password": "true",
            "password1": "s3cret-pass-1",
            "password2": "s3cret-pass-1",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    created = User.objects.get(email="new@example.com")
    assert created.check_password("s3cret-pass-1")
    assert not created.api_tokens.exists()  # no key anyone could see; cash as a sign-up
    assert created.cash == Decimal("37000")


def test_staff_list_a_stock_and_move_its_price(admin_client, django_capture_on_commit_callbacks):
    resp = admin_client.post(
        "/admin/stocks/stock/add/",
        {"symbol": "ADMN", "name": "Admin Co", "currency": "USD", "price": "10", "amount": "5"},
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    stock = Stock.objects.get(symbol="ADMN")
    assert (stock.price, stock.first_price) == (Decimal("10.0000"), Decimal("10.0000"))

    with django_capture_on_commit_callbacks(execute=True):
        resp = admin_client.post(
            f"/admin/stocks/stock/{stock.pk}/change/",
            {"name": "Admin Co", "currency": "USD", "price": "12"},
        )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    stock.refresh_from_db()
    assert stock.price == Decimal("12.0000")
    assert OutboxEvent.objects.filter(event_type="stock.price_changed", key="ADMN").count() == 1


def test_orders_are_read_only_in_the_admin(admin_client):
    order = OrderFactory()
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert admin_client.get("/admin/orders/order/add/").status_code == 403
