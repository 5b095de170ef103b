"""API tokens worth stealing: stored only as hashes, listed and revoked by their owner,
revoked in every process at once, never in the admin; DRF's plaintext tokens converted.

Log in, log out, lifetime and the other revocations: test_auth.py.
"""

import sys
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps as global_apps
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from rest_framework.test import APIClient

from brokerage.shared.memo import BroadcastMemo
from tests.factories import UserFactory
from tests.helpers import assert_error, token_key, wait_until
from users import authentication
from users.authentication import digest_of
from users.models import ApiToken

pytestmark = pytest.mark.django_db

PASSWORD = "password123"  # the factory's
LISTED = {"id", "name", "prefix", "created_at", "expires_at", "last_used_at"}


@pytest.fixture(autouse=True)
def remembered_tokens(settings):  # type: ignore[no-untyped-def]
    settings.AUTH_TOKEN_CACHE_SECONDS = 60
    authentication.forget_all()


def with_key(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def works(api: APIClient) -> bool:
    resp = api.get("/api/v1/positions")
    assert resp.status_code in (200, 401), resp.content
    return resp.status_code == 200


def database_text() -> str:
    """Every row of every table, as a dump would hold them."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            rows.append(repr(cursor.fetchall()))
    return "\n".join(rows)


# --- stored as a hash -----------------------------------------------------------------


def test_a_database_dump_holds_no_usable_key(api_client, user):
    body = {"email": user.email, "password": PASSWORD, "name": "laptop"}
    key = api_client.post("/api/v1/auth/token", body, format="json").json()["token"]
    assert works(with_key(key))

    dump = database_text()

    assert key not in dump
    stored = ApiToken.objects.get(user=user)
    assert stored.digest == digest_of(key) != key
    assert not works(with_key(stored.digest))  # what the dump does hold opens nothing
    assert not works(with_key(stored.digest[:40]))


def test_a_key_that_differs_only_after_its_prefix_is_refused(user):
    key = token_key(user)
    forged = key[:8] + ("0" if key[8] != "0" else "1") + key[9:]

    assert_error(with_key(forged).get("/api/v1/positions"), 401, 1200)
    assert works(with_key(key))


@pytest.mark.parametrize("key", ["short", "G" * 40, "a" * 41, "nul\x00" + "a" * 36])
def test_what_cannot_be_a_key_is_a_401_without_a_lookup(api_client, key, django_assert_num_queries):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    with django_assert_num_queries(0):
        assert_error(api_client.get("/api/v1/positions"), 401, 1200)


def test_last_use_is_recorded_at_most_once_a_minute(user, django_assert_num_queries):
    api = with_key(token_key(user))
    assert ApiToken.objects.get(user=user).last_used_at is None

    assert works(api)
    first_use = ApiToken.objects.get(user=user).last_used_at
    assert first_use is not None
    authentication.forget_all()  # looked up again: only the write is spared
    with django_assert_num_queries(2):  # token+user, positions; no write
        assert works(api)

    assert ApiToken.objects.get(user=user).last_used_at == first_use


def test_expired_tokens_are_deleted_when_the_owner_gets_a_new_one(user, settings):
    settings.AUTH_TOKEN_TTL = 60
    token_key(user, "old laptop")
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    someone_else = UserFactory()
    token_key(someone_else, "theirs")
    ApiToken.objects.filter(user=someone_else).update(expires_at=timezone.now())

    token_key(user, "new laptop")

    assert list(ApiToken.objects.filter(user=user).values_list("name", flat=True)) == ["new laptop"]
    assert ApiToken.objects.filter(user=someone_else).exists()  # theirs wait for their turn


# --- the owner's list -----------------------------------------------------------------


def test_the_owner_lists_their_tokens_without_any_secret(api_client, user):
    keys = [token_key(user, name) for name in ("phone", "laptop")]
    UserFactory()  # someone else's tokens are not listed
    token_key(UserFactory(), "theirs")
    api = with_key(keys[0])

    resp = api.get("/api/v1/tokens")

    assert resp.status_code == 200, resp.content
    listed = resp.json()["results"]
    assert [t["name"] for t in listed] == ["laptop", "phone"]  # newest first
    assert all(set(t) == LISTED for t in listed)
    assert [t["prefix"] for t in listed] == [keys[1][:8], keys[0][:8]]
    text = resp.content.decode()
    for token in ApiToken.objects.filter(user=user):
        assert token.digest not in text
    for key in keys:
        assert key not in text
    assert listed[1]["last_used_at"] is not None  # the phone's, which just asked
    assert listed[0]["last_used_at"] is None


def test_the_list_needs_a_caller(api_client):
    assert_error(api_client.get("/api/v1/tokens"), 401, 1200)


# --- revocation by the owner ----------------------------------------------------------


def test_the_owner_revokes_a_token_and_it_is_refused_at_once(user):
    laptop_key, phone_key = token_key(user, "laptop"), token_key(user, "phone")
    laptop, phone = with_key(laptop_key), with_key(phone_key)
    assert works(laptop)
    assert works(phone)  # both now remembered in this process
    lost = ApiToken.objects.get(user=user, name="phone")

    assert laptop.delete(f"/api/v1/tokens/{lost.pk}").status_code == 204

    assert not works(phone)
    assert works(laptop)
    assert not ApiToken.objects.filter(pk=lost.pk).exists()


def test_a_revocation_reaches_every_other_process_at_once(user):
    key = token_key(user)
    api = with_key(key)
    assert works(api)
    # Another process's memory: the same channel, its own listener and entries.
    elsewhere: BroadcastMemo[str] = BroadcastMemo("tokens", ttl=lambda: 60)
    elsewhere.get("warm-up")  # starts its listener
    assert elsewhere.listening.wait(5), "the other process's listener did not subscribe"
    elsewhere.put(digest_of(key), "remembered", tag=str(user.pk))
    token = ApiToken.objects.get(user=user)

    assert api.delete(f"/api/v1/tokens/{token.pk}").status_code == 204

    wait_until(
        lambda: elsewhere.get(digest_of(key)) is None,
        timeout=5,
        what="the other process to forget the token",
    )


def test_another_users_token_is_404_and_keeps_working(user):
    victim = UserFactory()
    victim_key = token_key(victim)
    their_token = ApiToken.objects.get(user=victim)
    staff = UserFactory(is_staff=True)

    for intruder in (user, staff):
        resp = with_key(token_key(intruder)).delete(f"/api/v1/tokens/{their_token.pk}")
        assert_error(resp, 404, 2023)

    assert works(with_key(victim_key))


def test_a_missing_or_malformed_token_id(user):
    api = with_key(token_key(user))

    assert_error(api.delete(f"/api/v1/tokens/{uuid.uuid4()}"), 404, 2023)
    assert_error(api.delete("/api/v1/tokens/not-a-uuid"), 400, 1000)


def test_tokens_are_not_in_the_admin(admin_client):
    assert ApiToken not in admin.site._registry
    assert not any(model._meta.app_label == "authtoken" for model in admin.site._registry)
    assert admin_client.get("/admin/authtoken/token/").status_code == 404
    assert admin_client.get("/admin/users/apitoken/").status_code == 404


# --- minting for an account -----------------------------------------------------------


def test_create_token_prints_only_a_working_key(user):
    out = StringIO()

    call_command("create_token", user.email.upper(), "--name", "walkthrough", stdout=out)

    key = out.getvalue().strip()
    assert out.getvalue() == f"{key}\n"
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.digest) == ("walkthrough", digest_of(key))
    assert works(with_key(key))


def test_create_token_for_nobody_is_an_error():
    with pytest.raises(CommandError, match="no account"):
        call_command("create_token", "nobody@example.com", stdout=StringIO())
    assert not ApiToken.objects.exists()


# --- DRF's plaintext tokens, converted ------------------------------------------------


def hash_drf_tokens():  # type: ignore[no-untyped-def]
    """The data migration's function, found by name (whatever its number)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    (migration,) = [
        m
        for (app, name), m in loader.disk_migrations.items()
        if app == "users" and name.endswith("_hash_drf_tokens")
    ]
    return sys.modules[type(migration).__module__].hash_drf_tokens


