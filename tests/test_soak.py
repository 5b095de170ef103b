"""The chaos soak's short version (`make soak` runs it for SOAK_MINUTES): a minute of
mixed load on the whole stack while the bridge, the worker, beat, Redis, the broker and
PostgreSQL are killed. It starts its own servers on free ports; its checks (nothing
lost or doubled, reconcile clean, one notification per outcome) are its exit code."""

import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.pipeline


@pytest.mark.timeout(900)
def test_a_minute_of_faults_under_load_loses_and_doubles_nothing():
    run = subprocess.run(
        [sys.executable, "bench/soak.py", "--seconds", "60", "--fault-every", "8"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-4000:]
    assert "passed: nothing lost" in run.stdout
