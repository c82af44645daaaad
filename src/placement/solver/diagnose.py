"""Why no placement exists: a minimal set of conflicting hard constraints, in plain words.

Called when the placement model is INFEASIBLE. We rebuild the hard part of
the model (no objective) with one assumption literal per *named group* of
constraints - each hard target scope, each required pair, each accepted
(fixed) pair, each link, each host's hard lower quota, and strict stability as
one group - while capacities and "one host per candidate" stay on, since they
are the scheme's structure and can never be relaxed. Placing nobody satisfies
the structure, so every infeasibility has a core of named groups.

CP-SAT reports a sufficient subset of assumptions (a core); we shrink it by
deletion - drop one group, re-solve, keep it out if the rest is still
infeasible - to a minimal core: every group in it matters, so relaxing any
one removes this conflict. Each group then becomes a sentence a coordinator
can act on (diagnose_words.py), with the numbers that make the conflict
concrete where they are cheap to compute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from placement.solver.diagnose_words import Explainer
from placement.solver.problem import Options, Problem
from placement.solver.stability import add_stability, blocking_pairs, deferred_acceptance

DEFAULT_TIME_LIMIT = 30.0  # seconds for the whole diagnosis, first solve and shrinking


@dataclass
class _Group:
    kind: str  # "required", "fixed", "link", "min_placements", "target", "stability"
    index: int  # into problem.required / fixed / links / hosts / targets; 0 for stability
    literal: cp_model.IntVar


def _share(value: float) -> Fraction:
    """A share as an exact fraction (0.35 -> 7/20), so the ratio constraint is integral."""
    return Fraction(str(float(value))).limit_denominator(1_000_000)


class _Index:
    """Per-candidate and per-host views of the eligible pairs, computed once."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.pairs_of_cand: list[list[int]] = [[] for _ in range(problem.n_candidates)]
        self.pairs_of_host: list[list[int]] = [[] for _ in range(problem.n_hosts)]
        for p, (c, h) in enumerate(zip(problem.pair_cand.tolist(), problem.pair_host.tolist())):
            self.pairs_of_cand[c].append(p)
            self.pairs_of_host[h].append(p)

    def regions_of(self, c: int) -> set[int]:
        hosts = self.problem.pair_host[self.pairs_of_cand[c]]
        return set(self.problem.host_region[hosts].tolist())

    def eligible_at(self, hosts: np.ndarray | list[int]) -> np.ndarray:
        """Distinct candidates with at least one eligible pair at any of ``hosts``."""
        mask = np.isin(self.problem.pair_host, np.asarray(hosts, dtype=np.int64))
        return np.unique(self.problem.pair_cand[mask])


def _build_model(
    problem: Problem, options: Options, index: _Index
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], list[_Group]]:
    model = cp_model.CpModel()
    # Variables: one Boolean per eligible (candidate, host) pair.
    x = [
        model.new_bool_var(f"x_{c}_{h}")
        for c, h in zip(problem.pair_cand.tolist(), problem.pair_host.tolist())
    ]

    # Structure, always on: a candidate takes at most one place, a host at most its capacity.
    for pairs in index.pairs_of_cand:
        if len(pairs) > 1:
            model.add_at_most_one([x[p] for p in pairs])
    for h, pairs in enumerate(index.pairs_of_host):
        if pairs:
            model.add(cp_model.LinearExpr.sum([x[p] for p in pairs]) <= int(problem.capacity[h]))

    groups: list[_Group] = []

    def group(kind: str, i: int) -> cp_model.IntVar:
        lit = model.new_bool_var(f"use_{kind}_{i}")
        groups.append(_Group(kind, i, lit))
        return lit

    # Pre-agreed placements (pairs.csv `require`) and placements accepted in an earlier round.
    for kind, forced in (("required", problem.required), ("fixed", problem.fixed)):
        for i, p in enumerate(np.asarray(forced).tolist()):
            model.add(x[p] == 1).only_enforce_if(group(kind, i))

    # Linked candidates: the same number placed in every region (0 or 1 each,
    # since a candidate takes one place) - same region, or both unplaced.
    for i, (a, b) in enumerate(np.asarray(problem.links).reshape(-1, 2).tolist()):
        lit = group("link", i)
        for r in sorted(index.regions_of(a) | index.regions_of(b)):
            in_r_a = [x[p] for p in index.pairs_of_cand[a] if problem.host_region[problem.pair_host[p]] == r]
            in_r_b = [x[p] for p in index.pairs_of_cand[b] if problem.host_region[problem.pair_host[p]] == r]
            model.add(cp_model.LinearExpr.sum(in_r_a) == cp_model.LinearExpr.sum(in_r_b)).only_enforce_if(lit)

    # Hosts' lower quotas, when the coordinator made them hard.
    if options.hard_min_placements:
        for h, need in enumerate(problem.min_placements.tolist()):
            if need > 0:
                model.add(cp_model.LinearExpr.sum([x[p] for p in index.pairs_of_host[h]]) >= need).only_enforce_if(
                    group("min_placements", h)
                )

    # Hard diversity targets: min_share * placed <= members <= max_share * placed in the scope.
    # With nobody placed in the scope both sides are 0, so "scopes with a placement" needs no case.
    for i, t in enumerate(problem.targets):
        if not t.hard or (t.min_share is None and t.max_share is None):
            continue
        in_scope = np.flatnonzero(np.isin(problem.pair_host, t.scope_hosts))
        if in_scope.size == 0:
            continue  # nobody can be placed in the scope: the target always holds
        lit = group("target", i)
        is_member = np.asarray(t.member, bool)[problem.pair_cand[in_scope]]
        placed = cp_model.LinearExpr.sum([x[p] for p in in_scope.tolist()])
        member_sum = cp_model.LinearExpr.sum([x[p] for p in in_scope[is_member].tolist()])
        if t.min_share is not None:
            f = _share(t.min_share)
            model.add(f.denominator * member_sum >= f.numerator * placed).only_enforce_if(lit)
        if t.max_share is not None:
            f = _share(t.max_share)
            model.add(f.denominator * member_sum <= f.numerator * placed).only_enforce_if(lit)

    # Strict stability, one group: no candidate and host who would both rather have each other.
    if options.stability == "strict":
        add_stability(model, x, problem, "strict", only_enforce_if=group("stability", 0))

    return model, x, groups


