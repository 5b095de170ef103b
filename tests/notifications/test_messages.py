"""What a customer is sent, and where: orders placed through the API (events routed
in-process, Celery eager) notify once per outcome, escaped for Telegram's HTML."""

import html
import re
import uuid
from decimal import Decimal

import pytest

from notifications.models import Notification, NotificationStatus
from notifications.services import (
    OrderOutcome,
    render_order_message,
)
from notifications.tasks import send_notification
from orders.models import OrderSide, OrderStatus, OrderType
from tests.fake_telegram import (
    check_telegram_html,
)
from tests.notifications.helpers import counted, make_notification

pytestmark = pytest.mark.django_db


# --- what gets sent -------------------------------------------------------------------


def test_a_fill_sends_exactly_one_message_with_the_order_in_it(telegram, place, customer):
    sent_before = counted("sent")

    order = place(quantity="3")

    assert order["status"] == "filled"
    assert telegram.sent() == [
        {
            "chat_id": "4242",
            "parse_mode": "HTML",
            "text": (
                "<b>Order filled</b>\n"
                "Buy 3 ACME at market\n"
                "Filled 3 of 3 at 50 USD\n"
                "Status: filled\n"
                f"Order <code>{order['id']}</code>"
            ),
        }
    ]
    notification = Notification.objects.get(order_id=order["id"])
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1
    assert notification.sent_at is not None
    assert notification.last_error == ""
    assert notification.claimed_until is None
    assert counted("sent") == sent_before + 1


def test_acceptance_and_resting_as_open_send_nothing_and_a_cancel_sends_one(
    telegram, place, client_for, customer, django_capture_on_commit_callbacks
):

    order = place(type="limit", limit_price="45", quantity="2")

    assert order["status"] == "open"
    assert telegram.sent() == []
    assert not Notification.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        resp = client_for(customer).post(f"/api/v1/orders/{order['id']}/cancel")
    assert resp.status_code == 200

    assert telegram.sent() == [
        {
            "chat_id": "4242",
            "parse_mode": "HTML",
            "text": (
                "<b>Order cancelled</b>\n"
                "Buy 2 ACME limit 45 USD\n"
                "Status: cancelled\n"
                f"Order <code>{order['id']}</code>"
            ),
        }
    ]
    assert Notification.objects.get().status == NotificationStatus.SENT


def test_an_unmarketable_fok_is_cancelled_and_the_message_says_why(telegram, place):

    order = place(type="limit", limit_price="45", time_in_force="fok")

    assert (order["status"], order["error_code"]) == ("cancelled", 2019)
    assert [m["text"] for m in telegram.sent()] == [
        "<b>Order cancelled</b>\n"
        "Buy 3 ACME limit 45 USD\n"
        "Reason: the limit price was not reachable at once (code 2019)\n"
        "Status: cancelled\n"
        f"Order <code>{order['id']}</code>"
    ]


def test_user_controlled_and_html_special_text_is_escaped_for_telegram():
    outcome = OrderOutcome(
        event_id=uuid.uuid4(),
        order_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        symbol="A<B>&C",
        currency='"&<',
        side=OrderSide.SELL,
        type=OrderType.LIMIT,
        quantity=Decimal("2.500000"),
        limit_price=Decimal("1E+1"),
        filled_quantity=Decimal("1"),
        average_fill_price=Decimal("10.5000"),
        status=OrderStatus.PARTIALLY_FILLED,
        error_code=None,
    )

    text = render_order_message(outcome)

    assert check_telegram_html(text) is None
    assert "Sell 2.5 A&lt;B&gt;&amp;C limit 10 &quot;&amp;&lt;" in text
    assert "Filled 1 of 2.5 at 10.5 &quot;&amp;&lt;" in text
    assert text.startswith("<b>Order partially filled</b>\n")
    assert html.unescape(re.sub(r"</?(b|code)>", "", text)).count("A<B>&C") == 1


def test_the_fake_rejects_what_telegram_would_not_parse():
    assert check_telegram_html("<b>ok</b> &amp; 1 &lt; 2") is None
    assert check_telegram_html("1 < 2") is not None
    assert check_telegram_html("A&B") is not None
    assert check_telegram_html("<script>x</script>") is not None


# --- chats ----------------------------------------------------------------------------


def test_no_chat_at_all_is_skipped_without_a_request(telegram, customer):
    customer.telegram_chat_id = ""
    customer.save()
    notification = make_notification(customer)

    send_notification.delay(str(notification.pk))

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SKIPPED
    assert "has not linked one" in notification.last_error
    assert telegram.sent() == []


def test_no_token_is_skipped_with_the_reason_and_no_request(telegram, settings, place):
    settings.TELEGRAM_BOT_TOKEN = ""
    skipped_before = counted("skipped")

    order = place(quantity="1")

    notification = Notification.objects.get(order_id=order["id"])
    assert notification.status == NotificationStatus.SKIPPED
    assert notification.last_error == "TELEGRAM_BOT_TOKEN is not set"
    assert notification.attempts == 0
    assert telegram.server.log == []
    assert counted("skipped") == skipped_before + 1
