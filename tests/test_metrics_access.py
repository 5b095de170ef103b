"""/metrics: the bearer of METRICS_TOKEN gets the exposition; anyone else gets the 404 of
a URL that doesn't exist. With no token it is open locally and closed in production."""

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT

TOKEN = "a-metrics-token-0123456789"


def assert_hidden(resp, client) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == 404
    assert resp.content == client.get("/no-such-page").content


def test_with_a_token_set_its_bearer_gets_the_metrics(client, settings):
    settings.METRICS_TOKEN = TOKEN

    resp = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/plain")
    assert b"django_http_requests" in resp.content


def test_prometheus_may_scrape_a_replica_by_its_container_address(client, settings):
    """Prometheus finds web replicas by DNS and asks them by IP, a host Django refuses."""
    settings.METRICS_TOKEN = TOKEN
    settings.ALLOWED_HOSTS = ["web"]

    resp = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_HOST="10.0.0.7:8000")

    assert resp.status_code == 200
    assert b"django_http_requests" in resp.content
    assert client.get("/metrics", HTTP_HOST="10.0.0.7:8000").status_code == 400  # no token


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Token {TOKEN}", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"],
)
def test_with_a_token_set_anything_else_is_404(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    assert_hidden(client.get("/metrics", **headers), client)


def test_without_a_token_local_and_test_settings_leave_it_open(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 200


def test_without_a_token_production_closes_it(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_OPEN_WITHOUT_TOKEN = False  # as production.py sets it

    assert_hidden(client.get("/metrics", HTTP_AUTHORIZATION="Bearer "), client)


@pytest.mark.parametrize(("module", "expected"), [("local", "True"), ("production", "False")])
def test_only_production_settings_close_metrics_without_a_token(module, expected):
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.METRICS_OPEN_WITHOUT_TOKEN)",
        ],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": f"brokerage.settings.{module}",
            "SECRET_KEY": "x" * 60,
            "ALLOWED_HOSTS": "broker.example.com",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == expected
