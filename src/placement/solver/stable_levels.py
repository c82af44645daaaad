"""Placement levels under stability (``--stability strict|prefer``): CP-SAT with the no-blocking rows.

Split from ``solve`` (which calls :func:`solve_stable` with its run: the
problem, options, clock, scaled rows and network) because stability is its
own route: candidate-proposing deferred acceptance when stability is the only
condition, else every lexicographic level as a CP-SAT model with the
stability module's constraints, ``prefer`` first minimising blocking pairs.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from .blocking import fewer_blocking
from .constraints import beyond_capacities
from .context import SolveContext
from .cpsat import ModelSpec, solve_cpsat
from .levels import Level, grouped, held, make_levels
from .problem import TieOutcome
from .stability import add_stability, blocking_mask, blocking_pairs, deferred_acceptance, ties_matter

# CP-SAT on stability models: one worker (deterministic) without the LP relaxation measured best
# (prefer, 300 candidates, the benchmark's side constraints: 7.6 s; linearization 2: 16 s; two interleaved
# workers: 29 s; linearization 1: unproven after 120 s). Options.workers is therefore not used.
STABLE_WORKERS = 1
STABLE_LINEARIZATION = 0
# Under prefer with side rules: the local search on blocking pairs (``blocking.fewer_blocking``) may take
# this share of the time left before CP-SAT starts from its answer.
BLOCKING_SEARCH_SHARE = 0.25


def solve_stable(run: SolveContext) -> tuple[str, np.ndarray, dict[str, float], str]:
    """Strict or preferred stability: deferred acceptance when it is the only condition, else CP-SAT levels."""
    p, options = run.problem, run.options
    mode = options.stability
    if mode == "none":
        raise ValueError("solve_stable is the route for stability 'strict' or 'prefer'")
    # Stability already follows the hosts' orders; the CP-SAT levels get no further tie-break level.
    run.tie_result = TieOutcome.NOT_USED
    only_stability = not beyond_capacities(p, options)
    da = deferred_acceptance(p)
    if mode == "strict" and only_stability and not ties_matter(p):
        # The candidate-optimal stable placement (NRMP / Roth-Peranson principle): exact at every level.
        return "OPTIMAL", da, {}, "deferred-acceptance"
    if only_stability:
        # Ties in a host's order: the weakly stable placements differ in how many they place (issue 18's
        # two-candidate scheme: deferred acceptance places 1 of 2), so every level is searched, from the
        # better of plain and promoted deferred acceptance as the first incumbent.
        da = first_incumbent(p, da)
    if run.net.conflicts:
        run.messages.extend(run.net.conflicts)
        return "INFEASIBLE", np.zeros(0, np.int32), {}, "cp-sat"

    free, one, x, repaired = _first_hint(run, da, only_stability)
    return _search_levels(run, da, only_stability, free, one, x, repaired)


def _first_hint(
    run: SolveContext, da: np.ndarray, only_stability: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(free pairs, pairs placed for sure, the first hint, the repaired prefer answer or None).

    All pairs are variables; those the network forces are placed, their candidates' other pairs are not.
    """
    p = run.problem
    one = run.net.forced
    cand_forced = run.net.cand_forced
    free = np.flatnonzero(~cand_forced[p.pair_cand]).astype(np.int64)
    x = np.zeros(p.n_pairs, np.int64)
    x[da] = 1
    x[one] = 1
    repaired = None
    if run.options.stability == "prefer" and not only_stability:
        # Deferred acceptance breaks the side rows; repaired to meet them it is a placement with few blocking
        # pairs: the first incumbent (CP-SAT starts from a complete, feasible hint) and the answer of last resort.
        repaired = _prefer_fallback(run, x)
        if repaired is not None:
            repaired = fewer_blocking(
                run.net, run.hard_rows, repaired, deadline=time.perf_counter() + BLOCKING_SEARCH_SHARE * run.remaining()
            )
            x = repaired
            run.say(
                f"blocking: repaired deferred acceptance, {len(blocking_pairs(p, np.flatnonzero(x)))} blocking pairs"
            )
    return free, one, x, repaired


