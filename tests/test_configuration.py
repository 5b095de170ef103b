import os
import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT


def test_every_setting_read_from_the_environment_is_documented_in_env_example():
    settings_py = "".join(p.read_text() for p in (ROOT / "brokerage" / "settings").glob("*.py"))
    read = set(re.findall(r'env\.\w+\("([A-Z0-9_]+)"', settings_py))
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no env.<type>(...) calls found: the pattern is out of date"
    assert sorted(read - documented) == []


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "brokerage.settings.production",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "broker.example.com",
}


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with only `env` (and PATH) set."""
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DEBUG)"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_load_with_a_real_key_and_named_hosts():
    loaded = load_settings(PRODUCTION)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "False"


@pytest.mark.parametrize(
    "unsafe",
    [
        {"SECRET_KEY": ""},
        {"SECRET_KEY": "short"},
        {"SECRET_KEY": "dev-only-insecure-secret-key-change-me"},
        {"SECRET_KEY": "replace-me" * 6},
        {"ALLOWED_HOSTS": ""},
        {"ALLOWED_HOSTS": "*"},
    ],
)
def test_production_settings_refuse_to_load_unsafe_values(unsafe):
    loaded = load_settings({**PRODUCTION, **unsafe})
    assert loaded.returncode != 0
    assert "ImproperlyConfigured" in loaded.stderr


@pytest.mark.parametrize("module", ["local", "test", "production"])
def test_importing_the_settings_creates_no_folder(module):
    program = (
        "import os, pathlib\n"
        "def refuse(*a, **k): raise SystemExit(f'settings created a folder: {a}')\n"
        "os.mkdir = os.makedirs = pathlib.Path.mkdir = refuse\n"
        "from django.conf import settings\n"
        "print(settings.STATIC_ROOT)\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            **PRODUCTION,
            "DJANGO_SETTINGS_MODULE": f"brokerage.settings.{module}",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.returncode == 0, loaded.stderr


def test_the_production_example_passes_djangos_deployment_checks():
    example = (ROOT / "deploy" / "production.env.example").read_text()
    env = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    env["SECRET_KEY"] = "k" * 20 + "Q9x-" * 10  # 60 characters, not a placeholder
    checked = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("module", "env", "lifetime"),
    [
        ("production", {}, "2592000"),  # a stolen token works for 30 days at most
        ("production", {"AUTH_TOKEN_TTL": "3600"}, "3600"),
        ("local", {}, "0"),  # the original API's clients: until revoked
    ],
)
def test_api_tokens_expire_by_default_in_production(module, env, lifetime):
    loaded = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.AUTH_TOKEN_TTL)"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            **PRODUCTION,
            "DJANGO_SETTINGS_MODULE": f"brokerage.settings.{module}",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == lifetime
