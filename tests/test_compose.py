"""docker-compose.yml is closed by default: only the proxy's port beyond loopback, a login on
every UI that has one, every secret from .env and none written in the file."""

import re
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT

COMPOSE = ROOT / "docker-compose.yml"
if not COMPOSE.exists():  # the test image leaves deployment files out (.dockerignore)
    pytest.skip("no docker-compose.yml in this tree", allow_module_level=True)

TEXT = COMPOSE.read_text()
SERVICES: dict[str, dict[str, Any]] = yaml.safe_load(TEXT)["services"]
REQUIRED_SECRETS = [
    "SECRET_KEY",
    "POSTGRES_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
    "FLOWER_BASIC_AUTH",
    "METRICS_TOKEN",
]


def required(variable: str) -> str:
    """The start of compose's interpolation that refuses an unset or empty variable."""
    return "${" + variable + ":?"


def test_only_the_proxy_is_published_beyond_loopback():
    assert SERVICES["proxy"]["ports"] == ["8000:8000"]
    assert "ports" not in SERVICES["web"]  # scaled behind the proxy
    published = {
        name: service["ports"]
        for name, service in SERVICES.items()
        if name != "proxy" and "ports" in service
    }
    assert set(published) >= {"flower", "kafdrop", "prometheus", "grafana", "jaeger"}
    for name, ports in published.items():
        for port in ports:
            assert isinstance(port, str), (name, port)
            assert port.startswith("127.0.0.1:"), (name, port)


def test_databases_and_broker_are_not_published():
    for name in ("postgres", "redis", "kafka"):
        assert "ports" not in SERVICES[name], name


def test_grafana_wants_a_login():
    env = SERVICES["grafana"]["environment"]
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in env
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith(required("GRAFANA_ADMIN_PASSWORD"))


def test_flower_wants_basic_auth():
    # Flower reads FLOWER_<OPTION> as its --<option>: this is --basic-auth.
    env = SERVICES["flower"]["environment"]
    assert env["FLOWER_BASIC_AUTH"].startswith(required("FLOWER_BASIC_AUTH"))


def test_every_app_service_reads_the_env_file():
    app = [name for name, service in SERVICES.items() if service.get("image") == "brokerage:latest"]
    assert set(app) >= {"migrate", "web", "bridge", "worker", "notifier", "beat"}
    for name in app:
        assert SERVICES[name]["env_file"] in (".env", [".env"]), name


def test_required_secrets_refuse_to_be_empty_and_are_documented():
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    for variable in REQUIRED_SECRETS:
        assert required(variable) in TEXT, variable
        assert variable in documented, variable
    assert SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        required("POSTGRES_PASSWORD")
    )
    assert required("POSTGRES_PASSWORD") in SERVICES["web"]["environment"]["DATABASE_URL"]


@pytest.mark.parametrize(
    "literal",
    [
        "admin12345",
        "postgres:postgres@",
        "POSTGRES_PASSWORD: postgres",
        "GF_AUTH_ANONYMOUS_ORG_ROLE",
    ],
)
def test_no_password_or_anonymous_role_is_written_in_the_file(literal):
    assert literal not in TEXT


def test_prometheus_gets_the_metrics_token_where_its_config_reads_it():
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())[
        "scrape_configs"
    ]
    web = next(job for job in scrape if job["job_name"] == "brokerage-web")
    assert web["authorization"]["type"] == "Bearer"
    token_file = web["authorization"]["credentials_file"]

    prometheus = SERVICES["prometheus"]
    script = prometheus["entrypoint"][-1]
    assert f'"$$METRICS_TOKEN" > {token_file}' in script
    assert "exec /bin/prometheus --config.file=/etc/prometheus/prometheus.yml" in script
    assert prometheus["environment"]["METRICS_TOKEN"].startswith(required("METRICS_TOKEN"))


def test_the_migrate_service_creates_no_admin_of_its_own():
    command = " ".join(SERVICES["migrate"]["command"])
    assert "seed_demo" in command
    assert "--password" not in command
    assert "--email" not in command


def test_every_upstream_image_is_pinned_to_an_exact_release():
    upstream = {
        name: service["image"]
        for name, service in SERVICES.items()
        if "image" in service and not service["image"].startswith("brokerage")
    }
    assert {"postgres", "redis", "kafka", "flower"} <= set(upstream)
    for name, image in upstream.items():
        # name:MAJOR.MINOR[.PATCH][-variant] (PostgreSQL numbers releases 16.9), or a
        # digest: never a floating tag such as postgres:16 or redis:7.
        assert re.search(r":v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$|@sha256:[0-9a-f]{64}$", image), (
            name,
            image,
        )
