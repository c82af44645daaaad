"""Price of fairness (../shared/spec/fairness.md #8): the round against a re-solve without its diversity targets.

Bertsimas, Farias & Trichakis (Operations Research 59(1), 2011) define the
price of fairness as the relative loss of the objective, (Z_free − Z_targets) / Z_free.
The objective here is lexicographic, so each level is reported on its own:

1. candidates placed (maximised): (placed_free − placed_targets) / placed_free,
   the formula as written, ≥ 0;
2. rank cost (minimised): the sum over placed candidates of their n-th choice.
   The formula as written would be ≤ 0 for a cost, so the loss is given with
   the sign turned — (cost_targets − cost_free) / cost_free, the relative
   increase — so that for both levels 0 means "the targets cost nothing"
   and 0.05 means "5% worse". Soft-target penalties are left out of this
   level (the free solve has none); the stored objectives are shown beside it.
   When the two solves place different numbers of candidates their rank
   costs are not comparable, and the report says so.

Who moved: where several placements are equally good the re-solve could
return any of them, so a naive comparison would list candidates who differ
only by ties. The re-solve therefore settles ties by fewest changes from the
round's own placements (``resolves.resolve_without_targets``); when the solver
proves that tie-break, ``fewest_changes`` is set and every move listed is one
no optimal answer without the targets avoids. When the re-solve's objective
equals the round's on every level, the round's own placements are an optimal
answer without the targets too (dropping targets only removes constraints
and non-negative penalties, so the round's value without them is no worse
than with them, and it cannot beat the free optimum): the targets moved
nobody, and any differences are reported as ties, not as moves. Otherwise,
without a proven fewest-changes answer, the report says some moves may be
ties.

Pure: takes the round's records and the free solve's answer, no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .load import RoundFacts
from .metrics import price_of_fairness

SOLVED = ("OPTIMAL", "FEASIBLE")


@dataclass(frozen=True)
class Moved:
    candidate_id: str
    choice_with_targets: int | None  # None = unplaced
    choice_without_targets: int | None
    change: int | None  # with - without: +2 = two places further down their list because of the targets


@dataclass
class Price:
    applicable: bool
    reason: str | None = None  # why there is no price to show
    status_with_targets: str = ""
    status_without_targets: str | None = None
    placed_with_targets: int | None = None
    placed_without_targets: int | None = None
    price_placed: float | None = None
    rank_cost_with_targets: int | None = None
    rank_cost_without_targets: int | None = None
    price_rank_cost: float | None = None
    rank_costs_comparable: bool | None = None
    mean_choice_with_targets: float | None = None
    mean_choice_without_targets: float | None = None
    objective_with_targets: dict = field(default_factory=dict)
    objective_without_targets: dict = field(default_factory=dict)
    # The round's placements are themselves optimal without the targets (equal objective on every level).
    round_optimal_without_targets: bool | None = None
    tie_differences: int = 0  # candidates the re-solve placed differently only by a tie (then `moved` is empty)
    moves_necessary: bool = False  # the re-solve kept the most placements any optimal free answer can: no tie moves
    moved: list[Moved] = field(default_factory=list)
    moved_summary: dict = field(
        default_factory=dict
    )  # better / worse / same choice / placed / unplaced without targets


def not_applicable(facts: RoundFacts, reason: str) -> Price:
    return Price(
        applicable=False,
        reason=reason,
        status_with_targets=facts.record.status,
        objective_with_targets=dict(facts.record.objective),
    )


def compute_price(
    facts: RoundFacts,
    free_status: str,
    free_objective: Mapping,
    free_placements: Mapping[str, tuple[str, int] | None],
    *,
    fewest_changes: bool = False,
) -> Price:
    """Compare the round with the free solve (``resolves.FreeSolve``'s fields)."""
    if free_status not in SOLVED:
        p = not_applicable(facts, f"The re-solve without targets ended {free_status}, with no placements to compare.")
        p.status_without_targets = free_status
        p.objective_without_targets = dict(free_objective)
        return p
    with_targets = {c.candidate_id: (c.host_id, c.choice) for c in facts.candidates}
    without: dict[str, tuple[str | None, int | None]] = {}
    for cid in with_targets:
        placed = free_placements.get(cid)
        without[cid] = (placed[0], facts.choice(cid, placed[0], placed[1])) if placed else (None, None)

    moved = []
    for cid in sorted(with_targets):
        (h1, c1), (h2, c2) = with_targets[cid], without[cid]
        if h1 != h2:
            change = c1 - c2 if c1 is not None and c2 is not None else None
            moved.append(Moved(cid, c1, c2, change))

    same_optimum = _equal_objectives(facts.record.objective, free_objective)
    ties = 0
    if same_optimum:
        ties, moved = len(moved), []

    choices_with = [c for _, c in with_targets.values() if c is not None]
    choices_without = [c for _, c in without.values() if c is not None]
    placed_with, placed_without = len(choices_with), len(choices_without)
    cost_with, cost_without = sum(choices_with), sum(choices_without)
    comparable = placed_with == placed_without
    return Price(
        applicable=True,
        status_with_targets=facts.record.status,
        status_without_targets=free_status,
        placed_with_targets=placed_with,
        placed_without_targets=placed_without,
        price_placed=price_of_fairness(placed_without, placed_with, maximise=True),
        rank_cost_with_targets=cost_with,
        rank_cost_without_targets=cost_without,
        price_rank_cost=price_of_fairness(cost_without, cost_with, maximise=False) if comparable else None,
        rank_costs_comparable=comparable,
        mean_choice_with_targets=cost_with / placed_with if placed_with else None,
        mean_choice_without_targets=cost_without / placed_without if placed_without else None,
        objective_with_targets=dict(facts.record.objective),
        objective_without_targets=dict(free_objective),
        round_optimal_without_targets=same_optimum,
        tie_differences=ties,
        moves_necessary=fewest_changes and free_status == "OPTIMAL",
        moved=moved,
        moved_summary=_summarise(moved),
    )


def _equal_objectives(a: Mapping, b: Mapping, tol: float = 1e-6) -> bool:
    """The same value on every level both report (and at least one level)."""
    keys = set(a) & set(b)
    if not keys or set(a) != set(b):
        return False
    try:
        return all(abs(float(a[k]) - float(b[k])) <= tol * max(1.0, abs(float(a[k]))) for k in keys)
    except (TypeError, ValueError):  # a level that is not a number (e.g. a profile): compare as is
        return all(a[k] == b[k] for k in keys)


def _summarise(moved: list[Moved]) -> dict[str, int]:
    return {
        "better_without_targets": sum(1 for m in moved if m.change is not None and m.change > 0),
        "worse_without_targets": sum(1 for m in moved if m.change is not None and m.change < 0),
        "same_choice_other_host": sum(1 for m in moved if m.change == 0),
        "placed_only_without_targets": sum(1 for m in moved if m.choice_with_targets is None),
        "placed_only_with_targets": sum(1 for m in moved if m.choice_without_targets is None),
    }
