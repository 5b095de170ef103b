"""API tokens: log in, log out, lifetime, and revocation that takes effect at once
(hashing, the owner's list and the migration: test_tokens.py).

Token memory is on (AUTH_TOKEN_CACHE_SECONDS=60) in these tests unless a test says
otherwise: whatever revokes a token must reach the remembered copy too.
"""

from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.helpers import assert_error, token_client, wait_until
from users import authentication
from users.models import ApiToken

pytestmark = pytest.mark.django_db

PASSWORD = "password123"  # the factory's


@pytest.fixture(autouse=True)
def remembered_tokens(settings):  # type: ignore[no-untyped-def]
    settings.AUTH_TOKEN_CACHE_SECONDS = 60
    authentication.forget_all()


def log_in(client, email: str, password: str = PASSWORD, **headers: str):  # type: ignore[no-untyped-def]
    body = {"email": email, "password": password}
    return client.post("/api/v1/auth/token", body, format="json", **headers)


def works(api) -> bool:  # type: ignore[no-untyped-def]
    resp = api.get("/api/v1/positions")
    assert resp.status_code in (200, 401), resp.content
    return resp.status_code == 200


# --- log in / log out -----------------------------------------------------------------


def test_log_in_issues_a_new_token_each_time(api_client, user):
    first = log_in(api_client, user.email.upper())
    second = log_in(api_client, user.email)

    assert first.status_code == second.status_code == 200, first.json()
    for body in (first.json(), second.json()):
        assert set(body) == {"id", "name", "token", "expires_at"}
        assert body["expires_at"] is None  # AUTH_TOKEN_TTL is off here
    assert first.json()["token"] != second.json()["token"]
    assert first.json()["id"] != second.json()["id"]
    for body in (first.json(), second.json()):  # both work: one per client or device
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
        assert works(api)


def test_log_in_names_the_token_for_its_client(api_client, user):
    resp = api_client.post(
        "/api/v1/auth/token",
        {"email": user.email, "password": PASSWORD, "name": "trading desk laptop"},
        format="json",
    )

    assert resp.json()["name"] == "trading desk laptop"
    assert ApiToken.objects.get(pk=resp.json()["id"]).name == "trading desk laptop"


@pytest.mark.parametrize("name", ["x" * 101, "nul\x00byte"])
def test_a_bad_token_name_is_a_400(api_client, user, name):
    body = {"email": user.email, "password": PASSWORD, "name": name}
    resp = api_client.post("/api/v1/auth/token", body, format="json")

    body = assert_error(resp, 400, 1000)
    assert [item["field"] for item in body["error_detail"]] == ["name"]
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("email", "password"), [("", "wrong-password"), ("nobody@example.com", PASSWORD)]
)
def test_log_in_with_bad_credentials_is_refused(api_client, user, email, password):
    resp = log_in(api_client, email or user.email, password)  # "": the user's own

    assert_error(resp, 401, 1200)
    assert resp["WWW-Authenticate"] == "Token"


def test_an_inactive_account_cannot_log_in(api_client, user):
    user.is_active = False
    user.save()

    assert_error(log_in(api_client, user.email), 401, 1200)


def test_log_in_needs_both_fields(api_client):
    body = assert_error(api_client.post("/api/v1/auth/token", {}, format="json"), 400, 1000)
    assert {item["field"] for item in body["error_detail"]} == {"email", "password"}


def test_log_out_ends_the_token_at_once(user):
    api, other_device = token_client(user), token_client(user)
    assert works(api)
    assert works(other_device)

    assert api.post("/api/v1/auth/logout").status_code == 204

    assert not works(api)
    assert works(other_device)  # only the caller's token
    assert ApiToken.objects.filter(user=user).count() == 1


def test_log_out_needs_a_caller(api_client):
    assert_error(api_client.post("/api/v1/auth/logout"), 401, 1200)


# --- revocation -----------------------------------------------------------------------


def test_a_deleted_token_is_refused_at_once(user):
    api = token_client(user)
    assert works(api)

    ApiToken.objects.get(user=user).delete()

    assert not works(api)


def test_deactivation_takes_effect_at_once(user):
    api = token_client(user)
    assert works(api)

    user.is_active = False
    user.save()  # the admin's full save

    assert not works(api)


