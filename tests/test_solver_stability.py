"""Stability: deferred acceptance, blocking pairs and the CP-SAT constraints, checked against each other,
against the `matching` package and against brute force on tiny instances."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from placement.solver import stability
from placement.solver.problem import Problem
from placement.solver.stability import add_stability, blocking_pairs, deferred_acceptance
from tests.helpers.oracles import brute_blocking
from tests.helpers.strategies import problems, realistic_problem

# The host_side fixture only sets a module constant, so sharing it across generated inputs is safe.
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


# --------------------------------------------------------------------------- helpers


def make_problem(prefs: list[list[int]], capacity: list[int], host_rank: list[list[int]] | None = None) -> Problem:
    """prefs[c] lists c's hosts best first; host_rank[c][i] is the host's rank of c for prefs[c][i]
    (default: candidate index, a strict order shared by all hosts)."""
    cand, host, rank, hrank = [], [], [], []
    for c, hs in enumerate(prefs):
        for i, h in enumerate(hs):
            cand.append(c)
            host.append(h)
            rank.append(i + 1)
            hrank.append(host_rank[c][i] if host_rank else c)
    n_h = len(capacity)
    return Problem(
        n_candidates=len(prefs),
        n_hosts=n_h,
        pair_cand=np.array(cand, np.int32),
        pair_host=np.array(host, np.int32),
        pair_rank=np.array(rank, np.int32),
        pair_host_rank=np.array(hrank, np.int32),
        capacity=np.array(capacity, np.int32),
        min_placements=np.zeros(n_h, np.int32),
        host_region=np.zeros(n_h, np.int32),
    )


def fast_random_problem(n_candidates: int, n_hosts: int, prefs: int = 10, seed: int = 0) -> Problem:
    """A large random instance built without Python loops: skewed popularity, scores with ties."""
    rng = np.random.default_rng(seed)
    draws = (n_hosts * rng.random((n_candidates, prefs + 4)) ** 2).astype(np.int64)  # low indices popular
    key = (np.arange(n_candidates)[:, None] * n_hosts + draws).ravel()
    _, first = np.unique(key, return_index=True)
    keep = np.zeros(key.size, bool)
    keep[first] = True
    keep = keep.reshape(draws.shape)
    keep &= np.cumsum(keep, axis=1) <= prefs
    rank = np.cumsum(keep, axis=1)
    rows, cols = np.nonzero(keep)
    score = np.round(rng.normal(65, 12, n_candidates), 1)
    _, dense = np.unique(-score, return_inverse=True)
    return Problem(
        n_candidates=n_candidates,
        n_hosts=n_hosts,
        pair_cand=rows.astype(np.int32),
        pair_host=draws[rows, cols].astype(np.int32),
        pair_rank=rank[rows, cols].astype(np.int32),
        pair_host_rank=(dense[rows] + 1).astype(np.int32),
        capacity=rng.integers(1, 7, n_hosts).astype(np.int32),
        min_placements=np.zeros(n_hosts, np.int32),
        host_region=rng.integers(0, 7, n_hosts).astype(np.int32),
    )


def as_pairs(problem: Problem, chosen: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(problem.pair_cand[chosen].tolist(), problem.pair_host[chosen].tolist()))


def all_matchings(problem: Problem) -> list[list[int]]:
    """Every placement respecting capacities (each candidate one of their pairs or none)."""
    options = [[None, *np.flatnonzero(problem.pair_cand == c).tolist()] for c in range(problem.n_candidates)]
    out = []
    for combo in itertools.product(*options):
        chosen = [p for p in combo if p is not None]
        load = np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts) if chosen else np.zeros(1)
        if chosen and np.any(load > problem.capacity):
            continue
        out.append(chosen)
    return out


def cpsat_model(problem: Problem) -> tuple[cp_model.CpModel, list[cp_model.IntVar]]:
    """Pair variables, one place per candidate, capacity per host."""
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{p}") for p in range(problem.n_pairs)]
    for c in range(problem.n_candidates):
        model.add_at_most_one([x[p] for p in np.flatnonzero(problem.pair_cand == c)])
    for h in range(problem.n_hosts):
        model.add(sum(x[p] for p in np.flatnonzero(problem.pair_host == h)) <= int(problem.capacity[h]))
    return model, x


def solve(model: cp_model.CpModel, x: list[cp_model.IntVar]) -> tuple[cp_model.CpSolver, np.ndarray]:
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 20
    status = solver.solve(model)
    assert status == cp_model.OPTIMAL, solver.status_name(status)
    return solver, np.array([p for p in range(len(x)) if solver.value(x[p])], np.int32)


@pytest.fixture(params=[0, 10_000], ids=["running-counts", "explicit-sums"])
def host_side(request, monkeypatch):
    """Both ways of writing the host side of the constraints."""
    monkeypatch.setattr(stability, "PREFIX_VARIABLES_ABOVE", request.param)


# --------------------------------------------------------------------------- deferred acceptance


def test_deferred_acceptance_textbook_example():
    # Three candidates all want host 0 (1 place) first; the host prefers candidate 2.
    # Candidate 2 takes it; 0 falls to host 1, whom 1 also wants but host 1 prefers 0.
    p = make_problem(
        [[0, 1], [0, 1], [0]],
        [1, 1],
        host_rank=[[2, 1], [3, 2], [1]],
    )
    assert as_pairs(p, deferred_acceptance(p)) == {(2, 0), (0, 1)}
    assert blocking_pairs(p, deferred_acceptance(p)) == []


def test_ties_go_to_the_lower_candidate_index():
    p = make_problem([[0], [0], [0]], [2], host_rank=[[1], [1], [1]])
    assert as_pairs(p, deferred_acceptance(p)) == {(0, 0), (1, 0)}


def test_hosts_without_places_are_skipped():
    p = make_problem([[0, 1], [0]], [0, 1])
    assert as_pairs(p, deferred_acceptance(p)) == {(0, 1)}


def _matching_package_placement(problem: Problem) -> set[tuple[int, int]]:
    hr = pytest.importorskip("matching.games")
    order = np.lexsort((problem.pair_rank, problem.pair_cand))
    open_host = problem.capacity > 0
    resident_prefs: dict[int, list[int]] = {}
    for p in order.tolist():
        if open_host[problem.pair_host[p]]:
            resident_prefs.setdefault(int(problem.pair_cand[p]), []).append(int(problem.pair_host[p]))
    hospital_prefs: dict[int, list[int]] = {}
    for p in np.lexsort((problem.pair_cand, problem.pair_host_rank, problem.pair_host)).tolist():
        if open_host[problem.pair_host[p]]:
            hospital_prefs.setdefault(int(problem.pair_host[p]), []).append(int(problem.pair_cand[p]))
    if not resident_prefs:
        return set()
    game = hr.HospitalResident.create_from_dictionaries(
        resident_prefs, hospital_prefs, {h: int(problem.capacity[h]) for h in hospital_prefs}
    )
    matching = game.solve(optimal="resident")
    return {(r.name, h.name) for h, residents in matching.items() for r in residents}


@FAST
@given(problems(max_candidates=9, max_hosts=4, max_rank=4, host_ties=False))
def test_deferred_acceptance_equals_matching_package(problem):
    assert as_pairs(problem, deferred_acceptance(problem)) == _matching_package_placement(problem)


@pytest.mark.parametrize("seed", [1, 2])
def test_deferred_acceptance_equals_matching_package_on_a_scheme_sized_instance(seed):
    problem = fast_random_problem(300, 60, prefs=6, seed=seed)
    # Strict host orders for the package: ties broken by candidate index, as deferred_acceptance does.
    strict = np.lexsort((problem.pair_cand, problem.pair_host_rank))
    host_rank = np.empty(problem.n_pairs, np.int32)
    host_rank[strict] = np.arange(problem.n_pairs)
    problem = Problem(**{**problem.__dict__, "pair_host_rank": host_rank})
    chosen = deferred_acceptance(problem)
    assert len(chosen) > 150  # a real contest for places, not a trivial instance
    assert as_pairs(problem, chosen) == _matching_package_placement(problem)


@FAST
@given(problems(max_candidates=5, max_hosts=3, max_rank=3, host_ties=False))
def test_deferred_acceptance_is_the_candidate_optimal_stable_placement(problem):
    stable = [m for m in all_matchings(problem) if not brute_blocking(problem, m)]
    da = deferred_acceptance(problem).tolist()
    assert sorted(da) in [sorted(m) for m in stable]
    # Every candidate does at least as well as in any other stable placement.
    for m in stable:
        theirs = {int(problem.pair_cand[p]): int(problem.pair_rank[p]) for p in m}
        mine = {int(problem.pair_cand[p]): int(problem.pair_rank[p]) for p in da}
        assert set(theirs) == set(mine)  # rural hospitals: the same candidates are placed
        assert all(mine[c] <= theirs[c] for c in mine)


@FAST
@given(problems(max_candidates=8, max_hosts=4, host_ties=True))
def test_deferred_acceptance_has_no_blocking_pairs_even_with_ties(problem):
    chosen = deferred_acceptance(problem)
    assert blocking_pairs(problem, chosen) == []
    assert brute_blocking(problem, chosen.tolist()) == []
    # One place per candidate, capacities respected.
    assert len(set(problem.pair_cand[chosen].tolist())) == len(chosen)
    assert np.all(np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts) <= problem.capacity)


def test_deferred_acceptance_on_a_realistic_instance_is_stable():
    problem = realistic_problem(2000, targets=None)
    chosen = deferred_acceptance(problem)
    assert blocking_pairs(problem, chosen) == []
    assert 1000 < len(chosen) <= int(problem.capacity.sum())


@pytest.mark.slow
def test_deferred_acceptance_on_20000_candidates_is_stable(capsys):
    problem = fast_random_problem(20_000, 5_000, prefs=10, seed=7)
    assert problem.n_pairs == 200_000
    t0 = time.perf_counter()
    chosen = deferred_acceptance(problem)
    t1 = time.perf_counter()
    found = blocking_pairs(problem, chosen)
    t2 = time.perf_counter()
    assert found == []
    with capsys.disabled():
        print(
            f"\n20,000 candidates x 10 preferences: deferred acceptance {t1 - t0:.3f} s, "
            f"blocking pairs {t2 - t1:.4f} s, {len(chosen)} placed"
        )
    # The times are printed for the record; speed is the benchmarks' business (no wall-clock assertion here).
    assert 0 < len(chosen) <= int(problem.capacity.sum())


# --------------------------------------------------------------------------- blocking pairs


@st.composite
def problem_and_placement(draw, **kw):
    problem = draw(problems(**kw))
    chosen = []
    for c in range(problem.n_candidates):
        mine = np.flatnonzero(problem.pair_cand == c).tolist()
        pick = draw(st.sampled_from([None, *mine]))
        if pick is not None:
            chosen.append(pick)
    return problem, chosen


@settings(max_examples=200, deadline=None)
@given(problem_and_placement(max_candidates=7, max_hosts=4, host_ties=True))
def test_blocking_pairs_match_the_definition(case):
    problem, chosen = case
    assert blocking_pairs(problem, np.array(chosen, np.int32)) == brute_blocking(problem, chosen)


def test_blocking_pairs_examples():
    p = make_problem([[0, 1], [0], [1]], [1, 1], host_rank=[[1, 2], [2], [1]])
    c0_h1 = 1  # pair index of (candidate 0, host 1)
    # Candidate 0 at its second choice while host 0 is empty: (0, 0) blocks; candidate 1
    # unplaced with host 0 free: (1, 0) blocks; candidate 2 unplaced but host 1 prefers 2 to 0: (2, 1).
    assert blocking_pairs(p, np.array([c0_h1])) == [(0, 0), (1, 0), (2, 1)]
    # A tie never blocks: host 0 ranks 1 and a newcomer equally.
    q = make_problem([[0], [0]], [1], host_rank=[[5], [5]])
    assert blocking_pairs(q, np.array([1])) == []


def test_blocking_pairs_refuses_a_candidate_placed_twice():
    p = make_problem([[0, 1]], [1, 1])
    with pytest.raises(ValueError) as excinfo:
        blocking_pairs(p, np.array([0, 1]))
    assert "more than once" in str(excinfo.value)


# --------------------------------------------------------------------------- CP-SAT constraints


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(problem=problems(max_candidates=4, max_hosts=3, max_rank=3, host_ties=True))
def test_strict_constraints_accept_exactly_the_stable_placements(host_side, problem):
    """Weak stability with ties: the model's feasible placements are the ones with no blocking pair."""
    model, x = cpsat_model(problem)
    add_stability(model, x, problem, "strict")
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    for chosen in all_matchings(problem):
        model.clear_assumptions()
        on = set(chosen)
        model.add_assumptions([x[p] if p in on else ~x[p] for p in range(problem.n_pairs)])
        feasible = solver.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        assert feasible == (brute_blocking(problem, chosen) == []), chosen