def _holds(problem: Problem, g: _Group, chosen: np.ndarray) -> bool:
    """Whether the placement ``chosen`` (pair indices) meets group ``g`` - the model's rule, in numpy."""
    if g.kind in ("required", "fixed"):
        p = (problem.required if g.kind == "required" else problem.fixed)[g.index]
        return bool(np.isin(p, chosen))
    if g.kind == "link":
        region = np.full(problem.n_candidates, -1, np.int64)
        region[problem.pair_cand[chosen]] = problem.host_region[problem.pair_host[chosen]]
        a, b = problem.links[g.index]
        return bool(region[a] == region[b])
    if g.kind == "min_placements":
        return int(np.count_nonzero(problem.pair_host[chosen] == g.index)) >= int(problem.min_placements[g.index])
    if g.kind == "target":
        t = problem.targets[g.index]
        in_scope = chosen[np.isin(problem.pair_host[chosen], t.scope_hosts)]
        placed = int(in_scope.size)
        members = int(np.count_nonzero(t.member[problem.pair_cand[in_scope]]))
        lo = _share(t.min_share) if t.min_share is not None else None
        hi = _share(t.max_share) if t.max_share is not None else None
        return (lo is None or lo.denominator * members >= lo.numerator * placed) and (
            hi is None or hi.denominator * members <= hi.numerator * placed
        )
    return not blocking_pairs(problem, chosen)


def _is_placement(problem: Problem, chosen: np.ndarray) -> bool:
    """One place per candidate, hosts within capacity."""
    cands = problem.pair_cand[chosen]
    load = np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts)
    return np.unique(cands).size == cands.size and bool(np.all(load <= problem.capacity))


def _solve(
    model: cp_model.CpModel, x: list[cp_model.IntVar], on: list[_Group], off: list[_Group], seconds: float
) -> tuple[cp_model.CpSolverStatus, list[int], np.ndarray | None]:
    """Solves with the ``on`` groups enforced and the ``off`` groups switched off.

    Returns the status; if infeasible, the variable indices of the assumption
    literals CP-SAT found sufficient for the conflict; if feasible, the
    placement found (pair indices).
    """
    model.clear_assumptions()
    model.add_assumptions([g.literal for g in on] + [~g.literal for g in off])
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(seconds, 0.01)
    solver.parameters.catch_sigint_signal = False  # Ctrl-C is the caller's (see rounds.interruptible)
    # Cores from assumptions come from the single-thread SAT search.
    solver.parameters.num_workers = 1
    # Probing at the root costs seconds on scheme-sized models and rarely
    # decides these feasibility questions; the search does better without it.
    solver.parameters.cp_model_probing_level = 0
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return status, list(solver.sufficient_assumptions_for_infeasibility()), None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return status, [], np.flatnonzero([solver.boolean_value(v) for v in x])
    return status, [], None


