"""Notification records: created from the `order.<outcome>` events orders emit, once per
event, and delivered to Telegram at most once."""

import functools
import html
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from brokerage import metrics
from brokerage.api.errors import ErrorCode
from brokerage.celery import TransientError, enqueue
from brokerage.events.envelope import Envelope
from brokerage.events.models import OutboxEvent
from brokerage.events.routing import resolve
from brokerage.redaction import redact
from notifications import telegram_client
from notifications.models import Notification, NotificationStatus
from orders.models import OUTCOME_EVENT_TYPES, OrderStatus, outcome_event_type

logger = logging.getLogger(__name__)

REASONS = {
    ErrorCode.INSUFFICIENT_CASH: "the price moved beyond the reserved cash",
    ErrorCode.INSUFFICIENT_LIQUIDITY: "not enough shares were available",
    ErrorCode.ORDER_NOT_MARKETABLE: "the limit price was not reachable at once",
}
HEADLINES = {
    OrderStatus.FILLED: "Order filled",
    OrderStatus.PARTIALLY_FILLED: "Order partially filled",
    OrderStatus.CANCELLED: "Order cancelled",
    OrderStatus.EXPIRED: "Order expired",
    OrderStatus.REJECTED: "Order rejected",
}


def _number(value: Decimal) -> str:
    """2.500000 -> 2.5; never scientific notation."""
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class OrderOutcome:
    """What an `order.<outcome>` event says: everything its message needs."""

    event_id: UUID
    order_id: UUID
    user_id: UUID
    symbol: str
    currency: str
    side: str
    type: str
    quantity: Decimal
    limit_price: Decimal | None
    filled_quantity: Decimal
    average_fill_price: Decimal | None
    status: str
    error_code: int | None

    @classmethod
    def from_event(cls, fields: dict[str, Any]) -> "OrderOutcome":
        """From the bridge's kwargs (OUTCOME_FIELDS of the payload, and the event id)."""

        def decimal(name: str) -> Decimal | None:
            return None if fields[name] is None else Decimal(fields[name])

        return cls(
            event_id=UUID(fields["event_id"]),
            order_id=UUID(fields["order_id"]),
            user_id=UUID(fields["user_id"]),
            symbol=fields["symbol"],
            currency=fields["currency"],
            side=fields["side"],
            type=fields["type"],
            quantity=Decimal(fields["quantity"]),
            limit_price=decimal("limit_price"),
            filled_quantity=Decimal(fields["filled_quantity"]),
            average_fill_price=decimal("average_fill_price"),
            status=fields["status"],
            error_code=fields["error_code"],
        )


OUTCOME_FIELDS = tuple(name for name in OrderOutcome.__dataclass_fields__)


def render_order_message(outcome: OrderOutcome) -> str:
    """The Telegram text (HTML parse mode) for an order's outcome.

    Every value is escaped, even those the models already restrict (symbol, currency):
    one unescaped `<` or `&` and Telegram refuses the whole message (400).
    """
    e = html.escape
    symbol, currency = outcome.symbol, outcome.currency
    lines = [f"<b>{e(HEADLINES[OrderStatus(outcome.status)])}</b>"]
    what = f"{outcome.side.capitalize()} {_number(outcome.quantity)} {symbol}"
    if outcome.limit_price is not None:
        what += f" limit {_number(outcome.limit_price)} {currency}"
    else:
        what += " at market"
    lines.append(e(what))
    if outcome.filled_quantity:
        average = _number(outcome.average_fill_price or Decimal(0))
        lines.append(
            e(
                f"Filled {_number(outcome.filled_quantity)} of {_number(outcome.quantity)}"
                f" at {average} {currency}"
            )
        )
    if outcome.error_code:
        code = ErrorCode(outcome.error_code)
        lines.append(e(f"Reason: {REASONS.get(code, code.name)} (code {outcome.error_code})"))
    lines.append(f"Status: {e(outcome.status)}")
    lines.append(f"Order <code>{e(str(outcome.order_id))}</code>")
    return "\n".join(lines)


