"""The LP relaxation of one level over the pairs near the network optimum (column generation).

Two users: the Lagrangian's first prices (``lagrange._warm_start``: the LP's
duals, which the priced flows then turn into an exact integer bound, so no
floating-point LP is trusted for a proof) and the repair's first start (the
LP's own placement, fractional but meeting every row: ``run.Run._repaired``
takes the network placement nearest it).

Columns start as the pairs the network's optimum uses and those whose reduced
cost is small; pairs the LP's duals price below zero join, round by round,
until the duals prove the LP value (a degenerate LP stalls in value while its
duals still price columns below zero: 5,000 binding candidates, 204,769
against 205,605 after four rounds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .checks import Row
from .network import Flow, Network

_TRACE = False
LP_METHOD = "highs-ds"


def row_matrix(rows: list[Row], n_pairs: int):
    """The rows' integer coefficients as one sparse matrix (rows x pairs)."""
    import scipy.sparse as sp

    if not rows:
        return sp.csr_matrix((0, n_pairs), dtype=np.int64)
    r_idx = np.concatenate([np.full(r.pairs.size, i) for i, r in enumerate(rows)])
    p_idx = np.concatenate([r.pairs for r in rows])
    vals = np.concatenate([r.coef for r in rows])
    return sp.csr_matrix((vals.astype(np.int64), (r_idx, p_idx)), shape=(len(rows), n_pairs), dtype=np.int64)


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
        A = row_matrix(rows, net.n_pairs).astype(float).tocsc()
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
