"""One persistent worker process: run a function there, and kill it if it overruns its time limit.

Some work cannot be trusted to keep its own clock (HiGHS reads its clock only
now and then: its presolve once ran 87 s past a 60 s limit) or cannot share a
process with the caller (the benchmarks' highspy and OR-Tools ship clashing
``libhighs.so.1`` builds). :class:`Worker` keeps one child, ``python -m
placement.worker``, started on first use and reused for every call; a call
that overruns is answered with :data:`TIMED_OUT` and the child is killed,
reaped and started afresh on the next call.

The child is a plain subprocess, not ``multiprocessing``: it never re-runs
the caller's main script, needs no ``if __name__ == "__main__"`` guard in
it, and imports only what a call needs (plus ``preload``, imported once at
start). Calls are ``(function, args)`` pickled by reference, so the function
must be importable in the child: the child gets the caller's ``sys.path``.
It ignores Ctrl-C (the caller decides what an interrupt means) and exits when
the caller goes away.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import IO, Any

# Seconds a child may take to start and import its ``preload`` (OR-Tools, scipy: about a second alone,
# several on a loaded machine). Start-up is not charged to a call's time limit.
START_TIMEOUT = 120.0


class _TimedOut:
    def __repr__(self) -> str:
        return "TIMED_OUT"


TIMED_OUT: Any = _TimedOut()  # what :meth:`Worker.call` returns when the call overran and the child was killed


class WorkerError(RuntimeError):
    """The worker died during a call (out of memory, a crash in native code)."""


class WorkerStartError(WorkerError):
    """No worker process could be started here (or it failed to import its preload)."""


def _send(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _recv(stream: IO[bytes]) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (n,) = struct.unpack("<Q", head)
    data = stream.read(n)
    if len(data) < n:
        raise EOFError
    return pickle.loads(data)


_live: weakref.WeakSet[Worker] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for w in list(_live):
        w.close()


class Worker:
    """A long-lived child process that runs ``function(*args)`` calls one at a time."""

    def __init__(self, name: str, preload: Sequence[str] = ()):
        self.name = name
        self.preload = tuple(preload)
        self._proc: subprocess.Popen[bytes] | None = None
        self._replies: queue.Queue[tuple[bool, Any]] = queue.Queue()
        self._lock = threading.Lock()
        _live.add(self)

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        return subprocess.Popen(
            [sys.executable, "-m", "placement.worker", *self.preload],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def _reader(self, proc: subprocess.Popen[bytes]) -> None:
        """Hands each reply of ``proc`` to the caller waiting for it; an end of file is a death."""
        assert proc.stdout is not None
        while True:
            try:
                reply = _recv(proc.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                self._replies.put((False, EOFError()))
                return
            self._replies.put(reply)

    def _start(self, start_timeout: float) -> subprocess.Popen[bytes]:
        try:
            proc = self._spawn()
        except OSError as exc:
            raise WorkerStartError(f"could not start the {self.name} worker process: {exc}") from exc
        self._replies = queue.Queue()
        threading.Thread(target=self._reader, args=(proc,), name=f"{self.name}-reader", daemon=True).start()
        try:
            ok, value = self._replies.get(timeout=start_timeout)
        except queue.Empty:
            self._kill(proc)
            raise WorkerStartError(f"the {self.name} worker process did not start within {start_timeout:g} s") from None
        if not ok:
            self._kill(proc)
            raise WorkerStartError(f"the {self.name} worker process could not start: {value}")
        return proc

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        """Kill and reap: never left running past this call, no zombie."""
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def call(
        self,
        function: Callable[..., Any],
        args: tuple = (),
        timeout: float | None = None,
        start_timeout: float = START_TIMEOUT,
    ) -> Any:
        """``function(*args)`` in the child: its result, or :data:`TIMED_OUT` if it ran past ``timeout``
        seconds (the child is then killed). An exception in the child is raised here; a child that dies
        raises :class:`WorkerError`; one that is not up within ``start_timeout`` seconds (when this call
        has to start it) raises :class:`WorkerStartError`."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start(start_timeout)
            proc = self._proc
            assert proc.stdin is not None
            try:
                _send(proc.stdin, (function, args))
                deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
                try:
                    ok, value = self._replies.get(
                        timeout=None if deadline is None else max(0.0, deadline - time.monotonic())
                    )
                except queue.Empty:
                    self._kill(proc)
                    self._proc = None
                    return TIMED_OUT
            except OSError as exc:  # the pipe broke: the child died between calls
                self._kill(proc)
                self._proc = None
                raise WorkerError(f"the {self.name} worker process died: {exc}") from exc
            except BaseException:
                # Interrupted (Ctrl-C): the child's state is unknown, so it goes.
                self._kill(proc)
                self._proc = None
                raise
            if not ok and isinstance(value, EOFError):
                code = proc.wait()
                self._kill(proc)
                self._proc = None
                raise WorkerError(f"the {self.name} worker process died (exit code {code})")
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """End the child: end of input first (it exits between calls), then a kill."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        self._kill(proc)


# --------------------------------------------------------------------------- the child


def _exit_with_parent(parent: int) -> None:
    # A caller killed outright (SIGKILL) cannot kill us, and a long call never reads its stdin: watch.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def serve(preload: Sequence[str] = ()) -> None:
    """The child's loop: read ``(function, args)``, answer ``(True, result)`` or ``(False, exception)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The protocol owns the original stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    try:
        for module in preload:
            __import__(module)
    except Exception as exc:  # noqa: BLE001 - reported to the caller, which raises WorkerError
        _send(out, (False, repr(exc)))
        return
    _send(out, (True, "ready"))
    while True:
        try:
            function, args = _recv(inp)
        except EOFError:
            return
        except Exception as exc:  # noqa: BLE001 - a call whose function cannot be imported here
            _reply(out, False, exc)
            continue
        try:
            result = function(*args)
        except Exception as exc:  # noqa: BLE001 - raised again in the caller
            _reply(out, False, exc)
            continue
        _reply(out, True, result)


def _reply(out: IO[bytes], ok: bool, value: Any) -> None:
    try:
        _send(out, (ok, value))
    except Exception:  # noqa: BLE001 - a result or exception that does not pickle
        _send(out, (False, RuntimeError(repr(value))))


if __name__ == "__main__":
    serve(sys.argv[1:])
