"""Stability with tied host orders (issue 18): the solver's optimum against independent models.

With ties in a host's order (equal assessment scores, the default when a host
gives no ranking) the weakly stable placements can place different numbers of
candidates, and model.md's level 1 (most placed) applies among them:
deferred acceptance is exact only without ties. Checked against
``benchmarks.stable_reference``: a brute force over every placement on tiny
instances and a plain CP-SAT model written from the spec on small ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from benchmarks.stable_reference import brute_force_stable, solve_reference, weak_blocking
from placement.solver import solve
from placement.solver.problem import Options, Problem
from placement.solver.stability import deferred_acceptance, ties_matter
from tests.helpers.strategies import problems

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def two_candidates() -> Problem:
    """Both score 70 (one tie at H1); candidate 0 ranks H1 then H2, candidate 1 H1 only; one place each."""
    return Problem(
        n_candidates=2,
        n_hosts=2,
        pair_cand=np.array([0, 0, 1], np.int32),
        pair_host=np.array([0, 1, 0], np.int32),
        pair_rank=np.array([1, 2, 1], np.int32),
        pair_host_rank=np.array([1, 1, 1], np.int32),
        capacity=np.array([1, 1], np.int32),
        min_placements=np.zeros(2, np.int32),
        host_region=np.zeros(2, np.int32),
    )


def test_the_tied_two_candidate_scheme_places_both_under_strict_stability():
    p = two_candidates()
    # Deferred acceptance with the tie to the lower index places one: not the most placed.
    assert deferred_acceptance(p).size == 1
    sol = solve(p, Options(stability="strict"))
    assert sol.status == "OPTIMAL"
    assert sol.placed == 2
    assert sol.blocking_pairs == [] and weak_blocking(p, sol.chosen) == []


def test_promotion_places_both_on_the_two_candidate_scheme():
    p = two_candidates()
    chosen = deferred_acceptance(p, promote=True)
    assert chosen.size == 2 and weak_blocking(p, chosen) == []


@SETTINGS
@given(problems(max_candidates=6, max_hosts=3, max_capacity=2, host_ties=True))
def test_promotion_keeps_deferred_acceptance_weakly_stable(p):
    assert weak_blocking(p, deferred_acceptance(p, promote=True)) == []
    assert weak_blocking(p, deferred_acceptance(p)) == []


def test_ties_matter_only_where_a_crowded_host_has_a_tie():
    p = two_candidates()
    assert ties_matter(p)
    strict = Problem(**{**p.__dict__, "pair_host_rank": np.array([1, 1, 2], np.int32)})
    assert not ties_matter(strict)
    roomy = Problem(**{**p.__dict__, "capacity": np.array([2, 1], np.int32)})
    assert not ties_matter(roomy)


def _levels(sol) -> tuple[float, ...]:
    return tuple(sol.objective[k] for k in sol.objective)


@SETTINGS
@given(problems(max_candidates=5, max_hosts=3, max_capacity=2, host_ties=True))
def test_strict_with_ties_equals_brute_force(p):
    options = Options(stability="strict", tie_break="none")
    status, _, ref = brute_force_stable(p, options)
    sol = solve(p, options)
    assert sol.status == status
    if status == "OPTIMAL":
        assert sol.placed == ref["placed"]
        assert sol.objective["rank_cost"] == pytest.approx(ref["rank_cost"])
        assert weak_blocking(p, sol.chosen) == []


@SETTINGS
@given(problems(max_candidates=5, max_hosts=3, max_capacity=2, host_ties=True, targets=True, links=True, required=True))
def test_strict_with_ties_and_side_rules_equals_brute_force(p):
    options = Options(stability="strict", tie_break="none")
    status, _, ref = brute_force_stable(p, options)
    sol = solve(p, options)
    assert sol.status == status
    if status == "OPTIMAL":
        assert (sol.placed, sol.objective["rank_cost"]) == (ref["placed"], pytest.approx(ref["rank_cost"]))


@SETTINGS
@given(problems(max_candidates=5, max_hosts=3, max_capacity=2, host_ties=True, targets=True, hard_targets=True))
def test_prefer_with_ties_equals_brute_force(p):
    options = Options(stability="prefer", tie_break="none")
    status, _, ref = brute_force_stable(p, options)
    sol = solve(p, options)
    assert sol.status == status
    if status == "OPTIMAL":
        assert len(sol.blocking_pairs) == ref["blocking"] == len(weak_blocking(p, sol.chosen))
        assert (sol.placed, sol.objective["rank_cost"]) == (ref["placed"], pytest.approx(ref["rank_cost"]))


def _random_tied(seed: int, n: int = 40) -> Problem:
    """A small scheme with heavy ties: scores on a coarse scale, popular hosts, few places."""
    rng = np.random.default_rng(seed)
    n_h = n // 3
    cand, host, rank = [], [], []
    for c in range(n):
        hs = rng.choice(n_h, size=min(4, n_h), replace=False, p=np.linspace(2, 1, n_h) / np.linspace(2, 1, n_h).sum())
        for i, h in enumerate(hs):
            cand.append(c)
            host.append(int(h))
            rank.append(i + 1)
    score = rng.integers(0, 4, n)  # four score bands: many ties at every host
    return Problem(
        n_candidates=n,
        n_hosts=n_h,
        pair_cand=np.array(cand, np.int32),
        pair_host=np.array(host, np.int32),
        pair_rank=np.array(rank, np.int32),
        pair_host_rank=(4 - score[np.array(cand)]).astype(np.int32),
        capacity=rng.integers(1, 3, n_h).astype(np.int32),
        min_placements=np.zeros(n_h, np.int32),
        host_region=np.zeros(n_h, np.int32),
    )


@pytest.mark.parametrize("seed", range(8))
def test_strict_with_ties_equals_a_plain_cpsat_model_on_random_tied_schemes(seed):
    p = _random_tied(seed)
    options = Options(stability="strict", tie_break="none", time_limit=60)
    ref = solve_reference(p, options, 60)
    assert ref["status"] == "OPTIMAL"
    sol = solve(p, options)
    assert sol.status == "OPTIMAL"
    assert (sol.placed, sol.objective["rank_cost"]) == (ref["levels"]["placed"][0], ref["levels"]["rank_cost"][0])
    assert weak_blocking(p, sol.chosen) == []


@SETTINGS
@given(
    problems(max_candidates=6, max_hosts=3, max_capacity=2, host_ties=True, targets=True, hard_targets=True, links=True)
)
def test_fewer_blocking_keeps_every_hard_rule_and_never_adds_blocking_pairs(p):
    import time

    from benchmarks.evaluate import violations
    from placement.solver.blocking import fewer_blocking
    from placement.solver.checks import scaling
    from placement.solver.network import Network
    from placement.solver.repair import repair

    options = Options(stability="prefer")
    net = Network(p, options)
    hard = scaling(p, options).hard
    flow = net.solve(p.pair_rank.astype(np.int64), 0, None)
    if net.conflicts or not flow.ok:
        return
    start = repair(net, hard, flow.x, p.pair_rank.astype(np.int64), deadline=time.perf_counter() + 5)
    if start is None:
        return
    x = fewer_blocking(net, hard, start, deadline=time.perf_counter() + 5)
    chosen = np.flatnonzero(x)
    assert violations(p, options, chosen) == violations(p, options, np.flatnonzero(start)) == []
    assert len(weak_blocking(p, chosen)) <= len(weak_blocking(p, np.flatnonzero(start)))
