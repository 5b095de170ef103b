from decimal import Decimal

from orders.models import Order, OrderStatus


def test_market_buy_fills_and_moves_cash(
    client_for, user, acme, django_capture_on_commit_callbacks
):
    api = client_for(user)
    with django_capture_on_commit_callbacks(execute=True):
        resp = api.post(
            "/api/v1/orders", {"symbol": "ACME", "side": "buy", "quantity": "2"}, format="json"
        )
    assert resp.status_code == 202, resp.json()
    assert resp["Location"].endswith(f"/api/v1/orders/{resp.json()['id']}")
    order = Order.objects.get()
    assert order.status == OrderStatus.FILLED
    user.refresh_from_db()
    assert user.cash == Decimal("10000") - Decimal("100")
    assert user.cash_reserved == 0
