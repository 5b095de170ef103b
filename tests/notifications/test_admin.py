"""Notifications in the admin: the list and Resend of failed ones."""

import pytest

from notifications.models import Notification, NotificationStatus
from tests.factories import UserFactory
from tests.notifications.helpers import make_notification

pytestmark = pytest.mark.django_db


# --- admin ----------------------------------------------------------------------------


def test_admin_resend_requeues_failed_notifications_only(
    telegram, client, customer, django_capture_on_commit_callbacks
):
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