@FAST
@given(problem=problems(max_candidates=8, max_hosts=4, host_ties=False))
def test_strict_min_rank_is_deferred_acceptance(host_side, problem):
    """Strict orders: maximise placed, then minimise rank -> the candidate-optimal stable placement,
    and every stable placement places as many as deferred acceptance (rural hospitals theorem)."""
    model, x = cpsat_model(problem)
    add_stability(model, x, problem, "strict")
    model.maximize(sum(x))
    _, chosen = solve(model, x)
    da = deferred_acceptance(problem)
    assert blocking_pairs(problem, chosen) == []
    assert len(chosen) == len(da)

    model.add(sum(x) == len(da))
    model.minimize(sum(int(problem.pair_rank[p]) * x[p] for p in range(problem.n_pairs)))
    _, chosen = solve(model, x)
    assert as_pairs(problem, chosen) == as_pairs(problem, da)


def test_strict_on_a_realistic_instance_equals_deferred_acceptance():
    problem = realistic_problem(150, targets=None, seed=3)
    strict = np.lexsort((problem.pair_cand, problem.pair_host_rank))
    host_rank = np.empty(problem.n_pairs, np.int32)
    host_rank[strict] = np.arange(problem.n_pairs)
    problem = Problem(**{**problem.__dict__, "pair_host_rank": host_rank})
    model, x = cpsat_model(problem)
    add_stability(model, x, problem, "strict")
    model.minimize(sum(int(problem.pair_rank[p]) * x[p] for p in range(problem.n_pairs)))
    _, chosen = solve(model, x)
    assert as_pairs(problem, chosen) == as_pairs(problem, deferred_acceptance(problem))


