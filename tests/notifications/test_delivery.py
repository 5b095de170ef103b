"""Delivery to Telegram: retries, failures, at-most-once claims, and the bridge's batch path
(record each outcome event once, send what is pending)."""

import socket
import threading
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Request, Response

from notifications import services
from notifications.models import Notification, NotificationStatus
from notifications.services import (
    NO_CHAT,
    NO_TOKEN,
    DeliveryDeferred,
    OrderOutcome,
    deliver_notification,
    skip_undeliverable,
)
from notifications.tasks import record_order_outcomes, send_notification
from tests.factories import OrderFactory, UserFactory
from tests.fake_telegram import (
    BAD_CHAT,
    TOKEN,
    TOO_MANY,
    always,
)
from tests.notifications.helpers import counted, make_notification, run_like_a_worker

pytestmark = pytest.mark.django_db


# --- retries and failures ---------------------------------------------------------------


def test_429_defers_by_exactly_retry_after_and_records_the_attempt(telegram, customer):
    telegram.answer(429, TOO_MANY)
    notification = make_notification(customer)

    with pytest.raises(DeliveryDeferred) as deferred:
        deliver_notification(notification_id=notification.pk)

    assert deferred.value.countdown == 1.0
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING
    assert notification.attempts == 1
    assert notification.last_error == "RetryAfter: Flood control exceeded. Retry in 1 seconds"
    assert notification.claimed_until is None  # released: the retry may claim it again


def test_429_is_retried_after_the_delay_and_then_sent(telegram, customer):
    telegram.answer(429, TOO_MANY)
    notification = make_notification(customer)

    countdowns = run_like_a_worker(notification)

    assert countdowns == [1.0]  # exactly Telegram's retry_after, not the backoff
    assert len(telegram.sent()) == 2
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 2)


def test_a_bad_chat_is_failed_with_the_reason_and_never_retried(telegram, customer):
    telegram.answer_with(always(400, BAD_CHAT))
    notification = make_notification(customer)
    failed_before = counted("failed")

    countdowns = run_like_a_worker(notification)

    assert countdowns == []
    assert len(telegram.sent()) == 1
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.last_error == "BadRequest: Chat not found"
    assert notification.attempts == 1
    assert counted("failed") == failed_before + 1


def test_a_blocked_bot_is_failed_and_never_retried(telegram, customer):
    forbidden = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}
    telegram.answer_with(always(403, forbidden))
    notification = make_notification(customer)

    send_notification.delay(str(notification.pk))

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.last_error.startswith("Forbidden: ")
    assert len(telegram.sent()) == 1


def drop_connection(request: Request) -> Response:
    """Close the socket without answering, as a crashing proxy would."""
    request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
    return Response("", 500)


def test_a_dropped_connection_is_retried_up_to_the_limit_then_failed(telegram, customer):
    telegram.answer_with(drop_connection)
    notification = make_notification(customer)

    countdowns = run_like_a_worker(notification)

    assert len(telegram.sent()) == 3  # TELEGRAM_MAX_ATTEMPTS
    assert len(countdowns) == 2
    assert all(0 <= c <= 60 for c in countdowns)  # jittered exponential backoff, capped
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.attempts == 3
    assert notification.last_error.startswith("NetworkError: ")
    assert notification.last_error.endswith("(gave up after 3 attempts)")


def test_a_timeout_is_retried_up_to_the_limit_then_failed(telegram, settings, customer):
    release = threading.Event()

    def hang(request: Request) -> Response:  # never answers in time
        release.wait(10)
        return Response("", 500)

    telegram.answer_with(hang)
    settings.TELEGRAM_TIMEOUT_SECONDS = 0.2
    notification = make_notification(customer)

    try:
        countdowns = run_like_a_worker(notification)
    finally:
        release.set()

    assert len(countdowns) == 2
    assert len(telegram.sent()) == 3  # each attempt reached the server, then timed out
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.last_error.startswith("TimedOut: ")


def test_the_same_notification_delivered_twice_sends_one_message(telegram, customer):
    notification = make_notification(customer)

    send_notification.delay(str(notification.pk))
    send_notification.delay(str(notification.pk))  # a duplicated event or task
    deliver_notification(notification_id=notification.pk)

    assert len(telegram.sent()) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)


