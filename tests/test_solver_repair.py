"""The repair step and "always an answer": a solve the exact engine cannot finish still returns a placement.

Checked against brute force on tiny problems (every placement enumerated) and
against the solver's own proven optimum on a scheme-shaped one with a binding
hard share target, with the exact engine replaced by one that never finishes
(what a 5,000-candidate binding scheme did to HiGHS within a minute).
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from benchmarks.instances import synthetic_problem
from benchmarks.references import brute_force
from placement.solver import Options, check_validity, solve
from placement.solver.constraints import model_rows
from placement.solver.cpsat import EngineResult
from placement.solver.network import Network
from placement.solver.repair import repair
from tests.helpers.strategies import problems

run_module = importlib.import_module("placement.solver.run")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _repair_from_network(p, o: Options):
    net = Network(p, o)
    if net.conflicts:
        return None
    flow = net.solve(p.pair_rank.astype(np.int64), 0, None)
    if not flow.ok:
        return None
    hard = model_rows(p, o).hard  # every family's hard rows, as the solver gives them to repair
    return repair(net, hard, flow.x, p.pair_rank.astype(np.int64), deadline=float("inf"))


@FAST
@given(p=problems(max_candidates=6, targets=True, hard_targets=True, links=True, required=True, min_placements=True))
def test_repair_answers_are_valid_and_only_where_brute_force_finds_one(p) -> None:
    for hard_min in (False, True):
        o = Options(hard_min_placements=hard_min)
        x = _repair_from_network(p, o)
        if x is None:
            continue
        chosen = np.flatnonzero(x)
        assert check_validity(p, chosen, o) == [], "the repair returned a placement that breaks a hard constraint"
        status, _, best = brute_force(p, o)
        assert status == "OPTIMAL", "the repair found a placement where brute force finds none"
        assert len(chosen) <= best["placed"], "the repair placed more than the optimum"


def test_repair_meets_a_binding_share_target_and_keeps_most_placements() -> None:
    # Women at least 47% in every region: the network's optimum falls short in most regions.
    p = synthetic_problem(400, seed=3, women_min_share=0.47)
    o = Options()
    net = Network(p, o)
    flow = net.solve(p.pair_rank.astype(np.int64), 0, None)
    assert check_validity(p, np.flatnonzero(flow.x), o), "the instance must start broken"
    x = _repair_from_network(p, o)
    assert x is not None
    assert check_validity(p, np.flatnonzero(x), o) == []
    optimum = solve(p, Options(tie_break="none"))
    assert optimum.status == "OPTIMAL"
    assert optimum.placed - 5 <= int(x.sum()) <= optimum.placed


def _never_finishes(monkeypatch) -> None:
    """Every exact model ends as if stopped by the clock with nothing found (a killed HiGHS)."""

    def stuck(self, spec):
        return EngineResult("UNKNOWN", None, None, None, 0.0, "highs")

    monkeypatch.setattr(run_module.Run, "_exact", stuck)


def test_a_solve_whose_engine_never_finishes_still_returns_a_placement(monkeypatch) -> None:
    # Women at least 45% in every region, 500 candidates: no priced flow meets it (without the repair
    # this solve ended UNKNOWN with no placement at all).
    p = synthetic_problem(500, seed=1, women_min_share=0.45)
    o = Options()
    # Independent upper bound: the network relaxation (OR-Tools min-cost flow with no side rows).
    relaxation = Network(p, o).solve(p.pair_rank.astype(np.int64), 0, None)
    _never_finishes(monkeypatch)
    sol = solve(p, o)
    assert sol.status == "FEASIBLE", sol.messages
    assert "repair" in sol.method
    assert check_validity(p, sol.chosen, o) == []
    # The bound reported is at most the relaxation's count, the answer within a few placements of it.
    assert sol.placed <= sol.bound["placed"] <= relaxation.value
    assert sol.placed >= sol.bound["placed"] - 5
    assert sol.placed < relaxation.value or sol.bound["rank_cost"] <= sol.objective["rank_cost"]
    assert any("not proven optimal" in m or "was found in time" in m for m in sol.messages)


@pytest.mark.parametrize("seed", range(12))
def test_tiny_problems_never_end_unknown_when_a_placement_exists(monkeypatch, seed: int) -> None:
    from benchmarks.instances import tiny_problem

    p = tiny_problem(seed, n_candidates=6, n_hosts=3, max_prefs=3, targets=True, links=True)
    p = dataclasses.replace(p, targets=tuple(dataclasses.replace(t, hard=True) for t in p.targets))
    o = Options()
    status, _, best = brute_force(p, o)
    _never_finishes(monkeypatch)
    sol = solve(p, o)
    if status == "INFEASIBLE":
        assert sol.status in ("INFEASIBLE", "UNKNOWN")
        return
    assert sol.status in ("OPTIMAL", "FEASIBLE"), f"{sol.status}: brute force finds {best}"
    assert check_validity(p, sol.chosen, o) == []
    assert sol.placed <= best["placed"]
    if sol.status == "OPTIMAL":
        assert sol.objective["rank_cost"] == pytest.approx(best["rank_cost"])


def test_prefer_stability_still_answers_when_cp_sat_finds_nothing(monkeypatch) -> None:
    # Under --stability prefer blocking pairs are only counted: any placement meeting the hard rows is an
    # answer. CP-SAT stopped by the clock with nothing (as at 5,000 binding candidates) must not mean none.
    stable_levels = importlib.import_module("placement.solver.stable_levels")
    p = synthetic_problem(300, seed=1, women_min_share=0.45)
    o = Options(stability="prefer")
    monkeypatch.setattr(
        stable_levels, "solve_cpsat", lambda spec, *a, **k: EngineResult("UNKNOWN", None, None, None, 0.0, "cp-sat")
    )
    sol = solve(p, o)
    assert sol.status == "FEASIBLE"
    assert sol.method == "cp-sat+repair"
    assert check_validity(p, sol.chosen, o) == []
    assert sol.objective["blocking"] == len(sol.blocking_pairs)
    # Strict stability makes blocking pairs hard: the repair cannot vouch for them, so nothing is returned.
    strict = solve(p, Options(stability="strict"))
    assert strict.status == "UNKNOWN" and strict.chosen.size == 0