@FAST
@given(problem=problems(max_candidates=8, max_hosts=4, host_ties=True))
def test_strict_with_ties_gives_a_stable_placement(host_side, problem):
    model, x = cpsat_model(problem)
    add_stability(model, x, problem, "strict")
    model.maximize(sum(x))
    _, chosen = solve(model, x)
    assert blocking_pairs(problem, chosen) == []


@FAST
@given(case=problem_and_placement(max_candidates=7, max_hosts=4, host_ties=True))
def test_prefer_indicators_count_the_blocking_pairs(host_side, case):
    """With the placement fixed, the fewest indicators that must be 1 is the number of blocking pairs."""
    problem, chosen = case
    model, x = cpsat_model(problem)
    load = np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts) if chosen else 0
    if np.any(load > problem.capacity):
        return  # not a placement the model allows
    on = set(chosen)
    for p in range(problem.n_pairs):
        model.add(x[p] == int(p in on))
    b = add_stability(model, x, problem, "prefer")
    assert len(b) == problem.n_pairs
    model.minimize(sum(b))
    solver, _ = solve(model, x)
    found = blocking_pairs(problem, np.array(chosen, np.int32))
    assert round(solver.objective_value) == len(found)
    flagged = sorted(
        (int(problem.pair_cand[p]), int(problem.pair_host[p])) for p in range(problem.n_pairs) if solver.value(b[p])
    )
    assert flagged == found


