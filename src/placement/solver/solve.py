"""``solve``: the placement model of ../shared/spec/model.md, solved exactly and fast.

How a solve runs (each step only when the one before did not settle it):

1. **Network.** When no constraint family outside the network has anything
   to say (``constraints.pure_network``), the model is a min-cost flow
   (``network.Network``): most placed, then least cost, exact, in well under a
   second at 20,000 candidates. Families the network models itself
   (``Family.in_network``) are part of it. ``rank-maximal`` and ``generous``
   are solved as a sequence of flows, each level locked by complementary
   slackness before the next.
2. **Flow checked against the side constraints.** Otherwise the network is a
   relaxation: its placed count bounds level 1, its cost bounds level 2. If
   its answer meets every side row (hard ones hold, soft ones cost nothing),
   it is optimal (../shared/spec/model.md's 10,000-candidate case).
3. **Lagrangian bound.** Prices on the few side rows, started from the LP
   relaxation over the pairs near the network optimum and polished by
   cutting planes (``lagrange.lagrangian``): an exact integer lower bound for
   the level, and priced flows or an integral LP answer that meet the rows
   (incumbents). Equal bound and incumbent prove the optimum without search.
4. **Reduced exact model.** Reduced costs fix every pair that cannot be in a
   placement within the remaining gap; branch-and-bound (HiGHS by default,
   CP-SAT on request) solves what is left, which contains every placement
   better than the cut-off, so its optimum is the optimum. When pricing finds
   no placement of the network's size at all, pricing the placed count first
   checks that so many can be placed under the hard rows (a binding hard
   side row can make the network's count unreachable; widening the
   reduced model to prove that instead ran minutes past the time limit).
5. **Tie-break.** With every level held, the last level (``ties``) settles
   equally good placements by host order (merit) or, for re-solves compared
   with an earlier answer, by fewest changes from it.

Stability other than ``none`` goes to CP-SAT with the stability module's
no-blocking constraints (or candidate-proposing deferred acceptance when
nothing else constrains the placement). Lexicographic levels are solved in
order, each with the levels above held at their optimum; ``Solution.bound``
holds what was proven for each level (an upper bound for maximised levels,
a lower bound for minimised ones, given the levels above at their values).

Same inputs and options give the same placements: flows and HiGHS are
deterministic, CP-SAT runs one worker (or interleaved workers) with a fixed
seed. A solve stopped by the time limit depends on how far it got.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

import numpy as np

from . import ties
from .checks import check_options, check_problem, check_validity, evaluate
from .constraints import pure_network
from .levels import Level, held, make_levels, next_group, open_ranks, tie_level
from .network import Flow
from .problem import Options, Problem, Solution, Status, TieBreak
from .run import ENGINES, Outcome, Run

# --------------------------------------------------------------------------- entry point


def solve(
    problem: Problem,
    options: Options | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    engine: str = "auto",
    force_exact: bool = False,
    keep: np.ndarray | None = None,
) -> Solution:
    """Solve ``problem`` under ``options``; ``progress`` receives one-line notes as the solve goes.

    ``engine`` picks the branch-and-bound for reduced models (``auto`` =
    HiGHS; ``cp-sat`` for comparison and tests). ``force_exact`` (tests)
    skips the Lagrangian shortcuts so every side-constrained level goes
    through reduced-cost fixing and the exact model. ``keep`` (pair indices
    of an earlier answer) settles ties by fewest changes from it instead of
    by host order (``ties``).
    """
    options = options or Options()
    check_options(options, engine, ENGINES)
    check_problem(problem)
    run = Run(problem, options, progress, engine, force_exact)
    if keep is not None or options.tie_break == "host-order":
        run.tie = tie_level(problem, None if keep is None else np.asarray(keep, np.int64))
    if options.stability == "none":
        result = _solve_plain(run)
    else:
        from .stable_levels import solve_stable

        result = solve_stable(run)
    return _finish(run, *result)


# --------------------------------------------------------------------------- stability none


def _solve_plain(run: Run) -> tuple[str, np.ndarray, dict[str, float], str]:
    """Returns (status, chosen, bound per level, method)."""
    p, net = run.problem, run.net
    levels = make_levels(run.problem, run.options, run.scale.K, rank_guided_penalty=True)
    if net.conflicts:
        run.messages.extend(net.conflicts)
        return "INFEASIBLE", np.zeros(0, np.int32), {}, "min-cost-flow"
    pure = pure_network(p, run.options)

    # Level 1 and the first cost level on the network: most placed, then least cost.
    first = levels[1]
    slot = first.soft_weight * run.min_weight if first.soft else 0
    flow = net.solve(first.cost, slot, None)
    if not flow.ok:
        run.messages.append(net.NO_FLOW)
        return "INFEASIBLE", np.zeros(0, np.int32), {}, "min-cost-flow"
    top = flow.value
    run.say(f"network: at most {top} placed")
    if pure:
        return _network_levels(run, levels, flow)
    if run.meets(flow.x, [], None) and all(r.value(flow.x) <= 0 for r in run.side_soft_rows):
        # The relaxation's optimum meets every side constraint: it is optimal for the whole model.
        run.say("network answer meets every side constraint")
        if len(levels) == 2:
            x = flow.x
            if run.tie is not None:
                x, run.tie_result = ties.after_flow(run, flow, levels[1], run.tie)
            return "OPTIMAL", np.flatnonzero(x), _bounds_of(run, levels, x), "min-cost-flow"

    # Side constraints bind: level by level, from the network's placed count.
    bound: dict[str, float] = {}
    placed_out = run.solve_level(levels[1], top, [], None, probe=levels[0])
    eqs: list[tuple[np.ndarray, int]] = []
    if placed_out.status == "INFEASIBLE":
        run.say(f"no placement of {top} meets the side constraints: maximising the number placed")
        lvl1 = run.solve_level(levels[0], None, [], None)
        if lvl1.status in ("INFEASIBLE", "UNKNOWN"):
            if lvl1.bound is not None:
                bound["placed"] = float(-lvl1.bound)
            if lvl1.status == "UNKNOWN" and run.fallback is not None:
                return "FEASIBLE", np.flatnonzero(run.fallback), bound, "repair"
            return lvl1.status, np.zeros(0, np.int32), bound, lvl1.method
        # A level not INFEASIBLE/UNKNOWN has a placement, its value and its bound.
        assert lvl1.x is not None and lvl1.value is not None and lvl1.bound is not None
        n_placed = -lvl1.value
        bound["placed"] = float(-lvl1.bound)
        if lvl1.status != "OPTIMAL":
            return "FEASIBLE", np.flatnonzero(lvl1.x), bound, lvl1.method
        placed_out = run.solve_level(levels[1], n_placed, [], None, incumbent=None)
        if placed_out.status in ("INFEASIBLE", "UNKNOWN"):
            return "FEASIBLE", np.flatnonzero(lvl1.x), bound, lvl1.method
    else:
        if placed_out.x is None:
            bound["placed"] = float(top)
            if run.fallback is None:
                return "UNKNOWN", np.zeros(0, np.int32), bound, placed_out.method
            return _from_fallback(run, levels[1], bound)
        n_placed = top
        bound["placed"] = float(top)
    assert placed_out.x is not None and placed_out.bound is not None
    x = placed_out.x
    status = placed_out.status
    method = placed_out.method
    bound[levels[1].name] = (
        levels[1].sign * levels[1].penalty_of(placed_out.bound) / (run.scale.K if levels[1].soft else 1)
    )
    if status != "OPTIMAL":
        return "FEASIBLE", np.flatnonzero(x), bound, method
    eqs = []
    cap = None
    # The rank counts of rank-maximal / generous, grouped as they go: each group's weights from the candidates
    # whose rank the groups above left open (``next_group``).
    prev, pending = levels[1], levels[2:]
    last, last_eqs, last_cap, lag = prev, eqs, cap, placed_out.lag
    while pending:
        if prev.name == "penalty":
            cap = run.penalty(x)
        else:
            eqs = eqs + held(prev, x)
        lvl, pending = next_group(p, pending, open_ranks(pending, x))
        out = run.solve_level(lvl, n_placed, eqs, cap, incumbent=(run.value(lvl, x), x))
        if out.x is None:
            break
        x = out.x
        last, last_eqs, last_cap, lag, prev = lvl, eqs, cap, out.lag, lvl
        bound.update(_level_bounds(lvl, out))
        if out.status != "OPTIMAL":
            return "FEASIBLE", np.flatnonzero(x), bound, out.method
    if run.tie is not None:
        x, run.tie_result = ties.on_side_constraints(run, last, x, last_eqs, last_cap, n_placed, lag, run.tie)
    return "OPTIMAL", np.flatnonzero(x), bound, method


def _level_bounds(level: Level, out: Outcome) -> dict[str, float]:
    """What ``out`` proved of ``level`` as reported bounds: every count of a solved group; of a group stopped
    by the clock, its first count (the later ones are bounded only given that one's value)."""
    if out.bound is None:
        return {}
    if not level.members:
        return {level.name: float(level.sign * out.bound)} if level.sign else {}
    first = level.members[0]
    if out.status == "OPTIMAL" and out.x is not None:
        return {m.name: float(m.sign * int(np.dot(m.cost, out.x))) for m in level.members}
    return {first.name: float(first.sign * level.first_bound(out.bound))}


def _from_fallback(run: Run, level: Level, bound: dict[str, float]) -> tuple[str, np.ndarray, dict[str, float], str]:
    """Nothing of the network's size was found in time, but the repair placed a few fewer: the best
    placement of that size found in the time left (FEASIBLE: the number placed is not proven)."""
    fb = run.fallback
    assert fb is not None
    n_fb = int(fb.sum())
    run.messages.append(
        f"no placement of {int(bound['placed'])} meeting the hard rows was found in time; the answer places {n_fb}"
    )
    run.say(f"{level.name}: best placement of {n_fb} from the repaired one")
    out = run.solve_level(level, n_fb, [], None, incumbent=(run.value(level, fb), fb))
    x = out.x if out.x is not None else fb
    return "FEASIBLE", np.flatnonzero(x), bound, "repair" if out.x is None else out.method + "+repair"


def _bounds_of(run: Run, levels: list[Level], x: np.ndarray) -> dict[str, float]:
    ev = evaluate(run.problem, np.flatnonzero(x), run.options, run.scale)
    return dict(ev.objective)


def _network_levels(run: Run, levels: list[Level], flow: Flow) -> tuple[str, np.ndarray, dict[str, float], str]:
    """Pure network: each further level a min-cost flow among the optima of the levels above."""
    net = run.net
    n_placed = flow.value
    for lvl in levels[2:]:
        if run.remaining() <= 0:
            bound = _bounds_of(run, levels[:2], flow.x)
            return "FEASIBLE", np.flatnonzero(flow.x), bound, "min-cost-flow"
        net.lock(flow)
        flow = net.solve(lvl.cost, run.min_weight if lvl.soft else 0, n_placed)
        if not flow.ok:
            raise RuntimeError(f"the locked network lost every placement at level {lvl.name}")
    if run.tie is not None:
        flow, run.tie_result = ties.on_network(run, flow, run.tie, n_placed)
    return "OPTIMAL", np.flatnonzero(flow.x), _bounds_of(run, levels, flow.x), "min-cost-flow"


# --------------------------------------------------------------------------- the answer


def _finish(run: Run, status: str, chosen: np.ndarray, bound: dict[str, float], method: str) -> Solution:
    p, options = run.problem, run.options
    chosen = np.sort(np.asarray(chosen, dtype=np.int64)).astype(np.int32)
    sol = Solution(
        status=cast(Status, status),
        chosen=chosen,
        placed=0,
        rank_sum=0,
        objective={},
        bound={},
        solve_seconds=0.0,
        method=method,
    )
    if status in ("OPTIMAL", "FEASIBLE"):
        bad = check_validity(p, chosen, options)
        if bad:
            raise RuntimeError(f"internal error: the solver's answer breaks a hard constraint: {bad[0].message}")
        ev = evaluate(p, chosen, options, run.scale)
        ev.fill(sol)
        if status == "OPTIMAL":
            sol.bound = dict(ev.objective)
        else:
            # Levels below the first unproven one were not optimised: only their trivial bounds hold.
            trivial = {
                name: (
                    float(p.n_candidates)
                    if (name == "placed" or (name[5:].isdigit() and options.objective == "rank-maximal"))
                    else 0.0
                )
                for name in ev.objective
            }
            sol.bound = {k: bound.get(k, trivial[k]) for k in ev.objective}
            gaps = [
                f"{k}: {ev.objective[k]:g} (bound {sol.bound[k]:g})"
                for k in ev.objective
                if abs(sol.bound[k] - ev.objective[k]) > 1e-9
            ]
            if gaps:
                run.messages.append("not proven optimal within the time limit; " + "; ".join(gaps))
    else:
        sol.bound = dict(bound)
    if options.stability != "none" and status in ("OPTIMAL", "FEASIBLE"):
        from .stability import blocking_pairs

        sol.blocking_pairs = blocking_pairs(p, chosen)
        if options.stability == "prefer":
            n_blocking = float(len(sol.blocking_pairs))
            sol.objective = {"blocking": n_blocking, **sol.objective}
            sol.bound = {
                "blocking": n_blocking if status == "OPTIMAL" else sol.bound.pop("blocking", 0.0),
                **{k: v for k, v in sol.bound.items() if k != "blocking"},
            }
    if status == "INFEASIBLE":
        from .diagnose import diagnose

        sol.diagnosis = diagnose(p, options)
    sol.messages = run.messages
    sol.tie_break = TieBreak(run.tie.name, run.tie_result) if run.tie is not None else TieBreak()
    sol.engines = dict(run.engines)
    sol.solve_seconds = time.perf_counter() - run.start
    return sol
