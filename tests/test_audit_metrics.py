"""Every audit metric against a hand-computed example (../shared/spec/fairness.md #1-#9).

Expected values are worked out here from first principles — the Wilson and
Katz formulas written out, Fisher's test as a sum of hypergeometric
probabilities — not by calling the library the metric uses.
"""

from __future__ import annotations

import math

import pytest

from placement.audit.load import CandidateFacts, RoundFacts
from placement.audit.metrics import (
    SUPPRESSED,
    Person,
    adverse_impact,
    choice_bin,
    choice_bins,
    compare_rates,
    declaration_rates,
    demographic_parity,
    group_counts,
    price_of_fairness,
    rank_summary,
    ratio,
    relative_likelihood,
    target_figures,
    wilson_interval,
)
from placement.audit.price import compute_price
from placement.totals import RoundRecord

Z = 1.959963984540054  # standard normal 97.5% quantile


def fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """Sum of the probabilities of all tables with the same margins no more likely than the observed one."""
    r1, c1, n = a + b, a + c, a + b + c + d

    def prob(k: int) -> float:
        return math.comb(r1, k) * math.comb(n - r1, c1 - k) / math.comb(n, c1)

    observed = prob(a)
    ks = range(max(0, c1 - (n - r1)), min(r1, c1) + 1)
    return sum(prob(k) for k in ks if prob(k) <= observed * (1 + 1e-7))


def counts(**groups: tuple[int, int, int]) -> dict:
    """group -> (eligible, placed, placed at first choice) as the metrics see a table."""
    return {g: {"eligible": n, "placed": a, "choice_1": f} for g, (n, a, f) in groups.items()}


def test_ratio_propagates_suppression_and_never_divides_by_zero() -> None:
    assert ratio(3, 4) == 0.75
    assert ratio(3, 0) is None
    assert ratio(SUPPRESSED, 10) is SUPPRESSED
    assert ratio(10, SUPPRESSED) is SUPPRESSED
    assert ratio(None, 10) is None


def test_choice_bins_group_the_tail() -> None:
    assert choice_bins(3) == ["1", "2", "3"]
    assert choice_bins(6) == ["1", "2", "3", "4", "5", "6"]
    assert choice_bins(10) == ["1", "2", "3", "4", "5", "6+"]
    assert choice_bin(9, choice_bins(10)) == "6+"
    assert choice_bin(5, choice_bins(10)) == "5"


def test_group_counts_by_hand() -> None:
    people = [
        Person("female", True, 1),
        Person("female", True, 2, envy_pairs=2),
        Person("female", True, None, envy_pairs=1),
        Person("female", False, None),
        Person("male", True, 1),
        Person("not_stated", True, 3),
    ]
    t = group_counts(people, ["female", "male", "not_stated", "not_known"], ["1", "2", "3"])
    assert t["female"] == {
        "pool": 4,
        "eligible": 3,
        "no_eligible_host": 1,
        "placed": 2,
        "unplaced": 1,
        "choice_1": 1,
        "choice_2": 1,
        "choice_3": 0,
        "envious_candidates": 2,
        "blocking_pairs": 3,
    }
    assert t["not_known"]["pool"] == 0
    assert t["total"]["pool"] == 6 and t["total"]["placed"] == 4 and t["total"]["choice_1"] == 2
    assert t["total"]["blocking_pairs"] == 3


def test_rank_summary_mean_and_median() -> None:
    assert rank_summary([1, 1, 2, 4]) == (2.0, 1.5)
    assert rank_summary([]) == (None, None)


def test_wilson_interval_matches_the_formula() -> None:
    k, n = 3, 10
    p = k / n
    denom = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denom
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n * n)) / denom
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(centre - half, abs=1e-9)  # 0.1078
    assert high == pytest.approx(centre + half, abs=1e-9)  # 0.6032
    assert wilson_interval(0, 0) == (None, None)
    assert wilson_interval(SUPPRESSED, 10) == (SUPPRESSED, SUPPRESSED)


def test_compare_rates_ratio_fisher_and_katz_interval() -> None:
    # 2 of 10 placed against 8 of 10.
    s = compare_rates(2, 10, 8, 10)
    assert s.ratio == pytest.approx(0.25)
    assert s.fisher_p == pytest.approx(fisher_two_sided(2, 8, 8, 2))
    assert s.fisher_p == pytest.approx(2 * (1 + 100 + 2025) / math.comb(20, 10))  # 0.0230
    se = math.sqrt(1 / 2 - 1 / 10 + 1 / 8 - 1 / 10)
    assert s.ci_low == pytest.approx(math.exp(math.log(0.25) - Z * se))  # 0.0697
    assert s.ci_high == pytest.approx(math.exp(math.log(0.25) + Z * se))  # 0.8971


