"""Lagrangian bounds over the placement network, and the reduced-cost fixing they allow.

With side constraints (targets, links, earlier lexicographic levels) the
network of ``network.py`` is a relaxation, and it does two more jobs:

* a *bound*: :func:`lagrangian` prices the few side rows (Lagrange
  multipliers), solves the priced network, and maximises that bound over the
  prices: first prices from the LP relaxation over the pairs near the
  network optimum (``lp_relax.lp_prices``, column generation; with the generator's
  linked pairs the cutting planes alone needed 47 flows and 4.3 s at 5,000
  candidates, the LP start 2 flows and 1.6 s), then a trust-region
  cutting-plane method. Every bound it reports is the exact cost of an
  integer min-cost flow plus priced constants - no floating-point LP is
  trusted for a proof. An integral LP answer that meets every row is a
  placement too (at 20,000 generated candidates it matched the bound: no
  search at all);
* *reduced-cost fixing* (:func:`fixings`): a pair whose reduced cost under
  the priced optimum says that using it (or dropping it) costs more than the
  gap between the bound and the best placement we hope for cannot be in any
  such placement and is fixed. That leaves the exact model only the pairs
  near the priced optimum.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .checks import Row
from .lp_relax import lp_prices, row_matrix
from .network import Flow, Network

_TRACE = False
# Priced flows kept besides the best one, as starting points for the repair (``solve._repaired``).
KEEP_FLOWS = 6


@dataclass
class Lagrange:
    """The best priced network found: an exact lower bound and what certifies it."""

    bound: int  # exact lower bound on the level, in 1/G units of its integer objective
    G: int
    multipliers: np.ndarray  # per row, in 1/G units
    flow: Flow  # the priced network's optimal flow at those prices
    infeasible: bool = False  # the bound passed any finite cost: no placement of this size meets the rows
    iterations: int = 0
    best_value: int | None = None  # the best placement met on the way (a priced flow meeting every row)
    best_x: np.ndarray | None = None
    reduced: tuple[np.ndarray, np.ndarray] | None = None  # the flow's reduced costs, once computed
    # Other priced flows met on the way (best bound first, a few): more starting points for the repair.
    others: list[np.ndarray] = field(default_factory=list)
    lp_x: np.ndarray | None = None  # the LP relaxation's placement (fractional) of the warm start, if any

    def ceil(self) -> int:
        return -(-self.bound // self.G)


class _Priced:
    """One level's Lagrangian function: prices on ``rows`` in, the priced network's exact bound out."""

    def __init__(
        self,
        net: Network,
        level_cost: np.ndarray,
        slot_reward: int,
        constant: int,
        rows: list[Row],
        value: int | str,
        cost_cap: int,
        G: int,
    ):
        self.net, self.value, self.G = net, value, G
        self.slot_reward, self.constant = slot_reward, constant
        self.A = row_matrix(rows, net.n_pairs)
        self.At = self.A.T.tocsr()
        self.b = np.array([r.const for r in rows], np.int64)
        self.kinds = np.array([r.kind for r in rows])
        self.n_rows = len(rows)
        big = float(G) * float(cost_cap) * 4.0
        # Price bounds: soft rows at most their weight, hard rows at least 0, equalities free.
        self.lo = np.where(self.kinds == "eq", -big, 0.0)
        self.hi = np.array([float(G * r.weight) if r.kind == "soft" else big for r in rows])
        self.base = G * level_cost.astype(np.int64)

    def evaluate(self, lam: np.ndarray) -> tuple[int, np.ndarray, Flow] | None:
        """(exact bound in 1/G units, each row's value at the priced flow, that flow), or None if unpriceable."""
        net = self.net
        pc = self.base + (self.At @ lam if self.n_rows else 0)
        if int(np.abs(pc).max(initial=0)) > 2**62 // max(net.n_nodes, 1):
            return None  # prices this high cannot be represented: stop where we are
        f = net.solve(pc, self.G * self.slot_reward, self.value)
        if not f.ok:
            return None
        val = f.cost + int(pc[net.forced].sum()) + self.G * self.constant + int(np.dot(lam, self.b))
        g = (self.A @ f.x + self.b) if self.n_rows else np.zeros(0, np.int64)
        return val, g, f

    def clip(self, lam: np.ndarray) -> np.ndarray:
        """Prices rounded onto the 1/G grid within their bounds."""
        return np.clip(np.round(lam), np.ceil(self.lo), np.floor(self.hi)).astype(np.int64)


class _Cuts:
    """The cutting-plane model: every priced point so far, and the best bound among them."""

    def __init__(self, G: int, score: Callable[[np.ndarray], int | None]):
        self.G, self.score = G, score
        self.lam: list[np.ndarray] = []
        self.val: list[float] = []
        self.g: list[np.ndarray] = []
        self.best: Lagrange | None = None
        self.flows: list[tuple[int, np.ndarray]] = []  # (bound, flow) of the best few priced points
        self.lp_x: np.ndarray | None = None

    def add(self, val: int, g: np.ndarray, lam: np.ndarray, f: Flow, it: int) -> None:
        """Record a priced point as a cut, and as the best bound or placement if it is one."""
        self.lam.append(lam.astype(float))
        self.val.append(float(val))
        self.g.append(g.astype(float))
        self.flows = sorted(self.flows + [(val, f.x.astype(np.int8))], key=lambda vf: -vf[0])[:KEEP_FLOWS]
        best = self.best
        if best is None or val > best.bound:
            prev = best
            best = self.best = Lagrange(val, self.G, lam.copy(), f, iterations=it)
            if prev is not None:
                best.best_value, best.best_x = prev.best_value, prev.best_x
        best.iterations = it
        self.offer(self.score(f.x), f.x)

    def offer(self, s: int | None, x: np.ndarray) -> None:
        """A placement of value ``s`` (None: it breaks a row) becomes the best one if it is."""
        best = self.best
        assert best is not None
        if s is not None and (best.best_value is None or s < best.best_value):
            best.best_value, best.best_x = s, x


def lagrangian(
    net: Network,
    level_cost: np.ndarray,
    slot_reward: int,
    constant: int,
    rows: list[Row],
    value: int | str,
    *,
    score: Callable[[np.ndarray], int | None],
    cost_cap: int,
    deadline: float,
    G: int = 64,
    max_iter: int = 60,
    lp_columns: float = 4.0,
) -> Lagrange:
    """Maximise the Lagrangian bound of one level over prices on ``rows``.

    The level's integer objective is ``level_cost . x + constant + sum(weight * max(0, row))``
    over the soft rows (a soft lower quota is inside the network already,
    ``slot_reward`` per filled place, its full penalty in ``constant``). For
    prices ``lam`` with ``0 <= lam <= weight`` (soft), ``lam >= 0`` (hard
    ``le``) or of any sign (``eq``) every placement meeting the hard rows costs
    at least ``flow cost(level_cost + lam . A) + constant + lam . b``: the
    bound, evaluated exactly in integers with prices on a 1/G grid.

    The prices are maximised by a trust-region cutting-plane method (a small
    LP over the cuts collected so far, :func:`_cutting_planes`). It stops when
    the cut model promises less than one grid step, when the bound rounds up
    to the best placement seen (``score`` values priced flows that meet every
    row, None otherwise: nothing better is possible), at the deadline, or when
    the bound passes ``cost_cap`` (no placement of this size meets the rows).
    The first prices come from :func:`lp_prices` over the pairs within
    ``lp_columns`` level units of the network optimum (0: no warm start).
    """
    pr = _Priced(net, level_cost, slot_reward, constant, rows, value, cost_cap, G)
    cuts = _Cuts(G, score)
    lam = np.zeros(pr.n_rows, np.int64)
    first = pr.evaluate(lam)
    if first is None:
        raise RuntimeError("the placement network has no flow of the requested size")
    val, g, f = first
    cuts.add(val, g, lam, f, 1)
    # Trust region per price: start at a few rank units' worth.
    unit = float(max(1, int(np.abs(level_cost).max(initial=1))))
    delta = np.where(pr.kinds == "soft", np.maximum(pr.hi / 2, 1.0), float(G) * unit * 4.0)
    # Only rows some priced flow has broken get a price (links and quotas rarely bind: keeping the
    # rest at 0 keeps the cutting-plane model small and quick to converge).
    active = _broken(g, pr.kinds)
    lp_ceiling: int | None = None
    if pr.n_rows and active.any() and lp_columns > 0:
        lp_ceiling, active, delta = _warm_start(pr, cuts, level_cost, rows, f, G * lp_columns, active, delta, deadline)
    _cutting_planes(pr, cuts, active, delta, lp_ceiling, cost_cap, max_iter, deadline)
    best = cuts.best
    assert best is not None
    best.others = [x for _, x in cuts.flows[1:]]
    best.lp_x = cuts.lp_x
    if best.bound > G * cost_cap:
        best.infeasible = True
    return best


def _warm_start(
    pr: _Priced,
    cuts: _Cuts,
    level_cost: np.ndarray,
    rows: list[Row],
    f: Flow,
    threshold: float,
    active: np.ndarray,
    delta: np.ndarray,
    deadline: float,
) -> tuple[int | None, np.ndarray, np.ndarray]:
    """First prices from the LP relaxation near the network optimum (:func:`lp_prices`): the duals of the
    LP over the pairs near the network optimum are (nearly) the best prices, the cutting planes then only
    polish them. Returns (a ceiling on what any prices prove, if the LP gave one; active rows; trust region)."""
    priced: dict[bytes, tuple[np.ndarray, tuple[int, np.ndarray, Flow] | None]] = {}

    def proves(lam: np.ndarray, value: float) -> bool:
        # The duals are good when the priced network at them reaches the LP value, within two units (the
        # 1/G price grid loses a little: 1.2 units of 205,605 at 5,000 binding candidates).
        lam_g = pr.clip(lam * pr.G)
        key = lam_g.tobytes()
        if key not in priced:
            priced[key] = (lam_g, pr.evaluate(lam_g))
        out = priced[key][1]
        if _TRACE:
            print("   proves?", None if out is None else out[0] / pr.G, value)
        return out is not None and out[0] >= pr.G * (value - 2.0)

    lp = lp_prices(
        pr.net, level_cost, pr.slot_reward, rows, pr.b, pr.value, f, threshold, deadline=deadline, proves=proves
    )
    if lp is None:
        return None, active, delta
    lp_lam, lp_value, x_lp = lp
    cuts.lp_x = x_lp
    x_int = np.round(x_lp)
    value = pr.value
    if (
        np.isfinite(lp_value)
        and np.all(np.abs(x_lp - x_int) < 1e-6)
        and (value == "any" or int(x_int.sum()) == int(value))
    ):
        # An integral LP answer: if it meets every row exactly, it is a placement the bound may match.
        xi = x_int.astype(np.int64)
        cuts.offer(cuts.score(xi), xi)
    # No prices prove more than the LP relaxation (restricted LPs only overestimate it).
    lp_ceiling = int(np.ceil(lp_value - 1e-6)) if np.isfinite(lp_value) else None
    lam0 = pr.clip(lp_lam * pr.G)
    # The prices of earlier rounds are cuts too.
    for lam_g, out in priced.values():
        if out is not None and not np.array_equal(lam_g, lam0):
            cuts.add(out[0], out[1], lam_g, out[2], 2)
    step0 = priced[lam0.tobytes()][1] if lam0.tobytes() in priced else pr.evaluate(lam0)
    if step0 is not None:
        val, g, f0 = step0
        cuts.add(val, g, lam0, f0, 2)
        active = active | (lam0 != 0) | _broken(g, pr.kinds)
        delta = np.maximum(np.minimum(delta, np.abs(lam0) / 4.0), float(pr.G) / 2.0)
    return lp_ceiling, active, delta


def _cutting_planes(
    pr: _Priced,
    cuts: _Cuts,
    active: np.ndarray,
    delta: np.ndarray,
    lp_ceiling: int | None,
    cost_cap: int,
    max_iter: int,
    deadline: float,
) -> None:
    """Trust-region cutting planes from the best prices so far, until no prices can prove more."""
    G, n_rows, kinds = pr.G, pr.n_rows, pr.kinds
    best = cuts.best
    assert best is not None
    stall = 0
    for it in range(2, max_iter + 1):
        best = cuts.best
        assert best is not None
        if n_rows == 0 or time.perf_counter() > deadline:
            break
        if best.best_value is not None and best.ceil() >= best.best_value:
            break
        if lp_ceiling is not None and best.ceil() >= lp_ceiling:
            break
        if best.bound > G * cost_cap:
            best.infeasible = True
            break
        step = _master(pr, cuts, active, delta)
        if step is None:
            break
        lam_new, predicted, at_edge = step
        if _TRACE:
            print(
                "   lag", it, best.bound / G, predicted / G, np.round(lam_new / G, 3)[:16], np.round(delta / G, 2)[:16]
            )
        # The cut model overestimates the bound function everywhere, so an interior maximum of
        # it caps what any prices could prove: stop when that cap is within 1/8 of a unit.
        if not at_edge and (predicted - best.bound <= G // 8 or -(-int(predicted) // G) <= best.ceil()):
            break
        if stall >= 8:
            break
        priced = pr.evaluate(lam_new)
        if priced is None:
            break
        val, g, f = priced
        newly = _broken(g, kinds) & ~active
        if newly.any():
            active |= newly
            stall = 0
        improved = val > best.bound
        stall = 0 if improved or newly.any() else stall + 1
        gain = (val - best.bound) / max(predicted - best.bound, 1e-9)
        cuts.add(val, g, lam_new, f, it)
        if improved and gain > 0.5:
            delta = delta * 2.0
        elif not improved:
            delta = np.maximum(delta * 0.5, 1.0)


def _master(pr: _Priced, cuts: _Cuts, active: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, float, bool] | None:
    """The cut model's maximum within the trust region: (its prices on the grid, the value it predicts,
    whether it sits at the region's edge), or None if the small LP fails."""
    import scipy.optimize

    best = cuts.best
    assert best is not None
    n_rows, lo, hi = pr.n_rows, pr.lo, pr.hi
    center = best.multipliers.astype(float)
    box_lo = np.where(active, np.maximum(lo, center - delta), 0.0)
    box_hi = np.where(active, np.minimum(hi, center + delta), 0.0)
    # Master: max z s.t. z <= val_i + g_i . (lam - lam_i), lam in the box.
    Lm, Gm, Vm = np.array(cuts.lam), np.array(cuts.g), np.array(cuts.val)
    c = np.zeros(n_rows + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-Gm, np.ones((len(Vm), 1))])
    b_ub = Vm - np.einsum("ij,ij->i", Gm, Lm)
    res = scipy.optimize.linprog(
        c, A_ub=A_ub, b_ub=b_ub, bounds=list(zip(box_lo, box_hi)) + [(None, None)], method="highs"
    )
    if res.status != 0:
        return None
    at_edge = bool(
        np.any(active & (np.abs(res.x[:-1] - box_lo) < 0.5) & (box_lo > lo))
        or np.any(active & (np.abs(res.x[:-1] - box_hi) < 0.5) & (box_hi < hi))
    )
    return pr.clip(res.x[:-1]), -res.fun, at_edge


def _broken(g: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Rows a flow breaks: an equality off zero, any other row above zero."""
    return np.where(kinds == "eq", g != 0, g > 0)


def fixings(net: Network, lag: Lagrange, allowed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs that may still change in a placement of objective <= ``allowed`` (1/K units).

    Returns (free pairs, pairs fixed at 1). Every placement meeting the rows
    with the priced network's flow size costs at least
    ``bound + sum(rc[p] for unused p it uses) + sum(-rc[p] for used p it drops)``
    (1/G units) for either set of reduced costs, so a pair whose change alone
    passes ``allowed`` keeps its value in all of them. A candidate fixed at a
    host has no other free pair. Forced pairs (required, fixed) are among the
    fixed ones.
    """
    if lag.reduced is None:
        lag.reduced = net.reduced_costs(lag.flow)
    rc1, rc2 = lag.reduced
    slack = lag.G * allowed - lag.bound
    x = lag.flow.x
    in_net = np.zeros(net.n_pairs, bool)
    in_net[net.free_pairs] = True
    used = (x == 1) & in_net
    unused = (x == 0) & in_net
    keep_unused = unused & (np.maximum(rc1, rc2) <= slack)
    keep_used = used & (-np.minimum(rc1, rc2) <= slack)
    fixed_one = np.flatnonzero(used & ~keep_used).astype(np.int64)
    fixed_one = np.union1d(fixed_one, net.forced)
    cand_fixed = np.zeros(net.problem.n_candidates, bool)
    cand_fixed[net.problem.pair_cand[fixed_one]] = True
    free = np.flatnonzero((keep_unused | keep_used) & ~cand_fixed[net.problem.pair_cand]).astype(np.int64)
    return free, fixed_one
