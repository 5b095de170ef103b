"""The stock API: anyone reads, staff list stocks and move prices."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from brokerage.api.pagination import NewestFirstCursorPagination
from brokerage.api.schema import error_responses
from stocks import selectors, services
from stocks.quotes import get_stock_quote
from stocks.serializers import (
    StockCreateInputSerializer,
    StockOutputSerializer,
    StockUpdateInputSerializer,
)


class IsStaffOrReadOnly(permissions.BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_staff)


class StockPagination(NewestFirstCursorPagination):
    ordering = "symbol"


class StockViewSet(viewsets.GenericViewSet):
    """Listed stocks. Anyone may read; staff list stocks and move prices."""

    lookup_field = "symbol"
    lookup_value_regex = "[^/]+"
    permission_classes = (IsStaffOrReadOnly,)
    pagination_class = StockPagination
    serializer_class = StockOutputSerializer
    queryset = selectors.list_stocks()

    def get_serializer_class(self) -> type:
        return {
            "create": StockCreateInputSerializer,
            "partial_update": StockUpdateInputSerializer,
        }.get(self.action, StockOutputSerializer)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.list_stocks())
        return self.get_paginated_response(StockOutputSerializer(page, many=True).data)

    def retrieve(self, request: Request, symbol: str) -> Response:
        stock = get_stock_quote(symbol=symbol.upper())
        return Response(StockOutputSerializer(stock).data)

    @extend_schema(
        request=StockCreateInputSerializer,
        responses={
            201: StockOutputSerializer,
            **error_responses((409, "The symbol is listed already (2004).")),
        },
    )
    def create(self, request: Request) -> Response:
        data = StockCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stock = services.create_stock(**data.validated_data)
        return Response(StockOutputSerializer(stock).data, status=201)

    @extend_schema(request=StockUpdateInputSerializer, responses={200: StockOutputSerializer})
    def partial_update(self, request: Request, symbol: str) -> Response:
        data = StockUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stock = services.update_stock(symbol=symbol.upper(), **data.validated_data)
        return Response(StockOutputSerializer(stock).data)
