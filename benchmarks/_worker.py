"""The HiGHS worker process: nothing here imports highspy, OR-Tools or placement at load.

``benchmarks.references.highs_mip`` starts ``python -m benchmarks._worker``
once and sends it problems over a pipe (length-prefixed pickles). The worker
loads highspy (``benchmarks._highs``) in a process that never loads OR-Tools:
the two ship different ``libhighs.so.1`` builds that cannot share a process.
Arguments are plain dicts of arrays from :func:`to_plain`, so unpickling them
never imports ``placement.solver`` either (which may load OR-Tools at package
level). A subprocess rather than ``multiprocessing`` so that callers' scripts
need no ``if __name__ == "__main__"`` guard.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from dataclasses import asdict, fields
from typing import IO, Any

TARGET_FIELDS = ("scope_hosts", "member", "min_share", "max_share", "hard", "weight")


def to_plain(problem: Any, options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Problem and Options (dataclasses) as dicts of arrays and numbers."""
    plain = {f.name: getattr(problem, f.name) for f in fields(problem) if f.name != "targets"}
    plain["targets"] = [{k: getattr(t, k) for k in TARGET_FIELDS} for t in problem.targets]
    return plain, asdict(options)


def run_highs(plain: dict[str, Any], options: dict[str, Any], time_limit: float) -> dict[str, Any]:
    from benchmarks._highs import solve_plain  # noqa: PLC0415 - loads highspy: worker processes only

    return solve_plain(plain, options, time_limit)


def _send(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _recv(stream: IO[bytes]) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (n,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(n))


class Worker:
    """A long-lived ``python -m benchmarks._worker`` child, restarted if it dies."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        return subprocess.Popen(
            [sys.executable, "-m", "benchmarks._worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )

    def call(self, plain: dict[str, Any], options: dict[str, Any], time_limit: float) -> dict[str, Any]:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            assert self._proc.stdin is not None and self._proc.stdout is not None
            try:
                _send(self._proc.stdin, (plain, options, time_limit))
                ok, payload = _recv(self._proc.stdout)
            except (EOFError, BrokenPipeError) as exc:
                code = self._proc.wait()
                self.close()
                raise RuntimeError(f"HiGHS worker process died (exit code {code})") from exc
        if not ok:
            raise RuntimeError(f"HiGHS worker failed:\n{payload}")
        return payload

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()  # EOF: the worker's loop ends
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    # The protocol owns the original stdout; anything a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    while True:
        try:
            plain, options, limit = _recv(inp)
        except EOFError:
            return
        try:
            _send(out, (True, run_highs(plain, options, limit)))
        except Exception:  # report, keep serving
            import traceback  # noqa: PLC0415

            _send(out, (False, traceback.format_exc()))


if __name__ == "__main__":
    main()
