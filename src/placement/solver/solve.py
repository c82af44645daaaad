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

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np

from . import ties
from .checks import Row, Scaling, check_options, check_problem, check_validity, evaluate, scaling
from .constraints import pure_network
from .cpsat import EngineResult, ModelSpec, solve_cpsat
from .cuts import share_cuts
from .lagrange import Lagrange, fixings, lagrangian
from .levels import Level, held, make_levels, next_group, open_ranks, tie_level
from .network import Flow, Network
from .problem import Options, Problem, Solution, Status, TieBreak, TieOutcome
from .repair import repair_best

# First cut-off of the reduced model: this many rank units above the Lagrangian bound. Measured on
# scheme-shaped instances with the benchmark's side constraints (seconds, cut-off 0 / 0.5 / 1):
# 5,000 synthetic 8.9 / 14.0 / 7.8; 20,000 synthetic 35.5 / 23.8 / -; generated 10,000 9.8 / 9.0 / 33.0.
FIRST_CUTOFF = 0.5
G = 64  # price grid of the Lagrangian: 1/64 of an objective unit
ENGINES = ("auto", "highs", "cp-sat")
# Share of the time left that a level's pricing may take. Its LP warm start prices columns until its duals prove
# the LP value; at 20,000 binding candidates that takes 35 s at load 5-7 (six LP rounds), and 0.4 of the time
# stopped it at a bound 0.4% short (no proof, 16,832-16,862 placed); with 0.6: 16,864 placed within 0.04%.
PRICING_SHARE = 0.6
ANSWER_RESERVE = 1.0  # seconds of the time limit kept for checking and scoring the answer


@dataclass
class Outcome:
    status: str  # OPTIMAL | FEASIBLE | INFEASIBLE | UNKNOWN
    x: np.ndarray | None
    value: int | None  # minimised value
    bound: int | None  # proven lower bound of the minimised value
    method: str
    lag: Lagrange | None = None  # the pricing behind it: its reduced costs fix pairs for the tie-break


def proven(level: Level, value: int, lb: int) -> bool:
    """Whether a placement of ``value`` is optimal for ``level`` given its lower bound ``lb``. For fewest
    penalties then least rank cost (``penalty_then_rank``) the penalty alone is the level: the rank cost
    beneath it only guides the search (and starts the rank counts that come next)."""
    return value <= lb or (level.soft_weight > 1 and level.penalty_of(value) <= level.penalty_of(lb))


