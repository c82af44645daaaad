"""The benchmark's reference solvers agree with each other and with brute force.

Other tests use these references as independent checks of placement's
solver, so they are checked here against enumeration on tiny instances.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks.evaluate import evaluate, violations
from benchmarks.instances import synthetic_problem, tiny_problem
from benchmarks.references import (
    blocking_pairs,
    brute_force,
    deferred_acceptance_matching,
    flow_reference,
    highs_mip,
    highs_mip_detail,
)
from placement.solver.problem import Options, Problem, Target


def _same(a: dict, b: dict) -> bool:
    return a["placed"] == b["placed"] and abs(a["rank_cost"] - b["rank_cost"]) < 1e-6


@pytest.mark.parametrize("seed", range(12))
def test_flow_matches_brute_force_and_highs_without_side_constraints(seed: int) -> None:
    problem = tiny_problem(seed, n_candidates=6, n_hosts=3, max_prefs=3)
    status, _, best = brute_force(problem)
    chosen, objective = flow_reference(problem)
    assert status == "OPTIMAL"
    assert violations(problem, Options(), chosen) == []
    assert _same(objective, best), (objective, best)
    h_status, h_chosen, h_objective, _ = highs_mip(problem, Options(), time_limit=30)
    assert h_status == "OPTIMAL"
    assert violations(problem, Options(), h_chosen) == []
    assert _same(h_objective, best), (h_objective, best)


def test_flow_and_highs_agree_on_a_realistic_instance() -> None:
    problem = synthetic_problem(300, seed=3, targets=False)
    _, flow_obj = flow_reference(problem)
    detail = highs_mip_detail(problem, Options(), time_limit=60)
    assert detail["status"] == "OPTIMAL"
    assert _same(detail["objective"], flow_obj)
    assert detail["bound"]["placed"] == flow_obj["placed"]
    assert detail["bound"]["rank_cost"] == pytest.approx(flow_obj["rank_cost"])


FLAGS = [
    {"targets": True},
    {"targets": True, "links": True},
    {"targets": True, "required": True},
    {"targets": True, "min_placements": True},
    {"links": True, "required": True, "min_placements": True},
]


CASES = [
    pytest.param(seed, flags, hard_min, id=f"{seed}-{'+'.join(flags)}{'-hard-min' if hard_min else ''}")
    for seed in range(6)
    for flags in FLAGS
    for hard_min in ([False, True] if flags.get("min_placements") else [False])
]


@pytest.mark.parametrize(("seed", "flags", "hard_min"), CASES)
def test_highs_matches_brute_force_with_side_constraints(seed: int, flags: dict, hard_min: bool) -> None:
    problem = tiny_problem(100 + seed, n_candidates=6, n_hosts=3, max_prefs=2, **flags)
    options = Options(hard_min_placements=hard_min, min_placement_weight=4.0)
    status, _, best = brute_force(problem, options)
    h_status, h_chosen, h_objective, _ = highs_mip(problem, options, time_limit=30)
    assert h_status == status
    if status == "OPTIMAL":
        assert violations(problem, options, h_chosen) == []
        assert _same(h_objective, best), (h_objective, best)


def test_side_constraints_of_tiny_instances_bind_somewhere() -> None:
    """The enumeration above is only a check if the side constraints change answers."""
    changed = 0
    for seed in range(6):
        for flags in FLAGS:
            problem = tiny_problem(100 + seed, n_candidates=6, n_hosts=3, max_prefs=2, **flags)
            status, _, best = brute_force(problem)
            _, free = flow_reference(problem)
            changed += status != "OPTIMAL" or not _same(best, free)
    assert changed >= 5


def _problem(prefs: list[list[int]], capacity: list[int], host_rank: list[int] | None = None, **kw) -> Problem:
    cand = [c for c, hs in enumerate(prefs) for _ in hs]
    host = [h for hs in prefs for h in hs]
    rank = [r for hs in prefs for r in range(1, len(hs) + 1)]
    n_hosts = len(capacity)
    return Problem(
        n_candidates=len(prefs),
        n_hosts=n_hosts,
        pair_cand=np.array(cand, np.int32),
        pair_host=np.array(host, np.int32),
        pair_rank=np.array(rank, np.int32),
        pair_host_rank=np.array(host_rank if host_rank is not None else [0] * len(cand), np.int32),
        capacity=np.array(capacity, np.int32),
        min_placements=np.zeros(n_hosts, np.int32),
        host_region=np.zeros(n_hosts, np.int32),
        **kw,
    )


def test_fractional_shortfall_of_a_soft_target_is_weighted_at_level_two() -> None:
    # 7 candidates placed at one host, 2 of them women, soft target ≥ 35 %: shortfall 0.45.
    problem = _problem(
        [[0]] * 7,
        [7],
        targets=(
            Target(
                name="women",
                scope="cohort",
                scope_hosts=np.array([0], np.int32),
                member=np.array([1, 1, 0, 0, 0, 0, 0], bool),
                min_share=0.35,
                max_share=None,
                hard=False,
                weight=10.0,
            ),
        ),
    )
    ev = evaluate(problem, Options(), np.arange(7))
    assert ev["placed"] == 7
    assert ev["penalty"] == pytest.approx(4.5)
    assert ev["rank_cost"] == pytest.approx(7 + 4.5)
    # HiGHS places everyone (level 1 first) and pays the same penalty.
    status, _, objective, _ = highs_mip(problem, Options(), time_limit=30)
    assert status == "OPTIMAL"
    assert objective == {"placed": 7, "rank_cost": pytest.approx(11.5)}


def test_hard_share_target_leaves_candidates_unplaced_in_highs() -> None:
    # Hard ≥ 50 % women: 1 woman among 4 applicants means at most 2 placed.
    member = np.array([1, 0, 0, 0], bool)
    target = Target("women", "cohort", np.array([0], np.int32), member, 0.5, None, hard=True)
    problem = _problem([[0]] * 4, [4], targets=(target,))
    status, chosen, objective, _ = highs_mip(problem, Options(), time_limit=30)
    assert status == "OPTIMAL"
    assert objective["placed"] == 2
    assert 0 in problem.pair_cand[chosen]
    assert brute_force(problem)[2] == objective


def test_violations_names_each_broken_hard_constraint() -> None:
    member = np.array([0, 0, 0], bool)
    target = Target("women", "cohort", np.array([0, 1], np.int32), member, 0.5, None, hard=True)
    # pairs: 0:(c0,h0) 1:(c0,h1) 2:(c1,h0) 3:(c2,h1)
    problem = _problem(
        [[0, 1], [0], [1]],
        [1, 1],
        required=np.array([3], np.int32),
        links=np.array([[0, 2]], np.int32),
        targets=(target,),
    )
    problem = Problem(**{**problem.__dict__, "host_region": np.array([0, 1], np.int32)})
    bad = violations(problem, Options(), np.array([0, 1, 2]))
    text = "\n".join(bad)
    assert "placed 2 times" in text
    assert "over capacity" in text
    assert "required pair" in text
    assert "linked" in text
    assert "hard target women" in text
    assert violations(problem, Options(), np.array([], np.int32))[0].startswith("required pair")


def _stable_matchings(problem: Problem) -> list[np.ndarray]:
    choices = [[-1, *np.flatnonzero(problem.pair_cand == c).tolist()] for c in range(problem.n_candidates)]
    out = []
    for combo in itertools.product(*choices):
        chosen = np.array([p for p in combo if p >= 0], np.int32)
        if np.any(np.bincount(problem.pair_host[chosen], minlength=problem.n_hosts) > problem.capacity):
            continue
        if not blocking_pairs(problem, chosen):
            out.append(chosen)
    return out


@pytest.mark.parametrize("seed", range(10))
def test_deferred_acceptance_is_the_candidate_optimal_stable_matching(seed: int) -> None:
    problem = tiny_problem(200 + seed, n_candidates=6, n_hosts=3, max_prefs=3, host_ties=True)
    chosen, seconds = deferred_acceptance_matching(problem)
    assert seconds >= 0
    assert blocking_pairs(problem, chosen) == []
    rank_of = {int(problem.pair_cand[p]): int(problem.pair_rank[p]) for p in chosen}
    stable = _stable_matchings(problem)
    assert stable  # Gale–Shapley guarantees one exists
    for other in stable:
        # Every candidate does at least as well as in any other stable matching.
        other_rank = {int(problem.pair_cand[p]): int(problem.pair_rank[p]) for p in other}
        for c in range(problem.n_candidates):
            assert rank_of.get(c, 99) <= other_rank.get(c, 99)


def test_deferred_acceptance_runs_beyond_the_default_recursion_limit() -> None:
    problem = synthetic_problem(1500, seed=5, targets=False)
    chosen, _ = deferred_acceptance_matching(problem)
    assert blocking_pairs(problem, chosen) == []
    assert violations(problem, Options(), chosen) == []
    assert chosen.size > 1000


# --------------------------------------------------------------------------- the harness's own checks


def test_benchmark_agreement_flags_a_claimed_optimum_that_another_solver_beats() -> None:
    from benchmarks.runner import agreement

    rows = {
        "placement solve": {"status": "OPTIMAL", "objective": {"placed": 10, "rank_cost": 30.0}},
        "HiGHS MIP": {"status": "FEASIBLE", "objective": {"placed": 10, "rank_cost": 29.0}},
        "min-cost flow": {"status": "OPTIMAL", "objective": {"placed": 10, "rank_cost": 29.0}},
    }
    errors: list[str] = []
    agreement(rows, ["placement solve", "HiGHS MIP"], errors, "[x]")
    assert len(errors) == 1 and "placement solve's claimed optimum" in errors[0]
    errors = []
    rows["placement solve"]["objective"]["rank_cost"] = 29.0
    agreement(rows, ["placement solve", "HiGHS MIP", "min-cost flow"], errors, "[x]")
    assert errors == []
    rows["HiGHS MIP"]["objective"]["placed"] = 9  # fewer placed is worse, whatever the rank cost
    agreement(rows, ["placement solve", "HiGHS MIP"], errors, "[x]")
    assert errors == []


def test_benchmark_pure_scheme_has_no_side_constraints(tmp_path) -> None:
    pytest.importorskip("placement.generate")
    from benchmarks.runner import PURE, generate

    out = generate(300, PURE, seed=1, workdir=tmp_path)
    import csv

    with (out / "candidates.csv").open(newline="") as fh:
        assert all(row["linked_with"] == "" for row in csv.DictReader(fh))
    with (out / "hosts.csv").open(newline="") as fh:
        assert all(row["min_placements"] == "" for row in csv.DictReader(fh))
    assert not (out / "targets.csv").exists()


def test_benchmark_measurement_reports_its_own_memory_not_the_parents(tmp_path) -> None:
    import pickle

    from benchmarks.runner import run_child

    ballast = np.ones(40_000_000)  # ~300 MiB in this (the parent) process
    path = tmp_path / "p.pkl"
    path.write_bytes(pickle.dumps(synthetic_problem(200, seed=2, targets=False)))
    r = run_child("flow", {"problem": str(path)}, tmp_path, "flow", 120)
    assert r["status"] == "OPTIMAL"
    assert r["objective"] == flow_reference(synthetic_problem(200, seed=2, targets=False))[1]
    assert 0 <= r["rss_delta_mb"] < r["rss_peak_mb"] < 250
    del ballast
