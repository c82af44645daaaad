"""A worker process for scenario variants: ``python -m placement.scenario.worker``.

Reads a pickled list of ``compare.Job`` from stdin, solves them one after
another and writes a pickled list of ``("ok", answer)`` or
``("error", exception)`` to stdout, where the answer is ``(index, the
variant's column of figures, solve seconds)``. Only the parent that started it talks to
it. Anything the solver prints goes to stderr, so stdout carries the answer
alone.
"""

from __future__ import annotations

import os
import pickle
import sys


def main() -> None:
    jobs = pickle.load(sys.stdin.buffer)
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # stray prints (Python or C) go to stderr, not into the answer
    sys.stdout = sys.stderr
    from ..errors import PlacementError
    from .compare import run_job

    out: list[tuple[str, object]] = []
    for job in jobs:
        try:
            out.append(("ok", run_job(job)))
        except PlacementError as exc:
            out.append(("error", exc))
    with os.fdopen(answer_fd, "wb") as fh:
        pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main()