def _minimal_core(
    problem: Problem,
    model: cp_model.CpModel,
    x: list[cp_model.IntVar],
    groups: list[_Group],
    deadline: float,
) -> tuple[list[_Group] | None, bool, str]:
    """(core, proven minimal, status). core is None when the hard constraints hold together or time ran out.

    Deletion-based shrinking, with witness reuse: a placement already known
    to meet every group of a trial set proves it feasible without a solve.
    The witnesses start with "nobody placed" and the candidate-proposing
    stable placement, and grow with each placement the solver finds.
    """
    by_var = {g.literal.index: g for g in groups}
    witnesses = [np.zeros(0, np.int64), deferred_acceptance(problem).astype(np.int64)]

    def run(on: list[_Group]) -> tuple[cp_model.CpSolverStatus, list[_Group]]:
        # Also try placing exactly the trial's required and accepted pairs, nobody else.
        forced = [(problem.required if g.kind == "required" else problem.fixed)[g.index] for g in on if g.kind in ("required", "fixed")]
        just_forced = np.unique(np.asarray(forced, np.int64))
        if _is_placement(problem, just_forced) and all(_holds(problem, g, just_forced) for g in on):
            return cp_model.FEASIBLE, []
        if any(all(_holds(problem, g, w) for g in on) for w in witnesses):
            return cp_model.FEASIBLE, []
        kept = {id(g) for g in on}
        off = [g for g in groups if id(g) not in kept]
        status, core_vars, found = _solve(model, x, on, off, deadline - time.monotonic())
        if found is not None:
            witnesses.append(found)
        return status, [by_var[v] for v in core_vars if v in by_var]

    status, core = run(groups)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, True, "feasible"
    if status != cp_model.INFEASIBLE:
        return None, False, "unknown"
    core = core or list(groups)
    minimal = True
    i = 0
    while i < len(core) and len(core) > 1:
        if time.monotonic() >= deadline:
            minimal = False
            break
        trial = core[:i] + core[i + 1 :]
        status, smaller = run(trial)
        if status == cp_model.INFEASIBLE:
            # Not needed; CP-SAT's own core of the rest may drop more at once.
            core = [g for g in trial if g in smaller] or trial
        else:
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                minimal = False  # undecided in time: keep the group, to be safe
            i += 1
    return core, minimal, "infeasible"


@dataclass(frozen=True)
class Conflict:
    """The outcome of the search for conflicting hard constraints.

    ``status``: "infeasible" (``groups`` is a conflicting set, minimal when
    ``minimal``), "feasible" (the hard constraints hold together), or
    "unknown" (time ran out before either was proved). ``groups`` are
    (kind, index) with kind one of "required", "fixed", "link",
    "min_placements", "target", "stability" and index into
    ``problem.required`` / ``fixed`` / ``links`` / hosts / ``targets`` (0 for
    stability).
    """

    status: str
    groups: tuple[tuple[str, int], ...] = ()
    minimal: bool = True


def find_conflict(problem: Problem, options: Options, *, time_limit: float = DEFAULT_TIME_LIMIT) -> Conflict:
    """A minimal set of named constraint groups that cannot all hold, if there is one."""
    conflict, _ = _find(problem, options, _Index(problem), time.monotonic() + time_limit)
    return conflict


def _find(problem: Problem, options: Options, index: _Index, deadline: float) -> tuple[Conflict, list[_Group]]:
    model, x, groups = _build_model(problem, options, index)
    if not groups:
        return Conflict("feasible"), []
    core, minimal, status = _minimal_core(problem, model, x, groups, deadline)
    if core is None:
        return Conflict(status, (), minimal), []
    return Conflict(status, tuple((g.kind, g.index) for g in core), minimal), core


def diagnose(problem: Problem, options: Options, *, time_limit: float = DEFAULT_TIME_LIMIT) -> list[str]:
    """Plain-words reasons why no placement meets the hard constraints, most specific first.

    Ends with what to relax. ``time_limit`` bounds the whole diagnosis; if it
    runs out while shrinking, the conflict is reported as found (possibly with
    a constraint more than needed) and says so.
    """
    index = _Index(problem)
    conflict, core = _find(problem, options, index, time.monotonic() + time_limit)
    if conflict.status == "feasible":
        return [
            "The hard constraints (capacities, required pairs, offered and accepted placements, links, hard lower quotas, "
            "hard targets, strict stability) can all be met together, so the model was not infeasible "
            "because of a conflict between them; it may have run out of time. Try a longer time limit."
        ]
    if not core:
        return [
            f"Could not find which hard constraints conflict within {time_limit:g} seconds. "
            "Try a longer time limit, or relax hard targets and lower quotas one at a time."
        ]

    explainer = Explainer(problem, index, core)
    out = explainer.sentences()
    fixes = [explainer.fix(g) for g in core]
    if len(core) == 1:
        out.append(f"This constraint cannot hold even on its own: to find a placement, {fixes[0]}.")
    else:
        names = "; ".join(explainer.what(g) for g in core)
        out.append(
            f"These {len(core)} constraints cannot all hold together ({names}). "
            f"Relaxing any one of them removes this conflict: {'; or '.join(fixes)}. "
            "Other conflicts may remain, so solve again afterwards."
        )
    if not conflict.minimal:
        out.append(
            "The diagnosis ran out of time before proving this set minimal: "
            "it may include a constraint that is not part of the conflict."
        )
    return out