def test_demotion_takes_effect_at_once(staff):
    UserFactory()
    api = token_client(staff)
    assert len(api.get("/api/v1/users").json()["results"]) > 1  # staff see everyone

    staff.is_staff = False
    staff.save(update_fields=["is_staff"])

    assert [u["id"] for u in api.get("/api/v1/users").json()["results"]] == [str(staff.pk)]


def test_a_password_change_revokes_every_token(api_client, user):
    api, other_device = token_client(user), token_client(user)
    assert works(api)
    assert works(other_device)

    user.set_password("a-new-password-1")
    user.save()

    assert not works(api)
    assert not works(other_device)
    assert not ApiToken.objects.filter(user=user).exists()
    resp = log_in(api_client, user.email, "a-new-password-1")
    assert resp.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {resp.json()['token']}")
    assert works(api)  # the new token


def test_money_saves_leave_remembered_tokens_alone(user, django_assert_num_queries):
    api = token_client(user)
    assert works(api)

    user.cash += 1
    user.save(update_fields=["cash"])  # what a fill does

    with django_assert_num_queries(1):  # positions only: the token is still remembered
        assert works(api)


def test_a_revocation_announced_by_another_process_is_honoured(user):
    api = token_client(user)
    assert works(api)
    assert authentication._tokens.listening.wait(5), "the token listener did not subscribe"
    assert works(api)  # remembered (subscribing forgot what was kept before)
    ApiToken.objects.filter(user=user).update(digest="f" * 64)  # no signal in this process
    assert works(api)  # still remembered

    client = redis.Redis.from_url(django_settings.REDIS_URL)
    client.publish(authentication._tokens.channel(), str(user.pk))  # as from elsewhere

    wait_until(lambda: not works(api), timeout=5, what="the token to be forgotten")


# --- lifetime -------------------------------------------------------------------------


def test_tokens_expire_after_auth_token_ttl(api_client, user, settings):
    settings.AUTH_TOKEN_TTL = 3600
    issued = log_in(api_client, user.email).json()
    token = ApiToken.objects.get(pk=issued["id"])
    assert token.expires_at == token.created_at + timedelta(hours=1)
    assert issued["expires_at"] is not None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued['token']}")
    assert works(api)

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    authentication.forget_all()

    resp = api.get("/api/v1/positions")
    assert_error(resp, 401, 1200)
    assert "expired" in resp.json()["error_message"]

    fresh = log_in(api_client, user.email).json()
    assert fresh["token"] != issued["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {fresh['token']}")
    assert works(api)


def test_a_remembered_token_is_refused_once_it_expires(api_client, user, settings, monkeypatch):
    settings.AUTH_TOKEN_TTL = 60
    issued = log_in(api_client, user.email).json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued['token']}")
    assert works(api)  # now remembered for AUTH_TOKEN_CACHE_SECONDS (60)

    later = timezone.now() + timedelta(seconds=61)
    monkeypatch.setattr("users.authentication.timezone.now", lambda: later)

    assert_error(api.get("/api/v1/positions"), 401, 1200)


# --- login throttling -----------------------------------------------------------------


@pytest.fixture
def login_rate(settings):  # type: ignore[no-untyped-def]
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "2/minute"}


def assert_throttled(resp) -> None:  # type: ignore[no-untyped-def]
    assert_error(resp, 429, 1003)
    assert int(resp["Retry-After"]) >= 1


def test_log_in_is_throttled_per_ip_whatever_the_headers(api_client, user, login_rate):
    assert log_in(api_client, user.email, "wrong-password").status_code == 401
    assert log_in(api_client, user.email, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 200

    assert_throttled(log_in(token_client(user), user.email))  # a token buys nothing
    assert_throttled(log_in(api_client, user.email, HTTP_X_FORWARDED_FOR="203.0.113.10"))


@pytest.mark.parametrize("path", ["/admin/login/", "/api-auth/login/"])
def test_the_password_forms_are_throttled_too(client, user, login_rate, path):
    form = {"username": user.email, "password": "wrong-password"}
    assert client.get(path).status_code == 200  # showing the form costs no attempt
    for _ in range(2):
        assert client.post(path, form).status_code == 200  # the form again, with an error

    assert_throttled(client.post(path, form))
    assert client.get(path).status_code == 200
