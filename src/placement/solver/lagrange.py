"""Lagrangian bounds over the placement network, and the reduced-cost fixing they allow.

With side constraints (targets, links, earlier lexicographic levels) the
network of ``network.py`` is a relaxation, and it does two more jobs:

* a *bound*: :func:`lagrangian` prices the few side rows (Lagrange
  multipliers), solves the priced network, and maximises that bound over the
  prices: first prices from the LP relaxation over the pairs near the
  network optimum (:func:`lp_prices`, column generation; with the generator's
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
from typing import NamedTuple

import numpy as np

from .checks import Row
from .network import Flow, Network

_TRACE = False
# Priced flows kept besides the best one, as starting points for the repair (``solve._repaired``).
KEEP_FLOWS = 6
LP_METHOD = "highs-ds"


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


def _row_matrix(rows: list[Row], n_pairs: int):
    import scipy.sparse as sp

    if not rows:
        return sp.csr_matrix((0, n_pairs), dtype=np.int64)
    r_idx = np.concatenate([np.full(r.pairs.size, i) for i, r in enumerate(rows)])
    p_idx = np.concatenate([r.pairs for r in rows])
    vals = np.concatenate([r.coef for r in rows])
    return sp.csr_matrix((vals.astype(np.int64), (r_idx, p_idx)), shape=(len(rows), n_pairs), dtype=np.int64)


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
        self.A = _row_matrix(rows, net.n_pairs)
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


def lp_prices(
    net: Network,
    level_cost: np.ndarray,
    slot_reward: int,
    rows: list[Row],
    b: np.ndarray,
    value: int | str,
    flow: Flow,
    threshold: float,
    rounds: int = 10,
    deadline: float = float("inf"),
    proves: Callable[[np.ndarray, float], bool] | None = None,
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Row prices from the LP relaxation over the pairs near the network optimum (column generation).

    Columns start as the pairs ``flow`` uses and those whose reduced cost
    (either potential, 1/G units) is at most ``threshold``; pairs the LP
    duals price below zero join, for a few rounds. Hard and equality rows and
    the placed count get elastic slack at a high price so every restricted LP
    is feasible. ``proves(prices, LP value)`` (optional) says whether prices
    already prove (nearly) the LP value: then no more columns are priced.
    Any prices are valid for the Lagrangian bound, so this only has to be
    good, not exact: the bound itself is computed by flows.
    Returns (prices in level units per row unit, the LP value - an upper
    bound on what any prices can prove, inf while slack is in use - and the
    LP's placement, fractional or not), or None.
    """
    fp = net.free_pairs
    rc1, rc2 = net.reduced_costs(flow)
    in_cols = np.zeros(net.n_pairs, bool)
    in_cols[fp[(np.maximum(rc1, rc2)[fp] <= threshold) | (flow.x[fp] == 1)]] = True
    lp = _RestrictedLP(net, level_cost, slot_reward, rows, b, value)
    result: tuple[np.ndarray, float, np.ndarray] | None = None
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        cols = np.flatnonzero(in_cols)
        solved = lp.solve(cols, deadline)
        if solved is None:
            return result
        result, slack, duals = solved
        if _TRACE:
            print("   lp round", cols.size, "cols", round(result[1], 3), "slack", slack)
        if proves is not None and not slack and proves(result[0], result[1]):
            break
        # Price the pairs left out: reduced cost c - A^T mu over every row the pair appears in.
        out = fp[~in_cols[fp]]
        if out.size == 0:
            break
        d = lp.reduced_costs(out, duals)
        neg = np.flatnonzero(d < -1e-7)
        if neg.size == 0:
            break
        # The LP value may stall while its duals still price columns below zero (a degenerate optimum), and
        # such duals can prove far less: 5,000 binding candidates, 204,769 against the LP's 205,605 (42 rank
        # units) after four rounds. So no stop on a stalled value: more columns until the duals prove it.
        # Partial pricing: the most attractive pairs first, so degenerate ties do not flood the LP.
        take = neg[np.argsort(d[neg], kind="stable")[: max(1000, cols.size // 10)]]
        in_cols[out[take]] = True
    return result


class _Duals(NamedTuple):
    """The restricted LP's duals, by row block."""

    cand: np.ndarray
    host: np.ndarray
    le: np.ndarray  # side rows other than equalities ("le" and "soft"), in row order
    soft_min: np.ndarray
    hard_min: np.ndarray
    eq: np.ndarray  # equality rows, then the placed count if it is fixed


class _RestrictedLP:
    """The LP relaxation of one level over a subset of the pairs (``lp_prices``'s columns)."""

    def __init__(
        self, net: Network, level_cost: np.ndarray, slot_reward: int, rows: list[Row], b: np.ndarray, value: int | str
    ):
        self.net, self.level_cost, self.slot_reward, self.rows, self.value = net, level_cost, slot_reward, rows, value
        kinds = np.array([r.kind for r in rows])
        A = _row_matrix(rows, net.n_pairs).astype(float).tocsc()
        self.const = b + np.asarray(A[:, net.forced].sum(axis=1)).ravel()
        self.le = np.flatnonzero(kinds != "eq")
        self.eq = np.flatnonzero(kinds == "eq")
        self.soft = np.flatnonzero(kinds == "soft")
        self.hard = np.flatnonzero(kinds == "le")
        self.pos = np.full(len(rows), -1)
        self.pos[self.le] = np.arange(self.le.size)
        self.soft_min = np.flatnonzero(net.min_rem > 0) if (slot_reward and not net.hard_min) else np.zeros(0, np.int64)
        self.hard_min = np.flatnonzero(net.min_rem > 0) if net.hard_min else np.zeros(0, np.int64)
        self.fixed_value = value != "any"
        # Elastic slack costs more than any pair or soft row can save: used only when nothing else is feasible.
        self.M = 2.0 * float(max(1, int(np.abs(level_cost).max(initial=1)))) + float(
            max((r.weight for r in rows), default=0)
        )
        self.A_le = A[self.le].tocsc()
        self.A_eq = A[self.eq].tocsc()

    def solve(
        self, cols: np.ndarray, deadline: float
    ) -> tuple[tuple[np.ndarray, float, np.ndarray], bool, _Duals] | None:
        """The LP over ``cols``: ((row prices, LP value or inf with slack in use, placement), slack used,
        duals), or None if HiGHS fails."""
        from scipy.optimize import linprog

        net, p = self.net, self.net.problem
        n = cols.size
        ns, nm, ne = self.soft.size, self.soft_min.size, self.eq.size
        # Columns: x | soft shortfalls | soft quota shortfalls | hard-row slack | eq slack +/- | placed slack
        n_all = n + ns + nm + self.hard.size + 2 * ne + int(self.fixed_value)
        A_ub, b_ub, A_eq, b_eq = self._matrices(cols, n_all)
        c = np.concatenate(
            [
                self.level_cost[cols].astype(float),
                [self.rows[i].weight for i in self.soft],
                np.full(nm, float(self.slot_reward)),
                np.full(n_all - n - ns - nm, self.M),
            ]
        )
        bounds = np.zeros((n_all, 2))
        bounds[:, 1] = np.inf
        bounds[:n, 1] = 1.0
        try:
            res = linprog(
                c,
                A_ub=A_ub,
                b_ub=b_ub,
                A_eq=A_eq,
                b_eq=b_eq,
                bounds=bounds,
                method=LP_METHOD,
                options={"time_limit": max(0.1, min(1e6, deadline - time.perf_counter()))},
            )
        except ValueError:
            return None
        if res.status != 0:
            return None
        mu = res.ineqlin.marginals
        o = p.n_candidates + p.n_hosts
        le = self.le.size
        duals = _Duals(
            mu[: p.n_candidates],
            mu[p.n_candidates : o],
            mu[o : o + le],
            mu[o + le : o + le + nm],
            mu[o + le + nm :],
            res.eqlin.marginals if A_eq is not None else np.zeros(0),
        )
        lam = np.zeros(len(self.rows))
        lam[self.le] = -duals.le
        if ne:
            lam[self.eq] = -duals.eq[:ne]
        slack = bool(np.any(res.x[n + ns + nm :] > 1e-9))
        x_lp = np.zeros(net.n_pairs)
        x_lp[cols] = res.x[:n]
        x_lp[net.forced] = 1.0
        value = np.inf if slack else float(res.fun) + float(self.level_cost[net.forced].sum())
        return (lam, value, x_lp), slack, duals

    def _matrices(self, cols: np.ndarray, n_all: int):
        """(A_ub, b_ub, A_eq, b_eq) of the restricted LP (the equality part None when there is none)."""
        import scipy.sparse as sp

        net, p = self.net, self.net.problem
        n = cols.size
        ns, nm, nh, ne = self.soft.size, self.soft_min.size, self.hard.size, self.eq.size
        le = self.le.size

        def block(mat, start: int, width: int) -> sp.csr_matrix:
            return sp.hstack(
                [sp.csr_matrix((mat.shape[0], start)), mat, sp.csr_matrix((mat.shape[0], n_all - start - width))]
            )

        ones = np.ones(n)
        cand = sp.csr_matrix((ones, (p.pair_cand[cols], np.arange(n))), shape=(p.n_candidates, n))
        host = sp.csr_matrix((ones, (p.pair_host[cols], np.arange(n))), shape=(p.n_hosts, n))
        ub = [block(cand, 0, n), block(host, 0, n)]
        b_ub = [np.ones(p.n_candidates), net.cap_rem.astype(float)]
        side = block(self.A_le[:, cols].tocsr(), 0, n)
        if ns:
            side = side + block(
                sp.csr_matrix((-np.ones(ns), (self.pos[self.soft], np.arange(ns))), shape=(le, ns)), n, ns
            )
        if nh:
            side = side + block(
                sp.csr_matrix((-np.ones(nh), (self.pos[self.hard], np.arange(nh))), shape=(le, nh)), n + ns + nm, nh
            )
        ub.append(side)
        b_ub.append(-self.const[self.le])
        if nm:
            ub.append(block(-host[self.soft_min], 0, n) + block(-sp.identity(nm, format="csr"), n + ns, nm))
            b_ub.append(-net.min_rem[self.soft_min].astype(float))
        if self.hard_min.size:
            ub.append(block(-host[self.hard_min], 0, n))
            b_ub.append(-net.min_rem[self.hard_min].astype(float))
        eqs, b_eq = [], []
        if ne:
            e0 = n + ns + nm + nh
            ident = sp.identity(ne, format="csr")
            eqs.append(block(self.A_eq[:, cols].tocsr(), 0, n) + block(-ident, e0, ne) + block(ident, e0 + ne, ne))
            b_eq.append(-self.const[self.eq])
        if self.fixed_value:
            eqs.append(
                sp.csr_matrix(
                    (np.ones(n + 1), (np.zeros(n + 1, np.int64), np.r_[np.arange(n), n_all - 1])), shape=(1, n_all)
                )
            )
            b_eq.append(np.array([float(int(self.value) - net.forced_count)]))
        A_eq = sp.vstack(eqs).tocsr() if eqs else None
        return sp.vstack(ub).tocsr(), np.concatenate(b_ub), A_eq, np.concatenate(b_eq) if eqs else None

    def reduced_costs(self, out: np.ndarray, duals: _Duals) -> np.ndarray:
        """The LP reduced cost of each pair in ``out`` (not among the columns) under ``duals``."""
        p = self.net.problem
        ne = self.eq.size
        d = (
            self.level_cost[out].astype(float)
            - duals.cand[p.pair_cand[out]]
            - duals.host[p.pair_host[out]]
            - self.A_le[:, out].T @ duals.le
        )
        if self.soft_min.size:
            per_host = np.zeros(p.n_hosts)
            per_host[self.soft_min] = duals.soft_min
            d += per_host[p.pair_host[out]]
        if self.hard_min.size:
            per_host = np.zeros(p.n_hosts)
            per_host[self.hard_min] = duals.hard_min
            d += per_host[p.pair_host[out]]
        if ne:
            d -= self.A_eq[:, out].T @ duals.eq[:ne]
        if self.fixed_value:
            d -= duals.eq[-1]
        return d


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
