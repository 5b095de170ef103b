"""Who may call what: every route and method of the URL conf x {anonymous, the owner,
another customer, staff}, against the answer each must get.

The routes come from the URL conf itself, so a new endpoint without a row in MATRIX
fails `test_every_route_has_a_row`. A status says who got in: 401 (no caller), 403 (not
allowed), 404 (someone else's, so it does not exist for them), 400 (in, then refused an
empty body: authorization passed).
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.helpers import token_client
from users.services import create_token

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "owner", "other", "staff")
READY = (200, 503)  # /api/ready: public; 503 while a dependency is down

# (route, method) -> the status of each role, in ROLES order; or one for all.
MATRIX: dict[tuple[str, str], tuple[Any, ...] | int] = {
    # --- pages and documents: public ---
    ("", "get"): 302,
    ("", "post"): 302,
    ("", "put"): 302,
    ("", "patch"): 302,
    ("", "delete"): 302,
    ("health", "get"): 200,
    ("ready", "get"): (READY, READY, READY, READY),
    ("schema", "get"): 200,
    ("openapi-json", "get"): 200,
    ("swagger-ui", "get"): 200,
    ("redoc", "get"): 200,
    ("metrics", "get"): 200,  # test settings; production needs METRICS_TOKEN
    # --- password forms (sessions; throttled): staff are sent on to the admin ---
    ("admin-login", "get"): (200, 200, 200, 302),
    ("admin-login", "post"): 200,
    ("api-login", "get"): 200,
    ("api-login", "post"): 200,
    ("api-login", "put"): 200,
    ("login", "get"): 200,  # DRF's own, shadowed by api-login: the same answers
    ("login", "post"): 200,
    ("login", "put"): 200,
    ("logout", "get"): 405,
    ("logout", "post"): 200,
    # --- the API ---
    ("api-root", "get"): (401, 200, 200, 200),
    ("auth-token", "post"): 400,
    ("auth-logout", "post"): (401, 204, 204, 204),
    ("user-list", "get"): (401, 200, 200, 200),
    ("user-list", "post"): 400,  # sign-up is open
    ("user-detail", "get"): (401, 200, 404, 200),
    ("user-detail", "patch"): (401, 200, 404, 200),
    ("telegram-link", "post"): (401, 201, 404, 403),  # only the holder proves a chat
    ("telegram-link", "delete"): (401, 204, 404, 204),
    ("stock-list", "get"): 200,
    ("stock-list", "post"): (401, 403, 403, 400),
    ("stock-detail", "get"): 200,
    ("stock-detail", "patch"): (401, 403, 403, 200),
    ("order-list", "get"): (401, 200, 200, 200),
    ("order-list", "post"): (401, 400, 400, 400),
    ("order-detail", "get"): (401, 200, 404, 200),
    ("order-cancel", "post"): (401, 200, 404, 200),
    ("legacy-buy", "post"): (401, 400, 400, 400),
    ("legacy-sell", "post"): (401, 400, 400, 400),
    ("legacy-cancel", "post"): (401, 202, 404, 202),
    ("position-list", "get"): (401, 200, 200, 200),
    ("notification-list", "get"): (401, 200, 200, 200),
    ("activity-list", "get"): (401, 200, 200, 200),
    ("token-list", "get"): (401, 200, 200, 200),
    ("token-detail", "delete"): (401, 204, 404, 404),  # the owner's alone, staff or not
}
# Django's own admin (everything under /admin/ but its login form) is Django's
# staff_member_required; one row says it holds.
ADMIN = ("admin:index", "get")
MATRIX[ADMIN] = (302, 302, 302, 200)


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if getattr(pattern, "namespace", None) == "admin":
                continue  # ADMIN stands for it
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and "format" not in pattern.pattern.regex.groupindex:
            yield pattern.name or "", prefix + str(pattern.pattern), pattern.callback


def _methods(callback: Any) -> list[str]:
    callback = getattr(callback, "__wrapped__", callback)
    actions = getattr(callback, "actions", None)  # a router's viewset route
    if actions:  # DRF adds "head" (as "get") to it at the first request
        return sorted(set(actions) - {"head"})
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is None:
        return ["get"]  # a function view; rows may name more of its methods
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]


def routes() -> set[tuple[str, str]]:
    found = {ADMIN}
    for name, _, callback in _routes(get_resolver().url_patterns):
        found.update((name, method) for method in _methods(callback))
    return found


def test_every_route_has_a_row():
    known = routes()
    assert known <= set(MATRIX), f"routes without a row: {sorted(known - set(MATRIX))}"
    names = {name for name, _ in known}
    stale = sorted(row for row in MATRIX if row[0] not in names)
    assert not stale, f"rows for no route: {stale}"


@pytest.fixture
def world(acme):  # type: ignore[no-untyped-def]
    """The owner's account, a resting order of theirs, and who asks."""
    owner, other = UserFactory(), UserFactory()
    staff = UserFactory(is_staff=True, type="manager")
    resp = token_client(owner).post(
        "/api/v1/orders",
        {"symbol": "ACME", "side": "buy", "type": "limit", "limit_price": "1", "quantity": "1"},
        format="json",
    )
    assert resp.status_code == 202, resp.json()
    token = create_token(user=owner, name="phone").token
    return {
        "owner": owner,
        "other": other,
        "staff": staff,
        "order": resp.json()["id"],
        "token": token.pk,
    }