class _Run:
    """One solve: the problem's integer rows, its network, the clock and what was said."""

    def __init__(
        self,
        problem: Problem,
        options: Options,
        progress: Callable[[str], None] | None,
        engine: str,
        force_exact: bool = False,
    ):
        self.force_exact = force_exact
        self.problem = problem
        self.options = options
        self.start = time.perf_counter()
        # The answer's own checks (validity, evaluation: about a second at 20,000 candidates) come after the
        # search, within the coordinator's limit.
        self.deadline = self.start + float(options.time_limit) - min(ANSWER_RESERVE, 0.02 * float(options.time_limit))
        self.say = progress or (lambda _msg: None)
        self.engine = engine
        # Every constraint family's integer rows (constraints/), with level 2's scale K.
        self.scale: Scaling = scaling(problem, options)
        self.net = Network(problem, options)
        self.messages: list[str] = []
        self.methods: list[str] = []
        self.tie: Level | None = None  # the tie-break level, if ties are to be settled
        # The repair's placement with fewer placed than the level asked for (``repair``): the answer
        # of last resort when nothing of the network's size is found in time.
        self.fallback: np.ndarray | None = None
        self.level_deadline = float("inf")  # a level's own share of the time limit
        self.engines: dict[str, str] = {}  # which exact engine solved which level, for the round's provenance
        self.tie_result = TieOutcome.NOT_SETTLED
        K = self.scale.K
        # The network's reward per unit of the soft rows it models itself (per filled place it rewards).
        self.min_weight = self.scale.network_reward
        # Every hard row: what the exact engines are given.
        self.hard_rows: list[Row] = self.scale.hard
        self.soft_rows: list[Row] = self.scale.soft
        # The rows the network does not model: priced by the Lagrangian, checked after every flow.
        self.side_rows: list[Row] = self.scale.side_hard
        self.side_soft_rows: list[Row] = self.scale.side_soft
        self._cuts: dict[int | None, list[Row]] = {}
        # No placement costs more than this at level 2: every candidate at their worst rank, every soft row at its worst.
        worst = np.zeros(problem.n_candidates, np.int64)
        np.maximum.at(worst, problem.pair_cand, problem.pair_rank.astype(np.int64))
        self.soft_top = sum(r.weight * max(0, r.const + int(r.coef[r.coef > 0].sum())) for r in self.soft_rows)
        self.cost_cap = K * int(worst.sum()) + self.soft_top + 1

    def remaining(self) -> float:
        return min(self.deadline, self.level_deadline) - time.perf_counter()

    def cuts(self, placed: int | None = None) -> list[Row]:
        """Share cuts on the hard side rows (``cuts``) for placements of ``placed`` (None: any number):
        valid for every such placement, they tighten the bound and the exact models. Computed once each."""
        if placed not in self._cuts:
            self._cuts[placed] = share_cuts(self.net, self.side_rows, placed)
        return self._cuts[placed]

    # ------------------------------------------------------------------ exact values

    def penalty(self, x: np.ndarray) -> int:
        return sum(r.weight * max(0, r.value(x)) for r in self.soft_rows)

    def value(self, level: Level, x: np.ndarray) -> int:
        v = int(np.dot(level.cost, x))
        return v + level.soft_weight * self.penalty(x) if level.soft else v

    def soft_of(self, level: Level, rows: list[Row]) -> list[Row]:
        """Soft ``rows`` weighted as in ``level`` (``Level.soft_weight``)."""
        if level.soft_weight == 1:
            return rows
        return [dataclasses.replace(r, weight=r.weight * level.soft_weight) for r in rows]

    def meets(self, x: np.ndarray, eqs: list[tuple[np.ndarray, int]], cap: int | None) -> bool:
        """Hard rows, earlier levels and the penalty cap (a flow already meets the rest)."""
        if not all(r.holds(x) for r in self.hard_rows):
            return False
        if any(int(np.dot(c, x)) != v for c, v in eqs):
            return False
        return cap is None or self.penalty(x) <= cap

    # ------------------------------------------------------------------ one level

    def most_placed(self, level: Level) -> int:
        """An upper bound on the number placed under the hard rows, from a short pricing of level 1."""
        rows = self.side_rows
        lag = lagrangian(
            self.net,
            level.cost,
            0,
            0,
            rows,
            "any",
            score=lambda _x: None,
            cost_cap=self.problem.n_candidates + 1,
            deadline=time.perf_counter() + max(0.5, 0.1 * self.remaining()),
            G=G,
            max_iter=20,
        )
        return 0 if lag.infeasible else -lag.ceil()

    def solve_level(
        self,
        level: Level,
        placed: int | None,
        eqs: list[tuple[np.ndarray, int]],
        cap: int | None,
        incumbent: tuple[int, np.ndarray] | None = None,
        probe: Level | None = None,
    ) -> Outcome:
        """Minimise one level over placements with ``placed`` placed (None: any number), earlier levels ``eqs``
        held, soft penalty at most ``cap``. Infeasible means: none with that many placed.

        ``probe`` (the ``placed`` level): when neither pricing nor the first reduced model finds a placement
        of that size, check by pricing level 1 that so many can be placed at all before widening the model.
        A binding hard side row can make the network's count unreachable, and the search would otherwise
        widen its reduced model until it holds every pair."""
        net = self.net
        eq_rows = [
            Row(np.flatnonzero(c).astype(np.int64), c[c != 0].astype(np.int64), -v, "eq", 0, "level") for c, v in eqs
        ]
        lag_rows = self.side_rows + self.cuts(placed) + eq_rows
        if level.soft:
            lag_rows += self.soft_of(level, self.side_soft_rows)
        slot_reward = level.soft_weight * self.min_weight if level.soft else 0
        constant = slot_reward * int(net.min_rem.sum())
        # No placement's level value reaches this: each candidate at their dearest pair, every soft row at its worst.
        dearest = np.zeros(self.problem.n_candidates, np.int64)
        np.maximum.at(dearest, self.problem.pair_cand, np.abs(level.cost))
        cost_cap = int(dearest.sum()) + (level.soft_weight * self.soft_top if level.soft else 0) + 1

        def score(x: np.ndarray) -> int | None:
            return self.value(level, x) if self.meets(x, eqs, cap) else None

        value: int | str = "any" if placed is None else placed
        self.say(f"{level.name}: pricing {len(lag_rows)} side rows over the network")
        lag = lagrangian(
            net,
            level.cost,
            slot_reward,
            constant,
            lag_rows,
            value,
            score=score,
            cost_cap=cost_cap,
            deadline=time.perf_counter() + max(0.5, PRICING_SHARE * self.remaining()),
            G=G,
            max_iter=1 if self.force_exact else 60,
        )
        if lag.infeasible:
            return Outcome("INFEASIBLE", None, None, None, "lagrangian", lag=lag)
        best = incumbent
        if (
            lag.best_value is not None
            and lag.best_x is not None
            and (best is None or lag.best_value < best[0])
            and not self.force_exact
        ):
            best = (lag.best_value, lag.best_x)
        if self.tie is not None and self.tie.name == "kept" and not self.force_exact:
            # The earlier answer (``keep``) is an incumbent too: when the change does not bind it (scenario
            # variants, the audit's re-solve), the pricing's bound proves it optimal with no exact model.
            kept = (self.tie.cost < 0).astype(np.int64)
            if (placed is None or int(kept.sum()) == placed) and self.valid(kept, eqs, cap):
                value_kept = self.value(level, kept)
                if best is None or value_kept < best[0]:
                    best = (value_kept, kept)
        lb = lag.ceil()
        self.say(
            f"{level.name}: bound {lb}, best {None if best is None else best[0]} after {lag.iterations} priced flows"
        )
        if best is not None and proven(level, best[0], lb):
            return Outcome("OPTIMAL", best[1], best[0], best[0], "lagrangian", lag=lag)
        repaired = best is None and not self.force_exact
        if repaired:
            best = self._repaired(level, lag, placed, eqs, cap, eq_rows)
            if best is not None and proven(level, best[0], lb):
                return Outcome("OPTIMAL", best[1], best[0], best[0], "lagrangian+repair", lag=lag)
            if best is None and self.fallback is not None and probe is not None:
                # The repair had to give up placements: keep half the time for the best placement of its size.
                self.level_deadline = time.perf_counter() + 0.5 * self.remaining()
        try:
            return self._search(
                level,
                placed,
                eqs,
                cap,
                probe,
                lag,
                lb,
                best,
                cost_cap,
                "lagrangian+repair" if repaired and best is not None else "lagrangian",
            )
        finally:
            self.level_deadline = float("inf")

    def _search(
        self,
        level: Level,
        placed: int | None,
        eqs,
        cap,
        probe: Level | None,
        lag: Lagrange,
        lb: int,
        best: tuple[int, np.ndarray] | None,
        cost_cap: int,
        method: str,
    ) -> Outcome:
        """Reduced exact models, cut-off by cut-off, until the level is proven or the clock runs out."""
        first = method
        net = self.net
        rows = self.hard_rows + self.cuts(placed)
        if level.soft or cap is not None:
            rows += self.soft_of(level, self.soft_rows)
        # First cut-off: half a rank unit above the bound (most gaps close there); then
        # just below the best placement found, to prove it.
        step = int(self.scale.K * FIRST_CUTOFF) if level.soft else 1
        allowed = lb + step if best is None else min(best[0] - 1, lb + step)
        if not level.soft and best is not None:
            # A count level (placed, rank_r): its bound is weak and the last level's answer is at
            # most a few counts off, so search straight below that answer.
            allowed = best[0] - 1
        while True:
            if best is not None:
                self.level_deadline = float("inf")  # a placement of the full size: the fallback's time is not needed
            if self.remaining() <= 0.05:
                break
            free, one = fixings(net, lag, allowed)
            hint = best[1] if best is not None else lag.flow.x
            spec = ModelSpec(
                problem=self.problem,
                free=free,
                fixed_one=one,
                rows=rows,
                pair_cost=level.cost,
                soft_in_objective=level.soft,
                placed=placed,
                penalty_cap=cap,
                equalities=eqs,
                hint=hint,
                count_group=bool(level.members),
            )
            self.say(f"{level.name}: exact model on {free.size} of {self.problem.n_pairs} pairs (cut-off {allowed})")
            res = self.exact(spec, level.name)
            if res.x is not None and not self.valid(res.x, eqs, cap) and res.engine == "highs":
                # Floating point let a placement through that breaks a row: ask the exact engine instead.
                self.messages.append("HiGHS returned a placement that breaks a constraint; re-solved with CP-SAT")
                res = solve_cpsat(spec, max(0.05, self.remaining()), workers=1, presolve=False)
                self.used(level.name, res.engine)
            method = f"{first}+{res.engine}"
            v = None
            if res.x is not None:
                if not self.valid(res.x, eqs, cap):
                    raise RuntimeError(f"internal error: {res.engine} returned a placement that breaks a constraint")
                v = self.value(level, res.x)
                if best is None or v < best[0]:
                    best = (v, res.x)
            if res.status in ("OPTIMAL", "INFEASIBLE"):
                # The reduced model holds every placement of value <= allowed, so its optimum,
                # if within the cut-off, is the optimum; otherwise nothing reaches the cut-off.
                lb = max(lb, allowed + 1) if res.status == "INFEASIBLE" or v is None or v > allowed else max(lb, v)
                if best is not None and proven(level, best[0], lb):
                    return Outcome("OPTIMAL", best[1], best[0], best[0], method, lag=lag)
                step = max(1, int(self.scale.K * 0.5), 4 * step)
                if best is not None:
                    allowed = min(best[0] - 1, lb + step)
                    continue
                if allowed >= cost_cap:
                    return Outcome("INFEASIBLE", None, None, None, method, lag=lag)
                if probe is not None and placed is not None:
                    # Nothing of this size near the bound: before widening, check so many can be placed.
                    most = self.most_placed(probe)
                    if most < placed:
                        self.say(f"{level.name}: at most {most} can be placed within the hard side constraints")
                        return Outcome("INFEASIBLE", None, None, None, method, lag=lag)
                    probe = None
                allowed = min(cost_cap, lb + step)
                continue
            # Stopped by the clock: what the reduced model proved holds only below the cut-off.
            if res.bound is not None:
                lb = max(lb, min(res.bound, allowed + 1))
            if best is not None and self.level_deadline < self.deadline and best[0] > lb:
                # Only the level's share ran out, and it found a placement of the full size: carry on
                # below it with the whole time left (the loop lifts the share).
                allowed = min(allowed, best[0] - 1)
                continue
            break
        if best is None:
            return Outcome("UNKNOWN", None, None, lb, method, lag=lag)
        if best[0] <= lb:
            # The clock stopped the engine just as its bound reached the best placement: that is a proof.
            return Outcome("OPTIMAL", best[1], best[0], best[0], method, lag=lag)
        return Outcome("FEASIBLE", best[1], best[0], lb, method, lag=lag)

    def _repaired(
        self, level: Level, lag: Lagrange, placed: int | None, eqs, cap, eq_rows: list[Row]
    ) -> tuple[int, np.ndarray] | None:
        """The priced flow repaired to meet every hard row (``repair``): an incumbent for this level if it
        keeps the number placed, else kept as the solve's answer of last resort (``fallback``)."""
        t0 = time.perf_counter()
        deadline = t0 + max(0.5, 0.25 * self.remaining())
        # The level's cost orders equally good moves; a level without pair costs (rank-maximal's and generous'
        # penalty level) takes the ranks: 5,000 binding, 4,210 placed against 4,192 in arbitrary order.
        cost = level.cost if level.cost.any() else self.problem.pair_rank.astype(np.int64)

        def least_rank() -> np.ndarray | None:
            flow = self.net.solve(self.problem.pair_rank.astype(np.int64), 0, placed)
            return flow.x if flow.ok else None

        def nearest_lp() -> np.ndarray | None:
            # The network's placement nearest the LP relaxation's: it meets the rows up to the LP's fractions.
            if lag.lp_x is None:
                return None
            flow = self.net.solve(-np.round(1024 * lag.lp_x).astype(np.int64), 0, placed)
            return flow.x if flow.ok else None

        # First from the network's placement nearest the LP relaxation's (binding schemes: the full 4,214 at
        # 5,000 candidates in 0.2 s and 16,864 at 20,000, where the priced flow gave 4,213 and 16,832). From a
        # priced flow the repair may stick or give up placements: then from the other priced flows and the
        # network's least-rank flow too, keeping the one with the most placed.
        starts = [nearest_lp, lag.flow.x, *lag.others, *([least_rank] if not eq_rows else [])]
        x = repair_best(
            self.net,
            self.hard_rows + eq_rows,
            starts,
            cost,
            placed=placed,
            deadline=deadline,
            ok=lambda y: self.valid(y, [], None),
        )
        if x is None:
            self.say(f"{level.name}: the repair found no placement meeting the hard rows")
            return None
        n = int(x.sum())
        self.say(f"{level.name}: repaired placement with {n} placed in {time.perf_counter() - t0:.2f} s")
        if (placed is None or n == placed) and self.valid(x, eqs, cap):
            return self.value(level, x), x
        if self.fallback is None or n > int(self.fallback.sum()):
            self.fallback = x
        return None

    def valid(self, x: np.ndarray, eqs, cap) -> bool:
        return self.meets(x, eqs, cap) and not check_validity(self.problem, np.flatnonzero(x), self.options)

    def used(self, step: str, engine: str) -> None:
        """Note that ``engine`` worked on ``step`` (a level, the tie-break): the round's provenance."""
        have = self.engines.get(step, "")
        if engine not in have.split("+"):
            self.engines[step] = f"{have}+{engine}" if have else engine

    def exact(self, spec: ModelSpec, step: str = "exact") -> EngineResult:
        """The exact model ``spec`` by the engine the options choose; ``step`` names it in the provenance."""
        res = self._exact(spec)
        if res.engine != "fixed":
            self.used(step, res.engine)
        return res

    def _exact(self, spec: ModelSpec) -> EngineResult:
        if spec.free.size == 0:
            # Nothing left to choose: the fixed pairs either are a placement of the spec or none is.
            x = np.zeros(self.problem.n_pairs, np.int64)
            x[spec.fixed_one] = 1
            ok = (
                (spec.placed is None or int(x.sum()) == spec.placed)
                and all(r.value(x) <= 0 for r in spec.rows if r.kind == "le")
                and all(r.value(x) == 0 for r in spec.rows if r.kind == "eq")
                and self.meets(x, spec.equalities, spec.penalty_cap)
                and not check_validity(self.problem, np.flatnonzero(x), self.options)
            )
            if not ok:
                return EngineResult("INFEASIBLE", None, None, None, 0.0, "fixed")
            v = int(np.dot(spec.pair_cost, x)) + (self.penalty(x) if spec.soft_in_objective else 0)
            return EngineResult("OPTIMAL", x, v, v, 0.0, "fixed")
        limit = max(0.05, self.remaining())
        # Large integer weights stay exact in CP-SAT, not in floating point. A group of rank counts is built
        # so that its every value is an integer HiGHS holds exactly (``levels.GROUP_LIMIT``), and HiGHS solves
        # it: at 1,000 binding candidates CP-SAT left seed 2024's ranks 7-10 (weights to 1.2e6) unproven at
        # 60 s, where HiGHS proves such groups in seconds.
        big = not spec.count_group and int(np.abs(spec.pair_cost).max(initial=0)) > 10**6
        if self.engine == "cp-sat" or (self.engine == "auto" and big):
            return solve_cpsat(spec, limit, workers=1, presolve=False)
        from .mip import GRACE, solve_highs

        # A big model runs apart and is killed when the solve's time is up (stuck in presolve, HiGHS reads no
        # clock; with the kill GRACE past a short limit, 20,000 binding rank-maximal ended at 61.6 s of 60).
        return solve_highs(spec, max(0.05, limit - GRACE) if limit > 2 * GRACE else limit, kill_after=limit)


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
    run = _Run(problem, options, progress, engine, force_exact)
    if keep is not None or options.tie_break == "host-order":
        run.tie = tie_level(problem, None if keep is None else np.asarray(keep, np.int64))
    if options.stability == "none":
        result = _solve_plain(run)
    else:
        from .stable_levels import solve_stable

        result = solve_stable(run)
    return _finish(run, *result)


# --------------------------------------------------------------------------- stability none


def _solve_plain(run: _Run) -> tuple[str, np.ndarray, dict[str, float], str]:
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


def _from_fallback(run: _Run, level: Level, bound: dict[str, float]) -> tuple[str, np.ndarray, dict[str, float], str]:
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


def _bounds_of(run: _Run, levels: list[Level], x: np.ndarray) -> dict[str, float]:
    ev = evaluate(run.problem, np.flatnonzero(x), run.options, run.scale)
    return dict(ev.objective)


def _network_levels(run: _Run, levels: list[Level], flow: Flow) -> tuple[str, np.ndarray, dict[str, float], str]:
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


def _finish(run: _Run, status: str, chosen: np.ndarray, bound: dict[str, float], method: str) -> Solution:
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
