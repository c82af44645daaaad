"""Score and check a set of chosen pairs against ../shared/spec/model.md, independently of any solver.

Every reference solver and the benchmark harness recompute objectives here
from the chosen pair indices instead of trusting a solver's own objective
value, so "the objectives agree" means the *placements* are equally good,
and a placement that breaks a hard constraint is caught whichever solver
produced it. Pure numpy: safe to import in the HiGHS worker process (see
``benchmarks/_highs.py`` for why that process must not load OR-Tools).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from placement.shares import exact_share
from placement.solver.problem import Options, Problem

# Shares are fractions such as 0.41; integer counts never sit closer than this
# to a share boundary without being on it, so 1e-9 only absorbs float noise.
EPS = 1e-9


def _as_index(chosen: np.ndarray | list[int]) -> np.ndarray:
    return np.asarray(chosen, dtype=np.int64).reshape(-1)


def host_counts(problem: Problem, chosen: np.ndarray) -> np.ndarray:
    """Candidates placed at each host."""
    return np.bincount(problem.pair_host[_as_index(chosen)], minlength=problem.n_hosts)


def target_counts(problem: Problem, chosen: np.ndarray) -> list[tuple[int, int]]:
    """(placed in scope, members placed in scope) for each target, in order."""
    idx = _as_index(chosen)
    hosts = problem.pair_host[idx]
    cands = problem.pair_cand[idx]
    out = []
    for t in problem.targets:
        in_scope = np.isin(hosts, t.scope_hosts)
        n = int(in_scope.sum())
        m = int(np.asarray(t.member, dtype=bool)[cands[in_scope]].sum())
        out.append((n, m))
    return out


def target_shortfall(t, n: int, m: int) -> float:
    """How far the members placed fall below min_share·n or rise above max_share·n (0 if met).

    Fractional, as ../shared/spec/model.md says: 0.35 × 7 − 2 = 0.45.
    """
    short = Fraction(0)
    if t.min_share is not None:
        short += max(Fraction(0), exact_share(t.min_share) * n - m)
    if t.max_share is not None:
        short += max(Fraction(0), m - exact_share(t.max_share) * n)
    return float(short)


def evaluate(problem: Problem, options: Options, chosen: np.ndarray) -> dict[str, float]:
    """The lexicographic objective of a placement (rank-sum objective).

    ``placed`` is level 1; ``rank_cost`` is level 2: Σ rank + Σ soft penalties
    (soft lower quotas when ``options.hard_min_placements`` is false, soft
    targets). ``rank_sum`` and ``penalty`` split level 2 for reports.
    """
    idx = _as_index(chosen)
    rank_sum = int(problem.pair_rank[idx].sum())
    penalty = 0.0
    if not options.hard_min_placements:
        short = np.maximum(problem.min_placements.astype(np.int64) - host_counts(problem, idx), 0)
        penalty += float(options.min_placement_weight) * float(short.sum())
    for t, (n, m) in zip(problem.targets, target_counts(problem, idx)):
        if not t.hard:
            penalty += float(t.weight) * target_shortfall(t, n, m)
    return {
        "placed": int(idx.size),
        "rank_cost": rank_sum + penalty,
        "rank_sum": rank_sum,
        "penalty": penalty,
    }


def violations(problem: Problem, options: Options, chosen: np.ndarray) -> list[str]:
    """Every hard constraint of ../shared/spec/model.md the placement breaks, in words (empty = feasible)."""
    idx = _as_index(chosen)
    out: list[str] = []
    if idx.size and (idx.min() < 0 or idx.max() >= problem.n_pairs):
        return [f"pair index out of range 0..{problem.n_pairs - 1}"]
    if np.unique(idx).size != idx.size:
        out.append("a pair is chosen twice")
    cands = problem.pair_cand[idx]
    per_cand = np.bincount(cands, minlength=problem.n_candidates)
    for c in np.flatnonzero(per_cand > 1):
        out.append(f"{problem.candidate_label(int(c))} placed {per_cand[c]} times")
    counts = host_counts(problem, idx)
    for h in np.flatnonzero(counts > problem.capacity):
        out.append(f"{problem.host_label(int(h))} over capacity: {counts[h]} > {problem.capacity[h]}")
    if options.hard_min_placements:
        for h in np.flatnonzero(counts < problem.min_placements):
            out.append(
                f"{problem.host_label(int(h))} below its hard lower quota: {counts[h]} < {problem.min_placements[h]}"
            )
    chosen_set = set(idx.tolist())
    for kind, pairs in (("required", problem.required), ("fixed", problem.fixed)):
        for p in np.asarray(pairs).reshape(-1).tolist():
            if p not in chosen_set:
                out.append(
                    f"{kind} pair {problem.candidate_label(int(problem.pair_cand[p]))} at "
                    f"{problem.host_label(int(problem.pair_host[p]))} not placed"
                )
    region_of = np.full(problem.n_candidates, -1, dtype=np.int64)
    region_of[cands] = problem.host_region[problem.pair_host[idx]]
    for a, b in np.asarray(problem.links).reshape(-1, 2).tolist():
        if region_of[a] != region_of[b]:
            out.append(
                f"linked {problem.candidate_label(a)} and {problem.candidate_label(b)} "
                "not both placed in one region, nor both unplaced"
            )
    for t, (n, m) in zip(problem.targets, target_counts(problem, idx)):
        if t.hard and n > 0 and target_shortfall(t, n, m) > EPS:
            out.append(f"hard target {t.name} ({t.scope}) missed: {m} of {n} placed")
    return out
