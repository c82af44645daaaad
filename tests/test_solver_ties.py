"""The tie-break level: among equally good placements, host order (merit) or fewest changes.

Brute force enumerates every placement, keeps those equal to the solver's
answer at every real level (placed, rank cost and soft penalty, or the rank
profile), and checks the solver's tie value is the best among them. The
solver holds the rank part and the penalty of level 2 separately, so "equal"
here means equal on each: its answer is in that set, and nothing in it may be
better.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement.errors import ConfigError
from placement.solver import Options, Problem, check_validity, evaluate, solve
from placement.solver.levels import host_order_cost
from tests.helpers.strategies import problems, realistic_problem

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _levels(p: Problem, o: Options, chosen: list[int]) -> tuple | None:
    if check_validity(p, chosen, o):
        return None
    ev = evaluate(p, chosen, o)
    return (tuple(sorted(ev.scaled.items())), ev.rank_sum, ev.penalty_scaled)


def _best_tie(p: Problem, o: Options, answer: np.ndarray, cost: np.ndarray) -> int:
    """Least tie cost over every placement equal to ``answer`` at every level."""
    target = _levels(p, o, answer.tolist())
    assert target is not None
    choices = [[-1, *np.flatnonzero(p.pair_cand == c).tolist()] for c in range(p.n_candidates)]
    best = None
    for combo in itertools.product(*choices):
        chosen = [q for q in combo if q >= 0]
        if _levels(p, o, chosen) == target:
            v = int(cost[chosen].sum())
            best = v if best is None else min(best, v)
    assert best is not None
    return best


def _check_host_order(p: Problem, o: Options) -> None:
    sol = solve(p, o)
    if sol.status != "OPTIMAL":
        return
    untied = solve(p, replace(o, tie_break="none"))
    assert untied.objective == sol.objective  # the tie-break never costs a level
    assert str(sol.tie_break) == "host_order: optimal"
    cost = host_order_cost(p)
    got = int(cost[sol.chosen].sum())
    assert got == _best_tie(p, o, sol.chosen, cost)
    assert got <= int(cost[untied.chosen].sum())


@FAST
@given(
    problems(max_candidates=6, max_hosts=3, min_placements=True, required=True),
    st.sampled_from(["rank-sum", "rank-maximal", "generous"]),
)
def test_host_order_on_the_network_is_the_best_tie(p: Problem, objective: str) -> None:
    _check_host_order(p, Options(objective=objective))


@FAST
@given(
    problems(max_candidates=6, max_hosts=3, targets=True, links=True, required=True, min_placements=True),
    st.sampled_from(["rank-sum", "rank-maximal"]),
    st.sampled_from(["auto", "cp-sat"]),
)
def test_host_order_with_side_constraints_is_the_best_tie(p: Problem, objective: str, engine: str) -> None:
    o = Options(objective=objective)
    sol = solve(p, o, engine=engine)
    if sol.status != "OPTIMAL":
        return
    assert str(sol.tie_break) == "host_order: optimal"
    cost = host_order_cost(p)
    assert int(cost[sol.chosen].sum()) == _best_tie(p, o, sol.chosen, cost)


@FAST
@given(problems(max_candidates=6, max_hosts=3, targets=True, links=True, min_placements=True), st.data())
def test_fewest_changes_keeps_the_most_of_the_earlier_answer(p: Problem, data) -> None:
    # The audit's use: the round solved with targets, re-solved without them, moving as few as possible.
    o = Options()
    with_targets = solve(p, o)
    if with_targets.status != "OPTIMAL":
        return
    free = replace(p, targets=())
    keep = with_targets.chosen
    sol = solve(free, o, keep=keep)
    assert sol.status == "OPTIMAL" and str(sol.tie_break) == "kept: optimal"
    assert sol.objective == solve(free, o).objective
    cost = np.zeros(p.n_pairs, np.int64)
    cost[keep] = -1
    assert int(cost[sol.chosen].sum()) == _best_tie(free, o, sol.chosen, cost)


@FAST
@given(problems(max_candidates=6, max_hosts=3, targets=True, links=True, min_placements=True))
def test_an_earlier_answer_still_optimal_is_kept_whole(p: Problem) -> None:
    # A scenario variant whose change does not bind: the round's own answer is optimal at every level,
    # so fewest changes is none (settled without a model), and nothing else is returned.
    o = Options()
    first = solve(p, o)
    if first.status != "OPTIMAL":
        return
    again = solve(p, o, keep=first.chosen)
    assert again.status == "OPTIMAL" and str(again.tie_break) == "kept: optimal"
    assert sorted(again.chosen.tolist()) == sorted(first.chosen.tolist()) and again.objective == first.objective


def test_host_order_gives_places_to_higher_ranked_candidates_at_scale() -> None:
    # Scheme-shaped: with ties left to the engine, some hosts take a lower-ranked candidate where a
    # higher-ranked one would do equally well; the tie-break removes every such case it can prove.
    p = realistic_problem(300, seed=3)
    sol = solve(p, Options())
    untied = solve(p, Options(tie_break="none"))
    assert sol.status == untied.status == "OPTIMAL"
    assert sol.objective == untied.objective
    assert str(sol.tie_break) == "host_order: optimal"
    cost = host_order_cost(p)
    assert int(cost[sol.chosen].sum()) < int(cost[untied.chosen].sum())
    assert check_validity(p, sol.chosen) == []


def test_higher_ranked_candidates_get_places_and_better_choices_first() -> None:
    # Six candidates all ranking H1 (2 places), H2, H3 (1 each); every host orders them C0 > C1 > ... > C5.
    # Every placement of four is equally good (ranks 1+1+2+3); merit settles it: C0, C1 at H1, C2 at H2, C3 at H3.
    n = 6
    pair_cand = np.repeat(np.arange(n), 3).astype(np.int32)
    pair_host = np.tile(np.arange(3), n).astype(np.int32)
    p = Problem(
        n_candidates=n,
        n_hosts=3,
        pair_cand=pair_cand,
        pair_host=pair_host,
        pair_rank=(pair_host + 1).astype(np.int32),
        pair_host_rank=(pair_cand + 1).astype(np.int32),
        capacity=np.array([2, 1, 1], np.int32),
        min_placements=np.zeros(3, np.int32),
        host_region=np.zeros(3, np.int32),
    )
    sol = solve(p, Options())
    got = {int(p.pair_cand[q]): int(p.pair_host[q]) for q in sol.chosen}
    assert got == {0: 0, 1: 0, 2: 1, 3: 2}


def test_unknown_tie_break_is_refused() -> None:
    p = realistic_problem(20, seed=1, targets=None)
    with pytest.raises(ConfigError) as err:
        solve(p, Options(tie_break="alphabetical"))  # type: ignore[arg-type]
    assert "host-order or none" in err.value.hint
