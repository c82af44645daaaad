"""A plain CP-SAT model of ../shared/spec/model.md with stability, written from the spec, not from the solver.

The reference for ``--stability strict`` with tied host orders and for
``--stability prefer`` (issue 18): tests compare the solver's optimum with it
on random tied instances, and the benchmark gives it twice the solver's time
on the binding-target scheme and compares blocking pairs. It shares nothing
with ``placement.solver`` but the ``Problem`` arrays and the one reading of a
share (``placement.shares.exact_share``).

The model, straight from the spec:

- x[p] Boolean per eligible pair; each candidate at most once, each host at
  most its capacity; required and fixed pairs placed;
- linked candidates: per region, placed-in-region equal for both;
- hard targets a/b: b*members >= a*placed (min), b*members <= a*placed (max)
  per scope; hard lower quotas when asked, else priced;
- weak stability (hosts' ties never block), pair p = (c, h), written with a
  reified "h is full of candidates it likes at least as much as c" literal:
  c has h or better, or that literal, or (``prefer``) p is a blocking pair.

Levels, each solved with the ones above held: fewest blocking pairs
(``prefer``), most placed, least rank cost (Σ rank + soft penalties, in
integer units of 1/K). A level not proven in its time ends the solve there.

:func:`brute_force_stable` enumerates tiny instances with the same levels,
checking every placement with ``benchmarks.evaluate`` and :func:`weak_blocking`.
"""

from __future__ import annotations

import itertools
import math
import time
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from benchmarks.evaluate import evaluate, violations
from placement.shares import exact_share
from placement.solver.problem import Options, Problem


def weak_blocking(problem: Problem, chosen) -> list[tuple[int, int]]:
    """(candidate, host) pairs that block ``chosen`` under weak stability: the candidate is unplaced or ranks
    the host above their placement, and the host has a free place or has someone it ranks strictly below them."""
    chosen = [int(p) for p in chosen]
    got = {int(problem.pair_cand[p]): p for p in chosen}
    at: dict[int, list[int]] = {}
    for p in chosen:
        at.setdefault(int(problem.pair_host[p]), []).append(p)
    out = []
    for p in range(problem.n_pairs):
        c, h = int(problem.pair_cand[p]), int(problem.pair_host[p])
        if problem.capacity[h] <= 0:
            continue
        if c in got and problem.pair_rank[got[c]] <= problem.pair_rank[p]:
            continue
        given = at.get(h, [])
        if len(given) < problem.capacity[h] or any(
            problem.pair_host_rank[q] > problem.pair_host_rank[p] for q in given
        ):
            out.append((c, h))
    return sorted(out)


def _scale(problem: Problem, options: Options) -> int:
    """K: one rank unit is K objective units, so every soft penalty is an integer."""
    k = 1
    for t in problem.targets:
        if t.hard:
            continue
        w = Fraction(t.weight).limit_denominator(10**6)
        for s in (t.min_share, t.max_share):
            if s is not None:
                k = math.lcm(k, exact_share(s).denominator * w.denominator)
    if not options.hard_min_placements:
        k = math.lcm(k, Fraction(options.min_placement_weight).limit_denominator(10**6).denominator)
    return k


def model(problem: Problem, options: Options) -> tuple[cp_model.CpModel, list, dict[str, cp_model.LinearExpr]]:
    """The model and its level expressions (``blocking``, ``placed``, ``rank_cost`` in 1/K units)."""
    m = cp_model.CpModel()
    P, C, H = problem.n_pairs, problem.n_candidates, problem.n_hosts
    cand, host = problem.pair_cand.tolist(), problem.pair_host.tolist()
    x = [m.new_bool_var(f"x{p}") for p in range(P)]
    of_cand: list[list[int]] = [[] for _ in range(C)]
    at_host: list[list[int]] = [[] for _ in range(H)]
    for p in range(P):
        of_cand[cand[p]].append(p)
        at_host[host[p]].append(p)
    for c in range(C):
        m.add_at_most_one([x[p] for p in of_cand[c]])
    count = [sum(x[p] for p in at_host[h]) for h in range(H)]
    for h in range(H):
        m.add(count[h] <= int(problem.capacity[h]))
    for p in list(np.asarray(problem.required).tolist()) + list(np.asarray(problem.fixed).tolist()):
        m.add(x[int(p)] == 1)
    for a, b in np.asarray(problem.links).reshape(-1, 2).tolist():
        for r in range(int(problem.host_region.max(initial=0)) + 1):
            m.add(
                sum(x[p] for p in of_cand[a] if problem.host_region[host[p]] == r)
                == sum(x[p] for p in of_cand[b] if problem.host_region[host[p]] == r)
            )
    K = _scale(problem, options)
    penalty: list = []
    for h in range(H):
        need = int(problem.min_placements[h])
        if need <= 0:
            continue
        if options.hard_min_placements:
            m.add(count[h] >= need)
        else:
            s = m.new_int_var(0, need, f"quota_short{h}")
            m.add(s >= need - count[h])
            penalty.append(int(K * Fraction(options.min_placement_weight)) * s)
    for i, t in enumerate(problem.targets):
        scope = set(np.asarray(t.scope_hosts).tolist())
        pairs = [p for p in range(P) if host[p] in scope]
        n = sum(x[p] for p in pairs)
        mem = sum(x[p] for p in pairs if t.member[cand[p]])
        for j, (share, low) in enumerate(((t.min_share, True), (t.max_share, False))):
            if share is None:
                continue
            f = exact_share(share)
            a, b = f.numerator, f.denominator
            gap = a * n - b * mem if low else b * mem - a * n  # b x (shortfall), <= 0 when met
            if t.hard:
                m.add(gap <= 0)
            else:
                s = m.new_int_var(0, b * len(pairs), f"target_short{i}_{j}")
                m.add(s >= gap)
                unit = K * Fraction(t.weight).limit_denominator(10**6) / b
                assert unit.denominator == 1
                penalty.append(int(unit) * s)
    # Weak stability.
    blocking = []
    if options.stability != "none":
        for p in range(P):
            c, h = cand[p], host[p]
            cap = int(problem.capacity[h])
            if cap <= 0:
                continue
            better = [x[q] for q in of_cand[c] if problem.pair_rank[q] <= problem.pair_rank[p]]
            liked = [
                x[q] for q in at_host[h] if cand[q] != c and problem.pair_host_rank[q] <= problem.pair_host_rank[p]
            ]
            full = m.new_bool_var(f"full{p}")
            m.add(sum(liked) >= cap).only_enforce_if(full)
            lits = [*better, full]
            if options.stability == "prefer":
                b = m.new_bool_var(f"block{p}")
                blocking.append(b)
                lits.append(b)
            m.add_bool_or(lits)
    levels = {"placed": sum(x), "rank_cost": K * sum(int(problem.pair_rank[p]) * x[p] for p in range(P)) + sum(penalty)}
    if options.stability == "prefer":
        levels = {"blocking": sum(blocking), **levels}
    return m, x, levels


