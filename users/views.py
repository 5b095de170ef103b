"""The account API: sign-up, read, update; positions."""

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from brokerage.api.pagination import NewestFirstCursorPagination
from brokerage.api.request import actor, parse_uuid
from brokerage.api.throttling import SignupThrottle
from users import selectors, services
from users.models import Position, User
from users.serializers import (
    PositionOutputSerializer,
    UserCreatedSerializer,
    UserCreateInputSerializer,
    UserDetailSerializer,
    UserOutputSerializer,
    UserUpdateInputSerializer,
)


class UserPagination(NewestFirstCursorPagination):
    ordering = ("-date_joined", "-id")


class UserViewSet(viewsets.GenericViewSet):
    """Accounts. Sign-up is open and returns the API token; the rest is self or staff."""

    serializer_class = UserOutputSerializer
    pagination_class = UserPagination

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "create":
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_throttles(self) -> list[BaseThrottle]:
        return [SignupThrottle()] if self.action == "create" else super().get_throttles()

    def get_serializer_class(self) -> type:
        return {
            "create": UserCreateInputSerializer,
            "partial_update": UserUpdateInputSerializer,
        }.get(self.action, UserOutputSerializer)

    def get_queryset(self) -> QuerySet[User]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return User.objects.none()
        return selectors.list_users(actor=actor(self.request))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.list_users(actor=actor(request)))
        return self.get_paginated_response(UserOutputSerializer(page, many=True).data)

    @extend_schema(request=UserCreateInputSerializer, responses={201: UserCreatedSerializer})
    def create(self, request: Request) -> Response:
        data = UserCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.create_user(**data.validated_data)
        return Response(UserCreatedSerializer(user).data, status=201)

    @extend_schema(responses=UserDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        user = selectors.get_user_detail(actor=actor(request), user_id=parse_uuid(pk, "id"))
        return Response(UserDetailSerializer(user).data)

    @extend_schema(request=UserUpdateInputSerializer, responses={200: UserOutputSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        user = selectors.get_user(actor=actor(request), user_id=parse_uuid(pk, "id"))
        data = UserUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.update_user(user=user, **data.validated_data)
        return Response(UserOutputSerializer(user).data)


class PositionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's positions with market value at the last price."""

    serializer_class = PositionOutputSerializer

    def get_queryset(self) -> QuerySet[Position]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Position.objects.none()
        return selectors.list_positions(user=actor(self.request))
