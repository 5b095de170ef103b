"""The notifications API: a customer's own, newest first; linking their Telegram chat."""

from dataclasses import asdict

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from brokerage.api.request import actor, parse_uuid
from notifications import linking, selectors
from notifications.filters import NotificationFilter
from notifications.models import Notification
from notifications.serializers import NotificationOutputSerializer, TelegramLinkOutputSerializer
from users.selectors import get_user


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's order notifications and their Telegram delivery, newest first."""

    queryset = Notification.objects.none()  # for the schema, which has no caller
    serializer_class = NotificationOutputSerializer
    filter_backends = (DjangoFilterBackend,)
    filterset_class = NotificationFilter

    def get_queryset(self) -> QuerySet[Notification]:
        return selectors.list_notifications(user=actor(self.request))


class TelegramLinkView(APIView):
    """The account's Telegram chat: linked by a one-time code the bot receives."""

    @extend_schema(request=None, responses={201: TelegramLinkOutputSerializer})
    def post(self, request: Request, pk: str) -> Response:
        """A one-time code and deep link; opening it in Telegram links that chat."""
        user = get_user(actor=actor(request), user_id=parse_uuid(pk, "id"))
        if user.pk != actor(request).pk:  # staff can see the account, not prove its chat
            raise exceptions.PermissionDenied("Only the account holder can link a chat.")
        code = linking.create_telegram_link(user=user)
        return Response(TelegramLinkOutputSerializer(asdict(code)).data, status=201)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: str) -> Response:
        """Unlink: no more Telegram messages until a chat is linked again."""
        user = get_user(actor=actor(request), user_id=parse_uuid(pk, "id"))
        linking.unlink_telegram_chat(user=user)
        return Response(status=204)
