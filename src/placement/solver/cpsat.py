"""The exact placement model: one description, solved by CP-SAT (here) or HiGHS (``mip.py``).

A :class:`ModelSpec` is the full model of ../shared/spec/model.md over a chosen set of pair
variables - all pairs, or the few left after reduced-cost fixing
(``lagrange.fixings``) - with the other pairs fixed at 0 or 1. It carries one
lexicographic level's objective (an integer per pair plus the weighted soft
rows) and the levels above it as constraints (the placed count, earlier
rank counts, a penalty cap).

CP-SAT is the engine where exact integer arithmetic matters or where its
search wins: stability models (the stability module's no-blocking rows),
levels whose integer weights exceed what floating point holds safely (pair
costs above 10^6 outside a rank-count group; the groups of ``rank-maximal``/
``generous`` are built within ``levels.GROUP_LIMIT`` and go to HiGHS unless
stability puts them in CP-SAT), and any reduced model on request
(``engine="cp-sat"``). Settings, chosen by measurement on scheme-shaped
instances:

* reduced models: one worker, ``linearization_level=2`` (../shared/spec/model.md measured
  0.35 s against 20 s+ for the default), presolve off (0.7 s against 1.7 s
  at 1,000 candidates with the three target families, 10 s against 18 s at
  5,000). HiGHS still proves the 5,000 one in 6.5 s and the 20,000 one in
  24 s where CP-SAT had not closed the last rank unit after 200 s, even
  given the optimum as a hint, so HiGHS is the default there (``mip.py``).
* stability models: one worker, ``linearization_level=0`` (``solve.py``).

Always a fixed seed. One worker is deterministic; with more workers
``interleave_search`` keeps it so (measured slower on every model here).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .checks import Row
from .ortools_lazy import cp_model
from .problem import Problem


@dataclass(kw_only=True)
class ModelSpec:
    """One level of the exact model over the variables ``free``; ``fixed_one`` are placed for sure."""

    problem: Problem
    free: np.ndarray  # int64 pair indices that are variables
    fixed_one: np.ndarray  # int64 pair indices placed (required, fixed, and fixed by reduced costs)
    rows: list[Row]  # hard ("le"), equality ("eq") and soft rows
    pair_cost: np.ndarray  # int64 per pair: the level's objective coefficient (minimised)
    constant: int = 0
    soft_in_objective: bool = True  # soft rows' penalties count in this level's objective
    placed: int | None = None  # every placement has exactly this many placed
    penalty_cap: int | None = None  # sum of soft penalties at most this (an earlier "penalty" level)
    equalities: list[tuple[np.ndarray, int]] = field(default_factory=list)  # (cost per pair, value): earlier levels
    hint: np.ndarray | None = None  # 0/1 per pair
    # The objective is a group of rank counts (``levels.next_group``): large weights, but built so that floating
    # point holds every value exactly.
    count_group: bool = False

    def fixed_const(self, coef_pairs: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Split a row's terms into the free part and the constant the fixed pairs contribute."""
        is_free = np.zeros(self.problem.n_pairs, bool)
        is_free[self.free] = True
        is_one = np.zeros(self.problem.n_pairs, bool)
        is_one[self.fixed_one] = True
        keep = is_free[coef_pairs]
        const = int(coef[is_one[coef_pairs]].sum())
        return coef_pairs[keep], coef[keep], const

    def host_room(self) -> np.ndarray:
        load = np.bincount(self.problem.pair_host[self.fixed_one], minlength=self.problem.n_hosts)
        return self.problem.capacity.astype(np.int64) - load


@dataclass
class EngineResult:
    status: str  # OPTIMAL | FEASIBLE | INFEASIBLE | UNKNOWN
    x: np.ndarray | None  # 0/1 per pair (fixed pairs included)
    value: int | None  # the level's objective (constant included) of x
    bound: int | None  # proven lower bound on the level's objective over the spec's placements
    seconds: float
    engine: str
    build_seconds: float = 0.0  # of ``seconds``: building the model (CP-SAT), before the search's clock starts