def solve_reference(
    problem: Problem, options: Options, time_limit: float, *, workers: int = 2, hint: np.ndarray | None = None
) -> dict:
    """Lexicographic levels in order, each held at its optimum for the next, within ``time_limit`` in all.

    Returns {"status", "chosen", "levels": {name: (value, bound)}, "seconds"}; status is OPTIMAL only if
    every level was proven."""
    t0 = time.perf_counter()
    m, x, levels = model(problem, options)
    if hint is not None:
        for p in range(problem.n_pairs):
            m.add_hint(x[p], int(hint[p]))
    out: dict = {"status": "OPTIMAL", "chosen": None, "levels": {}}
    for name, expr in levels.items():
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.05:
            out["status"] = "FEASIBLE" if out["chosen"] is not None else "UNKNOWN"
            break
        sign = -1 if name == "placed" else 1
        m.minimize(sign * expr)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = left
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = 0
        st = solver.solve(m)
        if st not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            out["status"] = (
                "INFEASIBLE"
                if st == cp_model.INFEASIBLE and out["chosen"] is None
                else ("FEASIBLE" if out["chosen"] is not None else "UNKNOWN")
            )
            break
        chosen = np.array([p for p in range(problem.n_pairs) if solver.boolean_value(x[p])], np.int64)
        value = int(round(solver.objective_value))
        bound = int(math.ceil(solver.best_objective_bound - 1e-6))
        out["chosen"] = chosen
        out["levels"][name] = (sign * value, sign * bound)
        if st != cp_model.OPTIMAL:
            out["status"] = "FEASIBLE"
            break
        m.add(expr == solver.value(expr))
        m.clear_hints()
        for p in range(problem.n_pairs):
            m.add_hint(x[p], solver.boolean_value(x[p]))
    out["seconds"] = time.perf_counter() - t0
    return out


def brute_force_stable(problem: Problem, options: Options, limit: int = 200_000) -> tuple[str, np.ndarray, dict]:
    """Enumerate every placement (tiny instances): the best by (fewest blocking pairs under ``prefer``,) most
    placed, least rank cost, among those meeting the hard rules (and weakly stable under ``strict``)."""
    choices = [[-1, *np.flatnonzero(problem.pair_cand == c).tolist()] for c in range(problem.n_candidates)]
    if math.prod(len(ch) for ch in choices) > limit:
        raise ValueError("too many placements to enumerate")
    best: tuple | None = None
    best_chosen = np.zeros(0, np.int64)
    for combo in itertools.product(*choices):
        chosen = np.array([p for p in combo if p >= 0], np.int64)
        if np.any(np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts) > problem.capacity):
            continue
        if violations(problem, options, chosen):
            continue
        nb = len(weak_blocking(problem, chosen)) if options.stability != "none" else 0
        if options.stability == "strict" and nb:
            continue
        ev = evaluate(problem, options, chosen)
        key = (nb if options.stability == "prefer" else 0, -ev["placed"], round(ev["rank_cost"], 9))
        if best is None or key < best:
            best, best_chosen = key, chosen
    if best is None:
        return "INFEASIBLE", best_chosen, {}
    ev = evaluate(problem, options, best_chosen)
    levels = {"placed": ev["placed"], "rank_cost": ev["rank_cost"]}
    if options.stability == "prefer":
        levels = {"blocking": best[0], **levels}
    return "OPTIMAL", best_chosen, levels
