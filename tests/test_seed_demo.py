"""seed_demo: demo stocks always, an admin only when given credentials, never a password
in its output."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from stocks.models import Stock
from tests.factories import UserFactory
from users.authentication import digest_of
from users.models import ApiToken, User

pytestmark = pytest.mark.django_db

PASSWORD = "a-first-admin-secret-1"


@pytest.fixture(autouse=True)
def _no_credentials_in_the_environment(monkeypatch):  # type: ignore[no-untyped-def]
    # A developer's .env (read into the environment by the settings) may name an admin.
    monkeypatch.delenv("DJANGO_SUPERUSER_EMAIL", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)


def printed_keys(output: str) -> list[str]:
    return re.findall(r"\b[0-9a-f]{40}\b", output)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_without_credentials_it_creates_stocks_but_no_user_and_says_how_to():
    output = seed()

    assert Stock.objects.count() == 5
    assert not User.objects.exists()
    assert "createsuperuser" in output
    assert "DJANGO_SUPERUSER_EMAIL" in output


def test_credentials_from_the_environment_make_a_staff_superuser(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ops@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

    output = seed()

    admin = User.objects.get(email="ops@example.com")
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.check_password(PASSWORD)
    assert PASSWORD not in output
    (key,) = printed_keys(output)
    assert ApiToken.objects.get(user=admin).digest == digest_of(key)


def test_options_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ops@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)

    output = seed("--email", "other@example.com", "--password", "another-secret-2")

    assert list(User.objects.values_list("email", flat=True)) == ["other@example.com"]
    assert "another-secret-2" not in output


@pytest.mark.parametrize("given", [["--email", "ops@example.com"], ["--password", PASSWORD]])
def test_half_the_credentials_is_an_error_and_creates_nobody(given):
    with pytest.raises(CommandError) as raised:
        seed(*given)
    assert PASSWORD not in str(raised.value)
    assert not User.objects.exists()


def test_a_weak_password_is_refused_without_being_repeated():
    with pytest.raises(CommandError) as raised:
        seed("--email", "ops@example.com", "--password", "x7q")
    assert "too short" in str(raised.value)
    assert "x7q" not in str(raised.value)
    assert not User.objects.exists()


def test_running_again_keeps_the_admin_and_its_password():
    seed("--email", "ops@example.com", "--password", PASSWORD)
    seed("--email", "OPS@example.com", "--password", "a-changed-secret-3")

    admin = User.objects.get()
    assert admin.check_password(PASSWORD)
    assert Stock.objects.count() == 5


def test_running_again_prints_no_token_and_issues_none():
    # seed_demo runs on every deploy: its output lands in deploy logs each time.
    first = seed("--email", "ops@example.com", "--password", PASSWORD)
    issued = ApiToken.objects.get()

    again = seed("--email", "ops@example.com", "--password", PASSWORD)

    assert printed_keys(first)
    assert printed_keys(again) == []
    assert list(ApiToken.objects.all()) == [issued]
    assert "create_token" in again  # how to get another


def test_an_existing_customer_with_that_email_is_not_made_an_admin():
    # Sign-up is open: someone may register the admin's address first.
    UserFactory(email="ops@example.com")

    output = seed("--email", "ops@example.com", "--password", PASSWORD)

    customer = User.objects.get(email="ops@example.com")
    assert not customer.is_superuser
    assert not customer.is_staff
    assert not customer.check_password(PASSWORD)
    assert "not an admin" in output
    assert printed_keys(output) == []
    assert not ApiToken.objects.filter(user=customer).exists()
