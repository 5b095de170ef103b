"""Telegram linking: a one-time code, sent to the bot from the chat that is to be linked."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from notifications import linking
from notifications.models import Notification, NotificationStatus, TelegramLink
from tests.factories import UserFactory
from tests.helpers import assert_error, token_client

pytestmark = pytest.mark.django_db

CHAT = 5555


def ask_for_link(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    resp = token_client(user).post(f"/api/v1/users/{user.pk}/telegram-link")
    assert resp.status_code == 201, resp.json()
    return resp.json()  # type: ignore[no-any-return]


def run_bot() -> None:
    call_command("run_telegram_bot", "--once", stdout=StringIO())


def replies(telegram, chat_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [form["text"] for _, form in telegram.calls(str(chat_id))]


@pytest.fixture
def unlinked(customer):  # type: ignore[no-untyped-def]
    customer.telegram_chat_id = ""
    customer.save()
    return customer


def test_a_link_is_a_one_time_code_and_a_deep_link(unlinked, settings):
    settings.TELEGRAM_BOT_USERNAME = "@BrokerBot"

    link = ask_for_link(unlinked)

    assert link["url"] == f"https://t.me/BrokerBot?start={link['code']}"
    expires_at = timezone.datetime.fromisoformat(link["expires_at"])
    assert abs(expires_at - (timezone.now() + timedelta(minutes=10))) < timedelta(seconds=30)
    stored = TelegramLink.objects.get(user=unlinked)
    assert link["code"] not in (stored.code_hash, stored.chat_id)  # only a hash is kept


def test_without_a_bot_username_there_is_no_url(unlinked, settings):
    settings.TELEGRAM_BOT_USERNAME = ""

    assert ask_for_link(unlinked)["url"] is None


def test_start_with_the_code_links_that_chat_and_the_next_fill_goes_there(
    telegram, unlinked, place
):
    code = ask_for_link(unlinked)["code"]
    telegram.message_from(CHAT, f"/start {code}")

    run_bot()

    unlinked.refresh_from_db()
    assert unlinked.telegram_chat_id == str(CHAT)
    assert replies(telegram, CHAT) == [linking.LINKED]
    assert telegram.pending_updates() == 0  # confirmed: Telegram won't send it again

    place(quantity="1")
    assert len(replies(telegram, CHAT)) == 2  # the link reply, then the fill


def test_a_code_works_once(telegram, unlinked):
    code = ask_for_link(unlinked)["code"]
    telegram.message_from(CHAT, f"/start {code}")
    telegram.message_from(6666, f"/start {code}")  # someone who saw the link later

    run_bot()

    unlinked.refresh_from_db()
    assert unlinked.telegram_chat_id == str(CHAT)
    assert replies(telegram, 6666) == [linking.UNKNOWN_CODE]


def test_an_expired_code_links_nothing(telegram, unlinked):
    code = ask_for_link(unlinked)["code"]
    TelegramLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    telegram.message_from(CHAT, f"/start {code}")

    run_bot()

    unlinked.refresh_from_db()
    assert unlinked.telegram_chat_id == ""
    assert replies(telegram, CHAT) == [linking.UNKNOWN_CODE]


def test_a_new_code_replaces_the_unused_one(telegram, unlinked):
    first = ask_for_link(unlinked)["code"]
    second = ask_for_link(unlinked)["code"]
    telegram.message_from(CHAT, f"/start {first}")
    telegram.message_from(CHAT, f"/start {second}")

    run_bot()

    assert replies(telegram, CHAT) == [linking.UNKNOWN_CODE, linking.LINKED]


@pytest.mark.parametrize("text", ["/start", "hello", "/help me"])
def test_other_messages_get_directions(telegram, unlinked, text):
    telegram.message_from(CHAT, text)

    run_bot()

    assert replies(telegram, CHAT) == [linking.HELLO]
    unlinked.refresh_from_db()
    assert unlinked.telegram_chat_id == ""


def test_without_a_token_the_bot_says_so_and_stops(settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    out = StringIO()

    call_command("run_telegram_bot", "--once", stdout=out)

    assert "TELEGRAM_BOT_TOKEN is not set" in out.getvalue()


def test_only_the_account_holder_gets_a_code(client_for, unlinked, staff, api_client):
    other = UserFactory()
    url = f"/api/v1/users/{unlinked.pk}/telegram-link"

    assert_error(api_client.post(url), 401, 1200)
    assert_error(client_for(other).post(url), 404, 2003)
    assert_error(client_for(staff).post(url), 403, 1201)
    assert not TelegramLink.objects.exists()


def test_unlinking_stops_the_messages(telegram, customer, place):
    resp = token_client(customer).delete(f"/api/v1/users/{customer.pk}/telegram-link")
    assert resp.status_code == 204

    customer.refresh_from_db()
    assert customer.telegram_chat_id == ""
    place(quantity="1")
    assert telegram.sent() == []
    assert Notification.objects.get().status == NotificationStatus.SKIPPED
