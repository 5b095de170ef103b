"""Telegram delivery against a fake Bot API (a real HTTP server on 127.0.0.1), the
notifications API, the admin's Resend and `manage.py telegram_chat_ids`.

Events are routed in-process and Celery runs eagerly (tests/conftest.py), so an order
placed through the API is executed, recorded and delivered before the call returns; the
real broker and worker are tests/pipeline/test_telegram.py's job.
"""

import html
import re
import socket
import threading
import uuid
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from io import StringIO

import pytest
from celery.exceptions import Retry
from django.core.management import CommandError, call_command
from django.utils import timezone
from prometheus_client import REGISTRY
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from notifications import services
from notifications.models import Notification, NotificationStatus
from notifications.services import (
    NO_CHAT,
    NO_TOKEN,
    DeliveryDeferred,
    OrderOutcome,
    deliver_notification,
    render_order_message,
    skip_undeliverable,
)
from notifications.tasks import record_order_outcomes, send_notification
from orders.models import OrderSide, OrderStatus, OrderType
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "123:ABC"
SEND = f"/bot{TOKEN}/sendMessage"
UPDATES = f"/bot{TOKEN}/getUpdates"
TOO_MANY = {
    "ok": False,
    "error_code": 429,
    "description": "Too Many Requests: retry after 1",
    "parameters": {"retry_after": 1},
}
BAD_CHAT = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a"}
ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class TelegramHTML(HTMLParser):
    """What Telegram's HTML parse mode accepts: a few tags, entities, nothing else."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.bad: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in TELEGRAM_TAGS:
            self.bad.append(f"<{tag}>")


def check_telegram_html(text: str) -> str | None:
    """Why Telegram would answer 400 "can't parse entities", or None."""
    if "&" in ENTITY.sub("", text):
        return "unescaped &"
    parser = TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.bad:
        return f"unsupported tags {parser.bad}"
    if "<" in re.sub(r"</?[a-z]+>", "", text) or ">" in re.sub(r"</?[a-z]+>", "", text):
        return "unescaped < or >"
    return None


def answer_ok(request: Request) -> Response:
    """sendMessage as Telegram answers it, after checking the text would parse."""
    problem = check_telegram_html(request.form.get("text", ""))
    if problem:
        body = {"ok": False, "error_code": 400, "description": f"Bad Request: {problem}"}
        return Response(Response.json_module.dumps(body), 400, mimetype="application/json")
    message = {
        "message_id": 1,
        "date": 0,
        "chat": {"id": int(request.form["chat_id"]), "type": "private"},
        "text": request.form["text"],
    }
    return Response(
        Response.json_module.dumps({"ok": True, "result": message}), mimetype="application/json"
    )


class FakeBotApi:
    """The test's view of the fake: what it was sent, and how it should answer."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server

    def answer_ok(self) -> None:
        self.server.expect_request(SEND, method="POST").respond_with_handler(answer_ok)

    def sent(self) -> list[dict[str, str]]:
        return [request.form.to_dict() for request, _ in self.server.log if request.path == SEND]


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    return ("127.0.0.1", 0)


@pytest.fixture
def telegram(httpserver: HTTPServer, settings) -> FakeBotApi:  # type: ignore[no-untyped-def]
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.TELEGRAM_API_BASE_URL = httpserver.url_for("").rstrip("/")
    settings.TELEGRAM_CHAT_ID = ""
    settings.TELEGRAM_TIMEOUT_SECONDS = 2.0
    settings.TELEGRAM_MAX_ATTEMPTS = 3
    return FakeBotApi(httpserver)


@pytest.fixture
def customer(db: None):  # type: ignore[no-untyped-def]
    return UserFactory(cash=Decimal("100000"), telegram_chat_id="4242")


