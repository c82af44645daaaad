"""``explain`` names the soft rules a forced placement would miss from the solver's typed shortfalls.

Each rule is worded by its constraint family; a target on special category
data is never named to the candidate.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from placement.explain import _newly_missed
from placement.solver import Options, solve
from placement.solver.problem import Problem, Target


def _problem(attribute: str, *, quota: bool = False) -> Problem:
    # Two candidates, two hosts of one place; both prefer H0. Candidate 0 counts for the target at H0.
    member = np.array([True, False])
    target = Target(
        "t", "host=H0", np.array([0], np.int32), member, 1.0, None, False, weight=5.0, attribute=attribute, value="yes"
    )
    return Problem(
        n_candidates=2,
        n_hosts=2,
        pair_cand=np.array([0, 0, 1, 1], np.int32),
        pair_host=np.array([0, 1, 0, 1], np.int32),
        pair_rank=np.array([1, 2, 1, 2], np.int32),
        pair_host_rank=np.ones(4, np.int32),
        capacity=np.array([1, 1], np.int32),
        min_placements=np.array([0, 1 if quota else 0], np.int32),
        host_region=np.zeros(2, np.int32),
        targets=() if quota else (target,),
        host_labels=("H0", "H1"),
        candidate_labels=("C0", "C1"),
    )


def _forced(problem: Problem, pair: int):
    return solve(replace(problem, required=np.array([pair], np.int32)), Options())


def test_a_soft_target_a_forced_placement_misses_is_named() -> None:
    p = _problem("career_changer")
    base = solve(p, Options())
    assert base.shortfalls == []  # candidate 0 at H0 meets "all at H0 are members"
    forced = _forced(p, 2)  # candidate 1 at H0
    assert [(s.family, s.index) for s in forced.shortfalls] == [("target", 0)]
    assert _newly_missed(p, base, forced) == ["the soft target t (host=H0)"]


def test_a_target_on_special_category_data_is_not_named() -> None:
    p = _problem("ethnic_group")
    assert _newly_missed(p, solve(p, Options()), _forced(p, 2)) == ["a diversity target the scheme set"]


def test_a_lower_quota_a_forced_placement_misses_is_named() -> None:
    # H1 needs one placement: the round fills it; forcing both candidates to H0 (given room there) leaves it empty.
    p = _problem("career_changer", quota=True)
    base = solve(p, Options())
    assert base.shortfalls == []
    forced = solve(replace(p, capacity=np.array([2, 1], np.int32), required=np.array([0, 2], np.int32)), Options())
    assert [s.family for s in forced.shortfalls] == ["min_placements"]
    assert _newly_missed(p, base, forced) == ["a host's minimum number of graduates"]
