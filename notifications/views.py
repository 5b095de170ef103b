"""The notifications API: a customer's own, newest first."""

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, viewsets

from brokerage.api.request import actor
from notifications import selectors
from notifications.filters import NotificationFilter
from notifications.models import Notification
from notifications.serializers import NotificationOutputSerializer


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's order notifications and their Telegram delivery, newest first."""

    queryset = Notification.objects.none()  # for the schema, which has no caller
    serializer_class = NotificationOutputSerializer
    filter_backends = (DjangoFilterBackend,)
    filterset_class = NotificationFilter

    def get_queryset(self) -> QuerySet[Notification]:
        return selectors.list_notifications(user=actor(self.request))
