"""Stand-ins for HiGHS that the worker process runs (importing nothing heavy, so they start fast there)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def sleepy(pid_file: str, *args):
    """Deep in a presolve that never looks at its clock: records its process id, then sleeps."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(120)
    return 0, None, None, None


def raises(*args):
    raise ValueError("bad model")


def dies(*args):
    os._exit(3)  # as a crash in native code would


def pid(*args) -> int:
    return os.getpid()
