"""Rank-count groups (``levels.next_group``): the weighted optimum of a group is its lexicographic optimum, and
a bound on the group's value bounds its first count. Checked by enumerating every count vector the room allows,
not by the weights' own formula."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import numpy as np
import pytest

from placement.solver.levels import GROUP_LIMIT, Level, next_group, open_ranks


def _scheme(n_candidates: int, ranks: int):
    """Every candidate has one pair of each rank 1..ranks (so each count can reach every candidate)."""
    pair_cand = np.repeat(np.arange(n_candidates), ranks)
    pair_rank = np.tile(np.arange(1, ranks + 1), n_candidates)
    return SimpleNamespace(pair_cand=pair_cand, pair_rank=pair_rank, n_candidates=n_candidates)


def _count_levels(p, objective: str) -> list[Level]:
    ranks = range(1, int(p.pair_rank.max()) + 1)
    order = list(ranks) if objective == "rank-maximal" else list(reversed(ranks))
    sign = -1 if objective == "rank-maximal" else 1
    return [Level(f"rank_{r}", sign * (p.pair_rank == r).astype(np.int64), False, sign) for r in order]


def _vectors(k: int, room: int):
    """Every vector of k counts that ``room`` open candidates can make (their sum at most ``room``)."""
    return [v for v in itertools.product(range(room + 1), repeat=k) if sum(v) <= room]


@pytest.mark.parametrize("objective", ["rank-maximal", "generous"])
@pytest.mark.parametrize("room", [1, 2, 5, 7])
def test_the_weighted_order_of_a_group_is_the_lexicographic_order(objective: str, room: int) -> None:
    p = _scheme(n_candidates=9, ranks=4)
    group, rest = next_group(p, _count_levels(p, objective), room)
    assert len(group.members) == 4 and rest == []
    weights = np.array(group.weights)
    sign = group.members[0].sign
    # Minimised value of a placement with these counts, and the lexicographic key it must sort by.
    vecs = _vectors(4, room)
    value = {v: int(sign * np.dot(weights, v)) for v in vecs}
    key = {v: tuple(sign * c for c in v) for v in vecs}
    for a, b in itertools.combinations(vecs, 2):
        assert np.sign(value[a] - value[b]) == np.sign((key[a] > key[b]) - (key[a] < key[b])), (a, b, weights)


def test_weights_shrink_with_the_room_left_and_a_group_takes_more_counts() -> None:
    p = _scheme(n_candidates=1000, ranks=10)
    levels = _count_levels(p, "rank-maximal")
    wide, _ = next_group(p, levels, 1000)
    narrow, _ = next_group(p, levels, 100)
    assert len(narrow.members) > len(wide.members)
    for g, room in ((wide, 1000), (narrow, 100)):
        assert g.weights[0] * room <= GROUP_LIMIT
        assert g.weights[-1] == 1
    # Weights by room, not by reach: the second-to-last weighs one more than the room.
    assert narrow.weights[-2] == 101


@pytest.mark.parametrize("objective", ["rank-maximal", "generous"])
def test_a_bound_on_the_group_bounds_its_first_count(objective: str) -> None:
    room = 6
    p = _scheme(n_candidates=room, ranks=3)
    group, _ = next_group(p, _count_levels(p, objective), room)
    weights = np.array(group.weights)
    sign = group.members[0].sign
    vecs = _vectors(3, room)
    values = sorted({int(sign * np.dot(weights, v)) for v in vecs})
    for lb in range(values[0] - 3, values[-1] + 2):
        first = group.first_bound(lb)
        # Every count vector whose value reaches lb has a first count (minimised: sign x count) of at least that.
        reaching = [sign * v[0] for v in vecs if sign * np.dot(weights, v) >= lb]
        assert all(c >= first for c in reaching), (lb, first)
        # And the bound is as tight as the value allows where lb is a vector's own value.
        if lb in values:
            assert min(reaching) <= first + 1


def test_open_ranks_counts_the_placed_candidates_whose_rank_is_still_to_settle() -> None:
    p = _scheme(n_candidates=4, ranks=3)
    levels = _count_levels(p, "rank-maximal")
    x = np.zeros(p.pair_cand.size, np.int64)
    x[[0, 4, 8]] = 1  # candidate 0 at rank 1, candidate 1 at rank 2, candidate 2 at rank 3; candidate 3 unplaced
    assert open_ranks(levels, x) == 3
    assert open_ranks(levels[1:], x) == 2
    assert open_ranks(levels[2:], x) == 1


def test_a_solved_group_reports_each_count_and_a_stopped_one_bounds_its_first() -> None:
    from placement.solver.solve import Outcome, _level_bounds

    p = _scheme(n_candidates=5, ranks=3)
    group, _ = next_group(p, _count_levels(p, "rank-maximal"), 5)
    x = np.zeros(p.pair_cand.size, np.int64)
    x[[0, 3, 6, 10]] = 1  # three candidates at rank 1, one at rank 2
    value = int(np.dot(group.cost, x))
    solved = _level_bounds(group, Outcome("OPTIMAL", x, value, value, "highs"))
    assert solved == {"rank_1": 3.0, "rank_2": 1.0, "rank_3": 0.0}
    # Stopped by the clock with a lower bound on the minimised value: at most that many first choices.
    lb = value - 2 * group.weights[0]
    assert _level_bounds(group, Outcome("FEASIBLE", x, value, lb, "highs")) == {"rank_1": 5.0}
    assert _level_bounds(group, Outcome("FEASIBLE", x, value, None, "highs")) == {}
