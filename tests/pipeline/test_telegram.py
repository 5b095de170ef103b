"""Order outcomes reach Telegram through the real pipeline: API -> Kafka `orders` ->
bridge -> worker fills and emits `order.filled` -> Kafka `orders` -> bridge -> the
notifications worker records and sends it -> a fake Bot API.

The worker's TELEGRAM_API_BASE_URL points at `fake_telegram` (tests/pipeline/conftest.py);
each test links its customer to its own chat id, so messages never mix across tests.
"""

import random
import sys
from decimal import Decimal

import pytest

from brokerage.events import outbox
from brokerage.events.models import OutboxEvent
from notifications.linking import LINKED
from notifications.models import Notification, NotificationStatus
from tests.factories import StockFactory, UserFactory
from tests.fake_telegram import BAD_CHAT, TOO_MANY, FakeTelegram
from tests.helpers import Proc, wait_until
from tests.pipeline.conftest import Pipeline

pytestmark = pytest.mark.pipeline


@pytest.fixture
def customer(pipeline, client_for):  # type: ignore[no-untyped-def]
    """A customer linked to a chat of their own, and their API client."""
    chat_id = str(random.randint(10**8, 10**9))
    user = UserFactory(cash=Decimal("100000"), telegram_chat_id=chat_id)
    StockFactory(symbol="ACME", price=Decimal("50.0000"), amount=Decimal("100000"))
    return chat_id, client_for(user)


def submit(api, **body) -> str:  # type: ignore[no-untyped-def]
    body = {"symbol": "ACME", "side": "buy", "quantity": "1", **body}
    resp = api.post("/api/v1/orders", body, format="json")
    assert resp.status_code == 202, resp.json()
    return resp.json()["id"]


def notification_of(order_id: str, status: str, *, timeout: float = 30.0) -> Notification:
    def reached() -> Notification | None:
        return Notification.objects.filter(order_id=order_id, status=status).first()

    found = wait_until(reached, timeout=timeout, what=f"{order_id}'s notification {status}")
    assert isinstance(found, Notification)
    return found


def filled_text(order_id: str, quantity: int) -> str:
    return (
        "<b>Order filled</b>\n"
        f"Buy {quantity} ACME at market\n"
        f"Filled {quantity} of {quantity} at 50 USD\n"
        "Status: filled\n"
        f"Order <code>{order_id}</code>"
    )


def test_a_fill_sends_exactly_one_message_to_the_customers_chat(customer, fake_telegram):
    chat_id, api = customer

    order_id = submit(api, quantity="3")

    notification = notification_of(order_id, NotificationStatus.SENT)
    calls = fake_telegram.calls(chat_id)
    assert [form for _, form in calls] == [
        {"chat_id": chat_id, "parse_mode": "HTML", "text": filled_text(order_id, 3)}
    ]
    assert notification.attempts == 1
    assert api.get("/api/v1/notifications").json()["results"][0]["status"] == "sent"


def test_a_duplicated_outcome_event_still_sends_one_message(customer, fake_telegram, pipeline):
    chat_id, api = customer
    order_id = submit(api, quantity="2")
    first = notification_of(order_id, NotificationStatus.SENT)
    event = OutboxEvent.objects.get(pk=first.source_event_id)

    outbox.publish([event, event], wait=5)  # the same event_id twice more
    sentinel = submit(api, quantity="1")  # same key, same partition, queued behind them
    notification_of(sentinel, NotificationStatus.SENT)

    texts = [form["text"] for _, form in fake_telegram.calls(chat_id)]
    assert texts == [filled_text(order_id, 2), filled_text(sentinel, 1)]
    deliveries = sum(  # the bridge may hand both copies over in one batch task
        line.count(f"'event_id': '{first.source_event_id}'")  # in the task's kwargs
        for line in pipeline.worker.lines
        if "task=notifications.record_order_outcome" in line
    )
    assert deliveries == 3  # the duplicates did reach the worker, and were no-ops
    assert Notification.objects.filter(order_id=order_id).count() == 1
    first.refresh_from_db()
    assert first.attempts == 1


def test_429_is_retried_after_telegrams_delay_and_then_sent(customer, fake_telegram):
    chat_id, api = customer
    fake_telegram.answer(429, TOO_MANY, chat_id=chat_id)

    order_id = submit(api, quantity="1")

    notification = notification_of(order_id, NotificationStatus.SENT)
    (refused_at, refused), (sent_at, sent) = fake_telegram.calls(chat_id)
    assert refused == sent
    assert sent_at - refused_at >= 1.0  # retry_after, not an immediate retry
    assert notification.attempts == 2
    assert notification.last_error == ""


def test_a_bad_chat_ends_failed_without_retries(customer, fake_telegram):
    chat_id, api = customer
    fake_telegram.answer(400, BAD_CHAT, chat_id=chat_id)

    order_id = submit(api, quantity="1")

    notification = notification_of(order_id, NotificationStatus.FAILED)
    assert notification.last_error == "BadRequest: Chat not found"
    assert notification.attempts == 1
    assert len(fake_telegram.calls(chat_id)) == 1  # failed is final: no task sends again


