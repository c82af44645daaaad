"""Share cuts (solver/cuts.py): valid for every integer count a placement can have, and stronger than the row.

The solver's optima with the cuts are compared with brute force and the full MIP by the property and core
tests; here the cuts themselves are checked against every integer point, exhaustively on small scopes.
"""

from __future__ import annotations

import math

import pytest

from placement.solver.cuts import _hull_edges


def _holds(edge: tuple[int, int, int, int], P: int, B: int) -> bool:
    p1, w1, p2, w2 = edge
    # B >= w1 + (w2 - w1) / (p2 - p1) * (P - p1), in integers.
    return (p2 - p1) * (B - w1) >= (w2 - w1) * (P - p1)


@pytest.mark.parametrize("cp,cn", [(41, 59), (43, 57), (3, 17), (17, 3), (1, 2), (7, 20 - 7), (333, 667)])
@pytest.mark.parametrize("U", [0, 1, 5, 37, 142])
def test_every_integer_point_meets_every_cut(cp, cn, U):
    for n_help in (U, U // 2 + 1):
        edges = _hull_edges(cp, cn, U, n_help)
        for P in range(U + 1):
            need = math.ceil(cp * P / (cp + cn))
            for B in range(need, min(P, n_help) + 1):
                assert all(_holds(e, P, B) for e in edges), (cp, cn, U, n_help, P, B)


def test_cuts_remove_the_fractional_counts_the_row_allows():
    # 41% at least, at most 142 placed in the scope: the row allows B = 0.41 * 142 = 58.22 at P = 142;
    # a placement needs 59 there, and some cut says more than the row at that point.
    cp, cn, U = 41, 59, 142
    edges = _hull_edges(cp, cn, U, U)
    assert edges
    # The strongest cut at P = U: the value it requires exceeds the row's fractional 58.22.
    best = max(e[1] + (e[3] - e[1]) * (U - e[0]) / (e[2] - e[0]) for e in edges)
    assert best > 0.41 * U + 0.5


def test_no_cut_where_the_row_is_already_the_hull():
    # A share whose multiples are whole at every count (1/1 of the scope): the row is its own hull.
    assert _hull_edges(1, 0, 20, 20) == []