def _search_levels(
    run: SolveContext,
    da: np.ndarray,
    only_stability: bool,
    free: np.ndarray,
    one: np.ndarray,
    x: np.ndarray,
    repaired: np.ndarray | None,
) -> tuple[str, np.ndarray, dict[str, float], str]:
    """CP-SAT on each level in turn (fewest blocking pairs first under prefer), each held at its optimum."""
    p = run.problem
    mode: Literal["strict", "prefer"] = "prefer" if run.options.stability == "prefer" else "strict"
    rows = run.hard_rows + run.soft_rows
    levels = grouped(run.problem, make_levels(run.problem, run.options, run.scale.K))
    seq: list[Level | None] = ([None] if mode == "prefer" else []) + levels
    eqs: list[tuple[np.ndarray, int]] = []
    cap: int | None = None
    blocking_cap: int | None = None
    bound: dict[str, float] = {}
    status, chosen = "OPTIMAL", None
    build_seconds = 0.0
    for lvl in seq:
        is_blocking = lvl is None
        cost = np.zeros(p.n_pairs, np.int64) if lvl is None else lvl.cost
        soft = False if lvl is None else lvl.soft
        spec = ModelSpec(
            problem=p,
            free=free,
            fixed_one=one,
            rows=rows,
            pair_cost=cost,
            soft_in_objective=soft,
            penalty_cap=cap,
            equalities=eqs,
            hint=x,
        )

        def extra(model, xs, is_blocking=is_blocking, blocking_cap=blocking_cap, x=x):
            indicators = add_stability(model, xs, p, mode)
            if mode == "prefer":
                total = sum(indicators) if indicators else 0
                if is_blocking:
                    model.minimize(total)  # the first level: fewest blocking pairs
                    # The hint's own blocking pairs, so CP-SAT gets a complete first solution.
                    blocks = blocking_mask(p, np.flatnonzero(x))
                    for q in np.flatnonzero(p.capacity[p.pair_host] > 0).tolist():
                        model.add_hint(indicators[q], bool(blocks[q]))
                elif blocking_cap is not None:
                    model.add(total <= blocking_cap)

        name = "blocking" if lvl is None else lvl.name
        if chosen is not None and run.remaining() < 2 * build_seconds:
            # Building the next level's model alone would outlast the time left: keep this answer.
            status = "FEASIBLE"
            break
        run.say(f"{name}: CP-SAT with {mode} stability")
        res = solve_cpsat(
            spec,
            max(0.05, run.remaining()),
            workers=STABLE_WORKERS,
            presolve=True,
            linearization=STABLE_LINEARIZATION,
            extra=extra,
        )
        run.used(name, res.engine)
        build_seconds = res.build_seconds
        if res.status == "INFEASIBLE":
            if chosen is None:
                return "INFEASIBLE", np.zeros(0, np.int32), {}, "cp-sat"
            raise RuntimeError("internal error: a lexicographic level became infeasible")
        if res.x is None:
            if chosen is None:
                return _last_resort(run, da, only_stability, repaired, bound)
            status = "FEASIBLE"
            break
        x, chosen = res.x, np.flatnonzero(res.x)
        sign = 1 if lvl is None else lvl.sign
        scale = run.scale.K if (lvl is not None and lvl.soft) else 1
        if sign and res.bound is not None:
            bound[name] = sign * res.bound / scale
        if res.status != "OPTIMAL":
            status = "FEASIBLE"
            break
        # Hold this level at its optimum for the next ones.
        if lvl is None:
            blocking_cap = res.value
        elif lvl.name == "penalty":
            cap = run.penalty(x)
        else:
            eqs = eqs + held(lvl, x)
    assert chosen is not None  # the loop ran at least the placed level
    return status, chosen, bound, "cp-sat"


def _last_resort(
    run: SolveContext, da: np.ndarray, only_stability: bool, repaired: np.ndarray | None, bound: dict[str, float]
) -> tuple[str, np.ndarray, dict[str, float], str]:
    """The first level found nothing in time: an answer that meets every hard rule if there is one."""
    p = run.problem
    if only_stability:
        # Deferred acceptance is weakly stable and meets every rule here: the answer of last resort.
        run.messages.append("the search found no placement in time; the answer is deferred acceptance's")
        return (
            "FEASIBLE",
            da,
            {"placed": float(run.net.solve(np.zeros(p.n_pairs, np.int64), 0, None).value)},
            "deferred-acceptance",
        )
    if repaired is not None:
        # Blocking pairs are only counted under "prefer": any placement meeting the hard rows is
        # an answer, and the repaired one is better than none.
        run.messages.append(
            "CP-SAT found no placement in time; the answer is deferred acceptance "
            "repaired to meet the hard rules, its blocking pairs reduced by local "
            "search (not proven fewest)"
        )
        return "FEASIBLE", np.flatnonzero(repaired), bound, "cp-sat+repair"
    return "UNKNOWN", np.zeros(0, np.int32), bound, "cp-sat"


def first_incumbent(p, da: np.ndarray) -> np.ndarray:
    """The better of ``da`` and promoted deferred acceptance (``stability.deferred_acceptance``): more placed,
    then the lower rank sum. Both are weakly stable."""
    promoted = deferred_acceptance(p, promote=True)

    def key(chosen: np.ndarray) -> tuple[int, int]:
        return -chosen.size, int(p.pair_rank[chosen].sum())

    return promoted if key(promoted) < key(da) else da


def _prefer_fallback(run: SolveContext, x: np.ndarray) -> np.ndarray | None:
    """A placement meeting every hard row near ``x`` (the deferred-acceptance hint), by ``repair``; None if none."""

    from .repair import repair

    p = run.problem
    start = x
    load = np.bincount(p.pair_host[np.flatnonzero(x)], minlength=p.n_hosts)
    once = np.bincount(p.pair_cand[np.flatnonzero(x)], minlength=p.n_candidates).max(initial=0) <= 1
    if not once or np.any(load > p.capacity):
        flow = run.net.solve(p.pair_rank.astype(np.int64), 0, None)
        if not flow.ok:
            return None
        start = flow.x
    fixed = run.net.forced
    if fixed.size and not np.all(start[fixed] == 1):
        return None
    out = repair(
        run.net,
        run.hard_rows,
        start,
        p.pair_rank.astype(np.int64),
        deadline=time.perf_counter() + max(1.0, 0.2 * float(run.options.time_limit)),
    )
    if out is None or not run.valid(out, [], None):
        return None
    return out