def test_without_a_token_the_worker_skips_with_the_reason(
    customer, fake_telegram: FakeTelegram, pipeline: Pipeline
):
    chat_id, api = customer
    assert pipeline.worker is not None
    pipeline.worker.stop()
    configured = pipeline.env
    pipeline.env = {**configured, "TELEGRAM_BOT_TOKEN": ""}
    try:
        pipeline.start_worker()
        order_id = submit(api, quantity="1")

        notification = notification_of(order_id, NotificationStatus.SKIPPED)
    finally:
        pipeline.worker.stop()
        pipeline.env = configured
        pipeline.start_worker()

    assert notification.last_error == "TELEGRAM_BOT_TOKEN is not set"
    assert fake_telegram.calls(chat_id) == []


def test_a_customer_links_their_chat_through_the_bot_process(pipeline, fake_telegram, client_for):
    """run_telegram_bot as make run and compose run it: long polling, a real process."""
    user = UserFactory(cash=Decimal("100000"))
    StockFactory(symbol="ACME", price=Decimal("50.0000"), amount=Decimal("100000"))
    api = client_for(user)
    chat = random.randint(10**8, 10**9)
    bot = Proc("bot", [sys.executable, "manage.py", "run_telegram_bot"], pipeline.env)
    try:
        code = api.post(f"/api/v1/users/{user.pk}/telegram-link").json()["code"]
        fake_telegram.message_from(chat, f"/start {code}")  # what the t.me link sends

        wait_until(
            lambda: [form["text"] for _, form in fake_telegram.calls(str(chat))] == [LINKED],
            what="the bot's answer",
        )
        user.refresh_from_db()
        assert user.telegram_chat_id == str(chat)
        order_id = submit(api, quantity="1")
        notification_of(order_id, NotificationStatus.SENT)
        assert fake_telegram.calls(str(chat))[-1][1]["text"] == filled_text(order_id, 1)
    finally:
        bot.stop()


def test_a_second_bot_stands_by_and_takes_over_when_the_first_dies(
    pipeline, fake_telegram, client_for
):  # type: ignore[no-untyped-def]
    """Two pollers of one token would fight (Telegram: Conflict); the second waits."""
    env = {**pipeline.env, "SINGLETON_LOCK_TTL_SECONDS": "1"}
    argv = [sys.executable, "manage.py", "run_telegram_bot"]
    first = Proc("bot-1", argv, env)
    second = None
    try:
        first.wait_for_line("took brokerage:singleton:bot:")
        second = Proc("bot-2", argv, env)
        second.wait_for_line("standing by")
        first.kill()  # SIGKILL: its lock expires
        second.wait_for_line("took brokerage:singleton:bot:")
        assert not [
            line
            for line in second.lines + first.lines
            if pipeline.env["TELEGRAM_BOT_TOKEN"] in line
        ]

        user = UserFactory()
        chat = random.randint(10**8, 10**9)
        code = client_for(user).post(f"/api/v1/users/{user.pk}/telegram-link").json()["code"]
        fake_telegram.message_from(chat, f"/start {code}")
        wait_until(
            lambda: [form["text"] for _, form in fake_telegram.calls(str(chat))] == [LINKED],
            what="the second bot's answer",
        )
    finally:
        for bot in (first, second):
            if bot is not None and bot.popen.poll() is None:
                bot.stop()


CLIENT = 3  # opentelemetry.proto Span.SpanKind.SPAN_KIND_CLIENT


def test_one_order_is_one_trace_from_the_request_to_the_telegram_call(
    customer, fake_otlp, fake_telegram
):  # type: ignore[no-untyped-def]
    _, api = customer
    order_id = submit(api)
    notification_of(order_id, NotificationStatus.SENT)
    accepted = OutboxEvent.objects.get(
        event_type="order.accepted", envelope__payload__order_id=order_id
    )
    trace_id = accepted.headers["traceparent"].split("-")[1]

    def whole_trace() -> bool:
        spans = fake_otlp.spans(trace_id)
        ids = {s.span_id for s in spans}
        roots = [s for s in spans if not s.parent_id]
        services = ("brokerage-tests", "brokerage-bridge", "brokerage-worker")
        by_service = {name: {s.name for s in spans if s.service == name} for name in services}
        worker = by_service["brokerage-worker"]
        with_event_id = [s for s in spans if "brokerage.event_id" in s.attributes]
        sql = [s for s in spans if s.service in services[1:] and s.attributes.get("db.system")]
        return (
            # One tree: a single root (the request) and every other span's parent in it.
            len(roots) == 1
            and all(s.parent_id in ids for s in spans if s.parent_id)
            and any(name.startswith("POST") for name in by_service["brokerage-tests"])
            # Each event's send to Kafka, from the request and from the worker.
            and any(name.endswith(" publish") for name in by_service["brokerage-tests"])
            and any(name.endswith(" publish") for name in worker)
            # The bridge hands over through Celery's instrumentation; the task runs under it.
            and any(name.startswith("apply_async/") for name in by_service["brokerage-bridge"])
            and any(run.name.startswith("run/") for run in with_event_id)
            and bool(sql)
            and any(s.kind == CLIENT and "sendMessage" in str(s.attributes) for s in spans)
        )

    what = f"trace {trace_id}: one tree through web, bridge, worker, SQL and Telegram"
    wait_until(whole_trace, timeout=30, what=what)
    # The Bot API URL holds the token: recorded redacted, never sent to the trace backend.
    assert not any(fake_telegram.token in str(s.attributes) for s in fake_otlp.spans())