def build_cpsat(spec: ModelSpec, extra: Callable[[cp_model.CpModel, list], None] | None = None):
    """CP-SAT model of ``spec``; returns (model, x per pair, objective expression).

    ``extra(model, x)`` may add constraints over the full pair list (the
    stability module's no-blocking rows use it); fixed pairs are constants.
    """
    p = spec.problem
    model = cp_model.CpModel()

    # Variables: one Boolean per free pair ("candidate c placed at host h"); fixed pairs are constants.
    x: list = [None] * p.n_pairs
    zero = model.new_constant(0)
    one = model.new_constant(1)
    for q in spec.free.tolist():
        x[q] = model.new_bool_var(f"x_{int(p.pair_cand[q])}_{int(p.pair_host[q])}")
    for q in spec.fixed_one.tolist():
        x[q] = one
    for q in range(p.n_pairs):
        if x[q] is None:
            x[q] = zero
    free = spec.free
    fc = p.pair_cand[free]
    fh = p.pair_host[free]

    # Each candidate is placed at most once.
    order = np.argsort(fc, kind="stable")
    starts = np.searchsorted(fc[order], np.arange(p.n_candidates + 1))
    for c in range(p.n_candidates):
        qs = free[order[starts[c] : starts[c + 1]]]
        if qs.size > 1:
            model.add_at_most_one([x[q] for q in qs.tolist()])

    # Each host takes at most its places (those left after the fixed placements).
    room = spec.host_room()
    order = np.argsort(fh, kind="stable")
    starts = np.searchsorted(fh[order], np.arange(p.n_hosts + 1))
    for h in range(p.n_hosts):
        qs = free[order[starts[h] : starts[h + 1]]]
        if qs.size > room[h]:
            model.add(cp_model.LinearExpr.sum([x[q] for q in qs.tolist()]) <= int(room[h]))

    # Side rows: hard targets and lower quotas (<= 0), links (== 0), soft ones priced.
    penalties = []
    for i, row in enumerate(spec.rows):
        qs, coef, const = spec.fixed_const(row.pairs, row.coef)
        const += row.const
        expr = cp_model.LinearExpr.weighted_sum([x[q] for q in qs.tolist()], coef.tolist()) + const
        if row.kind == "le":
            model.add(expr <= 0)
        elif row.kind == "eq":
            model.add(expr == 0)
        else:
            top = const + int(coef[coef > 0].sum())
            if top <= 0:
                continue
            short = model.new_int_var(0, top, f"short_{row.source or i}")
            model.add(short >= expr)
            penalties.append((row.weight, short))

    # The levels above this one, held at their optimum.
    if spec.placed is not None:
        model.add(cp_model.LinearExpr.sum([x[q] for q in free.tolist()]) == spec.placed - int(spec.fixed_one.size))
    for cost, value in spec.equalities:
        model.add(_linear(x, free, cost) + int(cost[spec.fixed_one].sum()) == value)
    penalty_expr = cp_model.LinearExpr.weighted_sum([s for _, s in penalties], [w for w, _ in penalties])
    if spec.penalty_cap is not None:
        model.add(penalty_expr <= spec.penalty_cap)

    # Objective: this level's cost, plus the soft penalties when they belong to this level.
    objective = _linear(x, free, spec.pair_cost) + int(spec.pair_cost[spec.fixed_one].sum()) + spec.constant
    if spec.soft_in_objective:
        objective = objective + penalty_expr
    model.minimize(objective)

    if extra is not None:
        extra(model, x)
    if spec.hint is not None:
        for q in free.tolist():
            model.add_hint(x[q], int(spec.hint[q]))
    return model, x, objective


def _linear(x: list, free: np.ndarray, cost: np.ndarray):
    c = cost[free]
    nz = np.flatnonzero(c)
    return cp_model.LinearExpr.weighted_sum([x[q] for q in free[nz].tolist()], c[nz].tolist())


def solve_cpsat(
    spec: ModelSpec,
    time_limit: float,
    *,
    workers: int = 1,
    presolve: bool = True,
    linearization: int = 2,
    extra: Callable[[cp_model.CpModel, list], None] | None = None,
) -> EngineResult:
    """Solve one level with CP-SAT (exact integer arithmetic; proofs are exact)."""
    t0 = time.perf_counter()
    model, x, _ = build_cpsat(spec, extra)
    built = time.perf_counter() - t0
    solver = cp_model.CpSolver()
    prm = solver.parameters
    # The limit covers building the model too (stability rows at 20,000 candidates take seconds to build).
    prm.max_time_in_seconds = max(0.01, float(time_limit) - built)
    # Ctrl-C belongs to the caller (rounds.interruptible stops the command and stores nothing);
    # CP-SAT's own handler would turn an interrupted search into something that looks like an answer.
    prm.catch_sigint_signal = False
    prm.num_workers = max(1, int(workers))
    if workers > 1:
        prm.interleave_search = True  # deterministic with several workers
    prm.linearization_level = linearization
    prm.random_seed = 0
    prm.cp_model_presolve = presolve
    status = solver.solve(model)
    seconds = time.perf_counter() - t0
    name = {cp_model.OPTIMAL: "OPTIMAL", cp_model.FEASIBLE: "FEASIBLE", cp_model.INFEASIBLE: "INFEASIBLE"}.get(
        status, "UNKNOWN"
    )
    if name in ("OPTIMAL", "FEASIBLE"):
        xs = np.zeros(spec.problem.n_pairs, np.int64)
        xs[spec.fixed_one] = 1
        xs[spec.free] = [solver.boolean_value(x[q]) for q in spec.free.tolist()]
        value = int(round(solver.objective_value))
        bound = value if name == "OPTIMAL" else int(np.ceil(solver.best_objective_bound - 1e-6))
        return EngineResult(name, xs, value, bound, seconds, "cp-sat", built)
    return EngineResult(name, None, None, None, seconds, "cp-sat", built)