def test_a_live_claim_defers_a_concurrent_delivery_without_sending(telegram, customer):
    notification = make_notification(customer)
    Notification.objects.filter(pk=notification.pk).update(
        attempts=1, claimed_until=timezone.now() + timedelta(seconds=30)
    )

    with pytest.raises(DeliveryDeferred) as deferred:
        deliver_notification(notification_id=notification.pk)

    assert 30 <= deferred.value.countdown <= 31
    assert telegram.sent() == []


def test_a_claim_that_outlived_its_sender_fails_instead_of_sending_twice(telegram, customer):
    notification = make_notification(customer)
    Notification.objects.filter(pk=notification.pk).update(
        attempts=1, claimed_until=timezone.now() - timedelta(seconds=1)
    )

    send_notification.delay(str(notification.pk))

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.last_error == services.OUTCOME_UNKNOWN
    assert telegram.sent() == []


def test_the_token_never_lands_in_last_error(telegram, customer):
    echo = {"ok": False, "error_code": 400, "description": f"Bad Request: bot{TOKEN} is odd"}
    telegram.answer_with(always(400, echo))
    notification = make_notification(customer)

    run_like_a_worker(notification)

    notification.refresh_from_db()
    assert notification.last_error == "BadRequest: Bot<redacted> is odd"


# --- the bridge's batch path ----------------------------------------------------------


def test_a_batch_without_a_token_is_skipped_in_one_statement(
    settings, customer, django_assert_num_queries
):
    settings.TELEGRAM_BOT_TOKEN = ""
    pending = [make_notification(customer) for _ in range(5)]
    done = make_notification(customer)
    Notification.objects.filter(pk=done.pk).update(status=NotificationStatus.SENT)

    with django_assert_num_queries(1):
        left = skip_undeliverable(notification_ids=[n.pk for n in [*pending, done]])

    assert left == []
    statuses = dict(Notification.objects.values_list("pk", "status"))
    assert {statuses[n.pk] for n in pending} == {NotificationStatus.SKIPPED}
    assert statuses[done.pk] == NotificationStatus.SENT
    assert Notification.objects.get(pk=pending[0].pk).last_error == NO_TOKEN


def test_a_batch_skips_users_without_a_chat_and_returns_the_rest(telegram, customer):
    stranger = UserFactory(telegram_chat_id="")
    for_customer = make_notification(customer)
    for_stranger = make_notification(stranger)

    left = skip_undeliverable(notification_ids=[for_customer.pk, for_stranger.pk])

    assert left == [for_customer.pk]
    for_stranger.refresh_from_db()
    assert for_stranger.status == NotificationStatus.SKIPPED
    assert for_stranger.last_error == NO_CHAT
    assert telegram.sent() == []  # skipping sends nothing


def outcome_event(user, order) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The bridge's kwargs for an `order.filled` event of `order`."""
    return {
        "event_id": str(uuid.uuid4()),
        "order_id": str(order.pk),
        "user_id": str(user.pk),
        "symbol": "ACME",
        "currency": "USD",
        "side": "buy",
        "type": "market",
        "quantity": "2.000000",
        "limit_price": None,
        "filled_quantity": "2.000000",
        "average_fill_price": "50.0000",
        "status": "filled",
        "error_code": None,
    }


def test_the_batch_task_records_and_sends_each_event_once(telegram, customer, acme):
    order = OrderFactory(user=customer, stock=acme)
    event = outcome_event(customer, order)

    record_order_outcomes.apply(kwargs={"outcomes": [event]})
    record_order_outcomes.apply(kwargs={"outcomes": [event, event]})  # redelivered twice

    notification = Notification.objects.get()
    assert notification.source_event_id == uuid.UUID(event["event_id"])
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1
    assert [form["text"] for form in telegram.sent()] == [notification.text]
    assert notification.text.startswith("<b>Order filled</b>\nBuy 2 ACME at market\n")


def test_a_redelivery_sends_what_a_dead_worker_left_pending(telegram, customer, acme):
    event = outcome_event(customer, OrderFactory(user=customer, stock=acme))
    services.record_order_outcomes([OrderOutcome.from_event(event)])  # then the worker died

    record_order_outcomes.apply(kwargs={"outcomes": [event]})

    notification = Notification.objects.get()
    assert notification.status == NotificationStatus.SENT
    assert len(telegram.sent()) == 1