def record_order_outcomes(outcomes: list[OrderOutcome]) -> list[UUID]:
    """Record the notification each outcome owes, once per event (a redelivered event
    creates nothing); returns the ids of those of these events still pending."""
    Notification.objects.bulk_create(
        [
            Notification(
                user_id=outcome.user_id,
                order_id=outcome.order_id,
                source_event_id=outcome.event_id,
                event_type=outcome_event_type(outcome.status),
                text=render_order_message(outcome),
            )
            for outcome in outcomes
        ],
        ignore_conflicts=True,
    )
    pending = Notification.objects.filter(
        source_event_id__in=[outcome.event_id for outcome in outcomes],
        status=NotificationStatus.PENDING,
    )
    return list(pending.order_by("created_at").values_list("pk", flat=True))


# --- delivery -------------------------------------------------------------------------


class DeliveryDeferred(TransientError):
    """Retry at a known time, not on the backoff schedule (Telegram's RetryAfter, or
    another worker's claim running out)."""

    def __init__(self, message: str, *, countdown: float) -> None:
        super().__init__(message)
        self.countdown = countdown


@dataclass(frozen=True)
class _Claim:
    token: str
    chat_id: str
    text: str
    attempt: int


NO_TOKEN = "TELEGRAM_BOT_TOKEN is not set"
NO_CHAT = "no Telegram chat: the user has not linked one (POST /api/v1/users/{id}/telegram-link)"
OUTCOME_UNKNOWN = (
    "delivery outcome unknown: the sender stopped during the Telegram call; not sent again "
    "automatically (at most once), use Resend if it did not arrive"
)


CLAIM_MARGIN_SECONDS = 30  # beyond a send's four timeouts, before a claim counts as dead


def _claim_lease() -> timedelta:
    """Longer than one send can take: httpx's pool, connect, write and read timeouts."""
    return timedelta(seconds=4 * settings.TELEGRAM_TIMEOUT_SECONDS + CLAIM_MARGIN_SECONDS)


def _lock(notification_id: UUID) -> Notification:
    return (
        Notification.objects.select_for_update(no_key=True, of=("self",))
        .select_related("user")
        .get(pk=notification_id)
    )


def _finish(notification: Notification, status: str, *, error: str = "") -> None:
    notification.status = status
    notification.last_error = error
    notification.claimed_until = None
    fields = ["status", "last_error", "claimed_until"]
    if status == NotificationStatus.SENT:
        notification.sent_at = timezone.now()
        fields.append("sent_at")
    notification.save(update_fields=fields)
    metrics.NOTIFICATIONS.labels(status=status).inc()


@transaction.atomic
def _claim(notification_id: UUID) -> _Claim | None:
    """Take a pending notification for one send; None when there is nothing to send."""
    notification = _lock(notification_id)
    if notification.status != NotificationStatus.PENDING:
        return None  # sent, failed or skipped already: a duplicate event or task
    now = timezone.now()
    if notification.claimed_until is not None:
        if notification.claimed_until > now:
            raise DeliveryDeferred(
                "another worker is sending it",
                countdown=(notification.claimed_until - now).total_seconds() + 1,
            )
        _finish(notification, NotificationStatus.FAILED, error=OUTCOME_UNKNOWN)
        return None
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        _finish(notification, NotificationStatus.SKIPPED, error=NO_TOKEN)
        return None
    chat_id = notification.user.telegram_chat_id
    if not chat_id:
        _finish(notification, NotificationStatus.SKIPPED, error=NO_CHAT)
        return None
    notification.attempts += 1
    notification.claimed_until = now + _claim_lease()
    notification.save(update_fields=["attempts", "claimed_until"])
    return _Claim(
        token=token, chat_id=chat_id, text=notification.text, attempt=notification.attempts
    )


RETRY_SOON_SECONDS = 1.0


def deliver_notifications(*, notification_ids: list[UUID]) -> dict[UUID, float]:
    """deliver_notification for the bridge's batch: what cannot be sent is skipped in one
    statement, the rest is sent one by one. Returns the notifications to try again, with
    the seconds to wait; each then continues as its own task, so one that must wait (or
    fails unexpectedly) never strands the others in `pending`."""
    later: dict[UUID, float] = {}
    for notification_id in skip_undeliverable(notification_ids=notification_ids):
        try:
            deliver_notification(notification_id=notification_id)
        except TransientError as exc:
            later[notification_id] = getattr(exc, "countdown", RETRY_SOON_SECONDS)
        except Exception:
            logger.exception("delivering notification %s failed", notification_id)
            later[notification_id] = RETRY_SOON_SECONDS
    return later


