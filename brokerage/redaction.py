"""Secrets never reach a log: every log record of the process is redacted when created.

By the record factory brokerage.logs installs, not a handler filter, because Celery
installs handlers of its own and a filter on one handler misses the others: whatever
logger emits a record and whatever handler writes it, the bot token, any `Authorization`
/ `Token ...` value and any bare API token key (40 hex digits, e.g. in a logged SQL
query) are gone.
"""

import logging
import re

from django.conf import settings

REDACTED = "<redacted>"
_PATTERNS = [
    re.compile(r"\bbot\d+:[A-Za-z0-9_-]+"),  # a bot token in a Bot API URL
    re.compile(r"\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{16,}", re.IGNORECASE),
    re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+", re.IGNORECASE),
    re.compile(r"\b[0-9a-f]{40}\b"),  # an API token's key alone, as in a logged SQL query
]


def redact(text: str, *secrets: str) -> str:
    """`text` without the bot token, `secrets` or any credential it carries. Tokens go in
    any case: python-telegram-bot lowercases Telegram's "Bad Request: ..." descriptions."""
    for secret in (settings.TELEGRAM_BOT_TOKEN, *secrets):
        if secret:
            text = re.sub(re.escape(secret), REDACTED, text, flags=re.IGNORECASE)
    text = _PATTERNS[0].sub("bot" + REDACTED, text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PATTERNS[2].sub(lambda m: m.group(1) + REDACTED, text)
    return _PATTERNS[3].sub(REDACTED, text)


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record's message and traceback in place (brokerage.logs calls this for
    every record the process creates)."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it for logging to report
        return
    clean = redact(message)
    if clean != message or record.args:
        record.msg, record.args = clean, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
