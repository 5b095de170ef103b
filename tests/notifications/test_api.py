"""GET /api/v1/notifications: own, newest first, filtered, paged, flat queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from tests.factories import UserFactory
from tests.notifications.helpers import make_notification

pytestmark = pytest.mark.django_db


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
