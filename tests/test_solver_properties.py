"""Property tests of the solver against brute force on tiny random problems.

The brute force here enumerates every candidate's choice (unplaced or one of
their pairs) and scores placements with its own exact arithmetic
(``fractions.Fraction``), sharing no code with ``placement.solver.checks``:
so "solve's optimum equals brute force" checks the solver and its ruler at
once. Instances: up to 6 candidates and 3 hosts, with targets, links,
required and fixed pairs and lower quotas switched on by the strategies.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement.solver import Options, Problem, check_validity, evaluate, solve
from tests.helpers.strategies import problems

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- brute force


def _frac(v: float, den: int) -> Fraction:
    return Fraction(v).limit_denominator(den)


def _share(v: float | Fraction) -> Fraction:
    """A share exactly as written: a Fraction as is, a float as its shortest decimal (0.35 = 7/20)."""
    return v if isinstance(v, Fraction) else Fraction(repr(v))


def _feasible_and_levels(p: Problem, o: Options, chosen: list[int]) -> tuple | None:
    """None when a hard constraint breaks, else the lexicographic key (smaller is better)."""
    cand = [int(p.pair_cand[q]) for q in chosen]
    host = [int(p.pair_host[q]) for q in chosen]
    load = [0] * p.n_hosts
    for h in host:
        load[h] += 1
    if any(load[h] > p.capacity[h] for h in range(p.n_hosts)):
        return None
    s = set(chosen)
    if any(int(q) not in s for q in list(p.required) + list(p.fixed)):
        return None
    region = {c: int(p.host_region[h]) for c, h in zip(cand, host)}
    for a, b in np.asarray(p.links).reshape(-1, 2).tolist():
        if region.get(a, -1) != region.get(b, -1):
            return None
    if o.hard_min_placements and any(load[h] < p.min_placements[h] for h in range(p.n_hosts)):
        return None
    penalty = Fraction(0)
    if not o.hard_min_placements:
        w = _frac(o.min_placement_weight, 1000)
        penalty += sum(w * max(0, int(p.min_placements[h]) - load[h]) for h in range(p.n_hosts))
    for t in p.targets:
        scope = set(np.asarray(t.scope_hosts).tolist())
        S = sum(1 for h in host if h in scope)
        M = sum(1 for c, h in zip(cand, host) if h in scope and t.member[c])
        short = Fraction(0)
        if t.min_share is not None:
            short += max(Fraction(0), _share(t.min_share) * S - M)
        if t.max_share is not None:
            short += max(Fraction(0), M - _share(t.max_share) * S)
        if t.hard and short > 0:
            return None
        if not t.hard:
            penalty += _frac(t.weight, 1000) * short
    ranks = [int(p.pair_rank[q]) for q in chosen]
    R = int(p.pair_rank.max()) if p.n_pairs else 1
    counts = [ranks.count(r) for r in range(R + 1)]
    if o.objective == "rank-sum":
        return (-len(chosen), sum(ranks) + penalty)
    if o.objective == "rank-maximal":
        return (-len(chosen), penalty, *[-counts[r] for r in range(1, R + 1)])
    return (-len(chosen), penalty, *[counts[r] for r in range(R, 0, -1)])


def brute_force(p: Problem, o: Options) -> tuple | None:
    """The best lexicographic key over every placement, or None when none is feasible."""
    options = [[-1, *np.flatnonzero(p.pair_cand == c).tolist()] for c in range(p.n_candidates)]
    best = None
    for combo in itertools.product(*options):
        key = _feasible_and_levels(p, o, [q for q in combo if q >= 0])
        if key is not None and (best is None or key < best):
            best = key
    return best


def _key_of_solution(sol, o: Options) -> tuple:
    v = sol.objective
    if o.objective == "rank-sum":
        return (-v["placed"], v["rank_cost"])
    names = [k for k in v if k.startswith("rank_")]
    sign = -1 if o.objective == "rank-maximal" else 1
    return (-v["placed"], v["penalty"], *[sign * v[k] for k in names])


def _assert_matches_brute_force(p: Problem, o: Options, engine: str = "auto", force_exact: bool = False) -> None:
    sol = solve(p, o, engine=engine, force_exact=force_exact)
    best = brute_force(p, o)
    if best is None:
        assert sol.status == "INFEASIBLE", f"brute force finds no placement, solver says {sol.status}"
        assert sol.chosen.size == 0
        return
    assert sol.status == "OPTIMAL", f"solver says {sol.status} ({sol.messages}) but brute force finds {best}"
    assert check_validity(p, sol.chosen, o) == []
    got = _key_of_solution(sol, o)
    assert len(got) == len(best)
    for g, b in zip(got, best):
        assert g == pytest.approx(float(b), abs=1e-9), f"solver {got} != brute force {best}"
    assert sol.bound == sol.objective  # OPTIMAL: every level proven


# --------------------------------------------------------------------------- properties


@FAST
@given(problems(max_candidates=6, max_hosts=3))
def test_pure_network_matches_brute_force(p: Problem) -> None:
    _assert_matches_brute_force(p, Options())


@FAST
@given(problems(max_candidates=6, max_hosts=3, targets=True))
def test_targets_match_brute_force(p: Problem) -> None:
    _assert_matches_brute_force(p, Options())


@FAST
@given(
    problems(max_candidates=6, max_hosts=3, targets=True, links=True, required=True, fixed=True, min_placements=True),
    st.booleans(),
    st.sampled_from(["auto", "cp-sat"]),
)
def test_all_side_constraints_match_brute_force(p: Problem, hard_min: bool, engine: str) -> None:
    _assert_matches_brute_force(p, Options(hard_min_placements=hard_min, min_placement_weight=2.5), engine)


@FAST
@given(
    problems(max_candidates=6, max_hosts=3, targets=True, links=True, required=True, min_placements=True),
    st.booleans(),
    st.sampled_from(["auto", "cp-sat"]),
    st.sampled_from(["rank-sum", "rank-maximal", "generous"]),
)
def test_reduced_exact_models_match_brute_force(p: Problem, hard_min: bool, engine: str, objective: str) -> None:
    """Without the Lagrangian shortcuts: reduced-cost fixing at the weak unpriced bound, then branch-and-bound."""
    _assert_matches_brute_force(p, Options(objective=objective, hard_min_placements=hard_min), engine, force_exact=True)


@FAST
@given(
    problems(max_candidates=5, max_hosts=3, targets=True, links=True, min_placements=True),
    st.sampled_from(["rank-maximal", "generous"]),
    st.booleans(),
)
def test_rank_profiles_match_brute_force(p: Problem, objective: str, hard_min: bool) -> None:
    _assert_matches_brute_force(p, Options(objective=objective, hard_min_placements=hard_min))


@FAST
@given(
    problems(max_candidates=6, max_hosts=3, min_placements=True, required=True),
    st.sampled_from(["rank-sum", "rank-maximal", "generous"]),
    st.booleans(),
)
def test_network_levels_match_brute_force(p: Problem, objective: str, hard_min: bool) -> None:
    """Lexicographic flows (levels locked by complementary slackness) on networks with quotas."""
    _assert_matches_brute_force(p, Options(objective=objective, hard_min_placements=hard_min))


@FAST
@given(problems(max_candidates=6, max_hosts=3, targets=True, links=True, required=True, min_placements=True), st.data())
def test_ruler_agrees_with_brute_force_on_any_placement(p: Problem, data) -> None:
    """check_validity and evaluate agree with the independent scoring on arbitrary placements."""
    o = Options(
        hard_min_placements=data.draw(st.booleans()), min_placement_weight=data.draw(st.sampled_from([1.0, 2.5]))
    )
    choice = [
        data.draw(st.sampled_from([-1, *np.flatnonzero(p.pair_cand == c).tolist()])) for c in range(p.n_candidates)
    ]
    chosen = [q for q in choice if q >= 0]
    key = _feasible_and_levels(p, o, chosen)
    assert (key is not None) == (check_validity(p, chosen, o) == [])
    if key is not None:
        ev = evaluate(p, chosen, o)
        assert ev.objective["placed"] == -key[0]
        assert Fraction(ev.scaled["rank_cost"], ev.K) == key[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    problems(max_candidates=6, max_hosts=3, targets=True, links=True, required=True, fixed=True, min_placements=True)
)
def test_agrees_with_benchmark_brute_force(p: Problem) -> None:
    """The benchmark helper's own enumerator (separate code again) gives the same optimum."""
    references = pytest.importorskip("benchmarks.references")
    status, _, objective = references.brute_force(p, Options())
    sol = solve(p, Options())
    assert sol.status == status
    if status == "OPTIMAL":
        assert sol.objective["placed"] == objective["placed"]
        assert sol.objective["rank_cost"] == pytest.approx(objective["rank_cost"], abs=1e-9)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_candidates=6, max_hosts=3, targets=True, links=True, min_placements=True))
def test_same_inputs_same_placements(p: Problem) -> None:
    a = solve(p, Options())
    b = solve(p, Options())
    assert a.status == b.status
    assert np.array_equal(a.chosen, b.chosen)
