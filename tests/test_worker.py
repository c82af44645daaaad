"""``placement.worker``: one persistent child process, calls answered, overruns killed, deaths reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from placement.worker import TIMED_OUT, Worker, WorkerError, WorkerStartError
from tests.helpers import sleepers


@pytest.fixture
def worker():
    w = Worker("test")
    yield w
    w.close()


def test_calls_run_in_one_persistent_child(worker) -> None:
    first = worker.call(sleepers.pid)
    assert first != os.getpid()
    assert worker.call(sleepers.pid) == first == worker.pid
    assert worker.call(divmod, (7, 2)) == (3, 1)


def test_an_exception_in_the_child_is_raised_in_the_caller_and_the_child_serves_on(worker) -> None:
    pid = worker.call(sleepers.pid)
    with pytest.raises(ValueError, match="bad model"):
        worker.call(sleepers.raises)
    assert worker.call(sleepers.pid) == pid


def test_an_overrun_is_killed_and_the_next_call_gets_a_fresh_child(worker, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    worker.call(sleepers.pid)  # started: the time limit is the call's alone
    assert worker.call(sleepers.sleepy, (str(pid_file),), timeout=0.5) is TIMED_OUT
    killed = int(pid_file.read_text())
    assert worker.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(killed, 0)  # reaped, not a zombie
    assert worker.call(sleepers.pid) not in (None, killed)


def test_a_child_that_dies_is_reported_and_replaced(worker) -> None:
    worker.call(sleepers.pid)
    with pytest.raises(WorkerError, match="died"):
        worker.call(sleepers.dies)
    assert worker.call(divmod, (9, 4)) == (2, 1)


def test_a_child_that_cannot_start_is_reported() -> None:
    w = Worker("broken", preload=["placement.no_such_module"])
    with pytest.raises(WorkerStartError, match="could not start"):
        w.call(divmod, (1, 1))
    w.close()
