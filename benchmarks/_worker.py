"""What the HiGHS worker process runs: nothing here imports highspy, OR-Tools or placement at load.

``benchmarks.references.highs_mip`` sends :func:`run_highs` calls to one
persistent ``placement.worker.Worker`` - the same worker process the solver
uses to cap HiGHS's time - which loads highspy (``benchmarks._highs``) in a
process that never loads OR-Tools: the two ship different ``libhighs.so.1``
builds that cannot share a process. Arguments are plain dicts of arrays from
:func:`to_plain`, so unpickling them never imports ``placement.solver`` either
(which loads OR-Tools at package level).
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

TARGET_FIELDS = ("scope_hosts", "member", "min_share", "max_share", "hard", "weight")


def to_plain(problem: Any, options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Problem and Options (dataclasses) as dicts of arrays and numbers."""
    plain = {f.name: getattr(problem, f.name) for f in fields(problem) if f.name != "targets"}
    plain["targets"] = [{k: getattr(t, k) for k in TARGET_FIELDS} for t in problem.targets]
    return plain, asdict(options)


def run_highs(plain: dict[str, Any], options: dict[str, Any], time_limit: float) -> dict[str, Any]:
    from benchmarks._highs import solve_plain  # loads highspy: worker processes only

    return solve_plain(plain, options, time_limit)
