"""Secrets never reach a log record, whichever logger emits it (brokerage.redaction)."""

import logging
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Notification
from notifications.services import deliver_notification
from tests.factories import UserFactory
from tests.fake_telegram import TOKEN, FakeTelegram
from tests.helpers import token_key
from users.authentication import digest_of
from users.models import ApiToken

pytestmark = pytest.mark.django_db


def every_record_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)


def test_a_telegram_send_leaves_no_token_in_any_log_record(settings, caplog):
    fake = FakeTelegram()
    fake.server.start()
    try:
        settings.TELEGRAM_BOT_TOKEN = TOKEN
        settings.TELEGRAM_API_BASE_URL = fake.url
        user = UserFactory(telegram_chat_id="4242")
        notification = Notification.objects.create(
            user=user, event_type="order.filled", text="<b>Order filled</b>"
        )
        caplog.set_level(logging.DEBUG)  # httpx and httpcore too: the URL holds the token

        deliver_notification(notification_id=notification.pk)
    finally:
        fake.server.stop()

    assert fake.sent(), "the message went out"
    assert any("sendMessage" in record.getMessage() for record in caplog.records)
    assert TOKEN not in every_record_text(caplog)
    assert TOKEN.split(":")[1] not in every_record_text(caplog)


def test_an_authenticated_request_leaves_no_token_in_any_log_record(caplog, api_client):
    user = UserFactory()
    key = token_key(user)
    caplog.set_level(logging.DEBUG)
    # An operator debugging SQL: the token lookup's query names the key.
    caplog.set_level(logging.DEBUG, logger="django.db.backends")

    with CaptureQueriesContext(connection):  # logs every query, as DEBUG=true would
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        assert api_client.get("/api/v1/positions").status_code == 200
        wrong = key[:-1] + ("1" if key.endswith("0") else "0")
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {wrong}")
        assert api_client.get("/api/v1/positions").status_code == 401

    assert any("users_apitoken" in r.getMessage() for r in caplog.records), "SQL was logged"
    assert key not in every_record_text(caplog)
    assert key[:-1] not in every_record_text(caplog)


def test_credentials_are_redacted_in_messages_arguments_and_tracebacks(caplog):
    key = "0123456789abcdef0123456789abcdef01234567"
    log = logging.getLogger("anything.at.all")
    caplog.set_level(logging.INFO)

    log.info("headers %s", {"Authorization": f"Token {key}"})
    log.warning("Authorization: Bearer %s", key)
    try:
        raise RuntimeError(f"failed with Token {key}")
    except RuntimeError:
        log.exception("call failed")

    assert key not in every_record_text(caplog)
    assert "<redacted>" in caplog.records[0].getMessage()


def test_ordinary_words_are_left_alone(caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("anything").info("Token not found for Basic plan")
    assert caplog.records[0].getMessage() == "Token not found for Basic plan"


def test_httpx_logs_only_warnings_by_default():
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() == logging.WARNING


def test_seed_demo_prints_the_token_once_and_never_the_password():
    out = StringIO()

    call_command(
        "seed_demo", "--email", "admin@example.com", "--password", "a-demo-secret-1", stdout=out
    )

    assert "a-demo-secret-1" not in out.getvalue()
    keys = re.findall(r"\b[0-9a-f]{40}\b", out.getvalue())
    assert len(keys) == 1
    (token,) = ApiToken.objects.filter(user__email="admin@example.com")
    assert token.digest == digest_of(keys[0])