def client(role: str, world: dict[str, Any]) -> APIClient:
    if role == "anonymous":
        return APIClient()
    user = world[role]
    api = token_client(user)
    api.force_login(user)  # the browsable API's and the admin's session too
    return api


def request(route: str, method: str, world: dict[str, Any]) -> Callable[[APIClient], Any]:
    owner, order = world["owner"].pk, world["order"]
    paths = {
        "": "/",
        "admin:index": "/admin/",
        "admin-login": "/admin/login/",
        "api-login": "/api-auth/login/",
        "login": "/api-auth/login/",
        "logout": "/api-auth/logout/",
        "user-list": "/api/v1/users",
        "user-detail": f"/api/v1/users/{owner}",
        "telegram-link": f"/api/v1/users/{owner}/telegram-link",
        "stock-list": "/api/v1/stocks",
        "stock-detail": "/api/v1/stocks/ACME",
        "order-list": "/api/v1/orders",
        "order-detail": f"/api/v1/orders/{order}",
        "order-cancel": f"/api/v1/orders/{order}/cancel",
        "position-list": "/api/v1/positions",
        "notification-list": "/api/v1/notifications",
        "activity-list": "/api/v1/activities",
        "token-list": "/api/v1/tokens",
        "token-detail": f"/api/v1/tokens/{world['token']}",
        "api-root": "/api/v1/",
        "auth-token": "/api/v1/auth/token",
        "auth-logout": "/api/v1/auth/logout",
        "legacy-buy": "/api/v1/orders:buy",
        "legacy-sell": "/api/v1/orders:sell",
        "legacy-cancel": "/api/v1/orders:cancel",
        "health": "/api/health",
        "ready": "/api/ready",
        "schema": "/api/schema/",
        "openapi-json": "/openapi.json",
        "swagger-ui": "/api/docs/",
        "redoc": "/api/redoc/",
        "metrics": "/metrics",
    }
    bodies = {"legacy-cancel": {"order_id": order}}
    path, body = paths[route], bodies.get(route, {})
    return lambda api: getattr(api, method)(path, body, format="json")


def expected(route: str, method: str, role: str) -> tuple[int, ...]:
    row = MATRIX[(route, method)]
    want = row[ROLES.index(role)] if isinstance(row, tuple) else row
    return want if isinstance(want, tuple) else (want,)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("route", "method"), sorted(MATRIX))
def test_who_may_call_what(route, method, role, world):
    resp = request(route, method, world)(client(role, world))

    assert resp.status_code in expected(route, method, role), resp.content[:300]
