"""The account API: sign-up, read, update; positions; log in and out; the caller's tokens."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth import authenticate, logout
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from brokerage.api.errors import InvalidInput
from brokerage.api.pagination import NewestFirstCursorPagination
from brokerage.api.request import actor, parse_uuid
from brokerage.api.schema import error_responses
from brokerage.api.throttling import LoginThrottle, SignupThrottle
from brokerage.ledger.models import EntryKind, LedgerEntry
from users import selectors, services
from users.models import ApiToken, Position, User
from users.serializers import (
    ActivityOutputSerializer,
    ApiTokenOutputSerializer,
    LoginInputSerializer,
    PositionOutputSerializer,
    TokenOutputSerializer,
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

    @extend_schema(
        request=UserCreateInputSerializer,
        responses={
            201: UserCreatedSerializer,
            **error_responses((409, "An account with this e-mail exists (2020).")),
        },
    )
    def create(self, request: Request) -> Response:
        data = UserCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, issued = services.create_user_with_token(**data.validated_data)
        return Response(UserCreatedSerializer(user, context={"token": issued.key}).data, status=201)

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


class TokenView(APIView):
    """Log in: e-mail and password for a new API token (one per client or device)."""

    permission_classes = [permissions.AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(request=LoginInputSerializer, responses={200: TokenOutputSerializer})
    def post(self, request: Request) -> Response:
        data = LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request,
            username=data.validated_data["email"].lower(),
            password=data.validated_data["password"],
        )
        if user is None:  # also for an inactive account: nothing to tell them apart
            raise exceptions.AuthenticationFailed("Invalid e-mail or password.")
        issued = services.create_token(user=user, name=data.validated_data["name"])
        body = {
            "id": issued.token.pk,
            "name": issued.token.name,
            "token": issued.key,
            "expires_at": issued.token.expires_at,
        }
        return Response(TokenOutputSerializer(body).data)


class LogoutView(APIView):
    """Log out: the caller's token (or browser session) stops working everywhere at once."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiToken):
            services.revoke_token(token=request.auth)
        else:
            logout(request._request)
        return Response(status=204)


class ApiTokenPagination(NewestFirstCursorPagination):
    ordering = ("-created_at", "-id")


class ApiTokenViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's API tokens, one per client or device that logged in: list them (never
    the key), revoke one. Anyone else's token does not exist here, staff included."""

    serializer_class = ApiTokenOutputSerializer
    pagination_class = ApiTokenPagination
    filter_backends = ()

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return ApiToken.objects.none()
        return selectors.list_tokens(user=actor(self.request))

    @extend_schema(responses={204: None, **error_responses((404, "No such token (2023)."))})
    def destroy(self, request: Request, pk: str) -> Response:
        token = selectors.get_token(user=actor(request), token_id=parse_uuid(pk, "id"))
        services.revoke_token(token=token)
        return Response(status=204)


class ActivityPagination(NewestFirstCursorPagination):
    ordering = ("-created_at", "-id")


ACTIVITY_PARAMETERS = [
    OpenApiParameter("kind", str, enum=EntryKind.values, description="Only this kind."),
    OpenApiParameter("after", OpenApiTypes.DATETIME, description="Only entries at or after."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Only entries before."),
    OpenApiParameter("user_id", str, description="Only this account's (staff: anyone's)."),
]


def _moment(params: Any, name: str) -> datetime | None:
    value = params.get(name)
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise InvalidInput(f"'{value}' is not an ISO 8601 date and time.", field=name)
    return moment if moment.tzinfo else timezone.make_aware(moment)


class ActivityViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The account journal, newest first: every movement of cash and shares with the
    balance it left (sign-up grant, starter shares, fills, opening balances)."""

    serializer_class = ActivityOutputSerializer
    pagination_class = ActivityPagination
    filter_backends = ()

    def get_queryset(self) -> QuerySet[LedgerEntry]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return LedgerEntry.objects.none()
        params = self.request.query_params
        kind = params.get("kind")
        if kind and kind not in EntryKind.values:
            choices = ", ".join(EntryKind.values)
            raise InvalidInput(f"'{kind}' is not a valid kind; one of {choices}.", field="kind")
        user_id = params.get("user_id")
        return selectors.list_activities(
            actor=actor(self.request),
            user_id=parse_uuid(user_id, "user_id") if user_id else None,
            kind=kind,
            after=_moment(params, "after"),
            until=_moment(params, "until"),
        )

    @extend_schema(parameters=ACTIVITY_PARAMETERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)