def test_prefer_keeps_the_fewest_blocking_pairs_when_a_placement_is_forced():
    # Host 0 (1 place) prefers candidate 0, who prefers host 0; forcing candidate 1 there makes
    # (0, 0) block whatever else happens. Leaving candidate 0 unplaced would add (0, 1) as a
    # second blocking pair, so the optimum places 0 at host 1 with exactly one.
    p = make_problem([[0, 1], [0]], [1, 1])
    model, x = cpsat_model(p)
    model.add(x[2] == 1)  # candidate 1 at host 0
    b = add_stability(model, x, p, "prefer")
    model.minimize(100 * sum(b) - sum(x))
    solver, chosen = solve(model, x)
    assert as_pairs(p, chosen) == {(1, 0), (0, 1)}
    assert sum(solver.value(v) for v in b) == len(blocking_pairs(p, chosen)) == 1


def test_add_stability_checks_its_arguments():
    p = make_problem([[0]], [1])
    model, x = cpsat_model(p)
    with pytest.raises(ValueError) as excinfo:
        add_stability(model, x, p, "weak")  # type: ignore[arg-type]
    assert "mode" in str(excinfo.value)
    with pytest.raises(ValueError) as excinfo:
        add_stability(model, x + x, p, "strict")
    assert "2 pair variables for 1" in str(excinfo.value)


def test_enforcement_literal_switches_stability_off_as_one_group():
    p = make_problem([[0], [0]], [1])  # stable: candidate 0 at host 0
    model, x = cpsat_model(p)
    on = model.new_bool_var("stability_on")
    add_stability(model, x, p, "strict", only_enforce_if=on)
    model.add(x[1] == 1)  # candidate 1 at host 0: unstable
    model.add_assumptions([on])
    solver = cp_model.CpSolver()
    assert solver.solve(model) == cp_model.INFEASIBLE
    model.clear_assumptions()
    model.add_assumptions([~on])
    assert solver.solve(model) == cp_model.OPTIMAL