def drf_token_table(rows: list[tuple[str, object]]) -> None:
    """DRF's authtoken_token as its migrations left it, holding `rows` (key, user id)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamptz NOT NULL, "
            "user_id uuid NOT NULL UNIQUE REFERENCES users_user (id))"
        )
        for key, user_id in rows:
            cursor.execute(
                "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
                [key, timezone.now() - timedelta(days=400), user_id],
            )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "VALUES ('authtoken', '0001_initial', now())"
        )


@pytest.mark.parametrize(("ttl", "lifetime"), [(0, None), (3600, timedelta(hours=1))])
def test_drf_tokens_become_hashed_and_their_keys_keep_working(settings, ttl, lifetime):
    settings.AUTH_TOKEN_TTL = ttl
    ada, bob = UserFactory(), UserFactory()
    ada_key, bob_key = "0123456789abcdef0123456789abcdef01234567", "f" * 40
    drf_token_table([(ada_key, ada.pk), (bob_key, bob.pk)])
    before = timezone.now()

    with connection.schema_editor() as editor:
        hash_drf_tokens()(global_apps, editor)

    assert "authtoken_token" not in connection.introspection.table_names()
    dump = database_text()
    assert ada_key not in dump
    assert bob_key not in dump
    assert "authtoken" not in dump  # no migration record claims a table that is gone
    token = ApiToken.objects.get(user=ada)
    assert token.digest == digest_of(ada_key)
    assert token.prefix == ada_key[:8]
    assert token.created_at < before - timedelta(days=399)  # when DRF issued it
    if lifetime is None:
        assert token.expires_at is None
    else:  # one full lifetime from the upgrade, not from the year-old issue
        assert before + lifetime <= token.expires_at <= timezone.now() + lifetime
    assert works(with_key(ada_key))
    assert works(with_key(bob_key))


def test_a_database_without_drf_tokens_is_left_alone(user):
    token_key(user)

    with connection.schema_editor() as editor:
        hash_drf_tokens()(global_apps, editor)

    assert ApiToken.objects.count() == 1
