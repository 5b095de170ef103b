"""`manage.py telegram_chat_ids` against the fake Bot API."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.fake_telegram import (
    UPDATES,
)

pytestmark = pytest.mark.django_db


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