def test_compare_rates_with_no_successes() -> None:
    none_placed = compare_rates(0, 10, 5, 10)
    assert none_placed.ratio == 0.0 and none_placed.ci_high is None  # Katz is undefined at 0
    infinite = compare_rates(5, 10, 0, 10)
    assert infinite.ratio is None and infinite.infinite
    assert infinite.fisher_p == pytest.approx(fisher_two_sided(5, 5, 0, 10))
    assert compare_rates(3, 0, 5, 10).ratio is None
    assert compare_rates(SUPPRESSED, 10, 5, 10).fisher_p is SUPPRESSED


def test_relative_likelihood_wres_form() -> None:
    c = counts(no=(10, 8, 6), yes=(10, 4, 2))
    placed = relative_likelihood("placed", "no", "yes", c)
    assert placed.stats.ratio == pytest.approx((8 / 10) / (4 / 10))  # 2.00
    assert placed.flag is True
    first = relative_likelihood("first_choice", "no", "yes", c)
    assert first.stats.ratio == pytest.approx((6 / 10) / (2 / 10))  # 3.00
    even = relative_likelihood("placed", "no", "yes", counts(no=(10, 9, 0), yes=(20, 16, 0)))
    assert even.stats.ratio == pytest.approx(0.9 / 0.8) and even.flag is False  # 1.125, inside 0.80-1.25
    infinite = relative_likelihood("placed", "no", "yes", counts(no=(10, 5, 0), yes=(10, 0, 0)))
    assert infinite.flag is True and infinite.stats.infinite


def test_adverse_impact_ratio_with_shortfall_and_reference() -> None:
    c = counts(a=(10, 8, 0), b=(10, 4, 0), c=(0, 0, 0), d=(SUPPRESSED, SUPPRESSED, 0))
    air = adverse_impact(c, ["a", "b", "c", "d"])
    assert air["a"].reference == "a" and air["a"].stats.ratio == 1.0 and air["a"].flag is False
    assert air["b"].stats.ratio == pytest.approx(0.5) and air["b"].flag is True
    assert air["b"].shortfall == 4  # 8/10 of 10 = 8 needed, 4 placed
    assert air["b"].stats.fisher_p == pytest.approx(fisher_two_sided(4, 6, 8, 2))
    assert air["c"].stats.ratio is None and air["c"].flag is None  # nobody to rate
    assert air["d"].stats.ratio is SUPPRESSED and air["d"].flag is None
    # Four-fifths exactly is not adverse impact; just under is.
    edge = adverse_impact(counts(x=(10, 10, 0), y=(10, 8, 0), z=(100, 79, 0)), ["x", "y", "z"])
    assert edge["y"].flag is False and edge["z"].flag is True
    assert edge["z"].shortfall == 21


def test_adverse_impact_when_nobody_is_placed() -> None:
    air = adverse_impact(counts(a=(5, 0, 0), b=(5, 0, 0)), ["a", "b"])
    assert air["a"].stats.ratio is None and air["a"].reference is None


def test_demographic_parity_difference_and_ratio() -> None:
    p = demographic_parity(counts(a=(10, 8, 0), b=(10, 4, 0), c=(10, 6, 0), d=(0, 0, 0)), ["a", "b", "c", "d"])
    assert p.difference == pytest.approx(0.4) and p.ratio == pytest.approx(0.5)
    assert (p.highest, p.lowest) == ("a", "b")
    assert p.not_compared == ("d",)
    lone = demographic_parity(counts(a=(10, 8, 0), b=(SUPPRESSED, SUPPRESSED, 0)), ["a", "b"])
    assert lone.difference is None and lone.not_compared == ("b",)


def test_declaration_rates_are_shares_of_all_candidates() -> None:
    t = {"not_stated": {"eligible": 5}, "not_known": {"eligible": 15}, "total": {"eligible": 100}}
    assert declaration_rates(t, ["not_stated", "not_known"]) == {"not_stated": (5, 0.05), "not_known": (15, 0.15)}


def test_target_figures_required_achieved_and_binding() -> None:
    t = target_figures(0.35, None, 7, 3)  # 0.35 x 7 = 2.45 -> at least 3 people
    assert t.required_min == 3 and t.required_max is None
    assert t.achieved_share == pytest.approx(3 / 7) and t.binding is True
    assert target_figures(0.35, None, 7, 4).binding is False
    assert target_figures(0.7, None, 10, 7).required_min == 7  # 0.7 x 10 is 7.000000000000001 in floating point
    upper = target_figures(None, 0.5, 10, 5)
    assert upper.required_max == 5 and upper.binding is True
    hidden = target_figures(0.4, None, SUPPRESSED, 2)
    assert hidden.required_min is SUPPRESSED and hidden.achieved_share is SUPPRESSED and hidden.binding is None


