"""Reproducible installs: every direct requirement is in its lock at the same version,
every locked package carries hashes, and every install goes through a lock."""

import re

import pytest

from tests.helpers import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-\[\],]+)==(\S+)", re.MULTILINE)


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.split("[")[0]).lower()


def pins(text: str) -> dict[str, str]:
    return {canonical(name): version for name, version in PIN.findall(text)}


@pytest.mark.parametrize(
    ("source", "lock"),
    [("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")],
)
def test_the_lock_holds_every_direct_requirement_at_its_version(source, lock):
    direct = pins((ROOT / source).read_text())
    locked = pins((ROOT / lock).read_text())
    assert direct, source
    stale = {name: (v, locked.get(name)) for name, v in direct.items() if locked.get(name) != v}
    assert not stale, f"run `make lock`: {stale}"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_locked_package_has_a_hash(lock):
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text())
    packages = [entry for entry in entries if PIN.match(entry)]
    assert len(packages) > 50
    assert all("--hash=sha256:" in entry for entry in packages)


def test_the_runtime_lock_agrees_with_the_development_lock():
    runtime = pins((ROOT / "requirements.lock").read_text())
    development = pins((ROOT / "requirements-dev.lock").read_text())
    assert {name: development.get(name) for name in runtime} == runtime


def test_installs_use_the_locks_with_hashes_required():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q --require-hashes -r requirements-dev.lock" in makefile
    dockerfile = ROOT / "Dockerfile"
    if dockerfile.exists():  # the test image leaves deployment files out (.dockerignore)
        text = dockerfile.read_text()
        assert "--require-hashes -r requirements.lock" in text
        assert "--require-hashes -r requirements-dev.lock" in text
        assert not re.search(r"pip install[^\n]*-r requirements(-dev)?\.txt", text)
