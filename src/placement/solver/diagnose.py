"""Why no placement exists: a minimal set of conflicting hard constraints, in plain words.

Called when the placement model is INFEASIBLE. We rebuild the hard part of
the model (no objective) with one assumption literal per *named group* of
constraints - each item of each registered constraint family
(``constraints/``), built from the very rows the solver's engines get - while
capacities and "one host per candidate" stay on, since they are the scheme's
structure and can never be relaxed. Placing nobody satisfies the structure,
so every infeasibility has a core of named groups.

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

import numpy as np

from placement.solver.constraints import Group, hard_nouns
from placement.solver.constraints import groups as family_groups
from placement.solver.diagnose_words import Explainer
from placement.solver.ortools_lazy import cp_model
from placement.solver.problem import Options, Problem
from placement.solver.stability import deferred_acceptance

DEFAULT_TIME_LIMIT = 30.0  # seconds for the whole diagnosis, first solve and shrinking


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
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], list[Group]]:
    model = cp_model.CpModel()
    # Variables: one Boolean per eligible (candidate, host) pair.
    x = [model.new_bool_var(f"x_{c}_{h}") for c, h in zip(problem.pair_cand.tolist(), problem.pair_host.tolist())]

    # Structure, always on: a candidate takes at most one place, a host at most its capacity.
    for pairs in index.pairs_of_cand:
        if len(pairs) > 1:
            model.add_at_most_one([x[p] for p in pairs])
    for h, pairs in enumerate(index.pairs_of_host):
        if pairs:
            model.add(cp_model.LinearExpr.sum([x[p] for p in pairs]) <= int(problem.capacity[h]))

    # Every constraint family's hard rules, each group switched on by its own literal. The rows are the
    # ones the solver's engines are given (constraints/), so the two cannot disagree on what holds.
    groups = family_groups(problem, options)
    for g in groups:
        g.literal = model.new_bool_var(f"use_{g.kind}_{g.index}")
        for r in g.rows:
            expr = cp_model.LinearExpr.weighted_sum([x[p] for p in r.pairs.tolist()], r.coef.tolist()) + r.const
            if r.kind == "eq":
                model.add(expr == 0).only_enforce_if(g.literal)
            else:
                model.add(expr <= 0).only_enforce_if(g.literal)
        if g.add is not None:
            g.add(model, x, g.literal)

    return model, x, groups


def _holds(problem: Problem, g: Group, chosen: np.ndarray) -> bool:
    """Whether the placement ``chosen`` (pair indices) meets group ``g`` - its rows, evaluated exactly."""
    return g.holds(problem, chosen)


def _is_placement(problem: Problem, chosen: np.ndarray) -> bool:
    """One place per candidate, hosts within capacity."""
    cands = problem.pair_cand[chosen]
    load = np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts)
    return np.unique(cands).size == cands.size and bool(np.all(load <= problem.capacity))


def _solve(
    model: cp_model.CpModel, x: list[cp_model.IntVar], on: list[Group], off: list[Group], seconds: float
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
    groups: list[Group],
    deadline: float,
) -> tuple[list[Group] | None, bool, str]:
    """(core, proven minimal, status). core is None when the hard constraints hold together or time ran out.

    Deletion-based shrinking, with witness reuse: a placement already known
    to meet every group of a trial set proves it feasible without a solve.
    The witnesses start with "nobody placed" and the candidate-proposing
    stable placement, and grow with each placement the solver finds.
    """
    by_var = {g.literal.index: g for g in groups}
    witnesses = [np.zeros(0, np.int64), deferred_acceptance(problem).astype(np.int64)]

    def run(on: list[Group]) -> tuple[cp_model.CpSolverStatus, list[Group]]:
        # Also try placing exactly the pairs the trial's groups force, nobody else.
        forced = [p for g in on for p in g.forces]
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
    (kind, index): the group's kind as its family names it and the index of
    the item among that family's items.
    """

    status: str
    groups: tuple[tuple[str, int], ...] = ()
    minimal: bool = True


def find_conflict(problem: Problem, options: Options, *, time_limit: float = DEFAULT_TIME_LIMIT) -> Conflict:
    """A minimal set of named constraint groups that cannot all hold, if there is one."""
    conflict, _ = _find(problem, options, _Index(problem), time.monotonic() + time_limit)
    return conflict


def _find(problem: Problem, options: Options, index: _Index, deadline: float) -> tuple[Conflict, list[Group]]:
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
            f"The hard constraints ({hard_nouns()}) can all be met together, so the model was not infeasible "
            "because of a conflict between them; it may have run out of time. Try a longer time limit."
        ]
    if not core:
        return [
            f"Could not find which hard constraints conflict within {time_limit:g} seconds. "
            "Try a longer time limit, or relax the hard rules one at a time."
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
