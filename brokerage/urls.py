"""URLs: the versioned API, its schema and docs, the admin, health, metrics."""

from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from brokerage import views
from brokerage.api.throttling import login_throttled
from notifications.views import NotificationViewSet, TelegramLinkView
from orders.models import OrderSide
from orders.views import AccountViewSet, LegacyCancelView, LegacyOrderView, OrderViewSet
from stocks.views import StockViewSet
from users.views import (
    ActivityViewSet,
    ApiTokenViewSet,
    LogoutView,
    PositionViewSet,
    TokenView,
)

router = DefaultRouter()
router.trailing_slash = "/?"  # the contract has no slash; a trailing one still works
router.register("users", AccountViewSet, basename="user")
router.register("stocks", StockViewSet, basename="stock")
router.register("orders", OrderViewSet, basename="order")
router.register("positions", PositionViewSet, basename="position")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("activities", ActivityViewSet, basename="activity")
router.register("tokens", ApiTokenViewSet, basename="token")

api_v1 = [
    path("orders:buy", LegacyOrderView.as_view(side=OrderSide.BUY), name="legacy-buy"),
    path("orders:sell", LegacyOrderView.as_view(side=OrderSide.SELL), name="legacy-sell"),
    path("orders:cancel", LegacyCancelView.as_view(), name="legacy-cancel"),
    path("auth/token", TokenView.as_view(), name="auth-token"),
    path("auth/logout", LogoutView.as_view(), name="auth-logout"),
    path("users/<str:pk>/telegram-link", TelegramLinkView.as_view(), name="telegram-link"),
    *router.urls,
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="swagger-ui", permanent=False)),
    # The two password forms outside the API, throttled like POST /api/v1/auth/token.
    path("admin/login/", login_throttled(admin.site.login), name="admin-login"),
    path(
        "api-auth/login/",
        login_throttled(LoginView.as_view(template_name="rest_framework/login.html")),
        name="api-login",
    ),
    path("admin/", admin.site.urls),
    path("api/health", views.health, name="health"),
    path("api/ready", views.ready, name="ready"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("openapi.json", SpectacularAPIView.as_view(), name="openapi-json"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include(api_v1)),
    path("api-auth/", include("rest_framework.urls")),
    path("metrics", views.metrics, name="metrics"),  # Bearer METRICS_TOKEN
]

handler404 = "brokerage.api.errors.not_found_view"
handler500 = "brokerage.api.errors.server_error_view"
