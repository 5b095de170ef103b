"""Filters of the notifications list."""

import django_filters

from notifications.models import Notification, NotificationStatus


class NotificationFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=NotificationStatus.choices)

    class Meta:
        model = Notification
        fields = ("status",)