def skip_undeliverable(*, notification_ids: list[UUID]) -> list[UUID]:
    """Mark `skipped`, in one statement, the pending notifications that cannot be sent
    (no bot token; no chat linked by the user); return the others.

    A batch's fast path: without a bot every notification is one UPDATE for all.
    """
    pending = Notification.objects.filter(
        pk__in=notification_ids, status=NotificationStatus.PENDING, claimed_until__isnull=True
    )
    if not settings.TELEGRAM_BOT_TOKEN:
        skipped = pending.update(status=NotificationStatus.SKIPPED, last_error=NO_TOKEN)
        metrics.NOTIFICATIONS.labels(status=NotificationStatus.SKIPPED).inc(skipped)
        return []
    skipped = pending.filter(user__telegram_chat_id="").update(
        status=NotificationStatus.SKIPPED, last_error=NO_CHAT
    )
    metrics.NOTIFICATIONS.labels(status=NotificationStatus.SKIPPED).inc(skipped)
    return list(
        Notification.objects.filter(
            pk__in=notification_ids, status=NotificationStatus.PENDING
        ).values_list("pk", flat=True)
    )


@transaction.atomic
def _record(notification_id: UUID, status: str, *, error: str = "") -> None:
    _finish(_lock(notification_id), status, error=error)


@transaction.atomic
def _record_retry(notification_id: UUID, *, error: str) -> None:
    notification = _lock(notification_id)
    notification.last_error = error
    notification.claimed_until = None
    notification.save(update_fields=["last_error", "claimed_until"])
    metrics.NOTIFICATIONS.labels(status="retrying").inc()


def _retry_or_fail(notification_id: UUID, claim: _Claim, error: TransientError) -> None:
    """Record a transient failure and raise `error`, or give up after the last attempt."""
    if claim.attempt >= settings.TELEGRAM_MAX_ATTEMPTS:
        reason = f"{error} (gave up after {claim.attempt} attempts)"
        _record(notification_id, NotificationStatus.FAILED, error=reason)
        return
    _record_retry(notification_id, error=str(error))
    raise error


def deliver_notification(*, notification_id: UUID) -> None:
    """Send a pending notification to its Telegram chat, at most once.

    Chat: the one the user linked (`telegram_chat_id`). No token or no chat:
    `skipped` with the reason, nothing raised. Sent, failed or skipped already: no-op.

    The row lock is never held during the HTTP call. Three short steps:
    1. claim (row locked, no-key): attempts + 1, `claimed_until` = now + a lease longer
       than any send can take; commit;
    2. sendMessage, outside any transaction;
    3. record the outcome (row locked): `sent`; pending again with `last_error` and a
       retry; or `failed` with the reason.

    At most once rather than at least once: a duplicated event or task finds the row
    sent (no-op) or claimed (DeliveryDeferred until the lease ends). A claim whose lease
    ran out without an outcome means the sender died between steps 1 and 3, when
    Telegram may already have the message; it ends `failed` (outcome unknown) instead of
    being sent again, and the admin's Resend is the deliberate way to retry it. That
    window is one HTTP call long; a crash there can lose a message, never double it.

    Raises DeliveryDeferred on RetryAfter (retry after exactly Telegram's delay) and
    TransientError on timeouts and network errors, while attempts (every request
    counts, 429s included, so flood control cannot loop forever) are below
    TELEGRAM_MAX_ATTEMPTS; then `failed`. BadRequest, Forbidden, InvalidToken and other
    Telegram errors are final: `failed`, never retried. Counts each outcome in
    brokerage_notifications_total{status}.
    """
    claim = _claim(notification_id)
    if claim is None:
        return
    try:
        telegram_client.send_message(token=claim.token, chat_id=claim.chat_id, text=claim.text)
    except RetryAfter as exc:
        delay = telegram_client.retry_after_seconds(exc)
        reason = _reason(exc, claim.token)
        _retry_or_fail(notification_id, claim, DeliveryDeferred(reason, countdown=delay))
    except BadRequest as exc:  # a NetworkError subclass, but the request itself is wrong
        _record(notification_id, NotificationStatus.FAILED, error=_reason(exc, claim.token))
    except NetworkError as exc:  # TimedOut, dropped connections, Telegram's 5xx
        _retry_or_fail(notification_id, claim, TransientError(_reason(exc, claim.token)))
    except TelegramError as exc:  # Forbidden, InvalidToken, ChatMigrated, ...: final
        _record(notification_id, NotificationStatus.FAILED, error=_reason(exc, claim.token))
    except Exception as exc:  # a bug: don't leave the claim to expire into "unknown"
        _record(notification_id, NotificationStatus.FAILED, error=_reason(exc, claim.token))
        raise
    else:
        _record(notification_id, NotificationStatus.SENT)