@pytest.fixture
def place(client_for, customer, acme, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Submit an order as `customer`; it is executed and notified before this returns."""

    def submit(**body: str) -> dict[str, object]:
        api = client_for(customer)
        with django_capture_on_commit_callbacks(execute=True):
            resp = api.post(
                "/api/v1/orders",
                {"symbol": "ACME", "side": "buy", "quantity": "3", **body},
                format="json",
            )
        assert resp.status_code == 202, resp.json()
        return api.get(f"/api/v1/orders/{resp.json()['id']}").json()

    return submit


def make_notification(user, text: str = "<b>Order filled</b>") -> Notification:  # type: ignore[no-untyped-def]
    return Notification.objects.create(user=user, event_type="order.filled", text=text)


def run_like_a_worker(notification: Notification) -> list[float]:
    """Run send_notification until it stops asking for a retry, as a worker would.

    Eager Celery propagates a task's Retry to the caller instead of scheduling it, so
    each Retry is re-run here by hand; returns the countdowns a worker would have waited.
    """
    countdowns: list[float] = []
    signature = send_notification.s(str(notification.pk))
    while True:
        try:
            signature.apply()
        except Retry as retry:
            countdowns.append(float(retry.when))  # type: ignore[arg-type]
            signature = retry.sig
        else:
            return countdowns


def counted(status: str) -> float:
    return REGISTRY.get_sample_value("brokerage_notifications_total", {"status": status}) or 0.0


# --- what gets sent -------------------------------------------------------------------


def test_a_fill_sends_exactly_one_message_with_the_order_in_it(telegram, place, customer):
    telegram.answer_ok()
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
    telegram.answer_ok()

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
    telegram.answer_ok()

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


def test_patching_telegram_chat_id_sends_the_next_fill_there(telegram, place, client_for, customer):
    telegram.answer_ok()
    resp = client_for(customer).patch(
        f"/api/v1/users/{customer.pk}", {"telegram_chat_id": "-1009876"}, format="json"
    )
    assert resp.status_code == 200, resp.json()

    place(quantity="1")

    assert [m["chat_id"] for m in telegram.sent()] == ["-1009876"]


def test_a_user_without_a_chat_falls_back_to_telegram_chat_id(telegram, settings, place, customer):
    telegram.answer_ok()
    customer.telegram_chat_id = ""
    customer.save()
    settings.TELEGRAM_CHAT_ID = "777"

    place(quantity="1")

    assert [m["chat_id"] for m in telegram.sent()] == ["777"]


def test_no_chat_at_all_is_skipped_without_a_request(telegram, customer):
    telegram.answer_ok()
    customer.telegram_chat_id = ""
    customer.save()
    notification = make_notification(customer)

    send_notification.delay(str(notification.pk))

    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SKIPPED
    assert "TELEGRAM_CHAT_ID is not set" in notification.last_error
    assert telegram.sent() == []


def test_no_token_is_skipped_with_the_reason_and_no_request(telegram, settings, place):
    telegram.answer_ok()
    settings.TELEGRAM_BOT_TOKEN = ""
    skipped_before = counted("skipped")

    order = place(quantity="1")

    notification = Notification.objects.get(order_id=order["id"])
    assert notification.status == NotificationStatus.SKIPPED
    assert notification.last_error == "TELEGRAM_BOT_TOKEN is not set"
    assert notification.attempts == 0
    assert telegram.server.log == []
    assert counted("skipped") == skipped_before + 1


# --- retries and failures ---------------------------------------------------------------


def test_429_defers_by_exactly_retry_after_and_records_the_attempt(telegram, customer):
    telegram.server.expect_oneshot_request(SEND).respond_with_json(TOO_MANY, status=429)
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
    telegram.server.expect_oneshot_request(SEND).respond_with_json(TOO_MANY, status=429)
    telegram.answer_ok()
    notification = make_notification(customer)

    countdowns = run_like_a_worker(notification)

    assert countdowns == [1.0]  # exactly Telegram's retry_after, not the backoff
    assert len(telegram.sent()) == 2
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 2)


def test_a_bad_chat_is_failed_with_the_reason_and_never_retried(telegram, customer):
    telegram.server.expect_request(SEND).respond_with_json(BAD_CHAT, status=400)
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
    telegram.server.expect_request(SEND).respond_with_json(forbidden, status=403)
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
    telegram.server.expect_request(SEND).respond_with_handler(drop_connection)
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


@pytest.fixture
def slow_server():  # type: ignore[no-untyped-def]
    """A threaded fake whose sendMessage never answers in time: every request is seen
    the moment it arrives, while the client times out."""
    release = threading.Event()
    arrived: list[str] = []

    def hang(request: Request) -> Response:
        arrived.append(request.path)
        release.wait(10)
        return Response("", 500)

    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request(SEND).respond_with_handler(hang)
    server.start()
    yield server, arrived
    release.set()
    server.stop()


def test_a_timeout_is_retried_up_to_the_limit_then_failed(
    telegram, settings, slow_server, customer
):
    server, arrived = slow_server
    settings.TELEGRAM_API_BASE_URL = server.url_for("").rstrip("/")
    settings.TELEGRAM_TIMEOUT_SECONDS = 0.2
    notification = make_notification(customer)

    countdowns = run_like_a_worker(notification)

    assert len(countdowns) == 2
    assert arrived == [SEND] * 3
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED
    assert notification.last_error.startswith("TimedOut: ")


def test_the_same_notification_delivered_twice_sends_one_message(telegram, customer):
    telegram.answer_ok()
    notification = make_notification(customer)

    send_notification.delay(str(notification.pk))
    send_notification.delay(str(notification.pk))  # a duplicated event or task
    deliver_notification(notification_id=notification.pk)

    assert len(telegram.sent()) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.SENT, 1)


def test_a_live_claim_defers_a_concurrent_delivery_without_sending(telegram, customer):
    telegram.answer_ok()
    notification = make_notification(customer)
    Notification.objects.filter(pk=notification.pk).update(
        attempts=1, claimed_until=timezone.now() + timedelta(seconds=30)
    )

    with pytest.raises(DeliveryDeferred) as deferred:
        deliver_notification(notification_id=notification.pk)

    assert 30 <= deferred.value.countdown <= 31
    assert telegram.sent() == []


def test_a_claim_that_outlived_its_sender_fails_instead_of_sending_twice(telegram, customer):
    telegram.answer_ok()
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
    telegram.server.expect_request(SEND).respond_with_json(echo, status=400)
    notification = make_notification(customer)

    run_like_a_worker(notification)

    notification.refresh_from_db()
    assert notification.last_error == "BadRequest: Bot<token> is odd"


# --- API ------------------------------------------------------------------------------


def test_notifications_list_is_own_newest_first_and_filters_by_status(client_for, customer):
    other = UserFactory()
    make_notification(other)
    now = timezone.now()
    ids = []
    for minutes, status in ((3, "sent"), (2, "failed"), (1, "sent")):
        n = make_notification(customer)
        Notification.objects.filter(pk=n.pk).update(
            status=status, created_at=now - timedelta(minutes=minutes)
        )
        ids.append(str(n.pk))
    api = client_for(customer)

    body = api.get("/api/v1/notifications").json()

    assert [n["id"] for n in body["results"]] == ids[::-1]
    assert set(body) == {"next", "previous", "results"}
    assert set(body["results"][0]) == {
        "id",
        "order_id",
        "event_type",
        "channel",
        "text",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    }
    failed = api.get("/api/v1/notifications?status=failed").json()["results"]
    assert [n["id"] for n in failed] == [ids[1]]
    bad = api.get("/api/v1/notifications?status=lost")
    assert bad.status_code == 400
    assert bad.json()["error_code"] == 1000


def test_notifications_list_pages_with_a_cursor(client_for, customer):
    for _ in range(3):
        make_notification(customer)
    api = client_for(customer)

    first = api.get("/api/v1/notifications?page_size=2").json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 2
    assert len(second["results"]) == 1
    assert second["next"] is None


def test_notifications_list_needs_authentication(api_client):
    resp = api_client.get("/api/v1/notifications")

    assert resp.status_code == 401
    assert resp.json()["error_code"] == 1200


def test_notifications_list_queries_are_flat(api_client, customer, django_assert_num_queries):
    for _ in range(20):
        make_notification(customer)
    api_client.force_authenticate(customer)

    with django_assert_num_queries(1):  # measured; must not grow with rows
        resp = api_client.get("/api/v1/notifications")

    assert len(resp.json()["results"]) == 20


# --- admin ----------------------------------------------------------------------------


def test_admin_resend_requeues_failed_notifications_only(
    telegram, client, customer, django_capture_on_commit_callbacks
):
    telegram.answer_ok()
    failed = make_notification(customer)
    Notification.objects.filter(pk=failed.pk).update(
        status=NotificationStatus.FAILED, attempts=3, last_error="TimedOut: Timed out"
    )
    skipped = make_notification(customer)
    Notification.objects.filter(pk=skipped.pk).update(status=NotificationStatus.SKIPPED)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(
            "/admin/notifications/notification/",
            {"action": "resend", "_selected_action": [str(failed.pk), str(skipped.pk)]},
            follow=True,
        )

    assert resp.status_code == 200
    assert "Queued 1 notification(s) for delivery." in resp.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == ("sent", 1, "")
    skipped.refresh_from_db()
    assert skipped.status == NotificationStatus.SKIPPED
    assert len(telegram.sent()) == 1


def test_admin_lists_notifications(client, customer):
    make_notification(customer)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    resp = client.get("/admin/notifications/notification/")

    assert resp.status_code == 200
    assert "order.filled" in resp.content.decode()


# --- telegram_chat_ids ----------------------------------------------------------------


def test_telegram_chat_ids_lists_the_chats_that_wrote_to_the_bot(telegram):
    alice = {"id": 111, "type": "private", "username": "alice", "first_name": "Alice"}
    group = {"id": -100222, "type": "supergroup", "title": "Traders"}

    def update(update_id: int, chat: dict[str, object]) -> dict[str, object]:
        message = {"message_id": update_id, "date": 0, "chat": chat, "text": "/start"}
        return {"update_id": update_id, "message": message}

    telegram.server.expect_request(UPDATES).respond_with_json(
        {"ok": True, "result": [update(1, alice), update(2, group), update(3, alice)]}
    )
    out = StringIO()

    call_command("telegram_chat_ids", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "chat_id  type        name",
        "111      private     @alice (Alice)",
        "-100222  supergroup  Traders",
    ]
    assert "PATCH /api/v1/users/{id}" in out.getvalue()


def test_telegram_chat_ids_says_when_nobody_wrote(telegram):
    telegram.server.expect_request(UPDATES).respond_with_json({"ok": True, "result": []})
    out = StringIO()

    call_command("telegram_chat_ids", stdout=out)

    assert "No chats have written to the bot yet" in out.getvalue()


def test_telegram_chat_ids_without_a_token_is_a_clear_error(telegram, settings):
    settings.TELEGRAM_BOT_TOKEN = ""

    with pytest.raises(CommandError, match="TELEGRAM_BOT_TOKEN is not set"):
        call_command("telegram_chat_ids")

    assert telegram.server.log == []


def test_telegram_chat_ids_reports_what_telegram_refused(telegram):
    conflict = {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: can't use getUpdates method while webhook is active",
    }
    telegram.server.expect_request(UPDATES).respond_with_json(conflict, status=409)

    with pytest.raises(CommandError, match=r"Conflict: .*webhook is active"):
        call_command("telegram_chat_ids")


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
    telegram.answer_ok()
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
    telegram.answer_ok()

    record_order_outcomes.apply(kwargs={"outcomes": [event]})

    notification = Notification.objects.get()
    assert notification.status == NotificationStatus.SENT
    assert len(telegram.sent()) == 1
