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
from dataclasses import dataclass

import numpy as np

from .checks import Row
from .network import Flow, Network

_TRACE = False
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
    LP over the cuts collected so far). It stops when the cut model promises
    less than one grid step, when the bound rounds up to the best placement
    seen (``score`` values priced flows that meet every row, None otherwise:
    nothing better is possible), at the deadline, or when the bound passes
    ``cost_cap`` (no placement of this size meets the rows). The first prices
    come from :func:`lp_prices` over the pairs within ``lp_columns`` level
    units of the network optimum (0: no warm start).
    """
    import scipy.optimize

    A = _row_matrix(rows, net.n_pairs)
    b = np.array([r.const for r in rows], np.int64)
    kinds = np.array([r.kind for r in rows])
    n_rows = len(rows)
    BIG = float(G) * float(cost_cap) * 4.0
    lo = np.where(kinds == "eq", -BIG, 0.0)
    hi = np.array([float(G * r.weight) if r.kind == "soft" else BIG for r in rows])
    base = G * level_cost.astype(np.int64)
    At = A.T.tocsr()

    def evaluate(lam: np.ndarray) -> tuple[int, np.ndarray, Flow] | None:
        pc = base + (At @ lam if n_rows else 0)
        if int(np.abs(pc).max(initial=0)) > 2**62 // max(net.n_nodes, 1):
            return None  # prices this high cannot be represented: stop where we are
        f = net.solve(pc, G * slot_reward, value)
        if not f.ok:
            return None
        val = f.cost + int(pc[net.forced].sum()) + G * constant + int(np.dot(lam, b))
        g = (A @ f.x + b) if n_rows else np.zeros(0, np.int64)
        return val, g, f

    best: Lagrange | None = None

    def consider(val: int, lam: np.ndarray, f: Flow, it: int) -> None:
        nonlocal best
        if best is None or val > best.bound:
            prev = best
            best = Lagrange(val, G, lam.copy(), f, iterations=it)
            if prev is not None:
                best.best_value, best.best_x = prev.best_value, prev.best_x
        best.iterations = it
        s = score(f.x)
        if s is not None and (best.best_value is None or s < best.best_value):
            best.best_value, best.best_x = s, f.x

    lam = np.zeros(n_rows, np.int64)
    first = evaluate(lam)
    if first is None:
        raise RuntimeError("the placement network has no flow of the requested size")
    val, g, f = first
    consider(val, lam, f, 1)
    assert best is not None
    cuts_lam = [lam.astype(float)]
    cuts_val = [float(val)]
    cuts_g = [g.astype(float)]
    # Trust region per price: start at a few rank units' worth.
    unit = float(max(1, int(np.abs(level_cost).max(initial=1))))
    delta = np.where(kinds == "soft", np.maximum(hi / 2, 1.0), float(G) * unit * 4.0)
    stall = 0
    # Only rows some priced flow has broken get a price (links and quotas rarely bind: keeping the
    # rest at 0 keeps the cutting-plane model small and quick to converge).
    active = _broken(g, kinds)
    lp_ceiling: int | None = None
    if n_rows and active.any() and lp_columns > 0:
        # Warm start: the duals of the LP relaxation over the pairs near the network optimum are
        # (nearly) the best prices; the cutting planes then only polish them.
        lp = lp_prices(net, level_cost, slot_reward, rows, b, value, f, G * lp_columns, deadline=deadline)
        if lp is not None:
            lp_lam, lp_value, x_lp = lp
            x_int = np.round(x_lp)
            if np.isfinite(lp_value) and np.all(np.abs(x_lp - x_int) < 1e-6) and (
                    value == "any" or int(x_int.sum()) == int(value)):
                # An integral LP answer: if it meets every row exactly, it is a placement the bound may match.
                xi = x_int.astype(np.int64)
                s_lp = score(xi)
                if s_lp is not None and (best.best_value is None or s_lp < best.best_value):
                    best.best_value, best.best_x = s_lp, xi
            # No prices prove more than the LP relaxation (restricted LPs only overestimate it).
            if np.isfinite(lp_value):
                lp_ceiling = int(np.ceil(lp_value - 1e-6))
            lam0 = np.clip(np.round(lp_lam * G), np.ceil(lo), np.floor(hi)).astype(np.int64)
            step0 = evaluate(lam0)
            if step0 is not None:
                val, g, f = step0
                cuts_lam.append(lam0.astype(float))
                cuts_val.append(float(val))
                cuts_g.append(g.astype(float))
                consider(val, lam0, f, 2)
                active |= (lam0 != 0) | _broken(g, kinds)
                delta = np.maximum(np.minimum(delta, np.abs(lam0) / 4.0), float(G) / 2.0)
    for it in range(2, max_iter + 1):
        if n_rows == 0 or time.perf_counter() > deadline:
            break
        if best.best_value is not None and best.ceil() >= best.best_value:
            break
        if lp_ceiling is not None and best.ceil() >= lp_ceiling:
            break
        if best.bound > G * cost_cap:
            best.infeasible = True
            break
        center = best.multipliers.astype(float)
        box_lo = np.where(active, np.maximum(lo, center - delta), 0.0)
        box_hi = np.where(active, np.minimum(hi, center + delta), 0.0)
        # Master: max z s.t. z <= val_i + g_i . (lam - lam_i), lam in the box.
        Lm, Gm, Vm = np.array(cuts_lam), np.array(cuts_g), np.array(cuts_val)
        c = np.zeros(n_rows + 1)
        c[-1] = -1.0
        A_ub = np.hstack([-Gm, np.ones((len(Vm), 1))])
        b_ub = Vm - np.einsum("ij,ij->i", Gm, Lm)
        res = scipy.optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, bounds=list(zip(box_lo, box_hi)) + [(None, None)],
                                     method="highs")
        if res.status != 0:
            break
        predicted = -res.fun
        if _TRACE:
            print("   lag", it, best.bound / G, predicted / G, np.round(res.x[:-1] / G, 3)[:16], np.round(delta / G, 2)[:16])
        at_edge = np.any(active & (np.abs(res.x[:-1] - box_lo) < 0.5) & (box_lo > lo)) or np.any(
            active & (np.abs(res.x[:-1] - box_hi) < 0.5) & (box_hi < hi))
        # The cut model overestimates the bound function everywhere, so an interior maximum of
        # it caps what any prices could prove: stop when that cap is within 1/8 of a unit.
        if not at_edge and (predicted - best.bound <= G // 8 or -(-int(predicted) // G) <= best.ceil()):
            break
        if stall >= 8:
            break
        lam_new = np.clip(np.round(res.x[:-1]), np.ceil(lo), np.floor(hi)).astype(np.int64)
        step = evaluate(lam_new)
        if step is None:
            break
        val, g, f = step
        newly = _broken(g, kinds) & ~active
        if newly.any():
            active |= newly
            stall = 0
        cuts_lam.append(lam_new.astype(float))
        cuts_val.append(float(val))
        cuts_g.append(g.astype(float))
        improved = val > best.bound
        stall = 0 if improved or newly.any() else stall + 1
        gain = (val - best.bound) / max(predicted - best.bound, 1e-9)
        consider(val, lam_new, f, it)
        if improved and gain > 0.5:
            delta = delta * 2.0
        elif not improved:
            delta = np.maximum(delta * 0.5, 1.0)
    if best.bound > G * cost_cap:
        best.infeasible = True
    return best


def lp_prices(net: Network, level_cost: np.ndarray, slot_reward: int, rows: list[Row], b: np.ndarray,
              value: int | str, flow: Flow, threshold: float, rounds: int = 4, deadline: float = float("inf")
              ) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Row prices from the LP relaxation over the pairs near the network optimum (column generation).

    Columns start as the pairs ``flow`` uses and those whose reduced cost
    (either potential, 1/G units) is at most ``threshold``; pairs the LP
    duals price below zero join, for a few rounds. Hard and equality rows and
    the placed count get elastic slack at a high price so every restricted LP
    is feasible. Any prices are valid for the Lagrangian bound, so this only
    has to be good, not exact: the bound itself is computed by flows.
    Returns (prices in level units per row unit, the LP value - an upper
    bound on what any prices can prove, inf while slack is in use - and the
    LP's placement, fractional or not), or None.
    """
    import scipy.sparse as sp
    from scipy.optimize import linprog

    p = net.problem
    fp = net.free_pairs
    rc1, rc2 = net.reduced_costs(flow)
    in_cols = np.zeros(net.n_pairs, bool)
    in_cols[fp[(np.maximum(rc1, rc2)[fp] <= threshold) | (flow.x[fp] == 1)]] = True
    kinds = np.array([r.kind for r in rows])
    A = _row_matrix(rows, net.n_pairs).astype(float).tocsc()
    const = b + np.asarray(A[:, net.forced].sum(axis=1)).ravel()
    le = np.flatnonzero(kinds != "eq")
    eq = np.flatnonzero(kinds == "eq")
    soft = np.flatnonzero(kinds == "soft")
    hard = np.flatnonzero(kinds == "le")
    pos = np.full(len(rows), -1)
    pos[le] = np.arange(le.size)
    soft_min = np.flatnonzero(net.min_rem > 0) if (slot_reward and not net.hard_min) else np.zeros(0, np.int64)
    hard_min = np.flatnonzero(net.min_rem > 0) if net.hard_min else np.zeros(0, np.int64)
    fixed_value = value != "any"
    ns, nm, nh, ne = soft.size, soft_min.size, hard.size, eq.size
    M = 2.0 * float(max(1, int(np.abs(level_cost).max(initial=1)))) + float(max((r.weight for r in rows), default=0))
    A_le_all = A[le].tocsc()
    A_eq_all = A[eq].tocsc()
    result: tuple[np.ndarray, float, np.ndarray] | None = None
    prev_value = np.inf
    for _ in range(rounds):
        if time.perf_counter() > deadline:
            break
        cols = np.flatnonzero(in_cols)
        n = cols.size
        # Columns: x | soft shortfalls | soft quota shortfalls | hard-row slack | eq slack +/- | placed slack
        n_all = n + ns + nm + nh + 2 * ne + int(fixed_value)

        def block(mat, start: int, width: int, n_all: int = n_all) -> sp.csr_matrix:
            return sp.hstack([sp.csr_matrix((mat.shape[0], start)), mat, sp.csr_matrix((mat.shape[0], n_all - start - width))])

        ones = np.ones(n)
        cand = sp.csr_matrix((ones, (p.pair_cand[cols], np.arange(n))), shape=(p.n_candidates, n))
        host = sp.csr_matrix((ones, (p.pair_host[cols], np.arange(n))), shape=(p.n_hosts, n))
        ub = [block(cand, 0, n), block(host, 0, n)]
        b_ub = [np.ones(p.n_candidates), net.cap_rem.astype(float)]
        side = block(A_le_all[:, cols].tocsr(), 0, n)
        if ns:
            side = side + block(sp.csr_matrix((-np.ones(ns), (pos[soft], np.arange(ns))), shape=(le.size, ns)), n, ns)
        if nh:
            side = side + block(sp.csr_matrix((-np.ones(nh), (pos[hard], np.arange(nh))), shape=(le.size, nh)), n + ns + nm, nh)
        ub.append(side)
        b_ub.append(-const[le])
        if nm:
            ub.append(block(-host[soft_min], 0, n) + block(-sp.identity(nm, format="csr"), n + ns, nm))
            b_ub.append(-net.min_rem[soft_min].astype(float))
        if hard_min.size:
            ub.append(block(-host[hard_min], 0, n))
            b_ub.append(-net.min_rem[hard_min].astype(float))
        eqs, b_eq = [], []
        if ne:
            e0 = n + ns + nm + nh
            ident = sp.identity(ne, format="csr")
            eqs.append(block(A_eq_all[:, cols].tocsr(), 0, n) + block(-ident, e0, ne) + block(ident, e0 + ne, ne))
            b_eq.append(-const[eq])
        if fixed_value:
            eqs.append(sp.csr_matrix((np.ones(n + 1), (np.zeros(n + 1, np.int64), np.r_[np.arange(n), n_all - 1])),
                                     shape=(1, n_all)))
            b_eq.append(np.array([float(int(value) - net.forced_count)]))
        c = np.concatenate([level_cost[cols].astype(float), [rows[i].weight for i in soft], np.full(nm, float(slot_reward)),
                            np.full(n_all - n - ns - nm, M)])
        bounds = np.zeros((n_all, 2))
        bounds[:, 1] = np.inf
        bounds[:n, 1] = 1.0
        try:
            res = linprog(c, A_ub=sp.vstack(ub).tocsr(), b_ub=np.concatenate(b_ub),
                          A_eq=sp.vstack(eqs).tocsr() if eqs else None, b_eq=np.concatenate(b_eq) if eqs else None,
                          bounds=bounds, method=LP_METHOD,
                          options={"time_limit": max(0.1, min(1e6, deadline - time.perf_counter()))})
        except ValueError:
            return result
        if res.status != 0:
            return result
        mu = res.ineqlin.marginals
        o = p.n_candidates + p.n_hosts
        mu_c, mu_h, mu_le = mu[:p.n_candidates], mu[p.n_candidates:o], mu[o:o + le.size]
        mu_sm = mu[o + le.size:o + le.size + nm]
        mu_hm = mu[o + le.size + nm:]
        mu_eq = res.eqlin.marginals if eqs else np.zeros(0)
        lam = np.zeros(len(rows))
        lam[le] = -mu_le
        if ne:
            lam[eq] = -mu_eq[:ne]
        slack = bool(np.any(res.x[n + ns + nm:] > 1e-9))
        x_lp = np.zeros(net.n_pairs)
        x_lp[cols] = res.x[:n]
        x_lp[net.forced] = 1.0
        result = (lam, np.inf if slack else float(res.fun) + float(level_cost[net.forced].sum()), x_lp)
        if _TRACE:
            print("   lp round", n, "cols", round(float(res.fun), 3), "slack", slack)
        # Price the pairs left out: reduced cost c - A^T mu over every row the pair appears in.
        out = fp[~in_cols[fp]]
        if out.size == 0:
            break
        d = level_cost[out].astype(float) - mu_c[p.pair_cand[out]] - mu_h[p.pair_host[out]] - A_le_all[:, out].T @ mu_le
        if nm:
            per_host = np.zeros(p.n_hosts)
            per_host[soft_min] = mu_sm
            d += per_host[p.pair_host[out]]
        if hard_min.size:
            per_host = np.zeros(p.n_hosts)
            per_host[hard_min] = mu_hm
            d += per_host[p.pair_host[out]]
        if ne:
            d -= A_eq_all[:, out].T @ mu_eq[:ne]
        if fixed_value:
            d -= mu_eq[-1]
        neg = np.flatnonzero(d < -1e-7)
        if neg.size == 0 or (not slack and prev_value - result[1] < 0.5):
            break
        prev_value = result[1]
        # Partial pricing: the most attractive pairs first, so degenerate ties do not flood the LP.
        take = neg[np.argsort(d[neg], kind="stable")[:max(1000, n // 10)]]
        in_cols[out[take]] = True
    return result


def _broken(g: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Rows a flow breaks: an equality off zero, any other row above zero."""
    return np.where(kinds == "eq", g != 0, g > 0)


def fixings(
    net: Network, lag: Lagrange, allowed: int
) -> tuple[np.ndarray, np.ndarray]:
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
