"""Settling ties: among placements equally good at every level, which one to return.

A scheme's objective leaves many ties (two candidates who ranked the same two
hosts equally high can swap). Left to the engines, the choice follows their
search order: deterministic, but not something a coordinator can explain. The
tie-break is one more level (``levels.tie_level``), optimised with every real
level held at its optimum, so it never costs a placement, a rank or a side constraint:

* host order (the default): the places go to the candidates the hosts rank
  higher, so "why did they get my place" has a merit answer;
* fewest changes from an earlier answer (``keep``): for re-solves that are
  compared with that answer, so every move shown is one the change forced.

How it is solved follows the level above. On the pure network it is one more
min-cost flow on the locked network (exact, a fraction of a second at 20,000
candidates). With side constraints, the last level's reduced costs at its
optimal value fix every pair no optimal placement can change (the same proof
as ``lagrange.fixings``), and the exact engine optimises the tie level over
the rest with the levels held: usually the model the last level already
solved, or a smaller one. It gets a bounded share of the solve: a quarter of
the time the real levels took (``TIE_SHARE``); if that runs out the levels'
own answer is kept, which is optimal at every real level, and the round says
the ties were not settled.
"""

from __future__ import annotations

import time

import numpy as np

from .checks import Row
from .context import SolveContext
from .cpsat import ModelSpec
from .lagrange import Lagrange, fixings
from .levels import Level, held
from .network import Flow
from .problem import TieOutcome

# The tie-break's share of the solve: it may take this fraction of the time the real levels took, and
# at least TIE_MIN_SECONDS (small models settle in milliseconds; this keeps them settled on a loaded
# machine). On binding-target schemes the tie model is as hard as the last level and
# took 4-6 times the untied solve (issue 11); a tie never costs a placement, a rank or a target, so it
# should not cost the coordinator most of the minute either. Unsettled ties are reported as such.
TIE_SHARE = 0.25
TIE_MIN_SECONDS = 2.0


def on_network(run: SolveContext, flow: Flow, tie: Level, n_placed: int) -> tuple[Flow, TieOutcome]:
    """Pure network: the tie level as a min-cost flow among the optimal flows of the levels above."""
    net = run.net
    net.lock(flow)
    tied = net.solve(tie.cost, 0, n_placed)
    if not tied.ok:
        raise RuntimeError("the locked network lost every placement at the tie-break")
    return tied, TieOutcome.OPTIMAL


def after_flow(run: SolveContext, flow: Flow, last: Level, tie: Level) -> tuple[np.ndarray, TieOutcome]:
    """The network's answer met every side row: settle ties among the network's optima that still do.

    The tie level on the locked network is optimal if it meets the rows too;
    otherwise the exact engine searches the pairs the lock left free (every
    optimal placement is an optimal flow, so it lies among them).
    """
    tied, how = on_network(run, flow, tie, flow.value)
    if run.meets(tied.x, [], None) and all(r.value(tied.x) <= 0 for r in run.side_soft_rows):
        return tied.x, how
    net = run.net
    arcs = slice(net.pair_arc0, net.slot_a0)
    open_ = net.lo[arcs] < net.hi[arcs]
    free = net.free_pairs[open_]
    one = np.union1d(net.free_pairs[~open_ & (net.lo[arcs] == 1)], net.forced).astype(np.int64)
    return on_side_constraints(run, last, flow.x, [], None, flow.value, None, tie, (free, one))


def on_side_constraints(
    run: SolveContext,
    last: Level,
    x: np.ndarray,
    eqs: list[tuple[np.ndarray, int]],
    cap: int | None,
    n_placed: int,
    lag: Lagrange | None,
    tie: Level,
    free_one: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, TieOutcome]:
    """With side rows: the exact engine on the pairs an optimal placement can still change.

    ``last`` is the last real level, solved to optimality with answer ``x``;
    ``eqs`` and ``cap`` hold the levels above it; ``lag`` is the pricing that
    proved it, whose reduced costs fix the rest (``free_one``: pairs already
    known free and fixed at 1; neither: every pair stays free).
    """
    p = run.problem
    value = run.value(last, x)
    # Hold the last level too: its rank part at most what it is, its soft penalty at most what it is now
    # (a tie that trades rank for penalty at the same total is given up: still optimal, simpler to state).
    # "At most" is enough: nothing is better than the optimum, so both hold with equality; and for a
    # grouped rank-count level each count at most its value with the number placed fixed forces equality
    # too. HiGHS handles the inequality rows better than equalities of the same costs.
    last_held = [] if last.name == "penalty" else held(last, x)
    hold = [
        Row(np.flatnonzero(c).astype(np.int64), c[c != 0].astype(np.int64), -v, "le", 0, "level") for c, v in last_held
    ]
    if last.name == "penalty" or last.soft:
        cap = run.penalty(x)
    if free_one is not None:
        free, one = free_one
    elif lag is not None:
        free, one = fixings(run.net, lag, value)
    else:
        free = np.flatnonzero(~run.net.cand_forced[p.pair_cand]).astype(np.int64)
        one = run.net.forced
    if tie.name == "kept":
        # The earlier answer is itself optimal at every level (the change did not bind it): fewest changes
        # is none, and no model need be solved to know it (scenario variants, the audit's re-solve).
        kept = (tie.cost < 0).astype(x.dtype)
        if int(kept.sum()) == n_placed and run.value(last, kept) == value and run.valid(kept, eqs + last_held, cap):
            return kept, TieOutcome.OPTIMAL
    rows: list[Row] = run.hard_rows + run.cuts(n_placed) + run.soft_rows + hold
    spec = ModelSpec(
        problem=p,
        free=free,
        fixed_one=one,
        rows=rows,
        pair_cost=tie.cost,
        soft_in_objective=False,
        placed=n_placed,
        penalty_cap=cap,
        equalities=eqs,
        hint=x,
    )
    if run.remaining() <= 0.05:
        return x, TieOutcome.NO_TIME
    run.say(f"tie-break ({tie.name}): exact model on {free.size} of {p.n_pairs} pairs")
    if tie.name == "host_order":
        # A bounded share: at most TIE_SHARE of the time the real levels took (at least TIE_MIN_SECONDS).
        # Fewest changes (``kept``) is not capped: the comparisons it serves must show forced moves only.
        elapsed = time.perf_counter() - run.start
        run.level_deadline = time.perf_counter() + max(TIE_MIN_SECONDS, TIE_SHARE * elapsed)
    try:
        res = run.exact(spec, "tie-break")
    finally:
        run.level_deadline = float("inf")
    if res.status != "OPTIMAL" or res.x is None:
        # Only a proven tie-break is used: the best one found when the clock ran out depends on the
        # machine's speed, and the same inputs must give the same placements.
        return x, TieOutcome.TIMED_OUT
    if not run.valid(res.x, eqs + last_held, cap) or run.value(last, res.x) != value:
        # A floating-point answer that breaks a row or moves a level: keep the proven answer.
        return x, TieOutcome.MOVED_LEVEL
    return res.x, TieOutcome.OPTIMAL
