"""Valid inequalities for hard share rows: the integer hull of a scope's two counts.

A hard share target on one scope is a row ``cp * A - cn * B <= 0`` over the
scope's pairs (``targets.py``): ``A`` counts those placed there who do not
help the row, ``B`` those who do (members for a minimum share, non-members
for a maximum), ``cp`` and ``cn`` positive. With ``P = A + B`` placed in
the scope it says ``B >= share * P``, ``share = cp / (cp + cn)``. The LP
relaxation (and so the Lagrangian bound, which equals it over the network)
meets it with a fractional ``B``; a placement needs ``B >= ceil(share * P)``.
On the binding-target schemes that rounding is most of the gap between the
bound and the optimum, one fractional person per binding region.

When ``P`` cannot exceed ``U`` (the scope's places, or the candidates who
can go there), the points ``(P, B)`` a placement can have lie above the lower
convex hull of ``(p, ceil(share * p))`` for ``p = 0 .. U``. Each edge of that
hull beyond the last point where ``share * p`` is whole is a valid
inequality the row alone does not imply (every integer point meets it, the
LP optimum need not): a *share cut*. They are added beside the rows for the
bound and for the exact engines; no placement is lost, so optima are unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from .checks import Row
from .network import Network
from .problem import Problem

# Up to this many pairs, how many a scope can take is its maximum flow (the network with every scope pair
# worth one): at 1,000 binding candidates that lifts the bound to 37,641 against 37,623 with places and
# candidates only (optimum 37,660, no cuts 37,582), in 0.1 s. At 20,000 (190,000 pairs) the flows took
# 7.8 s (load 8): there places and candidates only.
FLOW_LIMIT_PAIRS = 100_000


def share_cuts(net: Network, rows: list[Row], placed: int | None = None) -> list[Row]:
    """Share cuts for the hard two-coefficient rows among ``rows``.

    ``placed``: every placement of the level places exactly this many, so a scope holds at least
    ``placed`` minus what the pairs outside it can take: the hull is then taken over that range of
    counts only, which is where the rounding bites (a region whose places are nearly all filled
    whatever the placement needs ``ceil(share * places)`` helpers, not ``share * places``)."""
    problem = net.problem

    def most(pairs: np.ndarray) -> int:
        hosts = np.unique(problem.pair_host[pairs])
        u = min(int(problem.capacity[hosts].sum()), int(np.unique(problem.pair_cand[pairs]).size))
        if net.n_pairs <= FLOW_LIMIT_PAIRS and pairs.size:
            cost = np.zeros(net.n_pairs, np.int64)
            cost[pairs] = -1
            f = net.solve(cost, 0, "any")
            if f.ok:
                u = min(u, int(f.x[pairs].sum()))
        return u

    def count_range(pairs: np.ndarray) -> tuple[int, int]:
        hi = most(pairs)
        if placed is None:
            return 0, hi
        outside = np.ones(problem.n_pairs, bool)
        outside[pairs] = False
        return max(0, placed - most(np.flatnonzero(outside))), hi

    return _cuts(problem, rows, count_range)


def _cuts(problem: Problem, rows: list[Row], count_range: Callable[[np.ndarray], tuple[int, int]]) -> list[Row]:
    out: list[Row] = []
    ranges: dict[bytes, tuple[int, int]] = {}
    for row in rows:
        if row.kind != "le" or row.const != 0:
            continue
        values = np.unique(row.coef)
        if values.size != 2 or not (values[0] < 0 < values[1]):
            continue
        cn, cp = -int(values[0]), int(values[1])
        helps = row.coef < 0
        n_help = np.unique(problem.pair_cand[row.pairs[helps]]).size
        key = np.sort(row.pairs).tobytes()
        if key not in ranges:
            ranges[key] = count_range(row.pairs)
        L, U = ranges[key]
        if L == U:
            # The scope's count is fixed: it needs ceil(share * U) helpers, a bound on them alone.
            need = -(-cp * U // (cp + cn))
            if 0 < need <= n_help:
                out.append(Row(row.pairs, -helps.astype(np.int64), need, "le", 0, f"{row.source}:cut{U}"))
            continue
        for p1, w1, p2, w2 in _hull_edges(cp, cn, U, n_help, L):
            dp, dw = p2 - p1, w2 - w1
            # B >= w1 + dw/dp (P - p1)  <=>  dw * A + (dw - dp) * B + dp * w1 - dw * p1 <= 0
            coef = np.where(helps, dw - dp, dw).astype(np.int64)
            out.append(Row(row.pairs, coef, dp * w1 - dw * p1, "le", 0, f"{row.source}:cut{p1}"))
    return out


def _hull_edges(cp: int, cn: int, U: int, n_help: int, L: int = 0) -> list[tuple[int, int, int, int]]:
    """Edges (p1, b1, p2, b2) of the lower convex hull of (p, ceil(cp p / (cp + cn))), p = L .. U, beyond
    the row itself; p stops where more than ``n_help`` helpers would be needed."""
    d = cp + cn
    pts: list[tuple[int, int]] = []
    for p in range(L, U + 1):
        b = -(-cp * p // d)
        if b > n_help:
            break
        while len(pts) >= 2:
            (x1, y1), (x2, y2) = pts[-2], pts[-1]
            # Drop the middle point when it is on or above the line from pts[-2] to (p, b).
            if (x2 - x1) * (b - y1) - (y2 - y1) * (p - x1) <= 0:
                pts.pop()
            else:
                break
        pts.append((p, b))
    edges = []
    for (x1, y1), (x2, y2) in itertools.pairwise(pts):
        if (y2 - y1) * d == cp * (x2 - x1) and y1 * d == cp * x1:
            continue  # on the row's own line: nothing new
        edges.append((x1, y1, x2, y2))
    return edges