def _reason(exc: Exception, token: str) -> str:
    """`Type: message` for last_error, without the token an error might echo."""
    return redact(f"{type(exc).__name__}: {exc}", token)


@transaction.atomic
def resend_notifications(*, notification_ids: list[UUID]) -> int:
    """Put failed notifications back to pending and queue their delivery after commit.

    Locks the notifications (pk order). Others (sent, skipped, pending) are left alone.
    Returns how many were queued.
    """
    failed = (
        Notification.objects.select_for_update(no_key=True)
        .filter(pk__in=notification_ids, status=NotificationStatus.FAILED)
        .order_by("pk")
    )
    queued = 0
    for notification in failed:
        notification.status = NotificationStatus.PENDING
        notification.attempts = 0
        notification.last_error = ""
        notification.claimed_until = None
        notification.save(update_fields=["status", "attempts", "last_error", "claimed_until"])
        transaction.on_commit(  # robust: a broker outage must not fail the admin action
            functools.partial(enqueue, "notifications.send_notification", str(notification.pk)),
            robust=True,
        )
        queued += 1
    return queued


STALL_SWEEP_LIMIT = 1000


def redeliver_stalled_notifications() -> int:
    """Queue delivery again for notifications still `pending` NOTIFICATION_STALL_SECONDS
    after they were recorded and not being sent (no live claim): covers a delivery task
    lost with its worker or broker. A duplicate is harmless (deliver_notification sends
    at most once). Returns how many were queued."""
    now = timezone.now()
    stalled = (
        Notification.objects.filter(
            status=NotificationStatus.PENDING,
            created_at__lt=now - timedelta(seconds=settings.NOTIFICATION_STALL_SECONDS),
        )
        .exclude(claimed_until__gt=now)
        .order_by("created_at")
        .values_list("pk", flat=True)[:STALL_SWEEP_LIMIT]
    )
    ids = [str(pk) for pk in stalled]
    for notification_id in ids:
        enqueue("notifications.send_notification", notification_id)
    if ids:
        logger.warning("re-queued %d stalled notifications", len(ids))
    return len(ids)


def missed_outcomes() -> list[dict[str, Any]]:
    """The `order.<outcome>` events published between NOTIFICATION_STALL_SECONDS and
    OUTCOME_RECOVERY_WINDOW_SECONDS ago that no notification records, oldest first, at
    most STALL_SWEEP_LIMIT, as the bridge would hand them to record_order_outcomes.

    Covers an event the broker acknowledged and then lost (the embedded broker keeps
    messages in memory) and a record task lost with Redis: the outbox row is the
    durable copy. Recording is once per event, so one that arrives late is harmless.
    """
    now = timezone.now()
    stall = now - timedelta(seconds=settings.NOTIFICATION_STALL_SECONDS)
    window = stall - timedelta(seconds=settings.OUTCOME_RECOVERY_WINDOW_SECONDS)
    rows = (
        OutboxEvent.objects.filter(
            published_at__lt=stall,
            published_at__gte=window,
            event_type__in=OUTCOME_EVENT_TYPES,
        )
        .exclude(Exists(Notification.objects.filter(source_event_id=OuterRef("event_id"))))
        .order_by("published_at")
        .values_list("topic", "envelope")[:STALL_SWEEP_LIMIT]
    )
    outcomes = []
    for topic, envelope in rows:
        try:  # checked as the bridge checks it: one bad row must not stop the others
            route, kwargs = resolve(topic, Envelope(**envelope))
        except (TypeError, ValueError) as exc:
            logger.error("outbox event %s cannot be recovered: %s", envelope.get("event_id"), exc)
            continue
        outcomes.append(route.batch_item(kwargs))
    return outcomes
