"""The order API, the original's order endpoints, and the account detail with orders."""

import logging

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from brokerage import logs
from brokerage.api.errors import InvalidInput
from brokerage.api.request import actor, parse_uuid
from brokerage.api.schema import error_responses
from brokerage.api.throttling import AccountThrottle
from orders import selectors, services
from orders.filters import ORDER_FILTER_PARAMETERS, order_filters
from orders.models import Order, OrderSide, OrderType
from orders.serializers import (
    CLIENT_ORDER_ID_PATTERN,
    AccountDetailSerializer,
    LegacyCancelInputSerializer,
    LegacyOrderInputSerializer,
    OrderDetailSerializer,
    OrderInputSerializer,
    OrderOutputSerializer,
)
from users import selectors as user_selectors
from users.selectors import get_user
from users.views import UserViewSet

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": CLIENT_ORDER_ID_PATTERN},
    OpenApiParameter.HEADER,
    required=False,
    description="Used as client_order_id when the body has none.",
)
CANCEL_CONFLICT = error_responses(
    (409, "The order is already filled (2012), rejected (2013), cancelled or expired (2014).")
)


logger = logging.getLogger(__name__)


def accepted(request: Request, order: Order) -> Response:
    """202 with the order and where to follow it."""
    logs.order_id.set(str(order.pk))  # the request's remaining log lines name it
    logger.info("order %s: %s %s %s", order.status, order.side, order.quantity, order.type)
    location = reverse("order-detail", kwargs={"pk": order.pk}, request=request)
    return Response(OrderOutputSerializer(order).data, status=202, headers={"Location": location})


class OrderViewSet(viewsets.GenericViewSet):
    """Orders: submit (202, executed asynchronously), list newest first, read, cancel."""

    serializer_class = OrderOutputSerializer
    filter_backends = ()

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Order.objects.none()
        return selectors.list_orders(actor=actor(self.request))

    def get_throttles(self) -> list[BaseThrottle]:
        if self.action in ("create", "cancel"):
            return [AccountThrottle()]
        return super().get_throttles()

    def get_serializer_class(self) -> type:
        return {"create": OrderInputSerializer, "retrieve": OrderDetailSerializer}.get(
            self.action, OrderOutputSerializer
        )

    @extend_schema(parameters=ORDER_FILTER_PARAMETERS)
    def list(self, request: Request) -> Response:
        orders = selectors.list_orders(actor=actor(request), **order_filters(request.query_params))
        page = self.paginate_queryset(orders.values(*selectors.ORDER_VALUES))
        return self.get_paginated_response(OrderOutputSerializer(page, many=True).data)

    @extend_schema(
        request=OrderInputSerializer,
        responses={
            202: OrderOutputSerializer,
            **error_responses(
                (404, "No such stock (2005)."),
                (409, "client_order_id used before for a different order (2017)."),
                422,
            ),
        },
        parameters=[IDEMPOTENCY_HEADER],
    )
    def create(self, request: Request) -> Response:
        body = request.data
        key = request.headers.get("Idempotency-Key")
        if key and isinstance(body, dict) and not body.get("client_order_id"):
            body = {**body, "client_order_id": key}  # validated like the body field
        data = OrderInputSerializer(data=body)
        data.is_valid(raise_exception=True)
        order = services.submit_order(user=actor(request), **data.validated_data)
        return accepted(request, order)

    @extend_schema(responses=OrderDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        order = selectors.get_order(actor=actor(request), order_id=parse_uuid(pk, "id"))
        return Response(OrderDetailSerializer(order).data)

    @extend_schema(request=None, responses={200: OrderOutputSerializer, **CANCEL_CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        order_id = parse_uuid(pk, "id")
        logs.order_id.set(str(order_id))
        order = services.cancel_order(actor=actor(request), order_id=order_id)
        return Response(OrderOutputSerializer(order).data)


class AccountViewSet(UserViewSet):
    """Accounts (users.views.UserViewSet), whose detail also lists the latest orders, as
    the original's `GET /users/{id}` did: composed here, where both apps are visible."""

    @extend_schema(responses=AccountDetailSerializer)
    def retrieve(self, request: Request, pk: str) -> Response:
        user_id = parse_uuid(pk, "id")
        user = user_selectors.get_user_detail(actor=actor(request), user_id=user_id)
        user.latest_orders = selectors.latest_orders(user_id=user.pk)  # type: ignore[attr-defined]
        return Response(AccountDetailSerializer(user).data)


class LegacyOrderView(APIView):
    """The original `POST /api/v1/orders:buy|sell`: a gtc limit order at `price`."""

    side: str = OrderSide.BUY
    serializer_class = LegacyOrderInputSerializer
    throttle_classes = (AccountThrottle,)

    @extend_schema(
        request=LegacyOrderInputSerializer,
        responses={
            202: OrderOutputSerializer,
            **error_responses((404, "No such stock (2005) or, for staff, user (2003)."), 422),
        },
    )
    def post(self, request: Request) -> Response:
        data = LegacyOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        user = actor(request)
        if fields["user_id"] != user.pk:
            if not user.is_staff:
                raise InvalidInput("user_id must be your own id.", field="user_id")
            user = get_user(actor=user, user_id=fields["user_id"])
        order = services.submit_order(
            user=user,
            symbol=fields["stock_symbol"],
            side=self.side,
            type=OrderType.LIMIT,
            quantity=fields["amount"],
            limit_price=fields["price"],
        )
        return accepted(request, order)


class LegacyCancelView(APIView):
    """The original `POST /api/v1/orders:cancel`, answered 202 as the original did."""

    serializer_class = LegacyCancelInputSerializer
    throttle_classes = (AccountThrottle,)

    @extend_schema(
        request=LegacyCancelInputSerializer,
        responses={
            202: OrderOutputSerializer,
            **error_responses((404, "No such order (2011).")),
            **CANCEL_CONFLICT,
        },
    )
    def post(self, request: Request) -> Response:
        data = LegacyCancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.cancel_order(
            actor=actor(request), order_id=data.validated_data["order_id"]
        )
        return Response(OrderOutputSerializer(order).data, status=202)
