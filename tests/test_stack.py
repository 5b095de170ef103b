"""`make run`'s supervisor: a process that dies is reported and restarted, and a stop
ends every process it started, the ones a process left behind included."""

import os
import signal
import sys
import threading
from collections.abc import Iterator

import pytest

from deploy.stack import Supervisor, procfile
from tests.helpers import wait_until

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(600)"]


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    supervisor = Supervisor(dict(os.environ))
    yield supervisor
    supervisor.stop()


def watch(supervisor: Supervisor) -> threading.Thread:
    watcher = threading.Thread(target=supervisor.supervise, daemon=True)
    watcher.start()
    return watcher


def test_a_process_that_dies_is_reported_and_restarted(supervisor, capsys) -> None:  # type: ignore[no-untyped-def]
    process = supervisor.add("sleeper", SLEEPER)
    process.start()
    first = process.popen.pid
    watch(supervisor)

    os.kill(first, signal.SIGKILL)

    wait_until(
        lambda: process.popen.pid != first and process.exited() is None,
        timeout=10,
        what="the sleeper to be restarted",
    )
    assert "sleeper exited with code -9" in capsys.readouterr().out


def test_stop_ends_the_process_and_what_it_started(supervisor) -> None:  # type: ignore[no-untyped-def]
    # A shell and its child: signalling only the shell would leave the child running.
    script = "sleep 600 & wait"
    process = supervisor.add("parent", ["/bin/sh", "-c", script])
    process.start()
    supervisor.stop()
    assert process.exited() is not None

    def group_gone() -> bool:
        try:
            os.killpg(process.popen.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(group_gone, timeout=10, what="the shell's child to end")


def test_procfile_lists_every_process_of_make_run() -> None:
    names = [name for name, _ in procfile()]
    assert names == ["web", "bridge", "worker", "notifier", "beat", "bot"]