def test_price_of_fairness_sign_convention() -> None:
    assert price_of_fairness(100, 95, maximise=True) == pytest.approx(0.05)  # 5 fewer placed
    assert price_of_fairness(200, 210, maximise=False) == pytest.approx(0.05)  # rank cost 5% higher
    assert price_of_fairness(100, 100, maximise=True) == 0
    assert price_of_fairness(0, 0, maximise=False) is None


def _facts(*rows: tuple[str, str | None, int | None]) -> RoundFacts:
    record = RoundRecord(
        cohort=None,
        number=1,
        state="proposal",
        parent_number=None,
        created_at=None,
        created_by="x",
        approved_by=None,
        approved_at=None,
        options={},
        input_hash="h",
        solver_version="v",
        status="OPTIMAL",
        objective={"placed": 3.0, "rank_cost": 7.0},
        bound={},
        solve_seconds=0.0,
        summary={},
        pool=[cid for cid, _, _ in rows],
        eligible={cid for cid, _, _ in rows},
        placed={cid: (h, c) for cid, h, c in rows if h is not None and c is not None},
        choice_of={
            ("C1", "H1"): 1,
            ("C1", "H2"): 2,
            ("C2", "H2"): 1,
            ("C2", "H3"): 3,
            ("C3", "H1"): 4,
            ("C4", "H1"): 2,
        },
        positions_from="inputs",
        targets=[{"name": "t"}],
    )
    return RoundFacts(record=record, candidates=[CandidateFacts(cid, {}, True, h, c) for cid, h, c in rows])


def test_price_of_fairness_moved_candidates_by_hand() -> None:
    # With targets: C1 at 2nd, C2 at 3rd, C3 at 4th, C4 unplaced -> 3 placed, cost 9.
    facts = _facts(("C1", "H2", 2), ("C2", "H3", 3), ("C3", "H1", 4), ("C4", None, None))
    # Without: C1 at 1st, C2 at 1st, C3 unplaced, C4 at 2nd -> 3 placed, cost 4. (Given ranks differ from positions.)
    free = {"C1": ("H1", 1), "C2": ("H2", 5), "C3": None, "C4": ("H1", 7)}
    p = compute_price(facts, "OPTIMAL", {"placed": 3.0, "rank_cost": 4.0}, free)
    assert p.applicable and p.placed_with_targets == 3 and p.placed_without_targets == 3
    assert p.price_placed == 0
    assert (p.rank_cost_with_targets, p.rank_cost_without_targets) == (9, 4)
    assert p.rank_costs_comparable and p.price_rank_cost == pytest.approx((9 - 4) / 4)
    moved = {m.candidate_id: (m.choice_with_targets, m.choice_without_targets, m.change) for m in p.moved}
    assert moved == {"C1": (2, 1, 1), "C2": (3, 1, 2), "C3": (4, None, None), "C4": (None, 2, None)}


def test_price_of_fairness_when_the_free_solve_places_more_or_fails() -> None:
    facts = _facts(("C1", "H2", 2), ("C2", None, None))
    p = compute_price(facts, "OPTIMAL", {"placed": 2.0}, {"C1": ("H1", 1), "C2": ("H2", 1)})
    assert p.price_placed == pytest.approx(0.5) and p.rank_costs_comparable is False and p.price_rank_cost is None
    failed = compute_price(facts, "UNKNOWN", {}, {})
    assert not failed.applicable and "UNKNOWN" in failed.reason


def test_equally_good_answers_are_ties_not_moves() -> None:
    # The re-solve reaches the round's own objective: the round is optimal without the targets too,
    # so whoever the re-solve places differently differs by a tie, not because of the targets.
    facts = _facts(("C1", "H2", 2), ("C2", "H3", 3), ("C3", "H1", 4), ("C4", None, None))
    free = {"C1": ("H1", 1), "C2": ("H2", 5), "C3": None, "C4": ("H1", 7)}
    p = compute_price(facts, "OPTIMAL", {"placed": 3.0, "rank_cost": 7.0}, free)
    assert p.round_optimal_without_targets is True
    assert p.moved == [] and p.tie_differences == 4
    q = compute_price(facts, "OPTIMAL", {"placed": 3.0, "rank_cost": 6.0}, free)
    assert q.round_optimal_without_targets is False and len(q.moved) == 4
    assert q.moved_summary == {
        "better_without_targets": 2,
        "worse_without_targets": 0,
        "same_choice_other_host": 0,
        "placed_only_without_targets": 1,
        "placed_only_with_targets": 1,
    }
