"""HiGHS MIP of the full placement model (../shared/spec/model.md), run in a process without OR-Tools.

Why a separate process: OR-Tools 9.15 wheels ship their own ``libhighs.so.1``
(HiGHS 1.12) and highspy 1.15 ships another with the same soname. Whichever
is loaded first is reused by the dynamic loader for the other, and the second
import then fails with an undefined symbol (``import highspy`` after OR-Tools,
or any OR-Tools solver after ``import highspy``). So this module imports only
numpy, highspy and the array contract, and ``benchmarks.references.highs_mip``
calls it in a worker process.

The formulation is the one a modeller would write first:
- x[p] binary for each eligible pair p;
- each candidate at most once; each host at most its capacity (and at least
  its lower quota when those are hard; else a shortfall column u[h] ≥ 0 with
  Σ x[h] + u[h] ≥ min_placements[h], penalised at level 2);
- required and fixed pairs: lower bound 1;
- linked candidates a, b: for every region r, Σ x[a at hosts in r] =
  Σ x[b at hosts in r] (with "at most once" that is "same region or neither");
- hard targets: Σ_{p in scope} (member[c_p] − min_share)·x[p] ≥ 0 and
  Σ (member − max_share)·x ≤ 0 (trivially true when nothing is placed in the
  scope, matching ../shared/spec/model.md's "every scope with at least one placement");
- soft targets: shortfall s ≥ min_share·N − M, excess o ≥ M − max_share·N,
  both ≥ 0, weight × each at level 2.
Lexicographic: solve max Σ x; then add Σ x ≥ that optimum and minimise
Σ rank·x + Σ weight·shortfall, starting from the first solve's answer.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np

from placement.shares import exact_share  # pure Python: loads no OR-Tools

if TYPE_CHECKING:
    from placement.solver.problem import Options, Problem

INF = highspy.kHighsInf


def solve_plain(plain: dict[str, Any], options: dict[str, Any], time_limit: float) -> dict[str, Any]:
    """:func:`solve_highs` on the output of ``benchmarks._worker.to_plain``."""
    problem = SimpleNamespace(**{**plain, "targets": [SimpleNamespace(**t) for t in plain["targets"]]})
    problem.n_pairs = int(np.asarray(plain["pair_cand"]).shape[0])
    return solve_highs(problem, SimpleNamespace(**options), time_limit)  # type: ignore[arg-type]


class _Rows:
    """Rows in CSR form, appended in blocks."""

    def __init__(self) -> None:
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.index: list[np.ndarray] = []
        self.value: list[np.ndarray] = []

    def add(self, lower: float, upper: float, index: np.ndarray, value: np.ndarray) -> None:
        self.lower.append(lower)
        self.upper.append(upper)
        self.index.append(np.asarray(index, dtype=np.int32))
        self.value.append(np.asarray(value, dtype=np.float64))

    def add_groups(self, key: np.ndarray, n_groups: int, lower: np.ndarray, upper: np.ndarray) -> None:
        """One row per group g: Σ_{p: key[p] = g} x[p] within [lower[g], upper[g]]."""
        order = np.argsort(key, kind="stable").astype(np.int32)
        starts = np.searchsorted(key[order], np.arange(n_groups + 1))
        for g in range(n_groups):
            seg = order[starts[g] : starts[g + 1]]
            self.add(float(lower[g]), float(upper[g]), seg, np.ones(seg.size))

    def pass_to(self, h: highspy.Highs) -> None:
        if not self.lower:
            return
        lengths = np.array([i.size for i in self.index], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32)
        index = np.concatenate(self.index).astype(np.int32) if lengths.sum() else np.zeros(0, np.int32)
        value = np.concatenate(self.value) if lengths.sum() else np.zeros(0)
        h.addRows(
            len(self.lower),
            np.array(self.lower, dtype=np.float64),
            np.array(self.upper, dtype=np.float64),
            int(index.size),
            starts,
            index,
            value,
        )


def _status(h: highspy.Highs) -> str:
    ms = h.getModelStatus()
    if ms == highspy.HighsModelStatus.kOptimal:
        return "OPTIMAL"
    if ms == highspy.HighsModelStatus.kInfeasible:
        return "INFEASIBLE"
    # 2 = kSolutionStatusFeasible: stopped (time limit) with an incumbent.
    if int(h.getInfo().primal_solution_status) == 2:
        return "FEASIBLE"
    return "UNKNOWN"


def solve_highs(problem: Problem, options: Options, time_limit: float) -> dict[str, Any]:
    """Build and solve the two-level MIP. Returns plain data (picklable)."""
    t0 = time.perf_counter()
    P, C, H = problem.n_pairs, problem.n_candidates, problem.n_hosts
    pc = problem.pair_cand.astype(np.int64)
    ph = problem.pair_host.astype(np.int64)

    # -- variables: x per pair, then shortfall columns of soft constraints --
    lower = np.zeros(P)
    forced = np.concatenate([np.asarray(problem.required), np.asarray(problem.fixed)]).astype(np.int64)
    lower[forced] = 1.0
    col_lower = [lower]
    col_upper = [np.ones(P)]
    level2_cost = [problem.pair_rank.astype(np.float64)]
    n_cols = P
    rows = _Rows()

    # Each candidate placed at most once.
    rows.add_groups(pc, C, np.full(C, -INF), np.ones(C))
    # Each host at most its capacity; at least its lower quota when those are hard.
    quota_lo = problem.min_placements.astype(np.float64) if options.hard_min_placements else np.full(H, -INF)
    rows.add_groups(ph, H, quota_lo, problem.capacity.astype(np.float64))
    # Soft lower quotas: Σ x[h] + u[h] ≥ min_placements[h], u[h] penalised.
    if not options.hard_min_placements:
        for h in np.flatnonzero(problem.min_placements > 0).tolist():
            seg = np.flatnonzero(ph == h)
            rows.add(float(problem.min_placements[h]), INF, np.append(seg, n_cols), np.ones(seg.size + 1))
            col_lower.append(np.zeros(1))
            col_upper.append(np.full(1, INF))
            level2_cost.append(np.full(1, float(options.min_placement_weight)))
            n_cols += 1
    # Linked candidates: the same number placed in every region (so same region, or neither).
    pair_region = problem.host_region[ph].astype(np.int64)
    for a, b in np.asarray(problem.links).reshape(-1, 2).tolist():
        pa, pb = np.flatnonzero(pc == a), np.flatnonzero(pc == b)
        for r in np.union1d(pair_region[pa], pair_region[pb]).tolist():
            ia, ib = pa[pair_region[pa] == r], pb[pair_region[pb] == r]
            rows.add(0.0, 0.0, np.concatenate([ia, ib]), np.concatenate([np.ones(ia.size), -np.ones(ib.size)]))
    # Targets: members placed in the scope against a share of everyone placed there.
    for t in problem.targets:
        seg = np.flatnonzero(np.isin(ph, t.scope_hosts))
        member = np.asarray(t.member, dtype=np.float64)[pc[seg]]
        for share, is_min in ((t.min_share, True), (t.max_share, False)):
            if share is None:
                continue
            # The share exactly as written, q/D (placement.shares: 0.33333 is not 1/3), in whole numbers.
            f = exact_share(share)
            q, D = float(f.numerator), float(f.denominator)
            coef = D * member - q  # Σ coef·x = D·M − q·N
            if t.hard:
                if is_min:
                    rows.add(0.0, INF, seg, coef)
                else:
                    rows.add(-INF, 0.0, seg, coef)
            else:
                # D·shortfall ≥ q·N − D·M  (min)   /   D·excess ≥ D·M − q·N  (max)
                row_coef = -coef if is_min else coef
                rows.add(-INF, 0.0, np.append(seg, n_cols), np.append(row_coef, -D))
                col_lower.append(np.zeros(1))
                col_upper.append(np.full(1, INF))
                level2_cost.append(np.full(1, float(t.weight)))
                n_cols += 1

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("random_seed", 0)
    cl, cu = np.concatenate(col_lower), np.concatenate(col_upper)
    level1_cost = np.zeros(n_cols)
    level1_cost[:P] = -1.0  # maximise placements
    h.addCols(n_cols, level1_cost, cl, cu, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    if P:
        h.changeColsIntegrality(P, np.arange(P, dtype=np.int32), np.ones(P, dtype=np.uint8))
    rows.pass_to(h)
    build_seconds = time.perf_counter() - t0

    # -- level 1: most candidates placed --
    h.setOptionValue("time_limit", max(0.01, time_limit - (time.perf_counter() - t0)))
    h.run()
    status1 = _status(h)
    level1_seconds = time.perf_counter() - t0 - build_seconds
    result: dict[str, Any] = {
        "status": status1,
        "chosen": np.zeros(0, np.int32),
        "bound": {},
        "levels": [status1],
        "build_seconds": build_seconds,
        "level_seconds": [level1_seconds],
        "version": h.version(),
    }
    if status1 in ("INFEASIBLE", "UNKNOWN"):
        result["seconds"] = time.perf_counter() - t0
        return result
    x1 = np.asarray(h.getSolution().col_value)
    placed = int(round(float(x1[:P].sum())))
    result["bound"]["placed"] = (
        float(placed) if status1 == "OPTIMAL" else float(np.floor(-h.getInfo().mip_dual_bound + 1e-6))
    )

    # -- level 2: with placements held at that number, least rank cost + soft penalties --
    row = np.arange(P, dtype=np.int32)
    h.addRow(float(placed), INF, P, row, np.ones(P))
    h.changeColsCost(n_cols, np.arange(n_cols, dtype=np.int32), np.concatenate(level2_cost))
    h.setSolution(n_cols, np.arange(n_cols, dtype=np.int32), x1)
    remaining = time_limit - (time.perf_counter() - t0)
    if remaining > 0.01:
        h.setOptionValue("time_limit", remaining)
        h.run()
        status2 = _status(h)
        x2 = np.asarray(h.getSolution().col_value) if status2 in ("OPTIMAL", "FEASIBLE") else x1
        bound2 = float(h.getInfo().mip_dual_bound)
    else:
        status2, x2, bound2 = "UNKNOWN", x1, float("-inf")
    result["levels"].append(status2)
    result["level_seconds"].append(time.perf_counter() - t0 - build_seconds - level1_seconds)
    result["status"] = "OPTIMAL" if (status1 == "OPTIMAL" and status2 == "OPTIMAL") else "FEASIBLE"
    result["bound"]["rank_cost"] = bound2
    result["chosen"] = np.flatnonzero(x2[:P] > 0.5).astype(np.int32)
    result["seconds"] = time.perf_counter() - t0
    return result
