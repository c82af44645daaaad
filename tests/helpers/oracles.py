"""Independent readings of the spec that the solver's answers are checked against."""

from __future__ import annotations

import numpy as np

from placement.solver.cpsat import ModelSpec
from placement.solver.problem import Problem


def brute_blocking(problem: Problem, chosen: list[int]) -> list[tuple[int, int]]:
    """../shared/spec/fairness.md §7 read literally, one pair at a time."""
    got = {int(problem.pair_cand[p]): int(p) for p in chosen}
    at: dict[int, list[int]] = {}
    for p in chosen:
        at.setdefault(int(problem.pair_host[p]), []).append(int(p))
    out = []
    for p in range(problem.n_pairs):
        c, h = int(problem.pair_cand[p]), int(problem.pair_host[p])
        cand_wants = c not in got or problem.pair_rank[p] < problem.pair_rank[got[c]]
        given = at.get(h, [])
        host_wants = len(given) < problem.capacity[h] or any(
            problem.pair_host_rank[p] < problem.pair_host_rank[q] for q in given
        )
        if cand_wants and host_wants:
            out.append((c, h))
    return sorted(out)


def whole_model_spec(problem, **kw) -> ModelSpec:
    """The whole model of ``problem``: every pair a variable, rank cost minimised."""
    free = np.arange(problem.n_pairs, dtype=np.int64)
    cost = problem.pair_rank.astype(np.int64)
    return ModelSpec(problem=problem, free=free, fixed_one=np.zeros(0, np.int64), rows=[], pair_cost=cost, **kw)
